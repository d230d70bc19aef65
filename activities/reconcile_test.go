package activities_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
)

// Reconciliation's activities against PostgreSQL and the simulator: which
// attempts a run looks at, and how each PayFiP answer is settled when the cart's
// workflow will not do it.

// reconcileSim points the fixture's activities at a simulator on the real clock
// (a payer may still pay an idOp the engine already gave up on) and an outbox.
func (f *fixture) reconcileSim() (*sim.Simulator, string) {
	f.t.Helper()
	s := sim.New(sim.Options{})
	s.SetFaults(sim.Faults{LoseNotifications: true})
	srv := httptest.NewServer(s.Handler())
	f.t.Cleanup(func() { srv.Close(); s.Close() })
	outbox := f.t.TempDir()
	f.acts.PublicURL = "http://portal.test"
	f.acts.PayFiP = payfip.NewClient(payfip.Config{Endpoint: srv.URL + "/tpa/services/securite", PaymentURL: srv.URL + "/tpa/paiementws.web"}, nil)
	f.acts.Mail = &mail.Outbox{Dir: outbox, From: "Portail famille <no-reply@enfance.test>"}
	return s, outbox
}

// sentToPayFiP checks out cart c and creates its PayFiP payment; the fixture's
// clock is set to the payment's creation (PostgreSQL's now()) plus after.
func (f *fixture) sentToPayFiP(c db.Cart, after time.Duration) (db.PaymentAttempt, string) {
	f.t.Helper()
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	created, err := f.acts.CreatePayFiPPayment(f.ctx, prep.AttemptID)
	if err != nil {
		f.t.Fatal(err)
	}
	att := f.attempt(prep.AttemptID)
	f.now = att.PayfipCreatedAt.Add(after)
	return att, created.IDOp
}

// expiredWithItsCart plays what the cart's workflow does when nobody pays for 21
// minutes and the TTL has passed: PayFiP's P5 reads as expired, the cart reopens
// and expires, its places released.
func (f *fixture) expiredWithItsCart(c db.Cart) (db.PaymentAttempt, string) {
	f.t.Helper()
	att, idOp := f.sentToPayFiP(c, 21*time.Minute)
	out, err := f.acts.CheckPayment(f.ctx, att.ID)
	if err != nil || out.Status != payfip.StatusExpired {
		f.t.Fatalf("check after 21 min: %+v %v", out, err)
	}
	if err := f.acts.ReopenCart(f.ctx, att.ID); err != nil {
		f.t.Fatal(err)
	}
	if err := f.acts.ExpireCart(f.ctx, c.ID); err != nil {
		f.t.Fatal(err)
	}
	return f.attempt(att.ID), idOp
}

