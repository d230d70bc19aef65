package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/enfance/enfance/api"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/demo"
	"github.com/enfance/enfance/payfip/sim"
	"github.com/enfance/enfance/workflows"
)

// PayFiP's callbacks over HTTP against the whole stack. Nothing in a callback is
// believed: it only wakes the cart's workflow, which reads the result from PayFiP
// and checks it. Forged, early, duplicated and concurrent notifications change
// nothing, or exactly what one genuine notification would.

// callback sends a PayFiP callback shaped as the test says and returns the status
// and body (redirects are not followed: the Location is in the body's place).
func callback(t *testing.T, method, target string, form url.Values, accept string) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if loc := resp.Header.Get("Location"); loc != "" {
		return resp.StatusCode, loc
	}
	return resp.StatusCode, string(raw)
}

// returnAnswer is /payfip/return's JSON for API clients.
type returnAnswer struct {
	Status    string `json:"status"`
	PaymentID string `json:"payment_id"`
	CartID    string `json:"cart_id"`
	ResultURL string `json:"result_url"`
}

func idOpOf(paymentURL string) string { return paymentURL[strings.Index(paymentURL, "idop=")+5:] }

// cartHistory counts, in the cart's workflow history, the signals received and
// the CheckPayment activities completed.
func (s *stack) cartHistory(cartID string) (signals, checks int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := s.temporal.GetWorkflowHistory(ctx, workflows.CartWorkflowID(uuid.MustParse(cartID)), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			signals++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[e.GetEventId()] = e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if scheduled[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()] == "CheckPayment" {
				checks++
			}
		case enumspb.EVENT_TYPE_MARKER_RECORDED: // the local activity that reads PayFiP (FlowLocal)
			if localActivity(s.t, e) == "SettleCart" {
				checks++
			}
		}
	}
	return signals, checks
}

// localActivity names the local activity a marker records ("" for another marker).
func localActivity(t *testing.T, e *historypb.HistoryEvent) string {
	t.Helper()
	m := e.GetMarkerRecordedEventAttributes()
	if m.GetMarkerName() != "LocalActivity" {
		return ""
	}
	var data struct{ ActivityType string }
	if err := converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["data"], &data); err != nil {
		t.Fatal(err)
	}
	return data.ActivityType
}

// eventually polls cond every 50 ms for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type moneyState struct {
	AttemptStatus string
	Notified      bool
	CartStatus    string
	Ledger        int
	Payments      int64
	Reservations  int
}

func (s *stack) moneyState(paymentID string) moneyState {
	s.t.Helper()
	var m moneyState
	if err := s.pool.QueryRow(context.Background(), `
		SELECT a.status, a.notified_at IS NOT NULL, c.status,
		       (SELECT count(*) FROM ledger_entries l WHERE l.family_id = a.family_id),
		       (SELECT COALESCE(sum(outstanding_cents), 0) FROM ledger_entries l WHERE l.family_id = a.family_id AND l.kind = 'payment'),
		       (SELECT count(*) FROM reservations r WHERE r.family_id = a.family_id)
		FROM payment_attempts a JOIN carts c ON c.id = a.cart_id WHERE a.id = $1`, paymentID).
		Scan(&m.AttemptStatus, &m.Notified, &m.CartStatus, &m.Ledger, &m.Payments, &m.Reservations); err != nil {
		s.t.Fatal(err)
	}
	return m
}

