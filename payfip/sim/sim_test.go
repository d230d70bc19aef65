package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
)

const nsService = "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/contrat_paiement_securise/PaiementSecuriseService"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// receiver is the engine side: it records the notifications it gets.
type receiver struct {
	srv    *httptest.Server
	got    chan string // idop of each notification
	calls  atomic.Int32
	failN  atomic.Int32 // answer 503 to this many first calls
	method chan string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: make(chan string, 100), method: make(chan string, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.calls.Add(1)
		if n <= r.failN.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.method <- req.Method
		r.got <- req.URL.Query().Get("idop")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// waitN waits for n notifications for idOp; it fails after 5 s.
func (r *receiver) waitN(t *testing.T, idOp string, n int) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case got := <-r.got:
			if got != idOp {
				t.Fatalf("notification for %q, want %q", got, idOp)
			}
		case <-timeout:
			t.Fatalf("got %d notifications, want %d", i, n)
		}
	}
}

type env struct {
	sim    *sim.Simulator
	srv    *httptest.Server
	client *payfip.Client
	clock  *clock
	recv   *receiver
}

func newEnv(t *testing.T, o sim.Options) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 11, 3, 17, 45, 0, 0, time.UTC)} // 18:45 in Paris
	if o.Clock == nil {
		o.Clock = clk.Now
	}
	s := sim.New(o)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	c := payfip.NewClient(payfip.Config{Endpoint: srv.URL + "/tpa/services/securite", PaymentURL: srv.URL + "/tpa/paiementws.web", Timeout: 5 * time.Second}, nil)
	return &env{sim: s, srv: srv, client: c, clock: clk, recv: newReceiver(t)}
}

var refN atomic.Int64

func (e *env) create(t *testing.T, mod ...func(*payfip.PaymentRequest)) (string, payfip.PaymentRequest) {
	t.Helper()
	r := payfip.PaymentRequest{
		Exer: 2025, Mel: "parent@example.org", AmountCents: 1250, Numcli: "123456", Objet: "Cantine novembre",
		Refdet: fmt.Sprintf("SIMTEST%06d", refN.Add(1)), Saisie: "T",
		URLNotif: e.recv.srv.URL + "/payfip/notif?org=7", URLRedirect: "https://portail.example.org/retour?org=7",
	}
	for _, m := range mod {
		m(&r)
	}
	idOp, err := e.client.CreatePayment(context.Background(), r)
	if err != nil {
		t.Fatalf("CreatePayment: %v", err)
	}
	return idOp, r
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postForm(t *testing.T, u string, v url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func doJSON(t *testing.T, method, u, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, u, err)
	}
	return resp.StatusCode, out
}

func sentOf(r payfip.PaymentRequest, idOp string, at time.Time) payfip.Sent {
	return payfip.Sent{IDOp: idOp, Numcli: r.Numcli, Refdet: r.Refdet, Exer: r.Exer, AmountCents: r.AmountCents, Saisie: r.Saisie, CreatedAt: at, TestPayments: true}
}

