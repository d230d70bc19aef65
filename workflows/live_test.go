package workflows_test

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/demo"
	"github.com/enfance/enfance/logging"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
	"github.com/enfance/enfance/testenv"
	"github.com/enfance/enfance/worker"
	"github.com/enfance/enfance/workflows"
)

// Every lifecycle path run for real: the Temporal dev server, a worker with the
// real activities, PostgreSQL with the demo data and the PayFiP simulator. The
// PayFiP waits are shortened through CartInput.Timing and the TTL through
// carts.expires_at; the PayFiP clock (activities and simulator) can be moved
// forward. Each run checks PostgreSQL afterwards, and its history is replayed at
// once by the current code.
//
//	go test ./workflows -run TestLifecycle -record
//
// also writes each history to testdata/local/<path>.json (carts start with
// FlowLocal), which TestReplayRecordedHistories replays on every `make test`: a
// change to the workflow that would break carts already running fails there (use
// workflow.GetVersion for such changes). testdata/*.json are the same paths
// recorded from the code before issue 16 (FlowActivities): they are not rewritten,
// and replay as long as carts of that flow may run.
var record = flag.Bool("record", false, "rewrite workflows/testdata/local/*.json from real runs against the Temporal dev server")

type live struct {
	t      *testing.T
	ctx    context.Context
	pool   *pgxpool.Pool
	q      *db.Queries
	tc     client.Client
	sim    *sim.Simulator
	org    uuid.UUID
	queue  string
	offset atomic.Int64 // added to the PayFiP clock (activities and simulator)
	cart   db.Cart
	wfID   string
	remind time.Duration // CART_REMINDER_BEFORE of the carts start opens
	acts   *activities.Activities
	worker *worker.Worker
}

