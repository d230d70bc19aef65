package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enfance/enfance/api"
)

// endless is a request body of n bytes ('a' after a JSON prefix) that counts what
// the client has been asked to send, and may dribble it out.
type endless struct {
	prefix []byte
	n      int64
	read   atomic.Int64
	pause  time.Duration // between single bytes; 0 = as fast as asked
}

func (e *endless) Read(p []byte) (int, error) {
	done := e.read.Load()
	if done >= e.n {
		return 0, io.EOF
	}
	if e.pause > 0 {
		time.Sleep(e.pause)
		p = p[:1]
	}
	p = p[:min(int64(len(p)), e.n-done)]
	for i := range p {
		if at := done + int64(i); at < int64(len(e.prefix)) {
			p[i] = e.prefix[at]
		} else {
			p[i] = 'a'
		}
	}
	e.read.Add(int64(len(p)))
	return len(p), nil
}

// A 32 MB password on /auth/login is refused with 413 before it is read, decoded
// or hashed: whether its size is declared or not, the server reads at most its
// limit, and the login is not even counted as an attempt.
func TestJSONBodiesAreCappedBeforeDecoding(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	e.newUser(org, "family", &fam, "martin@famille.test", goodPassword)
	const size = 32 << 20
	for _, declared := range []bool{true, false} {
		body := &endless{prefix: []byte(`{"login":"martin@famille.test","password":"`), n: size}
		req, err := http.NewRequest(http.MethodPost, e.base+"/api/v1/auth/login", body)
		e.must(err)
		req.Header.Set("Content-Type", "application/json")
		if declared {
			req.ContentLength = size
		} else {
			req.ContentLength = -1 // chunked: the server cannot know in advance
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("declared=%v: %v (the client had sent %d bytes)", declared, err, body.read.Load())
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := response{resp.StatusCode, raw, resp.Header}
		if r.status != http.StatusRequestEntityTooLarge || r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("declared=%v: %d %s", declared, r.status, raw)
		}
		if p := r.problem(t); p.Type != "https://enfance.fr/problems/request-too-large" || !strings.Contains(p.Detail, "64 Ko") {
			t.Fatalf("declared=%v: %s", declared, raw)
		}
		// The client stops when the server answers and hangs up: far from 32 MB.
		if sent := body.read.Load(); sent >= size/2 {
			t.Fatalf("declared=%v: the server read %d bytes of a refused body", declared, sent)
		}
	}
	if n := e.count(`SELECT count(*) FROM login_throttles`); n != 0 {
		t.Fatalf("a refused body reached the login (%d throttle rows)", n)
	}
	// The same account logs in as usual with a normal body.
	e.login("martin@famille.test", goodPassword)

	// Cart items have room for a school year of days (1 MiB): a 200 KiB body is
	// read and judged on its content, a 2 MiB one is refused.
	family := e.session(org, "family", &fam)
	pad := strings.Repeat("x", 200<<10)
	if r := family.send(http.MethodPost, "/api/v1/cart/items", []byte(`{"items":[],"pad":"`+pad+`"}`), http.Header{"Content-Type": {"application/json"}}); r.status != http.StatusBadRequest {
		t.Fatalf("200 KiB of cart items: %d %s", r.status, r.body)
	}
	big := strings.Repeat("x", 2<<20)
	family.fails(http.MethodPost, "/api/v1/cart/items", []byte(`{"items":[],"pad":"`+big+`"}`), http.Header{"Content-Type": {"application/json"}}, http.StatusRequestEntityTooLarge, "request-too-large")
	// Anything else keeps 64 KiB, even a route that also takes uploads.
	staff := e.session(org, "agent", nil)
	staff.fails(http.MethodPost, "/api/v1/admin/messages/"+fam.String()+"/reply", []byte(`{"body":"`+pad+`"}`), http.Header{"Content-Type": {"application/json"}}, http.StatusRequestEntityTooLarge, "request-too-large")
	family.fails(http.MethodPatch, "/api/v1/family", []byte(`{"phone":"`+pad+`"}`), http.Header{"Content-Type": {"application/json"}}, http.StatusRequestEntityTooLarge, "request-too-large")
}

// slowServer serves the API with the production server's limits, shortened.
func slowServer(t *testing.T, e *accountEnv) string {
	t.Helper()
	limits := e.cfg.HTTP
	limits.ReadHeaderTimeout, limits.ReadTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv := api.NewHTTPServer(e.api.Handler(), limits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	e.must(err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// A client that sends its body one byte at a time, or its headers, is cut off by
// the server's timeouts long before it is done.
func TestSlowClientsAreCutOff(t *testing.T) {
	e := newAccountEnv(t, nil)
	addr := slowServer(t, e)

	// The body: 200 bytes at one every 50 ms would take 10 s; the read timeout is 300 ms.
	body := &endless{prefix: []byte(`{"login":"x@y.test","password":"`), n: 200, pause: 50 * time.Millisecond}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/auth/login", body)
	e.must(err)
	req.ContentLength = body.n
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow body: %d %s", resp.StatusCode, raw)
		}
	}
	if sent := body.read.Load(); sent >= body.n {
		t.Fatalf("the server waited for the whole slow body (%d bytes; %v)", sent, err)
	}

	// The headers: one byte every 50 ms of a 200-byte header.
	conn, err := net.Dial("tcp", addr)
	e.must(err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
	e.must(err)
	var written atomic.Int64
	go func() {
		for range 200 {
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
			written.Add(1)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_, err = bufio.NewReader(conn).ReadString('\n')
	if err == nil {
		// An answer (408) is fine too; what matters is that it came early.
		err = errors.New("answered")
	}
	if written.Load() >= 200 {
		t.Fatalf("the server waited for the whole slow header (%v)", err)
	}
}

// A client that goes away cancels what its request was waiting for in
// PostgreSQL: here a session lookup blocked behind a lock another transaction
// holds. Without the request's context, the query would wait for the lock.
func TestDisconnectCancelsQueries(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	family := e.session(org, "family", &fam)

	tx, err := e.pool.Begin(e.ctx)
	e.must(err)
	defer tx.Rollback(e.ctx) //nolint:errcheck
	_, err = tx.Exec(e.ctx, `LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE`)
	e.must(err)
	waiting := func() int {
		var n int
		e.must(e.pool.QueryRow(e.ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%sessions%'`).Scan(&n))
		return n
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/api/v1/me", nil)
	e.must(err)
	req.Header.Set("Authorization", "Bearer "+family.token)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, "the request's query to wait for the lock", func() bool { return waiting() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v", err)
	}
	// The lock is still held: only the cancellation can end the query.
	waitFor(t, "the abandoned query to be cancelled", func() bool { return waiting() == 0 })
	waitFor(t, "the abandoned request to be logged", func() bool {
		return e.logs.FilterMessage("request abandoned by the client").Len() == 1
	})
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
