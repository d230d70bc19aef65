package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/payfip"
)

// Paying the outstanding balance alone ("Régler mon solde"): one workflow per
// payment, balance:<payment id>, independent of the family's cart — the cart's
// lines stay held and untouched whatever happens here, and both may be in progress
// at once (each freezes only what the other has not: cart.Quote).

// BalancePaymentWorkflow is the workflow type.
const BalancePaymentWorkflow = "BalancePayment"

// BalanceQuery answers the payment's state, for operators and tests.
const BalanceQuery = "payment"

// PaymentStatusKey is the search attribute operators find balance payments by,
// with OrgId, FamilyId and AmountDueCents.
var PaymentStatusKey = temporal.NewSearchAttributeKeyKeyword("PaymentStatus")

// A balance payment's statuses (PaymentStatus, and the workflow's result).
const (
	PaymentPreparing = "preparing"      // freezing the amount, creating the PayFiP payment
	PaymentWaiting   = "waiting_payfip" // the family is on PayFiP's page
	PaymentPaid      = "paid"           // recorded in the ledger (online, or with the cagnotte)
	PaymentNotPaid   = "not_paid"       // refused, abandoned (on PayFiP or by the family), expired, never created
	PaymentRefused   = "refused"        // nothing to pay alone now (nothing owed, already being paid, under 1 €)
)

// BalanceWorkflowID is the workflow ID of a payment of the balance.
func BalanceWorkflowID(paymentID uuid.UUID) string { return "balance:" + paymentID.String() }

// BalanceInput starts a payment of the balance; PaymentID is also its attempt's ID.
type BalanceInput struct {
	PaymentID uuid.UUID
	OrgID     uuid.UUID
	FamilyID  uuid.UUID
	Timing    Timing `json:",omitzero"`
}

// BalanceState answers BalanceQuery.
type BalanceState struct {
	Status         string
	IDOp           string
	AmountDueCents int64
	Details        string
}

// ErrTypeBalanceRefused is the type of the refusals the checkout update of a
// balance payment answers: its message is the family's sentence, its details the
// reason's code (booking.NothingDue …).
const ErrTypeBalanceRefused = activities.ErrTypeBalanceRefused

// checkoutWait bounds how long a balance payment waits for its checkout update;
// the API sends it with the start (UpdateWithStart), so only a start without one
// ever waits this long.
const checkoutWait = 10 * time.Minute

type balancePayment struct {
	in       BalanceInput
	status   string
	started  bool
	attempt  *attempt
	dueCents int64
	pay      *payfipFollower
	details  string
}

// BalancePayment is one payment of the family's outstanding balance alone. Its
// checkout update freezes the amount (activities.PrepareBalancePayment) and either
// settles it with the cagnotte at once, or creates the PayFiP payment and answers
// its URL. The workflow then follows the payment exactly as a cart does (the same
// notification signal, polls and verification), records it in the ledger when
// PayFiP says paid, and e-mails the attestation. An attempt the family abandons, or
// PayFiP refuses, holds nothing any more; money PayFiP takes for it later is
// found by reconciliation and settles the balance then (the rest goes to the
// cagnotte).
func BalancePayment(ctx workflow.Context, in BalanceInput) (string, error) {
	b := &balancePayment{in: in, status: PaymentPreparing}
	if err := workflow.SetQueryHandler(ctx, BalanceQuery, func() (BalanceState, error) {
		s := BalanceState{Status: b.status, AmountDueCents: b.dueCents, Details: b.details}
		if b.attempt != nil {
			s.IDOp = b.attempt.idOp
		}
		return s, nil
	}); err != nil {
		return "", err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, CheckoutUpdate, b.checkout, workflow.UpdateHandlerOptions{
		Validator: func(workflow.Context) error {
			if b.started {
				return refused("Ce paiement est déjà lancé.")
			}
			return nil
		},
	}); err != nil {
		return "", err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, AbandonUpdate, b.abandon, workflow.UpdateHandlerOptions{
		Validator: func(_ workflow.Context, attemptID string) error {
			if b.attempt == nil || b.attempt.id.String() != attemptID {
				return errNothingToAbandon
			}
			return nil
		},
	}); err != nil {
		return "", err
	}
	b.pay = followPayFiP(ctx, in.Timing, b.describe, checkWithActivity)
	b.describe(ctx, "waiting for the family's checkout")

	ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
		Timeout: checkoutWait, TimerOptions: workflow.TimerOptions{Summary: "wait for the checkout"},
	}, func() bool { return b.status != PaymentPreparing })
	if err != nil {
		return "", err
	}
	if !ok {
		b.setStatus(ctx, PaymentRefused)
		b.describe(ctx, "no checkout came: nothing frozen, nothing paid")
		return b.finish(ctx)
	}
	if a := b.attempt; a != nil {
		out, byFamily, err := b.pay.await(ctx, a, b.dueCents)
		if err != nil {
			return "", err
		}
		switch {
		case out.Status == payfip.StatusPaid:
			if err := workflow.ExecuteActivity(dbCtx(ctx, "record the payment of the balance in the ledger"),
				(*activities.Activities).ConfirmBalancePayment, a.id).Get(ctx, nil); err != nil {
				return "", err
			}
			b.attempt = nil
			b.setStatus(ctx, PaymentPaid)
			b.describe(ctx, fmt.Sprintf("paid at %s (%s, idOp %s)", parisClock(workflow.Now(ctx)), euros(b.dueCents), a.idOp))
		case byFamily:
			if err := b.close(ctx, a.id, "abandonné par la famille", true); err != nil {
				return "", err
			}
			b.attempt = nil
			b.setStatus(ctx, PaymentNotPaid)
			b.describe(ctx, fmt.Sprintf("abandoned by the family at %s (idOp %s)", parisClock(workflow.Now(ctx)), a.idOp))
		default:
			b.attempt = nil
			b.setStatus(ctx, PaymentNotPaid)
			b.describe(ctx, fmt.Sprintf("not paid: %s (idOp %s)", out.Status, a.idOp))
		}
	}
	if b.status == PaymentPaid {
		if err := sendReceipt(ctx, b.in.PaymentID); err != nil {
			return "", err
		}
		b.describe(ctx, b.details+"; receipt sent")
	}
	return b.finish(ctx)
}

