package e2e_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
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

// Lost notifications, end to end. The cart's own poll at 16 minutes and the
// reconciliation Schedule's workflow, with the real activities on PostgreSQL and
// the simulator. PayFiP's real timings (16 min, 20 min) are kept: the cart's
// workflow runs in the SDK's test environment, whose clock skips ahead, and its
// clock is the activities' clock.

// payfipRig is PostgreSQL with the demo data, a simulator that loses every
// notification, and activities on both, without any cart workflow started by
// an API: the test runs them.
type payfipRig struct {
	t      *testing.T
	ctx    context.Context
	pool   *pgxpool.Pool
	q      *db.Queries
	sim    *sim.Simulator
	acts   *activities.Activities
	outbox string
	org    uuid.UUID
}

func newPayFiPRig(t *testing.T) *payfipRig {
	t.Helper()
	pool, _ := testenv.Database(t)
	loadDemo(t, pool)
	s := sim.New(sim.Options{Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Named("sim")})
	s.SetFaults(sim.Faults{LoseNotifications: true})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	r := &payfipRig{t: t, ctx: context.Background(), pool: pool, q: db.New(pool), sim: s, outbox: t.TempDir()}
	org, err := r.q.GetOrgBySlug(r.ctx, demo.OrgSlug)
	if err != nil {
		t.Fatal(err)
	}
	r.org = org.ID
	r.acts = &activities.Activities{
		Pool: pool, Log: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), PublicURL: "http://portal.invalid",
		PayFiP:       payfip.NewClient(payfip.Config{Endpoint: srv.URL + "/tpa/services/securite", PaymentURL: srv.URL + "/tpa/paiementws.web"}, nil),
		Mail:         &mail.Outbox{Dir: r.outbox, From: "Portail famille <no-reply@enfance.test>"},
		TestPayments: true, // the demo org pays with saisie T
	}
	return r
}

// holdCart opens a cart for the family holding n open days of service code,
// each taking its place, as the API's cart store does.
func (r *payfipRig) holdCart(family, code string, n int, ttl time.Duration) db.Cart {
	r.t.Helper()
	var famID, child uuid.UUID
	if err := r.pool.QueryRow(r.ctx, `SELECT f.id, m.id FROM families f JOIN members m ON m.family_id = f.id AND m.kind = 'child'
		WHERE f.name = $1 ORDER BY m.birth_date LIMIT 1`, family).Scan(&famID, &child); err != nil {
		r.t.Fatal(err)
	}
	c, err := r.q.CreateCart(r.ctx, db.CreateCartParams{ID: uuid.New(), OrgID: r.org, FamilyID: famID, ExpiresAt: time.Now().Add(ttl)})
	if err != nil {
		r.t.Fatal(err)
	}
	tag, err := r.pool.Exec(r.ctx, `
		WITH days AS (
			UPDATE service_days SET taken = taken + 1 WHERE id IN (
				SELECT d.id FROM service_days d JOIN services s ON s.id = d.service_id
				WHERE s.org_id = $1 AND s.code = $2 AND d.open ORDER BY d.day LIMIT $3)
			RETURNING id, service_id, day)
		INSERT INTO cart_lines (id, org_id, cart_id, family_id, child_id, service_id, service_day_id, day, price_cents)
		SELECT gen_random_uuid(), $1, $4, f.id, $5, days.service_id, days.id, days.day, p.price_cents
		FROM days JOIN families f ON f.id = $6
		JOIN service_prices p ON p.service_id = days.service_id AND f.qf >= p.qf_min AND (p.qf_max IS NULL OR f.qf <= p.qf_max)`,
		r.org, code, n, c.ID, child, famID)
	if err != nil || tag.RowsAffected() != int64(n) {
		r.t.Fatalf("cart lines: %v (%d)", err, tag.RowsAffected())
	}
	return c
}

