package payfip_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
)

const nsService = "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/contrat_paiement_securise/PaiementSecuriseService"

func asFault(t *testing.T, err error) *payfip.Fault {
	t.Helper()
	var f *payfip.Fault
	if !errors.As(err, &f) {
		t.Fatalf("want a *payfip.Fault, got %T: %v", err, err)
	}
	return f
}

func sentFor(r payfip.PaymentRequest, idOp string, created time.Time) payfip.Sent {
	return payfip.Sent{IDOp: idOp, Numcli: r.Numcli, Refdet: r.Refdet, Exer: r.Exer, AmountCents: r.AmountCents, Saisie: r.Saisie, CreatedAt: created, TestPayments: true}
}

func TestCreatePaymentDetailAndPay(t *testing.T) {
	for _, res := range []struct {
		resultrans string
		want       payfip.Status
	}{{"P", payfip.StatusPaid}, {"V", payfip.StatusPaid}, {"R", payfip.StatusRefused}, {"Z", payfip.StatusRefused}, {"A", payfip.StatusAbandoned}} {
		t.Run(res.resultrans, func(t *testing.T) {
			e := newEnv(t, payfip.Config{})
			ctx := context.Background()
			req := validRequest()
			req.Objet = "Cantine / périscolaire – mars #3"
			idOp, err := e.client.CreatePayment(ctx, req)
			if err != nil {
				t.Fatalf("CreatePayment: %v", err)
			}
			if len(idOp) < 32 {
				t.Fatalf("idOp %q looks too short", idOp)
			}
			sp, ok := e.sim.Payment(idOp)
			if !ok {
				t.Fatal("simulator does not know the new idOp")
			}
			if sp.Objet != "Cantine periscolaire mars 3" || sp.Montant != "1250" || sp.Exer != "2025" || sp.Refdet != req.Refdet || sp.Mel != req.Mel {
				t.Fatalf("simulator received %+v", sp)
			}
			sent := sentFor(req, idOp, e.clock.Now())

			// Not finished yet: P5 → pending.
			d, err := e.client.PaymentDetail(ctx, idOp)
			if f := asFault(t, err); f.Code != "P5" || f.Type != payfip.FaultFonctionnelle {
				t.Fatalf("before payment: fault %+v, want FonctionnelleErreur P5", f)
			}
			if o := payfip.Evaluate(sent, d, err, e.clock.Now().Add(time.Minute)); o.Status != payfip.StatusPending {
				t.Fatalf("before payment: %+v, want pending", o)
			}

			e.clock.Add(3 * time.Minute)
			if err := e.sim.Pay(idOp, res.resultrans); err != nil {
				t.Fatalf("Pay: %v", err)
			}
			d, err = e.client.PaymentDetail(ctx, idOp)
			if err != nil {
				t.Fatalf("PaymentDetail: %v", err)
			}
			// 09:29 UTC on 14 March 2025 is 10:29 in Paris (CET).
			want := payfip.Detail{IDOp: idOp, Numcli: "123456", Refdet: req.Refdet, Exer: "2025", Montant: "1250", Mel: req.Mel,
				Objet: "Cantine periscolaire mars 3", Saisie: "T", Resultrans: res.resultrans, Dattrans: "14032025", Heurtrans: "1029"}
			paid := res.want == payfip.StatusPaid
			if paid {
				if d.Numauto == "" || len(d.Numauto) > 16 {
					t.Fatalf("numauto %q: want 1–16 chars when paid", d.Numauto)
				}
				want.Numauto = d.Numauto
			} else if d.Numauto != "" {
				t.Fatalf("numauto %q on a %s", d.Numauto, res.resultrans)
			}
			if d != want {
				t.Fatalf("detail\n got %+v\nwant %+v", d, want)
			}
			o := payfip.Evaluate(sent, d, nil, e.clock.Now())
			if o.Status != res.want {
				t.Fatalf("Evaluate: %+v, want %s", o, res.want)
			}
			if paid && !o.PaidAt.Equal(time.Date(2025, 3, 14, 9, 29, 0, 0, time.UTC)) {
				t.Fatalf("PaidAt %v, want 09:29 UTC", o.PaidAt)
			}
			if !paid && o.Reason == "" {
				t.Fatal("no Reason for a payment that is not paid")
			}
		})
	}
}

