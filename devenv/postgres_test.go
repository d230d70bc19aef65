package devenv

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zaptest"
)

// tempDir returns a fresh directory the postgres user can reach when we are root
// (testing.T.TempDir's parent is 0700 root).
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "enfance-devenv-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func startPostgres(t *testing.T, opts PostgresOptions) *Postgres {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts.Logger = zaptest.NewLogger(t)
	start := time.Now()
	pg, err := StartPostgres(ctx, opts)
	if err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}
	t.Logf("StartPostgres (ephemeral=%v) took %v", opts.Ephemeral, time.Since(start))
	t.Cleanup(func() { _ = pg.Stop() })
	return pg
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// stopAndCheckGone stops pg and checks neither the postmaster nor anything in
// its process group is left.
func stopAndCheckGone(t *testing.T, pg *Postgres) {
	t.Helper()
	pid := pg.PID()
	start := time.Now()
	if err := pg.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(start))
	if processAlive(pid) {
		t.Fatalf("postmaster pid %d still running after Stop", pid)
	}
	if groupAlive(pid) {
		t.Fatalf("process group %d still has processes after Stop", pid)
	}
	if err := pg.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestPostgresRestartKeepsData(t *testing.T) {
	dir := filepath.Join(tempDir(t), "pg")
	ctx := context.Background()

	pg := startPostgres(t, PostgresOptions{Dir: dir, Port: freePort(t), Database: "app"})
	if got, want := pg.URL("app"), "postgres://enfance@127.0.0.1:"+strconv.Itoa(pg.Port())+"/app?sslmode=disable"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	conn := connect(t, pg.URL("app"))
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')"); err != nil {
		t.Fatal(err)
	}
	var encoding, collate string
	if err := conn.QueryRow(ctx, "SELECT pg_encoding_to_char(encoding), datcollate FROM pg_database WHERE datname = 'app'").Scan(&encoding, &collate); err != nil {
		t.Fatal(err)
	}
	if encoding != "UTF8" || collate != "C" {
		t.Errorf("database encoding %s collate %s, want UTF8 and C", encoding, collate)
	}
	_ = conn.Close(ctx)
	stopAndCheckGone(t, pg)

	// Same dir, another port: the data is there, and Database already exists.
	pg = startPostgres(t, PostgresOptions{Dir: dir, Port: freePort(t), Database: "app"})
	var v string
	if err := connect(t, pg.URL("app")).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if v != "still here" {
		t.Fatalf("after restart: got %q", v)
	}

	// A server still running on the dir (a previous run that was never stopped)
	// is stopped and replaced.
	oldPID := pg.PID()
	pg2 := startPostgres(t, PostgresOptions{Dir: dir, Port: freePort(t), Database: "app"})
	if processAlive(oldPID) {
		t.Fatalf("the previous server (pid %d) still runs", oldPID)
	}
	// Stopping the replaced handle leaves the new server alone.
	if err := pg.Stop(); err != nil {
		t.Fatalf("Stop of the replaced server: %v", err)
	}
	if err := connect(t, pg2.URL("app")).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil {
		t.Fatalf("after replacing a running server: %v", err)
	}
	stopAndCheckGone(t, pg2)

	// A postmaster.pid left by a crash, naming a PID that is now some other
	// process (here: this test binary), does not block the start.
	pidFile := filepath.Join(dir, "postmaster.pid")
	stale := strconv.Itoa(os.Getpid()) + "\n" + dir + "\n1700000000\n5432\n/tmp\n127.0.0.1\n  5432001  1\nready   \n"
	if err := os.WriteFile(pidFile, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	pg3 := startPostgres(t, PostgresOptions{Dir: dir, Port: freePort(t)})
	if err := connect(t, pg3.URL("app")).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil {
		t.Fatalf("after a stale postmaster.pid: %v", err)
	}
	stopAndCheckGone(t, pg3)
}

func TestPostgresEphemeralLongPathAndTemplate(t *testing.T) {
	// A data dir too long for a Unix socket path inside it.
	dir := filepath.Join(tempDir(t), strings.Repeat("d", 60), strings.Repeat("e", 40), "pg")
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pg := startPostgres(t, PostgresOptions{Dir: dir, Port: freePort(t), Database: "tpl", Ephemeral: true})
	if !pg.tmpSock {
		t.Fatalf("expected a temporary socket dir for %s", dir)
	}
	sock := filepath.Join(pg.sockDir, ".s.PGSQL."+strconv.Itoa(pg.Port()))
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("unix socket: %v", err)
	}

	conn := connect(t, pg.URL("tpl"))
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if fsync != "off" {
		t.Errorf("fsync = %s on an ephemeral cluster", fsync)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE seeded (n int); INSERT INTO seeded VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)

	if err := pg.CreateDatabase(ctx, "copy", "tpl"); err != nil {
		t.Fatalf("CreateDatabase from template: %v", err)
	}
	var n int
	if err := connect(t, pg.URL("copy")).QueryRow(ctx, "SELECT n FROM seeded").Scan(&n); err != nil || n != 42 {
		t.Fatalf("copy of the template: n=%d err=%v", n, err)
	}
	if err := pg.CreateDatabase(ctx, "copy", ""); err == nil {
		t.Fatal("CreateDatabase of an existing database succeeded")
	}

	stopAndCheckGone(t, pg)
	if _, err := os.Stat(pg.sockDir); !os.IsNotExist(err) {
		t.Errorf("temporary socket dir %s not removed: %v", pg.sockDir, err)
	}
}

func TestPostgresUnreachableDirFailsClearly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs PostgreSQL as another user") // the check only exists for root
	}
	parent := t.TempDir() // 0700 root parents
	_, err := StartPostgres(context.Background(), PostgresOptions{Dir: filepath.Join(parent, "pg"), Port: freePort(t)})
	if err == nil || !strings.Contains(err.Error(), "postgres user cannot reach") {
		t.Fatalf("want a clear error about the unreachable dir, got %v", err)
	}
}
