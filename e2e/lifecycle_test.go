package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/payfip/sim"
	"github.com/enfance/enfance/workflows"
)

// The cart's lifecycle through the API: paying an outstanding balance alone,
// credit that covers a cart, CART_TTL, and the checkout refusals a family reads.

type balancesView struct {
	OutstandingCents int64 `json:"outstanding_cents"`
	CreditCents      int64 `json:"credit_cents"`
}

type problemView struct {
	Type   string `json:"type"`
	Detail string `json:"detail"`
}

// child and service find the family's first child and a service by code.
func child(c *apiClient) string {
	c.t.Helper()
	var members []member
	c.do(http.MethodGet, "/api/v1/family/members", nil, http.StatusOK, &members)
	for _, m := range members {
		if m.Kind == "child" {
			return m.ID
		}
	}
	c.t.Fatal("no child")
	return ""
}

func serviceByCode(c *apiClient, code string) service {
	c.t.Helper()
	var services []service
	c.do(http.MethodGet, "/api/v1/services", nil, http.StatusOK, &services)
	for _, sv := range services {
		if sv.Code == code {
			return sv
		}
	}
	c.t.Fatalf("no service %s", code)
	return service{}
}

// book puts n available days of service code in the family's cart.
func book(c *apiClient, code string, n int) cartView {
	c.t.Helper()
	kid, sv := child(c), serviceByCode(c, code)
	var items []map[string]string
	for _, d := range availableDays(c, kid, sv.ID, n) {
		items = append(items, map[string]string{"child_id": kid, "service_id": sv.ID, "date": d.Date})
	}
	var cart cartView
	c.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items}, http.StatusCreated, &cart)
	return cart
}

// cartEnds waits for the cart's workflow and returns how it ended.
func (s *stack) cartEnds(cartID string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var final string
	if err := s.temporal.GetWorkflow(ctx, workflows.CartWorkflowID(uuid.MustParse(cartID)), "").Get(ctx, &final); err != nil {
		s.t.Fatalf("cart workflow: %v", err)
	}
	return final
}

// payOnPage presses "Payer par carte" on the simulator's page.
func payOnPage(t *testing.T, paymentURL, resultrans string) {
	t.Helper()
	idOp := paymentURL[strings.Index(paymentURL, "idop=")+5:]
	resp := postForm(t, strings.Split(paymentURL, "?")[0], url.Values{"idop": {idOp}, "resultrans": {resultrans}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pay: status %d", resp.StatusCode)
	}
}

func (s *stack) receipts() int {
	mails, _ := filepath.Glob(filepath.Join(s.outbox, "*.eml"))
	return len(mails)
}

// receiptsSent waits for the workers' e-mail queue to send want receipts (they
// leave after the cart's workflow has ended) and returns how many are there.
func (s *stack) receiptsSent(want int) int {
	s.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); s.receipts() < want && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	return s.receipts()
}

