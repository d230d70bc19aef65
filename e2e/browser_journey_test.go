package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/workflows"
)

// TestBrowserFamilyJourney walks the family's journey against the guide
// ("Paiement à la réservation") in headless Chromium, on a stack of its own, with
// screenshots at 1280 and 390 px wide in .data/screenshots (parcours-*):
//
//  1. "Régler mon solde" pays the balance alone: the amount sent to PayFiP is the
//     balance, the cart's day stays in the cart, held.
//  2. Under 1 € nothing is paid: said before the click, "Valider mes
//     réservations", a confirmation (never an attestation), and a balance under
//     1 € cannot be paid online.
//  3. What the service booked shows in "Règlements & régularisations" with its
//     reason and "Par le service".
//
// then cancelling the way the guide says (untick, "à annuler", "Valider les
// annulations" in the page and the blue banner; late days ticked and locked with
// their deadline; the Calendrier's own "Annuler" only where possible), abandoning
// a payment left on PayFiP, the small things (calendar opening month, service
// buttons, refusals naming the day), and replying in a thread.
func TestBrowserFamilyJourney(t *testing.T) {
	s := newStack(t)
	martin := s.login("martin@demo.enfance.test", "demo-martin-2026")
	kid, cantine := child(martin), serviceByCode(martin, "cantine")
	var family, hugo uuid.UUID
	if err := s.pool.QueryRow(context.Background(), `SELECT f.id, m.id FROM families f JOIN members m ON m.family_id = f.id
		WHERE f.name = 'Martin' AND m.first_name = 'Hugo'`).Scan(&family, &hugo); err != nil {
		t.Fatal(err)
	}
	t.Run("1 and 3: the balance paid alone, the service's booking in the history", func(t *testing.T) {
		journeyBalance(t, s, martin, family, hugo, kid, cantine)
	})
	t.Run("2: under 1 euro, confirmed and carried", func(t *testing.T) { journeyUnderOneEuro(t, s, family) })
	t.Run("cancel the way the guide says", func(t *testing.T) { journeyCancel(t, s, cantine.ID) })
	t.Run("a payment left on PayFiP does not lock the family out", func(t *testing.T) { journeyAbandon(t, s, martin, kid, cantine) })
	t.Run("small things", func(t *testing.T) { journeySmallThings(t, s, martin, kid, cantine) })
}

