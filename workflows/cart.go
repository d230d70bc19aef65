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
	// AbandonUpdate gives up the payment in progress (its attempt ID as argument):
	// "Abandonner ce paiement et modifier mon panier".
	AbandonUpdate = "abandon"
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
	"Month": "Keyword", "RunStatus": "Keyword", "PaymentStatus": "Keyword",
	"ServiceId": "Keyword", "ServiceDate": "Keyword", "WaitlistLength": "Int",
}

// CartWorkflowID is the workflow ID of a cart.
func CartWorkflowID(cartID uuid.UUID) string { return "cart:" + cartID.String() }

// CartInput starts a cart workflow. ExpiresAt is carts.expires_at, which the API
// set from CART_TTL when it created the cart; RemindBefore is CART_REMINDER_BEFORE
// (zero: no reminder).
type CartInput struct {
	CartID       uuid.UUID
	OrgID        uuid.UUID
	FamilyID     uuid.UUID
	ExpiresAt    time.Time
	Timing       Timing        `json:",omitzero"`
	RemindBefore time.Duration `json:",omitzero"`
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
	// "payment_required" (PayFiP), "paid" (the cagnotte covered it), or
	// "confirmed" (under PayFiP's 1 €: confirmed, the amount carried to the
	// balance, nothing paid).
	Status                string `json:"status"`
	PaymentURL            string `json:"payment_url,omitempty"`
	AttemptID             string `json:"attempt_id,omitempty"`
	AmountDueCents        int64  `json:"amount_due_cents"`
	CarriedToBalanceCents int64  `json:"carried_to_balance_cents,omitempty"`
}

// Checkout answers besides "paid".
const (
	CheckoutPaymentRequired = "payment_required" // pay on PayFiP's page
	CheckoutConfirmed       = "confirmed"        // under 1 €: confirmed, carried to the balance, nothing paid
)

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

type cart struct {
	in         CartInput
	status     string
	seq        int32
	dueCents   int64    // frozen by the latest checkout; 0 while open
	attempt    *attempt // the PayFiP payment being waited for
	pay        *payfipFollower
	paid       uuid.UUID
	ttlElapsed bool
	broken     error // an activity refused for good during a checkout
	details    string
}

// Cart owns one cart's life: open until checkout or expiry; at checkout, paid at
// once or a PayFiP payment to wait for; paid (then the receipt), or open again
// after a failed payment; expired once its time to live has passed and no payment
// attempt is in progress.
func Cart(ctx workflow.Context, in CartInput) (string, error) {
	c := &cart{in: in, status: StatusOpen}
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
			if err := sendReceipt(ctx, c.paid); err != nil {
				return "", err
			}
			c.describe(ctx, c.details+"; receipt sent")
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
	if err := workflow.SetUpdateHandlerWithOptions(ctx, AbandonUpdate, c.abandon,
		workflow.UpdateHandlerOptions{Validator: c.validateAbandon}); err != nil {
		return err
	}
	c.pay = followPayFiP(ctx, c.in.Timing, c.describe)
	return nil
}

// reminderChange versions the reminder: carts started before it have a single
// expiry timer, which their histories replay.
const reminderChange = "cart-reminder"

// startExpiryTimer runs the cart's clock: the expiry at ExpiresAt and, before it,
// the reminder e-mail RemindBefore ahead. The reminder costs no timer of its own:
// the wait until expiry is cut in two at the reminder's time, so a cart paid
// before then never has more than one timer, and a cart younger than
// RemindBefore (or a cart of the code before the reminder) has just the expiry.
func (c *cart) startExpiryTimer(ctx workflow.Context) {
	now := workflow.Now(ctx)
	ttl := c.in.ExpiresAt.Sub(now)
	remindIn, remind := booking.ReminderAfter(now, c.in.ExpiresAt, c.in.RemindBefore)
	if remind && workflow.GetVersion(ctx, reminderChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		remind = false
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		if remind {
			_ = workflow.NewTimerWithOptions(ctx, remindIn, workflow.TimerOptions{Summary: "reminder e-mail (CART_REMINDER_BEFORE)"}).Get(ctx, nil)
			ttl = c.in.ExpiresAt.Sub(workflow.Now(ctx))
			expiry := c.expiryTimer(ctx, ttl)
			workflow.Go(ctx, c.remind) // never holds up the expiry
			_ = expiry.Get(ctx, nil)
		} else if ttl > 0 {
			_ = c.expiryTimer(ctx, ttl).Get(ctx, nil)
		}
		c.ttlElapsed = true
	})
}

