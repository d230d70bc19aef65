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
	"github.com/enfance/enfance/db"
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
	// Flow is the cart code the workflow was started for, fixed with it: every
	// start sets FlowLocal (CartStartOptions). The zero value is the carts
	// started by the earlier code, which keep the code they started with to their
	// end (their histories in testdata replay it).
	Flow int `json:",omitzero"`
}

// The cart's flows.
const (
	// FlowActivities: every step an activity task, the receipt sent by the
	// workflow (the carts started by the earlier code).
	FlowActivities = 0
	// FlowLocal: the steps are local activities, each doing in one call what
	// belongs together (activities.Checkout, activities.SettleCart), the
	// receipt queued by the confirmation and sent by the workers' e-mail queue,
	// no search attribute written twice. A paid cart is three workflow tasks and
	// no activity task (docs/performance.md).
	FlowLocal = 1
)

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
	StatusOpen        = string(db.CartStatusOpen)
	StatusCheckingOut = string(db.CartStatusCheckingOut)
	StatusPaid        = string(db.CartStatusPaid)
	StatusExpired     = string(db.CartStatusExpired)
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
	errNoPayFiP = refused("Le paiement en ligne n'a pas pu être créé auprès de PayFiP. Votre panier est conservé : réessayez dans quelques minutes.")
)

type cart struct {
	in         CartInput
	local      bool // in.Flow is FlowLocal
	status     string
	seq        int32
	dueCents   int64    // frozen by the latest checkout; 0 while open
	attempt    *attempt // the PayFiP payment being waited for
	pay        *payfipFollower
	paid       uuid.UUID
	ttlElapsed bool
	broken     error // an activity refused for good during a checkout
	details    string
	// shown is what the search attributes say (FlowLocal writes only changes).
	shown struct {
		status   string
		dueCents int64
	}
}

