package activities_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
)

// The cart's local activities (issue 16): each step of its workflow in one call,
// against PostgreSQL and the PayFiP simulator, and the e-mail queue that sends
// the receipts its confirmation queues.

// mailbox is the real outbox folder, with a switch to make sending fail (an SMTP
// outage) and a count of what was handed to it.
type mailbox struct {
	mail.Outbox
	mu    sync.Mutex
	down  bool
	sends map[string]int
}

func (f *fixture) withMailbox() *mailbox {
	m := &mailbox{Outbox: mail.Outbox{Dir: f.t.TempDir(), From: "Portail famille <no-reply@enfance.test>"}, sends: map[string]int{}}
	f.acts.Mail = m
	return m
}

func (m *mailbox) Send(ctx context.Context, msg mail.Message) error {
	m.mu.Lock()
	down := m.down
	if !down {
		m.sends[msg.Key]++
	}
	m.mu.Unlock()
	if down {
		return errors.New("SMTP: connection refused")
	}
	return m.Outbox.Send(ctx, msg)
}

func (m *mailbox) setDown(down bool) {
	m.mu.Lock()
	m.down = down
	m.mu.Unlock()
}

func (m *mailbox) sent(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sends[key]
}

func (f *fixture) payfipAttempts(c uuid.UUID) int {
	return f.count(`SELECT count(*) FROM payment_attempts WHERE cart_id = $1`, c)
}

func TestCheckoutThenSettleCartPaysOnceAndQueuesTheReceipt(t *testing.T) {
	f := newFixture(t)
	s := f.withSimulator()
	martin := f.family("Martin")
	c := f.cart(martin, "cantine", 2)

	res, err := f.acts.Checkout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Confirmed || res.NotCreated != "" || res.Payment.IDOp == "" || res.Totals.TotalDueCents != 300 || f.cartStatus(c) != "checking_out" {
		t.Fatalf("checkout %+v, cart %s", res, f.cartStatus(c))
	}
	// Retried whole (its answer lost): the same attempt and the same PayFiP payment.
	again, err := f.acts.Checkout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil || again.AttemptID != res.AttemptID || again.Payment.IDOp != res.Payment.IDOp || f.payfipAttempts(c.ID) != 1 {
		t.Fatalf("retried: %+v %v", again, err)
	}

	// On the payment page: nothing changes.
	out, err := f.acts.SettleCart(f.ctx, activities.SettleCartInput{AttemptID: res.AttemptID})
	if err != nil || out.Status != payfip.StatusPending || f.cartStatus(c) != "checking_out" {
		t.Fatalf("pending: %+v %v, cart %s", out, err, f.cartStatus(c))
	}
	if err := s.Pay(res.Payment.IDOp, "P"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a retry finds everything done
		out, err = f.acts.SettleCart(f.ctx, activities.SettleCartInput{AttemptID: res.AttemptID})
		if err != nil || out.Status != payfip.StatusPaid {
			t.Fatalf("paid: %+v %v", out, err)
		}
	}
	if st := f.cartStatus(c); st != "paid" {
		t.Fatalf("cart is %s", st)
	}
	if n := f.count(`SELECT count(*) FROM ledger_entries WHERE cart_id = $1 AND kind = 'payment'`, c.ID); n != 1 {
		t.Fatalf("%d payments in the ledger", n)
	}
	if b := f.balances(martin); b != (balances{0, 0}) {
		t.Fatalf("balances %+v", b)
	}
	// The receipt was queued by the confirmation itself, not sent yet.
	if n := f.count(`SELECT count(*) FROM outbound_emails WHERE idempotency_key = 'receipt:' || $1 AND kind = 'receipt'
		AND payment_attempt_id = $2 AND sent_at IS NULL`, res.AttemptID.String(), res.AttemptID); n != 1 {
		t.Fatalf("%d receipts queued", n)
	}
}

func TestCheckoutWithoutPayFiPConfirmsAtOnce(t *testing.T) {
	f := newFixture(t)
	bernard := f.family("Bernard") // 5,00 € of credit covers one day
	c := f.cart(bernard, "cantine", 1)
	res, err := f.acts.Checkout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil || !res.Confirmed || res.Payment.IDOp != "" || f.cartStatus(c) != "paid" {
		t.Fatalf("checkout %+v %v, cart %s", res, err, f.cartStatus(c))
	}
	if n := f.count(`SELECT count(*) FROM outbound_emails WHERE idempotency_key = 'receipt:' || $1 AND sent_at IS NULL`, res.AttemptID); n != 1 {
		t.Fatalf("%d receipts queued", n)
	}
}

func TestCheckoutThatPayFiPDoesNotCreateReopensTheCart(t *testing.T) {
	f := newFixture(t)
	s := f.withSimulator()
	s.SetFaults(sim.Faults{LoseNotifications: true, CreateUnavailable: 1})
	c := f.cart(f.family("Martin"), "cantine", 1)
	res, err := f.acts.Checkout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil || res.NotCreated == "" || res.Payment.IDOp != "" {
		t.Fatalf("checkout %+v %v", res, err)
	}
	if st, att := f.cartStatus(c), f.attempt(res.AttemptID).Status; st != "open" || att != "error" {
		t.Fatalf("cart %s, attempt %s", st, att)
	}
	// The family tries again: a second attempt, paid this time.
	res, err = f.acts.Checkout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 2})
	if err != nil || res.Payment.IDOp == "" || res.Seq != 2 {
		t.Fatalf("second checkout %+v %v", res, err)
	}
}

