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

// Payment timing (docs/payfip.md): an idOp lives 15 minutes, so without a
// notification the workflow asks PayFiP at 16 minutes; a "not known yet" (P5) is
// asked again every minute, and payfip.Evaluate calls it expired 20 minutes after
// creation. An unusable answer is asked again every 15 minutes, forever: a payment
// is never assumed.
const (
	FirstPoll      = 16 * time.Minute
	PollEvery      = time.Minute
	ErrorPollEvery = 15 * time.Minute
)

// Timing holds a payment attempt's waits. The zero value means the PayFiP timings
// above; only tests that record real histories in seconds shorten them.
type Timing struct {
	FirstPoll      time.Duration `json:",omitzero"`
	PollEvery      time.Duration `json:",omitzero"`
	ErrorPollEvery time.Duration `json:",omitzero"`
}

func (t Timing) orDefaults() Timing {
	if t.FirstPoll <= 0 {
		t.FirstPoll = FirstPoll
	}
	if t.PollEvery <= 0 {
		t.PollEvery = PollEvery
	}
	if t.ErrorPollEvery <= 0 {
		t.ErrorPollEvery = ErrorPollEvery
	}
	return t
}

// CartInput starts a cart workflow. ExpiresAt is carts.expires_at, which the API
// set from CART_TTL when it created the cart.
type CartInput struct {
	CartID    uuid.UUID
	OrgID     uuid.UUID
	FamilyID  uuid.UUID
	ExpiresAt time.Time
	Timing    Timing `json:",omitzero"`
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
	Status         string
	Seq            int32 // number of the latest checkout
	AttemptID      string
	IDOp           string
	AmountDueCents int64
	Expired        bool // the TTL has elapsed
	Details        string
}

// Cart statuses, as in PostgreSQL.
const (
	StatusOpen        = "open"
	StatusCheckingOut = "checking_out"
	StatusPaid        = "paid"
	StatusExpired     = "expired"
)

// ErrTypeCheckoutRefused is the type of the failures the checkout update answers
// with; their message is French, for the family.
const ErrTypeCheckoutRefused = "CheckoutRefused"

func refused(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeCheckoutRefused, nil)
}

var (
	errPaying   = refused("Un paiement est déjà en cours pour ce panier : terminez-le sur la page de PayFiP, ou attendez quelques minutes avant de réessayer.")
	errClosed   = refused("Ce panier est clos : ouvrez-en un nouveau en ajoutant des jours à réserver.")
	errExpired  = refused("Votre panier a expiré : les places réservées ont été libérées. Ajoutez de nouveau les jours souhaités.")
	errEmpty    = refused("Votre panier est vide et vous n'avez aucun solde à régler.")
	errNoEmail  = refused("Aucune adresse e-mail n'est connue pour votre famille : renseignez-la dans votre fiche famille avant de payer.")
	errNoPayFiP = refused("Le paiement en ligne n'a pas pu être créé auprès de PayFiP. Votre panier est conservé : réessayez dans quelques minutes.")
)

// paris is the zone operators read times in (every org is in France).
var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris") // embedded: payfip imports time/tzdata
	if err != nil {
		panic(err)
	}
	return loc
}()

type cart struct {
	in         CartInput
	timing     Timing
	status     string
	seq        int32
	dueCents   int64    // frozen by the latest checkout; 0 while open
	attempt    *attempt // the PayFiP payment being waited for
	paid       uuid.UUID
	ttlElapsed bool
	notified   map[string]int // PayFiP notifications received, by idOp
	broken     error          // an activity refused for good during a checkout
	details    string
}

type attempt struct {
	id        uuid.UUID
	idOp      string
	createdAt time.Time
}

