package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/payfip"
)

// ClaimInput sizes one reconciliation run (see workflows.ReconcileInput).
type ClaimInput struct {
	StaleAfter time.Duration // an attempt younger than this is left to its cart's workflow
	PaidWithin time.Duration // how far back a paid attempt without its ledger entry is looked for
	Limit      int
}

// AttemptToReconcile is one attempt a reconciliation run looks at.
type AttemptToReconcile struct {
	AttemptID   uuid.UUID
	Kind        db.AttemptKind // cart, or balance (paid alone, by its own workflow)
	CartID      uuid.UUID      // the cart a cart's attempt pays
	IDOp        string
	Status      db.AttemptStatus // as in payment_attempts when claimed
	AmountCents int64
	CreatedAt   time.Time // payfip_created_at
	Notified    bool      // a notification came (notified_at is set)
}

// ClaimAttemptsToReconcile picks at most in.Limit attempts whose money may be
// unaccounted for (db/queries/reconcile.sql) and stamps them as looked at, oldest
// payment first.
func (a *Activities) ClaimAttemptsToReconcile(ctx context.Context, in ClaimInput) ([]AttemptToReconcile, error) {
	now := a.now()
	staleBefore, paidSince := now.Add(-in.StaleAfter), now.Add(-in.PaidWithin)
	rows, err := db.New(a.Pool).ClaimAttemptsToReconcile(ctx, db.ClaimAttemptsToReconcileParams{
		CheckedAt: &now, StaleBefore: &staleBefore, PaidSince: &paidSince, Batch: int32(in.Limit),
	})
	if err != nil {
		return nil, fmt.Errorf("claim attempts: %w", err)
	}
	out := make([]AttemptToReconcile, 0, len(rows))
	for _, r := range rows {
		out = append(out, AttemptToReconcile{
			AttemptID: r.ID, Kind: r.Kind, CartID: deref(r.CartID), IDOp: deref(r.IDOp), Status: r.Status, AmountCents: r.AmountCents,
			CreatedAt: deref(r.PayfipCreatedAt), Notified: r.NotifiedAt != nil,
		})
	}
	slices.SortFunc(out, func(x, y AttemptToReconcile) int { return x.CreatedAt.Compare(y.CreatedAt) })
	return out, nil
}

// What SettleAttempt did.
const (
	SettleCredited      = "credited"       // paid after its cart ended: recorded and put on the family's cagnotte
	SettleConfirmed     = "confirmed"      // paid, its cart still held the places and had no workflow: confirmed
	SettleClosed        = "closed"         // refused, abandoned, or dead for good: recorded, nothing owed
	SettleWaiting       = "waiting"        // not known yet (or dead too recently to be sure): asked again next run
	SettleCartBusy      = "cart_busy"      // paid, but the cart's running workflow is still on this attempt
	SettleUnusable      = "unusable"       // PayFiP's answer cannot be used: asked again next run; an operator should look
	SettleAlreadyDone   = "already_done"   // paid and in the ledger already (the cart confirmed it meanwhile)
	SettleNeedsOperator = "needs_operator" // recorded, but the cart is stuck in checking_out without its workflow
)

// SettleInput names the attempt and what the workflow knows of its cart.
type SettleInput struct {
	AttemptID uuid.UUID
	// CartGone: the cart's workflow is not running (a signal to it failed), so
	// nobody else will act on this attempt.
	CartGone bool
	// GiveUpAfter: an attempt PayFiP still calls expired this long after its
	// creation is closed for good.
	GiveUpAfter time.Duration
}

// SettleResult says what SettleAttempt did, in words for the operators.
type SettleResult struct {
	Action      string
	Status      payfip.Status // PayFiP's verified answer
	Reason      string
	AmountCents int64
}