func TestClientDetail(t *testing.T) {
	e := newEnv(t, payfip.Config{})
	ci, err := e.client.ClientDetail(context.Background(), "123456")
	if err != nil {
		t.Fatal(err)
	}
	if want := (payfip.ClientInfo{Numcli: "123456", LibelleN1: "VILLE DE DEMO", LibelleN2: "REGIE PERISCOLAIRE"}); ci != want {
		t.Fatalf("got %+v, want %+v", ci, want)
	}
	_, err = e.client.ClientDetail(context.Background(), "654321")
	if f := asFault(t, err); f.Code != "T2" || f.Type != payfip.FaultFonctionnelle || f.Severite == 0 {
		t.Fatalf("unknown numcli: %+v", f)
	}
	_, err = e.client.ClientDetail(context.Background(), "12345")
	if !errors.Is(err, payfip.ErrInvalid) {
		t.Fatalf("5-digit numcli: %v, want ErrInvalid", err)
	}
}

// Faults the simulator answers for requests the client accepts.
func TestCreatePaymentFaults(t *testing.T) {
	ctx := context.Background()

	t.Run("R3 duplicate refdet", func(t *testing.T) {
		e := newEnv(t, payfip.Config{})
		req := validRequest()
		if _, err := e.client.CreatePayment(ctx, req); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.CreatePayment(ctx, req)
		if f := asFault(t, err); f.Code != "R3" || f.Type != payfip.FaultFonctionnelle {
			t.Fatalf("fault %+v, want R3", f)
		}
		// Same refdet for another numcli is fine: uniqueness is per régie.
		e2 := newEnv(t, payfip.Config{})
		if _, err := e2.client.CreatePayment(ctx, req); err != nil {
			t.Fatalf("same refdet on a fresh simulator: %v", err)
		}
	})
	t.Run("unknown numcli", func(t *testing.T) {
		e := newEnv(t, payfip.Config{})
		req := validRequest()
		req.Numcli = "000042"
		_, err := e.client.CreatePayment(ctx, req)
		if f := asFault(t, err); f.Code != "T2" {
			t.Fatalf("fault %+v, want T2", f)
		}
	})
	t.Run("amount above the service maximum", func(t *testing.T) {
		e := newEnv(t, payfip.Config{MaxAmountCents: 50_000_000})
		req := validRequest()
		req.AmountCents = sim.MaxAmountCents + 1
		_, err := e.client.CreatePayment(ctx, req)
		if f := asFault(t, err); f.Code != "M5" {
			t.Fatalf("fault %+v, want M5", f)
		}
	})
	t.Run("TechIndisponibiliteErreur", func(t *testing.T) {
		e := newEnv(t, payfip.Config{})
		e.sim.SetFaults(sim.Faults{CreateUnavailable: 1})
		_, err := e.client.CreatePayment(ctx, validRequest())
		f := asFault(t, err)
		if f.Type != payfip.FaultTechIndisponible || f.FaultCode != "S:Server" || f.Libelle == "" {
			t.Fatalf("fault %+v, want TechIndisponibiliteErreur", f)
		}
		if !strings.Contains(f.Error(), "TechIndisponibiliteErreur") {
			t.Fatalf("Error() = %q", f.Error())
		}
		if _, err := e.client.CreatePayment(ctx, validRequest()); err != nil {
			t.Fatalf("second creation should work (N=1): %v", err)
		}
		if n := e.soap.count(); n != 2 {
			t.Fatalf("%d SOAP calls, want 2 (the client never retries)", n)
		}
	})
	t.Run("bare HTTP 500", func(t *testing.T) {
		e := newEnv(t, payfip.Config{})
		e.sim.SetFaults(sim.Faults{CreateHTTP500: 1})
		_, err := e.client.CreatePayment(ctx, validRequest())
		var f *payfip.Fault
		if err == nil || errors.As(err, &f) {
			t.Fatalf("want a plain error, got %v (%T)", err, err)
		}
		if !strings.Contains(err.Error(), "500") {
			t.Fatalf("error %q does not mention the status", err)
		}
		if n := e.soap.count(); n != 1 {
			t.Fatalf("%d SOAP calls, want 1 (no retry)", n)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		e := newEnv(t, payfip.Config{Timeout: 50 * time.Millisecond})
		e.sim.SetFaults(sim.Faults{SlowCreate: 5 * time.Second})
		start := time.Now()
		_, err := e.client.CreatePayment(ctx, validRequest())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want a deadline error, got %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v, the timeout is 50ms", d)
		}
		o := payfip.Evaluate(payfip.Sent{}, payfip.Detail{}, err, time.Now())
		if o.Status != payfip.StatusError || !strings.Contains(o.Reason, "could not") {
			t.Fatalf("Evaluate(transport error) = %+v", o)
		}
	})
}

