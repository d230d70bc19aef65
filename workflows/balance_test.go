package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/workflows"
)

// The payment of the balance alone, with its activities replaced by a small model
// of what they do (activities_test and e2e check the real ones): it follows PayFiP
// exactly as a cart does, and never touches a cart.

type balanceHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	in  workflows.BalanceInput

	due        int64
	settlement booking.Settlement
	prepareErr error
	createErr  error
	check      func(n int) payfip.Outcome

	mu      sync.Mutex
	calls   []call
	status  string // the attempt's row
	checks  int
	upserts []string
}

func newBalanceHarness(t *testing.T) *balanceHarness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflowWithOptions(workflows.BalancePayment, workflow.RegisterOptions{Name: workflows.BalancePaymentWorkflow})
	env.RegisterActivity(&activities.Activities{})
	return &balanceHarness{
		t: t, env: env, due: 1250, settlement: booking.SettlePayFiP,
		in: workflows.BalanceInput{
			PaymentID: uuid.MustParse("0b5a0000-0000-4000-8000-0000000000b1"),
			OrgID:     uuid.MustParse("0b5a0000-0000-4000-8000-0000000000aa"), FamilyID: uuid.MustParse("0b5a0000-0000-4000-8000-0000000000fa"),
		},
		check: func(int) payfip.Outcome { return payfip.Outcome{Status: payfip.StatusPending} },
	}
}

func (h *balanceHarness) record(name string) {
	h.calls = append(h.calls, call{name: name, at: h.env.Now().Sub(start)})
}

func (h *balanceHarness) mockActivities() {
	acts := &activities.Activities{}
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		st, _ := sa.GetKeyword(workflows.PaymentStatusKey)
		due, _ := sa.GetInt64(workflows.AmountDueCentsKey)
		h.mu.Lock()
		h.upserts = append(h.upserts, fmt.Sprintf("%s %d", st, due))
		h.mu.Unlock()
	}).Return()
	h.env.OnActivity(acts.PrepareBalancePayment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PrepareBalanceInput) (activities.PrepareCheckoutResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.record("PrepareBalancePayment")
			if in != (activities.PrepareBalanceInput{PaymentID: h.in.PaymentID, OrgID: h.in.OrgID, FamilyID: h.in.FamilyID}) {
				h.t.Errorf("PrepareBalancePayment(%+v)", in)
			}
			if h.prepareErr != nil {
				return activities.PrepareCheckoutResult{}, h.prepareErr
			}
			h.status = "created"
			if h.settlement == booking.SettleNow {
				h.status = "settled_without_payfip"
			}
			return activities.PrepareCheckoutResult{AttemptID: h.in.PaymentID, Seq: 1, Settlement: h.settlement,
				Totals: booking.Totals{OutstandingAddedCents: h.due, TotalDueCents: h.due}}, nil
		})
	h.env.OnActivity(acts.CreatePayFiPPayment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) (activities.PaymentCreated, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.record("CreatePayFiPPayment")
			if h.createErr != nil {
				return activities.PaymentCreated{}, h.createErr
			}
			h.status = "pending"
			return activities.PaymentCreated{IDOp: "idop-b", PaymentURL: "https://payfip.test/tpa/paiementws.web?idop=idop-b"}, nil
		})
	h.env.OnActivity(acts.CheckPayment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) (payfip.Outcome, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.record("CheckPayment")
			h.checks++
			out := h.check(h.checks)
			if out.Status != payfip.StatusPending && out.Status != payfip.StatusError {
				h.status = string(out.Status)
			}
			return out, nil
		})
	h.env.OnActivity(acts.ConfirmBalancePayment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.record("ConfirmBalancePayment")
			if h.status != "paid" {
				h.t.Errorf("ConfirmBalancePayment of an attempt that is %s", h.status)
			}
			return nil
		})
	h.env.OnActivity(acts.CloseAttempt, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloseAttemptInput) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			name := "CloseAttempt"
			if in.ByFamily {
				name += "(by the family)"
			}
			h.record(name)
			if h.status == "created" || h.status == "pending" {
				h.status = "error"
			}
			return nil
		})
	h.env.OnActivity(acts.SendReceipt, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.record("SendReceipt")
			if h.status != "paid" && h.status != "settled_without_payfip" {
				h.t.Errorf("SendReceipt for an attempt that is %s", h.status)
			}
			return nil
		})
	// A payment of the balance never touches a cart.
	for _, a := range []any{acts.PrepareCheckout, acts.ConfirmCart, acts.ReopenCart, acts.ExpireCart} {
		h.env.OnActivity(a, mock.Anything, mock.Anything).Return(func(context.Context, any) error {
			h.t.Error("a payment of the balance called a cart's activity")
			return nil
		}).Maybe()
	}
}

