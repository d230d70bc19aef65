package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
)

// Desk money (finance and admin only). Each write carries the client's
// Idempotency-Key: the ledger's UNIQUE idempotency_key makes a retried POST return
// the first one's entry instead of writing a second.

const maxDeskCents = 100_000_00 // 100 000 €: beyond, a typo rather than a payment

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

// ledgerWrite runs a desk write for family id: build decides the entry from the
// locked family's balances; a key already used answers its entry (200), or 409 when
// it was used for another write.
func (s *Server) ledgerWrite(c *gin.Context, kind string, same func(db.LedgerEntry) bool,
	build func(q *db.Queries, bal db.FamilyBalancesRow, pendingOut, pendingCredit int64) (db.InsertStaffLedgerEntryParams, error), audit func(db.LedgerEntry) any) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	clientKey, ok := idempotencyKey(c)
	if !ok {
		fail(c, s.log, errIdempotencyKey)
		return
	}
	key := kind + ":" + id.String() + ":" + clientKey
	var entry db.LedgerEntry
	replayed := false
	var bal db.FamilyBalancesRow
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		// The family's lock serialises the writers that read its balances first.
		if _, err := q.LockFamily(c, db.LockFamilyParams{OrgID: who.OrgID, ID: id}); err != nil {
			return notFoundOr(err)
		}
		prev, err := q.GetLedgerEntryByKey(c, key)
		if err == nil {
			entry, replayed = prev, true
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		} else {
			if bal, err = q.FamilyBalances(c, id); err != nil {
				return err
			}
			// What a checkout or a balance payment in progress froze is being paid or spent.
			pending, err := q.PendingPayments(c, db.PendingPaymentsParams{FamilyID: id})
			if err != nil {
				return err
			}
			p, err := build(q, bal, pending.OutstandingCents, pending.CreditCents)
			if err != nil {
				return err
			}
			p.OrgID, p.FamilyID, p.Kind, p.IdempotencyKey, p.CreatedBy, p.OccurredAt = who.OrgID, id, kind, key, &who.UserID, s.now()
			if entry, err = q.InsertStaffLedgerEntry(c, p); err != nil {
				return fmt.Errorf("ledger %s: %w", kind, err)
			}
			if err := s.audit(c, q, who.OrgID, &who.UserID, "ledger."+kind, "family", id.String(), nil, audit(entry)); err != nil {
				return err
			}
		}
		bal, err = q.FamilyBalances(c, id)
		return err
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	if replayed && (entry.FamilyID != id || !same(entry)) {
		fail(c, s.log, errIdempotencyReuse)
		return
	}
	hist := ledgerHistory([]db.LedgerEntry{entry}, true)[0]
	// The running balances of a single row are its own deltas; give the family's.
	hist.CreditBalanceCents, hist.OutstandingBalanceCents = bal.CreditCents, bal.OutstandingCents
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	c.JSON(status, moneyWriteJSON{Entry: hist, CreditCents: bal.CreditCents, OutstandingCents: max(bal.OutstandingCents, 0), Replayed: replayed})
}

