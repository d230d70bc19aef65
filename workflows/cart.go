// Package workflows holds the engine's lifecycles as Temporal workflows. The code
// here is deterministic: time comes from workflow.Now, side effects from activities.
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

// Names shared with the API and the operators.
const (
	CartWorkflow   = "Cart"
	CheckoutUpdate = "checkout"
	PayFiPSignal   = "payfip-notified"
	CartQuery      = "cart"
)

// Search attributes operators filter on in the Temporal UI.
var (
	OrgIDKey          = temporal.NewSearchAttributeKeyKeyword("OrgId")
	FamilyIDKey       = temporal.NewSearchAttributeKeyKeyword("FamilyId")
	CartStatusKey     = temporal.NewSearchAttributeKeyKeyword("CartStatus")
	AmountDueCentsKey = temporal.NewSearchAttributeKeyInt64("AmountDueCents")
)

// SearchAttributes lists the custom search attributes a Temporal namespace needs.
var SearchAttributes = map[string]string{
	"OrgId": "Keyword", "FamilyId": "Keyword", "CartStatus": "Keyword", "AmountDueCents": "Int",
	"Month": "Keyword", "RunStatus": "Keyword",
}

// CartWorkflowID is the workflow ID of a cart.
func CartWorkflowID(cartID uuid.UUID) string { return "cart:" + cartID.String() }

// Payment timing (shared/payfip/README.md): an idOp lives 15 minutes; we poll at
// 16 minutes if no notification came, and P5 stays "pending" until 20 minutes.
const (
	FirstPoll      = 16 * time.Minute
	PendingLimit   = 20 * time.Minute
	PollEvery      = time.Minute
	ErrorPollEvery = 15 * time.Minute
)

// CartInput starts a cart workflow.
type CartInput struct {
	CartID    uuid.UUID
	OrgID     uuid.UUID
	FamilyID  uuid.UUID
	ExpiresAt time.Time
}

// CheckoutRequest carries what the API read from PostgreSQL just before, so the
// validator can refuse an obviously impossible checkout without leaving history.
// The activity re-checks everything under lock.
type CheckoutRequest struct {
	Lines            int
	OutstandingCents int64
	HasEmail         bool
}

// CheckoutResult answers the checkout update.
type CheckoutResult struct {
	Status         string `json:"status"` // "paid" or "payment_required"
	PaymentURL     string `json:"payment_url,omitempty"`
	AttemptID      string `json:"attempt_id,omitempty"`
	AmountDueCents int64  `json:"amount_due_cents"`
}

// CartState answers the query, for operators and tests.
type CartState struct {
	Status    string
	AttemptID string
	IDOp      string
	Expired   bool
}

// Cart statuses, as in PostgreSQL.
const (
	StatusOpen        = "open"
	StatusCheckingOut = "checking_out"
	StatusPaid        = "paid"
	StatusExpired     = "expired"
)

var errNotOpen = errors.New("le panier n'est pas ouvert au paiement")

type cart struct {
	in            CartInput
	status        string
	seq           int32
	attempt       *attempt
	paidAttempt   uuid.UUID
	ttlElapsed    bool
	notifications int
}

type attempt struct {
	id        uuid.UUID
	idOp      string
	createdAt time.Time
}