func (f *fixture) claim() []activities.AttemptToReconcile {
	f.t.Helper()
	got, err := f.acts.ClaimAttemptsToReconcile(f.ctx, activities.ClaimInput{StaleAfter: 16 * time.Minute, PaidWithin: 7 * 24 * time.Hour, Limit: 200})
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

func (f *fixture) settle(id uuid.UUID, gone bool) activities.SettleResult {
	f.t.Helper()
	res, err := f.acts.SettleAttempt(f.ctx, activities.SettleInput{AttemptID: id, CartGone: gone, GiveUpAfter: 2 * time.Hour})
	if err != nil {
		f.t.Fatalf("settle: %v", err)
	}
	return res
}

type entry struct {
	kind                string
	outstanding, credit int64
}

func (f *fixture) ledgerOf(fam family) map[string]entry {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT idempotency_key, kind, outstanding_cents, credit_cents FROM ledger_entries WHERE family_id = $1`, fam.id)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]entry{}
	for rows.Next() {
		var key string
		var e entry
		if err := rows.Scan(&key, &e.kind, &e.outstanding, &e.credit); err != nil {
			f.t.Fatal(err)
		}
		out[key] = e
	}
	return out
}

func (f *fixture) noLedgerViolation() {
	f.t.Helper()
	if n, err := f.q.CountLedgerViolations(f.ctx, f.org); err != nil || n != 0 {
		f.t.Fatalf("ledger invariants: %d families in violation (%v)", n, err)
	}
}

// The money of a payment that reached PayFiP after its cart expired: recorded as
// a payment and put, whole, on the family's cagnotte — what it owed before is
// still owed (nothing was confirmed for this money), and its next cart uses the
// credit first. Once, however often it is settled, and the family is told once.
func TestLatePaymentIsRecordedAndCreditedOnce(t *testing.T) {
	f := newFixture(t)
	s, outbox := f.reconcileSim()
	martin := f.family("Martin")
	f.owe(martin, 1250)
	c := f.cart(martin, "cantine", 2) // 2 × 1,50 € + 12,50 € owed
	att, idOp := f.expiredWithItsCart(c)
	if att.Status != "expired" || att.AmountCents != 1550 || f.cartStatus(c) != "expired" || f.taken(c) != 0 {
		t.Fatalf("before the late payment: attempt %s %d, cart %s, %d places taken", att.Status, att.AmountCents, f.cartStatus(c), f.taken(c))
	}

	// Nothing paid yet: the dead attempt is looked at, and left open for a while.
	got := f.claim()
	if len(got) != 1 || got[0].AttemptID != att.ID || got[0].Status != "expired" || got[0].IDOp != idOp || got[0].Notified {
		t.Fatalf("claimed %+v", got)
	}
	if res := f.settle(att.ID, false); res.Action != activities.SettleWaiting || res.Status != payfip.StatusExpired {
		t.Fatalf("expired 21 min after creation: %+v", res)
	}

	// The payer finishes on PayFiP's page after all; the notification is lost.
	if err := s.Pay(idOp, "P"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(5 * time.Minute)
	res := f.settle(att.ID, false)
	if res.Action != activities.SettleCredited || res.Status != payfip.StatusPaid || res.AmountCents != 1550 {
		t.Fatalf("late payment: %+v", res)
	}
	paid := f.attempt(att.ID)
	if paid.Status != "paid" || paid.Numauto == "" || paid.PaidAt == nil || paid.ReconciledAt == nil {
		t.Fatalf("attempt after settling: %+v", paid)
	}
	led := f.ledgerOf(martin)
	if len(led) != 3 || led["payment:"+att.ID.String()] != (entry{"payment", -1550, 0}) ||
		led["late_payment:"+att.ID.String()] != (entry{"late_payment_credit", 1550, 1550}) {
		t.Fatalf("ledger %+v: want the debt, a payment of 15,50 € and 15,50 € moved to the cagnotte", led)
	}
	if b := f.balances(martin); b != (balances{1250, 1550}) {
		t.Fatalf("balances %+v: still owes 12,50 €, 15,50 € on the cagnotte", b)
	}
	if n := f.count(`SELECT count(*) FROM reservations WHERE family_id = $1`, martin.id); n != 0 || f.taken(c) != 0 {
		t.Fatalf("%d reservations, %d places taken: nothing is confirmed for an expired cart", n, f.taken(c))
	}
	f.noLedgerViolation()

	// Settled again (a retried activity, a second run): nothing more.
	if res := f.settle(att.ID, false); res.Action != activities.SettleAlreadyDone {
		t.Fatalf("second settle: %+v", res)
	}
	if got := f.claim(); len(got) != 0 {
		t.Fatalf("claimed after settling: %+v", got)
	}
	if n := len(f.ledgerOf(martin)); n != 3 {
		t.Fatalf("%d ledger entries", n)
	}

	// The family is told, once.
	for range 2 {
		if err := f.acts.SendLatePaymentNotice(f.ctx, att.ID); err != nil {
			t.Fatal(err)
		}
	}
	mails, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(mails) != 1 {
		t.Fatalf("%d e-mails", len(mails))
	}
	raw, _ := os.ReadFile(mails[0])
	if !strings.Contains(string(raw), "martin@demo.enfance.test") || !strings.Contains(string(raw), "cagnotte") {
		t.Fatalf("notice:\n%s", raw)
	}
	if n := f.count(`SELECT count(*) FROM outbound_emails WHERE idempotency_key = $1 AND sent_at IS NOT NULL`, "late_payment:"+att.ID.String()); n != 1 {
		t.Fatalf("%d notices recorded", n)
	}

	// The next cart uses the cagnotte first: 1,50 € + 12,50 € owed − 14,00 € of credit.
	next := f.cart(martin, "cantine", 1)
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: next.ID, Seq: 1})
	if err != nil || prep.Totals.TotalDueCents != 0 || prep.Totals.CreditAppliedCents != 1400 {
		t.Fatalf("next checkout %+v %v", prep.Totals, err)
	}
}

// PayFiP says paid while the cart still checks out that attempt. With its
// workflow running, the workflow settles it (reconciliation writes nothing);
// with its workflow gone, the places still held are the family's: confirmed as
// the workflow would have, not credited.
func TestPaidAttemptOfACartStillCheckingOut(t *testing.T) {
	f := newFixture(t)
	s, _ := f.reconcileSim()
	martin := f.family("Martin")
	c := f.cart(martin, "cantine", 3)
	att, idOp := f.sentToPayFiP(c, 17*time.Minute)
	if got := f.claim(); len(got) != 1 || got[0].Status != "pending" {
		t.Fatalf("claimed %+v", got)
	}
	if err := s.Pay(idOp, "V"); err != nil {
		t.Fatal(err)
	}
	if res := f.settle(att.ID, false); res.Action != activities.SettleCartBusy {
		t.Fatalf("cart still on it: %+v", res)
	}
	if a := f.attempt(att.ID); a.Status != "pending" || len(f.ledgerOf(martin)) != 0 {
		t.Fatalf("written while the cart's workflow runs: %s, %v", a.Status, f.ledgerOf(martin))
	}

	res := f.settle(att.ID, true)
	if res.Action != activities.SettleConfirmed {
		t.Fatalf("workflow gone: %+v", res)
	}
	if f.cartStatus(c) != "paid" || f.count(`SELECT count(*) FROM reservations WHERE family_id = $1 AND status = 'confirmed'`, martin.id) != 3 {
		t.Fatalf("cart %s", f.cartStatus(c))
	}
	led := f.ledgerOf(martin)
	if led["payment:"+att.ID.String()] != (entry{"payment", -450, 0}) || len(led) != 4 {
		t.Fatalf("ledger %+v", led)
	}
	if b := f.balances(martin); b != (balances{0, 0}) {
		t.Fatalf("balances %+v", b)
	}
	if res := f.settle(att.ID, true); res.Action != activities.SettleAlreadyDone {
		t.Fatalf("again: %+v", res)
	}
	f.noLedgerViolation()
}

// The cart's workflow recorded the payment, then ended before confirming it (an
// operator terminated it, say): the paid attempt is found by what the ledger
// lacks, and confirmed.
func TestPaidButNeverConfirmedIsFound(t *testing.T) {
	f := newFixture(t)
	s, _ := f.reconcileSim()
	bernard := f.family("Bernard")
	c := f.cart(bernard, "cantine", 2) // 7,60 € − 5,00 € of credit
	att, idOp := f.sentToPayFiP(c, time.Minute)
	if err := s.Pay(idOp, "P"); err != nil {
		t.Fatal(err)
	}
	if out, err := f.acts.CheckPayment(f.ctx, att.ID); err != nil || out.Status != payfip.StatusPaid {
		t.Fatalf("%+v %v", out, err)
	}
	if got := f.claim(); len(got) != 0 {
		t.Fatalf("claimed before 16 minutes: %+v", got)
	}
	f.now = f.now.Add(20 * time.Minute)
	got := f.claim()
	if len(got) != 1 || got[0].Status != "paid" {
		t.Fatalf("claimed %+v", got)
	}
	if res := f.settle(att.ID, true); res.Action != activities.SettleConfirmed {
		t.Fatalf("%+v", res)
	}
	if b := f.balances(bernard); b != (balances{0, 0}) || f.cartStatus(c) != "paid" {
		t.Fatalf("balances %+v, cart %s", b, f.cartStatus(c))
	}
	if got := f.claim(); len(got) != 0 {
		t.Fatalf("claimed after confirming: %+v", got)
	}
	f.noLedgerViolation()
}

// Refusals and abandons are PayFiP's last word; an expired attempt is read again
// until GiveUpAfter. An attempt whose workflow is gone gets its outcome recorded,
// and a cart left in checking_out is reported.
func TestUnpaidOutcomesAreClosed(t *testing.T) {
	f := newFixture(t)
	s, _ := f.reconcileSim()
	martin := f.family("Martin")
	c := f.cart(martin, "cantine", 1)
	att, idOp := f.sentToPayFiP(c, 17*time.Minute)
	if err := s.Pay(idOp, "A"); err != nil {
		t.Fatal(err)
	}
	res := f.settle(att.ID, true)
	if res.Action != activities.SettleNeedsOperator || res.Status != payfip.StatusAbandoned {
		t.Fatalf("abandoned, workflow gone: %+v", res)
	}
	if a := f.attempt(att.ID); a.Status != "abandoned" || a.ReconciledAt == nil || a.Resultrans != "A" {
		t.Fatalf("attempt %+v", a)
	}
	if got := f.claim(); len(got) != 0 {
		t.Fatalf("claimed: %+v", got)
	}

	// Expired: kept an eye on for two hours, then closed.
	bernard := f.family("Bernard")
	c2 := f.cart(bernard, "cantine", 2)
	att2, _ := f.expiredWithItsCart(c2)
	if res := f.settle(att2.ID, false); res.Action != activities.SettleWaiting {
		t.Fatalf("expired after 21 min: %+v", res)
	}
	f.now = att2.PayfipCreatedAt.Add(2*time.Hour + time.Minute)
	if res := f.settle(att2.ID, false); res.Action != activities.SettleClosed {
		t.Fatalf("expired after 2 h: %+v", res)
	}
	if a := f.attempt(att2.ID); a.Status != "expired" || a.ReconciledAt == nil {
		t.Fatalf("attempt %+v", a)
	}
	if got := f.claim(); len(got) != 0 {
		t.Fatalf("claimed: %+v", got)
	}
	if len(f.ledgerOf(martin)) != 0 || f.balances(bernard) != (balances{0, 500}) {
		t.Fatal("money moved for unpaid attempts")
	}
}

// Each run looks first at the attempts looked at longest ago, so a few that keep
// failing never starve the others.
func TestClaimRotatesThroughTheBacklog(t *testing.T) {
	f := newFixture(t)
	f.reconcileSim()
	a1, _ := f.sentToPayFiP(f.cart(f.family("Martin"), "cantine", 1), 0)
	a2, _ := f.sentToPayFiP(f.cart(f.family("Bernard"), "cantine", 2), 0)
	if _, err := f.pool.Exec(f.ctx, `UPDATE payment_attempts SET payfip_created_at = payfip_created_at - interval '1 minute' WHERE id = $1`, a1.ID); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(17 * time.Minute)
	one := func() uuid.UUID {
		got, err := f.acts.ClaimAttemptsToReconcile(f.ctx, activities.ClaimInput{StaleAfter: 16 * time.Minute, PaidWithin: time.Hour, Limit: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("claimed %+v %v", got, err)
		}
		f.now = f.now.Add(5 * time.Minute)
		return got[0].AttemptID
	}
	if first, second, third := one(), one(), one(); first != a1.ID || second != a2.ID || third != a1.ID {
		t.Fatalf("claimed %s, %s, %s; want %s (older), %s, then %s again", first, second, third, a1.ID, a2.ID, a1.ID)
	}
}
