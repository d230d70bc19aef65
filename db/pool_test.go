package db_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/testenv"
)

// openFull opens a pool with NewPool on the test's database and fills it: n
// connections opened, used and idle. It returns their server processes.
func openFull(t testing.TB, dsn string, n int) (*pgxpool.Pool, []int32) {
	t.Helper()
	ctx := context.Background()
	pool, err := db.NewPool(ctx, withParam(dsn, "pool_max_conns=4"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var pids []int32
	var held []*pgxpool.Conn
	for range n {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		pids = append(pids, int32(c.Conn().PgConn().PID()))
	}
	for _, c := range held {
		c.Release()
	}
	if idle := pool.Stat().IdleConns(); idle != int32(n) {
		t.Fatalf("%d idle connections, want %d", idle, n)
	}
	return pool, pids
}

// The server ends every session of the pool while they sit idle, as a restart
// or a failover does (SIGTERM to each backend: FATAL 57P01, then the socket
// closes), and the next queries come at once: each one still gets a live
// connection, none fails on a dead one.
func TestPoolHandsOutNoConnectionTheServerEnded(t *testing.T) {
	ctx := context.Background()
	admin, dsn := testenv.Database(t)
	pool, pids := openFull(t, dsn, 4)

	// pg_terminate_backend waits (up to 10 s) until each backend has exited.
	rows, err := admin.Query(ctx, `SELECT pg_terminate_backend(pid, 10000) FROM unnest($1::int[]) AS pid`, pids)
	if err != nil {
		t.Fatal(err)
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil || len(ended) != len(pids) || slices.Contains(ended, false) {
		t.Fatalf("terminate the pool's sessions: %v %v", ended, err)
	}

	// As many queries as dead connections, and one more; then a transaction.
	for i := range len(pids) + 1 {
		var pid int32
		if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatalf("query %d after the sessions ended: %v", i+1, err)
		}
		if slices.Contains(pids, pid) {
			t.Fatalf("query %d ran on ended session %d", i+1, pid)
		}
	}
	if err := db.InTx(ctx, pool, func(q *db.Queries) error { _, err := q.GetOrgBySlug(ctx, "nobody"); return ignoreNotFound(err) }); err != nil {
		t.Fatalf("transaction after the sessions ended: %v", err)
	}
}

func withParam(dsn, param string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + param
	}
	return dsn + "?" + param
}

func ignoreNotFound(err error) error {
	if db.NotFound(err) {
		return nil
	}
	return err
}

// What the ping on every hand-out costs: a transaction like a small read of the
// API (BEGIN, one query, COMMIT), on pgx's default pool (ping only after 1 s
// idle) and on NewPool's. Run with
//
//	go test ./db -run '^$' -bench PoolTransaction -benchtime 3s -count 5
func BenchmarkPoolTransaction(b *testing.B) {
	_, dsn := testenv.Database(b)
	ctx := context.Background()
	run := func(b *testing.B, pool *pgxpool.Pool) {
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				err := db.InTx(ctx, pool, func(q *db.Queries) error { _, err := q.GetOrgBySlug(ctx, "nobody"); return ignoreNotFound(err) })
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("pgx-default", func(b *testing.B) {
		pool, err := pgxpool.New(ctx, withParam(dsn, "pool_max_conns=4"))
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		run(b, pool)
	})
	b.Run("NewPool", func(b *testing.B) {
		pool, _ := openFull(b, dsn, 4)
		run(b, pool)
	})
}