func TestSettleCartReopensOnARefusalAndOnTheFamilysAbandon(t *testing.T) {
	for _, tc := range []struct {
		name       string
		resultrans string           // "" : the family abandons while on PayFiP's page
		want       db.AttemptStatus // the attempt's status
	}{{"refused", "R", "refused"}, {"abandoned by the family", "", "error"}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			s := f.withSimulator()
			c := f.cart(f.family("Martin"), "cantine", 2)
			res, err := f.acts.Checkout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
			if err != nil {
				t.Fatal(err)
			}
			if tc.resultrans != "" {
				if err := s.Pay(res.Payment.IDOp, tc.resultrans); err != nil {
					t.Fatal(err)
				}
			}
			out, err := f.acts.SettleCart(f.ctx, activities.SettleCartInput{AttemptID: res.AttemptID, ByFamily: tc.resultrans == ""})
			if err != nil {
				t.Fatal(err)
			}
			att := f.attempt(res.AttemptID)
			if f.cartStatus(c) != "open" || att.Status != tc.want || (tc.resultrans == "") != (att.AbandonedAt != nil) {
				t.Fatalf("outcome %+v: cart %s, attempt %+v", out, f.cartStatus(c), att)
			}
			if n := f.count(`SELECT count(*) FROM ledger_entries WHERE cart_id = $1`, c.ID); n != 0 {
				t.Fatalf("%d ledger entries for an unpaid cart", n)
			}
		})
	}
}

// The e-mail queue: a receipt leaves once, after as many tries as the mail
// server needs, whoever sends it.
func TestQueuedReceiptIsRetriedUntilItLeavesAndLeavesOnce(t *testing.T) {
	f := newFixture(t)
	box := f.withMailbox()
	bernard := f.family("Bernard")
	res, err := f.acts.Checkout(f.ctx, activities.PrepareCheckoutInput{CartID: f.cart(bernard, "cantine", 1).ID, Seq: 1})
	if err != nil || !res.Confirmed {
		t.Fatalf("checkout %+v %v", res, err)
	}
	key := "receipt:" + res.AttemptID.String()

	box.setDown(true)
	if n, err := activities.SendQueuedEmails(f.ctx, f.acts, 32); err != nil || n != 1 {
		t.Fatalf("queue: %d, %v", n, err)
	}
	row, err := f.q.GetEmailByKey(f.ctx, key)
	if err != nil || row.SentAt != nil || row.Tries != 1 || row.LastError == "" || row.NextTryAt == nil {
		t.Fatalf("after a failure: %+v %v", row, err)
	}
	// Not due yet: the queue leaves it alone.
	if n, err := activities.SendQueuedEmails(f.ctx, f.acts, 32); err != nil || n != 0 {
		t.Fatalf("queue before the next try: %d, %v", n, err)
	}
	// The mail server is back and the next try is due: sent, by two workers at once.
	box.setDown(false)
	if _, err := f.pool.Exec(f.ctx, `UPDATE outbound_emails SET next_try_at = now() WHERE idempotency_key = $1`, key); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := activities.SendQueuedEmails(f.ctx, f.acts, 32); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	row, err = f.q.GetEmailByKey(f.ctx, key)
	if err != nil || row.SentAt == nil || row.ToAddress != "bernard@demo.enfance.test" || row.Subject == "" || row.LastError != "" {
		t.Fatalf("sent: %+v %v", row, err)
	}
	// A workflow that sends the receipt itself (SendReceipt) finds it gone.
	if err := f.acts.SendReceipt(f.ctx, res.AttemptID); err != nil {
		t.Fatal(err)
	}
	if n := box.sent(key); n != 1 {
		t.Fatalf("sent %d times", n)
	}
	files, _ := filepath.Glob(filepath.Join(box.Dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d files in the outbox", len(files))
	}
	if b, err := os.ReadFile(files[0]); err != nil || len(b) < 1000 {
		t.Fatalf("outbox file: %d bytes, %v", len(b), err)
	}
}

func TestSendReceiptQueuesWhatItSendsAndLeavesARowBeingSentAlone(t *testing.T) {
	f := newFixture(t)
	box := f.withMailbox()
	s := f.withSimulator()
	c := f.cart(f.family("Martin"), "cantine", 1)
	res, err := f.acts.Checkout(f.ctx, activities.PrepareCheckoutInput{CartID: c.ID, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Pay(res.Payment.IDOp, "P"); err != nil {
		t.Fatal(err)
	}
	// How carts started before the e-mail queue confirm: the activities apart.
	if _, err := f.acts.CheckPayment(f.ctx, res.AttemptID); err != nil {
		t.Fatal(err)
	}
	if err := f.acts.ConfirmCart(f.ctx, res.AttemptID); err != nil {
		t.Fatal(err)
	}
	key := "receipt:" + res.AttemptID.String()
	// A worker's queue holds it (its lease runs): SendReceipt waits for its turn.
	if _, err := f.pool.Exec(f.ctx, `UPDATE outbound_emails SET next_try_at = now() + interval '1 minute' WHERE idempotency_key = $1`, key); err != nil {
		t.Fatal(err)
	}
	if err := f.acts.SendReceipt(f.ctx, res.AttemptID); err == nil {
		t.Fatal("SendReceipt sent an e-mail another worker is sending")
	}
	if _, err := f.pool.Exec(f.ctx, `UPDATE outbound_emails SET next_try_at = now() WHERE idempotency_key = $1`, key); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.acts.SendReceipt(f.ctx, res.AttemptID); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := activities.SendQueuedEmails(f.ctx, f.acts, 32); err != nil || n != 0 || box.sent(key) != 1 {
		t.Fatalf("queue took %d (%v); sent %d times", n, err, box.sent(key))
	}
}