// checkout sends the checkout update at `at`, as the API does with the start.
func (h *balanceHarness) checkout(at time.Duration) *updateOutcome {
	u := &updateOutcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.CheckoutUpdate, uuid.NewString(), &testsuite.TestUpdateCallback{
			OnAccept: func() { u.accepted = true },
			OnReject: func(err error) { u.rejectErr = err },
			OnComplete: func(res any, err error) {
				u.done, u.err = true, err
				if r, ok := res.(workflows.CheckoutResult); ok {
					u.result = r
				}
			},
		})
	}, at)
	return u
}

func (h *balanceHarness) abandon(at time.Duration) *abandonOutcome {
	u := &abandonOutcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.AbandonUpdate, uuid.NewString(), &testsuite.TestUpdateCallback{
			OnAccept: func() { u.accepted = true },
			OnReject: func(err error) { u.rejectErr = err },
			OnComplete: func(res any, err error) {
				u.done, u.err = true, err
				if r, ok := res.(workflows.AbandonResult); ok {
					u.result = r
				}
			},
		}, h.in.PaymentID.String())
	}, at)
	return u
}

func (h *balanceHarness) run() string {
	h.t.Helper()
	h.mockActivities()
	h.env.ExecuteWorkflow(workflows.BalancePaymentWorkflow, h.in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var res string
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *balanceHarness) wantSequence(want string) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	var got []string
	for _, c := range h.calls {
		got = append(got, c.name+"@"+c.at.String())
	}
	if g := strings.Join(got, " "); g != want {
		h.t.Errorf("activities:\n got %s\nwant %s", g, want)
	}
}

func (h *balanceHarness) wantUpserts(want ...string) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if got := strings.Join(h.upserts, ", "); got != strings.Join(want, ", ") {
		h.t.Errorf("search attributes PaymentStatus AmountDueCents:\n got %s\nwant %s", got, strings.Join(want, ", "))
	}
}

func TestBalancePaidOnNotification(t *testing.T) {
	h := newBalanceHarness(t)
	h.check = func(int) payfip.Outcome { return payfip.Outcome{Status: payfip.StatusPaid, Numauto: "123456"} }
	co := h.checkout(0)
	again := h.checkout(time.Minute)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.PayFiPSignal, "idop-b") }, 3*time.Minute)
	if got := h.run(); got != workflows.PaymentPaid {
		t.Fatalf("result %q", got)
	}
	if !co.done || co.err != nil || co.result.Status != "payment_required" || co.result.AmountDueCents != 1250 ||
		!strings.HasSuffix(co.result.PaymentURL, "idop=idop-b") || co.result.AttemptID != h.in.PaymentID.String() {
		t.Fatalf("checkout %+v", co)
	}
	if again.accepted || again.rejectErr == nil {
		t.Errorf("a second checkout of the same payment was accepted: %+v", again)
	}
	h.wantSequence("PrepareBalancePayment@0s CreatePayFiPPayment@0s CheckPayment@3m0s ConfirmBalancePayment@3m0s SendReceipt@3m0s")
	h.wantUpserts("waiting_payfip 1250", "paid 1250")
}

