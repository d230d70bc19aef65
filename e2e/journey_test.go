package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/receipt"
	"github.com/enfance/enfance/workflows"
)

// The money of the family's journey, end to end on the whole stack (API, worker,
// Temporal, PostgreSQL, the PayFiP simulator): the balance paid alone, an amount
// under 1 € confirmed and carried, a payment abandoned to change the cart then
// paid late, the service's bookings in the family's history.

type paymentStatus struct {
	ID                    string `json:"id"`
	Kind                  string `json:"kind"`
	Status                string `json:"status"`
	Reason                string `json:"reason"`
	AmountCents           int64  `json:"amount_cents"`
	CarriedToBalanceCents int64  `json:"carried_to_balance_cents"`
	CreditedCents         int64  `json:"credited_cents"`
	ReceiptURL            string `json:"receipt_url"`
}

type balanceAnswer struct {
	Status         string `json:"status"`
	PaymentID      string `json:"payment_id"`
	PaymentURL     string `json:"payment_url"`
	AmountDueCents int64  `json:"amount_due_cents"`
}

// owe charges the family amount cents, as a staff correction would.
func (s *stack) owe(family string, cents int64) {
	s.t.Helper()
	s.exec(`INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, label)
		SELECT org_id, id, 'adjustment', $2, 'e2e:owe:' || gen_random_uuid(), 'Régularisation' FROM families WHERE name = $1`, family, cents)
}

// balanceEnds waits for a payment of the balance's workflow and returns how it ended.
func (s *stack) balanceEnds(paymentID string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var final string
	if err := s.temporal.GetWorkflow(ctx, workflows.BalanceWorkflowID(uuid.MustParse(paymentID)), "").Get(ctx, &final); err != nil {
		s.t.Fatalf("balance workflow: %v", err)
	}
	return final
}

// heldLines counts the family's cart lines still holding their place, and the
// places taken on their days.
func (s *stack) heldLines(cartID string) (lines, taken int64) {
	s.t.Helper()
	return s.int(`SELECT count(*) FROM cart_lines WHERE cart_id = $1 AND state = 'held'`, cartID),
		s.int(`SELECT COALESCE(sum(d.taken), 0) FROM service_days d WHERE d.id IN (SELECT service_day_id FROM cart_lines WHERE cart_id = $1)`, cartID)
}

