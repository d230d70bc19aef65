package e2e_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/api"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/demo"
	"github.com/enfance/enfance/logging"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
	"github.com/enfance/enfance/testenv"
	"github.com/enfance/enfance/waitlist"
	"github.com/enfance/enfance/worker"
	"github.com/enfance/enfance/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// stack is the whole engine wired as `enfance dev` wires it, in this process: a
// fresh database, the shared Temporal dev server, the simulator, a worker on a
// task queue of its own and the API on a real port.
type stack struct {
	t            *testing.T
	pool         *pgxpool.Pool
	temporal     client.Client
	sim          *sim.Simulator
	api          string // base URL
	worker       sdkworker.Worker
	outbox       string // where the worker's e-mails land
	cfg          config.Config
	dsn          string
	temporalAddr string
}

// newStack builds the stack; options adjust the configuration first (a short
// CART_TTL, say).
func newStack(t *testing.T, options ...func(*config.Config)) *stack {
	t.Helper()
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	simulator := sim.New(sim.Options{Logger: log.Named("sim")})
	simSrv := httptest.NewServer(simulator.Handler())
	t.Cleanup(simSrv.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg, err := config.Load("dev")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.TemporalAddress = "", ""
	cfg.PublicURL = base
	cfg.TemporalTaskQueue = "e2e-" + uuid.NewString()
	cfg.PayFiPEndpoint = simSrv.URL + "/tpa/services/securite"
	cfg.PayFiPPaymentURL = simSrv.URL + "/tpa/paiementws.web"
	for _, o := range options {
		o(&cfg)
	}

	// The shared test PostgreSQL and Temporal, unless an option named others (the
	// fault-injection tests restart their own).
	var pool *pgxpool.Pool
	dsn := cfg.DatabaseURL
	if dsn == "" {
		pool, dsn = testenv.Database(t)
	} else {
		if err := db.Migrate(context.Background(), dsn); err != nil {
			t.Fatal(err)
		}
		if pool, err = db.NewPool(context.Background(), dsn); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
	}
	temporalAddr := cfg.TemporalAddress
	if temporalAddr == "" {
		temporalAddr = testenv.Temporal(t).FrontendHostPort()
	}
	tc, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default", Logger: logging.Temporal(log)})
	if err != nil {
		t.Fatalf("dial temporal: %v", err)
	}
	t.Cleanup(tc.Close)

	outbox := t.TempDir()
	acts := &activities.Activities{
		Pool: pool, Log: log, PublicURL: base, Mail: &mail.Outbox{Dir: outbox, From: cfg.MailFrom},
		PayFiP:             payfip.NewClient(payfip.Config{Endpoint: cfg.PayFiPEndpoint, PaymentURL: cfg.PayFiPPaymentURL}, nil),
		TestPayments:       cfg.Env != "production", // the demo org pays with saisie T
		Waitlists:          &waitlist.Store{Pool: pool, Carts: &cart.Store{Pool: pool, TTL: cfg.CartTTL}},
		Lists:              &workflows.Lists{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue, Pool: pool},
		CartReminderBefore: cfg.CartReminderBefore,
	}
	w := worker.New(tc, cfg.TemporalTaskQueue, acts)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)

	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: api.New(api.Options{Config: cfg, Pool: pool, Temporal: tc, Logger: log}).Handler()}}
	srv.Start()
	t.Cleanup(srv.Close)

	loadDemo(t, pool)
	return &stack{t: t, pool: pool, temporal: tc, sim: simulator, api: base, worker: w, outbox: outbox, cfg: cfg, dsn: dsn, temporalAddr: temporalAddr}
}

// loadDemo loads the demo data and opens its services on the coming weeks too, so
// the test books real future days whatever the date it runs on.
func loadDemo(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	if _, err := demo.Load(ctx, pool); err != nil {
		t.Fatalf("demo data: %v", err)
	}
	q := db.New(pool)
	org, err := q.GetOrgBySlug(ctx, demo.OrgSlug)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := q.ListServices(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	today := booking.Day(time.Now())
	for _, s := range svcs {
		if _, err := q.GenerateServiceDays(ctx, db.GenerateServiceDaysParams{
			ServiceID: s.ID, FirstDay: today, LastDay: today.AddDate(0, 2, 0),
		}); err != nil {
			t.Fatal(err)
		}
	}
}
