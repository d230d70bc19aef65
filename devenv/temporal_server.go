package devenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.uber.org/zap"
)

// The databases of the Temporal server, beside the engine's on the same cluster.
const (
	TemporalDB           = "temporal"
	TemporalVisibilityDB = "temporal_visibility"
)

// ClusterTools are the programs `enfance cluster` runs besides PostgreSQL and
// the engine; make cluster-tools builds them into <repo>/bin.
var ClusterTools = []string{"temporal-server", "temporal-sql-tool", "temporal-ui-server"}

// CheckClusterTools names the first of ClusterTools missing from root/bin.
func CheckClusterTools(root string) error {
	for _, name := range ClusterTools {
		if _, err := os.Stat(filepath.Join(root, "bin", name)); err != nil {
			return fmt.Errorf("bin/%s is missing: run make cluster-tools", name)
		}
	}
	return nil
}

// defaultBin sets *bin to <repo>/bin/name if empty, and checks it exists.
func defaultBin(bin *string, name string) error {
	if *bin == "" {
		var err error
		if *bin, err = repoBin(name); err != nil {
			return err
		}
	}
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("%s not found: run make cluster-tools", *bin)
	}
	return nil
}

// TemporalServerOptions configures StartTemporalServer.
type TemporalServerOptions struct {
	// Binary is the Temporal server; "" means <repo>/bin/temporal-server.
	Binary string
	// SQLTool is its schema tool; "" means <repo>/bin/temporal-sql-tool.
	SQLTool string
	// Dir receives the server's configuration files (rewritten at every start).
	Dir string
	// Postgres holds the persistence (TemporalDB) and the visibility
	// (TemporalVisibilityDB) databases, created and upgraded if needed.
	Postgres *Postgres
	// Port of the frontend on 127.0.0.1. The other services take the ports
	// around it, as in Temporal's own configurations for 7233: history +1,
	// matching +2, worker +6, the frontend's HTTP API +10, the membership ports
	// −300, −299, −298 and −294; Prometheus metrics are on +3. Temporal stores
	// these ports as PostgreSQL smallints: all must be below 32768.
	Port int
	// Namespace is registered if missing, with Retention (0 means 7 days).
	Namespace string
	Retention time.Duration
	// SearchAttributes as in TemporalOptions.
	SearchAttributes map[string]string
	// LogFile receives the server's output (appended).
	LogFile string
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
}