// Faults for requests the client would refuse: sent with the client's own
// envelope writer, read back with the client's parser.
func TestSimulatorFaultsThroughClientWire(t *testing.T) {
	e := newEnv(t, payfip.Config{})
	fields := func(mod func(m map[string]string)) [][2]string {
		m := map[string]string{"exer": "2025", "mel": "parent@example.org", "montant": "1250", "numcli": "123456", "objet": "Cantine",
			"refdet": newRefdet(), "saisie": "T", "urlnotif": "https://e.org/n", "urlredirect": "https://e.org/r"}
		mod(m)
		var out [][2]string
		for _, k := range []string{"exer", "mel", "montant", "numcli", "objet", "refdet", "saisie", "urlnotif", "urlredirect"} {
			out = append(out, [2]string{k, m[k]})
		}
		return out
	}
	for _, c := range []struct {
		name, code string
		mod        func(m map[string]string)
	}{
		{"ok", "", func(map[string]string) {}},
		{"R3 refdet too short", "R3", func(m map[string]string) { m["refdet"] = "ABCD" }},
		{"R3 refdet with punctuation", "R3", func(m map[string]string) { m["refdet"] = "ABCD-1234" }},
		{"A2 mel without @", "A2", func(m map[string]string) { m["mel"] = "john.doeexample.com" }},
		{"A1 mel missing", "A1", func(m map[string]string) { m["mel"] = "" }},
		{"M3 amount below 1 euro", "M3", func(m map[string]string) { m["montant"] = "99" }},
		{"M1 amount not in cents", "M1", func(m map[string]string) { m["montant"] = "12.50" }},
		{"T1 numcli format", "T1", func(m map[string]string) { m["numcli"] = "12345" }},
		{"T2 numcli unknown", "T2", func(m map[string]string) { m["numcli"] = "999999" }},
		{"S1 saisie", "S1", func(m map[string]string) { m["saisie"] = "P" }},
		{"E1 exer", "E1", func(m map[string]string) { m["exer"] = "25" }},
		{"O1 objet with accents", "O1", func(m map[string]string) { m["objet"] = "Cantine été" }},
		{"N1 relative urlnotif", "N1", func(m map[string]string) { m["urlnotif"] = "/payfip/notif" }},
		{"D1 relative urlredirect", "D1", func(m map[string]string) { m["urlredirect"] = "retour" }},
		{"D1 urlredirect not http", "D1", func(m map[string]string) { m["urlredirect"] = "javascript:alert(1)" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := postRaw(t, e.srv.URL+"/tpa/services/securite", payfip.BuildEnvelope("creerPaiementSecurise", fields(c.mod)))
			got, err := payfip.ParseResponse("creerPaiementSecurise", status, body)
			if c.code == "" {
				if err != nil || status != 200 || got["idop"] == "" {
					t.Fatalf("status %d, %v, %v", status, got, err)
				}
				return
			}
			if status != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", status)
			}
			f := asFault(t, err)
			if f.Code != c.code || f.Type != payfip.FaultFonctionnelle || f.Libelle == "" || f.FaultString == "" {
				t.Fatalf("fault %+v, want code %s", f, c.code)
			}
		})
	}
}