// checkout freezes the balance and answers what the family does next.
func (b *balancePayment) checkout(ctx workflow.Context) (CheckoutResult, error) {
	if b.started { // replay skips validators
		return CheckoutResult{}, refused("Ce paiement est déjà lancé.")
	}
	b.started = true
	var prep activities.PrepareCheckoutResult
	err := workflow.ExecuteActivity(dbCtx(ctx, "freeze the balance to pay"), (*activities.Activities).PrepareBalancePayment,
		activities.PrepareBalanceInput{PaymentID: b.in.PaymentID, OrgID: b.in.OrgID, FamilyID: b.in.FamilyID}).Get(ctx, &prep)
	if err != nil {
		b.setStatus(ctx, PaymentRefused)
		b.describe(ctx, "refused: "+err.Error())
		return CheckoutResult{}, balanceRefusal(err)
	}
	b.dueCents = prep.Totals.TotalDueCents
	res := CheckoutResult{AttemptID: prep.AttemptID.String(), AmountDueCents: b.dueCents}
	if prep.Settlement == booking.SettleNow {
		b.setStatus(ctx, PaymentPaid)
		b.describe(ctx, fmt.Sprintf("settled with the cagnotte (%s), without PayFiP", euros(prep.Totals.CreditAppliedCents)))
		res.Status = PaymentPaid
		return res, nil
	}
	created, err := createPayment(ctx, prep.AttemptID, b.dueCents)
	if err != nil {
		workflow.GetLogger(ctx).Warn("PayFiP payment not created", "attempt", prep.AttemptID.String(), "error", err)
		if err := b.close(ctx, prep.AttemptID, "paiement PayFiP non créé", false); err != nil {
			return CheckoutResult{}, err
		}
		b.setStatus(ctx, PaymentNotPaid)
		b.describe(ctx, "the PayFiP payment could not be created")
		return CheckoutResult{}, refused("Le paiement en ligne n'a pas pu être créé auprès de PayFiP. Réessayez dans quelques minutes.")
	}
	now := workflow.Now(ctx)
	b.attempt = &attempt{id: prep.AttemptID, idOp: created.IDOp, createdAt: now}
	b.setStatus(ctx, PaymentWaiting)
	b.describe(ctx, fmt.Sprintf("waiting for PayFiP, idOp %s, %s, since %s", created.IDOp, euros(b.dueCents), parisClock(now)))
	res.Status, res.PaymentURL = CheckoutPaymentRequired, created.PaymentURL
	return res, nil
}

// abandon gives the payment up at once (after asking PayFiP once, as the cart does).
func (b *balancePayment) abandon(ctx workflow.Context, attemptID string) (AbandonResult, error) {
	a := b.attempt
	if a == nil || a.id.String() != attemptID {
		return AbandonResult{}, errNothingToAbandon
	}
	b.pay.abandon(a.id)
	if err := workflow.Await(ctx, func() bool { return b.attempt != a }); err != nil {
		return AbandonResult{}, err
	}
	return AbandonResult{Status: b.status}, nil
}

func (b *balancePayment) close(ctx workflow.Context, attemptID uuid.UUID, reason string, byFamily bool) error {
	return workflow.ExecuteActivity(dbCtx(ctx, "close the attempt: "+reason), (*activities.Activities).CloseAttempt,
		activities.CloseAttemptInput{AttemptID: attemptID, Reason: reason, ByFamily: byFamily}).Get(ctx, nil)
}

func (b *balancePayment) setStatus(ctx workflow.Context, status string) {
	b.status = status
	if err := workflow.UpsertTypedSearchAttributes(ctx, PaymentStatusKey.ValueSet(status), AmountDueCentsKey.ValueSet(b.dueCents)); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

func (b *balancePayment) describe(ctx workflow.Context, details string) {
	b.details = details
	workflow.SetCurrentDetails(ctx, details)
}

func (b *balancePayment) finish(ctx workflow.Context) (string, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return "", err
	}
	return b.status, nil
}

// balanceRefusal keeps the family's sentence and the reason's code of a refusal
// the activity decided, and hides anything else.
func balanceRefusal(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeBalanceRefused {
		var code string
		_ = appErr.Details(&code)
		return temporal.NewNonRetryableApplicationError(appErr.Message(), ErrTypeBalanceRefused, nil, code)
	}
	return forFamily(err)
}