// Every shape PayFiP (or a browser) may use reaches the workflow, which reads
// the result itself: before the payer has paid, PayFiP answers P5 and nothing
// happens, whatever the request claims (resultrans=P, a montant …). Once paid, one
// callback is enough; the browser coming back is sent to the result page, an API
// client gets JSON.
func TestPayFiPCallbacksOnlyWakeTheWorkflow(t *testing.T) {
	// Each callback here must reach the workflow: no coalescing (see TestNotificationFloodAsksPayFiPOnce).
	s := newStack(t, func(c *config.Config) { c.PayFiPNotifyCooldown = time.Nanosecond })
	s.sim.SetFaults(sim.Faults{LoseNotifications: true}) // the test is PayFiP's only voice
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	book(fam, "cantine", 2)
	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	idOp := idOpOf(co.PaymentURL)
	before := s.moneyState(co.PaymentID)
	if before.AttemptStatus != "pending" || before.Notified || before.CartStatus != "checking_out" {
		t.Fatalf("after checkout: %+v", before)
	}

	shapes := []struct {
		name, method, path string
		query, form        url.Values
		accept             string
	}{
		{"GET query idOp", http.MethodGet, "/payfip/notify", url.Values{"idOp": {idOp}}, nil, ""},
		{"GET query idop, forged result", http.MethodGet, "/payfip/notify", url.Values{"idop": {idOp}, "resultrans": {"P"}, "montant": {"1"}, "numauto": {"123456"}}, nil, ""},
		{"POST form idop, forged result", http.MethodPost, "/payfip/notify", nil, url.Values{"idop": {idOp}, "resultrans": {"P"}}, ""},
		{"POST form idOp", http.MethodPost, "/payfip/notify", nil, url.Values{"idOp": {idOp}}, ""},
		{"POST query idop", http.MethodPost, "/payfip/notify", url.Values{"idop": {idOp}}, nil, ""},
		{"return, API client", http.MethodGet, "/payfip/return", url.Values{"idop": {idOp}, "resultrans": {"V"}}, nil, "application/json"},
	}
	for i, sh := range shapes {
		target := s.api + sh.path
		if sh.query != nil {
			target += "?" + sh.query.Encode()
		}
		status, body := callback(t, sh.method, target, sh.form, sh.accept)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d %s", sh.name, status, body)
		}
		if sh.accept != "" {
			var out returnAnswer
			if err := json.Unmarshal([]byte(body), &out); err != nil || out.Status != "processing" || out.PaymentID != co.PaymentID {
				t.Fatalf("%s: %s (%v)", sh.name, body, err)
			}
		} else if body != "OK" {
			t.Fatalf("%s: body %q", sh.name, body)
		}
		// The workflow was woken and asked PayFiP: one more check, no effect.
		eventually(t, sh.name+": the workflow reads PayFiP", func() bool {
			_, checks := s.cartHistory(co.CartID)
			return checks == i+1
		})
		if signals, _ := s.cartHistory(co.CartID); signals != i+1 {
			t.Fatalf("%s: %d signals", sh.name, signals)
		}
		if m := s.moneyState(co.PaymentID); m != (moneyState{AttemptStatus: "pending", Notified: true, CartStatus: "checking_out"}) {
			t.Fatalf("%s: a callback before the payment changed %+v", sh.name, m)
		}
	}
	var state workflows.CartState
	v, err := s.temporal.QueryWorkflow(context.Background(), workflows.CartWorkflowID(uuid.MustParse(co.CartID)), "", workflows.CartQuery)
	if err != nil || v.Get(&state) != nil || state.Status != workflows.StatusCheckingOut || !strings.Contains(state.Details, "not known yet") {
		t.Fatalf("cart workflow after the early callbacks: %+v %v", state, err)
	}

	// Now the payer pays (PayFiP's own notification is lost); one callback suffices.
	if err := s.sim.Pay(idOp, "P"); err != nil {
		t.Fatal(err)
	}
	if status, body := callback(t, http.MethodPost, s.api+"/payfip/notify", url.Values{"idOp": {idOp}}, ""); status != http.StatusOK {
		t.Fatalf("notify: %d %s", status, body)
	}
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	if m := s.moneyState(co.PaymentID); m.AttemptStatus != "paid" || m.Payments != -300 || m.Reservations != 2 || m.Ledger != 3 {
		t.Fatalf("after payment: %+v", m)
	}

	// The payer's browser comes back: 303 to the portal's result route.
	status, loc := callback(t, http.MethodGet, s.api+"/payfip/return?idop="+url.QueryEscape(idOp), nil, "text/html")
	if status != http.StatusSeeOther || loc != "/#/paiement?idop="+url.QueryEscape(idOp) {
		t.Fatalf("return: %d %q", status, loc)
	}
	if status, loc := callback(t, http.MethodPost, s.api+"/payfip/return", url.Values{"idOp": {idOp}}, ""); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/#/paiement?idop=") {
		t.Fatalf("return (POST): %d %q", status, loc)
	}
	// An API client reads the outcome in JSON, and a result page without the portal.
	_, body := callback(t, http.MethodGet, s.api+"/payfip/return?idOp="+url.QueryEscape(idOp), nil, "application/json")
	var out returnAnswer
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Status != "paid" || out.PaymentID != co.PaymentID || out.CartID != co.CartID || !strings.HasPrefix(out.ResultURL, "/paiement/resultat?idop=") {
		t.Fatalf("return (JSON): %s %v", body, err)
	}
	if status, page := callback(t, http.MethodGet, s.api+out.ResultURL, nil, ""); status != http.StatusOK || !strings.Contains(page, "Paiement effectué") {
		t.Fatalf("result page: %d %s", status, page)
	}
	if m := s.moneyState(co.PaymentID); m.Payments != -300 || m.Reservations != 2 || m.Ledger != 3 {
		t.Fatalf("callbacks after the end changed %+v", m)
	}
}

