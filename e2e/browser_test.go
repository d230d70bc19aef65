package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
)

// TestBrowserPortal drives the portal served by the API, in Debian's headless
// Chromium, against the whole stack: a family books on two services and pays on
// the PayFiP simulator; a late cancellation is refused and one in time credited;
// finance runs a month's invoicing from the back office. Screenshots land in
// .data/screenshots.
func TestBrowserPortal(t *testing.T) {
	s := newStack(t)
	t.Run("portal and API on one server", func(t *testing.T) { portalRoutes(t, s) })
	t.Run("family books two services and pays", func(t *testing.T) { browserBookAndPay(t, s) })
	t.Run("cancellations late and in time", func(t *testing.T) { browserCancellations(t, s) })
	t.Run("family record, invoices and contact", func(t *testing.T) { browserFamilyPages(t, s) })
	t.Run("back office family, inbox and services", func(t *testing.T) { browserBackOffice(t, s) })
	t.Run("invoice run from the back office", func(t *testing.T) { browserInvoiceRun(t, s) })
}

// portalRoutes: the API binary serves the portal's pages at / and keeps its
// problem+json answers under /api; PayFiP's return leads the browser to the
// portal's result route.
func portalRoutes(t *testing.T, s *stack) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ path, status, contentType, contains string }{
		{"/", "200", "text/html", `<main id="main"`},
		{"/assets/js/app.js", "200", "javascript", "import"},
		{"/api/v1/nowhere", "404", "application/problem+json", `"status":404`},
		{"/payfip/return?idop=unknown-idop", "303", "", ""},
	} {
		resp, err := client.Get(s.api + c.path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if fmt.Sprint(resp.StatusCode) != c.status || !strings.Contains(resp.Header.Get("Content-Type"), c.contentType) || !strings.Contains(string(raw), c.contains) {
			t.Errorf("GET %s: %d %s\n%.300s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), raw)
		}
		if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") != "/#/paiement?idop=unknown-idop" {
			t.Errorf("PayFiP return goes to %q", resp.Header.Get("Location"))
		}
	}
}