// Cart owns one cart's life: open until checkout or expiry; at checkout, paid at
// once or a PayFiP payment to wait for; paid (then the receipt), or open again
// after a failed payment; expired once its time to live has passed and no payment
// attempt is in progress.
func Cart(ctx workflow.Context, in CartInput) (string, error) {
	c := &cart{in: in, timing: in.Timing.orDefaults(), status: StatusOpen, notified: map[string]int{}}
	if err := c.listen(ctx); err != nil {
		return "", err
	}
	c.upsert(ctx, OrgIDKey.ValueSet(in.OrgID.String()), FamilyIDKey.ValueSet(in.FamilyID.String()),
		CartStatusKey.ValueSet(StatusOpen), AmountDueCentsKey.ValueSet(0))
	c.startExpiryTimer(ctx)
	c.describe(ctx, "open until "+parisTime(in.ExpiresAt))

	for {
		if err := workflow.Await(ctx, func() bool {
			return c.status == StatusPaid || c.attempt != nil || (c.ttlElapsed && c.status == StatusOpen) || c.broken != nil
		}); err != nil {
			return "", err
		}
		switch {
		case c.broken != nil:
			// Fail where operators look (ExecutionStatus="Failed") rather than wait forever.
			return "", c.broken
		case c.status == StatusPaid:
			// After the money, the paperwork: the receipt steps go here.
			if err := c.sendReceipt(ctx); err != nil {
				return "", err
			}
			return c.finish(ctx)
		case c.attempt != nil:
			if err := c.waitForPayment(ctx); err != nil {
				return "", err
			}
		default:
			expired, err := c.expire(ctx)
			if err != nil {
				return "", err
			}
			if expired {
				return c.finish(ctx)
			}
		}
	}
}

// listen installs the query, the checkout update and the PayFiP signal.
func (c *cart) listen(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, CartQuery, func() (CartState, error) {
		s := CartState{Status: c.status, Seq: c.seq, AmountDueCents: c.dueCents, Expired: c.ttlElapsed, Details: c.details}
		if c.attempt != nil {
			s.AttemptID, s.IDOp = c.attempt.id.String(), c.attempt.idOp
		}
		return s, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, CheckoutUpdate, c.checkout,
		workflow.UpdateHandlerOptions{Validator: c.validateCheckout}); err != nil {
		return err
	}
	// A notification only says "go and ask PayFiP". It is counted by idOp, so one
	// that arrives before the checkout has finished is not missed, and a late one
	// for an earlier attempt wakes nobody. Every signal is consumed: none is left
	// unhandled when the workflow ends.
	notified := workflow.GetSignalChannel(ctx, PayFiPSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var idOp string
			notified.Receive(ctx, &idOp)
			c.notified[idOp]++
		}
	})
	return nil
}

func (c *cart) startExpiryTimer(ctx workflow.Context) {
	ttl := c.in.ExpiresAt.Sub(workflow.Now(ctx))
	workflow.Go(ctx, func(ctx workflow.Context) {
		if ttl > 0 {
			_ = workflow.NewTimerWithOptions(ctx, ttl, workflow.TimerOptions{Summary: "cart expiry (CART_TTL)"}).Get(ctx, nil)
		}
		c.ttlElapsed = true
	})
}

func (c *cart) validateCheckout(_ workflow.Context, req CheckoutRequest) error {
	if err := c.checkoutAllowed(); err != nil {
		return err
	}
	switch {
	case req.Lines == 0 && req.OutstandingCents <= 0:
		return errEmpty
	case !req.HasEmail:
		return errNoEmail
	}
	return nil
}

func (c *cart) checkoutAllowed() error {
	switch {
	case c.status == StatusCheckingOut:
		return errPaying
	case c.status != StatusOpen:
		return errClosed
	case c.ttlElapsed:
		return errExpired
	}
	return nil
}

// checkout is the family's "pay" button.
func (c *cart) checkout(ctx workflow.Context, req CheckoutRequest) (CheckoutResult, error) {
	// Replay skips validators, and the state may have moved since: ask again.
	if err := c.checkoutAllowed(); err != nil {
		return CheckoutResult{}, err
	}
	return c.settle(ctx)
}