func TestFamilyPaysItsOutstandingBalanceAlone(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	// Finance charged 12,50 € to the Martin family (a staff booking, say).
	if _, err := s.pool.Exec(ctx, `INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, label)
		SELECT org_id, id, 'adjustment', 1250, 'e2e:balance', 'Régularisation' FROM families WHERE name = 'Martin'`); err != nil {
		t.Fatal(err)
	}
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	var cart cartView
	fam.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &cart)
	if cart.TotalDueCents != 1250 || len(cart.Items) != 0 {
		t.Fatalf("cart before paying the balance: %+v", cart)
	}
	// The cart checkout is for carts with days in them.
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusConflict, nil)

	var co struct {
		checkoutAnswer
		AmountDueCents int64 `json:"amount_due_cents"`
	}
	fam.do(http.MethodPost, "/api/v1/balance/checkout", nil, http.StatusOK, &co)
	if co.Status != "payment_required" || co.AmountDueCents != 1250 || co.PaymentURL == "" {
		t.Fatalf("balance checkout: %+v", co)
	}
	payOnPage(t, co.PaymentURL, "P")
	if got := s.balanceEnds(co.PaymentID); got != workflows.PaymentPaid {
		t.Fatalf("balance payment ended %q", got)
	}
	if n := s.int(`SELECT count(*) FROM carts`); n != 0 {
		t.Fatalf("%d carts opened to pay the balance alone", n)
	}
	var me balancesView
	fam.do(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me != (balancesView{}) {
		t.Fatalf("balances after paying: %+v", me)
	}
	var payments int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(sum(outstanding_cents), 0) FROM ledger_entries WHERE kind = 'payment'`).Scan(&payments); err != nil || payments != -1250 {
		t.Fatalf("payments in the ledger: %d (%v)", payments, err)
	}
	if n := s.receiptsSent(1); n != 1 {
		t.Fatalf("%d receipts", n)
	}
	var p problemView
	fam.do(http.MethodPost, "/api/v1/balance/checkout", nil, http.StatusConflict, &p)
	if !strings.HasSuffix(p.Type, "nothing-due") {
		t.Fatalf("second balance checkout: %+v", p)
	}
}

func TestCreditPaysTheCartWithoutPayFiP(t *testing.T) {
	s := newStack(t)
	fam := s.login("bernard@demo.enfance.test", "demo-bernard-2026") // 5,00 € of credit
	cart := book(fam, "cantine", 1)
	if cart.SubtotalCents != 380 || cart.TotalDueCents != 0 {
		t.Fatalf("cart: %+v", cart)
	}
	var co struct {
		checkoutAnswer
		AmountDueCents int64 `json:"amount_due_cents"`
	}
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	if co.Status != "paid" || co.PaymentURL != "" || co.AmountDueCents != 0 {
		t.Fatalf("checkout: %+v", co)
	}
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	var me balancesView
	fam.do(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me != (balancesView{OutstandingCents: 0, CreditCents: 120}) {
		t.Fatalf("balances: %+v, want 1,20 € of credit left", me)
	}
	var status string
	var idOp *string
	if err := s.pool.QueryRow(context.Background(), `SELECT status, id_op FROM payment_attempts WHERE id = $1`, co.PaymentID).Scan(&status, &idOp); err != nil {
		t.Fatal(err)
	}
	if status != "settled_without_payfip" || idOp != nil {
		t.Fatalf("attempt %s, idOp %v: PayFiP should not have been asked", status, idOp)
	}
	if n := s.receiptsSent(1); n != 1 {
		t.Fatalf("%d receipts", n)
	}
}

func TestCartExpiresAfterCartTTL(t *testing.T) {
	s := newStack(t, func(c *config.Config) { c.CartTTL = 2 * time.Second })
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	cart := book(fam, "mercredi", 2) // limited places: the hold is visible in taken
	if cart.HoldSeconds != 2 {
		t.Fatalf("the cart says it holds its days %d s, CART_TTL is 2 s", cart.HoldSeconds)
	}
	var taken int
	if err := s.pool.QueryRow(context.Background(), `SELECT sum(taken) FROM service_days`).Scan(&taken); err != nil || taken != 2 {
		t.Fatalf("places taken %d (%v)", taken, err)
	}
	if got := s.cartEnds(*cart.ID); got != "expired" {
		t.Fatalf("cart ended %q", got)
	}
	if err := s.pool.QueryRow(context.Background(), `SELECT sum(taken) FROM service_days`).Scan(&taken); err != nil || taken != 0 {
		t.Fatalf("places taken %d after expiry (%v)", taken, err)
	}
	fam.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &cart)
	if cart.Status != "empty" || len(cart.Items) != 0 {
		t.Fatalf("cart after expiry: %+v", cart)
	}
}

func TestCheckoutRefusalsAreExplainedAndTheCartKept(t *testing.T) {
	s := newStack(t)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	cart := book(fam, "cantine", 2)

	// PayFiP does not answer: the family is told, and may try again.
	s.sim.SetFaults(sim.Faults{CreateUnavailable: 1})
	var p problemView
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusConflict, &p)
	if !strings.HasSuffix(p.Type, "checkout-refused") || !strings.Contains(p.Detail, "PayFiP") {
		t.Fatalf("PayFiP down: %+v", p)
	}
	fam.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &cart)
	if cart.Status != "open" || len(cart.Items) != 2 {
		t.Fatalf("cart after a failed checkout: %+v", cart)
	}

	// No e-mail for the receipt: refused before anything is frozen.
	if _, err := s.pool.Exec(context.Background(), `UPDATE families SET email = '' WHERE name = 'Martin'`); err != nil {
		t.Fatal(err)
	}
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusConflict, &p)
	if !strings.Contains(p.Detail, "adresse e-mail") {
		t.Fatalf("no e-mail: %+v", p)
	}
	if _, err := s.pool.Exec(context.Background(), `UPDATE families SET email = 'martin@demo.enfance.test' WHERE name = 'Martin'`); err != nil {
		t.Fatal(err)
	}

	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	// A second checkout while the family is on PayFiP's page.
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusConflict, &p)
	if !strings.Contains(p.Detail, "paiement est déjà en cours") {
		t.Fatalf("second checkout: %+v", p)
	}
	payOnPage(t, co.PaymentURL, "P")
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM payment_attempts WHERE cart_id = $1`, co.CartID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d attempts (%v): one failed creation, one paid", n, err)
	}
}