func browserBookAndPay(t *testing.T, s *stack) {
	b := newBrowser(t, s.api, "famille")
	b.open("/")
	b.waitText("#page-title", "Connexion", 10*time.Second)
	b.shot("01-connexion")
	b.phoneShot("01-connexion-telephone")
	b.typeIn(`input[name="login"]`, "martin@demo.enfance.test")
	b.typeIn(`input[name="password"]`, "demo-martin-2026")
	b.click("button", "Se connecter")
	b.waitText("#page-title", "Bonjour, famille Martin", 10*time.Second)
	b.waitText("#credit", "0,00 €", time.Second)
	b.shot("02-accueil")

	// Réservations → Restauration scolaire: tick a whole month for the first child.
	b.click(`nav//a`, "Réservations")
	b.click(`a[contains(@class,"service-button")]`, "Restauration scolaire")
	month := b.monthWithAvailableDays(2, 2)
	first := eval[string](b, `document.querySelector('.child-calendar input[data-child]').dataset.child`)
	available := eval[int](b, fmt.Sprintf(`document.querySelectorAll('input[data-child=%q][data-state="available"]').length`, first))
	if available == 0 {
		t.Fatalf("no day to book in %s for the first child", month)
	}
	b.click(`section[contains(@class,"child-calendar")][1]//button`, "Cocher le mois")
	b.waitJS("the month ticked", fmt.Sprintf(`document.querySelectorAll('input[data-child=%q][data-state="in_cart"]').length === %d`, first, available), 10*time.Second)
	b.waitText("#cart-banner-text", fmt.Sprintf("%d réservation", available), 5*time.Second)
	b.shot("03-cantine-mois-coche")

	// Accueil périscolaire matin: two days ticked one by one, with the mouse.
	b.click(`p[contains(@class,"breadcrumb")]/a`, "Réservations")
	b.click(`a[contains(@class,"service-button")]`, "Accueil périscolaire matin")
	b.monthWithAvailableDays(2, 2)
	if got := eval[string](b, `document.querySelector('.month-title').textContent`); got != monthTitle(month) {
		// Both services open on the same days: the same month has room.
		t.Logf("matin opened on %s, cantine on %s", got, monthTitle(month))
	}
	days := eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll('input[data-child=%q][data-state="available"]')].slice(0, 2).map(i => i.dataset.date)`, first))
	if len(days) != 2 {
		t.Fatalf("matin: available days %v", days)
	}
	for _, d := range days {
		sel := fmt.Sprintf(`input[data-child=%q][data-date=%q]`, first, d)
		b.do("tick "+d, chromedpClick(sel))
		b.waitJS(d+" in the cart", fmt.Sprintf(`document.querySelector(%s)?.dataset.state === 'in_cart'`, jsString(sel)), 10*time.Second)
	}
	b.waitText("#cart-banner-text", fmt.Sprintf("%d réservations en attente", available+2), 5*time.Second)
	// The back-to-top button shows once the page is scrolled down.
	eval[bool](b, `window.scrollTo(0, document.body.scrollHeight), true`)
	b.waitJS("the back-to-top button", `!document.getElementById('to-top').hidden`, 5*time.Second)
	b.shot("04-matin-deux-jours")
	b.phoneShot("04-matin-telephone")
	b.click(`a[@id="cart-banner-link"]`, "Aller au panier")

	// Panier: every line, one removed, the total, then PayFiP.
	b.waitText("#page-title", "Mon panier", 10*time.Second)
	lines := available + 2
	b.waitJS("the cart's lines", fmt.Sprintf(`document.querySelectorAll('table.cart-lines tbody tr').length === %d`, lines), 10*time.Second)
	b.click(`table[contains(@class,"cart-lines")]//tr[last()]//button`, "Retirer")
	lines--
	b.waitJS("one line removed", fmt.Sprintf(`document.querySelectorAll('table.cart-lines tbody tr').length === %d`, lines), 10*time.Second)
	var subtotal int64
	if err := s.pool.QueryRow(context.Background(), `SELECT COALESCE(sum(l.price_cents), 0) FROM cart_lines l JOIN carts c ON c.id = l.cart_id
		JOIN families f ON f.id = c.family_id WHERE f.name = 'Martin' AND c.status = 'open' AND l.state = 'held'`).Scan(&subtotal); err != nil {
		t.Fatal(err)
	}
	b.waitText("#total", euroText(subtotal), 5*time.Second)
	b.waitText("main", "48 heures", time.Second)
	b.shot("05-panier")
	b.phoneShot("05-panier-telephone")
	b.click("button", "Payer")

	// A refused card: the portal says so and the cart is still there.
	b.waitJS("the PayFiP page", `document.title.includes('PayFiP')`, 15*time.Second)
	b.click("button", "Carte refusée")
	b.click(`a[contains(@class,"back")]`, "Retour au site")
	b.waitText("#payment-failed", "Votre paiement n'a pas abouti : il a été refusé.", 30*time.Second)
	b.waitText("main", "Votre panier est conservé", time.Second)
	b.shot("06-paiement-refuse")
	b.click("a", "Retour au panier")
	b.waitJS("the cart kept", fmt.Sprintf(`document.querySelectorAll('table.cart-lines tbody tr').length === %d`, lines), 10*time.Second)
	b.click("button", "Payer")

	// The simulator's page again: "Payer par carte", then back to the portal.
	b.waitJS("the PayFiP page", `document.title.includes('PayFiP')`, 15*time.Second)
	b.waitText("main", euroText(subtotal), 5*time.Second)
	b.shot("07-payfip")
	b.click("button", "Payer par carte")
	b.click(`a[contains(@class,"back")]`, "Retour au site")
	b.waitText("#payment-ok", "Votre paiement a été effectué, vos réservations également !", 30*time.Second)
	href := eval[string](b, `document.getElementById('receipt').getAttribute('href')`)
	if !regexp.MustCompile(`^/api/v1/payments/[0-9a-f-]{36}/receipt\.pdf$`).MatchString(href) {
		t.Fatalf("receipt link %q", href)
	}
	// The link downloads a PDF with the session's cookie.
	if got := eval[string](b, `fetch(document.getElementById('receipt').href).then(r => r.status + ' ' + r.headers.get('content-type'))`); got != "200 application/pdf" {
		t.Fatalf("receipt download: %s", got)
	}
	b.shot("08-paiement-effectue")
	b.waitJS("the cart emptied", `document.getElementById('cart-count')?.hidden === true`, 5*time.Second)

	var confirmed int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM reservations r JOIN families f ON f.id = r.family_id
		WHERE f.name = 'Martin' AND r.status = 'confirmed'`).Scan(&confirmed); err != nil {
		t.Fatal(err)
	}
	if confirmed != lines {
		t.Fatalf("%d reservations confirmed, want the cart's %d lines", confirmed, lines)
	}
}

// monthWithAvailableDays waits for the calendars and moves to the next month until
// the first child has atLeast days to book (the calendar opens on the first month
// with a day to book; the first child may still have too few).
func (b *browser) monthWithAvailableDays(tries, atLeast int) string {
	b.t.Helper()
	b.waitJS("the calendars", `document.querySelectorAll('.child-calendar').length > 0 && document.querySelectorAll('.child-calendar table.month').length === document.querySelectorAll('.child-calendar').length`, 10*time.Second)
	month, shown := time.Now(), eval[string](b, `document.querySelector('.month-title').textContent`)
	for n := 0; monthTitle(month.Format("2006-01")) != shown; n++ {
		if n == 12 {
			b.t.Fatalf("the calendar shows %q, not a month of the coming year", shown)
		}
		month = time.Date(month.Year(), month.Month()+1, 1, 0, 0, 0, 0, time.Local)
	}
	for i := 0; ; i++ {
		if eval[int](b, `document.querySelector('.child-calendar').querySelectorAll('input[data-state="available"]').length`) >= atLeast {
			return month.Format("2006-01")
		}
		if i == tries {
			b.t.Fatalf("no month with a day to book\n%s", b.pageText())
		}
		month = time.Date(month.Year(), month.Month()+1, 1, 0, 0, 0, 0, time.Local)
		b.click("button", "Mois suivant")
		b.waitJS("the next month", fmt.Sprintf(`document.querySelector('.month-title').textContent === %s && document.querySelectorAll('.child-calendar table.month').length === document.querySelectorAll('.child-calendar').length`,
			jsString(monthTitle(month.Format("2006-01")))), 10*time.Second)
	}
}

var frenchMonths = []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

func monthTitle(month string) string {
	t, _ := time.Parse("2006-01", month)
	return fmt.Sprintf("%s %d", frenchMonths[t.Month()-1], t.Year())
}

// euroText is how the portal writes an amount, spaces folded: 1234 → "12,34 €".
func euroText(cents int64) string {
	euros := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, c := range euros {
		if i > 0 && (len(euros)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf("%s,%02d €", b.String(), cents%100)
}

func browserCancellations(t *testing.T, s *stack) {
	ctx := context.Background()
	var org, family, child, service uuid.UUID
	var price int64
	if err := s.pool.QueryRow(ctx, `SELECT f.org_id, f.id, m.id FROM families f JOIN members m ON m.family_id = f.id AND m.kind = 'child'
		WHERE f.name = 'Bernard' LIMIT 1`).Scan(&org, &family, &child); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT s.id, p.price_cents FROM services s JOIN service_prices p ON p.service_id = s.id
		WHERE s.org_id = $1 AND s.code = 'cantine' AND p.qf_min = 1201`, org).Scan(&service, &price); err != nil {
		t.Fatal(err)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	// Tomorrow is past any deadline of "J-2": booked earlier, it can no longer be
	// cancelled. Its day is opened for the test whatever the calendar says.
	tomorrow := booking.Day(time.Now().In(paris)).AddDate(0, 0, 1)
	late := insertReservation(t, s, org, family, child, service, tomorrow, price)
	// A day some weeks ahead is well within the deadline.
	var ahead time.Time
	if err := s.pool.QueryRow(ctx, `SELECT day FROM service_days WHERE service_id = $1 AND open AND day >= $2 ORDER BY day LIMIT 1`,
		service, tomorrow.AddDate(0, 0, 14)).Scan(&ahead); err != nil {
		t.Fatal(err)
	}
	inTime := insertReservation(t, s, org, family, child, service, ahead, price)

	b := newBrowser(t, s.api, "annulation")
	b.login("bernard@demo.enfance.test", "demo-bernard-2026", "Bonjour, famille Bernard")
	b.waitText("#credit", "5,00 €", 5*time.Second)

	// Late: the calendar says until when it could have been cancelled, and offers
	// no "Annuler" (the API would refuse it: cart's tests).
	b.open("/#/calendrier?mois=" + tomorrow.Format("2006-01"))
	item := fmt.Sprintf(`li[data-reservation=%q]`, late)
	b.waitJS("the late reservation", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(item)), 10*time.Second)
	b.waitText(item, "Délai d'annulation dépassé (il était le ", time.Second)
	if eval[bool](b, fmt.Sprintf(`!!document.querySelector(%s).querySelector('button')`, jsString(item))) {
		t.Fatal("the calendar offers to cancel a reservation past its deadline")
	}
	b.shot("09-annulation-tardive-impossible")
	b.phoneShot("09-annulation-tardive-telephone")
	if st := reservationStatus(t, s, late); st != "confirmed" {
		t.Fatalf("late reservation is %s", st)
	}

	// In time: cancelled, the price credited to the cagnotte.
	b.open("/#/calendrier?mois=" + ahead.Format("2006-01"))
	item = fmt.Sprintf(`li[data-reservation=%q]`, inTime)
	b.waitJS("the reservation ahead", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(item)), 10*time.Second)
	b.waitText(item, "Annulable jusqu'au", time.Second)
	b.click(fmt.Sprintf(`li[@data-reservation=%q]//button`, inTime.String()), "Annuler")
	b.click(fmt.Sprintf(`li[@data-reservation=%q]//button`, inTime.String()), "Confirmer l'annulation")
	b.waitText("#messages", euroText(price)+" crédités sur votre cagnotte", 10*time.Second)
	b.waitText(item, "Annulée", 5*time.Second)
	b.shot("10-annulation-dans-les-delais")
	if st := reservationStatus(t, s, inTime); st != "cancelled" {
		t.Fatalf("reservation cancelled in time is %s", st)
	}
	b.click(`nav//a`, "Accueil")
	b.waitText("#credit", euroText(500+price), 10*time.Second)
}

