package activities_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/mail"
)

// The reminder is one message per cart: a retry sends nothing more, and a retry
// after a crash between sending and recording rewrites the same message (same
// key, same outbox file), never a second one. It says what is held, what is due
// (the balance and the cagnotte counted) and where to pay.
func TestCartReminderIsSentOnce(t *testing.T) {
	f := newFixture(t)
	outbox := t.TempDir()
	f.acts.Mail = &mail.Outbox{Dir: outbox, From: "Portail <no-reply@enfance.test>"}
	f.acts.PublicURL = "https://portail.ville.test"
	fam := f.family("Martin")
	c := f.cart(fam, "cantine", 2)
	f.owe(fam, 250)

	for range 2 {
		if err := f.acts.SendCartReminder(f.ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A crash between the send and its record: the next try sends again…
	if _, err := f.pool.Exec(f.ctx, `UPDATE outbound_emails SET sent_at = NULL WHERE idempotency_key = 'cart-reminder:' || $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.acts.SendCartReminder(f.ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	// …the same message: one file, one row.
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	var rows int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM outbound_emails WHERE idempotency_key = 'cart-reminder:' || $1 AND sent_at IS NOT NULL`, c.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || rows != 1 {
		t.Fatalf("%d files, %d rows; want one message", len(files), rows)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(raw), "=\r\n", "") // quoted-printable soft breaks
	for _, want := range []string{"Solde ant=C3=A9rieur =C3=A0 r=C3=A9gler : 2,50", "Montant =C3=A0 payer : 5,50", "https://portail.ville.test/#/panier"} {
		if !strings.Contains(text, want) {
			t.Errorf("reminder lacks %q:\n%s", want, text)
		}
	}
}

// No reminder for a cart that is being paid, paid, expired or empty.
func TestNoReminderForACartNotWaitingForPayment(t *testing.T) {
	f := newFixture(t)
	outbox := t.TempDir()
	f.acts.Mail = &mail.Outbox{Dir: outbox, From: "Portail <no-reply@enfance.test>"}
	fam := f.family("Martin")
	for _, status := range []db.CartStatus{"checking_out", "paid", "expired"} {
		c := f.cart(fam, "cantine", 1)
		if err := f.q.SetCartStatus(f.ctx, db.SetCartStatusParams{ID: c.ID, Status: status}); err != nil {
			t.Fatal(err)
		}
		if err := f.acts.SendCartReminder(f.ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.pool.Exec(f.ctx, `WITH l AS (UPDATE cart_lines SET state = 'released' WHERE cart_id = $1)
			UPDATE carts SET status = 'expired' WHERE id = $1`, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	empty := f.cart(fam, "cantine", 0)
	if err := f.acts.SendCartReminder(f.ctx, empty.ID); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(files) != 0 {
		t.Fatalf("reminders sent: %v", files)
	}
}
