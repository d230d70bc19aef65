package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A client that lost an answer (its API process died, the network dropped it)
// sends the same write again with the same Idempotency-Key, to any API process:
// the cart's days are added once, the checkout is the same checkout with the same
// PayFiP payment, and nothing is paid or counted twice.
func TestRetriedWritesWithTheSameKeyHappenOnce(t *testing.T) {
	s := newStack(t)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	kid, cantine := child(fam), serviceByCode(fam, "cantine")
	var items []map[string]string
	for _, d := range availableDays(fam, kid, cantine.ID, 3) {
		items = append(items, map[string]string{"child_id": kid, "service_id": cantine.ID, "date": d.Date})
	}
	taken := func() int {
		return int(s.int(`SELECT coalesce(sum(taken), 0) FROM service_days WHERE service_id = $1`, cantine.ID))
	}
	before := taken()

	fam.header = http.Header{"Idempotency-Key": {"add-1"}}
	var first, again cartView
	fam.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items}, http.StatusCreated, &first)
	fam.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items}, http.StatusCreated, &again)
	if len(again.Items) != 3 || *again.ID != *first.ID || again.TotalDueCents != first.TotalDueCents || taken() != before+3 {
		t.Fatalf("retried add: %+v after %+v, %d places taken (was %d)", again, first, taken(), before)
	}
	// Without the key it is a second request for days already held: refused, as before.
	fam.header = nil
	var p problemView
	fam.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items}, http.StatusConflict, &p)
	if !strings.HasSuffix(p.Type, "items-refused") {
		t.Fatalf("same days without a key: %+v", p)
	}
	// A key on a request that is not the same (one more day): nothing is added.
	more := append(items[:3:3], map[string]string{"child_id": kid, "service_id": cantine.ID, "date": availableDays(fam, kid, cantine.ID, 1)[0].Date})
	fam.header = http.Header{"Idempotency-Key": {"add-2"}}
	fam.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": more}, http.StatusConflict, &p)
	if taken() != before+3 {
		t.Fatalf("a refused request took places: %d, want %d", taken(), before+3)
	}
	// A malformed key is refused, not ignored (which would lose the deduplication).
	fam.header = http.Header{"Idempotency-Key": {strings.Repeat("k", 201)}}
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusBadRequest, &p)
	fam.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items}, http.StatusBadRequest, &p)
	if !strings.HasSuffix(p.Type, "idempotency-key-invalid") {
		t.Fatalf("long key: %+v", p)
	}

	fam.header = http.Header{"Idempotency-Key": {"checkout-1"}}
	var co, coAgain checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &coAgain)
	if co.Status != "payment_required" || coAgain != co {
		t.Fatalf("retried checkout answered %+v, first %+v", coAgain, co)
	}
	if n := s.int(`SELECT count(*) FROM payment_attempts WHERE cart_id = $1`, co.CartID); n != 1 {
		t.Fatalf("%d payment attempts for one checkout sent twice", n)
	}
	payOnPage(t, co.PaymentURL, "P")
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	// Once paid there is nothing left to check out: the retry says so and
	// changes nothing.
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusConflict, &p)
	var payments int
	if err := s.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM ledger_entries WHERE cart_id = $1 AND kind = 'payment'`, co.CartID).Scan(&payments); err != nil || payments != 1 {
		t.Fatalf("%d payment entries (%v), want 1", payments, err)
	}
	s.assertNothingLost(t)
}
