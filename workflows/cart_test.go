package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/stretchr/testify/mock"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/workflows"
)

// The workflow's logic with every activity replaced by a small model of what the
// real ones do to PostgreSQL (activities_test checks those against a real
// database). The model refuses what the real guards refuse — expiring a cart
// that is checking out, confirming an attempt that is not paid — so a workflow
// that calls activities in a wrong order fails here. Every test runs both cart
// flows: FlowLocal, which every cart starts with, and FlowActivities, which the
// carts started before issue 16 keep until they end. The local activities
// Checkout and SettleCart are modelled as what they are made of, so both flows
// call the same steps in the same order; only the receipt differs (queued by
// ConfirmCart in FlowLocal, an activity of its own before).

// start is 14:02 in Paris.
var start = time.Date(2026, 11, 25, 13, 2, 0, 0, time.UTC)

const ttl = 48 * time.Hour

type call struct {
	name string
	at   time.Duration // since start, on the workflow clock
	arg  string
}

type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	in    workflows.CartInput
	local bool // FlowLocal

	// What the next checkouts freeze, in order (the last one repeats).
	dues []int64
	// createErr makes CreatePayFiPPayment fail for the listed checkout numbers.
	createErr map[int32]error
	// check answers CheckPayment; n counts its calls for the attempt (from 1) and
	// age is the time since the payment was created.
	check func(n int, seq int32, age time.Duration) (payfip.Outcome, error)
	// confirmErr makes ConfirmCart fail.
	confirmErr error
	// busyExpected: PostgreSQL holds an attempt the workflow does not know of.
	busyExpected bool
	// createDelay and expireDelay make those activities take this long (workflow clock).
	createDelay, expireDelay time.Duration

	mu       sync.Mutex
	calls    []call
	dbStatus string                 // the cart row
	attempts map[uuid.UUID]*attempt // payment_attempts
	created  map[uuid.UUID]time.Duration
	checks   map[uuid.UUID]int
	upserts  []string // "status due" per search attribute upsert
	org, fam string
	updates  []*updateOutcome
}

type attempt struct {
	seq    int32
	status string
}

type updateOutcome struct {
	accepted  bool
	rejectErr error
	done      bool
	result    workflows.CheckoutResult
	err       error
}

// flows runs test once per cart flow, each with a harness of its own.
func flows(t *testing.T, test func(t *testing.T, h *harness)) {
	t.Helper()
	for _, flow := range []int{workflows.FlowLocal, workflows.FlowActivities} {
		name := map[int]string{workflows.FlowLocal: "local", workflows.FlowActivities: "activities"}[flow]
		t.Run(name, func(t *testing.T) { test(t, newHarness(t, flow)) })
	}
}

func newHarness(t *testing.T, flow int) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	// The SDK's warnings and activity errors, shown only when the test fails (or -v).
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetTestTimeout(30 * time.Second)
	h := &harness{
		t: t, env: env, dbStatus: "open", dues: []int64{450},
		in: workflows.CartInput{
			CartID: uuid.MustParse("0b5a0000-0000-4000-8000-000000000001"), OrgID: uuid.MustParse("0b5a0000-0000-4000-8000-0000000000aa"),
			FamilyID: uuid.MustParse("0b5a0000-0000-4000-8000-0000000000fa"), ExpiresAt: start.Add(ttl), Flow: flow,
		},
		local:    flow == workflows.FlowLocal,
		attempts: map[uuid.UUID]*attempt{}, created: map[uuid.UUID]time.Duration{}, checks: map[uuid.UUID]int{},
		createErr: map[int32]error{},
		check: func(int, int32, time.Duration) (payfip.Outcome, error) {
			return payfip.Outcome{Status: payfip.StatusPending}, nil
		},
	}
	env.RegisterWorkflowWithOptions(workflows.Cart, workflow.RegisterOptions{Name: workflows.CartWorkflow})
	env.RegisterActivity(&activities.Activities{})
	if h.local {
		// As the API starts it: the search attributes are set from the start.
		start := workflows.NewCartStart(h.in.CartID, h.in.OrgID, h.in.FamilyID, h.in.ExpiresAt, 0)
		env.SetTypedSearchAttributesOnStart(start.Client("q").TypedSearchAttributes)
	}
	return h
}

func attemptID(seq int32) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("attempt", seq)))
}

func idOp(seq int32) string { return fmt.Sprintf("idop-%d", seq) }

// record is called with h.mu held.
func (h *harness) record(name, arg string) {
	h.calls = append(h.calls, call{name: name, at: h.env.Now().Sub(start), arg: arg})
}

