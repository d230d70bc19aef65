package cart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/receipt"
)

// What became of one of the family's payments, as the portal's result page and
// API clients follow it.
const (
	PaymentProcessing = "processing" // on PayFiP, or being verified and recorded
	PaymentPaid       = "paid"       // paid (online or with the cagnotte) and recorded
	PaymentConfirmed  = "confirmed"  // reservations confirmed, under 1 € carried to the balance: nothing paid
	PaymentCredited   = "credited"   // paid after its cart or payment had ended: put on the cagnotte
	PaymentNotPaid    = "not_paid"   // refused, abandoned or expired: no money taken
)

// PaymentView is one payment attempt of the family and what became of it.
type PaymentView struct {
	Attempt db.PaymentAttempt
	Status  string // one of the Payment* above
	// Why a payment was not paid: refused, abandoned (on PayFiP's page),
	// abandoned_by_family (on the portal), expired, failed.
	Reason        string
	CreditedCents int64 // put on the cagnotte (credited)
}

// Payment reads one of the family's payment attempts (ErrNotFound for another
// family's) and what became of it. Money is "paid" only once the ledger has it.
func (s *Store) Payment(ctx context.Context, f Family, id uuid.UUID) (PaymentView, error) {
	q := db.New(s.Pool)
	att, err := q.GetFamilyPaymentAttempt(ctx, db.GetFamilyPaymentAttemptParams{OrgID: f.OrgID, FamilyID: f.ID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return PaymentView{}, ErrNotFound
	} else if err != nil {
		return PaymentView{}, fmt.Errorf("read attempt: %w", err)
	}
	v := PaymentView{Attempt: att, Status: PaymentProcessing}
	switch att.Status {
	case db.AttemptStatusRefused, db.AttemptStatusAbandoned, db.AttemptStatusExpired:
		v.Status, v.Reason = PaymentNotPaid, string(att.Status)
		return v, nil
	case db.AttemptStatusError:
		v.Status, v.Reason = PaymentNotPaid, "failed"
		if att.AbandonedAt != nil {
			v.Reason = "abandoned_by_family"
		}
		return v, nil
	case db.AttemptStatusCreated, db.AttemptStatusPending:
		return v, nil
	}
	// paid or settled_without_payfip: done once the ledger (or the cart) says so.
	late, err := q.GetLedgerEntryByKey(ctx, ledger.LatePaymentKey(att.ID))
	switch {
	case err == nil:
		v.Status, v.CreditedCents = PaymentCredited, late.CreditCents
		return v, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return v, fmt.Errorf("read ledger: %w", err)
	}
	done := false
	if att.Kind == db.AttemptKindBalance {
		key := ledger.PaymentKey(att.ID)
		if att.Status == db.AttemptStatusSettledWithoutPayfip {
			key = ledger.CreditUsedKey(att.ID)
		}
		if done, err = q.LedgerKeyExists(ctx, key); err != nil {
			return v, fmt.Errorf("read ledger: %w", err)
		}
	} else if att.CartID != nil {
		c, err := q.GetCart(ctx, *att.CartID)
		if err != nil {
			return v, fmt.Errorf("read cart: %w", err)
		}
		latest, err := q.LatestPaymentAttempt(ctx, c.ID)
		if err != nil {
			return v, fmt.Errorf("read attempts: %w", err)
		}
		done = c.Status == db.CartStatusPaid && latest.ID == att.ID
	}
	switch {
	case !done:
	case att.Status == db.AttemptStatusSettledWithoutPayfip && att.AmountCents > 0:
		v.Status = PaymentConfirmed
	default:
		v.Status = PaymentPaid
	}
	return v, nil
}

// AttemptByIDOp reads the attempt PayFiP knows as idOp (ErrNotFound for an idOp
// the engine did not create).
func (s *Store) AttemptByIDOp(ctx context.Context, idOp string) (db.PaymentAttempt, error) {
	att, err := db.New(s.Pool).GetPaymentAttemptByIDOp(ctx, &idOp)
	if db.NotFound(err) {
		return att, ErrNotFound
	}
	return att, err
}

// Waker is who asks for a payment's workflow to be woken.
type Waker int

const (
	ByCallback   Waker = iota // PayFiP's notification or the payer's return (notified_at records it)
	ByResultPage              // the family's result page, still waiting
)

// Wake records a PayFiP callback for att and wakes its workflow with wake,
// unless another callback did it less than cooldown ago (whichever API replica
// got it), since the workflow is already reading PayFiP or has just read it. An
// attempt closed without a payment is handed back to reconciliation (reopened):
// PayFiP may have taken the money after all.
//
// The record and the wake-up are one transaction, the attempt's row locked
// meanwhile: when wake fails (Temporal out of reach, this process killed
// before it is sent), nothing is recorded and PayFiP's next try — on any
// replica — wakes the workflow instead of being coalesced with a wake-up that
// never happened. Parallel callbacks queue on the row; one of them wakes.
func (s *Store) Wake(ctx context.Context, att db.PaymentAttempt, by Waker, cooldown time.Duration, wake func(context.Context) error) (woken, reopened bool, err error) {
	now := s.now()
	err = db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		n, err := q.WakeAttempt(ctx, db.WakeAttemptParams{ID: att.ID, Now: now, WokenBefore: now.Add(-cooldown), Callback: by == ByCallback})
		if err != nil || n == 0 {
			return err
		}
		if n, err = q.ReopenAttemptReconciliation(ctx, att.ID); err != nil {
			return err
		}
		woken, reopened = true, n > 0
		return wake(ctx)
	})
	if err != nil {
		return false, false, err
	}
	return woken, reopened, nil
}

// Receipt is the document of one of the family's settled payments (ErrNotFound
// for another family's, ErrNotSettled for one that did not end in a payment).
func (s *Store) Receipt(ctx context.Context, f Family, id uuid.UUID) (receipt.Doc, error) {
	q := db.New(s.Pool)
	att, err := q.GetFamilyPaymentAttempt(ctx, db.GetFamilyPaymentAttemptParams{OrgID: f.OrgID, FamilyID: f.ID, ID: id})
	if db.NotFound(err) {
		return receipt.Doc{}, ErrNotFound
	} else if err != nil {
		return receipt.Doc{}, fmt.Errorf("read attempt: %w", err)
	}
	if att.Status != db.AttemptStatusPaid && att.Status != db.AttemptStatusSettledWithoutPayfip {
		return receipt.Doc{}, ErrNotSettled
	}
	return receipt.Build(ctx, q, att)
}

// ErrNotSettled: the payment did not end in a payment, and has no receipt.
var ErrNotSettled = errors.New("payment not settled")
