package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
)

// Names of the PayFiP reconciliation, shared with the worker and the operators.
const (
	ReconcileWorkflow   = "Reconcile"
	ReconcileScheduleID = "payfip-reconciliation"
	ReconcileQuery      = "progress"
	ReconcileEvery      = 5 * time.Minute
)

// ReconcileInput sizes a run. The zero value is what the Schedule runs: the
// defaults below.
type ReconcileInput struct {
	// BatchSize bounds the attempts one run looks at (default 200): a run stays
	// small enough not to need continue-as-new, and the next one takes the rest.
	BatchSize int `json:",omitzero"`
	// StaleAfter: younger attempts are left to their cart's workflow, which asks
	// PayFiP itself at FirstPoll (default FirstPoll, 16 minutes).
	StaleAfter time.Duration `json:",omitzero"`
	// GiveUpAfter: an attempt PayFiP still calls expired this long after its
	// creation is closed for good (default 2 hours).
	GiveUpAfter time.Duration `json:",omitzero"`
	// PaidWithin: how far back a paid attempt missing from the ledger is looked
	// for (default 7 days).
	PaidWithin time.Duration `json:",omitzero"`
	// Concurrency bounds the attempts handled at once (default 4), to spare PayFiP.
	Concurrency int `json:",omitzero"`
}

func (in ReconcileInput) orDefaults() ReconcileInput {
	if in.BatchSize <= 0 {
		in.BatchSize = 200
	}
	if in.StaleAfter <= 0 {
		in.StaleAfter = FirstPoll
	}
	if in.GiveUpAfter <= 0 {
		in.GiveUpAfter = 2 * time.Hour
	}
	if in.PaidWithin <= 0 {
		in.PaidWithin = 7 * 24 * time.Hour
	}
	if in.Concurrency <= 0 {
		in.Concurrency = 4
	}
	return in
}

// ReconcileResult counts what a run did; Details is what the Temporal UI showed last.
type ReconcileResult struct {
	Checked   int // attempts looked at
	Settled   int // of which settled by this run: credited, confirmed or closed
	Woken     int // carts whose running workflow was told to ask PayFiP again
	Credited  int // paid after their cart ended: put on the family's cagnotte
	Confirmed int // paid, cart confirmed for a workflow that had ended
	Closed    int // refused, abandoned or dead for good
	Waiting   int // PayFiP does not know yet, or the cart's workflow is on it
	Attention int // unusable answers, failures, stuck carts: see the worker's log
	Restarted int // live carts past their TTL whose workflow was missing, started again
	// ListsWoken: waiting lists with a free place or a lapsed offer, told to act.
	ListsWoken int
	Details    string
}

type reconcile struct {
	in  ReconcileInput
	res ReconcileResult
	// Attempt IDs (short) that need an operator, for the details line.
	attention []string
}

// Reconcile is what the payfip-reconciliation Schedule runs every five minutes.
// Notifications get lost, so it looks at the attempts whose money may be
// unaccounted for (activities.ClaimAttemptsToReconcile) and, for each: if its
// cart's workflow is still running and following it, tells that workflow to ask
// PayFiP again (the same signal a notification sends); otherwise reads PayFiP's
// verified answer itself and settles it (activities.SettleAttempt) — a payment
// that arrives after its cart ended is recorded and credited to the family, which
// is told by e-mail. It never fails because of one attempt: what it cannot settle
// now, the next run tries again.
func Reconcile(ctx workflow.Context, in ReconcileInput) (ReconcileResult, error) {
	r := &reconcile{in: in.orDefaults()}
	if err := workflow.SetQueryHandler(ctx, ReconcileQuery, func() (ReconcileResult, error) { return r.res, nil }); err != nil {
		return ReconcileResult{}, err
	}
	r.describe(ctx, "listing the PayFiP attempts to check")
	var todo []activities.AttemptToReconcile
	if err := workflow.ExecuteActivity(dbCtx(ctx, "list the PayFiP attempts to check"),
		(*activities.Activities).ClaimAttemptsToReconcile, activities.ClaimInput{
			StaleAfter: r.in.StaleAfter, PaidWithin: r.in.PaidWithin, Limit: r.in.BatchSize,
		}).Get(ctx, &todo); err != nil {
		return r.res, err
	}

	sem := workflow.NewSemaphore(ctx, int64(r.in.Concurrency))
	wg := workflow.NewWaitGroup(ctx)
	for _, att := range todo {
		if err := sem.Acquire(ctx, 1); err != nil {
			return r.res, err
		}
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			defer sem.Release(1)
			r.one(ctx, att)
			r.describe(ctx, r.summary(len(todo)))
		})
	}
	wg.Wait(ctx)
	r.sweepCarts(ctx)
	r.sweepWaitlists(ctx)
	r.describe(ctx, r.details())
	return r.res, nil
}

