package devenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.uber.org/zap/zaptest"
)

// requireClusterTools skips a test unless ENFANCE_CLUSTER_TESTS is set (make
// chaos sets it after building the tools); with it set, missing tools fail it.
func requireClusterTools(t *testing.T) {
	t.Helper()
	if os.Getenv("ENFANCE_CLUSTER_TESTS") == "" {
		t.Skip("the real Temporal server's tests run in make chaos (ENFANCE_CLUSTER_TESTS=1)")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckClusterTools(root); err != nil {
		t.Fatal(err)
	}
}

func startTemporalServer(t *testing.T, opts TemporalServerOptions) *Temporal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	opts.Logger = zaptest.NewLogger(t)
	start := time.Now()
	tp, err := StartTemporalServer(ctx, opts)
	if err != nil {
		t.Fatalf("StartTemporalServer: %v", err)
	}
	t.Logf("StartTemporalServer took %v", time.Since(start))
	t.Cleanup(func() { _ = tp.Stop() })
	return tp
}

// The real server on PostgreSQL: the schema tool creates both schemas, the
// namespace and the search attributes are registered and queryable, a second
// start on the same databases changes no schema and adds a new attribute, and
// the Web UI server shows the namespace's attributes through its API.
func TestTemporalServerOnPostgres(t *testing.T) {
	requireClusterTools(t)
	dir := tempDir(t)
	pg := startPostgres(t, PostgresOptions{Dir: filepath.Join(dir, "pg"), Port: freePort(t), Database: "enfance", Ephemeral: true})
	port, err := FreeTemporalServerPort()
	if err != nil {
		t.Fatal(err)
	}
	opts := TemporalServerOptions{
		Dir: filepath.Join(dir, "temporal"), Postgres: pg, Port: port, Namespace: "enfance",
		SearchAttributes: map[string]string{"CartStatus": "Keyword"}, LogFile: filepath.Join(dir, "temporal.log"),
	}
	tp := startTemporalServer(t, opts)
	if attrs := searchAttributes(t, tp.Address(), "enfance"); attrs["CartStatus"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Fatalf("first start: search attributes %v, want CartStatus Keyword", attrs)
	}
	type schema struct {
		version string
		updates int
	}
	readSchema := func(db string) schema {
		var s schema
		if err := connect(t, pg.URL(db)).QueryRow(context.Background(),
			"SELECT (SELECT curr_version FROM schema_version), (SELECT count(*) FROM schema_update_history)").Scan(&s.version, &s.updates); err != nil {
			t.Fatalf("%s: %v", db, err)
		}
		return s
	}
	schemas := map[string]schema{}
	for _, db := range []string{TemporalDB, TemporalVisibilityDB} {
		s := readSchema(db)
		if s.version == "" || s.version == "0.0" || s.updates < 2 {
			t.Fatalf("%s: schema %+v after the upgrade", db, s)
		}
		schemas[db] = s
	}
	t.Logf("schemas: %+v", schemas)
	metrics, err := http.Get(TemporalMetricsURL(port))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	body, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if !strings.Contains(string(body), "persistence_requests") {
		t.Fatalf("metrics at %s lack persistence_requests:\n%.500s", TemporalMetricsURL(port), body)
	}
	stopTemporalAndCheckGone(t, tp)

	opts.SearchAttributes["AmountDueCents"] = "Int"
	tp = startTemporalServer(t, opts)
	attrs := searchAttributes(t, tp.Address(), "enfance")
	if attrs["CartStatus"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD || attrs["AmountDueCents"] != enumspb.INDEXED_VALUE_TYPE_INT {
		t.Fatalf("restart: search attributes %v", attrs)
	}
	for db, want := range schemas {
		if got := readSchema(db); got != want {
			t.Fatalf("%s: schema %+v after a restart, was %+v: the upgrade is not idempotent", db, got, want)
		}
	}

	uiPort := freePort(t)
	ui, err := StartTemporalUI(context.Background(), TemporalUIOptions{
		Dir: filepath.Join(dir, "ui"), Frontend: tp.Address(), Port: uiPort, Namespace: "enfance",
		LogFile: filepath.Join(dir, "ui.log"), Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ui.Stop() })
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/namespaces/enfance/search-attributes", uiPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "AmountDueCents") {
		t.Fatalf("UI API: %s %s", resp.Status, body)
	}
	uiPID := ui.PID()
	if err := ui.Stop(); err != nil {
		t.Fatal(err)
	}
	if processAlive(uiPID) || groupAlive(uiPID) {
		t.Fatal("temporal ui still running after Stop")
	}
	stopTemporalAndCheckGone(t, tp)
}