// observedAPI serves the stack's API a second time with a logger the test reads.
func (s *stack) observedAPI(options ...func(*config.Config)) (string, *observer.ObservedLogs) {
	s.t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	return s.replica(zap.New(core), nil, options...), logs
}

// replica serves the stack's API once more, as another API process would, with
// its logger, its clock (nil: the real one) and the stack's configuration edited
// by options.
func (s *stack) replica(log *zap.Logger, now func() time.Time, options ...func(*config.Config)) string {
	return s.serve(api.Options{Temporal: s.temporal, Logger: log, Now: now}, options...)
}

// serve serves the stack's API once more with o (its pool and configuration
// are the stack's, the configuration edited by options) and returns its URL.
func (s *stack) serve(o api.Options, options ...func(*config.Config)) string {
	s.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	o.Config = s.cfg
	o.Config.PublicURL = "http://" + ln.Addr().String()
	for _, edit := range options {
		edit(&o.Config)
	}
	o.Pool = s.pool
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: api.New(o).Handler()}}
	srv.Start()
	s.t.Cleanup(srv.Close)
	return o.Config.PublicURL
}

// paidOnPayFiP books n days of service code for fam, checks out, and has the
// payer pay on PayFiP (the simulator); what the engine hears of it is the test's.
func (s *stack) paidOnPayFiP(fam *apiClient, code string, n int) checkoutAnswer {
	s.t.Helper()
	book(fam, code, n)
	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	if err := s.sim.Pay(idOpOf(co.PaymentURL), "P"); err != nil {
		s.t.Fatal(err)
	}
	return co
}

// lostSignals is the stack's Temporal client as an API process sees it when the
// Temporal frontend dies under it: its next failures signals fail.
type lostSignals struct {
	client.Client
	failures atomic.Int32
}

func (l *lostSignals) SignalWorkflow(ctx context.Context, id, run, name string, arg any) error {
	if l.failures.Add(-1) >= 0 {
		return serviceerror.NewUnavailable("the Temporal frontend went away")
	}
	return l.Client.SignalWorkflow(ctx, id, run, name, arg)
}

// PayFiP's notification reaches an API process whose Temporal frontend dies in the
// middle: the workflow was not woken, so the notification is refused (503) and
// nothing is recorded — PayFiP's next try wakes it, whether it reaches the same
// process (its per-idOp shedding forgets a notification it failed to relay) or
// another. Otherwise the retries are coalesced with a wake-up that never happened
// and the paid cart waits for the workflow's first reading, 16 minutes later.
func TestNotificationWhoseWakeUpFailedIsRelayedAgain(t *testing.T) {
	// Notifications are coalesced, as in production; the test is PayFiP's only voice.
	s := newStack(t)
	s.sim.SetFaults(sim.Faults{LoseNotifications: true})
	signals := &lostSignals{Client: s.temporal}
	signals.failures.Store(2)
	dying := s.serve(api.Options{Temporal: signals, Logger: zap.NewNop()})

	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	co := s.paidOnPayFiP(fam, "cantine", 1)
	idOp := idOpOf(co.PaymentURL)
	notify := func(base string) (int, string) {
		return callback(t, http.MethodGet, base+"/payfip/notify?idop="+url.QueryEscape(idOp), nil, "")
	}
	for try := 1; try <= 2; try++ { // the same process, twice: its signal fails both times
		if status, body := notify(dying); status != http.StatusServiceUnavailable {
			t.Fatalf("try %d, signal lost: %d %q, want 503 so that PayFiP tries again", try, status, body)
		}
	}
	if m := s.moneyState(co.PaymentID); m.Notified || m.AttemptStatus != "pending" {
		t.Fatalf("a notification that woke nobody was recorded: %+v", m)
	}
	if signals, _ := s.cartHistory(co.CartID); signals != 0 {
		t.Fatalf("%d signals in the cart's history", signals)
	}
	// PayFiP tries again and reaches the other replica: the workflow wakes now.
	if status, body := notify(s.api); status != http.StatusOK || body != "OK" {
		t.Fatalf("retry: %d %q", status, body)
	}
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	if m := s.moneyState(co.PaymentID); m.AttemptStatus != "paid" || !m.Notified || m.Payments != -150 || m.Reservations != 1 {
		t.Fatalf("after the retry: %+v", m)
	}

	// The same on one process: the retry that reaches the process that failed is
	// relayed, not shed as a duplicate of the failed one.
	signals.failures.Store(1)
	co = s.paidOnPayFiP(fam, "cantine", 1)
	idOp = idOpOf(co.PaymentURL)
	if status, _ := notify(dying); status != http.StatusServiceUnavailable {
		t.Fatalf("signal lost: %d, want 503", status)
	}
	if status, body := notify(dying); status != http.StatusOK || body != "OK" {
		t.Fatalf("retry on the same process: %d %q", status, body)
	}
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("second cart ended %q", got)
	}
}