// sweepCarts starts again the workflow of every live cart well past its TTL: one
// that never got its workflow (Temporal unreachable when the cart opened) or lost
// it (terminated by an operator) would otherwise hold its places forever. A
// started Cart workflow finds its TTL elapsed and expires the cart, after
// following any payment still in progress. A cart whose workflow runs is skipped.
func (r *reconcile) sweepCarts(ctx workflow.Context) {
	var carts []activities.OverdueCart
	if err := workflow.ExecuteActivity(dbCtx(ctx, "list live carts past their time to live"),
		(*activities.Activities).ListOverdueCarts, r.in.BatchSize).Get(ctx, &carts); err != nil {
		workflow.GetLogger(ctx).Error("reconciliation: overdue carts not listed", "error", err)
		return
	}
	for _, c := range carts {
		start := NewCartStart(c.CartID, c.OrgID, c.FamilyID, c.ExpiresAt, 0)
		start.Summary = "Panier " + c.CartID.String() + " (relancé par la réconciliation)"
		started, err := startCart(ctx, start)
		switch {
		case err != nil:
			r.res.Attention++
			workflow.GetLogger(ctx).Error("reconciliation: overdue cart not restarted", "cart", c.CartID.String(), "error", err)
		case started:
			r.res.Restarted++
			workflow.GetLogger(ctx).Warn("reconciliation: restarted the workflow of an overdue cart", "cart", c.CartID.String())
		}
		// Otherwise its workflow runs (a payment still settling): nothing to do.
	}
}

// sweepWaitlists wakes the waiting lists that should be acting and may not know
// it: a place free while children wait, or an offer well past its expiry (a
// signal lost with an API process, a list's workflow terminated by an operator).
func (r *reconcile) sweepWaitlists(ctx workflow.Context) {
	var woken int
	if err := workflow.ExecuteActivity(dbCtx(ctx, "wake the waiting lists with a free place or a lapsed offer"),
		(*activities.Activities).WakeStarvedWaitlists, r.in.BatchSize).Get(ctx, &woken); err != nil {
		r.res.Attention++
		workflow.GetLogger(ctx).Error("reconciliation: waiting lists not swept", "error", err)
		return
	}
	r.res.ListsWoken = woken
}

// one handles an attempt: wake its cart, or settle it.
func (r *reconcile) one(ctx workflow.Context, att activities.AttemptToReconcile) {
	r.res.Checked++
	gone := false
	if att.Status == db.AttemptStatusCreated || att.Status == db.AttemptStatusPending || att.Status == db.AttemptStatusPaid {
		// The cart's workflow asks PayFiP itself when told to; it alone then
		// confirms or reopens the cart.
		switch running, err := r.wake(ctx, att); {
		case err != nil:
			r.needsAttention(ctx, att, "signal to the cart failed: "+err.Error())
			return
		case running:
			r.res.Woken++
			return
		}
		gone = true
	}
	res, err := r.settle(ctx, att, gone)
	if err == nil && res.Action == activities.SettleCartBusy {
		// PayFiP says paid while the cart still checks out this attempt: its
		// workflow is about to learn it, unless it has ended.
		var running bool
		if running, err = r.wake(ctx, att); err == nil && !running {
			res, err = r.settle(ctx, att, true)
		}
	}
	if err != nil {
		r.needsAttention(ctx, att, err.Error())
		return
	}
	switch res.Action {
	case activities.SettleCredited:
		r.res.Settled++
		r.res.Credited++
		workflow.GetLogger(ctx).Warn("late payment credited to the family's cagnotte",
			"attempt", att.AttemptID.String(), "workflow", AttemptWorkflowID(att.Kind, att.CartID, att.AttemptID), "amount_cents", res.AmountCents)
		if err := workflow.ExecuteActivity(mailCtx(ctx, "tell the family its payment went to the cagnotte"),
			(*activities.Activities).SendLatePaymentNotice, att.AttemptID).Get(ctx, nil); err != nil {
			r.needsAttention(ctx, att, "late payment notice not sent: "+err.Error())
		}
	case activities.SettleConfirmed:
		r.res.Settled++
		r.res.Confirmed++
		if err := workflow.ExecuteActivity(mailCtx(ctx, "e-mail the receipt"),
			(*activities.Activities).SendReceipt, att.AttemptID).Get(ctx, nil); err != nil {
			r.needsAttention(ctx, att, "receipt not sent: "+err.Error())
		}
	case activities.SettleClosed:
		r.res.Settled++
		r.res.Closed++
	case activities.SettleNeedsOperator:
		r.res.Settled++
		r.res.Closed++
		r.needsAttention(ctx, att, "cart stuck in checking_out without its workflow: its places stay held")
	case activities.SettleUnusable:
		r.needsAttention(ctx, att, "PayFiP answer unusable: "+res.Reason)
	case activities.SettleAlreadyDone:
	default: // waiting, or the cart's workflow is on it
		r.res.Waiting++
	}
}

// AttemptWorkflowID is the workflow that follows a payment attempt: its cart's, or
// for a payment of the balance alone, its own.
func AttemptWorkflowID(kind db.AttemptKind, cartID, attemptID uuid.UUID) string {
	if kind == db.AttemptKindBalance {
		return BalanceWorkflowID(attemptID)
	}
	return CartWorkflowID(cartID)
}