// settle freezes what is due and settles it: at once when nothing is to be paid
// online, otherwise by creating a PayFiP payment that waitForPayment follows.
func (c *cart) settle(ctx workflow.Context) (CheckoutResult, error) {
	c.status = StatusCheckingOut
	var prep activities.PrepareCheckoutResult
	err := workflow.ExecuteActivity(dbCtx(ctx, fmt.Sprintf("freeze the amount due (checkout %d)", c.seq+1)),
		(*activities.Activities).PrepareCheckout, activities.PrepareCheckoutInput{CartID: c.in.CartID, Seq: c.seq + 1}).Get(ctx, &prep)
	if err != nil {
		c.status = StatusOpen
		return CheckoutResult{}, forFamily(err)
	}
	c.seq, c.dueCents = prep.Seq, prep.Totals.TotalDueCents
	c.setStatus(ctx, StatusCheckingOut)
	res := CheckoutResult{AttemptID: prep.AttemptID.String(), AmountDueCents: c.dueCents}

	if prep.Settlement != booking.SettlePayFiP {
		// Credit covers it, or it is under PayFiP's 1 € minimum and stays owed.
		c.describe(ctx, fmt.Sprintf("checkout %d: %s due, settled without PayFiP (%s)", c.seq, euros(c.dueCents), prep.Settlement))
		if err := c.confirm(ctx, prep.AttemptID); err != nil {
			c.broken = err
			return CheckoutResult{}, err
		}
		res.Status = StatusPaid
		return res, nil
	}

	var created activities.PaymentCreated
	err = workflow.ExecuteActivity(payfipCtx(ctx, fmt.Sprintf("create the PayFiP payment of %s", euros(c.dueCents))),
		(*activities.Activities).CreatePayFiPPayment, prep.AttemptID).Get(ctx, &created)
	if err != nil {
		workflow.GetLogger(ctx).Warn("PayFiP payment not created", "attempt", prep.AttemptID.String(), "error", err)
		if err := c.reopen(ctx, prep.AttemptID, fmt.Sprintf("PayFiP payment of checkout %d could not be created", c.seq)); err != nil {
			c.broken = err
			return CheckoutResult{}, err
		}
		return CheckoutResult{}, errNoPayFiP
	}
	now := workflow.Now(ctx)
	c.attempt = &attempt{id: prep.AttemptID, idOp: created.IDOp, createdAt: now}
	c.describe(ctx, fmt.Sprintf("waiting for PayFiP, idOp %s, %s, since %s", created.IDOp, euros(c.dueCents), parisClock(now)))
	res.Status, res.PaymentURL = "payment_required", created.PaymentURL
	return res, nil
}

// waitForPayment waits for a notification or the poll time, asks PayFiP, and acts
// on the verified outcome. It returns once the attempt is settled one way or the
// other; only PayFiP's answer settles it, so it outlives the cart's TTL if need be.
func (c *cart) waitForPayment(ctx workflow.Context) error {
	a := c.attempt
	next := a.createdAt.Add(c.timing.FirstPoll)
	seen := 0
	for {
		if wait := next.Sub(workflow.Now(ctx)); wait > 0 && c.notified[a.idOp] == seen {
			if _, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: "ask PayFiP if no notification comes"},
			}, func() bool { return c.notified[a.idOp] > seen }); err != nil {
				return err
			}
		}
		seen = c.notified[a.idOp]
		out := c.checkPayment(ctx, a)
		now := workflow.Now(ctx)
		switch out.Status {
		case payfip.StatusPaid:
			c.attempt = nil
			return c.confirm(ctx, a.id)
		case payfip.StatusRefused, payfip.StatusAbandoned, payfip.StatusExpired:
			c.attempt = nil
			return c.reopen(ctx, a.id, fmt.Sprintf("payment %s (idOp %s)", out.Status, a.idOp))
		case payfip.StatusPending:
			next = now.Add(c.timing.PollEvery)
			c.describe(ctx, fmt.Sprintf("waiting for PayFiP, idOp %s, %s, since %s; not known yet at %s",
				a.idOp, euros(c.dueCents), parisClock(a.createdAt), parisClock(now)))
		default:
			next = now.Add(c.timing.ErrorPollEvery)
			c.describe(ctx, fmt.Sprintf("NEEDS ATTENTION: PayFiP answer for idOp %s (%s, since %s) unusable at %s: %s; asking again at %s",
				a.idOp, euros(c.dueCents), parisClock(a.createdAt), parisClock(now), truncate(out.Reason, 300), parisClock(next)))
		}
	}
}

// checkPayment asks PayFiP for the attempt's result. An activity that failed for
// good is an unusable answer like any other: asked again later, never paid.
func (c *cart) checkPayment(ctx workflow.Context, a *attempt) payfip.Outcome {
	var out payfip.Outcome
	err := workflow.ExecuteActivity(payfipCtx(ctx, "read the PayFiP result of idOp "+a.idOp),
		(*activities.Activities).CheckPayment, a.id).Get(ctx, &out)
	if err != nil {
		return payfip.Outcome{Status: payfip.StatusError, Reason: err.Error()}
	}
	return out
}