func newLive(t *testing.T) *live {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	zl := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	pool, _ := testenv.Database(t)
	if _, err := demo.Load(ctx, pool); err != nil {
		t.Fatalf("demo data: %v", err)
	}
	l := &live{t: t, ctx: ctx, pool: pool, q: db.New(pool), queue: "workflows-" + uuid.NewString()}
	org, err := l.q.GetOrgBySlug(ctx, demo.OrgSlug)
	if err != nil {
		t.Fatal(err)
	}
	l.org = org.ID

	dev := testenv.Temporal(t)
	tc, err := client.Dial(client.Options{HostPort: dev.FrontendHostPort(), Namespace: "default", Logger: logging.Temporal(zl)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	l.tc = tc

	// Notifications are the test's to send (as the API relays them), so that each
	// path decides whether the workflow hears of the payment or must poll.
	l.sim = sim.New(sim.Options{Clock: l.now, Logger: zl.Named("sim")})
	l.sim.SetFaults(sim.Faults{LoseNotifications: true})
	srv := httptest.NewServer(l.sim.Handler())
	t.Cleanup(func() { srv.Close(); l.sim.Close() })
	acts := &activities.Activities{
		Pool: pool, Log: zl, Now: l.now, PublicURL: "http://portal.test",
		PayFiP:       payfip.NewClient(payfip.Config{Endpoint: srv.URL + "/tpa/services/securite", PaymentURL: srv.URL + "/tpa/paiementws.web"}, nil),
		Mail:         &mail.Outbox{Dir: t.TempDir(), From: "Portail famille <no-reply@enfance.test>"},
		TestPayments: true, // the demo org pays with saisie T
	}
	l.acts = acts
	l.startWorker()
	return l
}

// startWorker starts a worker of the current code on the test's task queue.
func (l *live) startWorker() {
	l.t.Helper()
	w := worker.New(l.tc, l.queue, l.acts)
	if err := w.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(w.Stop)
	l.worker = w
}

func (l *live) now() time.Time { return time.Now().Add(time.Duration(l.offset.Load())) }

// start opens a cart for the family holding n days of service `code` (none if
// n is 0), expiring after ttl, and starts its workflow as the API does.
func (l *live) start(familyName, code string, n int, ttl time.Duration, timing workflows.Timing) {
	l.t.Helper()
	c := l.openCart(familyName, code, n, ttl)
	start := workflows.NewCartStart(c.ID, c.OrgID, c.FamilyID, c.ExpiresAt, l.remind)
	start.Input.Timing = timing
	if _, err := l.tc.ExecuteWorkflow(l.ctx, start.Client(l.queue), workflows.CartWorkflow, start.Input); err != nil {
		l.t.Fatal(err)
	}
}

// startAsBefore starts the cart's workflow as the API did before issue 16:
// FlowActivities (no Flow in the input), the search attributes set at the start.
func (l *live) startAsBefore(familyName, code string, n int, ttl time.Duration, timing workflows.Timing) {
	l.t.Helper()
	c := l.openCart(familyName, code, n, ttl)
	_, err := l.tc.ExecuteWorkflow(l.ctx, client.StartWorkflowOptions{
		ID: l.wfID, TaskQueue: l.queue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.OrgIDKey.ValueSet(c.OrgID.String()), workflows.FamilyIDKey.ValueSet(c.FamilyID.String()),
			workflows.CartStatusKey.ValueSet(workflows.StatusOpen), workflows.AmountDueCentsKey.ValueSet(0)),
	}, workflows.CartWorkflow, workflows.CartInput{CartID: c.ID, OrgID: c.OrgID, FamilyID: c.FamilyID, ExpiresAt: c.ExpiresAt, Timing: timing})
	if err != nil {
		l.t.Fatal(err)
	}
}

// openCart writes the cart row and its lines.
func (l *live) openCart(familyName, code string, n int, ttl time.Duration) db.Cart {
	l.t.Helper()
	var famID, child uuid.UUID
	if err := l.pool.QueryRow(l.ctx, `SELECT f.id, m.id FROM families f JOIN members m ON m.family_id = f.id AND m.kind = 'child'
		WHERE f.name = $1 ORDER BY m.birth_date LIMIT 1`, familyName).Scan(&famID, &child); err != nil {
		l.t.Fatal(err)
	}
	c, err := l.q.CreateCart(l.ctx, db.CreateCartParams{ID: uuid.New(), OrgID: l.org, FamilyID: famID, ExpiresAt: time.Now().Add(ttl)})
	if err != nil {
		l.t.Fatal(err)
	}
	if n > 0 {
		// Demo days far enough ahead for any booking rule; the activities don't judge them.
		tag, err := l.pool.Exec(l.ctx, `
			WITH days AS (
				UPDATE service_days SET taken = taken + 1 WHERE id IN (
					SELECT d.id FROM service_days d JOIN services s ON s.id = d.service_id
					WHERE s.org_id = $1 AND s.code = $2 AND d.open AND d.day >= '2027-03-01' ORDER BY d.day LIMIT $3)
				RETURNING id, service_id, day)
			INSERT INTO cart_lines (id, org_id, cart_id, family_id, child_id, service_id, service_day_id, day, price_cents)
			SELECT gen_random_uuid(), $1, $4, f.id, $5, days.service_id, days.id, days.day, p.price_cents
			FROM days JOIN families f ON f.id = $6
			JOIN service_prices p ON p.service_id = days.service_id AND f.qf >= p.qf_min AND (p.qf_max IS NULL OR f.qf <= p.qf_max)`,
			l.org, code, n, c.ID, child, famID)
		if err != nil || tag.RowsAffected() != int64(n) {
			l.t.Fatalf("cart lines: %v (%d)", err, tag.RowsAffected())
		}
	}
	l.cart, l.wfID = c, workflows.CartWorkflowID(c.ID)
	return c
}

// owe puts cents on the family's outstanding balance.
func (l *live) owe(familyName string, cents int64) {
	l.t.Helper()
	if _, err := l.pool.Exec(l.ctx, `INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, label)
		SELECT org_id, id, 'adjustment', $2, 'test:owe:' || id, 'Régularisation' FROM families WHERE name = $1`, familyName, cents); err != nil {
		l.t.Fatal(err)
	}
}

func (l *live) checkout(req workflows.CheckoutRequest) (workflows.CheckoutResult, error) {
	l.t.Helper()
	var res workflows.CheckoutResult
	h, err := l.tc.UpdateWorkflow(l.ctx, client.UpdateWorkflowOptions{
		WorkflowID: l.wfID, UpdateName: workflows.CheckoutUpdate, Args: []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(l.ctx, &res)
	}
	return res, err
}

func (l *live) mustCheckout(req workflows.CheckoutRequest, status string) workflows.CheckoutResult {
	l.t.Helper()
	res, err := l.checkout(req)
	if err != nil || res.Status != status {
		l.t.Fatalf("checkout: %+v, %v; want %s", res, err, status)
	}
	return res
}

func (l *live) pay(res workflows.CheckoutResult, resultrans string, notify bool) {
	l.t.Helper()
	idOp := res.PaymentURL[strings.Index(res.PaymentURL, "idop=")+5:]
	if err := l.sim.Pay(idOp, resultrans); err != nil {
		l.t.Fatal(err)
	}
	if notify {
		if err := l.tc.SignalWorkflow(l.ctx, l.wfID, "", workflows.PayFiPSignal, idOp); err != nil {
			l.t.Fatal(err)
		}
	}
}

func (l *live) state() workflows.CartState {
	l.t.Helper()
	v, err := l.tc.QueryWorkflow(l.ctx, l.wfID, "", workflows.CartQuery)
	if err != nil {
		l.t.Fatal(err)
	}
	var s workflows.CartState
	if err := v.Get(&s); err != nil {
		l.t.Fatal(err)
	}
	return s
}

// await polls the workflow's state until cond holds.
func (l *live) await(what string, cond func(workflows.CartState) bool) workflows.CartState {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := l.state()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("waiting for %s: state %+v", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// end waits for the workflow's result, checks it, then replays (and with
// -record saves) its history under name.
func (l *live) end(name, want string) {
	l.t.Helper()
	var got string
	if err := l.tc.GetWorkflow(l.ctx, l.wfID, "").Get(l.ctx, &got); err != nil || got != want {
		l.t.Fatalf("workflow ended %q (%v), want %q", got, err, want)
	}
	if s, err := l.q.GetCart(l.ctx, l.cart.ID); err != nil || string(s.Status) != want {
		l.t.Fatalf("cart row is %q (%v), want %q", s.Status, err, want)
	}
	l.replayAndRecord(name, "CartStatus")
}

// replayAndRecord checks what operators see of the workflow's history (status as
// the search attribute attr), replays it with the current code and, with -record,
// saves it under name.
func (l *live) replayAndRecord(name, attr string) {
	l.t.Helper()
	hist := l.history()
	checkOperatorView(l.t, hist, attr)
	if err := replay(hist); err != nil {
		l.t.Fatalf("the current code does not replay its own history: %v", err)
	}
	if *record {
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
		if err != nil {
			l.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "local", name+".json"), append(b, '\n'), 0o644); err != nil {
			l.t.Fatal(err)
		}
	}
}

// wantLean checks the cost of the cart's history (issue 16): at most maxEvents
// events and maxTasks workflow tasks, and no activity task — every step a local
// activity, the receipt queued.
func (l *live) wantLean(maxEvents, maxTasks int) {
	l.t.Helper()
	events, tasks, activities := 0, 0, 0
	for _, e := range l.history().Events {
		events++
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			tasks++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			activities++
		}
	}
	if events > maxEvents || tasks > maxTasks || activities > 0 {
		l.t.Errorf("history: %d events, %d workflow tasks, %d activity tasks; want at most %d, %d, 0", events, tasks, activities, maxEvents, maxTasks)
	}
}

// wantReceiptSent waits for the workers' e-mail queue to send the receipt of
// attempt (it leaves after the workflow has ended).
func (l *live) wantReceiptSent(attempt string) {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for l.count(`SELECT count(*) FROM outbound_emails WHERE sent_at IS NOT NULL AND idempotency_key = 'receipt:' || $1`, attempt) != 1 {
		if time.Now().After(deadline) {
			l.t.Fatalf("the receipt of attempt %s was not sent", attempt)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *live) history() *historypb.History {
	l.t.Helper()
	hist := &historypb.History{}
	it := l.tc.GetWorkflowHistory(l.ctx, l.wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			l.t.Fatal(err)
		}
		hist.Events = append(hist.Events, e)
	}
	return hist
}

// checkOperatorView: what the Temporal UI shows of a history is in plain words —
// every activity, local activity and timer has a summary, and the status is the
// search attribute attr, from the start and at each change.
func checkOperatorView(t *testing.T, hist *historypb.History, attr string) {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	summary := func(md *sdkpb.UserMetadata) string {
		var s string
		if md.GetSummary() != nil {
			_ = dc.FromPayload(md.GetSummary(), &s)
		}
		return s
	}
	statuses := 0
	for _, e := range hist.Events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_TIMER_STARTED:
			if summary(e.GetUserMetadata()) == "" {
				t.Errorf("event %d (%s) has no summary", e.GetEventId(), e.GetEventType())
			}
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if e.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" && summary(e.GetUserMetadata()) == "" {
				t.Errorf("event %d (local activity) has no summary", e.GetEventId())
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			if _, ok := e.GetWorkflowExecutionStartedEventAttributes().GetSearchAttributes().GetIndexedFields()[attr]; ok {
				statuses++
			}
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			if _, ok := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()[attr]; ok {
				statuses++
			}
		}
	}
	if statuses < 2 {
		t.Errorf("%s upserted %d times", attr, statuses)
	}
}

func replay(hist *historypb.History) error {
	r := sdkworker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.Cart, workflow.RegisterOptions{Name: workflows.CartWorkflow})
	r.RegisterWorkflowWithOptions(workflows.BalancePayment, workflow.RegisterOptions{Name: workflows.BalancePaymentWorkflow})
	return r.ReplayWorkflowHistory(log.NewStructuredLogger(slog.New(slog.DiscardHandler)), hist)
}