// journeyBalance: the service books a day for Hugo (1,50 €, with a reason); the
// family puts a day in its cart, reads its history, then pays its balance alone.
func journeyBalance(t *testing.T, s *stack, martin *apiClient, family, hugo uuid.UUID, kid string, cantine service) {
	agent := s.login("agent@demo.enfance.test", "demo-staff-2026")
	staffDay := availableDays(martin, hugo.String(), cantine.ID, 3)[2]
	agent.do(http.MethodPost, "/api/v1/admin/families/"+family.String()+"/reservations", map[string]any{
		"items":  []map[string]string{{"child_id": hugo.String(), "service_id": cantine.ID, "date": staffDay.Date}},
		"reason": "Inscription demandée par téléphone",
	}, http.StatusCreated, nil)

	b := newBrowser(t, s.api, "parcours")
	b.login("martin@demo.enfance.test", "demo-martin-2026", "Bonjour, famille Martin")
	b.waitText("#outstanding", "1,50 €", 5*time.Second)
	b.waitText("#pay-balance", "Régler mon solde (1,50 €)", 10*time.Second)

	// A day in the cart, ticked in the calendar.
	b.open("/#/reservations/" + cantine.ID)
	b.waitJS("the calendars", `document.querySelectorAll('.child-calendar table.month').length === document.querySelectorAll('.child-calendar').length && document.querySelectorAll('.child-calendar').length > 0`, 10*time.Second)
	day := eval[string](b, fmt.Sprintf(`document.querySelector('input[data-child=%q][data-state="available"]').dataset.date`, kid))
	sel := fmt.Sprintf(`input[data-child=%q][data-date=%q]`, kid, day)
	b.do("tick a day", chromedpClick(sel))
	b.waitJS("the day in the cart", fmt.Sprintf(`document.querySelector(%s)?.dataset.state === 'in_cart'`, jsString(sel)), 10*time.Second)
	b.waitText("#cart-banner-text", "1 réservation en attente", 5*time.Second)

	// 3. The service's booking in "Règlements & régularisations", with its reason.
	b.click(`nav//a`, "Factures et règlements")
	b.waitText("#reglements table", "faite par le service", 10*time.Second)
	b.waitText("#reglements table", "Par le service", time.Second)
	b.waitText("#reglements table", "Motif : Inscription demandée par téléphone", time.Second)
	b.waitText("#reglements table", "−1,50 €", time.Second)
	if text := eval[string](b, `document.querySelector('#reglements').innerText`); strings.Contains(text, "agent@") {
		t.Errorf("the agent is named to the family:\n%s", text)
	}
	b.shot("03-historique-reservation-par-le-service")
	b.phoneShot("03-historique-reservation-par-le-service-telephone")

	// 1. "Régler mon solde": PayFiP is asked for the balance, 1,50 €, nothing else.
	b.do("pay the balance", chromedpClick("#pay-balance"))
	b.waitJS("the PayFiP page", `document.title.includes('PayFiP')`, 15*time.Second)
	b.waitText("main", "1,50 €", 5*time.Second)
	b.shot("01-payfip-solde-seul")
	b.click("button", "Payer par carte")
	b.click(`a[contains(@class,"back")]`, "Retour au site")
	b.waitText("#payment-ok", "Votre paiement a été effectué : votre solde est réglé.", 30*time.Second)
	if text := eval[string](b, `document.querySelector('main').innerText`); strings.Contains(text, "réservation") {
		t.Errorf("the result of a payment of the balance speaks of reservations:\n%s", text)
	}
	b.shot("01-solde-regle")
	b.phoneShot("01-solde-regle-telephone")
	// The cart's day stayed in the cart, held.
	b.waitJS("the cart count", `document.getElementById('cart-count')?.textContent === '1'`, 5*time.Second)
	b.click(`nav//a`, "Panier")
	b.waitJS("the cart's line", `document.querySelectorAll('table.cart-lines tbody tr').length === 1`, 10*time.Second)
	b.waitText("#pay", "Payer 1,50 €", 5*time.Second)
	b.waitText("main", "Les jours de votre panier vous sont gardés 48 heures, jusqu'au ", time.Second)
	b.shot("01-panier-intact")
	if n := s.int(`SELECT count(*) FROM cart_lines l JOIN carts c ON c.id = l.cart_id WHERE c.family_id = $1 AND c.status = 'open' AND l.state = 'held'`, family); n != 1 {
		t.Fatalf("%d lines held after paying the balance, want the cart's 1", n)
	}
	if n := s.int(`SELECT count(*) FROM ledger_entries WHERE family_id = $1 AND kind = 'payment' AND outstanding_cents = -150 AND cart_id IS NULL`, family); n != 1 {
		t.Fatalf("%d payments of the balance", n)
	}
}

