package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/testenv"
	"github.com/enfance/enfance/workflows"
)

// The Reconcile workflow's decisions with its activities replaced: which attempts
// wake their cart, which are settled (and with what knowledge of the cart), who
// is told, and that one failing attempt never stops the run.

type reconcileHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	claimed []activities.AttemptToReconcile
	// running: carts whose workflow answers the signal; signalErr: carts whose
	// signal fails otherwise. Any other cart's workflow has ended.
	running   map[uuid.UUID]bool
	signalErr map[uuid.UUID]error
	// settle answers SettleAttempt by attempt and CartGone.
	settle func(in activities.SettleInput) (activities.SettleResult, error)
	// overdue answers ListOverdueCarts.
	overdue []activities.OverdueCart

	mu       sync.Mutex
	claimIn  []activities.ClaimInput
	signals  []string // cart IDs
	settles  []string // "attempt gone=true"
	notices  []uuid.UUID
	receipts []uuid.UUID
}

func newReconcileHarness(t *testing.T) *reconcileHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflowWithOptions(workflows.Reconcile, workflow.RegisterOptions{Name: workflows.ReconcileWorkflow})
	env.RegisterActivity(&activities.Activities{})
	h := &reconcileHarness{t: t, env: env, running: map[uuid.UUID]bool{}, signalErr: map[uuid.UUID]error{}}
	acts := &activities.Activities{}
	env.OnActivity(acts.ListOverdueCarts, mock.Anything, mock.Anything).Return(
		func(context.Context, int) ([]activities.OverdueCart, error) { return h.overdue, nil }).Maybe()
	env.OnActivity(acts.ClaimAttemptsToReconcile, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ClaimInput) ([]activities.AttemptToReconcile, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.claimIn = append(h.claimIn, in)
			return h.claimed, nil
		})
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", workflows.PayFiPSignal, mock.Anything).Return(
		func(_, workflowID, _, _ string, _ any) error {
			id := uuid.MustParse(strings.TrimPrefix(workflowID, "cart:"))
			h.mu.Lock()
			defer h.mu.Unlock()
			h.signals = append(h.signals, id.String())
			if err := h.signalErr[id]; err != nil {
				return err
			}
			if !h.running[id] {
				return &temporal.UnknownExternalWorkflowExecutionError{}
			}
			return nil
		})
	env.OnActivity(acts.SettleAttempt, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SettleInput) (activities.SettleResult, error) {
			h.mu.Lock()
			h.settles = append(h.settles, fmt.Sprintf("%s gone=%t", in.AttemptID, in.CartGone))
			h.mu.Unlock()
			if in.GiveUpAfter != 2*time.Hour {
				return activities.SettleResult{}, temporal.NewNonRetryableApplicationError("GiveUpAfter not defaulted", "Test", nil)
			}
			return h.settle(in)
		})
	env.OnActivity(acts.SendLatePaymentNotice, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.notices = append(h.notices, id)
			return nil
		})
	env.OnActivity(acts.SendReceipt, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.receipts = append(h.receipts, id)
			return nil
		})
	return h
}

func (h *reconcileHarness) attempt(n int, status db.AttemptStatus) activities.AttemptToReconcile {
	a := activities.AttemptToReconcile{
		AttemptID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("attempt", n))),
		CartID:    uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("cart", n))),
		IDOp:      fmt.Sprintf("idop-%d", n), Status: status, AmountCents: int64(100 * n),
	}
	h.claimed = append(h.claimed, a)
	return a
}