// cartInTestEnv runs cart c's workflow in the SDK's test environment on the real
// activities, checks it out at once, and returns the environment (not yet run)
// and where the checkout's answer lands.
func (r *payfipRig) cartInTestEnv(c db.Cart) (*testsuite.TestWorkflowEnvironment, *workflows.CheckoutResult) {
	r.t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(r.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	worker.Register(env, r.acts)
	res := &workflows.CheckoutResult{}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.CheckoutUpdate, "checkout", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.t.Errorf("checkout rejected: %v", err) },
			OnComplete: func(v any, err error) {
				if out, ok := v.(workflows.CheckoutResult); ok && err == nil {
					*res = out
				} else {
					r.t.Errorf("checkout: %v %v", v, err)
				}
			},
		}, workflows.CheckoutRequest{Lines: 2, HasEmail: true})
	}, time.Second)
	return env, res
}

func (r *payfipRig) run(env *testsuite.TestWorkflowEnvironment, c db.Cart) string {
	r.t.Helper()
	env.ExecuteWorkflow(workflows.CartWorkflow, workflows.CartInput{CartID: c.ID, OrgID: c.OrgID, FamilyID: c.FamilyID, ExpiresAt: c.ExpiresAt})
	if !env.IsWorkflowCompleted() {
		r.t.Fatal("the cart's workflow did not complete")
	}
	var final string
	if err := env.GetWorkflowResult(&final); err != nil {
		r.t.Fatalf("cart workflow: %v", err)
	}
	return final
}

func (r *payfipRig) attempt(id string) db.PaymentAttempt {
	r.t.Helper()
	att, err := r.q.GetPaymentAttempt(r.ctx, uuid.MustParse(id))
	if err != nil {
		r.t.Fatal(err)
	}
	return att
}

func (r *payfipRig) count(query string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.pool.QueryRow(r.ctx, query, args...).Scan(&n); err != nil {
		r.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// PayFiP's notification is lost; the payer paid. Nobody tells the workflow, which
// asks PayFiP itself 16 minutes after creating the payment and confirms the cart.
func TestLostNotificationIsSettledByTheCartsOwnPoll(t *testing.T) {
	r := newPayFiPRig(t)
	c := r.holdCart("Martin", "cantine", 2, 48*time.Hour)
	env, co := r.cartInTestEnv(c)
	start := env.Now()
	var paidAt time.Duration
	env.RegisterDelayedCallback(func() {
		// The payer presses "Payer par carte" two minutes after the checkout.
		if co.Status != "payment_required" {
			t.Errorf("checkout %+v", co)
			return
		}
		if err := r.sim.Pay(idOpOf(co.PaymentURL), "P"); err != nil {
			t.Error(err)
		}
	}, 3*time.Minute)
	var checkedAt []time.Duration
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == "CheckPayment" {
			checkedAt = append(checkedAt, env.Now().Sub(start))
		}
		if info.ActivityType.Name == "ConfirmCart" {
			paidAt = env.Now().Sub(start)
		}
	})
	if got := r.run(env, c); got != workflows.StatusPaid {
		t.Fatalf("cart ended %q", got)
	}
	// One check, at 16 minutes after the payment was created (a second after the start).
	if len(checkedAt) != 1 || checkedAt[0] < workflows.FirstPoll || checkedAt[0] > workflows.FirstPoll+2*time.Second || paidAt < checkedAt[0] {
		t.Fatalf("PayFiP read at %v, paid at %v: want one read at 16 min", checkedAt, paidAt)
	}
	att := r.attempt(co.AttemptID)
	if att.Status != "paid" || att.NotifiedAt != nil || att.Numauto == "" {
		t.Fatalf("attempt %s, notified %v", att.Status, att.NotifiedAt)
	}
	if p, _ := r.sim.Payment(idOpOf(co.PaymentURL)); p.NotifyAttempts != 0 {
		t.Fatalf("the simulator notified %d times", p.NotifyAttempts)
	}
	if n := r.count(`SELECT count(*) FROM reservations WHERE family_id = $1 AND status = 'confirmed'`, c.FamilyID); n != 2 {
		t.Fatalf("%d reservations", n)
	}
	if n := r.count(`SELECT count(*) FROM ledger_entries WHERE kind = 'payment' AND outstanding_cents = -300`); n != 1 {
		t.Fatalf("%d payments of 3,00 €", n)
	}
	if mails, _ := filepath.Glob(filepath.Join(r.outbox, "receipt*.eml")); len(mails) != 1 {
		t.Fatalf("%d receipts", len(mails))
	}
}

