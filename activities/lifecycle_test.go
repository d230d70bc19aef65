package activities_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
)

// The cart lifecycle's activities against PostgreSQL: what a checkout freezes,
// and that confirming, reopening and expiring are exactly-once and keep the
// ledger and the places right.

func TestPrepareCheckoutFreezesLinesOutstandingAndCredit(t *testing.T) {
	f := newFixture(t)
	bernard := f.family("Bernard") // 5,00 € of credit
	f.owe(bernard, 300)
	c := f.cart(bernard, "cantine", 2) // 2 × 3,80 €

	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	// 7,60 + 3,00 owed − 5,00 credit = 5,60 € through PayFiP.
	want := booking.Totals{SubtotalCents: 760, OutstandingAddedCents: 300, CreditAppliedCents: 500, TotalDueCents: 560}
	if prep.Totals != want || prep.Settlement != booking.SettlePayFiP || prep.Seq != 1 {
		t.Fatalf("prepared %+v", prep)
	}
	att := f.attempt(prep.AttemptID)
	if att.LinesCents != 760 || att.OutstandingCents != 300 || att.CreditUsedCents != 500 || att.AmountCents != 560 ||
		att.Status != "created" || att.Seq != 1 || att.Mel != "bernard@demo.enfance.test" || att.Exer != 2026 ||
		att.Refdet != activities.Refdet(att.ID) || att.Numcli != "123456" {
		t.Fatalf("attempt %+v", att)
	}
	if s := f.cartStatus(c); s != "checking_out" {
		t.Fatalf("cart is %s", s)
	}
	// The activity ran again (its answer was lost): the same attempt, not a second one.
	again, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil || again != prep {
		t.Fatalf("replay: %+v, %v; first %+v", again, err, prep)
	}
	if n := f.count(`SELECT count(*) FROM payment_attempts WHERE cart_id = $1`, c.ID); n != 1 {
		t.Fatalf("%d attempts", n)
	}
	// Nothing is written to the ledger before the payment.
	if b := f.balances(bernard); b != (balances{300, 500}) {
		t.Fatalf("balances %+v", b)
	}
}

func TestCreditCoversTheCartAndTheRestStays(t *testing.T) {
	f := newFixture(t)
	bernard := f.family("Bernard")
	c := f.cart(bernard, "cantine", 1) // 3,80 € against 5,00 € of credit
	takenBefore := f.taken(c)

	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if prep.Settlement != booking.SettleNow || prep.Totals.CreditAppliedCents != 380 || prep.Totals.TotalDueCents != 0 {
		t.Fatalf("prepared %+v", prep)
	}
	if att := f.attempt(prep.AttemptID); att.Status != "settled_without_payfip" {
		t.Fatalf("attempt is %s", att.Status)
	}
	for range 2 {
		if err := f.acts.ConfirmCart(f.ctx, prep.AttemptID); err != nil {
			t.Fatal(err)
		}
	}
	if b := f.balances(bernard); b != (balances{0, 120}) {
		t.Fatalf("balances %+v, want nothing owed and 1,20 € of credit", b)
	}
	if n := f.count(`SELECT count(*) FROM ledger_entries WHERE family_id = $1 AND kind IN ('charge', 'credit_used', 'payment')`, bernard.id); n != 2 {
		t.Fatalf("%d ledger entries, want a charge and the credit used", n)
	}
	if n := f.count(`SELECT count(*) FROM reservations WHERE family_id = $1 AND status = 'confirmed'`, bernard.id); n != 1 {
		t.Fatalf("%d reservations", n)
	}
	if got := f.taken(c); got != takenBefore {
		t.Fatalf("taken %d, was %d: a confirmed hold keeps its place", got, takenBefore)
	}
}