// insertReservation writes a confirmed reservation straight into PostgreSQL, as if
// it had been booked and paid earlier, opening its service day if need be.
func insertReservation(t *testing.T, s *stack, org, family, child, service uuid.UUID, day time.Time, price int64) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var dayID uuid.UUID
	if err := s.pool.QueryRow(ctx, `INSERT INTO service_days (id, org_id, service_id, day, open, taken) VALUES ($1, $2, $3, $4, true, 1)
		ON CONFLICT (service_id, day) DO UPDATE SET open = true, taken = service_days.taken + 1 RETURNING id`,
		uuid.New(), org, service, day).Scan(&dayID); err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	if _, err := s.pool.Exec(ctx, `INSERT INTO reservations (id, org_id, family_id, child_id, service_id, service_day_id, day, price_cents, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'confirmed')`, id, org, family, child, service, dayID, day, price); err != nil {
		t.Fatal(err)
	}
	return id
}

// bookedDays is how the family's money history names its confirmed reservations:
// "Léa — Restauration scolaire : mar. 1er déc., jeu. 3 déc.", one line per child
// and service.
func bookedDays(t *testing.T, s *stack, family string) []string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT m.first_name || ' — ' || sv.name, r.day FROM reservations r
		JOIN families f ON f.id = r.family_id JOIN members m ON m.id = r.child_id JOIN services sv ON sv.id = r.service_id
		WHERE f.name = $1 AND r.status = 'confirmed' ORDER BY 1, r.day`, family)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	weekdays := []string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."}
	months := []string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
	var lines []string
	var days []string
	var who string
	for rows.Next() {
		var w string
		var d time.Time
		if err := rows.Scan(&w, &d); err != nil {
			t.Fatal(err)
		}
		if w != who && who != "" {
			lines, days = append(lines, who+" : "+strings.Join(days, ", ")), nil
		}
		n := fmt.Sprint(d.Day())
		if d.Day() == 1 {
			n = "1er"
		}
		who, days = w, append(days, weekdays[d.Weekday()]+" "+n+" "+months[d.Month()-1])
	}
	if err := rows.Err(); err != nil || who == "" {
		t.Fatalf("the reservations of %s: %v", family, err)
	}
	return append(lines, who+" : "+strings.Join(days, ", "))
}

func reservationStatus(t *testing.T, s *stack, id uuid.UUID) string {
	t.Helper()
	var st string
	if err := s.pool.QueryRow(context.Background(), `SELECT status FROM reservations WHERE id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// browserFamilyPages: the record (an authorised person added), the invoices and