// mockActivities puts the model of PostgreSQL and PayFiP behind every activity.
func (h *harness) mockActivities() {
	acts := &activities.Activities{}
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		h.mu.Lock()
		defer h.mu.Unlock()
		if v, ok := sa.GetKeyword(workflows.OrgIDKey); ok {
			h.org = v
		}
		if v, ok := sa.GetKeyword(workflows.FamilyIDKey); ok {
			h.fam = v
		}
		status, _ := sa.GetKeyword(workflows.CartStatusKey)
		due, _ := sa.GetInt64(workflows.AmountDueCentsKey)
		h.upserts = append(h.upserts, fmt.Sprintf("%s %d", status, due))
	}).Return()

	prepare := func(_ context.Context, in activities.PrepareCheckoutInput) (activities.PrepareCheckoutResult, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.record("PrepareCheckout", fmt.Sprint(in.Seq))
		if in.CartID != h.in.CartID {
			h.t.Errorf("PrepareCheckout for cart %s", in.CartID)
		}
		if h.dbStatus == "checking_out" {
			// An attempt left by an earlier run: carried on with, not doubled.
			for id, a := range h.attempts {
				if a.status == "pending" || a.status == "created" {
					due := h.dues[min(int(a.seq)-1, len(h.dues)-1)]
					return activities.PrepareCheckoutResult{AttemptID: id, Seq: a.seq, Settlement: booking.SettlePayFiP,
						Totals: booking.Totals{SubtotalCents: due, TotalDueCents: due}}, nil
				}
			}
		}
		if h.dbStatus != "open" {
			return activities.PrepareCheckoutResult{}, temporal.NewNonRetryableApplicationError("Ce panier n'est plus ouvert au paiement.", activities.ErrTypeCartClosed, nil)
		}
		seq := in.Seq
		for _, a := range h.attempts {
			seq = max(seq, a.seq+1)
		}
		due := h.dues[min(int(seq)-1, len(h.dues)-1)]
		st := booking.HowToSettle(due)
		a := &attempt{seq: seq, status: "created"}
		if st != booking.SettlePayFiP {
			a.status = "settled_without_payfip"
		}
		id := attemptID(seq)
		h.attempts[id] = a
		h.dbStatus = "checking_out"
		return activities.PrepareCheckoutResult{AttemptID: id, Seq: seq, Settlement: st,
			Totals: booking.Totals{SubtotalCents: due, TotalDueCents: due}}, nil
	}
	create := func(_ context.Context, id uuid.UUID) (activities.PaymentCreated, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		a := h.attempts[id]
		h.record("CreatePayFiPPayment", fmt.Sprint(a.seq))
		if err := h.createErr[a.seq]; err != nil {
			return activities.PaymentCreated{}, err
		}
		if a.status == "pending" { // created before: the stored idOp
			return activities.PaymentCreated{IDOp: idOp(a.seq), PaymentURL: "https://payfip.test/tpa/paiementws.web?idop=" + idOp(a.seq)}, nil
		}
		a.status = "pending"
		h.created[id] = h.env.Now().Sub(start)
		return activities.PaymentCreated{IDOp: idOp(a.seq), PaymentURL: "https://payfip.test/tpa/paiementws.web?idop=" + idOp(a.seq)}, nil
	}
	check := func(_ context.Context, id uuid.UUID) (payfip.Outcome, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		a := h.attempts[id]
		h.record("CheckPayment", fmt.Sprint(a.seq))
		h.checks[id]++
		out, err := h.check(h.checks[id], a.seq, h.env.Now().Sub(start)-h.created[id])
		if err == nil && out.Status != payfip.StatusPending && out.Status != payfip.StatusError {
			a.status = string(out.Status)
		}
		return out, err
	}
	confirm := func(_ context.Context, id uuid.UUID) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		a := h.attempts[id]
		h.record("ConfirmCart", fmt.Sprint(a.seq))
		if h.confirmErr != nil {
			return h.confirmErr
		}
		if a.status != "paid" && a.status != "settled_without_payfip" {
			h.t.Errorf("ConfirmCart on attempt %d which is %s", a.seq, a.status)
		}
		if h.dbStatus != "checking_out" && h.dbStatus != "paid" {
			h.t.Errorf("ConfirmCart on a cart that is %s", h.dbStatus)
		}
		h.dbStatus = "paid"
		return nil
	}
	reopen := func(_ context.Context, id uuid.UUID) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		a := h.attempts[id]
		h.record("ReopenCart", fmt.Sprint(a.seq))
		if a.status == "paid" || a.status == "settled_without_payfip" {
			h.t.Errorf("ReopenCart on attempt %d which is %s", a.seq, a.status)
		}
		if h.dbStatus == "checking_out" {
			h.dbStatus = "open"
		}
		return nil
	}
	closeAttempt := func(_ context.Context, in activities.CloseAttemptInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		a := h.attempts[in.AttemptID]
		h.record("CloseAttempt", fmt.Sprint(a.seq))
		if !in.ByFamily {
			h.t.Errorf("CloseAttempt of attempt %d not by the family", a.seq)
		}
		if a.status == "created" || a.status == "pending" {
			a.status = "error"
		}
		return nil
	}
	h.env.OnActivity(acts.PrepareCheckout, mock.Anything, mock.Anything).Return(prepare)
	h.env.OnActivity(acts.CreatePayFiPPayment, mock.Anything, mock.Anything).After(h.createDelay).Return(create)
	h.env.OnActivity(acts.CheckPayment, mock.Anything, mock.Anything).Return(check)
	h.env.OnActivity(acts.ConfirmCart, mock.Anything, mock.Anything).Return(confirm)
	h.env.OnActivity(acts.ReopenCart, mock.Anything, mock.Anything).Return(reopen)
	h.env.OnActivity(acts.CloseAttempt, mock.Anything, mock.Anything).Return(closeAttempt)

	// FlowLocal's local activities, as activities.Checkout and
	// activities.SettleCart compose the steps above.
	h.env.OnActivity(acts.Checkout, mock.Anything, mock.Anything).After(h.createDelay).Return(
		func(ctx context.Context, in activities.PrepareCheckoutInput) (activities.CheckoutResult, error) {
			prep, err := prepare(ctx, in)
			if err != nil {
				return activities.CheckoutResult{}, err
			}
			res := activities.CheckoutResult{PrepareCheckoutResult: prep}
			if prep.Settlement != booking.SettlePayFiP {
				if err := confirm(ctx, prep.AttemptID); err != nil {
					return activities.CheckoutResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeConfirmRefused, err)
				}
				res.Confirmed = true
				return res, nil
			}
			created, err := create(ctx, prep.AttemptID)
			if err != nil {
				if err := reopen(ctx, prep.AttemptID); err != nil {
					return activities.CheckoutResult{}, err
				}
				res.NotCreated = err.Error()
				return res, nil
			}
			res.Payment = created
			return res, nil
		})
	h.env.OnActivity(acts.SettleCart, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.SettleCartInput) (payfip.Outcome, error) {
			out, err := check(ctx, in.AttemptID)
			if err != nil {
				return payfip.Outcome{}, err
			}
			switch {
			case out.Status == payfip.StatusPaid:
				if err := confirm(ctx, in.AttemptID); err != nil {
					return payfip.Outcome{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeConfirmRefused, err)
				}
			case in.ByFamily:
				if err := closeAttempt(ctx, activities.CloseAttemptInput{AttemptID: in.AttemptID, ByFamily: true}); err != nil {
					return payfip.Outcome{}, err
				}
				err = reopen(ctx, in.AttemptID)
			case out.Status == payfip.StatusRefused, out.Status == payfip.StatusAbandoned, out.Status == payfip.StatusExpired:
				err = reopen(ctx, in.AttemptID)
			}
			return out, err
		})
	h.env.OnActivity(acts.ExpireCart, mock.Anything, mock.Anything).After(h.expireDelay).Return(
		func(_ context.Context, id uuid.UUID) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.record("ExpireCart", "")
			if h.env.Now().Before(h.in.ExpiresAt) {
				h.t.Errorf("ExpireCart at %s, before the TTL", h.env.Now().Sub(start))
			}
			switch h.dbStatus {
			case "checking_out":
				if !h.busyExpected {
					h.t.Errorf("ExpireCart on a cart that is %s", h.dbStatus)
				}
				return temporal.NewNonRetryableApplicationError("payment attempt in progress", activities.ErrTypeCartBusy, nil)
			case "paid":
				h.t.Errorf("ExpireCart on a cart that is %s", h.dbStatus)
			default:
				h.dbStatus = "expired"
			}
			return nil
		})
	h.env.OnActivity(acts.SendCartReminder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.record("SendCartReminder", h.dbStatus)
			return nil
		})
	h.env.OnActivity(acts.SendReceipt, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.local {
				h.t.Error("FlowLocal sent the receipt itself: ConfirmCart queued it")
			}
			h.record("SendReceipt", fmt.Sprint(h.attempts[id].seq))
			if h.dbStatus != "paid" {
				h.t.Errorf("SendReceipt for a cart that is %s", h.dbStatus)
			}
			return nil
		})
}

