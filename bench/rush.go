package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options of a rush.
type Options struct {
	APIURL      string // e.g. http://localhost:8080, or several API processes: http://localhost:8080,http://localhost:8081
	SimURL      string // the PayFiP simulator, switched to automatic payment
	DatabaseURL string // to seed the families and check the invariants
	// TemporalAddress is the Temporal frontend (host:port) the paid carts'
	// histories are read back from; empty: not read.
	TemporalAddress   string
	TemporalNamespace string
	Families          int
	Days              int // days booked per family, one of them on the capacity-limited service
	Concurrency       int
	Timeout           time.Duration // per family, checkout to paid
	// Cancellations: after the rush, this many families holding the limited day
	// cancel it; the families who found it full joined its waiting list and the
	// first ones get the freed places as offers, which they pay.
	Cancellations int
	// Profiles: for each Go profile base URL (METRICS_ADDR, e.g.
	// http://127.0.0.1:9091), a CPU profile of phase 2's first ProfileSeconds
	// is written to ProfilePrefix + "-<i>.pprof".
	Profiles       []string `json:",omitempty"`
	ProfileSeconds int      `json:",omitempty"`
	ProfilePrefix  string   `json:",omitempty"`
}

// Latency summarises one kind of call, in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Report is what a rush prints and writes. The run has two phases, as an
// opening morning has: the families log in (LoginPhase), then at one instant
// every parent adds days and pays. WallSeconds, CartsPerSecond, Processes and
// EngineVsLimit are the second phase's, the rush itself (the offers of the
// waiting list that follow with -cancel excluded).
type Report struct {
	Options          Options            `json:"options"`
	StartedAt        time.Time          `json:"started_at"`
	WallSeconds      float64            `json:"wall_seconds"`
	ConfirmedCarts   int                `json:"confirmed_carts"`
	CartsPerSecond   float64            `json:"confirmed_carts_per_second"`
	Reservations     int                `json:"reservations_confirmed"`
	Calls            map[string]Latency `json:"calls"`
	Errors           map[string]int     `json:"errors_by_kind"`
	Retries          map[string]int     `json:"retries_by_call"` // tries after the first, on another API process
	OverbookedDays   int                `json:"overbooked_days"`
	CountMismatches  int                `json:"capacity_count_mismatches"`
	StuckCarts       int                `json:"carts_neither_paid_nor_open"`
	LedgerViolations int                `json:"ledger_invariant_violations"`
	WaitlistJoined   int                `json:"waitlist_joined"`      // families that found the limited day full
	OffersPaid       int                `json:"waitlist_offers_paid"` // freed places offered and paid
	WaitlistBroken   int                `json:"waitlist_invariant_violations"`
	Processes        map[string]Usage   `json:"processes"`
	Limit            *LimitReport       `json:"limit,omitempty"`
	EngineVsLimit    float64            `json:"engine_over_limit_booking_writes"`

	LoginPhase     LoginPhase       `json:"login_phase"`
	LoginProcesses map[string]Usage `json:"login_processes"` // CPU of phase 1, per paid cart of phase 2
	ProcessesBy    string           `json:"processes_found_by"`
	// ReceiptsUnsent: paid carts whose receipt had not left 30 s after the rush.
	ReceiptsUnsent int           `json:"paid_carts_without_receipt"`
	History        *HistoryStats `json:"history_per_paid_cart,omitempty"`
	Targets        []Target      `json:"targets"`
}

// LoginPhase is phase 1: every family logs in (argon2id, as configured).
type LoginPhase struct {
	Families        int     `json:"families"`
	WallSeconds     float64 `json:"wall_seconds"`
	LoginsPerSecond float64 `json:"logins_per_second"`
	Latency         Latency `json:"latency"`
}