// SettleAttempt reads an attempt's result from PayFiP (never from a callback),
// verifies it like CheckPayment and settles what the cart's workflow will not:
//
//   - paid, and the cart has moved on (expired, paid by another attempt, open
//     again, or checking out another attempt): the money is recorded and credited
//     to the family in one transaction — ledger 'payment' (outstanding −amount,
//     key payment:<attempt>, as ConfirmCart would have written) and
//     'late_payment_credit' (outstanding +amount, credit +amount, key
//     late_payment:<attempt>). Together they leave what the family owes as it was
//     (nothing was confirmed for this money) and put the whole amount on its
//     cagnotte, which its next cart uses first.
//   - paid, and the cart still checks out this attempt: if its workflow is gone
//     the reservations are confirmed as the workflow would have done (the places
//     are still held for this family); if it runs, the workflow is left to it.
//   - refused, abandoned, or expired for longer than GiveUpAfter: recorded, closed.
//
// Every write is keyed, so a retried or concurrent run changes nothing more.
func (a *Activities) SettleAttempt(ctx context.Context, in SettleInput) (SettleResult, error) {
	q := db.New(a.Pool)
	att, err := q.GetPaymentAttempt(ctx, in.AttemptID)
	if err != nil {
		return SettleResult{}, fmt.Errorf("read attempt: %w", err)
	}
	res := SettleResult{AmountCents: att.AmountCents}
	if att.IDOp == nil {
		res.Action, res.Reason = SettleClosed, "never sent to PayFiP"
		return res, nil
	}
	var out payfip.Outcome
	if att.Status == db.AttemptStatusPaid {
		// Verified when it was recorded; PayFiP is not asked twice for the same money.
		out = payfip.Outcome{Status: payfip.StatusPaid, PaidAt: deref(att.PaidAt), Numauto: att.Numauto, Resultrans: att.Resultrans}
	} else {
		detail, callErr := a.PayFiP.PaymentDetail(ctx, *att.IDOp)
		out = payfip.Evaluate(a.sent(att), detail, callErr, a.now())
	}
	res.Status, res.Reason = out.Status, out.Reason
	log := a.Log.With(zap.String("attempt", att.ID.String()), zap.String("kind", string(att.Kind)), zap.String("idop", *att.IDOp),
		zap.String("family", att.FamilyID.String()), zap.Int64("amount_cents", att.AmountCents))

	switch out.Status {
	case payfip.StatusPaid:
		return a.settlePaid(ctx, in, att, out, res, log)
	case payfip.StatusRefused, payfip.StatusAbandoned, payfip.StatusExpired:
		return a.settleUnpaid(ctx, in, att, out, res, log)
	case payfip.StatusPending:
		res.Action = SettleWaiting
		return res, nil
	default:
		log.Warn("reconciliation: PayFiP answer not usable", zap.String("reason", out.Reason))
		res.Action = SettleUnusable
		return res, nil
	}
}

func (a *Activities) settlePaid(ctx context.Context, in SettleInput, att db.PaymentAttempt, out payfip.Outcome, res SettleResult, log *zap.Logger) (SettleResult, error) {
	paidAt := out.PaidAt
	if paidAt.IsZero() {
		paidAt = a.now()
	}
	confirm := false
	err := a.tx(ctx, func(q *db.Queries) error {
		// The lock order of every writer of a family's money: family, attempt, cart.
		if err := ledger.LockFamily(ctx, q, att.FamilyID); err != nil {
			return err
		}
		locked, err := q.LockPaymentAttempt(ctx, att.ID)
		if err != nil {
			return fmt.Errorf("lock attempt: %w", err)
		}
		done, err := q.LedgerKeyExists(ctx, ledger.PaymentKey(att.ID))
		if err != nil {
			return fmt.Errorf("read ledger: %w", err)
		}
		if locked.Status == db.AttemptStatusPaid && done {
			res.Action = SettleAlreadyDone
			return q.MarkAttemptReconciled(ctx, db.MarkAttemptReconciledParams{ID: att.ID, ReconciledAt: ptr(a.now())})
		}
		// Is the attempt still what its cart checks out (or, for a balance payment,
		// still holding the balance it pays)? Then its money does what it was for.
		var onThisAttempt bool
		if locked.Kind == db.AttemptKindBalance {
			onThisAttempt = locked.Status == db.AttemptStatusCreated || locked.Status == db.AttemptStatusPending || locked.Status == db.AttemptStatusPaid
		} else {
			cart, err := lockCartOf(ctx, q, locked)
			if err != nil {
				return err
			}
			latest, err := q.LatestPaymentAttempt(ctx, cart.ID)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("read attempts: %w", err)
			}
			onThisAttempt = cart.Status == db.CartStatusCheckingOut && latest.ID == att.ID
		}
		if onThisAttempt && !in.CartGone {
			res.Action = SettleCartBusy
			return nil
		}
		// What a late payment of the balance settles first: the balance still
		// owed, read before this payment is written.
		var stillOwed int64
		if locked.Kind == db.AttemptKindBalance && !onThisAttempt {
			free, err := ledger.Owed(ctx, q, att.FamilyID, nil)
			if err != nil {
				return err
			}
			stillOwed = max(free.OutstandingCents, 0)
		}
		if err := q.SetPaymentAttemptOutcome(ctx, db.SetPaymentAttemptOutcomeParams{
			ID: att.ID, Status: db.AttemptStatusPaid, Resultrans: out.Resultrans, Numauto: out.Numauto,
			StatusReason: out.Reason, PaidAt: &paidAt,
		}); err != nil {
			return fmt.Errorf("record payment: %w", err)
		}
		if onThisAttempt {
			confirm = true // after this transaction: the confirmation takes its own
			return nil
		}
		if err := ledger.Write(ctx, q, ledger.Payment(locked, paidAt)); err != nil {
			return err
		}
		// Nothing was confirmed for this money: it goes to the cagnotte, except what
		// a payment of the balance can still settle of the balance.
		credit := att.AmountCents - min(att.AmountCents, stillOwed)
		res.Action = SettleConfirmed
		if credit > 0 {
			if err := ledger.Write(ctx, q, ledger.LatePaymentCredit(locked, credit, paidAt)); err != nil {
				return err
			}
			res.Action = SettleCredited
		}
		return q.MarkAttemptReconciled(ctx, db.MarkAttemptReconciledParams{ID: att.ID, ReconciledAt: ptr(a.now())})
	})
	if err != nil {
		return SettleResult{}, err
	}
	if confirm {
		confirmed := a.ConfirmCart
		if att.Kind == db.AttemptKindBalance {
			confirmed = a.ConfirmBalancePayment
		}
		if err := confirmed(ctx, att.ID); err != nil {
			return SettleResult{}, fmt.Errorf("confirm attempt %s: %w", att.ID, err)
		}
		if err := db.New(a.Pool).MarkAttemptReconciled(ctx, db.MarkAttemptReconciledParams{ID: att.ID, ReconciledAt: ptr(a.now())}); err != nil {
			return SettleResult{}, fmt.Errorf("mark reconciled: %w", err)
		}
		res.Action = SettleConfirmed
	}
	switch res.Action {
	case SettleCredited:
		log.Warn("reconciliation: payment received after its cart or payment had ended, credited to the family's cagnotte")
	case SettleConfirmed:
		log.Warn("reconciliation: payment confirmed for an attempt whose workflow had ended")
	}
	return res, nil
}