// run starts the workflow and returns its result once it has ended.
func (h *harness) run() string {
	h.t.Helper()
	h.mockActivities()
	h.env.ExecuteWorkflow(workflows.CartWorkflow, h.in)
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

// checkout sends the checkout update at `at` after the start.
func (h *harness) checkout(at time.Duration, req workflows.CheckoutRequest) *updateOutcome {
	u := &updateOutcome{}
	h.updates = append(h.updates, u)
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
		}, req)
	}, at)
	return u
}

var okRequest = workflows.CheckoutRequest{Lines: 3, HasEmail: true}

type abandonOutcome struct {
	accepted  bool
	rejectErr error
	done      bool
	result    workflows.AbandonResult
	err       error
}

// abandon sends "Abandonner ce paiement" for checkout seq at `at`.
func (h *harness) abandon(at time.Duration, seq int32) *abandonOutcome {
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
		}, attemptID(seq).String())
	}, at)
	return u
}

// notify sends the PayFiP signal for checkout seq at `at`.
func (h *harness) notify(at time.Duration, seq int32) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.PayFiPSignal, idOp(seq)) }, at)
}

// state queries the workflow at `at`; the returned pointer is filled then.
func (h *harness) state(at time.Duration) *workflows.CartState {
	s := &workflows.CartState{}
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.CartQuery)
		if err != nil {
			h.t.Errorf("query at %s: %v", at, err)
			return
		}
		if err := v.Get(s); err != nil {
			h.t.Error(err)
		}
	}, at)
	return s
}

// details reads, at `at`, the current details the Temporal UI shows.
func (h *harness) details(at time.Duration) *string {
	d := new(string)
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow("__temporal_workflow_metadata")
		if err != nil {
			h.t.Errorf("metadata query at %s: %v", at, err)
			return
		}
		var md sdkpb.WorkflowMetadata
		if err := v.Get(&md); err != nil {
			h.t.Error(err)
			return
		}
		*d = md.GetCurrentDetails()
	}, at)
	return d
}

// sequence lists the activity calls as "Name(arg)@offset".
func (h *harness) sequence() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b []string
	for _, c := range h.calls {
		s := c.name
		if c.arg != "" {
			s += "(" + c.arg + ")"
		}
		b = append(b, s+"@"+c.at.String())
	}
	return strings.Join(b, " ")
}

func (h *harness) count(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if c.name == name {
			n++
		}
	}
	return n
}

