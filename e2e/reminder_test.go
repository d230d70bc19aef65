package e2e_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/workflows"
)

// reminders returns the cart reminders in the outbox, and how many
// outbound_emails rows say one was sent for cartID.
func (s *stack) reminders(cartID string) ([]string, int) {
	s.t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.outbox, "cart-reminder_*.eml"))
	var sent int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM outbound_emails WHERE idempotency_key = 'cart-reminder:' || $1 AND sent_at IS NOT NULL`, cartID).Scan(&sent); err != nil {
		s.t.Fatal(err)
	}
	return files, sent
}

// A cart left unpaid is reminded once, CART_REMINDER_BEFORE before it expires,
// with what it holds, the amount due and a link; a cart paid before then is not.
func TestCartReminderArrivesOnceInTheOutbox(t *testing.T) {
	s := newStack(t, func(c *config.Config) { c.CartTTL, c.CartReminderBefore = 8*time.Second, 4*time.Second })
	forgetful := s.login("martin@demo.enfance.test", "demo-martin-2026")
	cart := book(forgetful, "cantine", 2)
	payer := s.login("bernard@demo.enfance.test", "demo-bernard-2026") // 5,00 € of cagnotte: paid at once
	book(payer, "cantine", 1)
	var co checkoutAnswer
	payer.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("payer's cart %q", got)
	}
	if got := s.cartEnds(*cart.ID); got != "expired" {
		t.Fatalf("forgetful family's cart %q", got)
	}
	files, sent := s.reminders(*cart.ID)
	if len(files) != 1 || sent != 1 || !strings.Contains(files[0], *cart.ID) {
		t.Fatalf("reminders in the outbox %v, %d recorded; want one, for cart %s", files, sent, *cart.ID)
	}
	subject, text := readMail(t, files[0])
	if !strings.HasPrefix(subject, "Votre panier expire le ") {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{"Restauration scolaire", "Montant à payer : 3,00\u00a0€", "/#/panier"} {
		if !strings.Contains(text, want) {
			t.Errorf("the reminder lacks %q:\n%s", want, text)
		}
	}
}

// A worker dies in front of the reminder; the next worker sends it, once, after
// the dead one's attempt times out (30 s).
func TestCartReminderOnceAcrossWorkerRestarts(t *testing.T) {
	s := newStack(t, func(c *config.Config) { c.CartTTL, c.CartReminderBefore = 60*time.Second, 50*time.Second })
	s.worker.Stop() // the work is done by worker processes only
	first := s.startWorker(t, "SendCartReminder")
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	cart := book(fam, "cantine", 1)
	select {
	case <-first.paused:
	case <-time.After(90 * time.Second):
		t.Fatal("the worker never reached the reminder")
	}
	first.kill()
	s.startWorker(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var final string
	if err := s.temporal.GetWorkflow(ctx, workflows.CartWorkflowID(uuid.MustParse(*cart.ID)), "").Get(ctx, &final); err != nil || final != "expired" {
		t.Fatalf("cart %q, %v", final, err)
	}
	if files, sent := s.reminders(*cart.ID); len(files) != 1 || sent != 1 {
		t.Fatalf("reminders in the outbox %v, %d recorded; want exactly one", files, sent)
	}
}
