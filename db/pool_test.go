package db_test

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// A failover where the old server vanished without closing its connections (its
// host died, the network was cut): the pool's connection sends and nothing ever
// comes back. The next query is not stuck on it: its ping gives up after
// DefaultPingTimeout and the query runs on a new connection.
func TestPoolDropsAConnectionThatNoLongerAnswers(t *testing.T) {
	_, dsn := testenv.Database(t)
	cut := newCutter(t, dsn)
	pool, _ := openFull(t, cut.dsn, 1)
	defer cut.close() // before the pool closes
	cut.cutAll()

	ctx, cancel := context.WithTimeout(context.Background(), 5*db.DefaultPingTimeout)
	defer cancel()
	var one int
	if err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatalf("query after the connection stopped answering: %v", err)
	}
}

// pool_ping_timeout in DATABASE_URL replaces DefaultPingTimeout.
func TestPoolPingTimeoutFromTheURL(t *testing.T) {
	for param, want := range map[string]time.Duration{"": db.DefaultPingTimeout, "pool_ping_timeout=500ms": 500 * time.Millisecond} {
		dsn := "postgres://enfance@127.0.0.1:1/enfance?sslmode=disable"
		if param != "" {
			dsn = withParam(dsn, param)
		}
		pool, err := db.NewPool(context.Background(), dsn) // connects lazily
		if err != nil {
			t.Fatal(err)
		}
		pool.Close()
		if got := pool.Config().PingTimeout; got != want {
			t.Errorf("%q: ping timeout %v, want %v", param, got, want)
		}
	}
}

// cutter is a TCP proxy in front of the test's PostgreSQL that can cut the
// connections passing through it without closing them, as a dead host or a
// network cut does: what either side sends is swallowed. Connections made after
// the cut pass, as to the new primary after a failover. Hand-written: the point
// is a network fault, which no PostgreSQL setting can produce.
type cutter struct {
	dsn    string // the test database's, through the proxy
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	frozen []*atomic.Bool
}

func newCutter(t *testing.T, dsn string) *cutter {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Hostname() == "" {
		t.Skipf("no TCP address in the test database's URL")
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.Host = ln.Addr().String()
	c := &cutter{dsn: u.String(), ln: ln}
	t.Cleanup(c.close)
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			frozen := &atomic.Bool{}
			c.mu.Lock()
			c.conns = append(c.conns, client, server)
			c.frozen = append(c.frozen, frozen)
			c.mu.Unlock()
			go pipe(server, client, frozen)
			go pipe(client, server, frozen)
		}
	}()
	return c
}

// cutAll cuts every connection made so far.
func (c *cutter) cutAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.frozen {
		f.Store(true)
	}
}

// close closes the proxy and every connection through it: a cut connection
// then ends at once for pgx instead of waiting out its 15 s close timeout.
func (c *cutter) close() {
	c.ln.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
}

func pipe(dst, src net.Conn, frozen *atomic.Bool) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !frozen.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
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