// StartTemporalServer runs the real Temporal server (all four services in one
// process) with PostgreSQL persistence and visibility: it creates the two
// databases if missing, brings their schemas to the server's version with the
// schema tool (idempotent: only the missing versions are applied), writes the
// configuration, starts the server in its own process group, registers the
// namespace and the search attributes, and waits (up to 3 minutes) until the
// frontend serves queries on them.
func StartTemporalServer(ctx context.Context, opts TemporalServerOptions) (*Temporal, error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Postgres == nil || opts.Dir == "" {
		return nil, errors.New("start temporal server: Postgres and Dir are required")
	}
	if opts.Port <= 300 || opts.Port+10 > maxServerPort {
		return nil, fmt.Errorf("start temporal server: frontend port %d: want 301 to %d (the ports around it must fit a PostgreSQL smallint)", opts.Port, maxServerPort-10)
	}
	for bin, name := range map[*string]string{&opts.Binary: "temporal-server", &opts.SQLTool: "temporal-sql-tool"} {
		if err := defaultBin(bin, name); err != nil {
			return nil, fmt.Errorf("start temporal server: %w", err)
		}
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Retention == 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	attrs, err := parseSearchAttributes(opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	schemaDir, err := TemporalSchemaDir(ctx, opts.Binary)
	if err != nil {
		return nil, err
	}
	for db, kind := range map[string]string{TemporalDB: "temporal", TemporalVisibilityDB: "visibility"} {
		if err := opts.Postgres.EnsureDatabase(ctx, db); err != nil {
			return nil, fmt.Errorf("start temporal server: %w", err)
		}
		if err := UpgradeTemporalSchema(ctx, opts.SQLTool, opts.Postgres, db, filepath.Join(schemaDir, "postgresql", "v12", kind, "versioned"), log); err != nil {
			return nil, err
		}
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	if err := writeServerConfig(dir, opts); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", opts.Port)
	log = log.With(zap.String("address", addr))
	p, err := StartProcess(ProcessOptions{
		Name: "temporal server", Binary: opts.Binary, LogFile: opts.LogFile, Logger: log,
		Args: []string{"--root", dir, "--config", "config", "--env", "enfance", "--allow-no-auth", "start"},
		// It hands its shards over on SIGTERM; give it the time to.
		StopTimeout: 20 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	t := &Temporal{addr: addr, Process: p}
	if err := t.waitReady(ctx, readiness{
		namespace: opts.Namespace, attrs: attrs, register: opts.Retention, timeout: 3 * time.Minute,
		hint: fmt.Sprintf("; is one of its ports (%d and around) in use? configuration in %s", opts.Port, dir),
	}, log); err != nil {
		_ = t.Stop()
		return nil, err
	}
	log.Info("temporal server ready", zap.Int("pid", t.PID()), zap.String("namespace", opts.Namespace), zap.Duration("took", time.Since(start)))
	return t, nil
}

// maxServerPort: Temporal stores its services' ports as PostgreSQL smallints.
const maxServerPort = 32767

// serverPortOffsets are the ports a server with frontend port P takes, as P+offset.
var serverPortOffsets = []int{0, 1, 2, 3, 6, 10, -300, -299, -298, -294}

// FreeTemporalServerPort returns a frontend port whose whole layout (see
// TemporalServerOptions.Port) was free a moment ago, for tests.
func FreeTemporalServerPort() (int, error) {
	for range 100 {
		p := 20000 + rand.IntN(maxServerPort-10-20000)
		free := true
		for _, off := range serverPortOffsets {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+off))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return p, nil
		}
	}
	return 0, errors.New("no free port layout for a Temporal server on 127.0.0.1")
}

// TemporalMetricsURL is where a server started with frontend port serves its
// Prometheus metrics.
func TemporalMetricsURL(port int) string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", port+3)
}

// TemporalSchemaDir returns the schema directory of the Temporal server binary's
// version: the "schema" folder of its Go module, go.temporal.io/server, which
// `go mod download` finds in (or brings into) the module cache. The binary was
// built from that module by `go install`, so the schema and the server always
// match.
func TemporalSchemaDir(ctx context.Context, binary string) (string, error) {
	out, err := exec.CommandContext(ctx, binary, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", binary, err)
	}
	f := strings.Fields(string(out)) // "temporal version 1.29.1"
	if len(f) == 0 {
		return "", fmt.Errorf("%s --version printed nothing", binary)
	}
	module := "go.temporal.io/server@v" + strings.TrimPrefix(f[len(f)-1], "v")
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module)
	cmd.Dir = os.TempDir() // outside any module: go.mod is neither read nor changed
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	var m struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &m); jerr == nil && m.Error != "" {
		err = errors.New(m.Error)
	}
	if err != nil {
		return "", fmt.Errorf("locate the schema of %s: go mod download: %w %s", module, err, strings.TrimSpace(stderr.String()))
	}
	return filepath.Join(m.Dir, "schema"), nil
}

