package e2e_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/password"
)

// Two parents of one family press "Payer" at the same moment: one payment is
// created, the other parent is told a payment is in progress, and once paid there
// is one payment, one set of reservations and one receipt.
func TestTwoParentsCheckingOutAtOnceMakeOnePayment(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	q := db.New(s.pool)
	first, err := q.GetUserByLogin(ctx, "martin@demo.enfance.test")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := password.Hash(ctx, "second-parent-2026")
	if err != nil {
		t.Fatal(err)
	}
	if err := q.InsertUser(ctx, db.InsertUserParams{
		ID: uuid.New(), OrgID: first.OrgID, Login: "thomas.martin@demo.enfance.test", PasswordHash: hash,
		Role: "family", FamilyID: first.FamilyID, DisplayName: "Thomas Martin",
	}); err != nil {
		t.Fatal(err)
	}
	claire := s.login("martin@demo.enfance.test", "demo-martin-2026")
	thomas := s.login("thomas.martin@demo.enfance.test", "second-parent-2026")
	cart := book(claire, "cantine", 2)

	type answer struct {
		status int
		body   map[string]any
	}
	answers := make([]answer, 2)
	var wg sync.WaitGroup
	for i, parent := range []*apiClient{claire, thomas} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out map[string]any
			answers[i] = answer{parent.status(http.MethodPost, "/api/v1/cart/checkout", nil, &out), out}
		}()
	}
	wg.Wait()

	var paymentURL string
	created, refused := 0, 0
	for _, a := range answers {
		switch {
		case a.status == http.StatusOK && a.body["status"] == "payment_required":
			created++
			paymentURL, _ = a.body["payment_url"].(string)
		case a.status == http.StatusConflict:
			refused++
		default:
			t.Fatalf("unexpected checkout answer %d %v", a.status, a.body)
		}
	}
	if created != 1 || refused != 1 {
		t.Fatalf("%d payments created and %d refused, want 1 and 1: %+v", created, refused, answers)
	}
	payOnPage(t, paymentURL, "P")
	if got := s.cartEnds(*cart.ID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	var attempts, payments, reservations int
	if err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM payment_attempts WHERE cart_id = $1),
		(SELECT count(*) FROM ledger_entries WHERE cart_id = $1 AND kind = 'payment'),
		(SELECT count(*) FROM reservations r JOIN cart_lines l ON l.id = r.cart_line_id WHERE l.cart_id = $1)`,
		*cart.ID).Scan(&attempts, &payments, &reservations); err != nil {
		t.Fatal(err)
	}
	if receipts := s.receiptsSent(1); attempts != 1 || payments != 1 || reservations != 2 || receipts != 1 {
		t.Fatalf("attempts %d, payments %d, reservations %d, receipts %d; want 1 1 2 1", attempts, payments, reservations, receipts)
	}
}