// The payer stays on PayFiP's page past its life: at 20 minutes the workflow
// reads the attempt as expired, gives the cart back, and — its 10-minute TTL
// over — expires it and frees its places. Then PayFiP takes the money after all
// (its notification lost). The Reconcile workflow, run as the Schedule runs it on
// the Temporal server, finds the attempt, reads it paid, records the payment and
// credits it to the family's cagnotte, and tells the family.
func TestPaymentAfterTheCartExpiredIsCreditedByReconcile(t *testing.T) {
	r := newPayFiPRig(t)
	c := r.holdCart("Martin", "cantine", 2, 10*time.Minute)
	env, co := r.cartInTestEnv(c)
	r.acts.Now = env.Now // PayFiP's 20 minutes are read on the workflow's clock
	if got := r.run(env, c); got != workflows.StatusExpired {
		t.Fatalf("cart ended %q", got)
	}
	att := r.attempt(co.AttemptID)
	if att.Status != "expired" || att.ReconciledAt != nil {
		t.Fatalf("attempt %s", att.Status)
	}
	if n := r.count(`SELECT COALESCE(sum(taken), 0)::int FROM service_days WHERE id IN (SELECT service_day_id FROM cart_lines WHERE cart_id = $1)`, c.ID); n != 0 {
		t.Fatalf("%d places still taken", n)
	}
	if err := r.sim.Pay(idOpOf(co.PaymentURL), "P"); err != nil {
		t.Fatal(err)
	}

	// The Reconcile workflow on the Temporal server, with a worker whose clock is
	// 20 minutes later (the attempt is past the 16 minutes it waits for).
	tc := r.temporalWorker(20 * time.Minute)
	res := r.reconcile(tc)
	if res.Checked != 1 || res.Settled != 1 || res.Credited != 1 || res.Attention != 0 ||
		res.Details != "checked 1 attempts, settled 1 (1 late payments credited)" {
		t.Fatalf("reconcile: %+v", res)
	}
	att = r.attempt(co.AttemptID)
	if att.Status != "paid" || att.ReconciledAt == nil || att.Numauto == "" {
		t.Fatalf("attempt after reconciliation: %s", att.Status)
	}
	bal, err := r.q.FamilyBalances(r.ctx, c.FamilyID)
	if err != nil || bal.OutstandingCents != 0 || bal.CreditCents != 300 {
		t.Fatalf("balances %+v %v: the 3,00 € paid are on the cagnotte", bal, err)
	}
	if n := r.count(`SELECT count(*) FROM ledger_entries WHERE payment_attempt_id = $1 AND
		((kind = 'payment' AND outstanding_cents = -300 AND credit_cents = 0 AND idempotency_key = 'payment:' || $1::text) OR
		 (kind = 'late_payment_credit' AND outstanding_cents = 300 AND credit_cents = 300 AND idempotency_key = 'late_payment:' || $1::text))`, att.ID); n != 2 {
		t.Fatalf("%d of the 2 ledger entries", n)
	}
	if n := r.count(`SELECT count(*) FROM reservations WHERE family_id = $1`, c.FamilyID); n != 0 {
		t.Fatalf("%d reservations for an expired cart", n)
	}
	mails, _ := filepath.Glob(filepath.Join(r.outbox, "late_payment*.eml"))
	if len(mails) != 1 {
		t.Fatalf("%d late payment notices", len(mails))
	}
	if raw, _ := os.ReadFile(mails[0]); !strings.Contains(string(raw), "cagnotte") || !strings.Contains(string(raw), "martin@demo.enfance.test") {
		t.Fatalf("notice:\n%s", raw)
	}
	if n, err := r.q.CountLedgerViolations(r.ctx, r.org); err != nil || n != 0 {
		t.Fatalf("ledger invariants: %d (%v)", n, err)
	}

	// The next run finds nothing left to do.
	if res := r.reconcile(tc); res.Checked != 0 {
		t.Fatalf("second run: %+v", res)
	}
}