// wantSequence checks the steps called, as FlowActivities calls them; FlowLocal
// calls the same but SendReceipt (its confirmation queued the receipt).
func (h *harness) wantSequence(want string) {
	h.t.Helper()
	if h.local {
		want = strings.Join(slices.DeleteFunc(strings.Fields(want), func(c string) bool { return strings.HasPrefix(c, "SendReceipt(") }), " ")
	}
	if got := h.sequence(); got != want {
		h.t.Errorf("activities:\n got %s\nwant %s", got, want)
	}
}

// wantUpserts checks the search attribute upserts ("CartStatus AmountDueCents"
// each) of the harness's flow. FlowActivities writes every attribute at its
// start, and its status at every step; FlowLocal, started with them, writes
// none of OrgId, FamilyId again and the status only when it changes.
func (h *harness) wantUpserts(before, local []string) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	want := before
	if h.local {
		want = local
	}
	if got := strings.Join(h.upserts, ", "); got != strings.Join(want, ", ") {
		h.t.Errorf("search attributes CartStatus AmountDueCents:\n got %s\nwant %s", got, strings.Join(want, ", "))
	}
	wantOrg, wantFam := h.in.OrgID.String(), h.in.FamilyID.String()
	if h.local {
		wantOrg, wantFam = "", "" // set by the start, never again
	}
	if h.org != wantOrg || h.fam != wantFam {
		h.t.Errorf("OrgId %q FamilyId %q upserted, want %q %q", h.org, h.fam, wantOrg, wantFam)
	}
}

func wantPaymentRequired(t *testing.T, u *updateOutcome, seq int32, due int64) {
	t.Helper()
	if !u.accepted || !u.done || u.err != nil {
		t.Fatalf("checkout %d: accepted %v done %v err %v reject %v", seq, u.accepted, u.done, u.err, u.rejectErr)
	}
	r := u.result
	if r.Status != "payment_required" || !strings.HasSuffix(r.PaymentURL, "idop="+idOp(seq)) ||
		r.AttemptID != attemptID(seq).String() || r.AmountDueCents != due {
		t.Fatalf("checkout %d answered %+v", seq, r)
	}
}

func wantRefused(t *testing.T, u *updateOutcome, contains string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if u.accepted || u.rejectErr == nil || !errors.As(u.rejectErr, &appErr) ||
		appErr.Type() != workflows.ErrTypeCheckoutRefused || !strings.Contains(appErr.Message(), contains) {
		t.Fatalf("checkout should be rejected with %q: accepted %v, rejection %v", contains, u.accepted, u.rejectErr)
	}
}

func TestCartExpiresAfterItsTTLWithoutCheckout(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		open := h.details(time.Hour)
		if got := h.run(); got != "expired" {
			t.Fatalf("result %q, want expired", got)
		}
		h.wantSequence("ExpireCart@48h0m0s")
		h.wantUpserts([]string{"open 0", "expired 0"}, []string{"expired 0"})
		if *open != "open until 27/11/2026 14:02 (Paris)" {
			t.Errorf("details while open: %q", *open)
		}
	})
}

func TestCheckoutPaidOnNotification(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.check = func(n int, seq int32, age time.Duration) (payfip.Outcome, error) {
			return payfip.Outcome{Status: payfip.StatusPaid, Numauto: "123456"}, nil
		}
		co := h.checkout(time.Hour, okRequest)
		waiting := h.details(time.Hour + time.Minute)
		st := h.state(time.Hour + time.Minute)
		h.notify(time.Hour+3*time.Minute, 1)
		h.notify(time.Hour+3*time.Minute, 1) // PayFiP may notify twice; one check is enough per wake-up

		if got := h.run(); got != "paid" {
			t.Fatalf("result %q, want paid", got)
		}
		wantPaymentRequired(t, co, 1, 450)
		h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s CheckPayment(1)@1h3m0s ConfirmCart(1)@1h3m0s SendReceipt(1)@1h3m0s")
		h.wantUpserts([]string{"open 0", "checking_out 450", "paid 450"}, []string{"checking_out 450", "paid 450"})
		if *waiting != "waiting for PayFiP, idOp idop-1, 4,50 €, since 15:02" {
			t.Errorf("details while waiting: %q", *waiting)
		}
		if st.Status != "checking_out" || st.IDOp != "idop-1" || st.Seq != 1 || st.AmountDueCents != 450 {
			t.Errorf("query while waiting: %+v", st)
		}
	})
}

func TestNotificationBeforeTheCheckoutAnswersIsNotMissed(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.check = func(int, int32, time.Duration) (payfip.Outcome, error) {
			return payfip.Outcome{Status: payfip.StatusPaid}, nil
		}
		// An instant payer: the notification lands while CreatePayFiPPayment is still
		// returning, before the workflow knows the idOp.
		h.createDelay = 10 * time.Second
		h.checkout(time.Hour, okRequest)
		h.notify(time.Hour+5*time.Second, 1)
		if got := h.run(); got != "paid" {
			t.Fatalf("result %q", got)
		}
		if h.local { // the local activity Checkout as a whole takes the 10 s
			h.wantSequence("PrepareCheckout(1)@1h0m10s CreatePayFiPPayment(1)@1h0m10s CheckPayment(1)@1h0m10s ConfirmCart(1)@1h0m10s")
		} else {
			h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m10s CheckPayment(1)@1h0m10s ConfirmCart(1)@1h0m10s SendReceipt(1)@1h0m10s")
		}
	})
}

