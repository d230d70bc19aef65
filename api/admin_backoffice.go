package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/services"
)

// pathIDs parses the named UUID path parameters; false: 404 answered.
func (s *Server) pathIDs(c *gin.Context, names ...string) ([]uuid.UUID, bool) {
	out := make([]uuid.UUID, len(names))
	for i, n := range names {
		id, err := uuid.Parse(c.Param(n))
		if err != nil {
			fail(c, s.log, errNotFound)
			return nil, false
		}
		out[i] = id
	}
	return out, true
}

type staffReservationJSON struct {
	reservationJSON
	ChildName     string    `json:"child_name"`
	ServiceName   string    `json:"service_name"`
	BookedBy      string    `json:"booked_by"` // the staff login, or "" when the family booked online
	BookedByName  string    `json:"booked_by_name"`
	Reason        string    `json:"reason,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	InTime        bool      `json:"in_time"` // cancelling now gives the price back as to the family
	Deadline      time.Time `json:"cancellation_deadline"`
	CanCreditLate bool      `json:"can_credit_late"` // the caller may give the price back past the deadline
}

// staffFamilyReservations lists a family's reservations between from and to
// (default: this month; 400 days at most), cancelled ones included, with who
// booked them and the cancellation deadline.
func (s *Server) staffFamilyReservations(c *gin.Context) {
	who := callerOf(c)
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	from, to, ok := s.period(c)
	if !ok {
		return
	}
	if to.Sub(from) > 400*24*time.Hour {
		fail(c, s.log, badRequest("Période trop longue.", FieldError{Field: "to", Message: "400 jours au plus"}))
		return
	}
	if _, err := s.q.GetFamily(c, db.GetFamilyParams{OrgID: who.OrgID, ID: ids[0]}); err != nil {
		fail(c, s.log, notFoundOr(err))
		return
	}
	rows, err := s.q.ListStaffFamilyReservations(c, db.ListStaffFamilyReservationsParams{OrgID: who.OrgID, FamilyID: ids[0], FirstDay: from, LastDay: to})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	deadline, err := s.cancelDeadlines(c)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	now := s.now()
	out := make([]staffReservationJSON, 0, len(rows))
	for _, r := range rows {
		res := db.Reservation{ID: r.ID, OrgID: r.OrgID, FamilyID: r.FamilyID, ChildID: r.ChildID, ServiceID: r.ServiceID,
			ServiceDayID: r.ServiceDayID, Day: r.Day, PriceCents: r.PriceCents, Status: r.Status, Source: r.Source, CancelledAt: r.CancelledAt}
		rj := staffReservationJSON{reservationJSON: reservationOf(res), ChildName: r.ChildName, ServiceName: r.ServiceName,
			BookedBy: r.BookedByLogin, BookedByName: r.BookedByName, Reason: r.Reason, CreatedAt: r.CreatedAt, CanCreditLate: who.handlesMoney()}
		rj.Deadline = deadline(r.ServiceID, r.Day)
		rj.InTime = now.Before(rj.Deadline)
		if r.Status == "confirmed" && rj.InTime {
			rj.CancellableUntil = &rj.Deadline
		}
		out = append(out, rj)
	}
	c.JSON(http.StatusOK, out)
}

// orgZone is the time zone of the caller's org, in which its days and deadlines are told.
func (s *Server) orgZone(c *gin.Context) (*time.Location, error) {
	org, err := s.q.GetOrg(c, callerOf(c).OrgID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(org.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("org time zone: %w", err)
	}
	return loc, nil
}

// queryDays reads the optional dates ?name= (YYYY-MM-DD) over the defaults dst
// holds; false: the problem is answered, naming each bad field.
func (s *Server) queryDays(c *gin.Context, names []string, dst ...*time.Time) bool {
	var fields []FieldError
	for i, name := range names {
		if v := c.Query(name); v != "" {
			d, err := booking.ParseDay(v)
			if err != nil {
				fields = append(fields, FieldError{Field: name, Message: "date attendue au format AAAA-MM-JJ"})
			}
			*dst[i] = d
		}
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Période invalide.", fields...))
		return false
	}
	return true
}

// cancelDeadlines returns, for the caller's org's services, the cancellation
// deadline of a day of a service.
func (s *Server) cancelDeadlines(c *gin.Context) (func(serviceID uuid.UUID, day time.Time) time.Time, error) {
	loc, err := s.orgZone(c)
	if err != nil {
		return nil, err
	}
	svcs, err := s.q.ListAllServices(c, callerOf(c).OrgID)
	if err != nil {
		return nil, err
	}
	rules := make(map[uuid.UUID]booking.DeadlineRule, len(svcs))
	for _, sv := range svcs {
		rules[sv.ID] = cart.CancelRule(sv)
	}
	return func(serviceID uuid.UUID, day time.Time) time.Time { return rules[serviceID].Deadline(day, loc) }, nil
}

// listClosures is the org's closures overlapping from–to (default: the twelve
// months from the first of this month).
func (s *Server) listClosures(c *gin.Context) {
	first, _, _ := booking.ParseMonth(s.now().Format("2006-01"))
	from, to := first, first.AddDate(1, 0, -1)
	if !s.queryDays(c, []string{"from", "to"}, &from, &to) {
		return
	}
	rows, err := s.q.ListClosures(c, db.ListClosuresParams{OrgID: callerOf(c).OrgID, FirstDay: from, LastDay: to})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]services.Closure, 0, len(rows))
	for _, r := range rows {
		out = append(out, services.View(r))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) createClosure(c *gin.Context) {
	var req struct {
		FirstDay string `json:"first_day"`
		LastDay  string `json:"last_day"`
		Label    string `json:"label"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"first_day\", \"last_day\", \"label\"}."))
		return
	}
	var fields []FieldError
	first, err1 := booking.ParseDay(req.FirstDay)
	if err1 != nil {
		fields = append(fields, FieldError{Field: "first_day", Message: "date attendue au format AAAA-MM-JJ"})
	}
	last, err2 := booking.ParseDay(req.LastDay)
	if err2 != nil {
		fields = append(fields, FieldError{Field: "last_day", Message: "date attendue au format AAAA-MM-JJ"})
	}
	if err1 == nil && err2 == nil && (last.Before(first) || last.Sub(first) > 366*24*time.Hour) {
		fields = append(fields, FieldError{Field: "last_day", Message: "le dernier jour suit le premier, un an au plus"})
	}
	label := strings.TrimSpace(req.Label)
	if msg := check.Required(100)(label); msg != "" {
		fields = append(fields, FieldError{Field: "label", Message: msg})
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Fermeture invalide.", fields...))
		return
	}
	out, err := s.closures.AddClosure(c, callerOf(c).actor(), first, last, label)
	if errors.Is(err, services.ErrExists) {
		fail(c, s.log, problem(http.StatusConflict, "closure-exists", "Fermeture déjà enregistrée",
			"Une fermeture commence déjà ce jour-là avec ce libellé."))
		return
	} else if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, services.View(out))
}

func (s *Server) deleteClosure(c *gin.Context) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	if err := s.closures.RemoveClosure(c, callerOf(c).actor(), ids[0]); errors.Is(err, services.ErrNotFound) {
		fail(c, s.log, errNotFound)
		return
	} else if err != nil {
		fail(c, s.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}
