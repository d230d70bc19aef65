package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/enfance/enfance/logging"
)

// TemporalOptions configures StartTemporal.
type TemporalOptions struct {
	// Binary is the Temporal CLI; "" means <repo>/bin/temporal.
	Binary string
	// DBFile is the dev server's SQLite file; "" keeps everything in memory.
	DBFile string
	// Port of the frontend (gRPC) on 127.0.0.1; 0 picks a free one.
	Port int
	// UIPort of the Web UI on 127.0.0.1; 0 runs without UI (--headless).
	UIPort int
	// Namespace is created if missing; "" means "default".
	Namespace string
	// SearchAttributes maps custom search attribute names to their type
	// ("Keyword", "Int", "Double", "Bool", "Datetime", "Text", "KeywordList").
	SearchAttributes map[string]string
	// LogFile receives the server's output (appended); "" discards it (its tail is
	// still quoted if the server fails to start).
	LogFile string
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
}

// Temporal is a running Temporal CLI dev server.
type Temporal struct {
	addr    string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // valid once exited is closed
	logFile *os.File
	log     *zap.Logger

	stopOnce sync.Once
	stopErr  error
}

// StartTemporal runs `Binary server start-dev` in its own process group and waits
// (up to 60 s) until its frontend answers a health check and the namespace exists.
//
// Custom search attributes: the CLI's --search-attribute flag only applies when it
// creates a namespace, i.e. not to a namespace already in an existing DBFile. So
// after startup the missing ones are added through the operator service; one that
// exists with another type is an error.
//
// The server also gets a parent-death signal: if this process dies without calling
// Stop (kill -9), the server is terminated rather than left holding its ports.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Binary == "" {
		root, err := RepoRoot()
		if err != nil {
			return nil, fmt.Errorf("start temporal: locate bin/temporal: %w", err)
		}
		opts.Binary = filepath.Join(root, "bin", "temporal")
	}
	if st, err := os.Stat(opts.Binary); err != nil || st.IsDir() {
		return nil, fmt.Errorf("temporal CLI not found at %s: run make tools", opts.Binary)
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Port == 0 {
		port, err := FreePort()
		if err != nil {
			return nil, fmt.Errorf("start temporal: %w", err)
		}
		opts.Port = port
	}
	attrs, err := parseSearchAttributes(opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}

	args := []string{
		"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(opts.Port),
		"--namespace", opts.Namespace,
		"--log-level", "warn",
		// No call home to check for a newer server version.
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
	}
	if opts.DBFile != "" {
		dbFile, err := filepath.Abs(opts.DBFile)
		if err != nil {
			return nil, fmt.Errorf("start temporal: DB file: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(dbFile), 0o755); err != nil {
			return nil, fmt.Errorf("start temporal: create the DB file's directory: %w", err)
		}
		// WAL with synchronous=NORMAL survives a crash of the server (not of the
		// machine) and makes each workflow step several times cheaper than the
		// default rollback journal, which matters under a booking rush.
		args = append(args, "--db-filename", dbFile,
			"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")
	}
	if opts.UIPort != 0 {
		args = append(args, "--ui-port", strconv.Itoa(opts.UIPort))
	} else {
		args = append(args, "--headless")
	}
	for _, name := range sortedKeys(opts.SearchAttributes) {
		args = append(args, "--search-attribute", name+"="+opts.SearchAttributes[name])
	}

	t := &Temporal{
		addr:   fmt.Sprintf("127.0.0.1:%d", opts.Port),
		exited: make(chan struct{}),
		log:    log.With(zap.String("address", fmt.Sprintf("127.0.0.1:%d", opts.Port))),
	}
	tail := NewTailBuffer(4096)
	var out io.Writer = tail
	if opts.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.LogFile), 0o755); err != nil {
			return nil, fmt.Errorf("start temporal: create log dir: %w", err)
		}
		if t.logFile, err = os.OpenFile(opts.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
			return nil, fmt.Errorf("start temporal: open log file: %w", err)
		}
		out = io.MultiWriter(t.logFile, tail)
	}
	cmd := exec.Command(opts.Binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Stdout, cmd.Stderr = out, out
	t.log.Debug("starting temporal dev server", zap.String("binary", opts.Binary), zap.Strings("args", args))
	if err := cmd.Start(); err != nil {
		t.closeLog()
		return nil, fmt.Errorf("start temporal: run %s: %w", opts.Binary, err)
	}
	t.cmd = cmd
	go func() { t.waitErr = cmd.Wait(); close(t.exited) }()

	if err := t.waitReady(ctx, opts.Namespace, attrs, tail); err != nil {
		_ = t.Stop()
		return nil, err
	}
	t.log.Info("temporal dev server ready", zap.Int("pid", cmd.Process.Pid), zap.String("namespace", opts.Namespace), zap.Duration("took", time.Since(start)))
	return t, nil
}