// Rush runs the scenario and checks the invariants afterwards.
func Rush(ctx context.Context, o Options) (*Report, error) {
	pool, err := pgxpool.New(ctx, o.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	fx, err := seed(ctx, pool, o.Families)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if len(fx.serviceDays) < o.Days {
		return nil, fmt.Errorf("only %d service days, want %d", len(fx.serviceDays), o.Days)
	}
	if err := simAuto(ctx, o.SimURL, true); err != nil {
		return nil, err
	}
	defer simAuto(context.WithoutCancel(ctx), o.SimURL, false) //nolint:errcheck

	apis := APIs(o.APIURL)
	if len(apis) == 0 {
		return nil, errors.New("no API URL")
	}
	st := findStack(apis, o.TemporalAddress, o.DatabaseURL)
	r := &Report{Options: o, StartedAt: time.Now(), Errors: map[string]int{}, Retries: map[string]int{}, Calls: map[string]Latency{}, ProcessesBy: st.by}
	var mu sync.Mutex
	samples := map[string][]time.Duration{}
	record := func(call string, d time.Duration) {
		mu.Lock()
		samples[call] = append(samples[call], d)
		mu.Unlock()
	}
	fail := func(kind string) {
		mu.Lock()
		r.Errors[kind]++
		mu.Unlock()
	}
	retried := func(call string) {
		mu.Lock()
		r.Retries[call]++
		mu.Unlock()
	}

	var holders, waiters []*parent // of the limited day, for the offers that follow
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency}}
	parents := make([]*parent, len(fx.families))
	for i := range parents {
		// Parents are spread over the API processes; one whose API fails moves
		// to the next.
		parents[i] = &parent{hc: hc, apis: apis, home: i % len(apis), record: record, retried: retried, fam: fx.families[i]}
	}

	// Phase 1: the families log in before the hour.
	before := st.sample()
	start := time.Now()
	loggedIn := each(ctx, parents, o.Concurrency, func(p *parent) bool {
		if kind, err := p.login(ctx); err != nil {
			fail(kind)
			return false
		}
		return true
	})
	r.LoginPhase = LoginPhase{Families: len(loggedIn), WallSeconds: time.Since(start).Seconds()}
	loginCPU := st.sample()
	if len(samples["login"]) > 0 {
		r.LoginPhase.Latency = summarise(samples["login"])
		r.LoginPhase.LoginsPerSecond = float64(len(samples["login"])) / r.LoginPhase.WallSeconds
	}

	// Phase 2: at one instant, every parent adds days and pays.
	profiled := profile(ctx, o)
	start = time.Now()
	var paidCarts []uuid.UUID
	each(ctx, loggedIn, o.Concurrency, func(p *parent) bool {
		cartID, kind, err := p.book(ctx, fx, o)
		if err != nil {
			fail(kind)
			return false
		}
		mu.Lock()
		r.ConfirmedCarts++
		if cartID != uuid.Nil {
			paidCarts = append(paidCarts, cartID)
		}
		if p.waiting != "" {
			waiters = append(waiters, p)
		} else {
			holders = append(holders, p)
		}
		mu.Unlock()
		return true
	})
	r.WallSeconds = time.Since(start).Seconds()
	r.CartsPerSecond = float64(r.ConfirmedCarts) / r.WallSeconds
	r.Processes = usageSince(loginCPU, st.sample(), r.ConfirmedCarts)
	r.LoginProcesses = usageSince(before, loginCPU, r.ConfirmedCarts)
	if err := profiled(); err != nil {
		return r, err
	}
	r.WaitlistJoined = len(waiters)
	if o.Cancellations > 0 {
		paid, err := offersPhase(ctx, fx, o, holders, waiters)
		r.OffersPaid = paid
		if err != nil {
			fail("offers")
		}
	}
	for call, ds := range samples {
		r.Calls[call] = summarise(ds)
	}
	if err := checkInvariants(ctx, pool, fx, r); err != nil {
		return r, err
	}
	if o.TemporalAddress != "" && len(paidCarts) > 0 {
		h, err := readHistories(ctx, o.TemporalAddress, o.TemporalNamespace, paidCarts)
		if err != nil {
			return r, fmt.Errorf("histories: %w", err)
		}
		r.History = h
	}
	if r.ReceiptsUnsent, err = waitForReceipts(ctx, pool, fx, 30*time.Second); err != nil {
		return r, err
	}
	r.Targets = Targets(r)
	return r, nil
}

// each runs fn for every parent, concurrency at a time, all starting at once,
// and returns the parents for which it succeeded, in their order.
func each(ctx context.Context, parents []*parent, concurrency int, fn func(*parent) bool) []*parent {
	ok := make([]bool, len(parents))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ok[i] = fn(parents[i])
			}
		}()
	}
	for i := range parents {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	var out []*parent
	for i, p := range parents {
		if ok[i] {
			out = append(out, p)
		}
	}
	return out
}

// APIs splits a comma-separated list of API base URLs.
func APIs(list string) []string {
	var out []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// parent is one family's browser session.
type parent struct {
	fam     benchFamily
	waiting string // the waiting-list entry of the limited day, when it was full
	hc      *http.Client
	apis    []string
	home    int // index in apis of the process this parent talks to
	token   string
	record  func(string, time.Duration)
	retried func(string)
	tries   int // of the last call
}

// maxTries bounds the tries of one call across the API processes.
const maxTries = 6

// call sends one request and decodes a 2xx answer into out. When the API
// process does not answer (refused, reset, timed out) or answers 502, 503 or
// 504, the same request is sent again to the next API process, up to maxTries
// times in all: a write carries one Idempotency-Key for all its tries, so the
// API applies it once. The latency recorded is the parent's, all tries
// included, for a call that got an answer.
func (p *parent) call(ctx context.Context, name, method, path string, body any, out any) (int, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	key := ""
	if method != http.MethodGet {
		key = uuid.NewString()
	}
	t0 := time.Now()
	var st int
	var err error
	for p.tries = 1; ; p.tries++ {
		st, err = p.send(ctx, method, p.apis[p.home]+path, key, raw, out)
		retry := err != nil || st == http.StatusBadGateway || st == http.StatusServiceUnavailable || st == http.StatusGatewayTimeout
		if !retry || p.tries == maxTries || ctx.Err() != nil {
			break
		}
		p.retried(name)
		p.home = (p.home + 1) % len(p.apis)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(p.tries) * 200 * time.Millisecond):
		}
	}
	if st != 0 { // an answer came, perhaps after retries: what the parent waited
		p.record(name, time.Since(t0))
	}
	return st, err
}