func TestPaymentFoundByThePollAt16Minutes(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.check = func(int, int32, time.Duration) (payfip.Outcome, error) {
			return payfip.Outcome{Status: payfip.StatusPaid}, nil
		}
		h.checkout(time.Hour, okRequest)
		h.notify(time.Hour+2*time.Minute, 7) // an old attempt's idOp wakes nobody
		if got := h.run(); got != "paid" {
			t.Fatalf("result %q", got)
		}
		h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s CheckPayment(1)@1h16m0s ConfirmCart(1)@1h16m0s SendReceipt(1)@1h16m0s")
	})
}

func TestPendingUntil20MinutesThenOpenAgainThenExpired(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		// payfip.Evaluate: P5 is pending for 20 minutes, then expired.
		h.check = func(_ int, _ int32, age time.Duration) (payfip.Outcome, error) {
			if age < payfip.PendingWindow {
				return payfip.Outcome{Status: payfip.StatusPending}, nil
			}
			return payfip.Outcome{Status: payfip.StatusExpired, Reason: "P5 after 20 minutes"}, nil
		}
		h.checkout(time.Hour, okRequest)
		pending := h.details(time.Hour + 17*time.Minute + 30*time.Second)
		reopened := h.state(2 * time.Hour)
		if got := h.run(); got != "expired" {
			t.Fatalf("result %q", got)
		}
		h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s " +
			"CheckPayment(1)@1h16m0s CheckPayment(1)@1h17m0s CheckPayment(1)@1h18m0s CheckPayment(1)@1h19m0s CheckPayment(1)@1h20m0s " +
			"ReopenCart(1)@1h20m0s ExpireCart@48h0m0s")
		h.wantUpserts([]string{"open 0", "checking_out 450", "open 0", "expired 0"}, []string{"checking_out 450", "open 0", "expired 0"})
		if *pending != "waiting for PayFiP, idOp idop-1, 4,50 €, since 15:02; not known yet at 15:19" {
			t.Errorf("details while pending: %q", *pending)
		}
		if reopened.Status != "open" || reopened.IDOp != "" || reopened.Expired ||
			!strings.HasPrefix(reopened.Details, "open again at 15:22 after payment expired (idOp idop-1)") {
			t.Errorf("state after the attempt expired: %+v", reopened)
		}
	})
}

func TestFailedPaymentOpensTheCartForAnotherCheckout(t *testing.T) {
	for _, result := range []payfip.Status{payfip.StatusRefused, payfip.StatusAbandoned} {
		t.Run(string(result), func(t *testing.T) {
			flows(t, func(t *testing.T, h *harness) {
				h.dues = []int64{450, 300} // the family removed a day before retrying
				h.check = func(_ int, seq int32, _ time.Duration) (payfip.Outcome, error) {
					if seq == 1 {
						return payfip.Outcome{Status: result}, nil
					}
					return payfip.Outcome{Status: payfip.StatusPaid}, nil
				}
				first := h.checkout(time.Hour, okRequest)
				h.notify(time.Hour+4*time.Minute, 1)
				second := h.checkout(2*time.Hour, okRequest)
				h.notify(2*time.Hour+2*time.Minute, 2)
				if got := h.run(); got != "paid" {
					t.Fatalf("result %q", got)
				}
				wantPaymentRequired(t, first, 1, 450)
				wantPaymentRequired(t, second, 2, 300)
				h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s CheckPayment(1)@1h4m0s ReopenCart(1)@1h4m0s " +
					"PrepareCheckout(2)@2h0m0s CreatePayFiPPayment(2)@2h0m0s CheckPayment(2)@2h2m0s ConfirmCart(2)@2h2m0s SendReceipt(2)@2h2m0s")
				h.wantUpserts([]string{"open 0", "checking_out 450", "open 0", "checking_out 300", "paid 300"},
					[]string{"checking_out 450", "open 0", "checking_out 300", "paid 300"})
			})
		})
	}
}

func TestTTLDuringAPaymentWaitsForItsOutcome(t *testing.T) {
	for _, tc := range []struct {
		outcome payfip.Status
		want    string
		calls   string
	}{
		{payfip.StatusPaid, "paid", "ConfirmCart(1)@48h5m0s SendReceipt(1)@48h5m0s"},
		{payfip.StatusRefused, "expired", "ReopenCart(1)@48h5m0s ExpireCart@48h5m0s"},
	} {
		t.Run(string(tc.outcome), func(t *testing.T) {
			flows(t, func(t *testing.T, h *harness) {
				h.check = func(int, int32, time.Duration) (payfip.Outcome, error) {
					return payfip.Outcome{Status: tc.outcome}, nil
				}
				h.checkout(ttl-5*time.Minute, okRequest)
				during := h.state(ttl + time.Minute)
				again := h.checkout(ttl+2*time.Minute, okRequest)
				h.notify(ttl+5*time.Minute, 1)
				if got := h.run(); got != tc.want {
					t.Fatalf("result %q, want %q", got, tc.want)
				}
				h.wantSequence("PrepareCheckout(1)@47h55m0s CreatePayFiPPayment(1)@47h55m0s CheckPayment(1)@48h5m0s " + tc.calls)
				if during.Status != "checking_out" || !during.Expired || during.IDOp != "idop-1" {
					t.Errorf("state after the TTL, before the outcome: %+v", during)
				}
				wantRefused(t, again, "Un paiement est déjà en cours")
			})
		})
	}
}

