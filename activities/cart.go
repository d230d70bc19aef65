package activities

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/payfip"
)

// A cart's steps as its workflow runs them (FlowLocal): local activities,
// each doing in one call what belongs together, so that a paid cart costs a few
// workflow tasks and no activity task (docs/performance.md). Each is made of the
// idempotent activities above, so retrying the whole of it is safe.

// CheckoutResult is a frozen checkout and what became of it at once.
type CheckoutResult struct {
	PrepareCheckoutResult
	// Confirmed: nothing to pay online (the cagnotte covered it, or under 1 € was
	// carried to the balance): the cart is confirmed and its receipt queued.
	Confirmed bool
	// Payment is the PayFiP payment the family is sent to.
	Payment PaymentCreated
	// NotCreated says why PayFiP did not create the payment: the attempt is
	// closed and the cart open again.
	NotCreated string
}

// Checkout is the family's "Payer": it freezes what is due (PrepareCheckout),
// then confirms the cart at once when nothing is to be paid online (ConfirmCart),
// or creates the PayFiP payment (CreatePayFiPPayment) — and, should PayFiP not
// create it, closes the attempt and opens the cart again (ReopenCart). A refusal
// (closed cart, no e-mail address, nothing to pay) fails it for good, in French;
// a confirmation refused for good fails it as ErrTypeConfirmRefused.
func (a *Activities) Checkout(ctx context.Context, in PrepareCheckoutInput) (CheckoutResult, error) {
	prep, err := a.PrepareCheckout(ctx, in)
	if err != nil {
		return CheckoutResult{}, err
	}
	res := CheckoutResult{PrepareCheckoutResult: prep}
	if prep.Settlement != booking.SettlePayFiP {
		if err := a.ConfirmCart(ctx, prep.AttemptID); err != nil {
			return CheckoutResult{}, confirmRefused(err)
		}
		res.Confirmed = true
		return res, nil
	}
	created, err := a.CreatePayFiPPayment(ctx, prep.AttemptID)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		// A creation is never retried blindly (each call makes a new idOp): the
		// family may try again.
		a.Log.Warn("PayFiP payment not created", zap.String("attempt", prep.AttemptID.String()), zap.Error(err))
		if err := a.ReopenCart(ctx, prep.AttemptID); err != nil {
			return CheckoutResult{}, err
		}
		res.NotCreated = appErr.Message()
		return res, nil
	}
	if err != nil {
		return CheckoutResult{}, err
	}
	res.Payment = created
	return res, nil
}

// SettleCartInput names the attempt a cart's workflow follows.
type SettleCartInput struct {
	AttemptID uuid.UUID
	// ByFamily: the family gave the payment up on the portal. Unless PayFiP says
	// paid, the attempt is closed as abandoned by the family.
	ByFamily bool
}

// SettleCart reads PayFiP's verified result of a cart's attempt (CheckPayment,
// never a callback) and acts on a final one in the same call: paid, the cart is
// confirmed and its receipt queued (ConfirmCart); refused, abandoned or expired —
// or given up by the family — the attempt is closed and the cart open again
// (ReopenCart). "Not known yet" and an unusable answer change nothing: the
// workflow asks again later. Only PostgreSQL failing fails it, to be retried.
func (a *Activities) SettleCart(ctx context.Context, in SettleCartInput) (payfip.Outcome, error) {
	out, err := a.CheckPayment(ctx, in.AttemptID)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		out, err = payfip.Outcome{Status: payfip.StatusError, Reason: appErr.Message()}, nil
	}
	if err != nil {
		return payfip.Outcome{}, err
	}
	switch {
	case out.Status == payfip.StatusPaid:
		a.pause("ConfirmCart")
		err = confirmRefused(a.ConfirmCart(ctx, in.AttemptID))
	case in.ByFamily:
		err = a.CloseAttempt(ctx, CloseAttemptInput{AttemptID: in.AttemptID, Reason: "abandonné par la famille pour modifier son panier", ByFamily: true})
		if err == nil {
			err = a.ReopenCart(ctx, in.AttemptID)
		}
	case out.Status == payfip.StatusRefused, out.Status == payfip.StatusAbandoned, out.Status == payfip.StatusExpired:
		err = a.ReopenCart(ctx, in.AttemptID)
	}
	if err != nil {
		return payfip.Outcome{}, err
	}
	return out, nil
}

// ErrTypeConfirmRefused: ConfirmCart refused for good (a cart expired, an
// attempt not paid: PostgreSQL was changed behind the workflow's back). The
// cart's workflow fails where operators look (docs/operations.md).
const ErrTypeConfirmRefused = "ConfirmRefused"

func confirmRefused(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		return temporal.NewNonRetryableApplicationError(appErr.Message(), ErrTypeConfirmRefused, err)
	}
	return err
}