func (l *live) count(query string, args ...any) int {
	l.t.Helper()
	var n int
	if err := l.pool.QueryRow(l.ctx, query, args...).Scan(&n); err != nil {
		l.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// wantMoney checks the family's balances and how many reservations the cart made.
func (l *live) wantMoney(outstanding, credit int64, reservations int) {
	l.t.Helper()
	b, err := l.q.FamilyBalances(l.ctx, l.cart.FamilyID)
	if err != nil {
		l.t.Fatal(err)
	}
	n := l.count(`SELECT count(*) FROM reservations WHERE cart_line_id IN (SELECT id FROM cart_lines WHERE cart_id = $1)`, l.cart.ID)
	if b.OutstandingCents != outstanding || b.CreditCents != credit || n != reservations {
		l.t.Fatalf("outstanding %d credit %d reservations %d; want %d %d %d", b.OutstandingCents, b.CreditCents, n, outstanding, credit, reservations)
	}
}

func (l *live) wantPlacesReleased() {
	l.t.Helper()
	if n := l.count(`SELECT count(*) FROM cart_lines WHERE cart_id = $1 AND state <> 'released'`, l.cart.ID); n != 0 {
		l.t.Fatalf("%d lines not released", n)
	}
	if n := l.count(`SELECT COALESCE(sum(taken), 0)::int FROM service_days WHERE org_id = $1`, l.org); n != 0 {
		l.t.Fatalf("%d places still taken", n)
	}
}

func (l *live) wantAttempts(statuses ...string) {
	l.t.Helper()
	rows, err := l.pool.Query(l.ctx, `SELECT status FROM payment_attempts WHERE cart_id = $1 ORDER BY seq`, l.cart.ID)
	if err != nil {
		l.t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			l.t.Fatal(err)
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != strings.Join(statuses, " ") {
		l.t.Fatalf("attempts %v, want %v", got, statuses)
	}
}

// Paths of the lifecycle; each name is a file in testdata.
var lifecyclePaths = []string{
	"expired_without_checkout",
	"paid_on_notification",
	"paid_by_poll",
	"pending_then_expired_then_ttl",
	"refused_then_paid",
	"abandoned_then_ttl",
	"ttl_during_payment_paid",
	"ttl_during_payment_refused",
	"credit_covers_cart",
	"small_amount_carried",
	"balance_only_paid",
	"payfip_creation_failed_then_paid",
	"payfip_answer_unusable_then_paid",
	"checkout_rejected_then_ttl",
	"terminated_run_followed_up",
	"abandoned_by_family_then_paid",
	"balance_alone_paid",
	"balance_alone_abandoned_by_family",
	"reminded_then_expired",
}

var (
	signalOnly = workflows.Timing{FirstPoll: time.Hour}
	fastPolls  = workflows.Timing{FirstPoll: 300 * time.Millisecond, PollEvery: 300 * time.Millisecond, ErrorPollEvery: 300 * time.Millisecond}
	three      = workflows.CheckoutRequest{Lines: 3, HasEmail: true}
)

func TestLifecycle(t *testing.T) {
	t.Run("expired_without_checkout", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "mercredi", 2, time.Second, signalOnly)
		l.end("expired_without_checkout", "expired")
		l.wantPlacesReleased()
		l.wantAttempts()
	})

	t.Run("paid_on_notification", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 3, time.Hour, signalOnly)
		res := l.mustCheckout(three, "payment_required")
		if res.AmountDueCents != 450 {
			t.Fatalf("due %d", res.AmountDueCents)
		}
		idOp := res.PaymentURL[strings.Index(res.PaymentURL, "idop=")+5:]
		// What the Temporal UI shows while the family is on PayFiP's page.
		v, err := l.tc.QueryWorkflow(l.ctx, l.wfID, "", "__temporal_workflow_metadata")
		if err != nil {
			t.Fatal(err)
		}
		var md sdkpb.WorkflowMetadata
		if err := v.Get(&md); err != nil {
			t.Fatal(err)
		}
		if want := "waiting for PayFiP, idOp " + idOp + ", 4,50 €, since "; !strings.HasPrefix(md.GetCurrentDetails(), want) {
			t.Fatalf("current details %q, want %q…", md.GetCurrentDetails(), want)
		}
		l.wantSearchable(`CartStatus="checking_out" AND AmountDueCents=450`)
		l.pay(res, "P", true)
		l.end("paid_on_notification", "paid")
		l.wantMoney(0, 0, 3)
		l.wantAttempts("paid")
		l.wantSearchable(`CartStatus="paid" AND AmountDueCents=450`)
		l.wantReceiptSent(res.AttemptID)
		// Started, checked out, paid: three workflow tasks (issue 16's target: 20
		// events and 4 tasks at most).
		l.wantLean(20, 3)
	})

	t.Run("paid_by_poll", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 3, time.Hour, fastPolls)
		l.pay(l.mustCheckout(three, "payment_required"), "P", false)
		l.end("paid_by_poll", "paid")
		l.wantMoney(0, 0, 3)
		l.wantLean(20, 3)
	})

	t.Run("pending_then_expired_then_ttl", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 3, 6*time.Second, fastPolls)
		l.mustCheckout(three, "payment_required")
		l.await("a pending answer", func(s workflows.CartState) bool { return strings.Contains(s.Details, "not known yet") })
		l.offset.Store(int64(21 * time.Minute)) // the payer never came back
		l.await("the cart open again", func(s workflows.CartState) bool { return s.Status == workflows.StatusOpen })
		l.end("pending_then_expired_then_ttl", "expired")
		l.wantAttempts("expired")
		l.wantPlacesReleased()
	})

	t.Run("refused_then_paid", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 3, time.Hour, signalOnly)
		l.pay(l.mustCheckout(three, "payment_required"), "R", true)
		l.await("the cart open again", func(s workflows.CartState) bool { return s.Status == workflows.StatusOpen })
		second := l.mustCheckout(three, "payment_required")
		if l.state().Seq != 2 {
			t.Fatalf("second checkout is not seq 2: %+v", l.state())
		}
		l.pay(second, "P", true)
		l.end("refused_then_paid", "paid")
		l.wantAttempts("refused", "paid")
		l.wantMoney(0, 0, 3)
	})

	t.Run("abandoned_then_ttl", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 3, 3*time.Second, signalOnly)
		l.pay(l.mustCheckout(three, "payment_required"), "A", true)
		l.end("abandoned_then_ttl", "expired")
		l.wantAttempts("abandoned")
		l.wantPlacesReleased()
		l.wantMoney(0, 0, 0)
	})

	for _, tc := range []struct{ resultrans, want string }{{"P", "paid"}, {"R", "expired"}} {
		name := "ttl_during_payment_" + map[string]string{"P": "paid", "R": "refused"}[tc.resultrans]
		t.Run(name, func(t *testing.T) {
			l := newLive(t)
			l.start("Martin", "cantine", 3, 3*time.Second, signalOnly)
			res := l.mustCheckout(three, "payment_required")
			l.await("the TTL", func(s workflows.CartState) bool { return s.Expired })
			if s := l.state(); s.Status != workflows.StatusCheckingOut {
				t.Fatalf("the TTL did not wait for the payment: %+v", s)
			}
			l.pay(res, tc.resultrans, true)
			l.end(name, tc.want)
			if tc.want == "paid" {
				l.wantMoney(0, 0, 3)
			} else {
				l.wantPlacesReleased()
			}
		})
	}

	t.Run("credit_covers_cart", func(t *testing.T) {
		l := newLive(t)
		l.start("Bernard", "cantine", 1, time.Hour, signalOnly)
		res := l.mustCheckout(workflows.CheckoutRequest{Lines: 1, HasEmail: true}, "paid")
		if res.AmountDueCents != 0 || res.PaymentURL != "" {
			t.Fatalf("checkout %+v", res)
		}
		l.end("credit_covers_cart", "paid")
		l.wantMoney(0, 120, 1)
		l.wantAttempts("settled_without_payfip")
		l.wantReceiptSent(res.AttemptID)
		l.wantLean(13, 2)
	})

	t.Run("small_amount_carried", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "matin", 1, time.Hour, signalOnly)
		res := l.mustCheckout(workflows.CheckoutRequest{Lines: 1, HasEmail: true}, "confirmed")
		if res.CarriedToBalanceCents != 80 || res.AmountDueCents != 80 {
			t.Fatalf("checkout %+v: 0,80 € carried to the balance", res)
		}
		l.end("small_amount_carried", "paid")
		l.wantMoney(80, 0, 1)
	})

	t.Run("balance_only_paid", func(t *testing.T) {
		l := newLive(t)
		l.owe("Martin", 1200)
		l.start("Martin", "", 0, time.Hour, signalOnly)
		res := l.mustCheckout(workflows.CheckoutRequest{OutstandingCents: 1200, HasEmail: true}, "payment_required")
		if res.AmountDueCents != 1200 {
			t.Fatalf("due %d", res.AmountDueCents)
		}
		l.pay(res, "P", true)
		l.end("balance_only_paid", "paid")
		l.wantMoney(0, 0, 0)
	})

	t.Run("payfip_creation_failed_then_paid", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 3, time.Hour, signalOnly)
		l.sim.SetFaults(sim.Faults{LoseNotifications: true, CreateUnavailable: 1})
		_, err := l.checkout(three)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !strings.Contains(appErr.Message(), "PayFiP") {
			t.Fatalf("checkout: %v", err)
		}
		if s := l.state(); s.Status != workflows.StatusOpen {
			t.Fatalf("state %+v", s)
		}
		l.pay(l.mustCheckout(three, "payment_required"), "P", true)
		l.end("payfip_creation_failed_then_paid", "paid")
		l.wantAttempts("error", "paid")
	})

	t.Run("payfip_answer_unusable_then_paid", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 3, time.Hour, fastPolls)
		l.sim.SetFaults(sim.Faults{LoseNotifications: true, TamperMontant: true})
		l.pay(l.mustCheckout(three, "payment_required"), "P", false)
		l.await("an operator warning", func(s workflows.CartState) bool { return strings.HasPrefix(s.Details, "NEEDS ATTENTION") })
		if l.count(`SELECT count(*) FROM reservations WHERE family_id = $1`, l.cart.FamilyID) != 0 {
			t.Fatal("confirmed on an answer that does not match")
		}
		l.sim.SetFaults(sim.Faults{LoseNotifications: true})
		l.end("payfip_answer_unusable_then_paid", "paid")
		l.wantMoney(0, 0, 3)
	})

	t.Run("terminated_run_followed_up", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 3, 2*time.Second, signalOnly)
		res := l.mustCheckout(three, "payment_required")
		// The mistake operations.md warns against, then the remedy it gives.
		if err := l.tc.TerminateWorkflow(l.ctx, l.wfID, "", "operator mistake"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(l.cart.ExpiresAt)) // the new run starts after the TTL
		start := workflows.NewCartStart(l.cart.ID, l.cart.OrgID, l.cart.FamilyID, l.cart.ExpiresAt, 0)
		start.Input.Timing = signalOnly
		if _, err := l.tc.ExecuteWorkflow(l.ctx, start.Client(l.queue), workflows.CartWorkflow, start.Input); err != nil {
			t.Fatal(err)
		}
		l.await("the attempt taken up", func(s workflows.CartState) bool { return s.AttemptID == res.AttemptID })
		l.pay(res, "P", true)
		l.end("terminated_run_followed_up", "paid")
		l.wantAttempts("paid")
		l.wantMoney(0, 0, 3)
	})

	t.Run("abandoned_by_family_then_paid", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 3, time.Hour, signalOnly)
		first := l.mustCheckout(three, "payment_required")
		var ab workflows.AbandonResult
		h, err := l.tc.UpdateWorkflow(l.ctx, client.UpdateWorkflowOptions{
			WorkflowID: l.wfID, UpdateName: workflows.AbandonUpdate, Args: []any{first.AttemptID},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(l.ctx, &ab)
		}
		if err != nil || ab.Status != workflows.StatusOpen {
			t.Fatalf("abandon: %+v %v", ab, err)
		}
		l.pay(l.mustCheckout(three, "payment_required"), "P", true)
		l.end("abandoned_by_family_then_paid", "paid")
		l.wantAttempts("error", "paid")
		l.wantMoney(0, 0, 3)
	})

	t.Run("reminded_then_expired", func(t *testing.T) {
		l := newLive(t)
		l.remind = 2 * time.Second
		l.start("Martin", "cantine", 2, 4*time.Second, signalOnly)
		l.end("reminded_then_expired", "expired")
		if n := l.count(`SELECT count(*) FROM outbound_emails WHERE sent_at IS NOT NULL AND idempotency_key = 'cart-reminder:' || $1`, l.cart.ID); n != 1 {
			t.Fatalf("%d reminders sent", n)
		}
		l.wantPlacesReleased()
	})

	t.Run("checkout_rejected_then_ttl", func(t *testing.T) {
		l := newLive(t)
		l.start("Martin", "cantine", 1, 2*time.Second, signalOnly)
		for _, req := range []workflows.CheckoutRequest{{Lines: 1}, {HasEmail: true}} {
			if _, err := l.checkout(req); err == nil {
				t.Fatalf("checkout %+v accepted", req)
			}
		}
		l.end("checkout_rejected_then_ttl", "expired")
		for _, e := range l.history().Events {
			if strings.Contains(e.GetEventType().String(), "UPDATE") {
				t.Fatalf("a rejected update left %s in the history", e.GetEventType())
			}
		}
	})
}

