package testenv_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The two database tests write a marker row into their own database and check
// the other's marker is absent, whichever runs first; both run in parallel.
var (
	markersMu sync.Mutex
	markers   = map[string]string{} // test name → DSN of its database
)

const markerVersion = 999_999

func testOwnDatabase(t *testing.T) {
	t.Parallel()
	start := time.Now()
	pool, dsn := testenv.Database(t)
	t.Logf("Database took %v", time.Since(start))
	ctx := context.Background()

	// Migrated: goose recorded at least one applied migration.
	var applied int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied").Scan(&applied); err != nil {
		t.Fatalf("goose_db_version: %v", err)
	}
	if applied == 0 {
		t.Fatal("no migration applied")
	}
	// Empty: the schema's tables exist and hold no rows.
	rows, err := pool.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		t.Fatal("the migrated database has no tables")
	}
	for _, table := range tables {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("table %s has %d rows in a fresh database", table, n)
		}
	}

	// A marker row, visible through the DSN as well as the pool.
	if _, err := pool.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", markerVersion); err != nil {
		t.Fatal(err)
	}
	if n := countMarkers(t, dsn); n != 1 {
		t.Fatalf("own marker: %d rows through the DSN", n)
	}
	markersMu.Lock()
	for other, otherDSN := range markers {
		if otherDSN == dsn {
			t.Fatalf("%s and %s got the same database", t.Name(), other)
		}
		if n := countMarkers(t, otherDSN); n != 1 {
			t.Errorf("%s's database lost its marker: %d", other, n)
		}
	}
	markers[t.Name()] = dsn
	markersMu.Unlock()

	// Wait for the other test, then check our database never saw its marker.
	deadline := time.Now().Add(time.Minute)
	for {
		markersMu.Lock()
		n := len(markers)
		markersMu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other database test never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var total int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id = $1", markerVersion).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != 1 {
		t.Fatalf("%d marker rows in %s's database: the other test's row leaked in", total, t.Name())
	}
}

func countMarkers(t *testing.T, dsn string) int {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM goose_db_version WHERE version_id = $1", markerVersion).Scan(&n); err != nil {
		t.Fatalf("count markers via %s: %v", dsn, err)
	}
	return n
}

func TestDatabaseA(t *testing.T) { testOwnDatabase(t) }
func TestDatabaseB(t *testing.T) { testOwnDatabase(t) }

func TestDatabaseDroppedAfterTest(t *testing.T) {
	var dsn string
	t.Run("inner", func(t *testing.T) { _, dsn = testenv.Database(t) })
	conn, err := pgx.Connect(context.Background(), dsn)
	if err == nil {
		_ = conn.Close(context.Background())
		t.Fatalf("database %s still exists after its test ended", dsn)
	}
	t.Logf("connecting after cleanup fails as expected: %v", err)
}

func greet(ctx workflow.Context, name string) (string, error) {
	var got string
	err := workflow.ExecuteActivity(
		workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second}),
		hello, name,
	).Get(ctx, &got)
	return got, err
}

func hello(_ context.Context, name string) (string, error) { return "bonjour " + name, nil }

func TestTemporalRunsAWorkflow(t *testing.T) {
	start := time.Now()
	server := testenv.Temporal(t)
	t.Logf("Temporal took %v (address %s)", time.Since(start), server.FrontendHostPort())
	if again := testenv.Temporal(t); again != server {
		t.Fatal("a second call started another server")
	}
	c := server.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	attrs, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range testenv.TemporalSearchAttributes {
		got, ok := attrs.GetCustomAttributes()[name]
		if !ok || !strings.EqualFold(got.String(), typ) {
			t.Errorf("search attribute %s: got %v (present %v), want %s", name, got, ok, typ)
		}
	}

	const queue = "testenv-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(greet)
	w.RegisterActivity(hello)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "greet-" + t.Name(), TaskQueue: queue}, greet, "Camille")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	if got != "bonjour Camille" {
		t.Fatalf("workflow result %q", got)
	}
}
