package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/enfance/enfance/devenv"
	"github.com/enfance/enfance/logging"
	"github.com/enfance/enfance/payfip/sim"
	"github.com/enfance/enfance/workflows"
)

// runCluster runs the production shape on this machine: PostgreSQL holding the
// engine's database and Temporal's two, the real Temporal server on it, the
// Temporal Web UI server, several `enfance worker` and `enfance api` processes
// behind a load balancer, and the PayFiP simulator, with the demo data. The
// api and worker processes are restarted when they die, as a process supervisor
// would in production. Ctrl-C stops everything.
func runCluster(ctx context.Context) error {
	cfg, log, err := setup("dev")
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck
	root, err := devenv.RepoRoot()
	if err != nil {
		return err
	}
	if err := devenv.CheckClusterTools(root); err != nil {
		return err
	}
	dataDir, err := filepath.Abs(filepath.Join(cfg.DataDir, "cluster"))
	if err != nil {
		return err
	}
	logDir, runDir := filepath.Join(dataDir, "logs"), filepath.Join(dataDir, "run")
	outbox := filepath.Join(dataDir, "outbox")
	for _, d := range []string{logDir, runDir, outbox} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}

	var stops []func() error
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			if err := stops[i](); err != nil {
				log.Warn("stop", zap.Error(err))
			}
		}
	}()

	log.Info("starting PostgreSQL", zap.String("dir", filepath.Join(dataDir, "pg")))
	pg, err := devenv.StartPostgres(ctx, devenv.PostgresOptions{
		Dir: filepath.Join(dataDir, "pg"), Port: cfg.DevPGPort, Database: "enfance", Logger: log.Named("postgres"),
	})
	if err != nil {
		return err
	}
	stops = append(stops, pg.Stop)
	cfg.DatabaseURL = pg.URL("enfance")

	log.Info("starting the Temporal server (PostgreSQL persistence and visibility)")
	temporal, err := devenv.StartTemporalServer(ctx, devenv.TemporalServerOptions{
		Dir: filepath.Join(dataDir, "temporal"), Postgres: pg, Port: cfg.DevTemporalPort,
		Namespace: cfg.TemporalNamespace, SearchAttributes: workflows.SearchAttributes,
		LogFile: filepath.Join(logDir, "temporal.log"), Logger: log.Named("temporal"),
	})
	if err != nil {
		return err
	}
	stops = append(stops, temporal.Stop)
	cfg.TemporalAddress = temporal.Address()
	ui, err := devenv.StartTemporalUI(ctx, devenv.TemporalUIOptions{
		Dir: filepath.Join(dataDir, "temporal-ui"), Frontend: temporal.Address(), Port: cfg.TemporalUIPort,
		Namespace: cfg.TemporalNamespace, LogFile: filepath.Join(logDir, "temporal-ui.log"), Logger: log.Named("temporal-ui"),
	})
	if err != nil {
		return err
	}
	stops = append(stops, ui.Stop)

	pool, err := migrateWithDemo(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	pool.Close() // the api and worker processes open their own

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	env := append(os.Environ(),
		"ENFANCE_ENV="+cfg.Env, "DATA_DIR="+dataDir, "MAIL_OUTBOX_DIR="+outbox,
		"DATABASE_URL="+cfg.DatabaseURL, "TEMPORAL_ADDRESS="+cfg.TemporalAddress, "PUBLIC_URL="+cfg.ClusterPublicURL,
		"PAYFIP_ENDPOINT="+cfg.PayFiPEndpoint, "PAYFIP_PAYMENT_URL="+cfg.PayFiPPaymentURL,
		// The balancer is their proxy: the client addresses that login throttling
		// and callback rates count come from its X-Forwarded-For.
		"TRUSTED_PROXIES=127.0.0.1",
	)
	var children []*child
	for i := range cfg.ClusterWorkers {
		children = append(children, newChild(fmt.Sprintf("worker-%d", i+1), exe, "worker", root, env, logDir, runDir, log))
	}
	var apis, metrics []string
	for i, addr := range cfg.ClusterAPIAddrs {
		// Each API process serves its metrics and profiles on a port of its own,
		// kept across its restarts.
		port, err := devenv.FreePort()
		if err != nil {
			return err
		}
		ops := fmt.Sprintf("127.0.0.1:%d", port)
		children = append(children, newChild(fmt.Sprintf("api-%d", i+1), exe, "api", root,
			append(slices.Clip(env), "HTTP_ADDR="+addr, "METRICS_ADDR="+ops), logDir, runDir, log))
		apis = append(apis, "127.0.0.1"+portOf(addr))
		metrics = append(metrics, "http://"+ops)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(runCtx)
	for _, c := range children {
		g.Go(func() error { return c.run(gctx) })
	}
	simulator := sim.New(sim.Options{Logger: log.Named("payfip-sim")})
	g.Go(func() error { return serveHTTP(gctx, "payfip-sim", cfg.PayFiPSimAddr, simulator.Handler(), log) })
	g.Go(func() error {
		return serveHTTP(gctx, "balancer", cfg.ClusterLBAddr, devenv.Balancer(apis, log.Named("balancer")), log)
	})
	ready := make(chan error, 1)
	go func() {
		ready <- waitClusterReady(gctx, cfg.TemporalAddress, cfg.TemporalNamespace, cfg.TemporalTaskQueue, apis, cfg.ClusterWorkers, log)
	}()
	select {
	case err := <-ready:
		if err != nil {
			cancel()
			_ = g.Wait() // the processes started so far stop before PostgreSQL and Temporal
			return err
		}
		rows := []bannerRow{
			{"Portail famille", cfg.ClusterPublicURL + "/  (the load balancer over the API processes: PUBLIC_URL)"},
		}
		for i, a := range apis {
			u := "http://localhost" + portOf(a)
			rows = append(rows, bannerRow{fmt.Sprintf("API %d", i+1), fmt.Sprintf("%s/api/v1  (health: %s/readyz, metrics: %s/metrics)", u, u, metrics[i])})
		}
		rows = append(rows,
			bannerRow{"Workers", fmt.Sprintf("%d × enfance worker on task queue %s", cfg.ClusterWorkers, cfg.TemporalTaskQueue)},
			bannerRow{"Temporal UI", fmt.Sprintf("http://localhost:%d  (temporalio/ui-server)", cfg.TemporalUIPort)},
			bannerRow{"Temporal frontend", fmt.Sprintf("%s  (Temporal server on PostgreSQL; metrics: %s)", cfg.TemporalAddress, devenv.TemporalMetricsURL(cfg.DevTemporalPort))},
			bannerRow{"PayFiP simulator", fmt.Sprintf("http://%s/tpa/services/securite  (payment page: http://%s/tpa/paiementws.web)", cfg.PayFiPSimAddr, cfg.PayFiPSimAddr)},
			bannerRow{"Mail outbox", fmt.Sprintf("%s/dev/outbox/  (files in %s)", cfg.ClusterPublicURL, outbox)},
			bannerRow{"PostgreSQL", fmt.Sprintf("%s  (Temporal: databases %s and %s)", redact(cfg.DatabaseURL), devenv.TemporalDB, devenv.TemporalVisibilityDB)},
			bannerRow{"Logs", logDir + "  (process IDs in " + runDir + ")"},
		)
		printBanner("enfance cluster is running. Ctrl-C stops everything.", rows, "http://localhost"+portOf(apis[0]))
	case <-gctx.Done():
	}

	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	fmt.Println("\nenfance cluster: stopping…")
	return err
}

// waitClusterReady waits (up to 3 minutes) until every API answers /readyz and
// the task queue has pollers from every worker.
func waitClusterReady(ctx context.Context, temporalAddr, namespace, taskQueue string, apis []string, workers int, log *zap.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	tc, err := client.DialContext(ctx, client.Options{HostPort: temporalAddr, Namespace: namespace, Logger: logging.Temporal(log.WithOptions(zap.IncreaseLevel(zap.WarnLevel)))})
	if err != nil {
		return fmt.Errorf("cluster: connect to Temporal: %w", err)
	}
	defer tc.Close()
	hc := &http.Client{Timeout: 5 * time.Second}
	since := time.Now() // Temporal lists a stopped worker's poller for minutes
	for {
		waiting := ""
		for _, a := range apis {
			resp, err := hc.Get("http://" + a + "/readyz")
			if err == nil {
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				waiting = "API " + a
				break
			}
		}
		if waiting == "" {
			tq, err := tc.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
			pollers := map[string]bool{}
			if err == nil {
				for _, p := range tq.GetPollers() {
					if p.GetLastAccessTime().AsTime().After(since) {
						pollers[p.GetIdentity()] = true
					}
				}
			}
			if len(pollers) >= workers {
				return nil
			}
			waiting = fmt.Sprintf("workers (%d of %d polling)", len(pollers), workers)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: still waiting for %s: %w (see the logs)", waiting, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// child is one `enfance api` or `enfance worker` process of the cluster. When it
// dies it is started again, as systemd (Restart=always) or Kubernetes would.
type child struct {
	name, exe, cmd, dir string
	env                 []string
	logFile, pidFile    string
	log                 *zap.Logger
}

func newChild(name, exe, cmd, dir string, env []string, logDir, runDir string, log *zap.Logger) *child {
	return &child{
		name: name, exe: exe, cmd: cmd, dir: dir, env: env,
		logFile: filepath.Join(logDir, name+".log"), pidFile: filepath.Join(runDir, name+".pid"),
		log: log.With(zap.String("process", name)),
	}
}

// run keeps the process running until ctx ends, then stops it (SIGTERM: the API
// drains its requests, the worker finishes its tasks).
func (c *child) run(ctx context.Context) error {
	defer os.Remove(c.pidFile)
	backoff := time.Second
	for {
		started := time.Now()
		p, err := devenv.StartProcess(devenv.ProcessOptions{
			Name: c.name, Binary: c.exe, Args: []string{c.cmd}, Env: c.env, Dir: c.dir,
			LogFile: c.logFile, StopTimeout: 20 * time.Second, Logger: c.log,
		})
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.pidFile, []byte(strconv.Itoa(p.PID())+"\n"), 0o644); err != nil {
			_ = p.Stop()
			return err
		}
		c.log.Info("started", zap.Int("pid", p.PID()))
		select {
		case <-ctx.Done():
			return p.Stop()
		case <-p.Exited():
		}
		_ = p.Stop() // whatever it left in its group
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		c.log.Warn("died; restarting", zap.Int("pid", p.PID()), zap.Error(p.Err()), zap.Duration("in", backoff),
			zap.String("log", c.logFile))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// portOf returns ":8080" for ":8080", "127.0.0.1:8080" or "localhost:8080".
func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i:]
	}
	return ""
}