// Cart owns one cart's life: open until checkout or expiry; at checkout, paid at
// once or a PayFiP payment to wait for; paid (then the receipt), or open again
// after a failed payment; expired once its time to live has passed and no payment
// attempt is in progress.
func Cart(ctx workflow.Context, in CartInput) (string, error) {
	c := &cart{in: in, status: StatusOpen, local: in.Flow >= FlowLocal}
	if err := c.listen(ctx); err != nil {
		return "", err
	}
	c.initSearchAttributes(ctx)
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
			// After the money, the paperwork. FlowLocal: the confirmation queued the
			// receipt, which the workers' e-mail queue sends.
			if !c.local {
				if err := sendReceipt(ctx, c.paid); err != nil {
					return "", err
				}
				c.describe(ctx, c.details+"; receipt sent")
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
	if err := workflow.SetUpdateHandlerWithOptions(ctx, AbandonUpdate, c.abandon,
		workflow.UpdateHandlerOptions{Validator: c.validateAbandon}); err != nil {
		return err
	}
	check := checkWithActivity
	if c.local {
		check = c.settleLocal
	}
	c.pay = followPayFiP(ctx, c.in.Timing, c.describe, check)
	return nil
}

// initSearchAttributes sets what operators find the cart by. The start options
// set them all (CartStartOptions): FlowLocal writes only what a start left out;
// the earlier flow wrote them all again.
func (c *cart) initSearchAttributes(ctx workflow.Context) {
	all := []struct {
		key temporal.SearchAttributeKey
		set temporal.SearchAttributeUpdate
	}{
		{OrgIDKey, OrgIDKey.ValueSet(c.in.OrgID.String())},
		{FamilyIDKey, FamilyIDKey.ValueSet(c.in.FamilyID.String())},
		{CartStatusKey, CartStatusKey.ValueSet(StatusOpen)},
		{AmountDueCentsKey, AmountDueCentsKey.ValueSet(0)},
	}
	started := workflow.GetTypedSearchAttributes(ctx)
	var updates []temporal.SearchAttributeUpdate
	for _, a := range all {
		if !c.local || !started.ContainsKey(a.key) {
			updates = append(updates, a.set)
		}
	}
	if len(updates) > 0 {
		c.upsert(ctx, updates...)
	}
	c.shown.status = StatusOpen
}

// reminderChange versions the reminder: carts started before it have a single
// expiry timer, which their histories replay.
const reminderChange = "cart-reminder"

// startExpiryTimer runs the cart's clock: the expiry at ExpiresAt and, before it,
// the reminder e-mail RemindBefore ahead. The reminder costs no timer of its own:
// the wait until expiry is cut in two at the reminder's time, so a cart paid
// before then never has more than one timer, and a cart younger than
// RemindBefore (or a cart of the code before the reminder) has just the expiry.
// FlowLocal carts all have the reminder code: no version marker (nor the search
// attribute upsert that goes with it) in their histories.
func (c *cart) startExpiryTimer(ctx workflow.Context) {
	now := workflow.Now(ctx)
	ttl := c.in.ExpiresAt.Sub(now)
	remindIn, remind := booking.ReminderAfter(now, c.in.ExpiresAt, c.in.RemindBefore)
	if remind && !c.local && workflow.GetVersion(ctx, reminderChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
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
	if code := booking.CheckoutRefusal(req.Lines, req.OutstandingCents, req.HasEmail); code != "" {
		return refused(booking.RefusalMessage(code))
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
	return c.checkoutNow(ctx)
}

func (c *cart) checkoutNow(ctx workflow.Context) (CheckoutResult, error) {
	if c.local {
		return c.checkoutLocal(ctx)
	}
	return c.settle(ctx)
}

// checkoutLocal is the checkout of FlowLocal: one local activity freezes what is
// due, then confirms the cart at once or creates the PayFiP payment
// (activities.Checkout); the search attributes change once.
func (c *cart) checkoutLocal(ctx workflow.Context) (CheckoutResult, error) {
	c.status = StatusCheckingOut
	var done activities.CheckoutResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx, fmt.Sprintf("checkout %d: freeze the amount due, then confirm or create the PayFiP payment", c.seq+1)),
		localCheckout, activities.PrepareCheckoutInput{CartID: c.in.CartID, Seq: c.seq + 1}).Get(ctx, &done)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeConfirmRefused {
		c.broken = err
		return CheckoutResult{}, err
	}
	if err != nil {
		c.status = StatusOpen
		return CheckoutResult{}, forFamily(err)
	}
	c.seq, c.dueCents = done.Seq, done.Totals.TotalDueCents
	res := CheckoutResult{AttemptID: done.AttemptID.String(), AmountDueCents: c.dueCents}
	switch {
	case done.Confirmed:
		// Credit covered it, or it is under PayFiP's 1 € minimum and stays owed.
		c.describe(ctx, fmt.Sprintf("checkout %d: %s due, settled without PayFiP (%s)", c.seq, euros(c.dueCents), done.Settlement))
		c.confirmed(ctx, done.AttemptID)
		res.Status = StatusPaid
		if done.Settlement == booking.SettleCarried {
			// Nothing was paid: the reservations are confirmed and the amount owed.
			res.Status, res.CarriedToBalanceCents = CheckoutConfirmed, c.dueCents
		}
		return res, nil
	case done.NotCreated != "":
		workflow.GetLogger(ctx).Warn("PayFiP payment not created", "attempt", done.AttemptID.String(), "error", done.NotCreated)
		c.reopened(ctx, fmt.Sprintf("PayFiP payment of checkout %d could not be created", c.seq))
		return CheckoutResult{}, errNoPayFiP
	}
	now := workflow.Now(ctx)
	c.attempt = &attempt{id: done.AttemptID, idOp: done.Payment.IDOp, createdAt: now}
	c.setStatus(ctx, StatusCheckingOut)
	c.describe(ctx, fmt.Sprintf("waiting for PayFiP, idOp %s, %s, since %s", done.Payment.IDOp, euros(c.dueCents), parisClock(now)))
	res.Status, res.PaymentURL = CheckoutPaymentRequired, done.Payment.PaymentURL
	return res, nil
}

// settleLocal is FlowLocal's checkFunc: one local activity reads PayFiP's
// verified answer and acts on a final one — confirms the cart, or closes the
// attempt and opens the cart again (activities.SettleCart).
func (c *cart) settleLocal(ctx workflow.Context, a *attempt, byFamily bool) (payfip.Outcome, error) {
	summary := "read the PayFiP result of idOp " + a.idOp + ", then confirm or reopen the cart"
	if byFamily {
		summary = "ask PayFiP once, then give up idOp " + a.idOp + " for the family"
	}
	var out payfip.Outcome
	err := workflow.ExecuteLocalActivity(localCtx(ctx, summary), localSettleCart,
		activities.SettleCartInput{AttemptID: a.id, ByFamily: byFamily}).Get(ctx, &out)
	return out, err
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
// outlives the cart's TTL if need be. FlowLocal's check (settleLocal) has written
// the outcome to PostgreSQL already; FlowActivities writes it now, an activity
// per step.
func (c *cart) waitForPayment(ctx workflow.Context) error {
	a := c.attempt
	out, byFamily, err := c.pay.await(ctx, a, c.dueCents)
	if err != nil {
		return err
	}
	c.attempt = nil
	why := fmt.Sprintf("payment %s (idOp %s)", out.Status, a.idOp)
	if byFamily {
		why = fmt.Sprintf("payment abandoned by the family (idOp %s)", a.idOp)
	}
	switch {
	case c.local && out.Status == payfip.StatusPaid:
		c.confirmed(ctx, a.id)
		return nil
	case c.local:
		c.reopened(ctx, why)
		return nil
	case out.Status == payfip.StatusPaid:
		return c.confirm(ctx, a.id)
	case byFamily:
		if err := workflow.ExecuteActivity(dbCtx(ctx, "close the attempt the family abandoned"),
			(*activities.Activities).CloseAttempt, activities.CloseAttemptInput{
				AttemptID: a.id, Reason: "abandonné par la famille pour modifier son panier", ByFamily: true,
			}).Get(ctx, nil); err != nil {
			return err
		}
	}
	return c.reopen(ctx, a.id, why)
}

func (c *cart) confirm(ctx workflow.Context, attemptID uuid.UUID) error {
	if err := workflow.ExecuteActivity(dbCtx(ctx, "confirm the reservations and write the ledger"),
		(*activities.Activities).ConfirmCart, attemptID).Get(ctx, nil); err != nil {
		return err
	}
	c.confirmed(ctx, attemptID)
	return nil
}

// confirmed records that PostgreSQL holds the cart paid.
func (c *cart) confirmed(ctx workflow.Context, attemptID uuid.UUID) {
	c.paid = attemptID
	c.setStatus(ctx, StatusPaid)
	details := fmt.Sprintf("paid at %s (checkout %d, %s)", parisClock(workflow.Now(ctx)), c.seq, euros(c.dueCents))
	if c.local {
		details += "; receipt queued"
	}
	c.describe(ctx, details)
}

// reopen gives the cart back to the family after a payment that did not happen.
func (c *cart) reopen(ctx workflow.Context, attemptID uuid.UUID, why string) error {
	if err := workflow.ExecuteActivity(dbCtx(ctx, "reopen the cart: "+why),
		(*activities.Activities).ReopenCart, attemptID).Get(ctx, nil); err != nil {
		return err
	}
	c.reopened(ctx, why)
	return nil
}

// reopened records that PostgreSQL holds the cart open again.
func (c *cart) reopened(ctx workflow.Context, why string) {
	c.dueCents = 0
	c.setStatus(ctx, StatusOpen)
	if c.ttlElapsed {
		c.describe(ctx, why+"; time to live over, expiring")
	} else {
		c.describe(ctx, fmt.Sprintf("open again at %s after %s; open until %s", parisClock(workflow.Now(ctx)), why, parisTime(c.in.ExpiresAt)))
	}
}

// expire ends the cart once its time to live has passed. It reports false when
// PostgreSQL holds a payment attempt this run did not make (an earlier run was
// terminated in the middle of a payment): that attempt is followed to its end
// first, as any other, and the expiry tried again afterwards.
func (c *cart) expire(ctx workflow.Context) (bool, error) {
	c.describe(ctx, "time to live over: releasing the places")
	const summary = "release the places and expire the cart"
	var err error
	if c.local {
		err = workflow.ExecuteLocalActivity(localCtx(ctx, summary), localExpireCart, c.in.CartID).Get(ctx, nil)
	} else {
		err = workflow.ExecuteActivity(dbCtx(ctx, summary), (*activities.Activities).ExpireCart, c.in.CartID).Get(ctx, nil)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeCartBusy {
		workflow.GetLogger(ctx).Warn("cart has a payment attempt in progress that this run did not start: following it before expiring")
		_, err := c.checkoutNow(ctx)
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

// setStatus changes the status, and the search attributes with it (FlowLocal:
// when they change).
func (c *cart) setStatus(ctx workflow.Context, status string) {
	c.status = status
	if c.local && c.shown.status == status && c.shown.dueCents == c.dueCents {
		return
	}
	c.upsert(ctx, CartStatusKey.ValueSet(status), AmountDueCentsKey.ValueSet(c.dueCents))
	c.shown.status, c.shown.dueCents = status, c.dueCents
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
