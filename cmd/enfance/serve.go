package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/api"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/logging"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
	"github.com/enfance/enfance/waitlist"
	"github.com/enfance/enfance/worker"
	"github.com/enfance/enfance/workflows"
)

func setup(env string) (config.Config, *zap.Logger, error) {
	cfg, err := config.Load(env)
	if err != nil {
		return cfg, nil, err
	}
	log, err := logging.New(cfg.LogLevel, cfg.Env == "dev")
	return cfg, log, err
}

func dialTemporal(cfg config.Config, log *zap.Logger) (client.Client, error) {
	opts := client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    logging.Temporal(log),
	}
	if !cfg.TemporalGzip {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	if cfg.TemporalTLS || cfg.TemporalAPIKey != "" {
		opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	return c, nil
}

func payfipClient(cfg config.Config) *payfip.Client {
	return payfip.NewClient(payfip.Config{
		Endpoint: cfg.PayFiPEndpoint, PaymentURL: cfg.PayFiPPaymentURL,
		Timeout: cfg.PayFiPTimeout, MaxAmountCents: cfg.PayFiPMaxAmountCents,
	}, nil)
}

func newActivities(cfg config.Config, pool *pgxpool.Pool, tc client.Client, log *zap.Logger) (*activities.Activities, error) {
	sender, err := mail.New(cfg.SMTPURL, cfg.MailFrom, cfg.MailOutboxDir)
	if err != nil {
		return nil, err
	}
	return &activities.Activities{
		Pool: pool, PayFiP: payfipClient(cfg), PublicURL: cfg.PublicURL, Log: log, Mail: sender,
		TestPayments:       cfg.Env != "production",
		Waitlists:          &waitlist.Store{Pool: pool, Carts: &cart.Store{Pool: pool, TTL: cfg.CartTTL}},
		Lists:              &workflows.Lists{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue, Pool: pool},
		CartReminderBefore: cfg.CartReminderBefore,
	}, nil
}

// serveHTTP runs h on addr until ctx ends, then drains for up to 10 s.
func serveHTTP(ctx context.Context, name, addr string, h http.Handler, log *zap.Logger) error {
	ln, err := listen(name, addr)
	if err != nil {
		return err
	}
	return serve(ctx, name, ln, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, log)
}

func listen(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	return ln, nil
}

// serve runs srv on ln until ctx ends, then drains for up to 10 s.
func serve(ctx context.Context, name string, ln net.Listener, srv *http.Server, log *zap.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info(name+" listening", zap.String("addr", ln.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s shutdown: %w", name, err)
	}
	return nil
}

// serveAPI runs the API on cfg.HTTPAddr and its metrics and profiles on the
// listener ops (METRICS_ADDR) until ctx ends.
func serveAPI(ctx context.Context, cfg config.Config, srv *api.Server, ops net.Listener, log *zap.Logger) error {
	defer srv.Wait() // e-mails the API is still sending
	ln, err := listen("api", cfg.HTTPAddr)
	if err != nil {
		ops.Close()
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve(gctx, "api", ln, api.NewHTTPServer(srv.Handler(), cfg.HTTP), log) })
	// No write timeout: a CPU profile takes 30 s by default.
	g.Go(func() error {
		return serve(gctx, "metrics", ops, &http.Server{Handler: srv.OpsHandler(), ReadHeaderTimeout: 10 * time.Second}, log)
	})
	return g.Wait()
}

// conn is what a production command connects to, from the environment.
type conn struct {
	cfg      config.Config
	log      *zap.Logger
	pool     *pgxpool.Pool
	temporal client.Client
}

// connect reads the configuration and opens PostgreSQL and Temporal.
func connect(ctx context.Context) (*conn, error) {
	cfg, log, err := setup("production")
	if err != nil {
		return nil, err
	}
	pool, err := db.NewPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	tc, err := dialTemporal(cfg, log)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &conn{cfg: cfg, log: log, pool: pool, temporal: tc}, nil
}

func (c *conn) Close() {
	c.temporal.Close()
	c.pool.Close()
	_ = c.log.Sync()
}

func runAPI(ctx context.Context) error {
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ops, err := listen("metrics", c.cfg.MetricsAddr)
	if err != nil {
		return err
	}
	srv := api.New(api.Options{Config: c.cfg, Pool: c.pool, Temporal: c.temporal, Logger: c.log})
	return serveAPI(ctx, c.cfg, srv, ops, c.log)
}

func runWorker(ctx context.Context) error {
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	acts, err := newActivities(c.cfg, c.pool, c.temporal, c.log)
	if err != nil {
		return err
	}
	w := worker.New(c.temporal, c.cfg.TemporalTaskQueue, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	ensureSchedules(ctx, c.temporal, c.cfg.TemporalTaskQueue, c.log)
	<-ctx.Done()
	w.Stop()
	return nil
}

func runMigrate(ctx context.Context) error {
	cfg, log, err := setup("production")
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	log.Info("migrations applied")
	return nil
}

func runSim(ctx context.Context) error {
	cfg, log, err := setup("dev")
	if err != nil {
		return err
	}
	s := sim.New(sim.Options{Logger: log.Named("payfip-sim")})
	return serveHTTP(ctx, "payfip-sim", cfg.PayFiPSimAddr, s.Handler(), log)
}

// ensureSchedules creates or updates the engine's Temporal Schedules. A worker
// that cannot do it still works: the carts poll PayFiP themselves, and the next
// worker to start tries again.
func ensureSchedules(ctx context.Context, tc client.Client, taskQueue string, log *zap.Logger) {
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := workflows.EnsureReconcileSchedule(sctx, tc, taskQueue); err != nil {
		log.Error("PayFiP reconciliation schedule not created", zap.Error(err))
		return
	}
	log.Info("PayFiP reconciliation scheduled", zap.String("schedule", workflows.ReconcileScheduleID), zap.Duration("every", workflows.ReconcileEvery))
}
