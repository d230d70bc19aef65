package workflows

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/payfip"
)

// Following a PayFiP payment to its verified outcome: what the cart's checkout
// and the payment of the balance alone (BalancePayment) share.

// Payment timing (docs/payfip.md): an idOp lives 15 minutes, so without a
// notification the workflow asks PayFiP at 16 minutes; a "not known yet" (P5) is
// asked again every minute, and payfip.Evaluate calls it expired 20 minutes after
// creation. An unusable answer is asked again every 15 minutes, forever: a payment
// is never assumed.
const (
	FirstPoll      = 16 * time.Minute
	PollEvery      = time.Minute
	ErrorPollEvery = 15 * time.Minute
	// NotifyCatchUp: after a notification found the payment "not known yet",
	// PayFiP is asked once more this soon. The API lets one notification per
	// attempt through every PAYFIP_NOTIFY_COOLDOWN (at most 10 s: config), so the
	// payer's own, coalesced behind an early one, is not left to the next poll.
	NotifyCatchUp = 10 * time.Second
)

// Timing holds a payment attempt's waits. The zero value means the PayFiP timings
// above; only tests that record real histories in seconds shorten them.
type Timing struct {
	FirstPoll      time.Duration `json:",omitzero"`
	PollEvery      time.Duration `json:",omitzero"`
	ErrorPollEvery time.Duration `json:",omitzero"`
	NotifyCatchUp  time.Duration `json:",omitzero"`
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
	if t.NotifyCatchUp <= 0 {
		t.NotifyCatchUp = NotifyCatchUp
	}
	return t
}

// attempt is the PayFiP payment a workflow waits for.
type attempt struct {
	id        uuid.UUID
	idOp      string
	createdAt time.Time
}

// payfipFollower holds what a workflow knows of its PayFiP payments: the
// notifications received, by idOp, and the attempts the family abandoned.
type payfipFollower struct {
	timing    Timing
	notified  map[string]int
	abandoned map[uuid.UUID]bool
	describe  func(workflow.Context, string)
	check     checkFunc
}

// checkFunc asks PayFiP for an attempt's verified result (byFamily: once, the
// family giving it up). An error stops the workflow: only a step that failed for
// good after PayFiP answered returns one.
type checkFunc func(ctx workflow.Context, a *attempt, byFamily bool) (payfip.Outcome, error)

// followPayFiP installs the PayFiP signal. A notification only says "go and ask
// PayFiP". It is counted by idOp, so one that arrives before the checkout has
// finished is not missed, and a late one for an earlier attempt wakes nobody.
// Every signal is consumed: none is left unhandled when the workflow ends.
func followPayFiP(ctx workflow.Context, timing Timing, describe func(workflow.Context, string), check checkFunc) *payfipFollower {
	f := &payfipFollower{timing: timing.orDefaults(), notified: map[string]int{}, abandoned: map[uuid.UUID]bool{}, describe: describe, check: check}
	notified := workflow.GetSignalChannel(ctx, PayFiPSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var idOp string
			notified.Receive(ctx, &idOp)
			f.notified[idOp]++
		}
	})
	return f
}

// abandon records that the family gave attempt id up; await notices it at once.
func (f *payfipFollower) abandon(id uuid.UUID) { f.abandoned[id] = true }