// payments page with the payment of the first subtest, a message with an
// attachment.
func browserFamilyPages(t *testing.T, s *stack) {
	b := newBrowser(t, s.api, "fiche")
	b.login("martin@demo.enfance.test", "demo-martin-2026", "Bonjour, famille Martin")
	b.click(`nav//a`, "Ma famille")
	b.waitText("#page-title", "Ma fiche famille", 10*time.Second)
	b.waitText("#membres table", "Léa", 10*time.Second)
	b.waitText("#reglements table", "Paiement", 10*time.Second)
	b.typeIn(`#personnes input[name="first_name"]`, "Josette")
	b.typeIn(`#personnes input[name="last_name"]`, "Martin")
	b.typeIn(`#personnes input[name="phone"]`, "06 12 34 56 78")
	b.typeIn(`#personnes input[name="relationship"]`, "grand-mère")
	b.click(`section[@id="personnes"]//button`, "Ajouter la personne")
	b.waitText("#personnes table", "Josette Martin", 10*time.Second)
	b.shot("12-fiche-famille")
	b.phoneShot("12-fiche-famille-telephone")

	b.click(`nav//a`, "Factures et règlements")
	b.waitText("#reglements table", "Paiement", 10*time.Second)
	// The cart's line says what was paid for: each child's days, per service.
	b.waitText("#reglements table", "Réservations confirmées", time.Second)
	for _, line := range bookedDays(t, s, "Martin") {
		b.waitText("#reglements table .movement-days", line, time.Second)
	}
	b.shot("13-factures-reglements")
	b.phoneShot("13-factures-reglements-telephone")

	png := filepath.Join(t.TempDir(), "justificatif.png")
	if err := os.WriteFile(png, tinyPNG, 0o600); err != nil {
		t.Fatal(err)
	}
	b.click(`nav//a`, "Contact")
	b.waitText("#page-title", "Nous contacter", 10*time.Second)
	b.do("write a message", chromedp.SetValue(chromedp.CSS(`select[name="category"]`), "document"),
		chromedp.SendKeys(chromedp.CSS(`input[name="subject"]`), "Attestation d'assurance"),
		chromedp.SendKeys(chromedp.CSS(`textarea[name="body"]`), "Bonjour,\nVoici l'attestation demandée."),
		chromedp.SetUploadFiles(chromedp.CSS(`input[type="file"]`), []string{png}))
	b.click("button", "Envoyer le message")
	b.waitText("#messages", "Votre message est envoyé", 10*time.Second)
	b.waitText("article.thread", "justificatif.png", 5*time.Second)
	b.shot("14-contact")
}