func (p *parent) send(ctx context.Context, method, url, key string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

var errStatus = errors.New("unexpected status")

// login is phase 1 for one parent.
func (p *parent) login(ctx context.Context) (string, error) {
	var login struct{ Token string }
	if st, err := p.call(ctx, "login", http.MethodPost, "/api/v1/auth/login", map[string]string{"login": p.fam.login, "password": Password}, &login); err != nil || st != 200 {
		return fmt.Sprintf("login_%d", st), errOr(err)
	}
	p.token = login.Token
	return "", nil
}

// book is phase 2 for one parent: look at the month, add the days (joining the
// limited day's waiting list when it is full), pay, and wait until the cart is
// paid. It returns the cart (uuid.Nil when a retried checkout did not say
// which), or the kind of error for the report.
func (p *parent) book(ctx context.Context, fx *fixture, o Options) (uuid.UUID, string, error) {
	fam := p.fam
	month := fx.serviceDays[0].Format("2006-01")
	if st, err := p.call(ctx, "calendar", http.MethodGet, "/api/v1/children/"+fam.child.String()+"/calendar?service_id="+fx.cantine.String()+"&month="+month, nil, nil); err != nil || st != 200 {
		return uuid.Nil, fmt.Sprintf("calendar_%d", st), errOr(err)
	}
	items := []map[string]string{{"child_id": fam.child.String(), "service_id": fx.mercredi.String(), "date": fx.serviceDays[0].Format(time.DateOnly)}}
	for _, d := range fx.serviceDays[1:o.Days] {
		items = append(items, map[string]string{"child_id": fam.child.String(), "service_id": fx.cantine.String(), "date": d.Format(time.DateOnly)})
	}
	st, err := p.call(ctx, "add_items", http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items}, nil)
	if err == nil && st == http.StatusConflict { // the limited day is full: join its list, book the rest
		var entry struct{ ID string }
		if st, err := p.call(ctx, "join_waitlist", http.MethodPost, "/api/v1/waitlist", items[0], &entry); err != nil || st != http.StatusCreated {
			return uuid.Nil, fmt.Sprintf("join_waitlist_%d", st), errOr(err)
		}
		p.waiting = entry.ID
		st, err = p.call(ctx, "add_items", http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items[1:]}, nil)
	}
	if err != nil || st != http.StatusCreated {
		return uuid.Nil, fmt.Sprintf("add_items_%d", st), errOr(err)
	}
	return p.pay(ctx, o)
}

// pay checks the cart out (PayFiP's simulator pays at once) and waits until it is
// paid.
func (p *parent) pay(ctx context.Context, o Options) (uuid.UUID, string, error) {
	var co struct {
		Status string
		CartID uuid.UUID `json:"cart_id"`
	}
	t0 := time.Now()
	st, err := p.call(ctx, "checkout", http.MethodPost, "/api/v1/cart/checkout", nil, &co)
	// A checkout retried after its first try went through finds the cart paid
	// already (nothing left to check out): the polling below tells.
	paidMeanwhile := p.tries > 1 && st == http.StatusConflict
	if (err != nil || st != 200) && !paidMeanwhile {
		return uuid.Nil, fmt.Sprintf("checkout_%d", st), errOr(err)
	}
	deadline := time.Now().Add(o.Timeout)
	for {
		var cart struct{ Status string }
		if st, err := p.call(ctx, "get_cart", http.MethodGet, "/api/v1/cart", nil, &cart); err != nil || st != 200 {
			return uuid.Nil, fmt.Sprintf("get_cart_%d", st), errOr(err)
		}
		if cart.Status == "empty" {
			p.record("checkout_to_paid", time.Since(t0))
			return co.CartID, "", nil
		}
		if time.Now().After(deadline) {
			return uuid.Nil, "not_paid_in_time", errStatus
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func errOr(err error) error {
	if err != nil {
		return err
	}
	return errStatus
}

func simAuto(ctx context.Context, simURL string, on bool) error {
	body := `{}`
	if on {
		body = `{"result":"P","delay_ms":300}`
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, simURL+"/sim/auto", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("PayFiP simulator at %s: %w", simURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("simulator auto mode: status %d", resp.StatusCode)
	}
	return nil
}

func summarise(ds []time.Duration) Latency {
	slices.Sort(ds)
	pct := func(p float64) float64 {
		i := int(p * float64(len(ds)-1))
		return float64(ds[i].Microseconds()) / 1000
	}
	return Latency{Count: len(ds), P50: pct(0.50), P95: pct(0.95), P99: pct(0.99), Max: float64(ds[len(ds)-1].Microseconds()) / 1000}
}