func TestConfirmCartIsExactlyOnce(t *testing.T) {
	f := newFixture(t)
	martin := f.family("Martin")
	f.owe(martin, 250)
	c := f.cart(martin, "cantine", 3) // 3 × 1,50 €
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if prep.Totals.TotalDueCents != 700 {
		t.Fatalf("due %d, want 4,50 + 2,50", prep.Totals.TotalDueCents)
	}
	// Not paid yet: confirming is refused, for good.
	wantAppError(t, f.acts.ConfirmCart(f.ctx, prep.AttemptID), activities.ErrTypeNotPaid)

	f.paidByPayFiP(prep.AttemptID)
	// Two workers racing on the same attempt, then a late retry.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = f.acts.ConfirmCart(f.ctx, prep.AttemptID) })
	}
	wg.Wait()
	errs = append(errs, f.acts.ConfirmCart(f.ctx, prep.AttemptID))
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	if b := f.balances(martin); b != (balances{0, 0}) {
		t.Fatalf("balances %+v: the payment settles the lines and the balance, to the cent", b)
	}
	kinds := map[string]int64{}
	rows, err := f.pool.Query(f.ctx, `SELECT kind, count(*), sum(outstanding_cents)::bigint FROM ledger_entries WHERE family_id = $1 GROUP BY kind`, martin.id)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		var sum int64
		if err := rows.Scan(&kind, &n, &sum); err != nil {
			t.Fatal(err)
		}
		kinds[kind], counts[kind] = sum, n
	}
	if counts["charge"] != 3 || kinds["charge"] != 450 || counts["payment"] != 1 || kinds["payment"] != -700 || counts["credit_used"] != 0 {
		t.Fatalf("ledger sums %v counts %v", kinds, counts)
	}
	if n := f.count(`SELECT count(*) FROM reservations WHERE cart_line_id IN (SELECT id FROM cart_lines WHERE cart_id = $1)`, c.ID); n != 3 {
		t.Fatalf("%d reservations", n)
	}
	if n := f.count(`SELECT count(*) FROM cart_lines WHERE cart_id = $1 AND state = 'confirmed'`, c.ID); n != 3 {
		t.Fatalf("%d confirmed lines", n)
	}
	if s := f.cartStatus(c); s != "paid" {
		t.Fatalf("cart is %s", s)
	}
	// A paid cart neither reopens nor expires.
	if err := f.acts.ReopenCart(f.ctx, prep.AttemptID); err != nil {
		t.Fatal(err)
	}
	if err := f.acts.ExpireCart(f.ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if s := f.cartStatus(c); s != "paid" || f.attempt(prep.AttemptID).Status != "paid" {
		t.Fatalf("cart %s, attempt %s", s, f.attempt(prep.AttemptID).Status)
	}
}

func TestSmallAmountIsConfirmedAndCarried(t *testing.T) {
	f := newFixture(t)
	martin := f.family("Martin")
	c := f.cart(martin, "matin", 1) // 0,80 €: under PayFiP's 1 € minimum
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if prep.Settlement != booking.SettleCarried || prep.Totals.TotalDueCents != 80 {
		t.Fatalf("prepared %+v", prep)
	}
	if err := f.acts.ConfirmCart(f.ctx, prep.AttemptID); err != nil {
		t.Fatal(err)
	}
	if b := f.balances(martin); b != (balances{80, 0}) {
		t.Fatalf("balances %+v, want 0,80 € carried", b)
	}
	if n := f.count(`SELECT count(*) FROM ledger_entries WHERE family_id = $1 AND kind = 'payment'`, martin.id); n != 0 {
		t.Fatal("no payment happened")
	}
}