// temporalWorker starts a worker on the shared Temporal dev server with the rig's
// activities, its clock shifted by ahead, on a task queue of its own.
func (r *payfipRig) temporalWorker(ahead time.Duration) *temporalQueue {
	r.t.Helper()
	dev := testenv.Temporal(r.t)
	tc, err := client.Dial(client.Options{HostPort: dev.FrontendHostPort(), Namespace: "default", Logger: logging.Temporal(zaptest.NewLogger(r.t, zaptest.Level(zap.WarnLevel)))})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(tc.Close)
	acts := *r.acts
	acts.Now = func() time.Time { return time.Now().Add(ahead) }
	q := "e2e-reconcile-" + uuid.NewString()
	w := worker.New(tc, q, &acts)
	if err := w.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(w.Stop)
	return &temporalQueue{c: tc, queue: q}
}

type temporalQueue struct {
	c     client.Client
	queue string
}

func (r *payfipRig) reconcile(tq *temporalQueue) workflows.ReconcileResult {
	r.t.Helper()
	return runReconcile(r.t, tq.c, tq.queue, workflows.ReconcileInput{})
}

func runReconcile(t *testing.T, c client.Client, queue string, in workflows.ReconcileInput) workflows.ReconcileResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "payfip-reconcile-" + uuid.NewString(), TaskQueue: queue},
		workflows.ReconcileWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.ReconcileResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return res
}

// On the whole stack: one cart still waits for its PayFiP payment (the payer paid,
// the notification was lost) and one cart's workflow was terminated by an
// operator while its payment was pending. Reconcile wakes the first — its own
// workflow reads the payment and confirms it — and, finding the second's
// workflow gone, confirms that cart itself (its places were still held) and
// sends the receipt.
func TestReconcileWakesWaitingCartsAndFinishesOrphanedOnes(t *testing.T) {
	s := newStack(t)
	s.sim.SetFaults(sim.Faults{LoseNotifications: true})
	martin := s.login("martin@demo.enfance.test", "demo-martin-2026")
	book(martin, "cantine", 2)
	var waiting checkoutAnswer
	martin.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &waiting)
	bernard := s.login("bernard@demo.enfance.test", "demo-bernard-2026")
	book(bernard, "cantine", 2) // 7,60 € − 5,00 € of credit
	var orphan checkoutAnswer
	bernard.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &orphan)
	for _, co := range []checkoutAnswer{waiting, orphan} {
		if err := s.sim.Pay(idOpOf(co.PaymentURL), "P"); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := s.temporal.TerminateWorkflow(ctx, workflows.CartWorkflowID(uuid.MustParse(orphan.CartID)), "", "operator test"); err != nil {
		t.Fatal(err)
	}
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, workflows.CartWorkflowID(uuid.MustParse(waiting.CartID)), "")
	if err != nil {
		t.Fatal(err)
	}
	// Both attempts are a minute old; the run is told to look at them now rather
	// than after 16 minutes.
	res := runReconcile(t, s.temporal, desc.GetExecutionConfig().GetTaskQueue().GetName(), workflows.ReconcileInput{StaleAfter: time.Nanosecond})
	if res.Checked != 2 || res.Woken != 1 || res.Confirmed != 1 || res.Settled != 1 || res.Attention != 0 {
		t.Fatalf("reconcile: %+v", res)
	}
	if got := s.cartEnds(waiting.CartID); got != "paid" {
		t.Fatalf("waiting cart ended %q", got)
	}
	if m := s.moneyState(waiting.PaymentID); m.CartStatus != "paid" || m.Payments != -300 || m.Reservations != 2 {
		t.Fatalf("waiting cart: %+v", m)
	}
	if m := s.moneyState(orphan.PaymentID); m.AttemptStatus != "paid" || m.CartStatus != "paid" || m.Payments != -260 || m.Reservations != 2 {
		t.Fatalf("orphaned cart: %+v", m)
	}
	var me balancesView
	bernard.do(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me != (balancesView{}) {
		t.Fatalf("Bernard's balances %+v", me)
	}
	eventually(t, "both receipts", func() bool { return s.receipts() == 2 })
	s.noLedgerViolation()
	if res := runReconcile(t, s.temporal, desc.GetExecutionConfig().GetTaskQueue().GetName(), workflows.ReconcileInput{StaleAfter: time.Nanosecond}); res.Checked != 0 {
		t.Fatalf("second run: %+v", res)
	}
}
