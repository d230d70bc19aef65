package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/devenv"
	"github.com/enfance/enfance/workflows"
)

// assertNothingLost checks the money and capacity invariants of the demo org.
func (s *stack) assertNothingLost(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	q := db.New(s.pool)
	org, err := q.GetOrgBySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	for name, count := range map[string]func() (int64, error){
		"overbooked days":     func() (int64, error) { return q.CountOverbookedDays(ctx, org.ID) },
		"capacity mismatches": func() (int64, error) { return q.CountCapacityMismatches(ctx, org.ID) },
		"stuck carts":         func() (int64, error) { return q.CountStuckCarts(ctx, org.ID) },
		"ledger violations":   func() (int64, error) { return q.CountLedgerViolations(ctx, org.ID) },
	} {
		if n, err := count(); err != nil || n != 0 {
			t.Errorf("%s: %d (%v)", name, n, err)
		}
	}
}

// The Temporal server restarts while two families are paying: the PayFiP
// notifications that hit the API meanwhile are refused (503) and retried by PayFiP,
// the worker and the API reconnect, and both carts end paid exactly once.
func TestTemporalRestartDuringCheckouts(t *testing.T) {
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	opts := devenv.TemporalOptions{
		DBFile: filepath.Join(t.TempDir(), "temporal.db"), Port: port, Namespace: "default",
		SearchAttributes: workflows.SearchAttributes,
	}
	ctx := context.Background()
	temporal, err := devenv.StartTemporal(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = temporal.Stop() })
	s := newStack(t, func(c *config.Config) { c.TemporalAddress = temporal.Address() })

	var carts []cartView
	var payments []string
	for _, who := range [][2]string{{"martin@demo.enfance.test", "demo-martin-2026"}, {"bernard@demo.enfance.test", "demo-bernard-2026"}} {
		fam := s.login(who[0], who[1])
		cart := book(fam, "cantine", 3)
		var co checkoutAnswer
		fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
		carts, payments = append(carts, cart), append(payments, co.PaymentURL)
	}

	if err := temporal.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, u := range payments { // the payers pay while Temporal is down
		payOnPage(t, u, "P")
	}
	if temporal, err = devenv.StartTemporal(ctx, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = temporal.Stop() })

	for _, c := range carts {
		if got := s.cartEnds(*c.ID); got != "paid" {
			t.Fatalf("cart %s ended %q", *c.ID, got)
		}
	}
	if got := s.receiptsSent(2); got != 2 {
		t.Errorf("%d receipts, want 2", got)
	}
	s.assertNothingLost(t)
}

// A cart's workflow starts with the cart, once (issue 16): the days a family adds
// afterwards ask nothing of Temporal, so they go into the cart while Temporal is
// down; the cart is paid once it is back.
func TestDaysAddedAfterTheFirstAskNothingOfTemporal(t *testing.T) {
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	opts := devenv.TemporalOptions{
		DBFile: filepath.Join(t.TempDir(), "temporal.db"), Port: port, Namespace: "default",
		SearchAttributes: workflows.SearchAttributes,
	}
	ctx := context.Background()
	temporal, err := devenv.StartTemporal(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = temporal.Stop() })
	s := newStack(t, func(c *config.Config) { c.TemporalAddress = temporal.Address() })

	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	kid, cantine := child(fam), serviceByCode(fam, "cantine")
	days := availableDays(fam, kid, cantine.ID, 3)
	add := func(d day) int {
		var raw json.RawMessage
		return fam.status(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": []map[string]string{
			{"child_id": kid, "service_id": cantine.ID, "date": d.Date}}}, &raw)
	}
	if st := add(days[0]); st != http.StatusCreated { // the cart opens, its workflow starts
		t.Fatalf("first day: %d", st)
	}
	if err := temporal.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, d := range days[1:] {
		if st := add(d); st != http.StatusCreated {
			t.Fatalf("a day added with Temporal down: %d, want 201", st)
		}
	}
	var cart cartView
	fam.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &cart)
	if len(cart.Items) != 3 {
		t.Fatalf("the cart holds %d days, want 3", len(cart.Items))
	}
	if temporal, err = devenv.StartTemporal(ctx, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = temporal.Stop() })
	var co checkoutAnswer
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var raw json.RawMessage
		st := fam.status(http.MethodPost, "/api/v1/cart/checkout", nil, &raw)
		if st == http.StatusOK {
			if err := json.Unmarshal(raw, &co); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkout once Temporal is back: %d %s", st, raw)
		}
	}
	payOnPage(t, co.PaymentURL, "P")
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	s.assertNothingLost(t)
}