// UpgradeTemporalSchema brings database db to the newest version in versionedDir
// with Temporal's schema tool: setup-schema -v 0.0 creates the version tables if
// missing (and does nothing on a database already past 0.0), then update-schema
// applies the versions the database lacks. Running it again changes nothing, so
// it runs at every start, and a newer server binary upgrades the schema first.
func UpgradeTemporalSchema(ctx context.Context, tool string, pg *Postgres, db, versionedDir string, log *zap.Logger) error {
	if _, err := os.Stat(versionedDir); err != nil {
		return fmt.Errorf("temporal schema: %w", err)
	}
	conn := []string{"--plugin", "postgres12", "--ep", "127.0.0.1", "--port", strconv.Itoa(pg.Port()), "--user", pg.User(), "--db", db}
	for _, step := range [][]string{{"setup-schema", "-v", "0.0"}, {"update-schema", "-d", versionedDir}} {
		cmd := exec.CommandContext(ctx, tool, append(conn, step...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("temporal schema of %s: %s %s: %w\n%s", db, filepath.Base(tool), step[0], err, lastLines(string(out), 20))
		}
	}
	log.Info("temporal schema up to date", zap.String("database", db), zap.String("schema", versionedDir))
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// serverConfig follows the server's config/development-postgres12.yaml, on
// 127.0.0.1 with the ports of TemporalServerOptions.Port, archival off and no
// call home.
var serverConfig = template.Must(template.New("config").Parse(`# Written by enfance cluster at every start; edits are lost.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: {{.DB}}
        connectAddr: "127.0.0.1:{{.PGPort}}"
        connectProtocol: tcp
        user: {{.PGUser}}
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: {{.VisibilityDB}}
        connectAddr: "127.0.0.1:{{.PGPort}}"
        connectProtocol: tcp
        user: {{.PGUser}}
        maxConns: 5
        maxIdleConns: 5
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:{{.MetricsPort}}"
services:
  frontend:
    rpc:
      grpcPort: {{.Port}}
      membershipPort: {{.FrontendMembership}}
      bindOnLocalHost: true
      httpPort: {{.HTTPPort}}
  history:
    rpc:
      grpcPort: {{.HistoryPort}}
      membershipPort: {{.HistoryMembership}}
      bindOnLocalHost: true
  matching:
    rpc:
      grpcPort: {{.MatchingPort}}
      membershipPort: {{.MatchingMembership}}
      bindOnLocalHost: true
  worker:
    rpc:
      grpcPort: {{.WorkerPort}}
      membershipPort: {{.WorkerMembership}}
      bindOnLocalHost: true
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:{{.Port}}"
dcRedirectionPolicy:
  policy: noop
archival:
  history:
    state: disabled
  visibility:
    state: disabled
namespaceDefaults:
  archival:
    history:
      state: disabled
    visibility:
      state: disabled
dynamicConfigClient:
  filepath: {{.DynamicConfig}}
  pollInterval: 10s
`))

// dynamicConfig: no call home; the Web UI's list pages make more visibility calls
// than the default 10 per second (the CLI's dev server raises it the same way).
const dynamicConfig = `frontend.enableServerVersionCheck:
  - value: false
frontend.namespaceRPS.visibility:
  - value: 100
`

func writeServerConfig(dir string, o TemporalServerOptions) error {
	conf := filepath.Join(dir, "config")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return fmt.Errorf("temporal server config: %w", err)
	}
	dyn := filepath.Join(conf, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, []byte(dynamicConfig), 0o644); err != nil {
		return fmt.Errorf("temporal server config: %w", err)
	}
	p := o.Port
	var b bytes.Buffer
	if err := serverConfig.Execute(&b, map[string]any{
		"DB": TemporalDB, "VisibilityDB": TemporalVisibilityDB, "PGPort": o.Postgres.Port(), "PGUser": o.Postgres.User(),
		"Port": p, "HTTPPort": p + 10, "HistoryPort": p + 1, "MatchingPort": p + 2, "WorkerPort": p + 6, "MetricsPort": p + 3,
		"FrontendMembership": p - 300, "HistoryMembership": p - 299, "MatchingMembership": p - 298, "WorkerMembership": p - 294,
		"DynamicConfig": dyn,
	}); err != nil {
		return fmt.Errorf("temporal server config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(conf, "enfance.yaml"), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("temporal server config: %w", err)
	}
	return nil
}

// TemporalUIOptions configures StartTemporalUI.
type TemporalUIOptions struct {
	// Binary is temporalio/ui-server's server; "" means <repo>/bin/temporal-ui-server.
	Binary string
	// Dir receives its configuration (rewritten at every start).
	Dir string
	// Frontend is the Temporal frontend's host:port.
	Frontend string
	// Port of the Web UI on 127.0.0.1.
	Port      int
	Namespace string
	LogFile   string
	Logger    *zap.Logger
}

// StartTemporalUI runs the Temporal Web UI server (temporalio/ui-server, the
// same UI the CLI's dev server embeds) against any frontend, and waits (up to
// 60 s) until it serves its page.
func StartTemporalUI(ctx context.Context, opts TemporalUIOptions) (*Process, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if err := defaultBin(&opts.Binary, "temporal-ui-server"); err != nil {
		return nil, fmt.Errorf("start temporal ui: %w", err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start temporal ui: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		return nil, fmt.Errorf("start temporal ui: %w", err)
	}
	// Plain HTTP on loopback, as the dev server's UI: the CSRF cookie cannot be Secure.
	conf := fmt.Sprintf(`# Written by enfance cluster at every start; edits are lost.
temporalGrpcAddress: %q
host: 127.0.0.1
port: %d
enableUi: true
defaultNamespace: %q
notifyOnNewVersion: false
hideLogs: true
cors:
  cookieInsecure: true
`, opts.Frontend, opts.Port, opts.Namespace)
	if err := os.WriteFile(filepath.Join(dir, "config", "enfance.yaml"), []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("start temporal ui: %w", err)
	}
	p, err := StartProcess(ProcessOptions{
		Name: "temporal ui", Binary: opts.Binary, LogFile: opts.LogFile, Logger: log,
		Args: []string{"--root", dir, "--config", "config", "--env", "enfance", "start"},
	})
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", opts.Port)
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(wctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				log.Info("temporal ui ready", zap.String("url", url), zap.Int("pid", p.PID()))
				return p, nil
			}
		}
		select {
		case <-p.Exited():
			_ = p.Stop()
			return nil, fmt.Errorf("start temporal ui: %w", p.exitError(fmt.Sprintf("; is port %d in use?", opts.Port)))
		case <-wctx.Done():
			_ = p.Stop()
			return nil, fmt.Errorf("start temporal ui: no answer at %s: %w (last error: %v)", url, wctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