// await waits for a notification or the poll time, asks PayFiP, and returns once
// PayFiP's verified answer is final (paid, refused, abandoned, expired); a
// notification that finds it not known yet is followed by one check
// NotifyCatchUp later (the next notification may have been coalesced). When the
// family abandons the attempt first, PayFiP is asked once more: paid is paid;
// anything else ends the wait with byFamily set (the attempt is then closed, and
// reconciliation credits it should PayFiP take the money later).
func (f *payfipFollower) await(ctx workflow.Context, a *attempt, dueCents int64) (out payfip.Outcome, byFamily bool, err error) {
	next := a.createdAt.Add(f.timing.FirstPoll)
	seen := 0
	for {
		if wait := next.Sub(workflow.Now(ctx)); wait > 0 && f.notified[a.idOp] == seen && !f.abandoned[a.id] {
			if _, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: "ask PayFiP if no notification comes"},
			}, func() bool { return f.notified[a.idOp] > seen || f.abandoned[a.id] }); err != nil {
				return payfip.Outcome{}, false, err
			}
		}
		if f.abandoned[a.id] {
			out, err := f.check(ctx, a, true)
			return out, out.Status != payfip.StatusPaid, err
		}
		woken := f.notified[a.idOp] > seen
		seen = f.notified[a.idOp]
		out, err := f.check(ctx, a, false)
		if err != nil {
			return out, false, err
		}
		now := workflow.Now(ctx)
		switch out.Status {
		case payfip.StatusPaid, payfip.StatusRefused, payfip.StatusAbandoned, payfip.StatusExpired:
			return out, false, nil
		case payfip.StatusPending:
			next = now.Add(f.timing.PollEvery)
			if woken {
				next = now.Add(min(f.timing.NotifyCatchUp, f.timing.PollEvery))
			}
			f.describe(ctx, fmt.Sprintf("waiting for PayFiP, idOp %s, %s, since %s; not known yet at %s",
				a.idOp, euros(dueCents), parisClock(a.createdAt), parisClock(now)))
		default:
			next = now.Add(f.timing.ErrorPollEvery)
			f.describe(ctx, fmt.Sprintf("NEEDS ATTENTION: PayFiP answer for idOp %s (%s, since %s) unusable at %s: %s; asking again at %s",
				a.idOp, euros(dueCents), parisClock(a.createdAt), parisClock(now), truncate(out.Reason, 300), parisClock(next)))
		}
	}
}

// checkWithActivity asks PayFiP through the CheckPayment activity (a task of
// its own), as payments of the balance and the carts of FlowActivities do;
// the workflow then acts on the answer with activities of its own. An activity
// that failed for good is an unusable answer like any other: asked again later,
// never paid.
func checkWithActivity(ctx workflow.Context, a *attempt, byFamily bool) (payfip.Outcome, error) {
	actx := payfipCtx(ctx, "read the PayFiP result of idOp "+a.idOp)
	if byFamily {
		actx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 20 * time.Second,
			Summary:             "ask PayFiP once before abandoning idOp " + a.idOp,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		})
	}
	var out payfip.Outcome
	err := workflow.ExecuteActivity(actx, (*activities.Activities).CheckPayment, a.id).Get(ctx, &out)
	if err != nil {
		return payfip.Outcome{Status: payfip.StatusError, Reason: err.Error()}, nil
	}
	return out, nil
}

// createPayment asks PayFiP for the attempt's payment and returns what the family
// is sent to.
func createPayment(ctx workflow.Context, attemptID uuid.UUID, dueCents int64) (activities.PaymentCreated, error) {
	var created activities.PaymentCreated
	err := workflow.ExecuteActivity(payfipCtx(ctx, fmt.Sprintf("create the PayFiP payment of %s", euros(dueCents))),
		(*activities.Activities).CreatePayFiPPayment, attemptID).Get(ctx, &created)
	return created, err
}

// sendReceipt e-mails the attempt's document. A mail outage only delays it: the
// activity retries until the message leaves, and its key keeps it to one message.
func sendReceipt(ctx workflow.Context, attemptID uuid.UUID) error {
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, // mail.SMTP gives up after 30 s too
		Summary:             "e-mail the receipt",
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: 10 * time.Minute},
	})
	return workflow.ExecuteActivity(rctx, (*activities.Activities).SendReceipt, attemptID).Get(ctx, nil)
}

// paris is the zone operators read times in (every org is in France).
var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris") // embedded: payfip imports time/tzdata
	if err != nil {
		panic(err)
	}
	return loc
}()

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

// FlowLocal's local activities, methods of *activities.Activities. They are
// named rather than passed as method values: a replayer (the recorded histories'
// test, an operator's replay) knows no activity and takes a named local
// activity's result from its marker.
const (
	localCheckout   = "Checkout"
	localSettleCart = "SettleCart"
	localExpireCart = "ExpireCart"
)

// localCtx runs a step of FlowLocal as a local activity: inside the workflow
// task, on the worker that holds the cart, recorded as one marker. Timeout and
// retries are dbCtx's with room for a PayFiP call; a PostgreSQL outage is retried
// for up to a week, every minute at most.
func localCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 7 * 24 * time.Hour,
		Summary:                summary,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
}