// PostgreSQL restarts in the middle of a family's session: the API answers 503
// problem+json meanwhile, then recovers by itself, and the booking and payment go
// through with nothing lost.
func TestPostgresRestartDuringABurst(t *testing.T) {
	ctx := context.Background()
	pgOpts, pg := privatePostgres(t)
	s := newStack(t, func(c *config.Config) { c.DatabaseURL = pg.URL("enfance") })

	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	kid, cantine := child(fam), serviceByCode(fam, "cantine")
	days := availableDays(fam, kid, cantine.ID, 4)

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	var problem map[string]any
	status := fam.status(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": []map[string]string{
		{"child_id": kid, "service_id": cantine.ID, "date": days[0].Date}}}, &problem)
	if status != http.StatusServiceUnavailable || !strings.Contains(problem["type"].(string), "unavailable") {
		t.Fatalf("with PostgreSQL down: %d %v, want 503 problem", status, problem)
	}

	pg, err := devenv.StartPostgres(ctx, pgOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	deadline := time.Now().Add(30 * time.Second)
	var cart cartView
	for {
		var raw json.RawMessage // a cart, or the problem of a 503
		items := []map[string]string{}
		for _, d := range days {
			items = append(items, map[string]string{"child_id": kid, "service_id": cantine.ID, "date": d.Date})
		}
		if st := fam.status(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items}, &raw); st == http.StatusCreated {
			if err := json.Unmarshal(raw, &cart); err != nil {
				t.Fatal(err)
			}
			break
		} else if st != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after PostgreSQL came back: %d", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	payOnPage(t, co.PaymentURL, "P")
	if got := s.cartEnds(*cart.ID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	if len(cart.Items) != 4 {
		t.Fatalf("cart held %d lines, want 4", len(cart.Items))
	}
	s.assertNothingLost(t)
}

// privatePostgres starts a PostgreSQL cluster of the test's own, with a database
// "enfance", to stop and start again; it is stopped at the end of the test.
func privatePostgres(t *testing.T) (devenv.PostgresOptions, *devenv.Postgres) {
	t.Helper()
	dir, err := os.MkdirTemp("", "enfance-chaos-pg-") // reachable by the postgres user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	opts := devenv.PostgresOptions{Dir: filepath.Join(dir, "pg"), Port: port, Database: "enfance", Ephemeral: true}
	pg, err := devenv.StartPostgres(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	return opts, pg
}

// PostgreSQL restarts while the engine sits idle between two clicks of a family
// (a restart by an operator, a failover): every connection in the pool of the API
// and the worker is dead. The very next requests — a login, the cart, one more
// day, "Payer" — are answered as if nothing happened, not with one 503 per dead
// connection; the payment goes through.
func TestPostgresRestartBetweenTwoClicks(t *testing.T) {
	ctx := context.Background()
	pgOpts, pg := privatePostgres(t)
	s := newStack(t, func(c *config.Config) { c.DatabaseURL = pg.URL("enfance") + "&pool_max_conns=4" })

	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	kid, cantine := child(fam), serviceByCode(fam, "cantine")
	days := availableDays(fam, kid, cantine.ID, 2)
	line := func(d day) map[string]any {
		return map[string]any{"items": []map[string]string{{"child_id": kid, "service_id": cantine.ID, "date": d.Date}}}
	}
	var cart cartView
	fam.do(http.MethodPost, "/api/v1/cart/items", line(days[0]), http.StatusCreated, &cart)

	// Every connection of the pool opened, used, and back idle.
	var held []*pgxpool.Conn
	for range s.pool.Config().MaxConns {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Release()
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	pg, err := devenv.StartPostgres(ctx, pgOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })

	s.login("bernard@demo.enfance.test", "demo-bernard-2026")
	fam.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &cart)
	fam.do(http.MethodPost, "/api/v1/cart/items", line(days[1]), http.StatusCreated, &cart)
	if len(cart.Items) != 2 {
		t.Fatalf("the cart holds %d days, want 2", len(cart.Items))
	}
	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	payOnPage(t, co.PaymentURL, "P")
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	s.assertNothingLost(t)
}