func (c *cart) confirm(ctx workflow.Context, attemptID uuid.UUID) error {
	if err := workflow.ExecuteActivity(dbCtx(ctx, "confirm the reservations and write the ledger"),
		(*activities.Activities).ConfirmCart, attemptID).Get(ctx, nil); err != nil {
		return err
	}
	c.paid = attemptID
	c.setStatus(ctx, StatusPaid)
	c.describe(ctx, fmt.Sprintf("paid at %s (checkout %d, %s)", parisClock(workflow.Now(ctx)), c.seq, euros(c.dueCents)))
	return nil
}

// reopen gives the cart back to the family after a payment that did not happen.
func (c *cart) reopen(ctx workflow.Context, attemptID uuid.UUID, why string) error {
	if err := workflow.ExecuteActivity(dbCtx(ctx, "reopen the cart: "+why),
		(*activities.Activities).ReopenCart, attemptID).Get(ctx, nil); err != nil {
		return err
	}
	c.dueCents = 0
	c.setStatus(ctx, StatusOpen)
	if c.ttlElapsed {
		c.describe(ctx, why+"; time to live over, expiring")
	} else {
		c.describe(ctx, fmt.Sprintf("open again at %s after %s; open until %s", parisClock(workflow.Now(ctx)), why, parisTime(c.in.ExpiresAt)))
	}
	return nil
}

// expire ends the cart once its time to live has passed. It reports false when
// PostgreSQL holds a payment attempt this run did not make (an earlier run was
// terminated in the middle of a payment): that attempt is followed to its end
// first, as any other, and the expiry tried again afterwards.
func (c *cart) expire(ctx workflow.Context) (bool, error) {
	c.describe(ctx, "time to live over: releasing the places")
	err := workflow.ExecuteActivity(dbCtx(ctx, "release the places and expire the cart"),
		(*activities.Activities).ExpireCart, c.in.CartID).Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeCartBusy {
		workflow.GetLogger(ctx).Warn("cart has a payment attempt in progress that this run did not start: following it before expiring")
		_, err := c.settle(ctx)
		return false, err
	}
	if err != nil {
		return false, err
	}
	c.dueCents = 0
	c.setStatus(ctx, StatusExpired)
	c.describe(ctx, "expired at "+parisTime(workflow.Now(ctx))+"; places released")
	return true, nil
}

// sendReceipt e-mails the attestation. A mail outage only delays it: the activity
// retries until the message leaves, and its key keeps it to one message.
func (c *cart) sendReceipt(ctx workflow.Context) error {
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, // mail.SMTP gives up after 30 s too
		Summary:             "e-mail the receipt",
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: 10 * time.Minute},
	})
	if err := workflow.ExecuteActivity(rctx, (*activities.Activities).SendReceipt, c.paid).Get(ctx, nil); err != nil {
		return err
	}
	c.describe(ctx, c.details+"; receipt sent")
	return nil
}

func (c *cart) finish(ctx workflow.Context) (string, error) {
	// Let an in-flight update reply before the workflow closes.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return "", err
	}
	return c.status, nil
}

func (c *cart) setStatus(ctx workflow.Context, status string) {
	c.status = status
	c.upsert(ctx, CartStatusKey.ValueSet(status), AmountDueCentsKey.ValueSet(c.dueCents))
}

func (c *cart) upsert(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

// describe sets the plain-words status the Temporal UI shows as current details.
func (c *cart) describe(ctx workflow.Context, details string) {
	c.details = details
	workflow.SetCurrentDetails(ctx, details)
}

// forFamily keeps the French message of a refusal an activity decided (cart
// closed, no e-mail, nothing to pay) and hides anything else.
func forFamily(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		return refused(appErr.Message())
	}
	return err
}

func parisClock(t time.Time) string { return t.In(paris).Format("15:04") }

func parisTime(t time.Time) string { return t.In(paris).Format("02/01/2006 15:04 (Paris)") }

func euros(cents int64) string { return fmt.Sprintf("%d,%02d €", cents/100, cents%100) }

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// Timeouts are short on purpose: they are how Temporal notices a worker that died
// mid-activity, and every activity here is idempotent, so a retry elsewhere is safe.
// A PostgreSQL transaction of the cart takes milliseconds.
func dbCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		Summary:             summary,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
}

// payfipCtx leaves room for one PayFiP call (PAYFIP_TIMEOUT, 15 s by default).
func payfipCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		Summary:             summary,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 5},
	})
}
