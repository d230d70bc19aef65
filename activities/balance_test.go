package activities_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/receipt"
)

// The balance paid alone, against PostgreSQL and the simulator: what it freezes,
// what it writes once paid, and what a late payment of it settles.

func (f *fixture) prepareBalance(fam family, id uuid.UUID) (activities.PrepareCheckoutResult, error) {
	return f.acts.PrepareBalancePayment(f.ctx, activities.PrepareBalanceInput{PaymentID: id, OrgID: f.org, FamilyID: fam.id})
}

func TestBalancePaidAloneOnPayFiP(t *testing.T) {
	f := newFixture(t)
	s, _ := f.reconcileSim()
	martin := f.family("Martin")
	f.owe(martin, 1250)
	id := uuid.New()
	prep, err := f.prepareBalance(martin, id)
	if err != nil || prep.AttemptID != id || prep.Settlement != booking.SettlePayFiP || prep.Totals.TotalDueCents != 1250 {
		t.Fatalf("prepare: %+v %v", prep, err)
	}
	if again, err := f.prepareBalance(martin, id); err != nil || again != prep {
		t.Fatalf("prepared again: %+v %v, want the same attempt", again, err)
	}
	_, err = f.prepareBalance(martin, uuid.New())
	wantAppError(t, err, activities.ErrTypeBalanceRefused)
	att := f.attempt(id)
	if att.Kind != "balance" || att.CartID != nil || att.LinesCents != 0 || att.OutstandingCents != 1250 || att.Status != "created" {
		t.Fatalf("attempt %+v", att)
	}
	created, err := f.acts.CreatePayFiPPayment(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.acts.ConfirmBalancePayment(f.ctx, id); err == nil {
		t.Fatal("a balance payment confirmed before PayFiP said paid")
	}
	if err := s.Pay(created.IDOp, "P"); err != nil {
		t.Fatal(err)
	}
	f.now = time.Now()
	if out, err := f.acts.CheckPayment(f.ctx, id); err != nil || out.Status != payfip.StatusPaid {
		t.Fatalf("check: %+v %v", out, err)
	}
	for range 2 {
		if err := f.acts.ConfirmBalancePayment(f.ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if b := f.balances(martin); b != (balances{}) {
		t.Fatalf("balances %+v", b)
	}
	if e := f.ledgerOf(martin)["payment:"+id.String()]; e != (entry{"payment", -1250, 0}) {
		t.Fatalf("payment entry %+v", e)
	}
	doc, err := receipt.Build(f.ctx, f.q, f.attempt(id))
	if err != nil || doc.Model.Title != "Attestation de paiement" || len(doc.Model.Lines) != 0 ||
		!strings.Contains(doc.Text, "paiement de votre solde") || strings.Contains(doc.Text, "réservations") {
		t.Fatalf("receipt %q:\n%s (%v)", doc.Model.Title, doc.Text, err)
	}
	f.noLedgerViolation()
}

// Bernard holds 5,00 € of cagnotte and owes 3,00 €: the cagnotte settles the
// balance at once, without PayFiP.
func TestBalanceSettledWithTheCagnotte(t *testing.T) {
	f := newFixture(t)
	bernard := f.family("Bernard")
	f.owe(bernard, 300)
	id := uuid.New()
	prep, err := f.prepareBalance(bernard, id)
	if err != nil || prep.Settlement != booking.SettleNow || prep.Totals.CreditAppliedCents != 300 {
		t.Fatalf("prepare: %+v %v", prep, err)
	}
	if b := f.balances(bernard); b != (balances{0, 200}) {
		t.Fatalf("balances %+v", b)
	}
	if att := f.attempt(id); att.Status != "settled_without_payfip" || att.IDOp != nil {
		t.Fatalf("attempt %+v", att)
	}
	v, err := (&cart.Store{Pool: f.pool}).Payment(f.ctx, cart.Family{OrgID: f.org, ID: bernard.id}, id)
	if err != nil || v.Status != cart.PaymentPaid {
		t.Fatalf("payment view %+v %v", v, err)
	}
	_, err = f.prepareBalance(bernard, uuid.New())
	wantAppError(t, err, activities.ErrTypeBalanceRefused)
}

// The family abandons its payment of the balance; the service takes 5,00 € at the
// desk; then PayFiP reports the 12,50 € paid after all. Reconciliation records
// the payment: the 7,50 € still owed are settled, the other 5,00 € go to the
// cagnotte, and the family's e-mail and attestation say exactly that.
func TestLateBalancePaymentSettlesWhatIsStillOwedFirst(t *testing.T) {
	f := newFixture(t)
	s, outbox := f.reconcileSim()
	martin := f.family("Martin")
	f.owe(martin, 1250)
	id := uuid.New()
	if _, err := f.prepareBalance(martin, id); err != nil {
		t.Fatal(err)
	}
	created, err := f.acts.CreatePayFiPPayment(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.acts.CloseAttempt(f.ctx, activities.CloseAttemptInput{AttemptID: id, Reason: "abandonné par la famille", ByFamily: true}); err != nil {
		t.Fatal(err)
	}
	if att := f.attempt(id); att.Status != "error" || att.AbandonedAt == nil {
		t.Fatalf("abandoned attempt %+v", att)
	}
	if _, err := f.q.InsertLedgerEntry(f.ctx, db.InsertLedgerEntryParams{
		OrgID: f.org, FamilyID: martin.id, Kind: "desk_payment", OutstandingCents: -500, Method: "cash",
		IdempotencyKey: "test:desk", Label: "Règlement au guichet en espèces", OccurredAt: f.now,
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Pay(created.IDOp, "P"); err != nil {
		t.Fatal(err)
	}
	f.now = time.Now().Add(20 * time.Minute)
	if got := f.claim(); len(got) != 1 || got[0].Kind != "balance" || got[0].AttemptID != id {
		t.Fatalf("claimed %+v", got)
	}
	if res := f.settle(id, true); res.Action != activities.SettleCredited || res.Status != payfip.StatusPaid {
		t.Fatalf("settle: %+v", res)
	}
	if res := f.settle(id, true); res.Action != activities.SettleAlreadyDone {
		t.Fatalf("settled twice: %+v", res)
	}
	if b := f.balances(martin); b != (balances{0, 500}) {
		t.Fatalf("balances %+v: 7,50 € settled, 5,00 € on the cagnotte", b)
	}
	l := f.ledgerOf(martin)
	if l["payment:"+id.String()] != (entry{"payment", -1250, 0}) || l["late_payment:"+id.String()] != (entry{"late_payment_credit", 500, 500}) {
		t.Fatalf("ledger %+v", l)
	}
	if err := f.acts.SendLatePaymentNotice(f.ctx, id); err != nil {
		t.Fatal(err)
	}
	doc, err := receipt.Build(f.ctx, f.q, f.attempt(id))
	if err != nil {
		t.Fatal(err)
	}
	facts := strings.Join(doc.Model.Facts, " ")
	if !strings.Contains(facts, "7,50\u00a0€ ont réglé votre solde et 5,00\u00a0€ ont été versés sur votre cagnotte") ||
		!strings.Contains(facts, "après que vous avez abandonné ce paiement de votre solde") || len(doc.Model.Lines) != 0 {
		t.Fatalf("attestation %+v", doc.Model)
	}
	if mails, _ := filepath.Glob(filepath.Join(outbox, "late_payment*.eml")); len(mails) != 1 {
		t.Fatalf("%d notices", len(mails))
	}
	f.noLedgerViolation()
}