// journeyUnderOneEuro: 0,70 € of cagnotte and a 1,50 € day in the cart: 0,80 €
// due, under PayFiP's 1 €.
func journeyUnderOneEuro(t *testing.T, s *stack, family uuid.UUID) {
	s.exec(`INSERT INTO ledger_entries (org_id, family_id, kind, credit_cents, idempotency_key, label)
		SELECT org_id, id, 'adjustment', 70, 'e2e:credit', 'Régularisation' FROM families WHERE id = $1`, family)
	before := s.receipts()
	b := newBrowser(t, s.api, "parcours")
	b.login("martin@demo.enfance.test", "demo-martin-2026", "Bonjour, famille Martin")
	b.click(`nav//a`, "Panier")
	b.waitText("#total", "0,80 €", 10*time.Second)
	b.waitText("#checkout-notice", "Le paiement en ligne est possible à partir de 1 € : vos réservations seront confirmées et 0,80 € ajoutés à votre solde.", time.Second)
	b.waitText("#pay", "Valider mes réservations", time.Second)
	if text := eval[string](b, `document.querySelector('main').innerText`); strings.Contains(text, "redirigé vers PayFiP") || strings.Contains(text, "Payer 0,80") {
		t.Errorf("the cart announces a payment under 1 €:\n%s", text)
	}
	b.shot("02-panier-moins-de-1-euro")
	b.phoneShot("02-panier-moins-de-1-euro-telephone")
	b.click("button", "Valider mes réservations")
	b.waitText("#payment-confirmed", "Vos réservations sont confirmées.", 30*time.Second)
	b.waitText("main", "aucun paiement n'a été effectué, et 0,80 € ont été ajoutés à votre solde", time.Second)
	if text := eval[string](b, `document.querySelector('main').innerText`); strings.Contains(text, "Paiement effectué") || strings.Contains(text, "attestation de paiement") {
		t.Errorf("the result announces a payment:\n%s", text)
	}
	b.waitText("#receipt", "Télécharger la confirmation (PDF)", time.Second)
	b.shot("02-reservations-confirmees-sans-paiement")
	b.phoneShot("02-reservations-confirmees-sans-paiement-telephone")
	eventually(t, "the confirmation e-mail", func() bool { return s.receipts() == before+1 })
	mails, _ := filepath.Glob(filepath.Join(s.outbox, "receipt*.eml"))
	var found bool
	for _, m := range mails {
		if subject, text := readMail(t, m); subject == "Confirmation de vos réservations" {
			found = strings.Contains(text, "0,80") && !strings.Contains(strings.ToLower(text), "attestation")
		}
	}
	if !found {
		t.Fatal("no confirmation de réservation naming the 0,80 € carried")
	}

	// 0,80 € owed alone cannot be paid online: the button is disabled, and says why.
	b.click(`nav//a`, "Accueil")
	b.waitText("#outstanding", "0,80 €", 10*time.Second)
	b.waitText("#balance-refusal", "Le paiement en ligne est possible à partir de 1 €", 10*time.Second)
	if !eval[bool](b, `document.getElementById('pay-balance').disabled`) {
		t.Fatal("the balance under 1 € can be paid online")
	}
	b.shot("02-solde-moins-de-1-euro")
	b.phoneShot("02-solde-moins-de-1-euro-telephone")
}

