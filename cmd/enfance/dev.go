package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/enfance/enfance/api"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/demo"
	"github.com/enfance/enfance/devenv"
	"github.com/enfance/enfance/payfip/sim"
	"github.com/enfance/enfance/worker"
	"github.com/enfance/enfance/workflows"
)

// runDev starts every part on this machine with embedded defaults, and stops
// everything it started when ctx ends (Ctrl-C).
func runDev(ctx context.Context) error {
	cfg, log, err := setup("dev")
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// The outbox page must list something (even nothing) before the first e-mail.
	if err := os.MkdirAll(cfg.MailOutboxDir, 0o755); err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}

	var stops []func() error
	var stopOnce sync.Once
	stopAll := func() {
		stopOnce.Do(func() {
			for i := len(stops) - 1; i >= 0; i-- {
				if err := stops[i](); err != nil {
					log.Warn("stop", zap.Error(err))
				}
			}
		})
	}
	defer stopAll()

	if cfg.DatabaseURL == "" {
		log.Info("starting PostgreSQL", zap.String("dir", filepath.Join(dataDir, "pg")))
		pg, err := devenv.StartPostgres(ctx, devenv.PostgresOptions{
			Dir: filepath.Join(dataDir, "pg"), Port: cfg.DevPGPort, Database: "enfance", Logger: log.Named("postgres"),
		})
		if err != nil {
			return err
		}
		stops = append(stops, pg.Stop)
		cfg.DatabaseURL = pg.URL("enfance")
	}
	temporalUI := ""
	if cfg.TemporalAddress == "" {
		log.Info("starting the Temporal dev server")
		root, err := devenv.RepoRoot()
		if err != nil {
			return err
		}
		t, err := devenv.StartTemporal(ctx, devenv.TemporalOptions{
			Binary: filepath.Join(root, "bin", "temporal"), DBFile: filepath.Join(dataDir, "temporal.db"),
			Port: cfg.DevTemporalPort, UIPort: cfg.TemporalUIPort, Namespace: cfg.TemporalNamespace,
			SearchAttributes: workflows.SearchAttributes, LogFile: filepath.Join(dataDir, "temporal.log"),
			Logger: log.Named("temporal"),
		})
		if err != nil {
			return err
		}
		stops = append(stops, t.Stop)
		cfg.TemporalAddress = t.Address()
		temporalUI = fmt.Sprintf("http://localhost:%d", cfg.TemporalUIPort)
	}

	pool, err := migrateWithDemo(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer pool.Close()

	tc, err := dialTemporal(cfg, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	acts, err := newActivities(cfg, pool, tc, log)
	if err != nil {
		return err
	}
	w := worker.New(tc, cfg.TemporalTaskQueue, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	ensureSchedules(ctx, tc, cfg.TemporalTaskQueue, log)

	ops, err := listen("metrics", cfg.MetricsAddr)
	if err != nil {
		return err
	}
	opsURL := "http://" + ops.Addr().String()
	g, gctx := errgroup.WithContext(ctx)
	simulator := sim.New(sim.Options{Logger: log.Named("payfip-sim")})
	g.Go(func() error { return serveHTTP(gctx, "payfip-sim", cfg.PayFiPSimAddr, simulator.Handler(), log) })
	srv := api.New(api.Options{Config: cfg, Pool: pool, Temporal: tc, Logger: log})
	g.Go(func() error { return serveAPI(gctx, cfg, srv, ops, log) })

	time.Sleep(200 * time.Millisecond) // let the listeners report a bind error first
	rows := []bannerRow{
		{"Portail famille", cfg.PublicURL + "/  (back office: log in as a staff account)"},
		{"API", fmt.Sprintf("%s/api/v1  (health: %s/healthz)", cfg.PublicURL, cfg.PublicURL)},
		{"Metrics, profiles", fmt.Sprintf("%s/metrics  (pprof: %s/debug/pprof/; this machine only)", opsURL, opsURL)},
	}
	if temporalUI != "" {
		rows = append(rows, bannerRow{"Temporal UI", temporalUI})
	}
	rows = append(rows,
		bannerRow{"Temporal frontend", cfg.TemporalAddress},
		bannerRow{"PayFiP simulator", fmt.Sprintf("http://%s/tpa/services/securite  (payment page: http://%s/tpa/paiementws.web)", cfg.PayFiPSimAddr, cfg.PayFiPSimAddr)},
		bannerRow{"Mail outbox", fmt.Sprintf("%s/dev/outbox/  (files in %s)", cfg.PublicURL, cfg.MailOutboxDir)},
		bannerRow{"PostgreSQL", redact(cfg.DatabaseURL)},
	)
	printBanner("enfance dev is running. Ctrl-C stops everything.", rows, cfg.PublicURL)

	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	fmt.Println("\nenfance dev: stopping…")
	return err
}

type bannerRow struct{ name, value string }

// printBanner prints what runs where, the demo logins and a first request.
func printBanner(title string, rows []bannerRow, apiURL string) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\n"+title)
	fmt.Fprintln(tw, "")
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", r.name, r.value)
	}
	fmt.Fprintln(tw, "")
	fmt.Fprintln(tw, "  Demo logins (dev only):")
	for _, l := range demo.Logins {
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", l.Login, l.Password, l.Who)
	}
	fmt.Fprintln(tw, "")
	fmt.Fprintf(tw, "  Try: curl -s %s/api/v1/auth/login -H 'Content-Type: application/json' -d '{\"login\":\"martin@demo.enfance.test\",\"password\":\"demo-martin-2026\"}'\n", apiURL)
	_ = tw.Flush()
	fmt.Println(b.String())
}

// migrateWithDemo applies the migrations and loads the demo data (once: a
// database holding it already is left alone), and returns a pool on it.
func migrateWithDemo(ctx context.Context, dsn string, log *zap.Logger) (*pgxpool.Pool, error) {
	if err := db.Migrate(ctx, dsn); err != nil {
		return nil, err
	}
	pool, err := db.NewPool(ctx, dsn)
	if err != nil {
		return nil, err
	}
	loaded, err := demo.Load(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if loaded {
		log.Info("demo data loaded")
		full, err := demo.FullDay(ctx, pool, time.Now())
		if err != nil {
			pool.Close()
			return nil, err
		}
		if !full.IsZero() {
			log.Info("demo: the leisure centre is full on "+full.Format(time.DateOnly)+": its waiting list is there to try",
				zap.String("day", full.Format(time.DateOnly)))
		}
	}
	return pool, nil
}

// redact hides a password in a database URL before it is printed.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 {
		return dsn
	}
	cred := dsn[scheme+3 : at]
	if i := strings.Index(cred, ":"); i >= 0 {
		return dsn[:scheme+3] + cred[:i] + ":***" + dsn[at:]
	}
	return dsn
}
