package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
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
			BookingDeadline: cart.BookingRule(sv).String(), CancelDeadline: cart.CancelRule(sv).String(),
			EligibleChildIDs: []string{}, WorkingDaysOnly: sv.WorkingDaysOnly,
		}
		if p, err := booking.Price(cart.Brackets(byService[sv.ID]), int(fam.Qf)); err == nil {
			sj.PriceCents = &p
		}
		for _, m := range members {
			if m.Kind == "child" && cart.Eligibility(sv).Eligible(booking.Child{School: m.School, Class: m.ClassName, BirthDate: m.BirthDate}, today) {
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

// period reads from/to (YYYY-MM-DD), defaulting to the current month.
func (s *Server) period(c *gin.Context) (from, to time.Time, ok bool) {
	first, last, _ := booking.ParseMonth(s.now().Format("2006-01"))
	from, to = first, last
	var fields []FieldError
	if v := c.Query("from"); v != "" {
		d, err := booking.ParseDay(v)
		if err != nil {
			fields = append(fields, FieldError{Field: "from", Message: "date attendue au format AAAA-MM-JJ"})
		}
		from = d
	}
	if v := c.Query("to"); v != "" {
		d, err := booking.ParseDay(v)
		if err != nil {
			fields = append(fields, FieldError{Field: "to", Message: "date attendue au format AAAA-MM-JJ"})
		}
		to = d
	}
	if len(fields) == 0 && to.Before(from) {
		fields = append(fields, FieldError{Field: "to", Message: "la fin précède le début"})
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Période invalide.", fields...))
		return from, to, false
	}
	return from, to, true
}

type paymentJSON struct {
	ID                      int64      `json:"id"`
	Kind                    string     `json:"kind"`
	AmountCents             int64      `json:"amount_cents"`
	CreditCents             int64      `json:"credit_cents"`      // this movement's change of the cagnotte
	OutstandingCents        int64      `json:"outstanding_cents"` // this movement's change of the amount owed
	CreditBalanceCents      int64      `json:"credit_balance_cents"`
	OutstandingBalanceCents int64      `json:"outstanding_balance_cents"`
	PaidAt                  time.Time  `json:"paid_at"`
	Label                   string     `json:"label"`
	Method                  string     `json:"method,omitempty"`
	PaymentID               *uuid.UUID `json:"payment_id,omitempty"`
	ReservationID           *uuid.UUID `json:"reservation_id,omitempty"`
	CartID                  *uuid.UUID `json:"cart_id,omitempty"`
	// Who made the movement: "service" (the municipality's staff, never named to
	// the family) or "family" (the family's own bookings, payments, cancellations,
	// and what follows from them).
	Author string `json:"author"`
	Reason string `json:"reason,omitempty"` // the reason staff gave
	// Reservations counts the charges of a cart shown as one movement (the
	// family's history groups a cart's reservations; ?include=charges lists each).
	Reservations int `json:"reservations,omitempty"`
}

// Ledger kinds, as the money history shows them (amount_cents: + in the family's
// favour, − against it):
//   - charge: a reservation confirmed (owed +price; amount −price). The family's
//     history shows a cart's charges as one movement ("Réservations confirmées
//     (n jours)") and each booking made by the service on its own, with its reason;
//     ?include=charges (and the staff view) lists every charge.
//   - payment: paid online through PayFiP (owed −amount).
//   - desk_payment: cash or cheque at the desk (owed −; beyond what was owed, cagnotte +).
//   - credit_used: cagnotte spent on a cart or a balance (cagnotte −x and owed −x; amount −x).
//   - cancellation_credit: a reservation cancelled in time (cagnotte +price).
//   - late_payment_credit: a payment that arrived after its cart or payment ended (cagnotte +).
//   - adjustment: a staff correction of either balance, or an unpaid staff booking
//     cancelled (owed −price).
//
// Every movement that changes what the family owes or holds is listed.
func ledgerHistory(rows []db.LedgerEntry, eachCharge bool) []paymentJSON {
	var credit, outstanding int64
	out := make([]paymentJSON, 0, len(rows))
	for _, e := range rows { // oldest first: the running balances add up in order
		credit += e.CreditCents
		outstanding += e.OutstandingCents
		amount := e.CreditCents - e.OutstandingCents
		if e.Kind == "credit_used" {
			amount = e.CreditCents
		}
		if !eachCharge && e.Kind == "charge" && e.CartID != nil && len(out) > 0 {
			// A cart's charges are written together, one after the other.
			if prev := &out[len(out)-1]; prev.Kind == "charge" && prev.CartID != nil && *prev.CartID == *e.CartID {
				prev.AmountCents += amount
				prev.OutstandingCents += e.OutstandingCents
				prev.CreditBalanceCents, prev.OutstandingBalanceCents = credit, outstanding
				prev.Reservations++
				prev.Label = cartChargesLabel(prev.Reservations)
				prev.ReservationID = nil
				continue
			}
		}
		p := paymentJSON{
			ID: e.ID, Kind: e.Kind, AmountCents: amount, CreditCents: e.CreditCents, OutstandingCents: e.OutstandingCents,
			CreditBalanceCents: credit, OutstandingBalanceCents: outstanding,
			PaidAt: e.OccurredAt, Label: e.Label, Method: e.Method, PaymentID: e.PaymentAttemptID, ReservationID: e.ReservationID,
			CartID: e.CartID, Author: "family", Reason: e.Reason,
		}
		if e.CreatedBy != nil {
			p.Author = "service"
		}
		if e.Kind == "charge" && e.CartID != nil && !eachCharge {
			p.Reservations, p.Label = 1, cartChargesLabel(1)
		}
		out = append(out, p)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func cartChargesLabel(n int) string {
	if n == 1 {
		return "Réservation confirmée (1 jour)"
	}
	return "Réservations confirmées (" + strconv.Itoa(n) + " jours)"
}

// payments lists the family's money movements from the ledger, newest first —
// reservations charged, payments, cagnotte earned and used, adjustments — each
// with the cagnotte and the amount owed after it (?include=charges lists a cart's
// reservations one by one).
func (s *Server) payments(c *gin.Context) {
	who := callerOf(c)
	rows, err := s.q.ListFamilyLedger(c, db.ListFamilyLedgerParams{OrgID: who.OrgID, FamilyID: *who.FamilyID})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, ledgerHistory(rows, c.Query("include") == "charges"))
}

func notFoundOr(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotFound
	}
	return err
}
