package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/services"
	"github.com/enfance/enfance/waitlist"
)

// Waiting lists (package waitlist): the family joins a full day's list, sees its
// rank and leaves; staff see a day's list, reorder it, add a child and offer a
// place by hand.
func (s *Server) waitlistRoutes(r routes) {
	r.fam.POST("/waitlist", s.joinWaitlist)
	r.fam.POST("/waitlist/month", s.joinWaitlistMonth)
	r.fam.GET("/waitlist", s.familyWaitlist)
	r.fam.DELETE("/waitlist/:id", s.leaveWaitlist)
	r.staff.GET("/services/:id/days/:date/waitlist", s.getDayWaitlist)
	r.staff.PATCH("/services/:id/days/:date/waitlist", s.patchDayWaitlist)
	r.staff.POST("/services/:id/days/:date/waitlist", s.staffJoinWaitlist)
	r.staff.POST("/services/:id/days/:date/waitlist/:entry_id/offer", s.offerByHand)
}

type waitlistEntryJSON struct {
	ID             uuid.UUID         `json:"id"`
	ChildID        uuid.UUID         `json:"child_id"`
	ServiceID      uuid.UUID         `json:"service_id"`
	Date           string            `json:"date"`
	Rank           *int32            `json:"rank"` // among the children waiting, 1 = next; null unless waiting
	Status         db.WaitlistStatus `json:"status"`
	OfferExpiresAt *time.Time        `json:"offer_expires_at"`
	CartItemID     *uuid.UUID        `json:"cart_item_id,omitempty"` // the offer's line in the cart, while offered
	ChildFirstName string            `json:"child_first_name,omitempty"`
	ServiceName    string            `json:"service_name,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	ClosedAt       *time.Time        `json:"closed_at,omitempty"`
}

func waitlistEntryOf(e waitlist.Entry) waitlistEntryJSON {
	out := waitlistEntryJSON{
		ID: e.ID, ChildID: e.ChildID, ServiceID: e.ServiceID, Date: e.Day.Format(time.DateOnly), Rank: e.Rank,
		Status: e.Status, OfferExpiresAt: e.OfferExpiresAt, ChildFirstName: e.ChildName, ServiceName: e.ServiceName,
		CreatedAt: e.CreatedAt, ClosedAt: e.ClosedAt,
	}
	if e.Status == waitlist.StatusOffered {
		out.CartItemID = e.OfferLineID
	}
	return out
}

// waitlistError maps the lists' errors to problems, once for every route.
func (s *Server) waitlistError(c *gin.Context, err error) {
	var refused *cart.RefusedError
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &refused) && len(refused.Refusals) == 1 && refused.Refusals[0].Reason == waitlist.ReasonNotFull:
		fail(c, s.log, problem(http.StatusConflict, "not-full", "Il reste des places",
			cart.DayMessage(refused.Refusals[0].Item.Date, waitlist.Message(waitlist.ReasonNotFull))+"."))
	case errors.As(err, &refused):
		p := problem(http.StatusConflict, "waitlist-refused", "Inscription sur liste d'attente impossible", "")
		for _, r := range refused.Refusals {
			p.Errors = append(p.Errors, FieldError{Field: "date", Message: cart.DayMessage(r.Item.Date, r.Message), Reason: r.Reason})
		}
		p.Detail = p.Errors[0].Message + "."
		fail(c, s.log, p)
	case errors.As(err, &appErr) && strings.HasPrefix(appErr.Type(), "Waitlist"):
		status, slug := http.StatusConflict, "offer-refused"
		if appErr.Type() == activities.ErrTypeWaitlistNotFound {
			status, slug = http.StatusNotFound, "not-found"
		}
		fail(c, s.log, problem(status, slug, "Proposition impossible", appErr.Message()))
	default:
		fail(c, s.log, err)
	}
}

type joinWaitlistRequest struct {
	ChildID   uuid.UUID `json:"child_id"`
	ServiceID uuid.UUID `json:"service_id"`
	Date      string    `json:"date"`
	Month     string    `json:"month"`
}

func (r joinWaitlistRequest) check(month bool) *Problem {
	var fields []FieldError
	if r.ChildID == uuid.Nil {
		fields = append(fields, FieldError{Field: "child_id", Message: "requis"})
	}
	if r.ServiceID == uuid.Nil {
		fields = append(fields, FieldError{Field: "service_id", Message: "requis"})
	}
	if month {
		if _, _, err := booking.ParseMonth(r.Month); err != nil {
			fields = append(fields, FieldError{Field: "month", Message: "mois attendu au format AAAA-MM"})
		}
	} else if _, err := booking.ParseDay(r.Date); err != nil {
		fields = append(fields, FieldError{Field: "date", Message: "date attendue au format AAAA-MM-JJ"})
	}
	if len(fields) > 0 {
		return badRequest("Paramètres invalides.", fields...)
	}
	return nil
}

// joinWaitlist: « M'inscrire sur liste d'attente » for one child and day. A
// request sent again with its Idempotency-Key (its answer was lost) gets the
// entry it made.
func (s *Server) joinWaitlist(c *gin.Context) {
	key, ok := optionalIdempotencyKey(c)
	if !ok {
		fail(c, s.log, errIdempotencyKeyInvalid)
		return
	}
	var req joinWaitlistRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest(`Le corps doit être {"child_id", "service_id", "date": "AAAA-MM-JJ"}.`))
		return
	}
	if p := req.check(false); p != nil {
		fail(c, s.log, p)
		return
	}
	who := callerOf(c)
	item := cart.Item{ChildID: req.ChildID, ServiceID: req.ServiceID, Date: req.Date}
	e, err := s.waitlists.Join(c, who.family(), who.UserID, item)
	var refused *cart.RefusedError
	if errors.As(err, &refused) && key != "" && refused.Refusals[0].Reason == waitlist.ReasonAlreadyWaiting {
		e, err = s.waitlists.LiveEntry(c, who.family(), item)
	}
	if err != nil {
		s.waitlistError(c, err)
		return
	}
	s.listsChanged(c, e.ServiceDayID)
	c.JSON(http.StatusCreated, waitlistEntryOf(e))
}

// joinWaitlistMonth: the same for every full day of a month.
func (s *Server) joinWaitlistMonth(c *gin.Context) {
	var req joinWaitlistRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest(`Le corps doit être {"child_id", "service_id", "month": "AAAA-MM"}.`))
		return
	}
	if p := req.check(true); p != nil {
		fail(c, s.log, p)
		return
	}
	who := callerOf(c)
	res, err := s.waitlists.JoinMonth(c, who.family(), who.UserID, req.ChildID, req.ServiceID, req.Month)
	if err != nil {
		s.waitlistError(c, err)
		return
	}
	out := struct {
		Joined  []waitlistEntryJSON `json:"joined"`
		Skipped []cart.Skipped      `json:"skipped"`
	}{Joined: make([]waitlistEntryJSON, 0, len(res.Joined)), Skipped: res.Skipped}
	days := make([]uuid.UUID, 0, len(res.Joined))
	for _, e := range res.Joined {
		out.Joined = append(out.Joined, waitlistEntryOf(e))
		days = append(days, e.ServiceDayID)
	}
	s.listsChanged(c, days...)
	c.JSON(http.StatusOK, out)
}

// familyWaitlist: the family's entries from today on, with rank and status.
func (s *Server) familyWaitlist(c *gin.Context) {
	entries, err := s.waitlists.FamilyEntries(c, callerOf(c).family())
	if err != nil {
		s.waitlistError(c, err)
		return
	}
	out := make([]waitlistEntryJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, waitlistEntryOf(e))
	}
	c.JSON(http.StatusOK, out)
}

// leaveWaitlist: the family leaves a list; with an offer, it declines it.
func (s *Server) leaveWaitlist(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	left, err := s.waitlists.Leave(c, callerOf(c).family(), id)
	if err != nil {
		s.waitlistError(c, err)
		return
	}
	if left.Freed != nil {
		s.placesFreed(c, *left.Freed)
	} else {
		s.listsChanged(c, left.Entry.ServiceDayID)
	}
	c.JSON(http.StatusOK, waitlistEntryOf(left.Entry))
}

// placesFreed wakes the waiting lists of days where a request freed places. The
// request's own change is committed already: a list that cannot be told now is
// woken by reconciliation, so a failure is logged, not answered.
func (s *Server) placesFreed(c *gin.Context, days ...uuid.UUID) {
	if err := s.lists.Freed(context.WithoutCancel(c), days); err != nil {
		s.log.Warn("waiting lists not woken; reconciliation will", zap.Error(err))
	}
}

// listsChanged tells the lists of these days their new length (the Temporal UI's
// WaitlistLength).
func (s *Server) listsChanged(c *gin.Context, days ...uuid.UUID) {
	if len(days) == 0 {
		return
	}
	if err := s.lists.Changed(context.WithoutCancel(c), days...); err != nil {
		s.log.Warn("waiting lists not told of a change", zap.Error(err))
	}
}

// Staff.

type staffWaitlistEntryJSON struct {
	waitlistEntryJSON
	Position    int64      `json:"position"`
	FirstName   string     `json:"first_name"`
	LastName    string     `json:"last_name"`
	School      string     `json:"school"`
	ClassName   string     `json:"class_name"`
	FamilyID    uuid.UUID  `json:"family_id"`
	FamilyName  string     `json:"family_name"`
	FamilyEmail string     `json:"family_email"`
	FamilyPhone string     `json:"family_phone"`
	OfferedAt   *time.Time `json:"offered_at,omitempty"`
	OfferedBy   *uuid.UUID `json:"offered_by,omitempty"`
	OfferReason string     `json:"offer_reason,omitempty"`
}

type staffWaitlistJSON struct {
	ServiceID       uuid.UUID                `json:"service_id"`
	ServiceName     string                   `json:"service_name"`
	Date            string                   `json:"date"`
	Open            bool                     `json:"open"`
	Capacity        *int32                   `json:"capacity"`
	Taken           int32                    `json:"taken"`
	Waiting         int32                    `json:"waiting"`
	BookingDeadline time.Time                `json:"booking_deadline"`
	OfferHoldHours  float64                  `json:"offer_hold_hours"`
	Entries         []staffWaitlistEntryJSON `json:"entries"`
}

func staffWaitlistOf(v waitlist.DayView) staffWaitlistJSON {
	out := staffWaitlistJSON{
		ServiceID: v.Service.ID, ServiceName: v.Service.Name, Date: v.Day.Day.Format(time.DateOnly), Open: v.Day.Open,
		Capacity: v.Day.Capacity, Taken: v.Day.Taken, Waiting: v.Day.Waiting, BookingDeadline: v.Deadline,
		OfferHoldHours: services.OfferHold(v.Service).Hours(), Entries: make([]staffWaitlistEntryJSON, 0, len(v.Entries)),
	}
	for _, e := range v.Entries {
		out.Entries = append(out.Entries, staffWaitlistEntryJSON{
			waitlistEntryJSON: waitlistEntryOf(e.Entry), Position: e.Position,
			FirstName: e.FirstName, LastName: e.LastName, School: e.School, ClassName: e.ClassName,
			FamilyID: e.FamilyID, FamilyName: e.FamilyName, FamilyEmail: e.FamilyEmail, FamilyPhone: e.FamilyPhone,
			OfferedAt: e.OfferedAt, OfferedBy: e.OfferedBy, OfferReason: e.OfferReason,
		})
	}
	return out
}

// staffDayParams reads /admin/services/:id/days/:date.
func (s *Server) staffDayParams(c *gin.Context) (uuid.UUID, time.Time, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return uuid.Nil, time.Time{}, false
	}
	day, err := booking.ParseDay(c.Param("date"))
	if err != nil {
		fail(c, s.log, badRequest("Date attendue au format AAAA-MM-JJ.", FieldError{Field: "date", Message: "format AAAA-MM-JJ"}))
		return uuid.Nil, time.Time{}, false
	}
	return id, day, true
}

func (s *Server) staffDayWaitlist(c *gin.Context, serviceID uuid.UUID, day time.Time, status int) {
	v, err := s.waitlists.Day(c, callerOf(c).staff(), serviceID, day)
	if err != nil {
		s.waitlistError(c, err)
		return
	}
	c.JSON(status, staffWaitlistOf(v))
}

// getDayWaitlist: a day's list for staff.
func (s *Server) getDayWaitlist(c *gin.Context) {
	if id, day, ok := s.staffDayParams(c); ok {
		s.staffDayWaitlist(c, id, day, http.StatusOK)
	}
}

type reorderRequest struct {
	Order  []uuid.UUID `json:"order"`
	Reason string      `json:"reason"`
}

// patchDayWaitlist: staff reorder the children waiting (every one of them, in the
// new order), with a reason.
func (s *Server) patchDayWaitlist(c *gin.Context) {
	id, day, ok := s.staffDayParams(c)
	if !ok {
		return
	}
	var req reorderRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest(`Le corps doit être {"order": ["<id d'inscription>", …], "reason": "…"}.`))
		return
	}
	if p := reasonProblem(req.Reason); p != nil {
		fail(c, s.log, p)
		return
	}
	sd, err := s.waitlists.Reorder(c, callerOf(c).staff(), id, day, req.Order, req.Reason)
	if err != nil {
		s.waitlistError(c, err)
		return
	}
	s.listsChanged(c, sd.ID)
	s.staffDayWaitlist(c, id, day, http.StatusOK)
}

func reasonProblem(reason string) *Problem {
	switch r := strings.TrimSpace(reason); {
	case r == "":
		return badRequest("Indiquez un motif.", FieldError{Field: "reason", Message: "motif requis"})
	case len(r) > 500:
		return badRequest("Motif trop long.", FieldError{Field: "reason", Message: "500 caractères au plus"})
	}
	return nil
}

type staffJoinRequest struct {
	FamilyID uuid.UUID `json:"family_id"`
	ChildID  uuid.UUID `json:"child_id"`
	Reason   string    `json:"reason"`
}

// staffJoinWaitlist: staff put a child on the day's list for its family (asked at
// the desk or on the phone).
func (s *Server) staffJoinWaitlist(c *gin.Context) {
	id, day, ok := s.staffDayParams(c)
	if !ok {
		return
	}
	var req staffJoinRequest
	if err := c.ShouldBindJSON(&req); err != nil || req.FamilyID == uuid.Nil || req.ChildID == uuid.Nil {
		fail(c, s.log, badRequest(`Le corps doit être {"family_id", "child_id", "reason"}.`))
		return
	}
	if len(req.Reason) > 500 {
		fail(c, s.log, badRequest("Motif trop long.", FieldError{Field: "reason", Message: "500 caractères au plus"}))
		return
	}
	e, err := s.waitlists.JoinOnBehalf(c, callerOf(c).staff(), req.FamilyID,
		cart.Item{ChildID: req.ChildID, ServiceID: id, Date: day.Format(time.DateOnly)}, req.Reason)
	if err != nil {
		s.waitlistError(c, err)
		return
	}
	s.listsChanged(c, e.ServiceDayID)
	c.JSON(http.StatusCreated, waitlistEntryOf(e))
}

type offerByHandRequest struct {
	Reason   string `json:"reason"`
	AddPlace bool   `json:"add_place"`
}

// offerByHand: staff offer a place to one child of the list, whatever its rank —
// a free place, or one place more with add_place. The list's workflow makes the
// offer and follows it like its own.
func (s *Server) offerByHand(c *gin.Context) {
	id, day, ok := s.staffDayParams(c)
	if !ok {
		return
	}
	entryID, err := uuid.Parse(c.Param("entry_id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var req offerByHandRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest(`Le corps doit être {"reason": "…", "add_place": true|false}.`))
		return
	}
	if p := reasonProblem(req.Reason); p != nil {
		fail(c, s.log, p)
		return
	}
	st := callerOf(c).staff()
	v, err := s.waitlists.Day(c, st, id, day)
	if err != nil {
		s.waitlistError(c, err)
		return
	}
	if !v.Has(entryID) {
		fail(c, s.log, errNotFound)
		return
	}
	if _, err := s.lists.OfferByHand(c, v.Day, activities.OfferByHandInput{
		EntryID: entryID, Staff: st, Reason: strings.TrimSpace(req.Reason), AddPlace: req.AddPlace,
	}); err != nil {
		s.waitlistError(c, err)
		return
	}
	s.staffDayWaitlist(c, id, day, http.StatusOK)
}