func TestNothingDueIsPaidWithoutPayFiP(t *testing.T) {
	for _, tc := range []struct {
		name    string
		due     int64
		answer  string
		carried int64
	}{{"credit covers it", 0, "paid", 0}, {"under 1 euro, carried", 99, "confirmed", 99}} {
		t.Run(tc.name, func(t *testing.T) {
			flows(t, func(t *testing.T, h *harness) {
				h.dues = []int64{tc.due}
				co := h.checkout(time.Hour, okRequest)
				if got := h.run(); got != "paid" {
					t.Fatalf("result %q", got)
				}
				if !co.done || co.err != nil || co.result.Status != tc.answer || co.result.PaymentURL != "" ||
					co.result.AmountDueCents != tc.due || co.result.CarriedToBalanceCents != tc.carried {
					t.Fatalf("checkout: %+v", co)
				}
				h.wantSequence("PrepareCheckout(1)@1h0m0s ConfirmCart(1)@1h0m0s SendReceipt(1)@1h0m0s")
				h.wantUpserts([]string{"open 0", fmt.Sprintf("checking_out %d", tc.due), fmt.Sprintf("paid %d", tc.due)},
					[]string{fmt.Sprintf("paid %d", tc.due)})
			})
		})
	}
}

func TestCheckoutValidatorRejections(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.expireDelay = time.Minute
		h.check = func(_ int, seq int32, _ time.Duration) (payfip.Outcome, error) {
			return payfip.Outcome{Status: payfip.StatusRefused}, nil
		}
		empty := h.checkout(time.Hour, workflows.CheckoutRequest{HasEmail: true})
		noEmail := h.checkout(2*time.Hour, workflows.CheckoutRequest{Lines: 2})
		balanceOnly := h.checkout(3*time.Hour, workflows.CheckoutRequest{OutstandingCents: 1200, HasEmail: true})
		during := h.checkout(3*time.Hour+time.Minute, okRequest)
		h.notify(3*time.Hour+2*time.Minute, 1)
		expiring := h.checkout(ttl+30*time.Second, okRequest) // ExpireCart is running
		if got := h.run(); got != "expired" {
			t.Fatalf("result %q", got)
		}
		wantRefused(t, empty, "Votre panier est vide")
		wantRefused(t, noEmail, "Aucune adresse e-mail")
		wantPaymentRequired(t, balanceOnly, 1, 450)
		wantRefused(t, during, "Un paiement est déjà en cours")
		wantRefused(t, expiring, "Votre panier a expiré")
		h.wantSequence("PrepareCheckout(1)@3h0m0s CreatePayFiPPayment(1)@3h0m0s CheckPayment(1)@3h2m0s ReopenCart(1)@3h2m0s ExpireCart@48h1m0s")
	})
}

func TestActivityRefusalReachesTheFamily(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.dbStatus = "expired" // PostgreSQL disagrees with the workflow: PrepareCheckout refuses
		co := h.checkout(time.Hour, okRequest)
		h.run()
		var appErr *temporal.ApplicationError
		if !co.accepted || !errors.As(co.err, &appErr) || appErr.Message() != "Ce panier n'est plus ouvert au paiement." {
			t.Fatalf("checkout: accepted %v err %v", co.accepted, co.err)
		}
	})
}

func TestPayFiPCreationFailureReopensTheCart(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.createErr[1] = temporal.NewNonRetryableApplicationError("PayFiP creation failed: HTTP 500", activities.ErrTypePayFiP, nil)
		h.check = func(int, int32, time.Duration) (payfip.Outcome, error) {
			return payfip.Outcome{Status: payfip.StatusPaid}, nil
		}
		first := h.checkout(time.Hour, okRequest)
		reopened := h.details(time.Hour + time.Minute)
		second := h.checkout(2*time.Hour, okRequest)
		h.notify(2*time.Hour+time.Minute, 2)
		if got := h.run(); got != "paid" {
			t.Fatalf("result %q", got)
		}
		var appErr *temporal.ApplicationError
		if !first.accepted || !errors.As(first.err, &appErr) || !strings.Contains(appErr.Message(), "n'a pas pu être créé auprès de PayFiP") {
			t.Fatalf("first checkout: accepted %v err %v", first.accepted, first.err)
		}
		wantPaymentRequired(t, second, 2, 450)
		h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s ReopenCart(1)@1h0m0s " +
			"PrepareCheckout(2)@2h0m0s CreatePayFiPPayment(2)@2h0m0s CheckPayment(2)@2h1m0s ConfirmCart(2)@2h1m0s SendReceipt(2)@2h1m0s")
		if !strings.HasPrefix(*reopened, "open again at 15:02 after PayFiP payment of checkout 1 could not be created") {
			t.Errorf("details: %q", *reopened)
		}
	})
}