// browserBackOffice: an administrator finds the family, records a desk payment
// and an adjustment, books a day on its behalf, answers its message, and opens a
// service's days.
func browserBackOffice(t *testing.T, s *stack) {
	ctx := context.Background()
	var hugo, cantine uuid.UUID
	var day time.Time
	if err := s.pool.QueryRow(ctx, `SELECT m.id, sv.id, sd.day FROM families f
		JOIN members m ON m.family_id = f.id AND m.first_name = 'Hugo'
		JOIN services sv ON sv.org_id = f.org_id AND sv.code = 'cantine'
		JOIN service_days sd ON sd.service_id = sv.id AND sd.open AND sd.day >= current_date + 7
		WHERE f.name = 'Martin' ORDER BY sd.day LIMIT 1`).Scan(&hugo, &cantine, &day); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.api, "back-office")
	b.login("admin@demo.enfance.test", "demo-staff-2026", "Familles")
	b.typeIn(`input[name="q"]`, "Martin")
	b.click("button", "Rechercher")
	b.waitJS("one family found", `document.querySelectorAll('main table tbody tr').length === 1`, 10*time.Second)
	b.click(`main//table//a`, "Martin")
	b.waitText("#page-title", "Famille Martin", 10*time.Second)

	// Desk payment: nothing is owed, so the 5,00 € go to the cagnotte.
	desk := `section[aria-labelledby="s-desk"]`
	b.typeIn(desk+` input[name="amount_cents"]`, "5,00")
	b.do("cheque", chromedp.SetValue(chromedp.CSS(desk+` select[name="method"]`), "cheque"))
	b.typeIn(desk+` input[name="reference"]`, "Chèque 1234567")
	b.click(`section[@aria-labelledby="s-desk"]//button`, "Enregistrer le règlement")
	b.waitText("#messages", "Règlement de 5,00 € enregistré", 10*time.Second)
	b.waitText("#fam-credit", "5,00 €", 5*time.Second)

	// Adjustment: the cagnotte lowered by 2,00 € with a reason.
	adjust := `section[aria-labelledby="s-adjust"]`
	b.do("adjustment", chromedp.SetValue(chromedp.CSS(adjust+` select[name="direction"]`), "-1"))
	b.typeIn(adjust+` input[name="amount_cents"]`, "2")
	b.typeIn(adjust+` input[name="reason"]`, "Erreur de saisie")
	b.click(`section[@aria-labelledby="s-adjust"]//button`, "Enregistrer la régularisation")
	b.waitText("#messages", "Régularisation enregistrée", 10*time.Second)
	b.waitText("#fam-credit", "3,00 €", 5*time.Second)

	// Book on the family's behalf: charged to what it owes.
	book := `section[aria-labelledby="s-book"]`
	b.waitJS("the booking form", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(book+` select[name="service_id"]`)), 10*time.Second)
	b.do("book on behalf", chromedp.SetValue(chromedp.CSS(book+` select[name="child_id"]`), hugo.String()),
		chromedp.SetValue(chromedp.CSS(book+` select[name="service_id"]`), cantine.String()),
		chromedp.SetValue(chromedp.CSS(book+` input[name="from"]`), day.Format(time.DateOnly)))
	b.click(`section[@aria-labelledby="s-book"]//button`, "Réserver")
	b.waitText("#messages", "1 réservation faite", 10*time.Second)
	b.waitText("#fam-outstanding", "1,50 €", 5*time.Second)
	b.waitText(`section[aria-labelledby="fam-history"] table`, "Régularisation", 5*time.Second)
	b.shot("15-famille-back-office")
	b.phoneShot("15-famille-back-office-telephone")
	var source string
	if err := s.pool.QueryRow(ctx, `SELECT source FROM reservations WHERE child_id = $1 AND day = $2 AND status = 'confirmed'`, hugo, day).Scan(&source); err != nil || source != "staff" {
		t.Fatalf("reservation booked on behalf: %q %v", source, err)
	}

	// The family's message, answered.
	b.click(`nav//a`, "Messagerie")
	b.waitText("main table", "Attestation d'assurance", 10*time.Second)
	b.click(`main//table//a`, "Attestation d'assurance")
	b.waitText("article.thread", "justificatif.png", 10*time.Second)
	b.typeIn(`textarea[name="body"]`, "Merci, c'est bien reçu.")
	b.click("button", "Envoyer la réponse")
	b.waitText("article.thread .from-staff", "Merci, c'est bien reçu.", 10*time.Second)
	b.shot("16-messagerie")

	b.click(`nav//a`, "Services")
	b.waitText("main table", "Restauration scolaire", 10*time.Second)
	b.shot("17-services")
	b.click(`main//table//a`, "Restauration scolaire")
	b.waitJS("the service's days", `document.querySelectorAll('main table tbody tr').length > 0`, 10*time.Second)
	b.shot("18-jours-du-service")
}