func TestBalanceOnlyCheckout(t *testing.T) {
	f := newFixture(t)
	martin := f.family("Martin")
	f.owe(martin, 1200)
	c, err := f.q.CreateCart(f.ctx, db.CreateCartParams{ID: uuid.New(), OrgID: f.org, FamilyID: martin.id, ExpiresAt: f.now.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if prep.Totals != (booking.Totals{OutstandingAddedCents: 1200, TotalDueCents: 1200}) {
		t.Fatalf("prepared %+v", prep)
	}
	f.paidByPayFiP(prep.AttemptID)
	if err := f.acts.ConfirmCart(f.ctx, prep.AttemptID); err != nil {
		t.Fatal(err)
	}
	if b := f.balances(martin); b != (balances{0, 0}) {
		t.Fatalf("balances %+v", b)
	}
}

func TestPrepareCheckoutRefusals(t *testing.T) {
	f := newFixture(t)
	martin := f.family("Martin")

	empty, err := f.q.CreateCart(f.ctx, db.CreateCartParams{ID: uuid.New(), OrgID: f.org, FamilyID: martin.id, ExpiresAt: f.now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: empty.ID, Seq: 1})
	wantAppError(t, err, activities.ErrTypeNothingToPay)
	if err := f.acts.ExpireCart(f.ctx, empty.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: empty.ID, Seq: 1})
	wantAppError(t, err, activities.ErrTypeCartClosed)

	c := f.cart(martin, "cantine", 1)
	if _, err := f.pool.Exec(f.ctx, `UPDATE families SET email = '' WHERE id = $1`, martin.id); err != nil {
		t.Fatal(err)
	}
	_, err = f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	wantAppError(t, err, activities.ErrTypeNoEmail)
	if s := f.cartStatus(c); s != "open" {
		t.Fatalf("a refused checkout left the cart %s", s)
	}
}

func TestReopenedCartTakesANewAttempt(t *testing.T) {
	f := newFixture(t)
	martin := f.family("Martin")
	c := f.cart(martin, "cantine", 2)
	first, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	// PayFiP could not create the payment: the attempt is closed, never to be paid.
	for range 2 {
		if err := f.acts.ReopenCart(f.ctx, first.AttemptID); err != nil {
			t.Fatal(err)
		}
	}
	if s, att := f.cartStatus(c), f.attempt(first.AttemptID); s != "open" || att.Status != "error" {
		t.Fatalf("cart %s, attempt %s", s, att.Status)
	}
	second, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 2})
	if err != nil {
		t.Fatal(err)
	}
	if second.Seq != 2 || second.AttemptID == first.AttemptID || f.attempt(second.AttemptID).Refdet == f.attempt(first.AttemptID).Refdet {
		t.Fatalf("second attempt %+v, first %+v", second, first)
	}
	// Refused by the bank: the outcome stays on the attempt, the cart reopens.
	if err := f.q.SetPaymentAttemptOutcome(f.ctx, db.SetPaymentAttemptOutcomeParams{ID: second.AttemptID, Status: "refused", Resultrans: "R"}); err != nil {
		t.Fatal(err)
	}
	if err := f.acts.ReopenCart(f.ctx, second.AttemptID); err != nil {
		t.Fatal(err)
	}
	if s, att := f.cartStatus(c), f.attempt(second.AttemptID); s != "open" || att.Status != "refused" {
		t.Fatalf("cart %s, attempt %s", s, att.Status)
	}
	// A new run of the workflow counts from 1 again: it gets the next number.
	third, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil || third.Seq != 3 {
		t.Fatalf("third attempt %+v, %v", third, err)
	}
	// And one that finds an attempt in progress carries on with it.
	adopted, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil || adopted != third {
		t.Fatalf("adopted %+v, %v; want %+v", adopted, err, third)
	}
}

func TestExpireCartReleasesThePlacesOnce(t *testing.T) {
	f := newFixture(t)
	martin := f.family("Martin")
	c := f.cart(martin, "mercredi", 2) // capacity 24
	held := f.taken(c)
	if held != 2 {
		t.Fatalf("taken %d before expiry", held)
	}
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	// A payment is in progress: expiring now is refused and changes nothing.
	wantAppError(t, f.acts.ExpireCart(f.ctx, c.ID), activities.ErrTypeCartBusy)
	if f.taken(c) != 2 || f.cartStatus(c) != "checking_out" {
		t.Fatal("a refused expiry changed the cart")
	}
	if err := f.acts.ReopenCart(f.ctx, prep.AttemptID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.acts.ExpireCart(f.ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.taken(c); got != 0 {
		t.Fatalf("taken %d after expiry", got)
	}
	if s := f.cartStatus(c); s != "expired" {
		t.Fatalf("cart is %s", s)
	}
	if n := f.count(`SELECT count(*) FROM cart_lines WHERE cart_id = $1 AND state <> 'released'`, c.ID); n != 0 {
		t.Fatalf("%d lines still held", n)
	}
	// A payment found paid after the expiry is never confirmed on given-back places.
	f.paidByPayFiP(prep.AttemptID)
	wantAppError(t, f.acts.ConfirmCart(f.ctx, prep.AttemptID), activities.ErrTypeCartClosed)
	if n := f.count(`SELECT count(*) FROM reservations WHERE family_id = $1`, martin.id); n != 0 {
		t.Fatalf("%d reservations", n)
	}
}