func TestUnusablePayFiPAnswersAreAskedAgainNeverPaid(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.check = func(n int, _ int32, _ time.Duration) (payfip.Outcome, error) {
			switch {
			case n <= 5: // the first poll: five tries of the activity, all failing
				return payfip.Outcome{}, errors.New("dial tcp: connection refused")
			case n == 6:
				return payfip.Outcome{Status: payfip.StatusError, Reason: "montant mismatch: PayFiP answered \"451\" cents, we sent 450"}, nil
			default:
				return payfip.Outcome{Status: payfip.StatusPaid}, nil
			}
		}
		h.checkout(time.Hour, okRequest)
		// FlowActivities: the failing activity is tried five times, then taken for
		// an unusable answer; FlowLocal: the local activity SettleCart retries
		// until it gets an answer (PayFiP's own failures are answers already).
		attentionAt, unusableAt := time.Hour+40*time.Minute, "15:33"
		if h.local {
			attentionAt, unusableAt = time.Hour+20*time.Minute, "15:18"
		}
		attention := h.details(attentionAt)
		if got := h.run(); got != "paid" {
			t.Fatalf("result %q", got)
		}
		if n := h.count("CheckPayment"); n != 7 {
			t.Errorf("CheckPayment called %d times, want 7: %s", n, h.sequence())
		}
		if n := h.count("ConfirmCart"); n != 1 {
			t.Errorf("ConfirmCart called %d times", n)
		}
		if h.local {
			h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s " +
				"CheckPayment(1)@1h16m0s CheckPayment(1)@1h16m1s CheckPayment(1)@1h16m3s CheckPayment(1)@1h16m7s CheckPayment(1)@1h16m15s " +
				"CheckPayment(1)@1h16m31s CheckPayment(1)@1h31m31s ConfirmCart(1)@1h31m31s")
		} else {
			h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s " +
				"CheckPayment(1)@1h16m0s CheckPayment(1)@1h16m2s CheckPayment(1)@1h16m6s CheckPayment(1)@1h16m14s CheckPayment(1)@1h16m30s " +
				"CheckPayment(1)@1h31m30s CheckPayment(1)@1h46m30s ConfirmCart(1)@1h46m30s SendReceipt(1)@1h46m30s")
		}
		if !strings.HasPrefix(*attention, "NEEDS ATTENTION: PayFiP answer for idOp idop-1 (4,50 €, since 15:02) unusable at "+unusableAt+": montant mismatch") {
			t.Errorf("details: %q", *attention)
		}
	})
}

func TestCheckoutAtTheMomentTheTTLFires(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.check = func(int, int32, time.Duration) (payfip.Outcome, error) {
			return payfip.Outcome{Status: payfip.StatusPaid}, nil
		}
		co := h.checkout(ttl, okRequest)
		h.notify(ttl+time.Minute, 1)
		got := h.run()
		// Either the expiry won (the checkout is refused and nothing was frozen) or the
		// checkout did (and the TTL waits for its payment); never both.
		switch {
		case co.rejectErr != nil:
			wantRefused(t, co, "Votre panier a expiré")
			if got != "expired" {
				t.Fatalf("result %q", got)
			}
			h.wantSequence("ExpireCart@48h0m0s")
		default:
			wantPaymentRequired(t, co, 1, 450)
			if got != "paid" || h.count("ExpireCart") != 0 {
				t.Fatalf("result %q, calls %s", got, h.sequence())
			}
		}
	})
}

func TestExpiryFollowsAnAttemptLeftByAnEarlierRun(t *testing.T) {
	// An operator terminated the cart's workflow during a payment, then started it
	// again after the TTL: PostgreSQL says checking_out, the new run knows nothing.
	for _, tc := range []struct {
		outcome payfip.Status
		want    string
		calls   string
	}{
		{payfip.StatusPaid, "paid", "ConfirmCart(1)@16m0s SendReceipt(1)@16m0s"},
		{payfip.StatusRefused, "expired", "ReopenCart(1)@16m0s ExpireCart@16m0s"},
	} {
		t.Run(string(tc.outcome), func(t *testing.T) {
			flows(t, func(t *testing.T, h *harness) {
				h.in.ExpiresAt = start.Add(-time.Hour)
				h.dbStatus, h.busyExpected = "checking_out", true
				h.attempts[attemptID(1)] = &attempt{seq: 1, status: "pending"}
				h.check = func(int, int32, time.Duration) (payfip.Outcome, error) {
					return payfip.Outcome{Status: tc.outcome}, nil
				}
				if got := h.run(); got != tc.want {
					t.Fatalf("result %q, want %q", got, tc.want)
				}
				h.wantSequence("ExpireCart@0s PrepareCheckout(1)@0s CreatePayFiPPayment(1)@0s CheckPayment(1)@16m0s " + tc.calls)
			})
		})
	}
}

func TestConfirmationRefusedForGoodFailsTheWorkflow(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.dues = []int64{0}
		h.confirmErr = temporal.NewNonRetryableApplicationError("cart expired before attempt was confirmed", activities.ErrTypeCartClosed, nil)
		co := h.checkout(time.Hour, okRequest)
		h.mockActivities()
		h.env.ExecuteWorkflow(workflows.CartWorkflow, h.in)
		if !h.env.IsWorkflowCompleted() || h.env.GetWorkflowError() == nil {
			t.Fatal("the workflow should fail where operators see it, not wait forever")
		}
		if !co.done || co.err == nil {
			t.Fatalf("checkout: %+v", co)
		}
		h.wantSequence("PrepareCheckout(1)@1h0m0s ConfirmCart(1)@1h0m0s")
	})
}