// A cart started by the code before issue 16 — FlowActivities: its input without
// Flow, every step an activity task, the receipt an activity — checks out; then
// its worker is replaced by a new one (an empty cache: it replays what was
// written so far before carrying on), as a deploy does. The cart completes as it
// began: paid, the receipt sent by its own activity, once, the ledger right,
// and its history replays. The histories the code before issue 16 recorded
// (testdata/*.json) replay with the current code too (TestReplayRecordedHistories):
// together, a cart running when the upgrade comes finishes under the new code.
func TestCartStartedBeforeTheUpgradeCompletesUnderTheNewCode(t *testing.T) {
	l := newLive(t)
	l.startAsBefore("Martin", "cantine", 3, time.Hour, signalOnly)
	res := l.mustCheckout(three, "payment_required")
	l.worker.Stop()
	l.startWorker()
	l.pay(res, "P", true)
	var got string
	if err := l.tc.GetWorkflow(l.ctx, l.wfID, "").Get(l.ctx, &got); err != nil || got != "paid" {
		t.Fatalf("workflow ended %q (%v), want paid", got, err)
	}
	l.wantMoney(0, 0, 3)
	l.wantAttempts("paid")
	hist := l.history()
	checkOperatorView(t, hist, "CartStatus")
	if err := replay(hist); err != nil {
		t.Fatalf("its history does not replay: %v", err)
	}
	var steps []string
	for _, e := range hist.Events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			steps = append(steps, e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			steps = append(steps, "marker")
		}
	}
	if got, want := strings.Join(steps, " "), "PrepareCheckout CreatePayFiPPayment CheckPayment ConfirmCart SendReceipt"; got != want {
		t.Fatalf("steps %s, want the flow it started with: %s", got, want)
	}
	if n := l.count(`SELECT count(*) FROM outbound_emails WHERE sent_at IS NOT NULL AND idempotency_key = 'receipt:' || $1`, res.AttemptID); n != 1 {
		t.Fatalf("%d receipts sent", n)
	}
}

// wantSearchable waits until the visibility store finds this cart with query.
func (l *live) wantSearchable(query string) {
	l.t.Helper()
	q := `WorkflowId="` + l.wfID + `" AND FamilyId="` + l.cart.FamilyID.String() + `" AND ` + query
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := l.tc.ListWorkflow(l.ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q})
		if err != nil {
			l.t.Fatalf("list %s: %v", q, err)
		}
		if len(resp.GetExecutions()) == 1 {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("no workflow found by %s", q)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
