package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/services"
)

type serviceJSON struct {
	ID               uuid.UUID `json:"id"`
	Code             string    `json:"code"`
	Name             string    `json:"name"`
	Description      string    `json:"description"`
	Weekdays         []int16   `json:"weekdays"`
	PriceCents       *int64    `json:"price_cents"` // for this family's QF
	BookingDeadline  string    `json:"booking_deadline"`
	CancelDeadline   string    `json:"cancellation_deadline"`
	EligibleChildIDs []string  `json:"eligible_child_ids"`
	CapacityLimited  bool      `json:"capacity_limited"`
	WorkingDaysOnly  bool      `json:"working_days_only"`
}

func (s *Server) services(c *gin.Context) {
	who := callerOf(c)
	svcs, err := s.svcs.ForFamily(c, who.OrgID, *who.FamilyID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]serviceJSON, 0, len(svcs))
	for _, sv := range svcs {
		out = append(out, serviceJSON{
			ID: sv.ID, Code: sv.Code, Name: sv.Name, Description: sv.Description, Weekdays: sv.Weekdays,
			BookingDeadline: services.BookingRule(sv.Service).String(), CancelDeadline: services.CancelRule(sv.Service).String(),
			EligibleChildIDs: sv.EligibleChildIDs, WorkingDaysOnly: sv.WorkingDaysOnly, PriceCents: sv.PriceCents,
		})
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) calendar(c *gin.Context) {
	who := callerOf(c)
	childID, err1 := uuid.Parse(c.Param("child_id"))
	serviceID, err2 := uuid.Parse(c.Query("service_id"))
	month := c.Query("month")
	if month == "" {
		month = s.now().Format("2006-01")
	}
	var fields []FieldError
	if err1 != nil {
		fields = append(fields, FieldError{Field: "child_id", Message: "identifiant invalide"})
	}
	if err2 != nil {
		fields = append(fields, FieldError{Field: "service_id", Message: "identifiant de service requis"})
	}
	if _, _, err := booking.ParseMonth(month); err != nil {
		fields = append(fields, FieldError{Field: "month", Message: "mois attendu au format AAAA-MM"})
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Paramètres du calendrier invalides.", fields...))
		return
	}
	days, err := s.carts.Calendar(c, who.family(), childID, serviceID, month)
	if errors.Is(err, cart.ErrNotFound) {
		fail(c, s.log, errNotFound)
		return
	} else if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, days)
}