func TestPageFlow(t *testing.T) {
	e := newEnv(t, sim.Options{})
	idOp, req := e.create(t)
	created := e.clock.Now()

	status, page := get(t, e.client.PaymentPageURL(idOp))
	if status != http.StatusOK {
		t.Fatalf("page status %d", status)
	}
	for _, want := range []string{
		`lang="fr"`, "VILLE DE DEMO", "REGIE PERISCOLAIRE", "Cantine novembre", "12,50 €", req.Refdet,
		`<form method="post" action="/tpa/paiementws.web">`,
		`<input type="hidden" name="idop" value="` + idOp + `">`,
		`name="resultrans" value="P">Payer par carte</button>`,
		`name="resultrans" value="V">Payer par prélèvement</button>`,
		`name="resultrans" value="R">Carte refusée</button>`,
		`name="resultrans" value="A">Abandonner</button>`,
		"Mode test",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	e.clock.Add(4 * time.Minute) // pays at 18:49 Paris
	status, ticket := postForm(t, e.srv.URL+"/tpa/paiementws.web", url.Values{"idop": {idOp}, "resultrans": {"P"}})
	if status != http.StatusOK {
		t.Fatalf("ticket status %d", status)
	}
	wantLink := `<a class="back" href="https://portail.example.org/retour?idop=` + idOp + `&amp;org=7">Retour au site</a>`
	if !strings.Contains(ticket, wantLink) || !strings.Contains(ticket, "accepté") || !strings.Contains(ticket, "03/11/2025 à 18:49") {
		t.Fatalf("ticket lacks the return link, result or date:\n%s", ticket)
	}
	e.recv.waitN(t, idOp, 1)
	if m := <-e.recv.method; m != http.MethodGet {
		t.Fatalf("notification method %s", m)
	}

	// A second submission changes nothing and does not notify again.
	status, ticket = postForm(t, e.srv.URL+"/tpa/paiementws.web", url.Values{"idop": {idOp}, "resultrans": {"R"}})
	if status != http.StatusOK || !strings.Contains(ticket, "accepté") {
		t.Fatalf("second submission: %d\n%s", status, ticket)
	}
	// The page of a finished payment shows the ticket, not the buttons.
	if _, page := get(t, e.client.PaymentPageURL(idOp)); strings.Contains(page, "<form") || !strings.Contains(page, "Retour au site") {
		t.Fatalf("page of a finished payment:\n%s", page)
	}

	d, err := e.client.PaymentDetail(context.Background(), idOp)
	if err != nil {
		t.Fatal(err)
	}
	if d.Resultrans != "P" || d.Dattrans != "03112025" || d.Heurtrans != "1849" || d.Numauto == "" {
		t.Fatalf("detail %+v", d)
	}
	if o := payfip.Evaluate(sentOf(req, idOp, created), d, nil, e.clock.Now()); o.Status != payfip.StatusPaid {
		t.Fatalf("Evaluate: %+v", o)
	}

	e.sim.Close() // waits for every notification goroutine
	if n := e.recv.calls.Load(); n != 1 {
		t.Fatalf("%d notifications, want exactly 1", n)
	}
	p, ok := e.sim.Payment(idOp)
	if !ok || p.Resultrans != "P" || p.Notified != 1 || p.NotifyAttempts != 1 || p.DetailRequests != 1 {
		t.Fatalf("payment %+v", p)
	}
}

func TestPageOtherButtons(t *testing.T) {
	for res, heading := range map[string]string{"V": "prélèvement a été enregistré", "R": "refusé", "A": "abandonné"} {
		t.Run(res, func(t *testing.T) {
			e := newEnv(t, sim.Options{})
			idOp, _ := e.create(t)
			status, ticket := postForm(t, e.srv.URL+"/tpa/paiementws.web", url.Values{"idop": {idOp}, "resultrans": {res}})
			if status != 200 || !strings.Contains(ticket, heading) || !strings.Contains(ticket, "Retour au site") {
				t.Fatalf("%d\n%s", status, ticket)
			}
			e.recv.waitN(t, idOp, 1)
			d, err := e.client.PaymentDetail(context.Background(), idOp)
			if err != nil || d.Resultrans != res || (res == "V") != (d.Numauto != "") {
				t.Fatalf("%+v %v", d, err)
			}
		})
	}
}

func TestPageErrors(t *testing.T) {
	e := newEnv(t, sim.Options{})
	status, page := get(t, e.srv.URL+"/tpa/paiementws.web?idop=nope")
	if status != http.StatusNotFound || !strings.Contains(page, "Paiement introuvable") || !strings.Contains(page, `lang="fr"`) {
		t.Fatalf("%d\n%s", status, page)
	}
	status, _ = postForm(t, e.srv.URL+"/tpa/paiementws.web", url.Values{"idop": {"nope"}, "resultrans": {"P"}})
	if status != http.StatusNotFound {
		t.Fatalf("POST unknown: %d", status)
	}
	idOp, _ := e.create(t)
	status, _ = postForm(t, e.srv.URL+"/tpa/paiementws.web", url.Values{"idop": {idOp}, "resultrans": {"X"}})
	if status != http.StatusBadRequest {
		t.Fatalf("POST bad resultrans: %d", status)
	}
	if p, _ := e.sim.Payment(idOp); p.Resultrans != "" {
		t.Fatalf("bad button recorded %q", p.Resultrans)
	}
	// Objet and org are escaped in HTML.
	e2 := newEnv(t, sim.Options{Clients: map[string]payfip.ClientInfo{"000001": {LibelleN1: "<b>REGIE</b>"}}})
	id2, _ := e2.create(t, func(r *payfip.PaymentRequest) { r.Numcli = "000001" })
	if _, page := get(t, e2.client.PaymentPageURL(id2)); !strings.Contains(page, "&lt;b&gt;REGIE&lt;/b&gt;") {
		t.Fatalf("org not escaped:\n%s", page)
	}
}

func TestAmountFormatting(t *testing.T) {
	e := newEnv(t, sim.Options{})
	for cents, want := range map[int64]string{100: "1,00 €", 1205: "12,05 €", 123456: "1 234,56 €", 10_000_000: "100 000,00 €"} {
		idOp, _ := e.create(t, func(r *payfip.PaymentRequest) { r.AmountCents = cents })
		if _, page := get(t, e.client.PaymentPageURL(idOp)); !strings.Contains(page, "<dd>"+want+"</dd>") {
			t.Errorf("%d cents: page lacks %q", cents, want)
		}
	}
}

func TestDuplicateNotifications(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.sim.SetFaults(sim.Faults{DuplicateNotifications: 10})
	idOp, _ := e.create(t)
	if err := e.sim.Pay(idOp, "P"); err != nil {
		t.Fatal(err)
	}
	e.recv.waitN(t, idOp, 10)
	e.sim.Close()
	if n := e.recv.calls.Load(); n != 10 {
		t.Fatalf("%d notifications, want 10", n)
	}
	if p, _ := e.sim.Payment(idOp); p.Notified != 10 {
		t.Fatalf("Notified %d", p.Notified)
	}
}

func TestLoseNotifications(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.sim.SetFaults(sim.Faults{LoseNotifications: true})
	idOp, _ := e.create(t)
	if err := e.sim.Pay(idOp, "P"); err != nil {
		t.Fatal(err)
	}
	e.sim.Close()
	if n := e.recv.calls.Load(); n != 0 {
		t.Fatalf("%d notifications, want none", n)
	}
	// The result is still there for polling.
	d, err := e.client.PaymentDetail(context.Background(), idOp)
	if err != nil || d.Resultrans != "P" {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestNotificationRetried(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.recv.failN.Store(2)
	idOp, _ := e.create(t)
	if err := e.sim.Pay(idOp, "R"); err != nil {
		t.Fatal(err)
	}
	e.recv.waitN(t, idOp, 1)
	e.sim.Close()
	p, _ := e.sim.Payment(idOp)
	if e.recv.calls.Load() != 3 || p.NotifyAttempts != 3 || p.Notified != 1 {
		t.Fatalf("calls %d, payment %+v; want 3 attempts, 1 delivered", e.recv.calls.Load(), p)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	idOp, req := e.create(t)
	paidID, _ := e.create(t)
	created := e.clock.Now()

	e.clock.Add(5 * time.Minute)
	if err := e.sim.Pay(paidID, "P"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(10*time.Minute - time.Second) // 14:59 after creation
	if status, _ := get(t, e.client.PaymentPageURL(idOp)); status != http.StatusOK {
		t.Fatalf("page at 14:59: %d", status)
	}
	_, err := e.client.PaymentDetail(ctx, idOp)
	var f *payfip.Fault
	if !errors.As(err, &f) || f.Code != "P5" {
		t.Fatalf("detail at 14:59: %v", err)
	}

	e.clock.Add(time.Second) // 15:00
	if status, page := get(t, e.client.PaymentPageURL(idOp)); status != http.StatusNotFound || !strings.Contains(page, "expiré") {
		t.Fatalf("page at 15:00: %d\n%s", status, page)
	}
	d, err := e.client.PaymentDetail(ctx, idOp)
	if !errors.As(err, &f) || f.Code != "P1" {
		t.Fatalf("detail at 15:00: %v", err)
	}
	if o := payfip.Evaluate(sentOf(req, idOp, created), d, err, e.clock.Now()); o.Status != payfip.StatusExpired {
		t.Fatalf("Evaluate: %+v", o)
	}
	if err := e.sim.Pay(idOp, "P"); !errors.Is(err, sim.ErrUnknownPayment) {
		t.Fatalf("Pay after expiry: %v", err)
	}
	if _, ok := e.sim.Payment(idOp); ok {
		t.Fatal("expired payment still inspectable")
	}
	// A finished payment outlives the page.
	e.clock.Add(time.Hour)
	if d, err := e.client.PaymentDetail(ctx, paidID); err != nil || d.Resultrans != "P" {
		t.Fatalf("paid payment after 1h15: %+v %v", d, err)
	}
	e.clock.Add(sim.FinishedRetention)
	if _, err := e.client.PaymentDetail(ctx, paidID); !errors.As(err, &f) || f.Code != "P1" {
		t.Fatalf("paid payment after retention: %v", err)
	}
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t, sim.Options{})
	base := e.srv.URL
	idOp, _ := e.create(t)

	if st, out := doJSON(t, "GET", base+"/sim/payments/"+idOp, ""); st != 200 || out["idop"] != idOp || out["resultrans"] != "" || out["montant"] != "1250" {
		t.Fatalf("GET payment: %d %v", st, out)
	}
	if st, _ := doJSON(t, "GET", base+"/sim/payments/unknown", ""); st != 404 {
		t.Fatalf("GET unknown payment: %d", st)
	}
	if st, out := doJSON(t, "POST", base+"/sim/pay", `{"idop":"`+idOp+`","resultrans":"V"}`); st != 200 || out["resultrans"] != "V" {
		t.Fatalf("POST /sim/pay: %d %v", st, out)
	}
	e.recv.waitN(t, idOp, 1)
	if st, _ := doJSON(t, "POST", base+"/sim/pay", `{"idop":"`+idOp+`","resultrans":"A"}`); st != 409 {
		t.Fatalf("second pay: %d", st)
	}
	if st, _ := doJSON(t, "POST", base+"/sim/pay", `{"idop":"nope","resultrans":"P"}`); st != 404 {
		t.Fatalf("pay unknown: %d", st)
	}
	if st, _ := doJSON(t, "POST", base+"/sim/pay", `{"idop":"`+idOp+`","resultrans":"Q"}`); st != 400 {
		t.Fatalf("pay bad result: %d", st)
	}
	if st, _ := doJSON(t, "POST", base+"/sim/pay", `{"idop":`); st != 400 {
		t.Fatalf("bad JSON: %d", st)
	}

	// Faults.
	if st, _ := doJSON(t, "PUT", base+"/sim/faults", `{"create_unavailable":1,"tamper_montant":true,"slow_detail_ms":1}`); st != 200 {
		t.Fatalf("PUT faults: %d", st)
	}
	if st, out := doJSON(t, "GET", base+"/sim/faults", ""); st != 200 || out["create_unavailable"] != 1.0 || out["tamper_montant"] != true || out["slow_detail_ms"] != 1.0 {
		t.Fatalf("GET faults: %d %v", st, out)
	}
	if st, _ := doJSON(t, "PUT", base+"/sim/faults", `{"tamper_montnat":true}`); st != 400 {
		t.Fatalf("unknown fault field: %d", st)
	}
	_, err := e.client.CreatePayment(context.Background(), payfip.PaymentRequest{Exer: 2025, Mel: "a@b.fr", AmountCents: 100, Numcli: "123456",
		Refdet: "CTLAPI001", Saisie: "T", URLNotif: "http://x.fr/n", URLRedirect: "http://x.fr/r"})
	var f *payfip.Fault
	if !errors.As(err, &f) || f.Type != payfip.FaultTechIndisponible {
		t.Fatalf("create with create_unavailable=1: %v", err)
	}
	if d, err := e.client.PaymentDetail(context.Background(), idOp); err != nil || d.Montant != "1251" {
		t.Fatalf("tampered detail: %+v %v", d, err)
	}
	if st, _ := doJSON(t, "PUT", base+"/sim/faults", `{}`); st != 200 {
		t.Fatal("reset faults")
	}

	// Auto-pay.
	if st, _ := doJSON(t, "PUT", base+"/sim/auto", `{"result":"P","delay_ms":0}`); st != 200 {
		t.Fatalf("PUT auto: %d", st)
	}
	if st, out := doJSON(t, "GET", base+"/sim/auto", ""); st != 200 || out["result"] != "P" {
		t.Fatalf("GET auto: %v", out)
	}
	autoID, _ := e.create(t)
	e.recv.waitN(t, autoID, 1)
	if p, _ := e.sim.Payment(autoID); p.Resultrans != "P" {
		t.Fatalf("auto payment: %+v", p)
	}
	if st, _ := doJSON(t, "PUT", base+"/sim/auto", `{"result":"Q"}`); st != 400 {
		t.Fatalf("bad auto result: %d", st)
	}
	if st, _ := doJSON(t, "PUT", base+"/sim/auto", `{}`); st != 200 {
		t.Fatal("disable auto")
	}
	if st, out := doJSON(t, "GET", base+"/sim/auto", ""); st != 200 || len(out) != 0 {
		t.Fatalf("auto after disable: %v", out)
	}
}

func TestAutoOption(t *testing.T) {
	e := newEnv(t, sim.Options{Auto: &sim.AutoPay{Result: "A", Delay: 10 * time.Millisecond}})
	idOp, _ := e.create(t)
	e.recv.waitN(t, idOp, 1)
	if p, _ := e.sim.Payment(idOp); p.Resultrans != "A" || p.Numauto != "" {
		t.Fatalf("%+v", p)
	}
}

func TestTamperingIsCaught(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		faults sim.Faults
		field  string
	}{
		{"montant+1", sim.Faults{TamperMontant: true}, "montant"},
		{"saisie T in production", sim.Faults{ForceSaisieT: true}, "saisie"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, sim.Options{})
			idOp, req := e.create(t, func(r *payfip.PaymentRequest) { r.Saisie = "W" })
			if err := e.sim.Pay(idOp, "P"); err != nil {
				t.Fatal(err)
			}
			e.sim.SetFaults(c.faults)
			d, err := e.client.PaymentDetail(ctx, idOp)
			if err != nil {
				t.Fatal(err)
			}
			o := payfip.Evaluate(sentOf(req, idOp, e.clock.Now()), d, nil, e.clock.Now())
			if o.Status != payfip.StatusError || !strings.HasPrefix(o.Reason, c.field) {
				t.Fatalf("%+v", o)
			}
		})
	}
}

func TestSlowDetail(t *testing.T) {
	e := newEnv(t, sim.Options{})
	idOp, _ := e.create(t)
	e.sim.SetFaults(sim.Faults{SlowDetail: 3 * time.Second})
	c := payfip.NewClient(payfip.Config{Endpoint: e.srv.URL + "/tpa/services/securite", Timeout: 30 * time.Millisecond}, nil)
	if _, err := c.PaymentDetail(context.Background(), idOp); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v", err)
	}
}

