package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/durationpb"

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

// Temporal is a running Temporal server: the CLI's dev server (StartTemporal) or
// the real server on PostgreSQL (StartTemporalServer).
type Temporal struct {
	addr string
	*Process
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
		var err error
		if opts.Binary, err = repoBin("temporal"); err != nil {
			return nil, fmt.Errorf("start temporal: locate bin/temporal: %w", err)
		}
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

	addr := fmt.Sprintf("127.0.0.1:%d", opts.Port)
	log = log.With(zap.String("address", addr))
	p, err := StartProcess(ProcessOptions{Name: "temporal dev server", Binary: opts.Binary, Args: args, LogFile: opts.LogFile, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	t := &Temporal{addr: addr, Process: p}
	if err := t.waitReady(ctx, readiness{
		namespace: opts.Namespace, attrs: attrs, timeout: 60 * time.Second,
		hint: "; is port " + strconv.Itoa(opts.Port) + " or the DB file in use by another server?",
	}, log); err != nil {
		_ = t.Stop()
		return nil, err
	}
	log.Info("temporal dev server ready", zap.Int("pid", t.PID()), zap.String("namespace", opts.Namespace), zap.Duration("took", time.Since(start)))
	return t, nil
}

// Address returns the frontend's host:port.
func (t *Temporal) Address() string { return t.addr }

// readiness says what waitReady waits for.
type readiness struct {
	namespace string
	attrs     map[string]enumspb.IndexedValueType
	// register creates the namespace with this retention if it is missing (the
	// real server starts with none); 0 expects it to exist (the dev server
	// creates it).
	register time.Duration
	timeout  time.Duration
	hint     string // added to the error if the server exits during startup
}

// waitReady dials until the frontend is healthy and the namespace is served,
// registers missing search attributes, and waits until the frontend accepts a
// visibility query on them (a new namespace or attribute reaches the frontend's
// cache a few seconds after it is written).
func (t *Temporal) waitReady(ctx context.Context, r readiness, log *zap.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var c client.Client
	err := t.retry(ctx, r.hint, func(ctx context.Context) error {
		var err error
		c, err = client.DialContext(ctx, client.Options{
			HostPort: t.addr, Namespace: r.namespace,
			Logger: logging.Temporal(log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
		})
		if err == nil {
			if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
				c.Close()
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if r.register > 0 {
		if err := registerNamespace(ctx, c, r.namespace, r.register, log); err != nil {
			return err
		}
	}
	if err := t.retry(ctx, r.hint, func(ctx context.Context) error {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: r.namespace})
		return err
	}); err != nil {
		return err
	}
	if err := ensureSearchAttributes(ctx, c, r.namespace, r.attrs, log); err != nil {
		return err
	}
	query := make([]string, 0, len(r.attrs))
	for _, name := range sortedKeys(r.attrs) {
		query = append(query, name+" IS NULL")
	}
	return t.retry(ctx, r.hint, func(ctx context.Context) error {
		_, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: r.namespace, Query: strings.Join(query, " AND ")})
		return err
	})
}

// retry calls fn (each call bounded to 3 s) every 100 ms until it succeeds, the
// server exits or ctx ends.
func (t *Temporal) retry(ctx context.Context, hint string, fn func(context.Context) error) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := fn(attempt)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-t.Exited():
			return fmt.Errorf("start temporal: %w", t.exitError(hint))
		case <-ctx.Done():
			return fmt.Errorf("start temporal: frontend at %s not ready: %w (last error: %v); output:\n%s", t.addr, ctx.Err(), err, t.Output())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// registerNamespace creates namespace unless it exists.
func registerNamespace(ctx context.Context, c client.Client, namespace string, retention time.Duration, log *zap.Logger) error {
	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(retention),
		Description: "enfance: carts, invoice runs, PayFiP reconciliation",
	})
	var exists *serviceerror.NamespaceAlreadyExists
	switch {
	case errors.As(err, &exists):
		return nil
	case err != nil:
		return fmt.Errorf("start temporal: register namespace %s: %w", namespace, err)
	}
	log.Info("registered namespace", zap.String("namespace", namespace), zap.Duration("retention", retention))
	return nil
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
