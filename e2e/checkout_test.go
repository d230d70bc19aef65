package e2e_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/workflows"
)

type member struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

type service struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	PriceCents *int64 `json:"price_cents"`
}

type day struct {
	Date       string `json:"date"`
	State      string `json:"state"`
	PriceCents int64  `json:"price_cents"`
}

type cartView struct {
	ID     *string `json:"id"`
	Status string  `json:"status"`
	Items  []struct {
		ID string `json:"id"`
	} `json:"items"`
	SubtotalCents int64 `json:"subtotal_cents"`
	TotalDueCents int64 `json:"total_due_cents"`
	HoldSeconds   int64 `json:"hold_seconds"`
}

type checkoutAnswer struct {
	Status     string `json:"status"`
	PaymentURL string `json:"payment_url"`
	PaymentID  string `json:"payment_id"`
	CartID     string `json:"cart_id"`
}

// availableDays reads the calendar month by month until it finds n bookable days.
func availableDays(c *apiClient, child, service string, n int) []day {
	c.t.Helper()
	var found []day
	month := time.Now()
	for i := 0; i < 3 && len(found) < n; i++ {
		var days []day
		c.do(http.MethodGet, "/api/v1/children/"+child+"/calendar?service_id="+service+"&month="+month.Format("2006-01"), nil, http.StatusOK, &days)
		for _, d := range days {
			if d.State == "available" && len(found) < n {
				found = append(found, d)
			}
		}
		month = time.Date(month.Year(), month.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	}
	if len(found) < n {
		c.t.Fatalf("only %d bookable days found", len(found))
	}
	return found
}

// The walking skeleton: login → calendar → cart → checkout → the cart workflow
// creates the PayFiP payment → the payer pays on the simulator page → the simulator
// notifies → the workflow reads the verified result → reservations confirmed and
// ledger written in one transaction → cart paid.
func TestFamilyBooksAndPaysEndToEnd(t *testing.T) {
	s := newStack(t)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")

	var members []member
	fam.do(http.MethodGet, "/api/v1/family/members", nil, http.StatusOK, &members)
	var child string
	for _, m := range members {
		if m.Kind == "child" {
			child = m.ID
			break
		}
	}
	var services []service
	fam.do(http.MethodGet, "/api/v1/services", nil, http.StatusOK, &services)
	var cantine service
	for _, sv := range services {
		if sv.Code == "cantine" {
			cantine = sv
		}
	}
	if child == "" || cantine.ID == "" || cantine.PriceCents == nil || *cantine.PriceCents != 150 {
		t.Fatalf("demo family should see the cantine at 1,50 € (QF 650): child %q, services %+v", child, services)
	}

	days := availableDays(fam, child, cantine.ID, 3)
	items := []map[string]string{}
	for _, d := range days {
		items = append(items, map[string]string{"child_id": child, "service_id": cantine.ID, "date": d.Date})
	}
	var cart cartView
	fam.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items}, http.StatusCreated, &cart)
	if len(cart.Items) != 3 || cart.SubtotalCents != 450 || cart.TotalDueCents != 450 || cart.Status != "open" {
		t.Fatalf("cart after adding 3 days: %+v", cart)
	}

	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	if co.Status != "payment_required" || !strings.Contains(co.PaymentURL, "/tpa/paiementws.web?idop=") {
		t.Fatalf("checkout: %+v", co)
	}
	// While PayFiP has not answered, the cart cannot change.
	fam.do(http.MethodDelete, "/api/v1/cart/items/"+cart.Items[0].ID, nil, http.StatusConflict, nil)

	// The payer opens the page and presses "Payer par carte".
	page, err := http.Get(co.PaymentURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "4,50") {
		t.Fatalf("payment page: %d %s", page.StatusCode, body)
	}
	idOp := co.PaymentURL[strings.Index(co.PaymentURL, "idop=")+5:]
	resp := postForm(t, strings.Split(co.PaymentURL, "?")[0], url.Values{"idop": {idOp}, "resultrans": {"P"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pay: status %d", resp.StatusCode)
	}

	// The simulator notifies the API, which signals the workflow; wait for it to end.
	cartID := uuid.MustParse(co.CartID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var final string
	if err := s.temporal.GetWorkflow(ctx, workflows.CartWorkflowID(cartID), "").Get(ctx, &final); err != nil {
		t.Fatalf("cart workflow: %v", err)
	}
	if final != "paid" {
		t.Fatalf("cart workflow ended %q, want paid", final)
	}

	var reservations []struct {
		Date       string `json:"date"`
		Status     string `json:"status"`
		PriceCents int64  `json:"price_cents"`
	}
	fam.do(http.MethodGet, "/api/v1/reservations?from="+days[0].Date+"&to="+days[2].Date, nil, http.StatusOK, &reservations)
	if len(reservations) != 3 {
		t.Fatalf("reservations: %+v", reservations)
	}
	for _, r := range reservations {
		if r.Status != "confirmed" || r.PriceCents != 150 {
			t.Fatalf("reservation %+v", r)
		}
	}
	fam.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &cart)
	if cart.Status != "empty" || len(cart.Items) != 0 {
		t.Fatalf("cart after payment: %+v", cart)
	}

	// The ledger: three charges of 1,50 € and one payment of 4,50 €, nothing owed.
	var charges, payments, paymentCount int64
	rows, err := s.pool.Query(ctx, `SELECT kind, outstanding_cents FROM ledger_entries l JOIN families f ON f.id = l.family_id WHERE f.name = 'Martin'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind string
		var cents int64
		if err := rows.Scan(&kind, &cents); err != nil {
			t.Fatal(err)
		}
		switch kind {
		case "charge":
			charges += cents
		case "payment":
			payments += cents
			paymentCount++
		default:
			t.Fatalf("unexpected ledger entry %s %d", kind, cents)
		}
	}
	if charges != 450 || payments != -450 || paymentCount != 1 {
		t.Fatalf("ledger: charges %d, payments %d in %d entries", charges, payments, paymentCount)
	}
	var me struct {
		OutstandingCents int64 `json:"outstanding_cents"`
		CreditCents      int64 `json:"credit_cents"`
	}
	fam.do(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me.OutstandingCents != 0 || me.CreditCents != 0 {
		t.Fatalf("balances after payment: %+v", me)
	}
	var attempt struct{ Status, Numauto string }
	if err := s.pool.QueryRow(ctx, `SELECT status, numauto FROM payment_attempts WHERE id = $1`, co.PaymentID).Scan(&attempt.Status, &attempt.Numauto); err != nil {
		t.Fatal(err)
	}
	if attempt.Status != "paid" || attempt.Numauto == "" {
		t.Fatalf("attempt: %+v", attempt)
	}

	// The receipt: one e-mail with the PDF attached, and the same PDF to download.
	s.receiptsSent(1)
	mails, _ := filepath.Glob(filepath.Join(s.outbox, "*.eml"))
	if len(mails) != 1 {
		t.Fatalf("outbox holds %d e-mails, want the one receipt", len(mails))
	}
	raw, err := os.ReadFile(mails[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "martin@demo.enfance.test") || !strings.Contains(string(raw), "application/pdf") {
		t.Fatalf("receipt e-mail lacks the family's address or the PDF:\n%.600s", raw)
	}
	pdf := fam.do(http.MethodGet, "/api/v1/payments/"+co.PaymentID+"/receipt.pdf", nil, http.StatusOK, nil)
	if !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("receipt download is not a PDF: %.20q", pdf)
	}
	other := s.login("bernard@demo.enfance.test", "demo-bernard-2026")
	other.do(http.MethodGet, "/api/v1/payments/"+co.PaymentID+"/receipt.pdf", nil, http.StatusNotFound, nil)
}