func TestPaymentDetailP1(t *testing.T) {
	e := newEnv(t, payfip.Config{})
	_, err := e.client.PaymentDetail(context.Background(), "00000000-0000-4000-8000-000000000000")
	f := asFault(t, err)
	if f.Code != "P1" || f.Type != payfip.FaultFonctionnelle {
		t.Fatalf("fault %+v, want P1", f)
	}
	if o := payfip.Evaluate(payfip.Sent{CreatedAt: e.clock.Now()}, payfip.Detail{}, err, e.clock.Now()); o.Status != payfip.StatusExpired {
		t.Fatalf("Evaluate(P1) = %+v", o)
	}
	if _, err := e.client.PaymentDetail(context.Background(), ""); !errors.Is(err, payfip.ErrInvalid) {
		t.Fatalf("empty idOp: %v", err)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t, payfip.Config{MaxAmountCents: 500_00})
	for _, c := range []struct {
		field string
		mod   func(r *payfip.PaymentRequest)
	}{
		{"exer", func(r *payfip.PaymentRequest) { r.Exer = 25 }},
		{"exer", func(r *payfip.PaymentRequest) { r.Exer = 20250 }},
		{"mel", func(r *payfip.PaymentRequest) { r.Mel = "" }},
		{"mel", func(r *payfip.PaymentRequest) { r.Mel = "a@b.c" }},
		{"mel", func(r *payfip.PaymentRequest) { r.Mel = "parent.example.org" }},
		{"mel", func(r *payfip.PaymentRequest) { r.Mel = "parent @example.org" }},
		{"mel", func(r *payfip.PaymentRequest) { r.Mel = strings.Repeat("a", 70) + "@example.org" }},
		{"montant", func(r *payfip.PaymentRequest) { r.AmountCents = 99 }},
		{"montant", func(r *payfip.PaymentRequest) { r.AmountCents = 0 }},
		{"montant", func(r *payfip.PaymentRequest) { r.AmountCents = -1000 }},
		{"montant", func(r *payfip.PaymentRequest) { r.AmountCents = 500_01 }},
		{"numcli", func(r *payfip.PaymentRequest) { r.Numcli = "12345" }},
		{"numcli", func(r *payfip.PaymentRequest) { r.Numcli = "1234567" }},
		{"numcli", func(r *payfip.PaymentRequest) { r.Numcli = "12345a" }},
		{"refdet", func(r *payfip.PaymentRequest) { r.Refdet = "ABCDE" }},
		{"refdet", func(r *payfip.PaymentRequest) { r.Refdet = strings.Repeat("A", 31) }},
		{"refdet", func(r *payfip.PaymentRequest) { r.Refdet = "ABC_DEF" }},
		{"saisie", func(r *payfip.PaymentRequest) { r.Saisie = "" }},
		{"saisie", func(r *payfip.PaymentRequest) { r.Saisie = "w" }},
		{"urlnotif", func(r *payfip.PaymentRequest) { r.URLNotif = "/payfip/notif" }},
		{"urlnotif", func(r *payfip.PaymentRequest) { r.URLNotif = "ftp://example.org/n" }},
		{"urlredirect", func(r *payfip.PaymentRequest) { r.URLRedirect = "" }},
		{"urlredirect", func(r *payfip.PaymentRequest) { r.URLRedirect = "https:///no-host" }},
	} {
		r := validRequest()
		c.mod(&r)
		_, err := e.client.CreatePayment(context.Background(), r)
		var fe *payfip.FieldError
		if !errors.Is(err, payfip.ErrInvalid) || !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: got %v, want ErrInvalid on %s", c.field, err, c.field)
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("error %q does not name the field", err)
		}
	}
	if n := e.soap.count(); n != 0 {
		t.Fatalf("%d invalid requests reached the service", n)
	}
	// The boundaries are accepted.
	r := validRequest()
	r.AmountCents, r.Refdet, r.Mel = 500_00, strings.Repeat("Z", 30), "a@b.fr"
	r.Objet = ""
	if _, err := e.client.CreatePayment(context.Background(), r); err != nil {
		t.Fatalf("boundary request refused: %v", err)
	}
	r = validRequest()
	r.AmountCents, r.Refdet, r.Saisie = 100, "ABC123", "W"
	if _, err := e.client.CreatePayment(context.Background(), r); err != nil {
		t.Fatalf("boundary request refused: %v", err)
	}
}

