package api

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/ledger"
)

// Money (package ledger): the family's money history, as the family and as staff
// see it; desk payments and adjustments (finance and admin only). Each write
// carries the client's Idempotency-Key: the ledger's UNIQUE idempotency_key makes
// a retried POST return the first one's entry instead of writing a second.
func (s *Server) moneyRoutes(r routes) {
	r.fam.GET("/payments", s.payments)
	r.staff.GET("/families/:id/payments", s.staffFamilyPayments)
	r.money.POST("/families/:id/payments", s.deskPayment)
	r.money.POST("/families/:id/adjustments", s.adjustment)
}

type moneyWriteJSON struct {
	Entry            paymentJSON `json:"entry"`
	CreditCents      int64       `json:"credit_cents"`
	OutstandingCents int64       `json:"outstanding_cents"`
	Replayed         bool        `json:"replayed"`
}

// deskWrite runs a desk write (ledger.Store) for the :id family under the
// request's Idempotency-Key: 201 with the entry, 200 with the first one's entry
// when the key was used by the same write before.
func (s *Server) deskWrite(c *gin.Context, in any, write func(familyID uuid.UUID, key string) (ledger.Written, error)) {
	if err := c.ShouldBindJSON(in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	key, ok := idempotencyKey(c)
	if !ok {
		fail(c, s.log, errIdempotencyKey)
		return
	}
	w, err := write(ids[0], key)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	hist := ledgerHistory(ledger.History{Entries: []db.LedgerEntry{w.Entry}}, true)[0]
	// The running balances of a single row are its own deltas; give the family's.
	hist.CreditBalanceCents, hist.OutstandingBalanceCents = w.Balances.CreditCents, w.Balances.OutstandingCents
	status := http.StatusCreated
	if w.Replayed {
		status = http.StatusOK
	}
	c.JSON(status, moneyWriteJSON{Entry: hist, CreditCents: w.Balances.CreditCents, OutstandingCents: max(w.Balances.OutstandingCents, 0), Replayed: w.Replayed})
}

// deskPayment records cash or a cheque handed in at the desk (ledger.Store.DeskPayment).
func (s *Server) deskPayment(c *gin.Context) {
	var in ledger.DeskPaymentInput
	s.deskWrite(c, &in, func(familyID uuid.UUID, key string) (ledger.Written, error) {
		return s.desk.DeskPayment(c, callerOf(c).actor(), familyID, key, in)
	})
}

// adjustment corrects one balance with a reason (ledger.Store.Adjust).
func (s *Server) adjustment(c *gin.Context) {
	var in ledger.AdjustmentInput
	s.deskWrite(c, &in, func(familyID uuid.UUID, key string) (ledger.Written, error) {
		return s.desk.Adjust(c, callerOf(c).actor(), familyID, key, in)
	})
}

type paymentJSON struct {
	ID                      int64         `json:"id"`
	Kind                    db.LedgerKind `json:"kind"`
	AmountCents             int64         `json:"amount_cents"`
	CreditCents             int64         `json:"credit_cents"`      // this movement's change of the cagnotte
	OutstandingCents        int64         `json:"outstanding_cents"` // this movement's change of the amount owed
	CreditBalanceCents      int64         `json:"credit_balance_cents"`
	OutstandingBalanceCents int64         `json:"outstanding_balance_cents"`
	PaidAt                  time.Time     `json:"paid_at"`
	Label                   string        `json:"label"`
	Method                  string        `json:"method,omitempty"`
	PaymentID               *uuid.UUID    `json:"payment_id,omitempty"`
	ReservationID           *uuid.UUID    `json:"reservation_id,omitempty"`
	CartID                  *uuid.UUID    `json:"cart_id,omitempty"`
	// Who made the movement: "service" (the municipality's staff, never named to
	// the family) or "family" (the family's own bookings, payments, cancellations,
	// and what follows from them).
	Author string `json:"author"`
	Reason string `json:"reason,omitempty"` // the reason staff gave
	// Reservations counts the charges of a cart shown as one movement (the
	// family's history groups a cart's reservations; ?include=charges lists each).
	Reservations int `json:"reservations,omitempty"`
	// Days: what the movement concerns — each day of a child on a service it
	// charges or gives back (a cart's line lists all its reservations), by date.
	Days []movementDayJSON `json:"days,omitempty"`
}

// movementDayJSON is a child's day on a service that a movement concerns.
type movementDayJSON struct {
	Date           string    `json:"date"`
	ChildID        uuid.UUID `json:"child_id"`
	ChildFirstName string    `json:"child_first_name"`
	ServiceID      uuid.UUID `json:"service_id"`
	ServiceName    string    `json:"service_name"`
}

// Ledger kinds, as the money history shows them (amount_cents: + in the family's
// favour, − against it):
//   - charge: a reservation confirmed (owed +price; amount −price). The family's
//     history shows a cart's charges as one movement ("Réservations confirmées
//     (n jours)", its days listed) and each booking made by the service on its
//     own, with its reason; ?include=charges (and the staff view) lists every charge.
//   - payment: paid online through PayFiP (owed −amount).
//   - desk_payment: cash or cheque at the desk (owed −; beyond what was owed, cagnotte +).
//   - credit_used: cagnotte spent on a cart or a balance (cagnotte −x and owed −x; amount −x).
//   - cancellation_credit: a reservation cancelled in time (cagnotte +price).
//   - late_payment_credit: a payment that arrived after its cart or payment ended (cagnotte +).
//   - adjustment: a staff correction of either balance, or an unpaid staff booking
//     cancelled (owed −price).
//
// Every movement that changes what the family owes or holds is listed, with the
// days it concerns (a reservation's or a presence's: date, child, service).
func ledgerHistory(h ledger.History, eachCharge bool) []paymentJSON {
	var credit, outstanding int64
	out := make([]paymentJSON, 0, len(h.Entries))
	for _, e := range h.Entries { // oldest first: the running balances add up in order
		var days []movementDayJSON
		if d, ok := h.Days[e.ID]; ok {
			days = []movementDayJSON{{Date: d.Date.Format(time.DateOnly), ChildID: d.ChildID, ChildFirstName: d.ChildFirstName, ServiceID: d.ServiceID, ServiceName: d.ServiceName}}
		}
		credit += e.CreditCents
		outstanding += e.OutstandingCents
		amount := e.CreditCents - e.OutstandingCents
		if e.Kind == db.LedgerKindCreditUsed {
			amount = e.CreditCents
		}
		if !eachCharge && e.Kind == db.LedgerKindCharge && e.CartID != nil && len(out) > 0 {
			// A cart's charges are written together, one after the other.
			if prev := &out[len(out)-1]; prev.Kind == db.LedgerKindCharge && prev.CartID != nil && *prev.CartID == *e.CartID {
				prev.AmountCents += amount
				prev.OutstandingCents += e.OutstandingCents
				prev.CreditBalanceCents, prev.OutstandingBalanceCents = credit, outstanding
				prev.Reservations++
				prev.Label = cartChargesLabel(prev.Reservations)
				prev.ReservationID = nil
				prev.Days = append(prev.Days, days...)
				continue
			}
		}
		p := paymentJSON{
			ID: e.ID, Kind: e.Kind, AmountCents: amount, CreditCents: e.CreditCents, OutstandingCents: e.OutstandingCents,
			CreditBalanceCents: credit, OutstandingBalanceCents: outstanding,
			PaidAt: e.OccurredAt, Label: e.Label, Method: e.Method, PaymentID: e.PaymentAttemptID, ReservationID: e.ReservationID,
			CartID: e.CartID, Author: "family", Reason: e.Reason, Days: days,
		}
		if e.CreatedBy != nil {
			p.Author = "service"
		}
		if e.Kind == db.LedgerKindCharge && e.CartID != nil && !eachCharge {
			p.Reservations, p.Label = 1, cartChargesLabel(1)
		}
		out = append(out, p)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	for _, p := range out {
		slices.SortStableFunc(p.Days, func(a, b movementDayJSON) int {
			return cmp.Or(strings.Compare(a.Date, b.Date), strings.Compare(a.ChildFirstName, b.ChildFirstName), strings.Compare(a.ServiceName, b.ServiceName))
		})
	}
	return out
}

func cartChargesLabel(n int) string {
	if n == 1 {
		return "Réservation confirmée (1 jour)"
	}
	return "Réservations confirmées (" + strconv.Itoa(n) + " jours)"
}

// staffFamilyPayments is the family's money history as staff see it, charges included.
func (s *Server) staffFamilyPayments(c *gin.Context) {
	if ids, ok := s.pathIDs(c, "id"); ok {
		s.history(c, ids[0], true)
	}
}

// payments lists the family's money movements from the ledger, newest first —
// reservations charged, payments, cagnotte earned and used, adjustments — each
// with the cagnotte and the amount owed after it (?include=charges lists a cart's
// reservations one by one).
func (s *Server) payments(c *gin.Context) {
	s.history(c, *callerOf(c).FamilyID, c.Query("include") == "charges")
}

func (s *Server) history(c *gin.Context, familyID uuid.UUID, eachCharge bool) {
	h, err := s.desk.History(c, callerOf(c).OrgID, familyID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, ledgerHistory(h, eachCharge))
}