// "Régler mon solde" pays the balance alone: the amount sent to PayFiP is the
// balance and nothing else, the cart's lines stay in the cart, untouched and held,
// whatever the outcome (a refused card, then a payment), and the cart and the
// balance payment are both in progress at once without blocking each other.
func TestBalancePaidAloneLeavesTheCartUntouched(t *testing.T) {
	s := newStack(t)
	s.owe("Martin", 1250)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	crt := book(fam, "cantine", 2)
	if crt.TotalDueCents != crt.SubtotalCents+1250 {
		t.Fatalf("cart before: %+v, want its lines plus the 12,50 € owed", crt)
	}
	lines, taken := s.heldLines(*crt.ID)

	// A refused card: the balance stays owed, the cart as it was.
	var co balanceAnswer
	fam.do(http.MethodPost, "/api/v1/balance/checkout", nil, http.StatusOK, &co)
	if co.Status != "payment_required" || co.AmountDueCents != 1250 {
		t.Fatalf("balance checkout: %+v", co)
	}
	if p, ok := s.sim.Payment(idOpOf(co.PaymentURL)); !ok || p.Montant != "1250" {
		t.Fatalf("sent to PayFiP: %+v (want 1250 cents, the balance alone)", p)
	}
	payOnPage(t, co.PaymentURL, "R")
	if got := s.balanceEnds(co.PaymentID); got != workflows.PaymentNotPaid {
		t.Fatalf("refused balance payment ended %q", got)
	}
	var st paymentStatus
	fam.do(http.MethodGet, "/api/v1/payments/"+co.PaymentID, nil, http.StatusOK, &st)
	if st.Status != "not_paid" || st.Reason != "refused" || st.Kind != "balance" {
		t.Fatalf("refused payment: %+v", st)
	}

	// Again, and this time the cart is checked out too while the balance payment waits.
	fam.do(http.MethodPost, "/api/v1/balance/checkout", nil, http.StatusOK, &co)
	var during cartView
	fam.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &during)
	if during.Status != "open" || during.TotalDueCents != crt.SubtotalCents {
		t.Fatalf("cart during the balance payment: %+v, want open and its lines only", during)
	}
	var cartCo checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &cartCo)
	if p, _ := s.sim.Payment(idOpOf(cartCo.PaymentURL)); cartCo.Status != "payment_required" || p.Montant != strconv.FormatInt(crt.SubtotalCents, 10) {
		t.Fatalf("cart checkout during the balance payment: %+v, PayFiP %s", cartCo, p.Montant)
	}
	payOnPage(t, co.PaymentURL, "P")
	if got := s.balanceEnds(co.PaymentID); got != workflows.PaymentPaid {
		t.Fatalf("balance payment ended %q", got)
	}
	if l, tk := s.heldLines(*crt.ID); l != lines || tk != taken || s.int(`SELECT count(*) FROM reservations r JOIN families f ON f.id = r.family_id WHERE f.name = 'Martin'`) != 0 {
		t.Fatalf("after the balance payment: %d lines held (was %d), %d places (was %d)", l, lines, tk, taken)
	}
	var me balancesView
	fam.do(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me.OutstandingCents != 0 || me.CreditCents != 0 {
		t.Fatalf("balances after the balance payment: %+v", me)
	}
	if n := s.int(`SELECT count(*) FROM ledger_entries WHERE kind = 'payment' AND outstanding_cents = -1250 AND cart_id IS NULL AND payment_attempt_id = $1`, co.PaymentID); n != 1 {
		t.Fatalf("%d payments of the balance in the ledger", n)
	}
	fam.do(http.MethodGet, "/api/v1/payments/"+co.PaymentID, nil, http.StatusOK, &st)
	if st.Status != "paid" || st.ReceiptURL == "" {
		t.Fatalf("paid balance: %+v", st)
	}

	// The cart, paid on its own, confirms its days.
	payOnPage(t, cartCo.PaymentURL, "P")
	if got := s.cartEnds(cartCo.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	if n := s.int(`SELECT count(*) FROM reservations r JOIN families f ON f.id = r.family_id WHERE f.name = 'Martin' AND r.status = 'confirmed'`); n != lines {
		t.Fatalf("%d reservations, want the cart's %d", n, lines)
	}
	eventually(t, "two receipts", func() bool { return s.receipts() == 2 })
	mails, _ := filepath.Glob(filepath.Join(s.outbox, "receipt*.eml"))
	var balanceMail string
	for _, m := range mails {
		if _, text := readMail(t, m); strings.Contains(text, "paiement de votre solde") {
			balanceMail = text
		}
	}
	if balanceMail == "" || strings.Contains(balanceMail, "vos réservations") {
		t.Fatalf("the balance's receipt speaks of reservations, or is missing:\n%s", balanceMail)
	}
	s.noLedgerViolation()

	// Nothing left to pay.
	var p problemView
	fam.do(http.MethodPost, "/api/v1/balance/checkout", nil, http.StatusConflict, &p)
	if !strings.HasSuffix(p.Type, "nothing-due") {
		t.Fatalf("balance checkout with nothing owed: %+v", p)
	}
}

// Under 1 € left to pay, nothing is paid: the checkout answers confirmed with the
// amount carried to the balance, the e-mail is a confirmation de réservation
// naming that amount (never an attestation of a payment), and a balance of less
// than 1 € alone cannot be paid online.
func TestUnderOneEuroIsConfirmedAndCarriedNotPaid(t *testing.T) {
	s := newStack(t)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	crt := book(fam, "matin", 1) // 0,80 € at Martin's QF
	if crt.TotalDueCents != 80 {
		t.Fatalf("cart %+v", crt)
	}
	var co struct {
		checkoutAnswer
		CarriedToBalanceCents int64 `json:"carried_to_balance_cents"`
	}
	raw := fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	if co.Status != "confirmed" || co.CarriedToBalanceCents != 80 || co.PaymentURL != "" || !strings.Contains(string(raw), `"carried_to_balance_cents":80`) {
		t.Fatalf("checkout: %s", raw)
	}
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	var st paymentStatus
	fam.do(http.MethodGet, "/api/v1/payments/"+co.PaymentID, nil, http.StatusOK, &st)
	if st.Status != "confirmed" || st.CarriedToBalanceCents != 80 {
		t.Fatalf("payment %+v", st)
	}
	var me balancesView
	fam.do(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me.OutstandingCents != 80 {
		t.Fatalf("balances %+v: the 0,80 € are owed", me)
	}
	if n := s.int(`SELECT count(*) FROM ledger_entries WHERE kind = 'payment'`); n != 0 {
		t.Fatalf("%d payments written for nothing paid", n)
	}
	eventually(t, "the confirmation e-mail", func() bool { return s.receipts() == 1 })
	mails, _ := filepath.Glob(filepath.Join(s.outbox, "receipt*.eml"))
	subject, text := readMail(t, mails[0])
	if subject != "Confirmation de vos réservations" || strings.Contains(strings.ToLower(text), "attestation") ||
		strings.Contains(text, "paiement a été effectué") || !strings.Contains(text, "0,80\u00a0€, a été ajouté à votre solde") {
		t.Fatalf("e-mail %q:\n%s", subject, text)
	}
	doc, err := receipt.Build(context.Background(), db.New(s.pool), s.attempt(co.PaymentID))
	if err != nil || doc.Model.Title != "Confirmation de réservation" || len(doc.Model.Lines) != 1 {
		t.Fatalf("document %q with %d lines (%v)", doc.Model.Title, len(doc.Model.Lines), err)
	}

	// 0,80 € owed alone cannot be paid online: said before anything is started.
	var bal struct {
		CanPay  bool `json:"can_pay"`
		Refusal struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"refusal"`
	}
	fam.do(http.MethodGet, "/api/v1/balance", nil, http.StatusOK, &bal)
	if bal.CanPay || bal.Refusal.Type != "balance-under-minimum" || !strings.HasPrefix(bal.Refusal.Message, "Le paiement en ligne est possible à partir de 1 €") {
		t.Fatalf("balance %+v", bal)
	}
	var p problemView
	fam.do(http.MethodPost, "/api/v1/balance/checkout", nil, http.StatusConflict, &p)
	if !strings.HasSuffix(p.Type, "balance-under-minimum") || p.Detail != bal.Refusal.Message {
		t.Fatalf("balance checkout under 1 €: %+v", p)
	}
	if n := s.int(`SELECT count(*) FROM payment_attempts WHERE kind = 'balance'`); n != 0 {
		t.Fatalf("%d balance payments started", n)
	}
}

func (s *stack) attempt(id string) db.PaymentAttempt {
	s.t.Helper()
	att, err := db.New(s.pool).GetPaymentAttempt(context.Background(), uuid.MustParse(id))
	if err != nil {
		s.t.Fatal(err)
	}
	return att
}

// "Abandonner ce paiement et modifier mon panier": the cart reopens at once,
// untouched, the family changes it and pays; then PayFiP reports the abandoned
// attempt paid after all (the payer had left its tab open). Reconciliation records
// that money, credits it to the cagnotte, and e-mails the family; the attempt's
// attestation says so and lists no reservation.
func TestAbandonedPaymentPaidLaterGoesToTheCagnotte(t *testing.T) {
	s := newStack(t)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	crt := book(fam, "cantine", 2)
	var first checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &first)
	var busy cartView
	fam.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &busy)
	if busy.Status != "checking_out" {
		t.Fatalf("cart %+v", busy)
	}
	var st paymentStatus
	fam.do(http.MethodPost, "/api/v1/payments/"+first.PaymentID+"/abandon", nil, http.StatusOK, &st)
	if st.Status != "not_paid" || st.Reason != "abandoned_by_family" {
		t.Fatalf("abandon: %+v", st)
	}
	var open cartView
	fam.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &open)
	if open.Status != "open" || len(open.Items) != 2 || open.TotalDueCents != crt.TotalDueCents {
		t.Fatalf("cart after the abandon: %+v", open)
	}
	// Sent twice (a double click, a retry): the same answer, nothing more.
	fam.do(http.MethodPost, "/api/v1/payments/"+first.PaymentID+"/abandon", nil, http.StatusOK, &st)
	if st.Status != "not_paid" || st.Reason != "abandoned_by_family" {
		t.Fatalf("second abandon: %+v", st)
	}

	// The family removes a day and pays the rest.
	fam.do(http.MethodDelete, "/api/v1/cart/items/"+open.Items[1].ID, nil, http.StatusNoContent, nil)
	var second checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &second)
	payOnPage(t, second.PaymentURL, "P")
	if got := s.cartEnds(second.CartID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	var p problemView
	fam.do(http.MethodPost, "/api/v1/payments/"+second.PaymentID+"/abandon", nil, http.StatusConflict, &p)
	if !strings.HasSuffix(p.Type, "nothing-to-abandon") {
		t.Fatalf("abandon of a paid cart's payment: %+v", p)
	}

	// The first attempt, abandoned, is paid on its forgotten tab.
	if err := s.sim.Pay(idOpOf(first.PaymentURL), "P"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "PayFiP's notification", func() bool {
		return s.int(`SELECT count(*) FROM payment_attempts WHERE id = $1 AND notified_at IS NOT NULL`, first.PaymentID) == 1
	})
	res := runReconcile(t, s.temporal, s.cfg.TemporalTaskQueue, workflows.ReconcileInput{StaleAfter: time.Nanosecond})
	if res.Credited != 1 || res.Attention != 0 {
		t.Fatalf("reconcile: %+v", res)
	}
	amount := s.attempt(first.PaymentID).AmountCents
	var me balancesView
	fam.do(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me.CreditCents != amount || me.OutstandingCents != 0 {
		t.Fatalf("balances %+v: the %d cents paid late are on the cagnotte", me, amount)
	}
	fam.do(http.MethodGet, "/api/v1/payments/"+first.PaymentID, nil, http.StatusOK, &st)
	if st.Status != "credited" || st.CreditedCents != amount {
		t.Fatalf("late payment: %+v", st)
	}
	if n := s.int(`SELECT count(*) FROM reservations r JOIN families f ON f.id = r.family_id WHERE f.name = 'Martin' AND r.status = 'confirmed'`); n != 1 {
		t.Fatalf("%d reservations: the late payment confirmed nothing", n)
	}
	mails, _ := filepath.Glob(filepath.Join(s.outbox, "late_payment*.eml"))
	if len(mails) != 1 {
		t.Fatalf("%d late payment notices", len(mails))
	}
	subject, text := readMail(t, mails[0])
	if subject != "Votre paiement a été versé sur votre cagnotte" || !strings.Contains(text, "après que vous avez abandonné ce paiement pour modifier votre panier") ||
		!strings.Contains(text, "versée sur votre cagnotte") {
		t.Fatalf("notice %q:\n%s", subject, text)
	}
	doc, err := receipt.Build(context.Background(), db.New(s.pool), s.attempt(first.PaymentID))
	if err != nil || len(doc.Model.Lines) != 0 || !strings.Contains(strings.Join(doc.Model.Facts, " "), "il n'a confirmé aucune réservation") {
		t.Fatalf("the late payment's attestation: %+v (%v)", doc.Model, err)
	}
	s.noLedgerViolation()
}

// What the service books on the family's behalf shows in "Règlements &
// régularisations" with its reason and "the service" as who did it.
func TestStaffBookingShowsInTheFamilysHistory(t *testing.T) {
	s := newStack(t)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	kid, sv := child(fam), serviceByCode(fam, "cantine")
	d := availableDays(fam, kid, sv.ID, 1)[0]
	agent := s.login("agent@demo.enfance.test", "demo-staff-2026")
	var famID string
	if err := s.pool.QueryRow(context.Background(), `SELECT id FROM families WHERE name = 'Martin'`).Scan(&famID); err != nil {
		t.Fatal(err)
	}
	agent.do(http.MethodPost, "/api/v1/admin/families/"+famID+"/reservations", map[string]any{
		"items":  []map[string]string{{"child_id": kid, "service_id": sv.ID, "date": d.Date}},
		"reason": "Inscription demandée par téléphone",
	}, http.StatusCreated, nil)
	var hist []struct {
		Kind        string `json:"kind"`
		AmountCents int64  `json:"amount_cents"`
		Author      string `json:"author"`
		Reason      string `json:"reason"`
		Label       string `json:"label"`
	}
	fam.do(http.MethodGet, "/api/v1/payments", nil, http.StatusOK, &hist)
	if len(hist) != 1 || hist[0].Kind != "charge" || hist[0].Author != "service" || hist[0].Reason != "Inscription demandée par téléphone" ||
		hist[0].AmountCents != -d.PriceCents || !strings.Contains(hist[0].Label, "par le service") {
		t.Fatalf("history %+v", hist)
	}
	raw := fam.do(http.MethodGet, "/api/v1/payments", nil, http.StatusOK, nil)
	if strings.Contains(string(raw), "agent@") {
		t.Fatalf("the agent is named to the family: %s", raw)
	}
}

// readMail decodes an outbox message: its subject and its text part.
func readMail(t *testing.T, path string) (subject, text string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	var walk func(h textproto.MIMEHeader, body io.Reader) string
	walk = func(h textproto.MIMEHeader, body io.Reader) string {
		mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return ""
				}
				if s := walk(p.Header, p); s != "" {
					return s
				}
			}
		}
		if mt != "text/plain" {
			return ""
		}
		if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, _ := io.ReadAll(body)
		return string(b)
	}
	return subject, walk(textproto.MIMEHeader(msg.Header), msg.Body)
}

// A client that lost the answer sends "Régler mon solde" again with its
// Idempotency-Key: the same payment, the same PayFiP page, not a second payment.
func TestBalanceCheckoutRetriedWithItsKeyIsTheSamePayment(t *testing.T) {
	s := newStack(t)
	s.owe("Martin", 1250)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	send := func() (int, balanceAnswer) {
		req, _ := http.NewRequest(http.MethodPost, s.api+"/api/v1/balance/checkout", nil)
		req.Header.Set("Authorization", "Bearer "+fam.token)
		req.Header.Set("Idempotency-Key", "solde-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out balanceAnswer
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	st1, first := send()
	st2, again := send()
	if st1 != http.StatusOK || st2 != http.StatusOK || first.PaymentID == "" || again != first {
		t.Fatalf("first %d %+v, again %d %+v", st1, first, st2, again)
	}
	if n := s.int(`SELECT count(*) FROM payment_attempts WHERE kind = 'balance'`); n != 1 {
		t.Fatalf("%d balance payments", n)
	}
}