// journeyCancel: Bernard has a reservation in time and one past its cancellation
// deadline.
func journeyCancel(t *testing.T, s *stack, cantineID string) {
	ctx := context.Background()
	var org, family, kid, service uuid.UUID
	var price int64
	if err := s.pool.QueryRow(ctx, `SELECT f.org_id, f.id, m.id, s.id, p.price_cents FROM families f
		JOIN members m ON m.family_id = f.id AND m.kind = 'child'
		JOIN services s ON s.org_id = f.org_id AND s.id = $1
		JOIN service_prices p ON p.service_id = s.id AND p.qf_min = 1201
		WHERE f.name = 'Bernard' LIMIT 1`, cantineID).Scan(&org, &family, &kid, &service, &price); err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	tomorrow := booking.Day(time.Now().In(paris)).AddDate(0, 0, 1)
	late := insertReservation(t, s, org, family, kid, service, tomorrow, price)
	var ahead, ahead2 time.Time
	if err := s.pool.QueryRow(ctx, `SELECT min(day), max(day) FROM (SELECT day FROM service_days WHERE service_id = $1 AND open AND day >= $2 ORDER BY day LIMIT 2) d`,
		service, tomorrow.AddDate(0, 0, 14)).Scan(&ahead, &ahead2); err != nil {
		t.Fatal(err)
	}
	inTime := insertReservation(t, s, org, family, kid, service, ahead, price)
	insertReservation(t, s, org, family, kid, service, ahead2, price)

	b := newBrowser(t, s.api, "parcours")
	b.login("bernard@demo.enfance.test", "demo-bernard-2026", "Bonjour, famille Bernard")
	b.waitText("#credit", "5,00 €", 5*time.Second)

	// Past its deadline: ticked, locked, the deadline in its tooltip.
	b.open(fmt.Sprintf("/#/reservations/%s?mois=%s", service, tomorrow.Format("2006-01")))
	lateBox := fmt.Sprintf(`input[data-reservation=%q]`, late)
	b.waitJS("the late day", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(lateBox)), 10*time.Second)
	if !eval[bool](b, fmt.Sprintf(`(() => { const i = document.querySelector(%s); return i.checked && i.disabled && i.closest('td').title.includes("la date limite d'annulation était le"); })()`, jsString(lateBox))) {
		t.Fatalf("a day past its cancellation deadline is not ticked and locked with its deadline: %s",
			eval[string](b, fmt.Sprintf(`document.querySelector(%s).closest('td').title`, jsString(lateBox))))
	}
	b.shot("04-jour-verrouille")

	// In time: untick → "à annuler", then "Valider les annulations" in the blue banner.
	b.open(fmt.Sprintf("/#/reservations/%s?mois=%s", service, ahead.Format("2006-01")))
	box := fmt.Sprintf(`input[data-reservation=%q]`, inTime)
	b.waitJS("the day in time", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(box)), 10*time.Second)
	if !eval[bool](b, fmt.Sprintf(`(() => { const i = document.querySelector(%s); return i.checked && !i.disabled; })()`, jsString(box))) {
		t.Fatal("a day that can still be cancelled is not a ticked box to untick")
	}
	b.do("untick", chromedpClick(box))
	b.waitJS("à annuler", fmt.Sprintf(`document.querySelector(%s).closest('td').textContent.includes('À annuler')`, jsString(box)), 5*time.Second)
	b.waitText(".cancel-bar", "1 jour à annuler", time.Second)
	b.waitText(".cancel-bar", euroText(price)+" sera remboursé sur votre cagnotte", time.Second)
	b.waitText("#cart-banner-text", "1 annulation à valider", time.Second)
	b.waitJS("the banner's button", `!document.getElementById('cart-banner-cancel').hidden && !document.getElementById('cart-banner').hidden`, time.Second)
	if st := reservationStatus(t, s, inTime); st != "confirmed" {
		t.Fatalf("unticking cancelled at once: %s", st)
	}
	b.shot("04-jour-a-annuler")
	b.phoneShot("04-jour-a-annuler-telephone")
	b.click(`button[@id="cart-banner-cancel"]`, "Valider les annulations")
	b.waitText("#messages", "1 réservation annulée : "+euroText(price)+" crédités sur votre cagnotte.", 10*time.Second)
	b.waitJS("the banner gone", `document.getElementById('cart-banner').hidden`, 5*time.Second)
	b.waitJS("the day free again", fmt.Sprintf(`!document.querySelector(%s)`, jsString(box)), 5*time.Second)
	b.shot("04-annulation-validee")
	if st := reservationStatus(t, s, inTime); st != "cancelled" {
		t.Fatalf("reservation after validation: %s", st)
	}

	// The Calendrier page: its own "Annuler", only where still possible.
	b.open("/#/calendrier?mois=" + tomorrow.Format("2006-01"))
	item := fmt.Sprintf(`li[data-reservation=%q]`, late)
	b.waitJS("the late reservation", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(item)), 10*time.Second)
	b.waitText(item, "Délai d'annulation dépassé (il était le", time.Second)
	if eval[bool](b, fmt.Sprintf(`!!document.querySelector(%s).querySelector('button')`, jsString(item))) {
		t.Fatal("the Calendrier offers to cancel a reservation past its deadline")
	}
	b.shot("04-calendrier-annulation-impossible")
	b.open("/#/calendrier?mois=" + ahead2.Format("2006-01"))
	b.waitJS("a reservation in time", `[...document.querySelectorAll('li.reservation.status-confirmed button')].some(b => b.textContent.includes('Annuler'))`, 10*time.Second)
	b.shot("04-calendrier-annulable")
	b.phoneShot("04-calendrier-annulable-telephone")
	b.click(`nav//a`, "Accueil")
	b.waitText("#credit", euroText(500+price), 10*time.Second)
}

