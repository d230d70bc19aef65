package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"

	"github.com/enfance/enfance/booking"
	cartpkg "github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/payfip"
)

// Paying the outstanding balance alone, without a cart: the family's "Régler mon
// solde". Its workflow (workflows.BalancePayment) freezes the amount here, then
// follows the PayFiP payment with the cart's activities (CreatePayFiPPayment,
// CheckPayment) and records the money with ConfirmBalancePayment.

// ErrTypeBalanceRefused: the balance cannot be paid alone now; the message says
// why, in French.
const ErrTypeBalanceRefused = "BalanceRefused"

// PrepareBalanceInput names the payment about to be made: its ID is the
// attempt's and its workflow's.
type PrepareBalanceInput struct {
	PaymentID uuid.UUID
	OrgID     uuid.UUID
	FamilyID  uuid.UUID
}

// PrepareBalancePayment locks the family, computes what paying its balance alone
// asks now (cart.Quote: the outstanding balance not already being paid, less the
// cagnotte not already being spent) and freezes it in a payment attempt of kind
// balance. When the cagnotte covers it all, the balance is settled at once in the
// same transaction (credit_used), without PayFiP. Replayed, it returns the attempt
// it made. A refusal (nothing owed, already being paid, under 1 €) is
// non-retryable with the family's sentence.
func (a *Activities) PrepareBalancePayment(ctx context.Context, in PrepareBalanceInput) (PrepareCheckoutResult, error) {
	var res PrepareCheckoutResult
	err := a.tx(ctx, func(q *db.Queries) error {
		if err := ledger.LockFamily(ctx, q, in.FamilyID); err != nil {
			return err
		}
		switch att, err := q.GetPaymentAttempt(ctx, in.PaymentID); {
		case err == nil:
			res = resultOf(att)
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("read attempt: %w", err)
		}
		p, err := a.payerOf(ctx, q, in.OrgID, in.FamilyID)
		if err != nil {
			return err
		}
		if !p.hasEmail() {
			return refused(booking.NoEmail)
		}
		bal, err := q.FamilyBalances(ctx, in.FamilyID)
		if err != nil {
			return fmt.Errorf("read balances: %w", err)
		}
		totals, err := cartpkg.Quote(ctx, q, in.FamilyID, nil, 0)
		if err != nil {
			return err
		}
		if code, msg := booking.BalanceRefusal(bal.OutstandingCents, totals); code != "" {
			return temporal.NewNonRetryableApplicationError(msg, ErrTypeBalanceRefused, nil, code)
		}
		settlement := booking.HowToSettle(totals.TotalDueCents)
		status := db.AttemptStatusCreated
		if settlement == booking.SettleNow {
			status = db.AttemptStatusSettledWithoutPayfip
		}
		att, err := q.InsertBalanceAttempt(ctx, db.InsertBalanceAttemptParams{
			ID: in.PaymentID, OrgID: in.OrgID, FamilyID: in.FamilyID,
			Refdet: Refdet(in.PaymentID), Numcli: p.org.Numcli, Exer: p.exer, Saisie: p.org.Saisie, Mel: p.fam.Email,
			Objet:            payfip.NormalizeObjet("Solde " + p.org.Name + " famille " + p.fam.Name),
			OutstandingCents: totals.OutstandingAddedCents,
			CreditUsedCents:  totals.CreditAppliedCents,
			AmountCents:      totals.TotalDueCents,
			Status:           status,
		})
		if err != nil {
			return fmt.Errorf("insert attempt: %w", err)
		}
		if status == db.AttemptStatusSettledWithoutPayfip {
			if err := ledger.Write(ctx, q, ledger.CreditUsed(att, a.now())); err != nil {
				return err
			}
		}
		res = resultOf(att)
		return nil
	})
	return res, err
}

// ConfirmBalancePayment records a paid payment of the balance in the ledger: the
// cagnotte it used and the payment. Replayed, the keys make it a no-op.
func (a *Activities) ConfirmBalancePayment(ctx context.Context, attemptID uuid.UUID) error {
	return a.tx(ctx, func(q *db.Queries) error {
		att, err := q.LockPaymentAttempt(ctx, attemptID)
		if err != nil {
			return fmt.Errorf("lock attempt: %w", err)
		}
		if att.Kind != db.AttemptKindBalance {
			return temporal.NewNonRetryableApplicationError("attempt "+att.ID.String()+" pays a cart", ErrTypeCartClosed, nil)
		}
		if att.Status != db.AttemptStatusPaid {
			return temporal.NewNonRetryableApplicationError("attempt is "+string(att.Status)+", not paid", ErrTypeNotPaid, nil)
		}
		at := a.now()
		if att.PaidAt != nil {
			at = *att.PaidAt
		}
		if att.CreditUsedCents > 0 {
			if err := ledger.Write(ctx, q, ledger.CreditUsed(att, at)); err != nil {
				return err
			}
		}
		return ledger.Write(ctx, q, ledger.Payment(att, at))
	})
}

// CloseAttemptInput names an attempt nobody will follow any more, and why.
type CloseAttemptInput struct {
	AttemptID uuid.UUID
	Reason    string
	ByFamily  bool // the family abandoned it on the portal
}

// CloseAttempt closes an attempt that did not end in a payment we know of (its
// PayFiP payment was never created, or the family abandoned it): it no longer
// holds what it froze. An attempt PayFiP already answered is left as it is.
// Reconciliation still reads a closed attempt from PayFiP afterwards: money taken
// after all is recorded and credited.
func (a *Activities) CloseAttempt(ctx context.Context, in CloseAttemptInput) error {
	if _, err := db.New(a.Pool).CloseAttempt(ctx, db.CloseAttemptParams{ID: in.AttemptID, Reason: in.Reason, ByFamily: in.ByFamily}); err != nil {
		return fmt.Errorf("close attempt: %w", err)
	}
	return nil
}