func soapPost(t *testing.T, u, contentType, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWireShape(t *testing.T) {
	e := newEnv(t, sim.Options{})
	u := e.srv.URL + "/tpa/services/securite"
	env := func(inner string) string {
		return `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` + inner + `</soapenv:Body></soapenv:Envelope>`
	}
	create := func(arg0 string) string {
		return env(`<p:creerPaiementSecurise xmlns:p="` + nsService + `">` + arg0 + `</p:creerPaiementSecurise>`)
	}
	fields := `<exer>2025</exer><mel>a@b.fr</mel><montant>100</montant><numcli>123456</numcli><objet>x</objet><refdet>WIRE00001</refdet><saisie>T</saisie><urlnotif>` + e.recv.srv.URL + `</urlnotif><urlredirect>http://x.fr/r</urlredirect>`

	// JAX-WS answer shape.
	st, body := soapPost(t, u, "text/xml; charset=utf-8", create(`<arg0>`+fields+`</arg0>`))
	re := regexp.MustCompile(`^<\?xml version='1.0' encoding='UTF-8'\?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:creerPaiementSecuriseResponse xmlns:ns2="` + regexp.QuoteMeta(nsService) + `"><return><idOp>([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})</idOp></return></ns2:creerPaiementSecuriseResponse></S:Body></S:Envelope>$`)
	m := re.FindStringSubmatch(body)
	if st != 200 || m == nil {
		t.Fatalf("%d\n%s", st, body)
	}
	idOp := m[1]

	// Detail: schema order, numauto absent on a refusal.
	if err := e.sim.Pay(idOp, "R"); err != nil {
		t.Fatal(err)
	}
	_, body = soapPost(t, u, "text/xml", env(`<p:recupererDetailPaiementSecurise xmlns:p="`+nsService+`"><arg0><idOp>`+idOp+`</idOp></arg0></p:recupererDetailPaiementSecurise>`))
	order := regexp.MustCompile(`<return><dattrans>\d{8}</dattrans><exer>2025</exer><heurtrans>\d{4}</heurtrans><idOp>` + idOp + `</idOp><mel>a@b.fr</mel><montant>100</montant><numcli>123456</numcli><objet>x</objet><refdet>WIRE00001</refdet><resultrans>R</resultrans><saisie>T</saisie></return>`)
	if !order.MatchString(body) {
		t.Fatalf("detail not in schema order:\n%s", body)
	}

	// Fault shape.
	st, body = soapPost(t, u, "text/xml", create(`<arg0>`+strings.Replace(fields, "WIRE00001", "WIRE", 1)+`</arg0>`))
	if st != 500 || !strings.Contains(body, `<S:Fault xmlns:ns4="http://www.w3.org/2003/05/soap-envelope"><faultcode>S:Server</faultcode><faultstring>`) ||
		!strings.Contains(body, `<detail><ns2:FonctionnelleErreur xmlns:ns2="`+nsService+`"><code>R3</code><descriptif>`) ||
		!strings.Contains(body, `<severite>2</severite></ns2:FonctionnelleErreur></detail></S:Fault>`) {
		t.Fatalf("fault shape: %d\n%s", st, body)
	}

	for _, c := range []struct {
		name, ct, body, want string
		status               int
	}{
		{"qualified fields are ignored like JAXB does", "text/xml",
			create(`<arg0 xmlns="` + nsService + `">` + fields + `</arg0>`), "<code>T1</code>", 500},
		{"fields qualified by prefix", "text/xml",
			create(`<arg0>` + strings.ReplaceAll(strings.ReplaceAll(fields, "<", "<p:"), "<p:/", "</p:") + `</arg0>`), "<code>T1</code>", 500},
		{"idop in lower case is unknown", "text/xml",
			env(`<p:recupererDetailPaiementSecurise xmlns:p="` + nsService + `"><arg0><idop>` + idOp + `</idop></arg0></p:recupererDetailPaiementSecurise>`), "<code>P1</code>", 500},
		{"numcli without capital C is missing", "text/xml",
			env(`<p:recupererDetailClient xmlns:p="` + nsService + `"><arg0><numcli>123456</numcli></arg0></p:recupererDetailClient>`), "<code>T1</code>", 500},
		{"wrapper outside the service namespace", "text/xml",
			env(`<creerPaiementSecurise><arg0>` + fields + `</arg0></creerPaiementSecurise>`), "<faultcode>S:Client</faultcode><faultstring>Cannot find dispatch method", 500},
		{"unknown operation", "text/xml",
			env(`<p:annulerPaiement xmlns:p="` + nsService + `"/>`), "Cannot find dispatch method", 500},
		{"malformed XML", "text/xml", "<soapenv:Envelope", "<faultcode>S:Client</faultcode>", 500},
		{"SOAP 1.2 envelope", "text/xml",
			`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>`, "S:VersionMismatch", 500},
		{"SOAP 1.2 content type", "application/soap+xml", create(`<arg0>` + fields + `</arg0>`), "Unsupported Content-Type", 415},
	} {
		st, body := soapPost(t, u, c.ct, c.body)
		if st != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want %d with %q\n%s", c.name, st, c.status, c.want, body)
		}
	}
}