// Without a notification, the payment of the balance asks PayFiP at 16 minutes,
// as a cart does; a refusal leaves the balance owed and sends nothing.
func TestBalanceRefusedFoundByThePoll(t *testing.T) {
	h := newBalanceHarness(t)
	h.check = func(int) payfip.Outcome { return payfip.Outcome{Status: payfip.StatusRefused} }
	h.checkout(time.Minute)
	if got := h.run(); got != workflows.PaymentNotPaid {
		t.Fatalf("result %q", got)
	}
	h.wantSequence("PrepareBalancePayment@1m0s CreatePayFiPPayment@1m0s CheckPayment@17m0s")
	h.wantUpserts("waiting_payfip 1250", "not_paid 1250")
}

func TestBalancePaymentAbandonedByTheFamily(t *testing.T) {
	h := newBalanceHarness(t)
	h.checkout(0)
	ab := h.abandon(4 * time.Minute)
	if got := h.run(); got != workflows.PaymentNotPaid {
		t.Fatalf("result %q", got)
	}
	if !ab.done || ab.err != nil || ab.result.Status != workflows.PaymentNotPaid {
		t.Fatalf("abandon %+v", ab)
	}
	h.wantSequence("PrepareBalancePayment@0s CreatePayFiPPayment@0s CheckPayment@4m0s CloseAttempt(by the family)@4m0s")
	if h.status != "error" {
		t.Errorf("attempt %s after the abandon", h.status)
	}
}

func TestBalanceCoveredByTheCagnotteIsSettledWithoutPayFiP(t *testing.T) {
	h := newBalanceHarness(t)
	h.due, h.settlement = 0, booking.SettleNow
	co := h.checkout(0)
	if got := h.run(); got != workflows.PaymentPaid {
		t.Fatalf("result %q", got)
	}
	if !co.done || co.err != nil || co.result.Status != "paid" || co.result.PaymentURL != "" {
		t.Fatalf("checkout %+v", co)
	}
	h.wantSequence("PrepareBalancePayment@0s SendReceipt@0s")
}

// Nothing to pay alone (under 1 €, say): the family's sentence and its code come
// back; nothing else happens.
func TestBalanceRefusalReachesTheFamily(t *testing.T) {
	h := newBalanceHarness(t)
	h.prepareErr = temporal.NewNonRetryableApplicationError("Le paiement en ligne est possible à partir de 1 € : les 0,80 € …",
		activities.ErrTypeBalanceRefused, nil, booking.BalanceUnderMinimum)
	co := h.checkout(0)
	if got := h.run(); got != workflows.PaymentRefused {
		t.Fatalf("result %q", got)
	}
	var appErr *temporal.ApplicationError
	var code string
	if !errors.As(co.err, &appErr) || appErr.Type() != workflows.ErrTypeBalanceRefused || appErr.Details(&code) != nil ||
		code != booking.BalanceUnderMinimum || !strings.HasPrefix(appErr.Message(), "Le paiement en ligne est possible à partir de 1 €") {
		t.Fatalf("checkout %+v", co)
	}
	h.wantSequence("PrepareBalancePayment@0s")
}

func TestBalancePayFiPCreationFailureClosesTheAttempt(t *testing.T) {
	h := newBalanceHarness(t)
	h.createErr = temporal.NewNonRetryableApplicationError("PayFiP down", activities.ErrTypePayFiP, nil)
	co := h.checkout(0)
	if got := h.run(); got != workflows.PaymentNotPaid {
		t.Fatalf("result %q", got)
	}
	if co.err == nil || !strings.Contains(co.err.Error(), "PayFiP") {
		t.Fatalf("checkout %+v", co)
	}
	h.wantSequence("PrepareBalancePayment@0s CreatePayFiPPayment@0s CloseAttempt@0s")
}

// A start without its checkout (the API sends both at once, so this is a bug or
// an operator): the workflow ends after 10 minutes having frozen nothing.
func TestBalancePaymentWithoutCheckoutEnds(t *testing.T) {
	h := newBalanceHarness(t)
	if got := h.run(); got != workflows.PaymentRefused {
		t.Fatalf("result %q", got)
	}
	h.wantSequence("")
}