// A notification for an idOp we did not create is answered 200 (PayFiP must not
// retry it), logged, and changes nothing anywhere.
func TestForgedPayFiPNotificationsChangeNothing(t *testing.T) {
	s := newStack(t)
	s.sim.SetFaults(sim.Faults{LoseNotifications: true})
	// Each forged callback is looked up and logged: no coalescing by idOp.
	base, logs := s.observedAPI(func(c *config.Config) { c.PayFiPNotifyCooldown = time.Nanosecond })
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	book(fam, "cantine", 1)
	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	// The payer has really paid: a forged notification must not be what settles it.
	if err := s.sim.Pay(idOpOf(co.PaymentURL), "P"); err != nil {
		t.Fatal(err)
	}

	unknown := uuid.NewString()
	forged := []struct {
		method, target string
		form           url.Values
	}{
		{http.MethodGet, "/payfip/notify?idop=" + unknown, nil},
		{http.MethodGet, "/payfip/notify?idOp=" + unknown + "&resultrans=P&montant=150", nil},
		{http.MethodPost, "/payfip/notify", url.Values{"idop": {unknown}, "resultrans": {"P"}}},
		{http.MethodPost, "/payfip/notify", url.Values{"idOp": {"' OR 1=1 --"}}},
		{http.MethodGet, "/payfip/notify?idop=" + strings.Repeat("a", 65), nil},
		{http.MethodGet, "/payfip/notify?resultrans=P", nil},
		{http.MethodPost, "/payfip/notify", url.Values{"resultrans": {"P"}, "refdet": {"ENF000"}}},
	}
	for _, f := range forged {
		if status, body := callback(t, f.method, base+f.target, f.form, ""); status != http.StatusOK || body != "OK" {
			t.Fatalf("%s %s: %d %q", f.method, f.target, status, body)
		}
	}
	if status, loc := callback(t, http.MethodGet, base+"/payfip/return?idop="+unknown+"&resultrans=P", nil, ""); status != http.StatusSeeOther {
		t.Fatalf("forged return: %d %q", status, loc)
	}
	if _, page := callback(t, http.MethodGet, base+"/paiement/resultat?idop="+unknown, nil, ""); !strings.Contains(page, "Paiement inconnu") {
		t.Fatalf("result page for an unknown idOp: %s", page)
	}
	if _, body := callback(t, http.MethodGet, base+"/payfip/return?idop="+unknown, nil, "application/json"); strings.TrimSpace(body) != `{"status":"unknown"}` {
		t.Fatalf("forged return (JSON): %s", body)
	}

	if n := logs.FilterMessage("payfip callback for an unknown idOp").Len(); n != 6 {
		t.Fatalf("%d unknown idOps logged, want 6: %v", n, logs.All())
	}
	if n := logs.FilterMessage("payfip callback without a usable idOp").Len(); n != 3 {
		t.Fatalf("%d callbacks without a usable idOp logged, want 3", n)
	}
	for _, e := range logs.FilterMessage("payfip callback for an unknown idOp").All() {
		if e.Level != zap.WarnLevel || e.ContextMap()["idop"] == "" {
			t.Fatalf("log entry %+v", e)
		}
	}
	// The real attempt heard nothing: no signal reached its cart, nothing moved.
	if signals, checks := s.cartHistory(co.CartID); signals != 0 || checks != 0 {
		t.Fatalf("the cart's workflow got %d signals and read PayFiP %d times", signals, checks)
	}
	if m := s.moneyState(co.PaymentID); m != (moneyState{AttemptStatus: "pending", CartStatus: "checking_out"}) {
		t.Fatalf("forged notifications changed %+v", m)
	}
	var attempts int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM payment_attempts WHERE notified_at IS NOT NULL OR status <> 'pending'`).Scan(&attempts); err != nil || attempts != 0 {
		t.Fatalf("%d attempts touched (%v)", attempts, err)
	}
}

// PayFiP notifies ten times at once (the simulator's DuplicateNotifications) while
// ten more notifications race in over HTTP: the workflow reads PayFiP as often as
// it likes, but the money is written once — one payment, each reservation once,
// one receipt.
func TestConcurrentDuplicateNotificationsConfirmOnce(t *testing.T) {
	s := newStack(t)
	s.sim.SetFaults(sim.Faults{DuplicateNotifications: 10})
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	book(fam, "cantine", 3)
	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	idOp := idOpOf(co.PaymentURL)

	fire := func(round string) {
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan string, 10)
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var req *http.Request
				switch i % 3 {
				case 0:
					req, _ = http.NewRequest(http.MethodGet, s.api+"/payfip/notify?idop="+url.QueryEscape(idOp), nil)
				case 1:
					req, _ = http.NewRequest(http.MethodPost, s.api+"/payfip/notify", strings.NewReader(url.Values{"idOp": {idOp}, "resultrans": {"P"}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				default:
					req, _ = http.NewRequest(http.MethodGet, s.api+"/payfip/return?idOp="+url.QueryEscape(idOp), nil)
					req.Header.Set("Accept", "application/json")
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- round + ": status " + resp.Status
				}
			}()
		}
		close(start)
		if round == "with the payment" {
			payOnPage(t, co.PaymentURL, "P")
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
	}
	fire("with the payment")
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	eventually(t, "the simulator's ten notifications", func() bool {
		p, _ := s.sim.Payment(idOp)
		return p.Notified == 10
	})
	fire("after the end") // the workflow has ended: answered, logged, nothing more

	m := s.moneyState(co.PaymentID)
	if m.AttemptStatus != "paid" || m.CartStatus != "paid" || m.Payments != -450 || m.Reservations != 3 || m.Ledger != 4 {
		t.Fatalf("money after duplicated notifications: %+v", m)
	}
	var payments int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_entries WHERE kind = 'payment'`).Scan(&payments); err != nil || payments != 1 {
		t.Fatalf("%d payment entries (%v)", payments, err)
	}
	if n := s.receiptsSent(1); n != 1 {
		t.Fatalf("%d receipts", n)
	}
	s.noLedgerViolation()
	if signals, checks := s.cartHistory(co.CartID); signals < 1 || checks < 1 {
		t.Fatalf("history: %d signals, %d checks", signals, checks)
	}
}

