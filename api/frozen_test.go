package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
)

// send posts body with an Idempotency-Key, as a back office does for money.
func (a *apiCaller) send(path, key string, body any) (int, []byte) {
	a.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		a.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, a.base+path, bytes.NewReader(b))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// A checkout the cagnotte covers freezes what it uses (its attempt is
// settled_without_payfip) a moment before its confirmation writes the ledger. In
// between, finance can neither take back the cagnotte it froze nor settle the
// balance it is paying: the cagnotte never goes negative and no euro is counted
// twice.
func TestStaffCannotSpendWhatACheckoutInProgressFroze(t *testing.T) {
	e := newBookingEnv(t, false)
	fam, child, _ := e.family(e.org, 650) // 1,50 € a day
	finance := e.login(e.org, "finance", nil)
	for _, le := range []db.InsertLedgerEntryParams{
		{Kind: "adjustment", CreditCents: 500, IdempotencyKey: "test:credit:" + fam.ID.String()},
		{Kind: "adjustment", OutstandingCents: 200, IdempotencyKey: "test:owed:" + fam.ID.String()},
	} {
		le.OrgID, le.FamilyID, le.OccurredAt = fam.OrgID, fam.ID, time.Now()
		_, err := e.q.InsertLedgerEntry(e.ctx, le)
		e.must(err)
	}
	added, err := e.store.AddItems(e.ctx, fam, []cart.Item{{ChildID: child, ServiceID: e.svc, Date: ymd(e.day(5))}})
	e.must(err)
	// 1,50 € + 2,00 € owed − 5,00 € of cagnotte: the cagnotte pays 3,50 €.
	prep, err := e.acts.PrepareCheckout(e.ctx, activities.PrepareCheckoutInput{CartID: added.Cart.ID, Seq: 1})
	e.must(err)
	if prep.Settlement != booking.SettleNow || prep.Totals.CreditAppliedCents != 350 || prep.Totals.OutstandingAddedCents != 200 {
		t.Fatalf("checkout %+v", prep)
	}
	path := "/api/v1/admin/families/" + fam.ID.String()

	// The whole cagnotte taken back: only 1,50 € is not frozen.
	status, raw := finance.send(path+"/adjustments", "adj-1", map[string]any{"amount_cents": -500, "target": "credit", "reason": "remboursement"})
	if status != http.StatusConflict || !strings.Contains(string(raw), "balance-too-low") || !strings.Contains(string(raw), "1,50") {
		t.Fatalf("taking back the frozen cagnotte: %d %s", status, raw)
	}
	// The balance the checkout pays cannot be reversed either …
	status, raw = finance.send(path+"/adjustments", "adj-2", map[string]any{"amount_cents": -200, "target": "outstanding", "reason": "erreur"})
	if status != http.StatusConflict || !strings.Contains(string(raw), "balance-too-low") {
		t.Fatalf("reversing the frozen balance: %d %s", status, raw)
	}
	// … and cash at the desk settles nothing of it: it goes to the cagnotte.
	status, raw = finance.send(path+"/payments", "desk-1", map[string]any{"amount_cents": 200, "method": "cash"})
	var desk struct {
		Entry struct {
			OutstandingCents int64 `json:"outstanding_cents"`
			CreditCents      int64 `json:"credit_cents"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &desk); status != http.StatusCreated || err != nil || desk.Entry.OutstandingCents != 0 || desk.Entry.CreditCents != 200 {
		t.Fatalf("desk payment during the checkout: %d %s", status, raw)
	}
	// What is free may move: 1,50 € taken back.
	if status, raw := finance.send(path+"/adjustments", "adj-3", map[string]any{"amount_cents": -150, "target": "credit", "reason": "remboursement"}); status != http.StatusCreated {
		t.Fatalf("taking back the free cagnotte: %d %s", status, raw)
	}

	e.must(e.acts.ConfirmCart(e.ctx, prep.AttemptID))
	bal, err := e.q.FamilyBalances(e.ctx, fam.ID)
	e.must(err)
	// 5,00 + 2,00 (desk) − 1,50 − 3,50 = 2,00 of cagnotte; 2,00 + 1,50 − 3,50 = 0 owed.
	if bal.CreditCents != 200 || bal.OutstandingCents != 0 {
		t.Fatalf("balances after the confirmation: %+v", bal)
	}
	if n, err := e.q.CountLedgerViolations(e.ctx, e.org); err != nil || n != 0 {
		t.Fatalf("ledger invariants: %d (%v)", n, err)
	}
}

// A payment of the balance alone in progress freezes the balance it pays, for the
// cart (which no longer adds it) as for finance.
func TestABalancePaymentInProgressIsNotPaidTwice(t *testing.T) {
	e := newBookingEnv(t, false)
	fam, child, parent := e.family(e.org, 650)
	_, err := e.q.InsertLedgerEntry(e.ctx, db.InsertLedgerEntryParams{
		OrgID: fam.OrgID, FamilyID: fam.ID, Kind: "adjustment", OutstandingCents: 1200, IdempotencyKey: "test:owed", OccurredAt: time.Now(),
	})
	e.must(err)
	_, err = e.store.AddItems(e.ctx, fam, []cart.Item{{ChildID: child, ServiceID: e.svc, Date: ymd(e.day(5))}})
	e.must(err)
	var before struct {
		OutstandingAddedCents int64 `json:"outstanding_added_cents"`
		TotalDueCents         int64 `json:"total_due_cents"`
	}
	parent.expect(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &before)
	if before.OutstandingAddedCents != 1200 || before.TotalDueCents != 1350 {
		t.Fatalf("cart before %+v", before)
	}
	prep, err := e.acts.PrepareBalancePayment(e.ctx, activities.PrepareBalanceInput{PaymentID: uuid.New(), OrgID: fam.OrgID, FamilyID: fam.ID})
	e.must(err)
	if prep.Totals.TotalDueCents != 1200 || prep.Settlement != booking.SettlePayFiP {
		t.Fatalf("balance payment %+v", prep)
	}
	var during struct {
		OutstandingAddedCents int64 `json:"outstanding_added_cents"`
		TotalDueCents         int64 `json:"total_due_cents"`
	}
	parent.expect(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &during)
	if during.OutstandingAddedCents != 0 || during.TotalDueCents != 150 {
		t.Fatalf("cart while the balance is being paid: %+v, want its line alone", during)
	}
	var bal struct {
		CanPay  bool `json:"can_pay"`
		Refusal struct {
			Type string `json:"type"`
		} `json:"refusal"`
		InProgress []struct {
			ID          uuid.UUID `json:"id"`
			AmountCents int64     `json:"amount_cents"`
		} `json:"payments_in_progress"`
	}
	parent.expect(http.MethodGet, "/api/v1/balance", nil, http.StatusOK, &bal)
	if bal.CanPay || bal.Refusal.Type != "balance-payment-in-progress" || len(bal.InProgress) != 1 || bal.InProgress[0].ID != prep.AttemptID {
		t.Fatalf("balance %+v", bal)
	}
	parent.problem(http.MethodPost, "/api/v1/balance/checkout", nil, http.StatusConflict, "balance-payment-in-progress")
	// Under the family's lock, the activity refuses a second one too.
	if _, err := e.acts.PrepareBalancePayment(e.ctx, activities.PrepareBalanceInput{PaymentID: uuid.New(), OrgID: fam.OrgID, FamilyID: fam.ID}); err == nil ||
		!strings.Contains(err.Error(), "déjà en cours de paiement") {
		t.Fatalf("second balance payment: %v", err)
	}
}