// "Abandonner ce paiement et modifier mon panier": the attempt is given up at
// once (PayFiP asked once, not paid yet), closed as abandoned by the family, and
// the cart open again for changes and another checkout, which is paid.
func TestFamilyAbandonsThePaymentAndTheCartReopensAtOnce(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.dues = []int64{450, 300}
		h.check = func(_ int, seq int32, _ time.Duration) (payfip.Outcome, error) {
			if seq == 1 {
				return payfip.Outcome{Status: payfip.StatusPending}, nil
			}
			return payfip.Outcome{Status: payfip.StatusPaid}, nil
		}
		first := h.checkout(time.Hour, okRequest)
		wrong := h.abandon(time.Hour+4*time.Minute, 2) // an attempt that is not in progress
		ab := h.abandon(time.Hour+5*time.Minute, 1)
		open := h.state(time.Hour + 6*time.Minute)
		again := h.abandon(time.Hour+7*time.Minute, 1)
		second := h.checkout(2*time.Hour, okRequest)
		h.notify(2*time.Hour+time.Minute, 2)
		if got := h.run(); got != "paid" {
			t.Fatalf("result %q", got)
		}
		wantPaymentRequired(t, first, 1, 450)
		wantPaymentRequired(t, second, 2, 300)
		if !ab.accepted || !ab.done || ab.err != nil || ab.result.Status != "open" {
			t.Fatalf("abandon: %+v", ab)
		}
		for _, u := range []*abandonOutcome{wrong, again} {
			if u.accepted || u.rejectErr == nil || !strings.Contains(u.rejectErr.Error(), "Aucun paiement n'est en cours") {
				t.Errorf("abandon of no payment in progress: %+v", u)
			}
		}
		// No wait for the 16-minute poll: the cart is open five minutes after the checkout.
		h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s CheckPayment(1)@1h5m0s CloseAttempt(1)@1h5m0s ReopenCart(1)@1h5m0s " +
			"PrepareCheckout(2)@2h0m0s CreatePayFiPPayment(2)@2h0m0s CheckPayment(2)@2h1m0s ConfirmCart(2)@2h1m0s SendReceipt(2)@2h1m0s")
		if open.Status != "open" || open.IDOp != "" || !strings.Contains(open.Details, "payment abandoned by the family (idOp idop-1)") {
			t.Errorf("state after the abandon: %+v", open)
		}
		if a := h.attempts[attemptID(1)]; a.status != "error" {
			t.Errorf("abandoned attempt is %s", a.status)
		}
	})
}

// The payer had paid on PayFiP's page before pressing "Abandonner": PayFiP, asked
// once, says paid, and the cart is paid rather than reopened.
func TestAbandonAfterPayingConfirmsTheCart(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.check = func(int, int32, time.Duration) (payfip.Outcome, error) {
			return payfip.Outcome{Status: payfip.StatusPaid}, nil
		}
		h.checkout(time.Hour, okRequest)
		ab := h.abandon(time.Hour+2*time.Minute, 1)
		if got := h.run(); got != "paid" {
			t.Fatalf("result %q", got)
		}
		if !ab.done || ab.err != nil || ab.result.Status != "paid" {
			t.Fatalf("abandon: %+v", ab)
		}
		h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s CheckPayment(1)@1h2m0s ConfirmCart(1)@1h2m0s SendReceipt(1)@1h2m0s")
	})
}

// A cart started without its search attributes (by hand, with the CLI) writes
// the ones missing once, at its start: operators find it all the same.
func TestLocalCartStartedWithoutItsSearchAttributesWritesTheMissingOnes(t *testing.T) {
	h := newHarness(t, workflows.FlowLocal)
	h.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(workflows.OrgIDKey.ValueSet(h.in.OrgID.String())))
	if got := h.run(); got != "expired" {
		t.Fatalf("result %q", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if got := strings.Join(h.upserts, ", "); got != "open 0, expired 0" || h.org != "" || h.fam != h.in.FamilyID.String() {
		t.Errorf("upserts %s, OrgId %q FamilyId %q: want the family, status and amount once, not the org", got, h.org, h.fam)
	}
}

// An early notification finds the payment not known yet; the payer's own, a
// second later, is coalesced by the API (one wake-up per PAYFIP_NOTIFY_COOLDOWN)
// and never signalled. PayFiP is asked again NotifyCatchUp after the first: the
// cart is paid then, not at the next poll a minute later.
func TestNotificationCoalescedBehindAnEarlyOneIsCaughtUp(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.check = func(n int, _ int32, _ time.Duration) (payfip.Outcome, error) {
			if n == 1 {
				return payfip.Outcome{Status: payfip.StatusPending}, nil
			}
			return payfip.Outcome{Status: payfip.StatusPaid}, nil
		}
		h.checkout(time.Hour, okRequest)
		h.notify(time.Hour+time.Minute, 1)
		if got := h.run(); got != "paid" {
			t.Fatalf("result %q", got)
		}
		h.wantSequence("PrepareCheckout(1)@1h0m0s CreatePayFiPPayment(1)@1h0m0s CheckPayment(1)@1h1m0s " +
			"CheckPayment(1)@1h1m10s ConfirmCart(1)@1h1m10s SendReceipt(1)@1h1m10s")
	})
}

// The catch-up covers every cooldown the configuration accepts.
func TestNotifyCatchUpCoversTheLongestCooldown(t *testing.T) {
	if workflows.NotifyCatchUp < config.MaxPayFiPNotifyCooldown {
		t.Fatalf("NotifyCatchUp %s < PAYFIP_NOTIFY_COOLDOWN's maximum %s", workflows.NotifyCatchUp, config.MaxPayFiPNotifyCooldown)
	}
}