// Address returns the frontend's host:port.
func (t *Temporal) Address() string { return t.addr }

// PID returns the dev server's process ID (also its process group ID).
func (t *Temporal) PID() int { return t.cmd.Process.Pid }

// Stop sends SIGTERM to the server's process group, waits for it to exit and
// sends SIGKILL after 10 s. Calling Stop again returns the first call's result.
func (t *Temporal) Stop() error {
	t.stopOnce.Do(func() {
		defer t.closeLog()
		pgid := t.cmd.Process.Pid
		select {
		case <-t.exited: // already gone
			_ = killGroupAndWait(pgid)
			return
		default:
		}
		if err := killGroup(pgid, syscall.SIGTERM); err != nil {
			t.stopErr = err
		}
		select {
		case <-t.exited:
		case <-time.After(10 * time.Second):
			t.log.Warn("temporal dev server did not stop within 10 s, killing it")
			_ = killGroup(pgid, syscall.SIGKILL)
			select {
			case <-t.exited:
			case <-time.After(5 * time.Second):
				t.stopErr = fmt.Errorf("stop temporal: pid %d still running after SIGKILL", pgid)
				return
			}
		}
		// Anything the server left in its group goes too.
		if err := killGroupAndWait(pgid); err != nil && t.stopErr == nil {
			t.stopErr = err
		}
		if t.stopErr == nil {
			t.log.Info("temporal dev server stopped")
		}
	})
	return t.stopErr
}

func (t *Temporal) closeLog() {
	if t.logFile != nil {
		_ = t.logFile.Close()
	}
}

// waitReady dials until the frontend is healthy and the namespace is served, then
// registers missing search attributes.
func (t *Temporal) waitReady(ctx context.Context, namespace string, attrs map[string]enumspb.IndexedValueType, tail *TailBuffer) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var lastErr error
	for {
		c, err := t.tryConnect(ctx, namespace)
		if err == nil {
			defer c.Close()
			return ensureSearchAttributes(ctx, c, namespace, attrs, t.log)
		}
		lastErr = err
		select {
		case <-t.exited:
			return fmt.Errorf("start temporal: the dev server exited (%v); is port %s or the DB file in use by another server? output:\n%s", t.waitErr, t.addr, tail)
		case <-ctx.Done():
			return fmt.Errorf("start temporal: no healthy frontend at %s: %w (last error: %v); output:\n%s", t.addr, ctx.Err(), lastErr, tail)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (t *Temporal) tryConnect(ctx context.Context, namespace string) (client.Client, error) {
	attempt, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := client.DialContext(attempt, client.Options{
		HostPort:  t.addr,
		Namespace: namespace,
		Logger:    logging.Temporal(t.log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
	})
	if err != nil {
		return nil, err
	}
	if _, err = c.CheckHealth(attempt, &client.CheckHealthRequest{}); err == nil {
		_, err = c.WorkflowService().DescribeNamespace(attempt, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// ensureSearchAttributes adds the custom search attributes missing from namespace.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enumspb.IndexedValueType, log *zap.Logger) error {
	if len(want) == 0 {
		return nil
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("start temporal: list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	var errs []error
	for name, typ := range want {
		got, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			errs = append(errs, fmt.Errorf("search attribute %s is %s in the server, want %s", name, got, typ))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("start temporal: %w: delete the DB file to start over", err)
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("start temporal: add search attributes %v: %w", sortedKeys(missing), err)
	}
	log.Info("registered search attributes", zap.String("namespace", namespace), zap.Strings("names", sortedKeys(missing)))
	return nil
}

// parseSearchAttributes maps type names ("Keyword", "int", …) to their enum.
func parseSearchAttributes(in map[string]string) (map[string]enumspb.IndexedValueType, error) {
	out := make(map[string]enumspb.IndexedValueType, len(in))
	for name, typ := range in {
		for short, v := range enumspb.IndexedValueType_shorthandValue {
			if strings.EqualFold(short, typ) && v != 0 {
				out[name] = enumspb.IndexedValueType(v)
			}
		}
		if _, ok := out[name]; !ok {
			return nil, fmt.Errorf("search attribute %s: unknown type %q (want Keyword, Text, Int, Double, Bool, Datetime or KeywordList)", name, typ)
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