// wake signals the attempt's workflow as a notification would. running is false
// when the workflow has ended (or never existed).
func (r *reconcile) wake(ctx workflow.Context, att activities.AttemptToReconcile) (running bool, err error) {
	err = workflow.SignalExternalWorkflow(ctx, AttemptWorkflowID(att.Kind, att.CartID, att.AttemptID), "", PayFiPSignal, att.IDOp).Get(ctx, nil)
	var unknown *temporal.UnknownExternalWorkflowExecutionError
	if errors.As(err, &unknown) {
		return false, nil
	}
	return err == nil, err
}

func (r *reconcile) settle(ctx workflow.Context, att activities.AttemptToReconcile, gone bool) (activities.SettleResult, error) {
	var res activities.SettleResult
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		Summary:             "read and settle idOp " + att.IDOp,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 3},
	})
	err := workflow.ExecuteActivity(actx, (*activities.Activities).SettleAttempt, activities.SettleInput{
		AttemptID: att.AttemptID, CartGone: gone, GiveUpAfter: r.in.GiveUpAfter,
	}).Get(ctx, &res)
	return res, err
}

func (r *reconcile) needsAttention(ctx workflow.Context, att activities.AttemptToReconcile, why string) {
	r.res.Attention++
	r.attention = append(r.attention, att.AttemptID.String())
	workflow.GetLogger(ctx).Error("reconciliation: attempt needs attention", "attempt", att.AttemptID.String(),
		"idop", att.IDOp, "workflow", AttemptWorkflowID(att.Kind, att.CartID, att.AttemptID), "reason", why)
}

func (r *reconcile) summary(total int) string {
	s := fmt.Sprintf("checked %d of %d attempts, settled %d", r.res.Checked, total, r.res.Settled)
	return s + r.breakdown()
}

func (r *reconcile) details() string {
	return fmt.Sprintf("checked %d attempts, settled %d", r.res.Checked, r.res.Settled) + r.breakdown()
}

func (r *reconcile) breakdown() string {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{
		{r.res.Woken, "carts woken"}, {r.res.Credited, "late payments credited"}, {r.res.Confirmed, "carts confirmed"},
		{r.res.Closed, "closed unpaid"}, {r.res.Waiting, "still waiting"}, {r.res.Restarted, "overdue carts restarted"},
		{r.res.ListsWoken, "waiting lists woken"},
	} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	s := ""
	if len(parts) > 0 {
		s = " (" + strings.Join(parts, ", ") + ")"
	}
	if r.res.Attention > 0 {
		s += fmt.Sprintf("; NEEDS ATTENTION: %d attempts (%s), see the worker's log", r.res.Attention, strings.Join(r.attention[:min(len(r.attention), 3)], ", "))
	}
	return s
}

func (r *reconcile) describe(ctx workflow.Context, details string) {
	r.res.Details = details
	workflow.SetCurrentDetails(ctx, details)
}

func mailCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		Summary:             summary,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 5},
	})
}

// EnsureReconcileSchedule creates the payfip-reconciliation Schedule, or brings an
// existing one up to date (task queue, interval) while keeping what operators
// set on it (paused or not, their note). Every worker calls it at start; a
// concurrent update by another worker is not an error.
func EnsureReconcileSchedule(ctx context.Context, c client.Client, taskQueue string) error {
	action := &client.ScheduleWorkflowAction{
		ID:                       "payfip-reconcile",
		Workflow:                 ReconcileWorkflow,
		Args:                     []any{ReconcileInput{}},
		TaskQueue:                taskQueue,
		WorkflowExecutionTimeout: 20 * time.Minute,
		StaticSummary:            "Rapprochement PayFiP",
		StaticDetails: "Relit auprès de PayFiP les paiements sans nouvelles depuis 16 minutes et les paiements clos sans encaissement ; " +
			"réveille le panier qui attend encore, sinon enregistre le résultat (un paiement arrivé après la fin du panier va dans la cagnotte). " +
			"Voir docs/payfip.md.",
		Memo: map[string]any{"purpose": "PayFiP reconciliation", "doc": "docs/payfip.md"},
	}
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: ReconcileEvery}}}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      ReconcileScheduleID,
		Spec:    spec,
		Action:  action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    "Rapprochement PayFiP toutes les 5 minutes. Mettre en pause ici suspend la relecture des paiements perdus (les paniers continuent d'interroger PayFiP eux-mêmes).",
		Memo:    map[string]any{"purpose": "PayFiP reconciliation", "doc": "docs/payfip.md"},
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		if err != nil {
			return fmt.Errorf("create schedule %s: %w", ReconcileScheduleID, err)
		}
		return nil
	}
	err = c.ScheduleClient().GetHandle(ctx, ReconcileScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec = &spec
			s.Action = action
			if s.Policy == nil {
				s.Policy = &client.SchedulePolicies{}
			}
			s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", ReconcileScheduleID, err)
	}
	return nil
}