func TestClientsOption(t *testing.T) {
	e := newEnv(t, sim.Options{Clients: map[string]payfip.ClientInfo{"006270": {LibelleN1: "COMMUNE", LibelleN3: "N3"}}})
	ci, err := e.client.ClientDetail(context.Background(), "006270")
	if err != nil || ci != (payfip.ClientInfo{Numcli: "006270", LibelleN1: "COMMUNE", LibelleN3: "N3"}) {
		t.Fatalf("%+v %v", ci, err)
	}
	if _, err := e.client.ClientDetail(context.Background(), "123456"); err == nil {
		t.Fatal("the default client must be replaced by Options.Clients")
	}
}

// Many payers at once, under -race.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, sim.Options{})
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	ids := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := payfip.PaymentRequest{Exer: 2025, Mel: "p@example.org", AmountCents: int64(100 + i), Numcli: "123456",
				Refdet: fmt.Sprintf("CONC%04d", i), Saisie: "T", URLNotif: e.recv.srv.URL, URLRedirect: "http://x.fr/r"}
			idOp, err := e.client.CreatePayment(context.Background(), r)
			if err != nil {
				errs <- err
				return
			}
			for range 2 { // racing buttons: only one wins
				go func() { _ = e.sim.Pay(idOp, "P") }()
			}
			if err := e.sim.Pay(idOp, "R"); err != nil && !errors.Is(err, sim.ErrAlreadyFinished) {
				errs <- err
			}
			ids <- idOp
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("idOp %s given twice", id)
		}
		seen[id] = true
	}
	e.sim.Close()
	if got := e.recv.calls.Load(); got != n {
		t.Fatalf("%d notifications for %d payments", got, n)
	}
}
