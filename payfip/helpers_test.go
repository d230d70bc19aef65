package payfip_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
)

// clock is a settable clock for the simulator and Evaluate.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a simulator behind a real HTTP server and a client pointed at it.
type env struct {
	sim    *sim.Simulator
	srv    *httptest.Server
	client *payfip.Client
	clock  *clock
	soap   *countingHandler
}

// countingHandler counts SOAP requests reaching the simulator.
type countingHandler struct {
	mu sync.Mutex
	n  int
	h  http.Handler
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/tpa/services/securite" {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	c.h.ServeHTTP(w, r)
}

func (c *countingHandler) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

var t0 = time.Date(2025, 3, 14, 9, 26, 0, 0, time.UTC) // 10:26 in Paris (CET)

func newEnv(t *testing.T, cfg payfip.Config) *env {
	t.Helper()
	clk := newClock(t0)
	s := sim.New(sim.Options{Clock: clk.Now})
	ch := &countingHandler{h: s.Handler()}
	srv := httptest.NewServer(ch)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	cfg.Endpoint = srv.URL + "/tpa/services/securite"
	cfg.PaymentURL = srv.URL + "/tpa/paiementws.web"
	return &env{sim: s, srv: srv, client: payfip.NewClient(cfg, srv.Client()), clock: clk, soap: ch}
}

var refSeq atomic.Int64

// newRefdet returns a fresh refdet (the simulator refuses reuse).
func newRefdet() string { return fmt.Sprintf("REF%08d", refSeq.Add(1)) }

func validRequest() payfip.PaymentRequest {
	return payfip.PaymentRequest{
		Exer:        2025,
		Mel:         "parent@example.org",
		AmountCents: 1250,
		Numcli:      "123456",
		Objet:       "Cantine mars 2025",
		Refdet:      newRefdet(),
		Saisie:      "T",
		URLNotif:    "https://portail.example.org/payfip/notif",
		URLRedirect: "https://portail.example.org/payfip/retour",
	}
}

// postRaw posts a raw SOAP body to url and returns status and body.
func postRaw(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `""`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