// journeyAbandon: the family leaves PayFiP's page without paying and comes back;
// it abandons the payment, which reopens the cart at once; PayFiP takes the money
// later all the same: reconciliation puts it on the cagnotte and tells the family.
func journeyAbandon(t *testing.T, s *stack, martin *apiClient, kid string, cantine service) {
	b := newBrowser(t, s.api, "parcours")
	b.login("martin@demo.enfance.test", "demo-martin-2026", "Bonjour, famille Martin")
	var c cartView
	martin.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &c)
	if len(c.Items) == 0 {
		book(martin, "cantine", 1)
	}
	b.click(`nav//a`, "Panier")
	b.click("button", "Payer")
	b.waitJS("the PayFiP page", `document.title.includes('PayFiP')`, 15*time.Second)
	idOp := eval[string](b, `new URLSearchParams(location.search).get('idop')`)
	b.open("/#/panier") // the tab closed, the portal opened again
	b.waitText("#payment-in-progress", "Paiement en cours", 10*time.Second)
	if text := eval[string](b, `document.querySelector('main').innerText`); strings.Contains(text, "quelques minutes") {
		t.Errorf("the cart says to wait:\n%s", text)
	}
	b.shot("05-paiement-en-cours")
	b.phoneShot("05-paiement-en-cours-telephone")
	b.click("button", "Abandonner ce paiement et modifier mon panier")
	b.waitText("#messages", "Paiement abandonné : votre panier est de nouveau modifiable.", 15*time.Second)
	b.waitJS("the cart open again", `!!document.getElementById('pay') && [...document.querySelectorAll('table.cart-lines button')].some(b => b.textContent.includes('Retirer'))`, 10*time.Second)
	b.shot("05-panier-rouvert")

	credit := s.int(`SELECT COALESCE(sum(credit_cents), 0) FROM ledger_entries l JOIN families f ON f.id = l.family_id WHERE f.name = 'Martin'`)
	var amount int64
	if err := s.pool.QueryRow(context.Background(), `SELECT amount_cents FROM payment_attempts WHERE id_op = $1 AND abandoned_at IS NOT NULL`, idOp).Scan(&amount); err != nil {
		t.Fatalf("the abandoned attempt: %v", err)
	}
	if err := s.sim.Pay(idOp, "P"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the notification", func() bool {
		return s.int(`SELECT count(*) FROM payment_attempts WHERE id_op = $1 AND notified_at IS NOT NULL`, idOp) == 1
	})
	if res := runReconcile(t, s.temporal, s.cfg.TemporalTaskQueue, workflows.ReconcileInput{StaleAfter: time.Nanosecond}); res.Credited != 1 {
		t.Fatalf("reconcile: %+v", res)
	}
	b.click(`nav//a`, "Accueil")
	b.waitText("#credit", euroText(credit+amount), 10*time.Second)
	b.click(`nav//a`, "Factures et règlements")
	b.waitText("#reglements table", "reçu après son abandon sur le portail", 10*time.Second)
	b.shot("05-paiement-tardif-en-cagnotte")
	mails, _ := filepath.Glob(filepath.Join(s.outbox, "late_payment*.eml"))
	if len(mails) != 1 {
		t.Fatalf("%d late payment e-mails", len(mails))
	}
}

