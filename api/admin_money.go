package api

import (
	"net/http"

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

var errIdempotencyKey = problem(http.StatusBadRequest, "idempotency-key-required", "En-tête Idempotency-Key requis",
	"Chaque écriture d'argent porte un en-tête Idempotency-Key unique (un UUID par exemple), repris tel quel si la requête est renvoyée.")

var errIdempotencyReuse = problem(http.StatusConflict, "idempotency-key-reused", "Clé d'idempotence déjà utilisée",
	"Cette clé Idempotency-Key a déjà servi pour une autre écriture ; générez-en une nouvelle.")

var errIdempotencyKeyInvalid = problem(http.StatusBadRequest, "idempotency-key-invalid", "En-tête Idempotency-Key invalide",
	"L'en-tête Idempotency-Key compte de 1 à 200 caractères ASCII visibles (un UUID par exemple).")

// optionalIdempotencyKey reads the header where it may be absent ("", true); a
// malformed one is refused rather than ignored, which would silently lose the
// deduplication its sender relies on.
func optionalIdempotencyKey(c *gin.Context) (string, bool) {
	if c.GetHeader("Idempotency-Key") == "" {
		return "", true
	}
	return idempotencyKey(c)
}

// idempotencyKey reads the header: 1 to 200 visible ASCII characters.
func idempotencyKey(c *gin.Context) (string, bool) {
	k := c.GetHeader("Idempotency-Key")
	if k == "" || len(k) > 200 {
		return "", false
	}
	for _, r := range k {
		if r < 0x21 || r > 0x7e {
			return "", false
		}
	}
	return k, true
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
	hist := ledgerHistory([]db.LedgerEntry{w.Entry}, true)[0]
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

// staffFamilyPayments is the family's money history as staff see it, charges included.
func (s *Server) staffFamilyPayments(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	if _, err := s.q.GetFamily(c, db.GetFamilyParams{OrgID: who.OrgID, ID: id}); err != nil {
		fail(c, s.log, notFoundOr(err))
		return
	}
	rows, err := s.q.ListFamilyLedger(c, db.ListFamilyLedgerParams{OrgID: who.OrgID, FamilyID: id})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, ledgerHistory(rows, true))
}