// tinyPNG is a 1×1 PNG: an attachment the API accepts by its content.
var tinyPNG = []byte{
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
	0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00,
	0x00, 0x05, 0x00, 0x01, 0xe9, 0xfa, 0xdc, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
	0xae, 0x42, 0x60, 0x82,
}

func browserInvoiceRun(t *testing.T, s *stack) {
	last := time.Now().AddDate(0, -1, 0).Format("2006-01")
	chargeLastMonth(t, s, "Bernard", last)
	b := newBrowser(t, s.api, "facturation")
	b.login("finance@demo.enfance.test", "demo-staff-2026", "Familles")
	b.waitJS("the families", `document.querySelectorAll('main table tbody tr').length >= 2`, 10*time.Second)
	b.shot("19-familles")

	b.click(`nav//a`, "Facturation")
	b.waitText("#page-title", "Facturation", 10*time.Second)
	if v := eval[string](b, `document.querySelector('input[name="month"]').value`); v != last {
		t.Fatalf("the month proposed is %q, want last month %s", v, last)
	}
	b.click("button", "Lancer la facturation")
	b.waitText("#run-status", "Terminée", 30*time.Second)
	b.shot("20-facturation-terminee")
	b.phoneShot("20-facturation-telephone")
	var status string
	var done, total int
	if err := s.pool.QueryRow(context.Background(), `SELECT status, families_done, families_total FROM invoice_runs WHERE month = $1`, last).Scan(&status, &done, &total); err != nil {
		t.Fatal(err)
	}
	if status != "completed" || done != total || total < 1 {
		t.Fatalf("invoice run of %s: %s, %d/%d families", last, status, done, total)
	}
	b.waitText("#run-status", fmt.Sprintf("sur %d traitée", total), time.Second)
	b.waitText("table tbody", monthTitle(last), 5*time.Second)
}