func (c *cart) expiryTimer(ctx workflow.Context, ttl time.Duration) workflow.Future {
	return workflow.NewTimerWithOptions(ctx, ttl, workflow.TimerOptions{Summary: "cart expiry (CART_TTL)"})
}

// remind e-mails the family what its cart holds, once, unless the cart is being
// paid or closed (the activity checks PostgreSQL too: not for an empty cart). A
// mail outage is retried until the cart expires, after which a reminder has no
// point (and the workflow ends without waiting for it).
func (c *cart) remind(ctx workflow.Context) {
	if c.status != StatusOpen {
		return
	}
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second, // mail.SMTP gives up after 30 s too
		ScheduleToCloseTimeout: c.in.ExpiresAt.Sub(workflow.Now(ctx)),
		Summary:                "e-mail the reminder: the cart expires at " + parisTime(c.in.ExpiresAt),
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: time.Minute},
	})
	if err := workflow.ExecuteActivity(rctx, (*activities.Activities).SendCartReminder, c.in.CartID).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("cart reminder not sent", "error", err)
	}
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
		if prep.Settlement == booking.SettleCarried {
			// Nothing was paid: the reservations are confirmed and the amount owed.
			res.Status, res.CarriedToBalanceCents = CheckoutConfirmed, c.dueCents
		}
		return res, nil
	}

	created, err := createPayment(ctx, prep.AttemptID, c.dueCents)
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
	res.Status, res.PaymentURL = CheckoutPaymentRequired, created.PaymentURL
	return res, nil
}

// waitForPayment follows the attempt to PayFiP's verified outcome (or the
// family's abandon) and acts on it. Only PayFiP's answer settles it, so it
// outlives the cart's TTL if need be.
func (c *cart) waitForPayment(ctx workflow.Context) error {
	a := c.attempt
	out, byFamily, err := c.pay.await(ctx, a, c.dueCents)
	if err != nil {
		return err
	}
	c.attempt = nil
	switch {
	case out.Status == payfip.StatusPaid:
		return c.confirm(ctx, a.id)
	case byFamily:
		if err := workflow.ExecuteActivity(dbCtx(ctx, "close the attempt the family abandoned"),
			(*activities.Activities).CloseAttempt, activities.CloseAttemptInput{
				AttemptID: a.id, Reason: "abandonné par la famille pour modifier son panier", ByFamily: true,
			}).Get(ctx, nil); err != nil {
			return err
		}
		return c.reopen(ctx, a.id, fmt.Sprintf("payment abandoned by the family (idOp %s)", a.idOp))
	}
	return c.reopen(ctx, a.id, fmt.Sprintf("payment %s (idOp %s)", out.Status, a.idOp))
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

// AbandonResult answers the abandon update: the status once the attempt is
// settled — open again, or paid when PayFiP had taken the money after all.
type AbandonResult struct {
	Status string `json:"status"`
}

var errNothingToAbandon = refused("Aucun paiement n'est en cours : il vient d'aboutir, ou il est déjà abandonné.")

func (c *cart) validateAbandon(_ workflow.Context, attemptID string) error {
	if c.attempt == nil || c.attempt.id.String() != attemptID {
		return errNothingToAbandon
	}
	return nil
}

// abandon is "Abandonner ce paiement et modifier mon panier": the attempt is given
// up at once and the cart reopened (waitForPayment does it, after asking PayFiP
// once: a payment already made is confirmed instead). Money PayFiP takes for it
// later is credited by reconciliation.
func (c *cart) abandon(ctx workflow.Context, attemptID string) (AbandonResult, error) {
	a := c.attempt
	if a == nil || a.id.String() != attemptID { // replay skips validators
		return AbandonResult{}, errNothingToAbandon
	}
	c.pay.abandon(a.id)
	if err := workflow.Await(ctx, func() bool { return (c.attempt != a && c.status != StatusCheckingOut) || c.broken != nil }); err != nil {
		return AbandonResult{}, err
	}
	return AbandonResult{Status: c.status}, nil
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