func (a *Activities) settleUnpaid(ctx context.Context, in SettleInput, att db.PaymentAttempt, out payfip.Outcome, res SettleResult, log *zap.Logger) (SettleResult, error) {
	final := out.Status != payfip.StatusExpired || a.now().Sub(deref(att.PayfipCreatedAt)) >= in.GiveUpAfter
	res.Action = SettleWaiting
	err := a.tx(ctx, func(q *db.Queries) error {
		locked, err := q.LockPaymentAttempt(ctx, att.ID)
		if err != nil {
			return fmt.Errorf("lock attempt: %w", err)
		}
		if locked.Status == db.AttemptStatusPaid {
			// Paid meanwhile (a notification won the race): the next run settles it.
			return nil
		}
		// A running cart's workflow records the outcome itself; only an attempt
		// nobody follows any more is written here.
		if in.CartGone || (locked.Status != db.AttemptStatusCreated && locked.Status != db.AttemptStatusPending) {
			if err := q.SetPaymentAttemptOutcome(ctx, db.SetPaymentAttemptOutcomeParams{
				ID: att.ID, Status: db.AttemptStatus(out.Status), Resultrans: out.Resultrans, Numauto: out.Numauto, StatusReason: out.Reason,
			}); err != nil {
				return fmt.Errorf("record outcome: %w", err)
			}
		}
		if !final {
			return nil
		}
		res.Action = SettleClosed
		if in.CartGone && att.CartID != nil {
			cart, err := q.GetCart(ctx, *att.CartID)
			if err != nil {
				return fmt.Errorf("read cart: %w", err)
			}
			if cart.Status == db.CartStatusCheckingOut {
				res.Action = SettleNeedsOperator
			}
		}
		return q.MarkAttemptReconciled(ctx, db.MarkAttemptReconciledParams{ID: att.ID, ReconciledAt: ptr(a.now())})
	})
	if err != nil {
		return SettleResult{}, err
	}
	if res.Action == SettleNeedsOperator {
		log.Error("reconciliation: cart stuck in checking_out without its workflow; its places stay held until an operator acts",
			zap.String("outcome", string(out.Status)))
	}
	return res, nil
}

// SendLatePaymentNotice tells the family, once, that a payment reached PayFiP
// after its cart or its payment had ended, and where the money went (its
// cagnotte; for a payment of the balance, first what is still owed), with the
// attestation attached. The outbound_emails row keyed "late_payment:<attempt>"
// records that it left.
func (a *Activities) SendLatePaymentNotice(ctx context.Context, attemptID uuid.UUID) error {
	return a.sendDocument(ctx, attemptID, mailLatePayment)
}

func ptr[T any](v T) *T { return &v }