func (h *reconcileHarness) run(in workflows.ReconcileInput) workflows.ReconcileResult {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.ReconcileWorkflow, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("Reconcile did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("Reconcile failed: %v", err)
	}
	var res workflows.ReconcileResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestReconcileWakesRunningCartsAndSettlesTheRest(t *testing.T) {
	h := newReconcileHarness(t)
	woken := h.attempt(1, "pending") // its cart waits for it: woken, not touched
	h.running[woken.CartID] = true
	orphan := h.attempt(2, "pending") // its cart's workflow ended
	late := h.attempt(3, "expired")   // paid after its cart ended
	busy := h.attempt(4, "expired")   // paid, cart still on it, workflow gone
	waiting := h.attempt(5, "expired")
	stuck := h.attempt(6, "paid") // the signal cannot be sent
	h.signalErr[stuck.CartID] = errors.New("namespace unavailable")
	garbled := h.attempt(7, "error")
	h.settle = func(in activities.SettleInput) (activities.SettleResult, error) {
		switch {
		case in.AttemptID == orphan.AttemptID && in.CartGone:
			return activities.SettleResult{Action: activities.SettleClosed, Status: payfip.StatusAbandoned}, nil
		case in.AttemptID == late.AttemptID && !in.CartGone:
			return activities.SettleResult{Action: activities.SettleCredited, Status: payfip.StatusPaid, AmountCents: 300}, nil
		case in.AttemptID == busy.AttemptID && !in.CartGone:
			return activities.SettleResult{Action: activities.SettleCartBusy, Status: payfip.StatusPaid}, nil
		case in.AttemptID == busy.AttemptID && in.CartGone:
			return activities.SettleResult{Action: activities.SettleConfirmed, Status: payfip.StatusPaid}, nil
		case in.AttemptID == waiting.AttemptID && !in.CartGone:
			return activities.SettleResult{Action: activities.SettleWaiting, Status: payfip.StatusExpired}, nil
		case in.AttemptID == garbled.AttemptID && !in.CartGone:
			return activities.SettleResult{Action: activities.SettleUnusable, Status: payfip.StatusError, Reason: "montant mismatch"}, nil
		}
		return activities.SettleResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("unexpected settle %+v", in), "Test", nil)
	}

	res := h.run(workflows.ReconcileInput{})

	want := workflows.ReconcileResult{Checked: 7, Settled: 3, Woken: 1, Credited: 1, Confirmed: 1, Closed: 1, Waiting: 1, Attention: 2}
	got := res
	got.Details = ""
	if got != want {
		t.Fatalf("result %+v, want %+v", got, want)
	}
	if !strings.HasPrefix(res.Details, "checked 7 attempts, settled 3 (1 carts woken, 1 late payments credited, 1 carts confirmed, 1 closed unpaid, 1 still waiting); NEEDS ATTENTION: 2 attempts") {
		t.Fatalf("details %q", res.Details)
	}
	if len(h.claimIn) != 1 || h.claimIn[0] != (activities.ClaimInput{StaleAfter: 16 * time.Minute, PaidWithin: 7 * 24 * time.Hour, Limit: 200}) {
		t.Fatalf("claimed with %+v", h.claimIn)
	}
	// Signalled: the carts that may still follow their attempt (pending, paid), and
	// the busy one's, to learn that its workflow had ended.
	wantSignals := sorted([]string{woken.CartID.String(), orphan.CartID.String(), stuck.CartID.String(), busy.CartID.String()})
	if fmt.Sprint(sorted(h.signals)) != fmt.Sprint(wantSignals) {
		t.Fatalf("signals %v, want %v", sorted(h.signals), wantSignals)
	}
	wantSettles := sorted([]string{
		orphan.AttemptID.String() + " gone=true", late.AttemptID.String() + " gone=false",
		busy.AttemptID.String() + " gone=false", busy.AttemptID.String() + " gone=true",
		waiting.AttemptID.String() + " gone=false", garbled.AttemptID.String() + " gone=false",
	})
	if fmt.Sprint(sorted(h.settles)) != fmt.Sprint(wantSettles) {
		t.Fatalf("settles %v, want %v", sorted(h.settles), wantSettles)
	}
	if len(h.notices) != 1 || h.notices[0] != late.AttemptID {
		t.Fatalf("late payment notices %v", h.notices)
	}
	if len(h.receipts) != 1 || h.receipts[0] != busy.AttemptID {
		t.Fatalf("receipts %v", h.receipts)
	}
}

// An activity that keeps failing costs one attempt of this run, not the run.
func TestReconcileSurvivesAFailingAttempt(t *testing.T) {
	h := newReconcileHarness(t)
	broken := h.attempt(1, "expired")
	h.attempt(2, "expired")
	h.settle = func(in activities.SettleInput) (activities.SettleResult, error) {
		if in.AttemptID == broken.AttemptID {
			return activities.SettleResult{}, errors.New("connection refused")
		}
		return activities.SettleResult{Action: activities.SettleClosed, Status: payfip.StatusExpired}, nil
	}
	res := h.run(workflows.ReconcileInput{Concurrency: 1})
	if res.Checked != 2 || res.Settled != 1 || res.Attention != 1 || !strings.Contains(res.Details, broken.AttemptID.String()) {
		t.Fatalf("result %+v", res)
	}
	if n := strings.Count(strings.Join(h.settles, "\n"), broken.AttemptID.String()); n != 3 {
		t.Fatalf("the failing settle ran %d times, want its 3 attempts", n)
	}
}

func TestReconcileWithNothingToDo(t *testing.T) {
	h := newReconcileHarness(t)
	res := h.run(workflows.ReconcileInput{BatchSize: 50, StaleAfter: time.Hour})
	if res != (workflows.ReconcileResult{Details: "checked 0 attempts, settled 0"}) {
		t.Fatalf("result %+v", res)
	}
	if h.claimIn[0].Limit != 50 || h.claimIn[0].StaleAfter != time.Hour {
		t.Fatalf("claimed with %+v", h.claimIn[0])
	}
}

// The Schedule on a real Temporal server: created once, found again by every
// worker that starts, and an operator's pause survives a worker restart.
func TestReconcileScheduleIsCreatedIdempotently(t *testing.T) {
	tc := testenv.Temporal(t).Client()
	ctx := context.Background()
	if err := workflows.EnsureReconcileSchedule(ctx, tc, "queue-a"); err != nil {
		t.Fatal(err)
	}
	h := tc.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	if err := h.Pause(ctx, client.SchedulePauseOptions{Note: "maintenance PayFiP"}); err != nil {
		t.Fatal(err)
	}
	if err := workflows.EnsureReconcileSchedule(ctx, tc, "queue-b"); err != nil {
		t.Fatalf("second worker: %v", err)
	}
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || act.Workflow != workflows.ReconcileWorkflow || act.TaskQueue != "queue-b" {
		t.Fatalf("action %+v", d.Schedule.Action)
	}
	if len(d.Schedule.Spec.Intervals) != 1 || d.Schedule.Spec.Intervals[0].Every != 5*time.Minute {
		t.Fatalf("spec %+v", d.Schedule.Spec)
	}
	if !d.Schedule.State.Paused || d.Schedule.State.Note != "maintenance PayFiP" {
		t.Fatalf("state %+v: the operator's pause was lost", d.Schedule.State)
	}
	if d.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Fatalf("overlap %v", d.Schedule.Policy.Overlap)
	}
}