func TestPaymentPageURL(t *testing.T) {
	c := payfip.NewClient(payfip.Config{PaymentURL: "https://www.payfip.gouv.fr/tpa/paiementws.web"}, nil)
	if got, want := c.PaymentPageURL("cc0cb210-1cd4-11ea-8cca-0213ad91a103"), "https://www.payfip.gouv.fr/tpa/paiementws.web?idop=cc0cb210-1cd4-11ea-8cca-0213ad91a103"; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if got := c.PaymentPageURL("a b&c=d"); got != "https://www.payfip.gouv.fr/tpa/paiementws.web?idop=a+b%26c%3Dd" {
		t.Fatalf("not escaped: %s", got)
	}
}

// captured is one request as the server received it.
type captured struct {
	method, contentType, soapAction string
	hasSOAPAction                   bool
	body                            []byte
}

// captureServer answers reply to every request and records it.
func captureServer(t *testing.T, status int, reply string) (*httptest.Server, chan captured) {
	t.Helper()
	ch := make(chan captured, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, has := r.Header["Soapaction"]
		ch <- captured{r.Method, r.Header.Get("Content-Type"), r.Header.Get("SOAPAction"), has, b}
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// element is a decoded element with its namespace, for checking request bytes.
type element struct {
	name     xml.Name
	text     string
	children []element
}

func decodeTree(t *testing.T, b []byte) element {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(b)))
	var stack []*element
	var root *element
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("request is not XML: %v\n%s", err, b)
		}
		switch tt := tok.(type) {
		case xml.StartElement:
			stack = append(stack, &element{name: tt.Name})
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tt)
			}
		case xml.EndElement:
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, *n)
			}
		}
	}
	return *root
}

// wrapperOf checks the envelope and returns the operation wrapper.
func wrapperOf(t *testing.T, b []byte) element {
	t.Helper()
	root := decodeTree(t, b)
	if root.name != (xml.Name{Space: "http://schemas.xmlsoap.org/soap/envelope/", Local: "Envelope"}) {
		t.Fatalf("root %v", root.name)
	}
	for _, c := range root.children {
		if c.name.Local == "Body" && c.name.Space == root.name.Space {
			if len(c.children) != 1 {
				t.Fatalf("Body has %d children", len(c.children))
			}
			return c.children[0]
		}
	}
	t.Fatal("no Body")
	return element{}
}

func checkArg0(t *testing.T, w element, op string, want [][2]string) {
	t.Helper()
	if w.name != (xml.Name{Space: nsService, Local: op}) {
		t.Fatalf("wrapper %v, want {%s}%s", w.name, nsService, op)
	}
	if len(w.children) != 1 || w.children[0].name != (xml.Name{Local: "arg0"}) {
		t.Fatalf("wrapper children %+v, want one unqualified arg0", w.children)
	}
	got := w.children[0].children
	if len(got) != len(want) {
		t.Fatalf("arg0 has %d children, want %d", len(got), len(want))
	}
	for i, c := range got {
		if c.name != (xml.Name{Local: want[i][0]}) {
			t.Fatalf("arg0 child %d is %v, want unqualified %s", i, c.name, want[i][0])
		}
		if c.text != want[i][1] {
			t.Fatalf("%s = %q, want %q", want[i][0], c.text, want[i][1])
		}
	}
}

