package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/payfip/sim"
	"github.com/enfance/enfance/workflows"
)

// frozenClock is an API clock that moves only when the test says.
type frozenClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *frozenClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *frozenClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// historyLength is the number of events in the cart's workflow history.
func (s *stack) historyLength(cartID string) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := s.temporal.GetWorkflowHistory(ctx, workflows.CartWorkflowID(uuid.MustParse(cartID)), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			s.t.Fatal(err)
		}
		n++
	}
	return n
}

// notification is one PayFiP callback in one of the shapes PayFiP and browsers use,
// from the client address addr (X-Forwarded-For, believed from 127.0.0.1 only).
func notification(t *testing.T, base, idOp, addr string, shape int) (int, string) {
	t.Helper()
	var req *http.Request
	switch shape % 3 {
	case 0:
		req, _ = http.NewRequest(http.MethodGet, base+"/payfip/notify?idop="+url.QueryEscape(idOp), nil)
	case 1:
		req, _ = http.NewRequest(http.MethodPost, base+"/payfip/notify", strings.NewReader(url.Values{"idOp": {idOp}, "resultrans": {"P"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		req, _ = http.NewRequest(http.MethodGet, base+"/payfip/return?idOp="+url.QueryEscape(idOp), nil)
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// Anyone holding an idOp can call /payfip/notify in a loop. 2,000 notifications at
// once for one idOp, from 2,000 addresses, spread over two API replicas, wake the
// cart's workflow once: PayFiP's detail is asked once, the history grows by a few
// events, and nothing is written per notification. Once the cooldown has passed, a
// notification wakes it again; the payment is confirmed once. One address sending
// too fast is refused with 429.
func TestNotificationFloodAsksPayFiPOnce(t *testing.T) {
	s := newStack(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	s.sim.SetFaults(sim.Faults{LoseNotifications: true})
	clock := &frozenClock{t: time.Now()}
	trusted := func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} }
	replicas := []string{s.replica(zap.NewNop(), clock.Now, trusted), s.replica(zap.NewNop(), clock.Now, trusted)}

	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	book(fam, "cantine", 2)
	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	idOp := idOpOf(co.PaymentURL)
	before := s.historyLength(co.CartID)
	var notifiedAt *time.Time
	if err := s.pool.QueryRow(context.Background(), `SELECT notified_at FROM payment_attempts WHERE id = $1`, co.PaymentID).Scan(&notifiedAt); err != nil || notifiedAt != nil {
		t.Fatalf("notified_at before any notification: %v %v", notifiedAt, err)
	}

	const n = 2000
	start := make(chan struct{})
	var wg sync.WaitGroup
	answers := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			addr := fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
			status, body := notification(t, replicas[i%2], idOp, addr, i)
			answers <- fmt.Sprintf("%d %s", status, strings.TrimSpace(body))
		}()
	}
	close(start)
	wg.Wait()
	close(answers)
	counts := map[string]int{}
	for a := range answers {
		if strings.HasPrefix(a, "200 OK") || strings.HasPrefix(a, `200 {"cart_id"`) {
			a = a[:6]
		}
		counts[a]++
	}
	if counts["200 OK"]+counts[`200 {"`] != n {
		t.Fatalf("answers to the flood: %v", counts)
	}
	// One wake-up, one reading of PayFiP (P5: not paid yet), a few events — and,
	// should the flood outlast workflows.NotifyCatchUp, the one reading that
	// follows a wake-up finding the payment not known yet.
	eventually(t, "the workflow to read PayFiP", func() bool { _, checks := s.cartHistory(co.CartID); return checks >= 1 })
	signals, checks := s.cartHistory(co.CartID)
	p, _ := s.sim.Payment(idOp)
	if signals != 1 || checks > 2 || p.DetailRequests != checks {
		t.Fatalf("after %d notifications: %d signals, %d PayFiP readings (the simulator counted %d)", n, signals, checks, p.DetailRequests)
	}
	// One wake-up's worth (signal, workflow tasks, the reading, the next poll's
	// timer), where one signal per notification would have added 2,000 and more.
	if grown := s.historyLength(co.CartID) - before; grown > 30 {
		t.Fatalf("the flood added %d events to the cart's history", grown)
	} else {
		t.Logf("the flood of %d notifications added %d events to the cart's history", n, grown)
	}
	if m := s.moneyState(co.PaymentID); m != (moneyState{AttemptStatus: "pending", Notified: true, CartStatus: "checking_out"}) {
		t.Fatalf("after the flood: %+v", m)
	}

	// One address alone: its burst (5 × PAYFIP_NOTIFY_PER_SECOND), then 429.
	limited := 0
	for range 5*s.cfg.NotifyPerSecond + 10 {
		status, body := notification(t, replicas[0], idOp, "192.0.2.1", 0)
		switch {
		case status == http.StatusTooManyRequests && strings.Contains(body, "too-many-requests"):
			limited++
		case status != http.StatusOK:
			t.Fatalf("one address: %d %s", status, body)
		}
	}
	if limited != 10 {
		t.Fatalf("one address over its rate: %d refusals, want 10", limited)
	}

	// The payer pays; the cooldown passes; PayFiP's notification wakes the
	// workflow again, which reads the payment and confirms it once.
	if err := s.sim.Pay(idOp, "P"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(s.cfg.PayFiPNotifyCooldown)
	if status, body := notification(t, replicas[1], idOp, "203.0.113.9", 0); status != http.StatusOK {
		t.Fatalf("notify after the cooldown: %d %s", status, body)
	}
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	signals, checks = s.cartHistory(co.CartID)
	p, _ = s.sim.Payment(idOp)
	if signals != 2 || checks < 2 || checks > 3 || p.DetailRequests != checks {
		t.Fatalf("in all: %d signals, %d PayFiP readings (the simulator counted %d)", signals, checks, p.DetailRequests)
	}
	m := s.moneyState(co.PaymentID)
	if m.AttemptStatus != "paid" || m.CartStatus != "paid" || m.Payments != -300 || m.Reservations != 2 || m.Ledger != 3 {
		t.Fatalf("money: %+v", m)
	}
	if n := s.receiptsSent(1); n != 1 {
		t.Fatalf("%d receipts", n)
	}
	s.noLedgerViolation()
}

// A notification comes before the payer has paid (PayFiP's page opened twice,
// a browser's early return): it wakes the workflow, which reads "not known yet".
// The payer pays a moment later and PayFiP notifies within PAYFIP_NOTIFY_COOLDOWN
// of the first: coalesced, it signals nothing. The workflow reads PayFiP again
// workflows.NotifyCatchUp after its first reading and confirms the cart — not
// at its next poll, a minute later (the cart's end is waited for 30 s at most).
func TestNotificationCoalescedBehindAnEarlyOneIsCaughtUp(t *testing.T) {
	s := newStack(t)
	s.sim.SetFaults(sim.Faults{LoseNotifications: true}) // the test is PayFiP's only voice
	clock := &frozenClock{t: time.Now()}                 // the cooldown never passes
	replica := s.replica(zap.NewNop(), clock.Now)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	book(fam, "cantine", 2)
	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	idOp := idOpOf(co.PaymentURL)

	if status, body := notification(t, replica, idOp, "203.0.113.9", 0); status != http.StatusOK {
		t.Fatalf("early notification: %d %s", status, body)
	}
	eventually(t, "the workflow to read PayFiP", func() bool { _, checks := s.cartHistory(co.CartID); return checks >= 1 })
	if err := s.sim.Pay(idOp, "P"); err != nil {
		t.Fatal(err)
	}
	if status, body := notification(t, replica, idOp, "203.0.113.9", 0); status != http.StatusOK {
		t.Fatalf("PayFiP's notification: %d %s", status, body)
	}
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	signals, checks := s.cartHistory(co.CartID)
	if signals != 1 || checks != 2 {
		t.Fatalf("%d signals, %d PayFiP readings: want the early one signalled, PayFiP's coalesced, and a catch-up reading", signals, checks)
	}
	if m := s.moneyState(co.PaymentID); m.AttemptStatus != "paid" || m.CartStatus != "paid" || m.Payments != -300 || m.Reservations != 2 {
		t.Fatalf("money: %+v", m)
	}
}

// A family that closes the page while its checkout waits for the cart's workflow
// (here no worker polls the task queue, so the update would wait forever) cancels
// the API's wait on Temporal: the request ends at once and is logged as abandoned.
func TestAbandonedCheckoutStopsWaitingOnTemporal(t *testing.T) {
	s := newStack(t)
	core, logs := observer.New(zap.InfoLevel)
	base := s.replica(zap.New(core), nil, func(c *config.Config) { c.TemporalTaskQueue = "nobody-polls-" + uuid.NewString() })
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	fam.base = base // the cart's workflow starts on that replica's task queue
	cart := book(fam, "cantine", 1)
	cartID := workflows.CartWorkflowID(uuid.MustParse(*cart.ID))
	// Runs before the replica stops (cleanups run last-in first-out), which would
	// otherwise wait for a request stuck on the workflow.
	t.Cleanup(func() { _ = s.temporal.TerminateWorkflow(context.Background(), cartID, "", "test over") })

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/cart/checkout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+fam.token)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// The update has started the cart's workflow and waits for a worker.
	eventually(t, "the checkout to wait on the cart's workflow", func() bool {
		_, err := s.temporal.DescribeWorkflowExecution(context.Background(), cartID, "")
		return err == nil
	})
	cancel()
	<-done
	eventually(t, "the API to give up the abandoned checkout", func() bool {
		for _, e := range logs.FilterMessage("http").All() {
			if e.ContextMap()["path"] == "/api/v1/cart/checkout" {
				return e.ContextMap()["status"] == int64(499)
			}
		}
		return false
	})
}

// A family over its attachment quota is told so in the portal, in French, with
// what to do; the message is not sent. Screenshots at desktop and phone width.
func TestBrowserAttachmentQuota(t *testing.T) {
	s := newStack(t, func(c *config.Config) { c.AttachmentMessagesPerDay = 1 })
	png := filepath.Join(t.TempDir(), "justificatif.png")
	if err := os.WriteFile(png, tinyPNG, 0o600); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.api, "quota")
	b.login("martin@demo.enfance.test", "demo-martin-2026", "Bonjour, famille Martin")
	b.click(`nav//a`, "Contact")
	b.waitText("#page-title", "Nous contacter", 10*time.Second)
	send := func(subject string) {
		b.do("write a message", chromedp.SetValue(chromedp.CSS(`select[name="category"]`), "document"),
			chromedp.SendKeys(chromedp.CSS(`input[name="subject"]`), subject),
			chromedp.SendKeys(chromedp.CSS(`textarea[name="body"]`), "Bonjour,\nVoici le justificatif."),
			chromedp.SetUploadFiles(chromedp.CSS(`input[type="file"]`), []string{png}))
		b.click("button", "Envoyer le message")
	}
	send("Attestation d'assurance")
	b.waitText("#messages", "Votre message est envoyé", 10*time.Second)
	send("Autre justificatif")
	b.waitText("#messages", "Quota de pièces jointes atteint", 10*time.Second)
	b.waitText("#messages", "Réessayez demain, ou envoyez votre message sans pièce jointe", time.Second)
	b.shot("01-quota-pieces-jointes")
	b.phoneShot("01-quota-pieces-jointes-telephone")
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM messages`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d messages stored (%v)", n, err)
	}
}