// journeySmallThings: the booking calendar opens on the first month with a day to
// book, "Revenir au mois en cours" only away from it, the service buttons, a
// refusal naming its day, and a reply inside a thread.
func journeySmallThings(t *testing.T, s *stack, martin *apiClient, kid string, cantine service) {
	first := ""
	month := time.Now()
	for i := 0; i < 3 && first == ""; i++ {
		var days []day
		martin.do(http.MethodGet, "/api/v1/children/"+kid+"/calendar?service_id="+cantine.ID+"&month="+month.Format("2006-01"), nil, http.StatusOK, &days)
		for _, d := range days {
			if d.State == "available" || d.State == "in_cart" {
				first = month.Format("2006-01")
				break
			}
		}
		month = time.Date(month.Year(), month.Month()+1, 1, 0, 0, 0, 0, time.Local)
	}
	// Martin's message, answered by the service.
	s.exec(`INSERT INTO messages (id, org_id, family_id, category, subject, body) SELECT $1, org_id, id, 'question', 'Cantine du jeudi', 'Bonjour, une question.' FROM families WHERE name = 'Martin'`, uuid.New())
	agent := s.login("agent@demo.enfance.test", "demo-staff-2026")
	var inbox struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	agent.do(http.MethodGet, "/api/v1/admin/messages", nil, http.StatusOK, &inbox)
	agent.do(http.MethodPost, "/api/v1/admin/messages/"+inbox.Items[0].ID+"/reply", map[string]string{"body": "Pouvez-vous préciser le jour ?"}, http.StatusCreated, nil)

	b := newBrowser(t, s.api, "parcours")
	b.login("martin@demo.enfance.test", "demo-martin-2026", "Bonjour, famille Martin")
	b.open("/#/reservations/" + cantine.ID)
	b.waitJS("the calendars", `document.querySelectorAll('.child-calendar table.month').length > 0`, 10*time.Second)
	if got := eval[string](b, `document.querySelector('.month-title').textContent`); got != monthTitle(first) {
		t.Errorf("the calendar opened on %q, want the first month with a day to book, %s", got, monthTitle(first))
	}
	// "Revenir au mois en cours": shown away from the current month, hidden on it.
	current := time.Now().Format("2006-01")
	if want := first != current; eval[bool](b, `getComputedStyle([...document.querySelectorAll('button')].find(b => b.textContent === 'Revenir au mois en cours')).display !== 'none'`) != want {
		t.Errorf("'Revenir au mois en cours' shown: %v, want %v (calendar on %s)", !want, want, first)
	}
	b.open(fmt.Sprintf("/#/reservations/%s?mois=%s", cantine.ID, current))
	b.waitJS("the current month", `document.querySelectorAll('.child-calendar table.month').length > 0`, 10*time.Second)
	if eval[bool](b, `getComputedStyle([...document.querySelectorAll('button')].find(b => b.textContent === 'Revenir au mois en cours')).display !== 'none'`) {
		t.Error("'Revenir au mois en cours' shown on the current month")
	}
	// The other services one click away.
	b.click(`nav[contains(@class,"service-switch")]//a`, "Accueil périscolaire soir")
	b.waitText("#page-title", "Accueil périscolaire soir", 10*time.Second)
	b.waitJS("the calendars", `document.querySelectorAll('.child-calendar table.month').length > 0`, 10*time.Second)
	b.shot("06-boutons-des-services")
	b.phoneShot("06-boutons-des-services-telephone")

	// A day that filled up while the page was open: the refusal names it.
	b.open(fmt.Sprintf("/#/reservations/%s?mois=%s", cantine.ID, first))
	b.waitJS("the calendars", `document.querySelectorAll('.child-calendar table.month').length > 0`, 10*time.Second)
	date := eval[string](b, fmt.Sprintf(`document.querySelector('input[data-child=%q][data-state="available"]').dataset.date`, kid))
	s.exec(`UPDATE service_days SET capacity = taken WHERE service_id = $1 AND day = $2`, cantine.ID, date)
	b.do("tick a full day", chromedpClick(fmt.Sprintf(`input[data-child=%q][data-date=%q]`, kid, date)))
	d, _ := time.Parse(time.DateOnly, date)
	want := "Le " + frenchDay(d) + " : il n'y a plus de place ce jour-là"
	b.waitText("#messages", want, 10*time.Second)
	if text := eval[string](b, `document.getElementById('messages').innerText`); strings.Contains(text, "items[") {
		t.Errorf("the refusal names a field, not the day:\n%s", text)
	}
	b.shot("06-jour-refuse-nomme")

	// A reply inside the thread.
	b.click(`nav//a`, "Contact")
	b.waitText("article.thread", "Pouvez-vous préciser le jour ?", 10*time.Second)
	b.typeIn(`article.thread textarea[name="body"]`, "Le jeudi 3, merci.")
	b.click(`article[contains(@class,"thread")]//button`, "Répondre")
	b.waitText("#messages", "Votre réponse est envoyée au service.", 10*time.Second)
	b.waitJS("three messages in the thread", `document.querySelectorAll('article.thread ol.messages > li').length === 3`, 10*time.Second)
	b.waitText("article.thread ol.messages > li:last-child", "Le jeudi 3, merci.", time.Second)
	b.shot("07-reponse-dans-le-fil")
	b.phoneShot("07-reponse-dans-le-fil-telephone")
}

var frenchWeekdays = []string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}

// frenchDay is « jeudi 3 décembre », « mardi 1er décembre ».
func frenchDay(d time.Time) string {
	n := fmt.Sprint(d.Day())
	if d.Day() == 1 {
		n = "1er"
	}
	return fmt.Sprintf("%s %s %s", frenchWeekdays[d.Weekday()], n, frenchMonths[d.Month()-1])
}