func TestRequestBytes(t *testing.T) {
	ctx := context.Background()
	t.Run("creerPaiementSecurise", func(t *testing.T) {
		srv, ch := captureServer(t, 200, `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:creerPaiementSecuriseResponse xmlns:ns2="`+nsService+`"><return><idOp>abc</idOp></return></ns2:creerPaiementSecuriseResponse></S:Body></S:Envelope>`)
		c := payfip.NewClient(payfip.Config{Endpoint: srv.URL + "/tpa/services/securite"}, nil)
		r := validRequest()
		r.Mel = "o'brien&co@example.org"
		r.Objet = "  Séjour d'été – Noël/2025 #12 <b>  "
		r.URLNotif = "https://portail.example.org/notif?org=1&x=<y>"
		idOp, err := c.CreatePayment(ctx, r)
		if err != nil || idOp != "abc" {
			t.Fatalf("%q %v", idOp, err)
		}
		got := <-ch
		if got.method != http.MethodPost || got.contentType != "text/xml; charset=utf-8" || !got.hasSOAPAction || got.soapAction != `""` {
			t.Fatalf("method %s content-type %q SOAPAction %q (present %v)", got.method, got.contentType, got.soapAction, got.hasSOAPAction)
		}
		if !strings.Contains(string(got.body), "&amp;co@") || !strings.Contains(string(got.body), "&amp;x=&lt;y&gt;</urlnotif>") {
			t.Fatalf("values not XML-escaped:\n%s", got.body)
		}
		if !strings.Contains(string(got.body), `<pai:creerPaiementSecurise xmlns:pai="`+nsService+`"><arg0><exer>`) {
			t.Fatalf("wrapper not written as documented:\n%s", got.body)
		}
		checkArg0(t, wrapperOf(t, got.body), "creerPaiementSecurise", [][2]string{
			{"exer", "2025"}, {"mel", r.Mel}, {"montant", "1250"}, {"numcli", "123456"},
			{"objet", "Sejour d ete Noel 2025 12 b"}, {"refdet", r.Refdet}, {"saisie", "T"},
			{"urlnotif", r.URLNotif}, {"urlredirect", r.URLRedirect},
		})
	})
	t.Run("recupererDetailPaiementSecurise", func(t *testing.T) {
		srv, ch := captureServer(t, 500, faultEnvelopeS("P5"))
		c := payfip.NewClient(payfip.Config{Endpoint: srv.URL}, nil)
		_, err := c.PaymentDetail(ctx, "id<&>1")
		asFault(t, err)
		got := <-ch
		checkArg0(t, wrapperOf(t, got.body), "recupererDetailPaiementSecurise", [][2]string{{"idOp", "id<&>1"}})
	})
	t.Run("recupererDetailClient", func(t *testing.T) {
		srv, ch := captureServer(t, 200, `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><recupererDetailClientResponse xmlns="`+nsService+`"><return xmlns=""><libelleN1>X</libelleN1><numcli>006270</numcli></return></recupererDetailClientResponse></Body></Envelope>`)
		c := payfip.NewClient(payfip.Config{Endpoint: srv.URL}, nil)
		ci, err := c.ClientDetail(ctx, "006270")
		if err != nil || ci.Numcli != "006270" || ci.LibelleN1 != "X" {
			t.Fatalf("%+v %v", ci, err)
		}
		got := <-ch
		checkArg0(t, wrapperOf(t, got.body), "recupererDetailClient", [][2]string{{"numCli", "006270"}})
	})
}
