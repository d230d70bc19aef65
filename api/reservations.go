package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
)

// Booking (package cart): the calendar, the cart, reservations and their
// cancellations, by the family and by staff on its behalf.
func (s *Server) bookingRoutes(r routes) {
	r.fam.GET("/children/:child_id/calendar", s.calendar)
	r.fam.GET("/cart", s.getCart)
	r.fam.POST("/cart/items", s.addCartItems)
	r.fam.DELETE("/cart/items/:item_id", s.removeCartItem)
	r.fam.POST("/cart/month", s.toggleMonth)
	r.fam.POST("/cart/checkout", s.checkout)
	r.fam.GET("/reservations", s.reservations)
	r.fam.POST("/reservations/:id/cancel", s.cancelReservation)
	r.fam.POST("/reservations/cancel", s.cancelReservations)
	r.staff.POST("/families/:id/reservations", s.staffBook)
	r.staff.GET("/families/:id/reservations", s.staffFamilyReservations)
	r.staff.POST("/reservations/:id/cancel", s.staffCancelReservation)
}

type reservationJSON struct {
	ID               uuid.UUID            `json:"id"`
	ChildID          uuid.UUID            `json:"child_id"`
	ServiceID        uuid.UUID            `json:"service_id"`
	Date             string               `json:"date"`
	Status           db.ReservationStatus `json:"status"`
	PriceCents       int64                `json:"price_cents"`
	Source           db.ReservationSource `json:"source"`
	CancellableUntil *time.Time           `json:"cancellable_until"`
	// The last instant to cancel, passed or not (confirmed reservations).
	CancellationDeadline *time.Time `json:"cancellation_deadline,omitempty"`
	CancelledAt          *time.Time `json:"cancelled_at,omitempty"`
}

func reservationOf(r db.Reservation) reservationJSON {
	return reservationJSON{
		ID: r.ID, ChildID: r.ChildID, ServiceID: r.ServiceID, Date: r.Day.Format(time.DateOnly),
		Status: r.Status, PriceCents: r.PriceCents, Source: r.Source, CancelledAt: r.CancelledAt,
	}
}

// reservations is the family calendar: its own reservations between from and to,
// optionally of one status, each confirmed one with the instant it stops being
// cancellable (absent once too late).
func (s *Server) reservations(c *gin.Context) {
	who := callerOf(c)
	from, to, ok := s.period(c)
	if !ok {
		return
	}
	var status *db.ReservationStatus
	switch v := db.ReservationStatus(c.Query("status")); v {
	case "":
	case db.ReservationStatusConfirmed, db.ReservationStatusCancelled:
		status = &v
	default:
		fail(c, s.log, badRequest("Statut inconnu.", FieldError{Field: "status", Message: "« confirmed » ou « cancelled »"}))
		return
	}
	rows, err := s.carts.Reservations(c, who.family(), from, to, status)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	now := s.now()
	out := make([]reservationJSON, 0, len(rows))
	for _, r := range rows {
		rj := reservationOf(r.Reservation)
		if r.Status == db.ReservationStatusConfirmed {
			until := r.Deadline
			rj.CancellationDeadline = &until
			if now.Before(until) {
				rj.CancellableUntil = &until
			}
		}
		out = append(out, rj)
	}
	c.JSON(http.StatusOK, out)
}

type cancellationJSON struct {
	Reservation      reservationJSON `json:"reservation"`
	InTime           bool            `json:"in_time"`
	Deadline         time.Time       `json:"cancellation_deadline"`
	CreditedCents    int64           `json:"credited_cents"`
	ReversedCents    int64           `json:"reversed_cents"`
	CreditCents      int64           `json:"credit_cents"`
	OutstandingCents int64           `json:"outstanding_cents"`
}