// deskPayment records cash or a cheque handed in at the desk. It pays what the
// family owes; anything beyond goes to its cagnotte, so no cent is lost to a
// negative balance. Outstanding balance frozen into a checkout in progress counts
// as being paid already.
func (s *Server) deskPayment(c *gin.Context) {
	var req struct {
		AmountCents int64  `json:"amount_cents"`
		Method      string `json:"method"`
		Reference   string `json:"reference"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	req.Reference = strings.TrimSpace(req.Reference)
	var errs []FieldError
	if req.AmountCents <= 0 || req.AmountCents > maxDeskCents {
		errs = append(errs, FieldError{Field: "amount_cents", Message: "montant en centimes, positif, 100 000 € au plus"})
	}
	if req.Method != "cash" && req.Method != "cheque" {
		errs = append(errs, FieldError{Field: "method", Message: "cash ou cheque"})
	}
	if msg := maxLen(100)(req.Reference); msg != "" {
		errs = append(errs, FieldError{Field: "reference", Message: msg})
	}
	if len(errs) > 0 {
		fail(c, s.log, badRequest("Règlement invalide.", errs...))
		return
	}
	label := "Règlement au guichet en espèces"
	if req.Method == "cheque" {
		label = "Règlement au guichet par chèque"
	}
	if req.Reference != "" {
		label += " (" + req.Reference + ")"
	}
	s.ledgerWrite(c, "desk_payment",
		func(e db.LedgerEntry) bool {
			return e.CreditCents-e.OutstandingCents == req.AmountCents && e.Method == req.Method
		},
		func(_ *db.Queries, bal db.FamilyBalancesRow, pendingOut, _ int64) (db.InsertStaffLedgerEntryParams, error) {
			owed := max(bal.OutstandingCents-pendingOut, 0)
			toOwed := min(req.AmountCents, owed)
			return db.InsertStaffLedgerEntryParams{
				OutstandingCents: -toOwed, CreditCents: req.AmountCents - toOwed, Label: label, Method: req.Method,
			}, nil
		},
		func(e db.LedgerEntry) any {
			return gin.H{"ledger_entry_id": e.ID, "amount_cents": req.AmountCents, "method": req.Method, "reference": req.Reference,
				"outstanding_cents": e.OutstandingCents, "credit_cents": e.CreditCents}
		})
}

// adjustment corrects one balance with a reason: amount_cents is added to the
// target (credit: the cagnotte; outstanding: what the family owes). Neither balance
// may go below zero, counting what a checkout in progress already holds.
func (s *Server) adjustment(c *gin.Context) {
	var req struct {
		AmountCents int64  `json:"amount_cents"`
		Target      string `json:"target"`
		Reason      string `json:"reason"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	req.Reason = strings.TrimSpace(req.Reason)
	var errs []FieldError
	if req.AmountCents == 0 || req.AmountCents > maxDeskCents || req.AmountCents < -maxDeskCents {
		errs = append(errs, FieldError{Field: "amount_cents", Message: "montant en centimes, non nul, ±100 000 € au plus"})
	}
	if req.Target != "credit" && req.Target != "outstanding" {
		errs = append(errs, FieldError{Field: "target", Message: "credit ou outstanding"})
	}
	if msg := required(500)(req.Reason); msg != "" {
		errs = append(errs, FieldError{Field: "reason", Message: "motif " + msg})
	}
	if len(errs) > 0 {
		fail(c, s.log, badRequest("Régularisation invalide.", errs...))
		return
	}
	s.ledgerWrite(c, "adjustment",
		func(e db.LedgerEntry) bool {
			if req.Target == "credit" {
				return e.CreditCents == req.AmountCents && e.OutstandingCents == 0
			}
			return e.OutstandingCents == req.AmountCents && e.CreditCents == 0
		},
		func(_ *db.Queries, bal db.FamilyBalancesRow, pendingOut, pendingCredit int64) (db.InsertStaffLedgerEntryParams, error) {
			p := db.InsertStaffLedgerEntryParams{Label: "Régularisation : " + req.Reason, Reason: req.Reason}
			if req.Target == "credit" {
				if left := bal.CreditCents - pendingCredit; left+req.AmountCents < 0 {
					return p, problem(http.StatusConflict, "balance-too-low", "Cagnotte insuffisante",
						"La cagnotte disponible est de "+document.Euros(max(left, 0))+" : elle ne peut pas devenir négative.")
				}
				p.CreditCents = req.AmountCents
			} else {
				if left := bal.OutstandingCents - pendingOut; left+req.AmountCents < 0 {
					return p, problem(http.StatusConflict, "balance-too-low", "Solde dû insuffisant",
						"Le solde dû est de "+document.Euros(max(left, 0))+" : il ne peut pas devenir négatif. Pour rendre de l'argent à la famille, créditez sa cagnotte.")
				}
				p.OutstandingCents = req.AmountCents
			}
			return p, nil
		},
		func(e db.LedgerEntry) any {
			return gin.H{"ledger_entry_id": e.ID, "target": req.Target, "amount_cents": req.AmountCents, "reason": req.Reason}
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
