package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
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
	fam, err := s.q.GetFamily(c, db.GetFamilyParams{OrgID: who.OrgID, ID: *who.FamilyID})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	svcs, err := s.q.ListServices(c, who.OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	members, err := s.q.ListMembers(c, db.ListMembersParams{OrgID: who.OrgID, FamilyID: fam.ID})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	ids := make([]uuid.UUID, len(svcs))
	for i, sv := range svcs {
		ids[i] = sv.ID
	}
	prices, err := s.q.ListServicePrices(c, ids)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	byService := map[uuid.UUID][]db.ServicePrice{}
	for _, p := range prices {
		byService[p.ServiceID] = append(byService[p.ServiceID], p)
	}
	today := booking.Day(s.now())
	out := []serviceJSON{}
	for _, sv := range svcs {
		sj := serviceJSON{
			ID: sv.ID, Code: sv.Code, Name: sv.Name, Description: sv.Description, Weekdays: sv.Weekdays,
			BookingDeadline: services.BookingRule(sv).String(), CancelDeadline: services.CancelRule(sv).String(),
			EligibleChildIDs: []string{}, WorkingDaysOnly: sv.WorkingDaysOnly,
		}
		if p, err := booking.Price(services.Brackets(byService[sv.ID]), int(fam.Qf)); err == nil {
			sj.PriceCents = &p
		}
		for _, m := range members {
			if m.Kind == "child" && services.Eligibility(sv).Eligible(booking.Child{School: m.School, Class: m.ClassName, BirthDate: m.BirthDate}, today) {
				sj.EligibleChildIDs = append(sj.EligibleChildIDs, m.ID.String())
			}
		}
		if len(sj.EligibleChildIDs) > 0 {
			out = append(out, sj)
		}
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

func notFoundOr(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotFound
	}
	return err
}
