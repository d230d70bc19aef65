package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/enfance/enfance/api"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/password"
	"github.com/enfance/enfance/testenv"
)

// accountEnv is the API over a fresh database with a clock the test moves, a
// mailer that hands the test every message, and every log line kept (to prove no
// secret is ever logged).
type accountEnv struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	q     *db.Queries
	cfg   config.Config
	api   *api.Server
	base  string
	clock *testClock
	mail  *mailbox
	logs  *observer.ObservedLogs
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mailbox receives what the API sends.
type mailbox struct{ ch chan mail.Message }

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.ch <- msg
	return nil
}

// next waits for the next message (the API sends in the background).
func (m *mailbox) next(t *testing.T) mail.Message {
	t.Helper()
	select {
	case msg := <-m.ch:
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no e-mail sent")
	}
	return mail.Message{}
}

// empty checks that nothing was sent once the API's background sends are done.
func (e *accountEnv) noMail() {
	e.t.Helper()
	e.api.Wait()
	select {
	case msg := <-e.mail.ch:
		e.t.Fatalf("unexpected e-mail to %v: %q", msg.To, msg.Subject)
	default:
	}
}

func newAccountEnv(t *testing.T, edit func(*config.Config)) *accountEnv {
	t.Helper()
	pool, _ := testenv.Database(t)
	cfg, err := config.Load("dev")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "https://portail.example.fr"
	if edit != nil {
		edit(&cfg)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	e := &accountEnv{
		t: t, ctx: context.Background(), pool: pool, q: db.New(pool), cfg: cfg,
		clock: &testClock{now: time.Now()}, mail: &mailbox{ch: make(chan mail.Message, 100)}, logs: logs,
	}
	e.api = api.New(api.Options{Config: cfg, Pool: pool, Logger: zap.New(core), Now: e.clock.Now, Mail: e.mail})
	srv := httptest.NewServer(e.api.Handler())
	t.Cleanup(e.api.Wait) // before the database goes (cleanups run last-in first-out)
	t.Cleanup(srv.Close)
	e.base = srv.URL
	return e
}

// another serves the same database from a second API process, as a second replica.
func (e *accountEnv) another() string {
	core, _ := observer.New(zapcore.InfoLevel)
	a := api.New(api.Options{Config: e.cfg, Pool: e.pool, Logger: zap.New(core), Now: e.clock.Now, Mail: e.mail})
	srv := httptest.NewServer(a.Handler())
	e.t.Cleanup(a.Wait)
	e.t.Cleanup(srv.Close)
	return srv.URL
}

func (e *accountEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *accountEnv) newOrg(email string) uuid.UUID {
	id := uuid.New()
	e.must(e.q.InsertOrg(e.ctx, db.InsertOrgParams{ID: id, Slug: "org-" + id.String()[:8], Name: "Ville " + id.String()[:4],
		Numcli: "123456", Saisie: "T", TimeZone: "Europe/Paris", Email: email}))
	return id
}

func (e *accountEnv) newFamily(org uuid.UUID, name string) uuid.UUID {
	id := uuid.New()
	e.must(e.q.InsertFamily(e.ctx, db.InsertFamilyParams{ID: id, OrgID: org, Name: name, Email: strings.ToLower(name) + "@famille.test", Phone: "0102030405", Qf: 650}))
	birth := time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC)
	e.must(e.q.InsertMember(e.ctx, db.InsertMemberParams{ID: uuid.New(), OrgID: org, FamilyID: id, Kind: "child", FirstName: "Léa", LastName: name, BirthDate: &birth}))
	return id
}

// newUser creates an account; pw "" leaves it without a password.
func (e *accountEnv) newUser(org uuid.UUID, role string, family *uuid.UUID, login, pw string) uuid.UUID {
	e.t.Helper()
	hash := ""
	if pw != "" {
		var err error
		hash, err = password.Hash(e.ctx, pw)
		e.must(err)
	}
	id := uuid.New()
	e.must(e.q.InsertUser(e.ctx, db.InsertUserParams{ID: id, OrgID: org, Login: login, PasswordHash: hash, Role: role, FamilyID: family}))
	return id
}

// session opens a session for a new account of the role without a password hash.
func (e *accountEnv) session(org uuid.UUID, role string, family *uuid.UUID) *peer {
	e.t.Helper()
	user := e.newUser(org, role, family, uuid.NewString()+"@test", "")
	token := uuid.NewString() + uuid.NewString()
	hash := sha256.Sum256([]byte(token))
	e.must(e.q.CreateSession(e.ctx, db.CreateSessionParams{TokenHash: hash[:], UserID: user, CsrfToken: "csrf", ExpiresAt: time.Now().Add(time.Hour)}))
	return &peer{t: e.t, base: e.base, token: token, userID: user}
}

func (e *accountEnv) anon() *peer { return &peer{t: e.t, base: e.base} }

// login logs in through the API.
func (e *accountEnv) login(login, pw string) *peer {
	e.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	e.anon().expect(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": login, "password": pw}, http.StatusOK, &out)
	return &peer{t: e.t, base: e.base, token: out.Token}
}

func (e *accountEnv) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	e.must(e.pool.QueryRow(e.ctx, sql, args...).Scan(&n))
	return n
}

// peer speaks to the API as a portal does: JSON and a Bearer token (none: anonymous).
type peer struct {
	t      *testing.T
	base   string
	token  string
	userID uuid.UUID
	header http.Header // sent with every request
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (r response) problem(t *testing.T) problemDoc {
	t.Helper()
	var p problemDoc
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("not a problem document: %s", r.body)
	}
	return p
}

// send sends body (JSON, or raw bytes with the content type in h) and returns the answer.
func (c *peer) send(method, path string, body any, h http.Header) response {
	c.t.Helper()
	var rd io.Reader
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
		req.Header.Set("Content-Type", "application/json")
	}
	if rd != nil {
		req, _ = http.NewRequest(method, c.base+path, rd)
		if _, ok := body.([]byte); !ok {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, raw, resp.Header}
}

func (c *peer) expect(method, path string, body any, want int, out any) response {
	c.t.Helper()
	r := c.send(method, path, body, nil)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, r.body, err)
		}
	}
	return r
}

// fails checks a problem+json answer of the given status and type slug.
func (c *peer) fails(method, path string, body any, h http.Header, want int, slug string) problemDoc {
	c.t.Helper()
	r := c.send(method, path, body, h)
	p := r.problem(c.t)
	if r.status != want || p.Status != want || p.Type != "https://enfance.fr/problems/"+slug || p.Title == "" ||
		r.header.Get("Content-Type") != "application/problem+json" {
		c.t.Fatalf("%s %s: %d %s, want %d %s: %s", method, path, r.status, r.header.Get("Content-Type"), want, slug, r.body)
	}
	return p
}

// tokenIn finds the token of a link in a mail.
func tokenIn(t *testing.T, text, route string) string {
	t.Helper()
	i := strings.Index(text, "https://portail.example.fr/#/"+route+"?token=")
	if i < 0 {
		t.Fatalf("no %s link in %q", route, text)
	}
	link := strings.Fields(text[i:])[0]
	u, err := url.Parse(strings.Replace(link, "/#/", "/", 1))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// noSecretLogged fails if any log line holds one of the secrets.
func (e *accountEnv) noSecretLogged(secrets ...string) {
	e.t.Helper()
	e.api.Wait()
	for _, entry := range e.logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += " " + k + "=" + toString(v)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				e.t.Fatalf("a secret was logged: %s", line)
			}
		}
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func decode(t *testing.T, raw []byte, out any) {
	t.Helper()
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}