func (s *stack) noLedgerViolation() {
	s.t.Helper()
	q := db.New(s.pool)
	org, err := q.GetOrgBySlug(context.Background(), demo.OrgSlug)
	if err != nil {
		s.t.Fatal(err)
	}
	if n, err := q.CountLedgerViolations(context.Background(), org.ID); err != nil || n != 0 {
		s.t.Fatalf("ledger invariants: %d families in violation (%v)", n, err)
	}
}

// The family is back from PayFiP, but PayFiP's notification was lost and its
// browser's return never reached us (shed, or a closed tab): its result page
// asks for the payment to be checked (POST /payments/{id}/check), which wakes
// the workflow — it reads PayFiP itself — once per cooldown whoever asks, never
// records a notification, and answers 404 for another family's payment.
func TestResultPageHasThePaymentChecked(t *testing.T) {
	s := newStack(t)
	s.sim.SetFaults(sim.Faults{LoseNotifications: true})
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	co := s.paidOnPayFiP(fam, "cantine", 1)
	other := s.login("bernard@demo.enfance.test", "demo-bernard-2026")
	other.do(http.MethodPost, "/api/v1/payments/"+co.PaymentID+"/check", map[string]any{}, http.StatusNotFound, nil)

	var p struct{ Status string }
	for range 3 { // the page asks; a reload asks again within the cooldown
		fam.do(http.MethodPost, "/api/v1/payments/"+co.PaymentID+"/check", map[string]any{}, http.StatusAccepted, &p)
	}
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	if signals, _ := s.cartHistory(co.CartID); signals != 1 {
		t.Fatalf("%d signals for three checks within the cooldown, want 1", signals)
	}
	if m := s.moneyState(co.PaymentID); m.AttemptStatus != "paid" || m.Notified || m.Payments != -150 {
		t.Fatalf("after the check: %+v (a check is not PayFiP's notification)", m)
	}
	fam.do(http.MethodPost, "/api/v1/payments/"+co.PaymentID+"/check", map[string]any{}, http.StatusAccepted, &p)
	if p.Status != "paid" {
		t.Fatalf("checked once paid: %q", p.Status)
	}
}