// chargeLastMonth gives a family a reservation on the 15th of last month, charged
// and unpaid, so that the month has something to invoice.
func chargeLastMonth(t *testing.T, s *stack, family, month string) {
	t.Helper()
	first, err := time.Parse("2006-01", month)
	if err != nil {
		t.Fatal(err)
	}
	day := first.AddDate(0, 0, 14)
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, `WITH d AS (
			INSERT INTO service_days (id, org_id, service_id, day, taken)
			SELECT gen_random_uuid(), s.org_id, s.id, $2, 1 FROM services s JOIN families f ON f.org_id = s.org_id
			WHERE f.name = $1 AND s.code = 'cantine'
			ON CONFLICT (service_id, day) DO UPDATE SET taken = service_days.taken + 1 RETURNING *),
		r AS (
			INSERT INTO reservations (id, org_id, family_id, child_id, service_id, service_day_id, day, price_cents, status)
			SELECT gen_random_uuid(), f.org_id, f.id, m.id, d.service_id, d.id, d.day, 380, 'confirmed'
			FROM families f JOIN members m ON m.family_id = f.id AND m.kind = 'child', d
			WHERE f.name = $1 ORDER BY m.birth_date LIMIT 1 RETURNING *)
		INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, reservation_id, label, occurred_at)
		SELECT org_id, family_id, 'charge', price_cents, 'charge:' || id, id, 'Réservation', $3 FROM r`,
		family, day, day.Add(-5*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
}