// Cart owns one cart's life: open until checkout or expiry, then waiting for PayFiP,
// then paid (or open again after a failed payment), or expired after its TTL.
func Cart(ctx workflow.Context, in CartInput) (string, error) {
	c := &cart{in: in, status: StatusOpen}
	logger := workflow.GetLogger(ctx)

	if err := workflow.SetQueryHandler(ctx, CartQuery, func() (CartState, error) {
		s := CartState{Status: c.status, Expired: c.ttlElapsed}
		if c.attempt != nil {
			s.AttemptID, s.IDOp = c.attempt.id.String(), c.attempt.idOp
		}
		return s, nil
	}); err != nil {
		return "", err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, CheckoutUpdate, c.checkout,
		workflow.UpdateHandlerOptions{Validator: c.validateCheckout}); err != nil {
		return "", err
	}
	notified := workflow.GetSignalChannel(ctx, PayFiPSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var idOp string
			notified.Receive(ctx, &idOp)
			c.notifications++
		}
	})

	ttl := max(in.ExpiresAt.Sub(workflow.Now(ctx)), 0)
	workflow.Go(ctx, func(ctx workflow.Context) {
		_ = workflow.NewTimerWithOptions(ctx, ttl, workflow.TimerOptions{Summary: "cart expiry"}).Get(ctx, nil)
		c.ttlElapsed = true
	})
	c.describe(ctx, "open until "+in.ExpiresAt.Format(time.RFC3339))

	for {
		if err := workflow.Await(ctx, func() bool {
			return c.status == StatusPaid || c.attempt != nil || (c.ttlElapsed && c.status == StatusOpen)
		}); err != nil {
			return "", err
		}
		switch {
		case c.status == StatusPaid:
			if err := c.sendReceipt(ctx); err != nil {
				return "", err
			}
			return c.finish(ctx)
		case c.attempt != nil:
			if err := c.waitForPayment(ctx); err != nil {
				return "", err
			}
		default:
			logger.Info("cart expired")
			if err := workflow.ExecuteActivity(dbCtx(ctx, "release the cart's places"), (*activities.Activities).ExpireCart, in.CartID).Get(ctx, nil); err != nil {
				return "", err
			}
			c.setStatus(ctx, StatusExpired, 0)
			return c.finish(ctx)
		}
	}
}

func (c *cart) validateCheckout(ctx workflow.Context, req CheckoutRequest) error {
	switch {
	case c.status != StatusOpen || c.ttlElapsed:
		return errNotOpen
	case req.Lines == 0 && req.OutstandingCents <= 0:
		return errors.New("votre panier est vide")
	case !req.HasEmail:
		return errors.New("aucune adresse e-mail n'est connue pour votre famille : renseignez-la dans la fiche famille")
	}
	return nil
}

func (c *cart) checkout(ctx workflow.Context, req CheckoutRequest) (CheckoutResult, error) {
	if c.status != StatusOpen {
		return CheckoutResult{}, errNotOpen
	}
	c.status = StatusCheckingOut
	c.seq++
	var prep activities.PrepareCheckoutResult
	err := workflow.ExecuteActivity(dbCtx(ctx, "freeze the checkout"), (*activities.Activities).PrepareCheckout,
		activities.PrepareCheckoutInput{CartID: c.in.CartID, Seq: c.seq}).Get(ctx, &prep)
	if err != nil {
		c.status = StatusOpen
		return CheckoutResult{}, businessError(err)
	}
	c.setStatus(ctx, StatusCheckingOut, prep.Totals.TotalDueCents)

	if prep.Settlement != booking.SettlePayFiP {
		if err := c.confirm(ctx, prep.AttemptID); err != nil {
			return CheckoutResult{}, err
		}
		return CheckoutResult{Status: StatusPaid, AttemptID: prep.AttemptID.String(), AmountDueCents: prep.Totals.TotalDueCents}, nil
	}

	var created activities.PaymentCreated
	err = workflow.ExecuteActivity(payfipCtx(ctx, "create the PayFiP payment"), (*activities.Activities).CreatePayFiPPayment,
		prep.AttemptID).Get(ctx, &created)
	if err != nil {
		if rerr := workflow.ExecuteActivity(dbCtx(ctx, "reopen the cart"), (*activities.Activities).ReopenCart, prep.AttemptID).Get(ctx, nil); rerr != nil {
			return CheckoutResult{}, rerr
		}
		c.setStatus(ctx, StatusOpen, 0)
		return CheckoutResult{}, errors.New("le service de paiement PayFiP ne répond pas ; réessayez dans quelques minutes")
	}
	c.attempt = &attempt{id: prep.AttemptID, idOp: created.IDOp, createdAt: workflow.Now(ctx)}
	c.describe(ctx, fmt.Sprintf("waiting for PayFiP, idOp %s, since %s", created.IDOp, workflow.Now(ctx).Format("15:04 MST")))
	return CheckoutResult{Status: "payment_required", PaymentURL: created.PaymentURL,
		AttemptID: prep.AttemptID.String(), AmountDueCents: prep.Totals.TotalDueCents}, nil
}