func (s *Server) cancellationView(c *gin.Context, k cart.Cancellation) {
	f, err := s.families.Get(c, k.Reservation.OrgID, k.Reservation.FamilyID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	bal := f.Balances
	c.JSON(http.StatusOK, cancellationJSON{
		Reservation: reservationOf(k.Reservation), InTime: k.InTime, Deadline: k.Deadline,
		CreditedCents: k.CreditedCents, ReversedCents: k.ReversedCents,
		CreditCents: bal.CreditCents, OutstandingCents: max(bal.OutstandingCents, 0),
	})
}

var errAlreadyCancelled = problem(http.StatusConflict, "reservation-already-cancelled", "Réservation déjà annulée",
	"Cette réservation a déjà été annulée.")

// cancelReservation: the family cancels one of its reservations, in time.
func (s *Server) cancelReservation(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	k, err := s.carts.Cancel(c, callerOf(c).family(), id)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	s.placesFreed(c, k.Reservation.ServiceDayID)
	s.cancellationView(c, k)
}

type cancelManyRequest struct {
	IDs []uuid.UUID `json:"ids"`
}

type cancelledJSON struct {
	Reservation   reservationJSON `json:"reservation"`
	CreditedCents int64           `json:"credited_cents"`
	ReversedCents int64           `json:"reversed_cents"`
}

// cancelReservations: the family cancels several reservations at once — the days
// it unticked in the booking calendar, "Valider les annulations" — all or none,
// each in time, each price given back as one cancellation would.
func (s *Server) cancelReservations(c *gin.Context) {
	var req cancelManyRequest
	if err := json.NewDecoder(io.LimitReader(c.Request.Body, 64<<10)).Decode(&req); err != nil {
		fail(c, s.log, badRequest(`Le corps doit être {"ids": ["<identifiant de réservation>", …]}.`))
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > maxItems {
		fail(c, s.log, badRequest("Indiquez entre 1 et 400 réservations à annuler.", FieldError{Field: "ids", Message: "entre 1 et 400 éléments"}))
		return
	}
	f := callerOf(c).family()
	ks, err := s.carts.CancelMany(c, f, req.IDs)
	var refused *cart.CancelRefusedError
	switch {
	case errors.As(err, &refused):
		p := problem(http.StatusConflict, "cancellations-refused", "Certaines annulations sont impossibles",
			"Aucune réservation n'a été annulée : retirez les jours refusés puis validez de nouveau.")
		for _, r := range refused.Refusals {
			p.Errors = append(p.Errors, FieldError{Field: "ids[" + strconv.Itoa(r.Index) + "]", Message: r.Message, Reason: r.Reason})
		}
		fail(c, s.log, p)
		return
	case err != nil:
		fail(c, s.log, err)
		return
	}
	out := struct {
		Cancelled        []cancelledJSON `json:"cancelled"`
		CreditedCents    int64           `json:"credited_cents"`
		ReversedCents    int64           `json:"reversed_cents"`
		CreditCents      int64           `json:"credit_cents"`
		OutstandingCents int64           `json:"outstanding_cents"`
	}{Cancelled: make([]cancelledJSON, 0, len(ks))}
	freed := make([]uuid.UUID, 0, len(ks))
	for _, k := range ks {
		out.Cancelled = append(out.Cancelled, cancelledJSON{Reservation: reservationOf(k.Reservation), CreditedCents: k.CreditedCents, ReversedCents: k.ReversedCents})
		out.CreditedCents += k.CreditedCents
		out.ReversedCents += k.ReversedCents
		freed = append(freed, k.Reservation.ServiceDayID)
	}
	s.placesFreed(c, freed...)
	fam, err := s.families.Get(c, f.OrgID, f.ID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	bal := fam.Balances
	out.CreditCents, out.OutstandingCents = bal.CreditCents, max(bal.OutstandingCents, 0)
	c.JSON(http.StatusOK, out)
}

func (c caller) staff() cart.Staff { return cart.Staff{OrgID: c.OrgID, UserID: c.UserID} }

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
	rows, err := s.carts.StaffReservations(c, who.OrgID, ids[0], from, to)
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
		rj.Deadline = r.Deadline
		rj.InTime = now.Before(rj.Deadline)
		if r.Status == db.ReservationStatusConfirmed && rj.InTime {
			rj.CancellableUntil = &rj.Deadline
		}
		out = append(out, rj)
	}
	c.JSON(http.StatusOK, out)
}

type staffCancelRequest struct {
	Reason string `json:"reason"`
	Credit *bool  `json:"credit"`
}

// staffCancelReservation: staff cancel any reservation of their org, past the
// deadline with a reason. credit says whether the price is given back; absent, it
// is given back only in time, as the family would get it.
func (s *Server) staffCancelReservation(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var req staffCancelRequest
	if c.Request.ContentLength != 0 {
		if err := c.ShouldBindJSON(&req); err != nil {
			fail(c, s.log, badRequest("Le corps doit être {\"reason\": \"…\", \"credit\": true|false}."))
			return
		}
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if len(req.Reason) > 500 {
		fail(c, s.log, badRequest("Motif trop long.", FieldError{Field: "reason", Message: "500 caractères au plus"}))
		return
	}
	who := callerOf(c)
	k, err := s.carts.CancelOnBehalf(c, who.staff(), id, cart.StaffCancel{Reason: req.Reason, Refund: req.Credit, MayCreditLate: who.handlesMoney()})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	s.placesFreed(c, k.Reservation.ServiceDayID)
	s.cancellationView(c, k)
}

type staffBookRequest struct {
	Items            []cart.Item `json:"items"`
	Reason           string      `json:"reason"`
	OverrideDeadline bool        `json:"override_deadline"`
	// OverrideWaitlist books a free place the day's waiting list would have had.
	OverrideWaitlist bool `json:"override_waitlist"`
}

// staffBook: staff book on a family's behalf, charged to its outstanding balance.
func (s *Server) staffBook(c *gin.Context) {
	familyID, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var req staffBookRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"items\": [{\"child_id\", \"service_id\", \"date\"}], \"reason\", \"override_deadline\"}."))
		return
	}
	var fields []FieldError
	if len(req.Items) == 0 || len(req.Items) > 400 {
		fields = append(fields, FieldError{Field: "items", Message: "entre 1 et 400 éléments"})
	}
	if len(req.Reason) > 500 {
		fields = append(fields, FieldError{Field: "reason", Message: "500 caractères au plus"})
	}
	if req.OverrideDeadline && strings.TrimSpace(req.Reason) == "" {
		fields = append(fields, FieldError{Field: "reason", Message: "motif requis pour passer outre le délai"})
	}
	if req.OverrideWaitlist && strings.TrimSpace(req.Reason) == "" {
		fields = append(fields, FieldError{Field: "reason", Message: "motif requis pour passer outre la liste d'attente"})
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Réservation impossible telle quelle.", fields...))
		return
	}
	res, err := s.carts.BookOnBehalf(c, callerOf(c).staff(), familyID, cart.StaffBooking{
		Items: req.Items, Reason: req.Reason, OverrideDeadline: req.OverrideDeadline, OverrideWaitlist: req.OverrideWaitlist,
	})
	var refused *cart.RefusedError
	switch {
	case errors.Is(err, cart.ErrNotFound):
		fail(c, s.log, errNotFound)
		return
	case errors.As(err, &refused):
		fail(c, s.log, itemsRefused("Aucune réservation n'a été faite : corrigez les jours refusés puis réessayez.", refused))
		return
	case err != nil:
		fail(c, s.log, err)
		return
	}
	list := make([]reservationJSON, 0, len(res))
	var charged int64
	for _, r := range res {
		list = append(list, reservationOf(r))
		charged += r.PriceCents
	}
	c.JSON(http.StatusCreated, gin.H{"reservations": list, "charged_cents": charged})
}
