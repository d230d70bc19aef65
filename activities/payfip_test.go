package activities_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
)

// withSimulator points the fixture's activities at a PayFiP simulator that
// notifies nobody, on the fixture's clock.
func (f *fixture) withSimulator() *sim.Simulator {
	f.t.Helper()
	s := sim.New(sim.Options{Clock: func() time.Time { return f.now }})
	s.SetFaults(sim.Faults{LoseNotifications: true})
	srv := httptest.NewServer(s.Handler())
	f.t.Cleanup(func() { srv.Close(); s.Close() })
	f.acts.PublicURL = "http://portal.test"
	f.acts.PayFiP = payfip.NewClient(payfip.Config{Endpoint: srv.URL + "/tpa/services/securite", PaymentURL: srv.URL + "/tpa/paiementws.web"}, nil)
	return s
}

func TestPayFiPPaymentCreatedOnceAndItsOutcomeRecorded(t *testing.T) {
	f := newFixture(t)
	s := f.withSimulator()
	c := f.cart(f.family("Martin"), "cantine", 2)
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	created, err := f.acts.CreatePayFiPPayment(f.ctx, prep.AttemptID)
	if err != nil {
		t.Fatal(err)
	}
	// Retried after success: the stored idOp, not a second payment.
	again, err := f.acts.CreatePayFiPPayment(f.ctx, prep.AttemptID)
	if err != nil || again.IDOp != created.IDOp || again.PaymentURL != created.PaymentURL {
		t.Fatalf("replay %+v %v, first %+v", again, err, created)
	}
	att := f.attempt(prep.AttemptID)
	if att.Status != "pending" || att.IDOp == nil || *att.IDOp != created.IDOp {
		t.Fatalf("attempt %+v", att)
	}
	p, ok := s.Payment(created.IDOp)
	if !ok || p.Montant != "300" || p.Refdet != att.Refdet || p.URLNotif != "http://portal.test/payfip/notify" {
		t.Fatalf("simulator holds %+v", p)
	}

	// On the payment page, not finished: pending, nothing recorded.
	out, err := f.acts.CheckPayment(f.ctx, prep.AttemptID)
	if err != nil || out.Status != payfip.StatusPending || f.attempt(prep.AttemptID).Status != "pending" {
		t.Fatalf("before paying: %+v %v", out, err)
	}
	// An answer that does not match what was sent is never a payment.
	if err := s.Pay(created.IDOp, "P"); err != nil {
		t.Fatal(err)
	}
	s.SetFaults(sim.Faults{LoseNotifications: true, TamperMontant: true})
	out, err = f.acts.CheckPayment(f.ctx, prep.AttemptID)
	if err != nil || out.Status != payfip.StatusError || f.attempt(prep.AttemptID).Status != "pending" {
		t.Fatalf("tampered answer: %+v %v", out, err)
	}
	s.SetFaults(sim.Faults{LoseNotifications: true})
	out, err = f.acts.CheckPayment(f.ctx, prep.AttemptID)
	if err != nil || out.Status != payfip.StatusPaid || out.Numauto == "" {
		t.Fatalf("paid: %+v %v", out, err)
	}
	att = f.attempt(prep.AttemptID)
	if att.Status != "paid" || att.Numauto != out.Numauto || att.PaidAt == nil {
		t.Fatalf("attempt %+v", att)
	}
	if err := f.acts.ConfirmCart(f.ctx, prep.AttemptID); err != nil {
		t.Fatal(err)
	}
}

func TestPayFiPCreationFailureIsNotRetriedBlindly(t *testing.T) {
	f := newFixture(t)
	s := f.withSimulator()
	s.SetFaults(sim.Faults{LoseNotifications: true, CreateUnavailable: 1})
	c := f.cart(f.family("Martin"), "cantine", 1)
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.acts.CreatePayFiPPayment(f.ctx, prep.AttemptID)
	wantAppError(t, err, activities.ErrTypePayFiP)
	if err := f.acts.ReopenCart(f.ctx, prep.AttemptID); err != nil {
		t.Fatal(err)
	}
	// The closed attempt can never be sent to PayFiP afterwards.
	_, err = f.acts.CreatePayFiPPayment(f.ctx, prep.AttemptID)
	wantAppError(t, err, activities.ErrTypeCartClosed)
	if s := f.cartStatus(c); s != "open" {
		t.Fatalf("cart is %s", s)
	}
}

func TestPendingAttemptExpiresAfter20Minutes(t *testing.T) {
	f := newFixture(t)
	f.withSimulator()
	c := f.cart(f.family("Martin"), "cantine", 1)
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acts.CreatePayFiPPayment(f.ctx, prep.AttemptID); err != nil {
		t.Fatal(err)
	}
	// payfip_created_at is PostgreSQL's now(): move the fixture's clock past it.
	f.now = f.attempt(prep.AttemptID).PayfipCreatedAt.Add(21 * time.Minute)
	out, err := f.acts.CheckPayment(f.ctx, prep.AttemptID)
	if err != nil || out.Status != payfip.StatusExpired || f.attempt(prep.AttemptID).Status != "expired" {
		t.Fatalf("after 21 minutes: %+v %v", out, err)
	}
	if err := f.acts.ReopenCart(f.ctx, prep.AttemptID); err != nil {
		t.Fatal(err)
	}
	if s, st := f.cartStatus(c), f.attempt(prep.AttemptID).Status; s != "open" || st != "expired" {
		t.Fatalf("cart %s attempt %s", s, st)
	}
}