// waitForPayment waits for the notification or the poll time, asks PayFiP, and acts
// on the verified outcome. It returns once the attempt is settled one way or another.
func (c *cart) waitForPayment(ctx workflow.Context) error {
	a := c.attempt
	next := a.createdAt.Add(FirstPoll)
	for {
		seen := c.notifications
		if wait := next.Sub(workflow.Now(ctx)); wait > 0 {
			if _, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: "PayFiP poll"},
			}, func() bool { return c.notifications > seen }); err != nil {
				return err
			}
		}
		var out payfip.Outcome
		if err := workflow.ExecuteActivity(payfipCtx(ctx, "read the PayFiP result"), (*activities.Activities).CheckPayment, a.id).Get(ctx, &out); err != nil {
			out = payfip.Outcome{Status: payfip.StatusError, Reason: err.Error()}
		}
		now := workflow.Now(ctx)
		switch out.Status {
		case payfip.StatusPaid:
			c.attempt = nil
			return c.confirm(ctx, a.id)
		case payfip.StatusRefused, payfip.StatusAbandoned, payfip.StatusExpired:
			if err := workflow.ExecuteActivity(dbCtx(ctx, "reopen the cart"), (*activities.Activities).ReopenCart, a.id).Get(ctx, nil); err != nil {
				return err
			}
			c.attempt = nil
			c.setStatus(ctx, StatusOpen, 0)
			c.describe(ctx, fmt.Sprintf("open again after a %s payment (idOp %s)", out.Status, a.idOp))
			return nil
		case payfip.StatusPending:
			next = now.Add(PollEvery)
			if first := a.createdAt.Add(FirstPoll); next.Before(first) {
				next = first
			}
		default:
			// Unusable answer (mismatch, unknown code, PayFiP down): never paid on a
			// doubt. Keep asking, and say so to operators.
			c.describe(ctx, fmt.Sprintf("PayFiP result for idOp %s needs attention: %s (since %s)", a.idOp, out.Reason, a.createdAt.Format("15:04 MST")))
			next = now.Add(ErrorPollEvery)
		}
	}
}

func (c *cart) confirm(ctx workflow.Context, attemptID uuid.UUID) error {
	if err := workflow.ExecuteActivity(dbCtx(ctx, "confirm reservations and write the ledger"), (*activities.Activities).ConfirmCart, attemptID).Get(ctx, nil); err != nil {
		return err
	}
	c.paidAttempt = attemptID
	c.setStatus(ctx, StatusPaid, 0)
	c.describe(ctx, "paid")
	return nil
}

// sendReceipt e-mails the attestation. A mail outage only delays it: the activity
// retries until the message leaves, and its key keeps it to one message.
func (c *cart) sendReceipt(ctx workflow.Context) error {
	c.describe(ctx, "paid; sending the receipt")
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		Summary:             "e-mail the receipt",
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: 10 * time.Minute},
	})
	if err := workflow.ExecuteActivity(rctx, (*activities.Activities).SendReceipt, c.paidAttempt).Get(ctx, nil); err != nil {
		return err
	}
	c.describe(ctx, "paid; receipt sent")
	return nil
}

func (c *cart) finish(ctx workflow.Context) (string, error) {
	// Let an in-flight update reply before the workflow closes.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return "", err
	}
	return c.status, nil
}

func (c *cart) setStatus(ctx workflow.Context, status string, dueCents int64) {
	c.status = status
	if err := workflow.UpsertTypedSearchAttributes(ctx, CartStatusKey.ValueSet(status), AmountDueCentsKey.ValueSet(dueCents)); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

func (c *cart) describe(ctx workflow.Context, details string) {
	workflow.SetCurrentDetails(ctx, details)
}

// businessError turns a non-retryable activity failure into the plain message the
// family will read.
func businessError(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		return errors.New(appErr.Message())
	}
	return err
}

func dbCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		Summary:             summary,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
}

func payfipCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		Summary:             summary,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 5},
	})
}
