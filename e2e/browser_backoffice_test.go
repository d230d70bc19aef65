package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/config"
)

// TestBrowserBackOffice runs the town hall from the browser, in Debian's headless
// Chromium, against the whole stack: the administrator creates a service with its
// price grid and opens its days; the desk creates a family with two children,
// invites the parent (the e-mail lands in the outbox), books and cancels on its
// behalf; the régisseur records a desk payment, ticks an attendance sheet with one
// child absent and one present without a reservation, invoices the month and
// finds both on the family's invoice. Each role sees only what its API allows.
// Screenshots of every page, desktop and phone, land in .data/screenshots
// (bo-*.png).
func TestBrowserBackOffice(t *testing.T) {
	mailDir := t.TempDir()
	s := newStack(t, func(c *config.Config) { c.MailOutboxDir = mailDir })
	w := &boWalk{t: t, s: s, mailDir: mailDir}
	t.Run("admin creates a service and opens its days", w.adminService)
	t.Run("the desk creates a family, invites it, books and cancels for it", w.agentFamily)
	t.Run("finance: desk payment and attendance sheet", w.financeAttendance)
	t.Run("finance: the month's invoice lists the absence and the presence", w.financeInvoice)
	t.Run("admin: staff, settings, audit log, closures", w.adminPages)
}

type boWalk struct {
	t       *testing.T
	s       *stack
	mailDir string
	service uuid.UUID // created by the admin
	family  uuid.UUID // created by the desk
	past    time.Time // a day of last month the service ran
	opened  [2]string // the period whose days the admin opened, as the pages write it
	resized string    // the day whose capacity the admin set to 25, as the pages write it
	closed  string    // the day the admin closed
	month   string    // last month, invoiced
}

// scan reads one row of the stack's database.
func (w *boWalk) scan(t *testing.T, sql string, args []any, dst ...any) {
	t.Helper()
	if err := w.s.pool.QueryRow(context.Background(), sql, args...).Scan(dst...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (w *boWalk) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	w.scan(t, sql, args, &n)
	return n
}

// setValue replaces an input's text as a user does (input and change fire).
func (b *browser) setValue(sel, value string) {
	b.t.Helper()
	if !eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false; e.focus(); e.value = %s;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); e.blur(); return true; })()`, jsString(sel), jsString(value))) {
		b.t.Fatalf("no %s\n%s", sel, b.pageText())
	}
}

// setSelect chooses an option of a <select> as a user does (the change event fires).
func (b *browser) setSelect(sel, value string) {
	b.t.Helper()
	if !eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false; e.value = %s; e.dispatchEvent(new Event('change', {bubbles: true})); return e.value === %s; })()`,
		jsString(sel), jsString(value), jsString(value))) {
		b.t.Fatalf("select %s: no option %q\n%s", sel, value, b.pageText())
	}
}

// both takes the desktop screenshot and the phone one.
func (b *browser) both(what string) {
	b.t.Helper()
	b.shot(what)
	b.phoneShot(what + "-telephone")
}

func (w *boWalk) adminService(t *testing.T) {
	b := newBrowser(t, w.s.api, "bo-admin")
	b.login("admin@demo.enfance.test", "demo-staff-2026", "Familles")
	for _, item := range []string{"Familles", "Journée", "Services", "Messagerie", "Facturation", "Utilisateurs", "Collectivité", "Journal"} {
		b.waitText("#nav", item, time.Second)
	}
	b.click(`nav//a`, "Services")
	b.waitText("main table", "Restauration scolaire", 10*time.Second)
	b.both("01-services")
	b.click(`main//a`, "Nouveau service")
	b.waitText("#page-title", "Nouveau service", 10*time.Second)
	b.typeIn(`input[name="name"]`, "Garderie du soir")
	b.typeIn(`input[name="code"]`, "garderie")
	b.typeIn(`input[name="description"]`, "16h30 – 18h30, école Jules Ferry")
	// The price grid: 0 to 700 at 1,20 €, then 701 and more at 2,40 €.
	b.typeIn(`.price-grid tbody tr:nth-child(1) input[name="qf_max"]`, "700")
	b.typeIn(`.price-grid tbody tr:nth-child(1) input[name="price"]`, "1,20")
	b.click(`fieldset[contains(@class,"price-grid")]//button`, "Ajouter une tranche")
	b.waitJS("the second bracket starts at 701", `document.querySelector('.price-grid tbody tr:nth-child(2) input[name="qf_min"]')?.value === '701'`, 5*time.Second)
	b.typeIn(`.price-grid tbody tr:nth-child(2) input[name="price"]`, "2,40")
	// A gap is refused in the page, as the API would refuse it.
	b.setValue(`.price-grid tbody tr:nth-child(2) input[name="qf_min"]`, "801")
	b.click("button", "Créer le service")
	b.waitText("#messages", "Tranche 2 : aucune tranche ne couvre les QF de 701 à 800", 5*time.Second)
	b.setValue(`.price-grid tbody tr:nth-child(2) input[name="qf_min"]`, "701")
	b.shot("02-nouveau-service")
	b.phoneShot("02-nouveau-service-telephone")
	b.click("button", "Créer le service")
	b.waitText("#page-title", "Garderie du soir", 10*time.Second)
	b.waitText("#messages", "Service « Garderie du soir » créé", 5*time.Second)
	w.scan(t, `SELECT id FROM services WHERE code = 'garderie'`, nil, &w.service)
	if n := w.count(t, `SELECT count(*) FROM service_prices WHERE service_id = $1 AND ((qf_min = 0 AND qf_max = 700 AND price_cents = 120) OR (qf_min = 701 AND qf_max IS NULL AND price_cents = 240))`, w.service); n != 2 {
		t.Fatalf("price grid stored: %d of the 2 brackets", n)
	}

	// Its days, from the first of last month to the end of next month.
	now := time.Now()
	first := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(now.Year(), now.Month()+2, 0, 0, 0, 0, 0, time.UTC)
	gen := `section[aria-labelledby="svc-generate"] `
	b.setValue(gen+`input[name="from"]`, first.Format("02/01/2006"))
	b.setValue(gen+`input[name="to"]`, last.Format("02/01/2006"))
	b.typeIn(gen+`input[name="capacity"]`, "30")
	b.click("button", "Ouvrir les jours")
	b.waitText("#messages", "jours ouverts du "+first.Format("02/01/2006"), 10*time.Second)
	w.opened = [2]string{first.Format("02/01/2006"), last.Format("02/01/2006")}
	b.waitJS("this month's days", `document.querySelectorAll('.days-table tbody tr').length > 5`, 10*time.Second)
	b.both("03-service-jours")

	// Two days changed by hand: one smaller, one closed (the journal names both).
	days := `.days-table tbody tr:nth-child(%d) `
	w.resized = eval[string](b, fmt.Sprintf(`document.querySelector(%s).textContent`, jsString(fmt.Sprintf(days, 1)+"th")))
	w.closed = eval[string](b, fmt.Sprintf(`document.querySelector(%s).textContent`, jsString(fmt.Sprintf(days, 2)+"th")))
	b.setValue(fmt.Sprintf(days, 1)+`input[type="number"]`, "25")
	b.do("close a day", chromedpClick(fmt.Sprintf(days, 2)+`input[type="checkbox"]`))
	b.click("button", "Enregistrer les modifications")
	b.waitText("#messages", "2 jours modifiés", 10*time.Second)

	// The service edited: Wednesdays too, booked a day earlier, the upper bracket
	// dearer, a place offered from the waiting list held longer.
	b.click(`main//a`, "Modifier le service")
	b.waitText("#page-title", "Modifier « Garderie du soir »", 10*time.Second)
	b.do("Wednesdays", chromedpClick(`#wd-3`))
	b.setValue(`input[name="booking_deadline.days_before"]`, "3")
	b.setValue(`.price-grid tbody tr:nth-child(2) input[name="price"]`, "2,60")
	b.setValue(`input[name="waitlist_offer_hours"]`, "48")
	b.click("button", "Enregistrer le service")
	b.waitText("#messages", "Service « Garderie du soir » enregistré", 10*time.Second)
	var past time.Time
	if err := w.s.pool.QueryRow(context.Background(), `SELECT day FROM service_days WHERE service_id = $1 AND day < date_trunc('month', now())::date AND open
		ORDER BY day DESC LIMIT 1`, w.service).Scan(&past); err != nil {
		t.Fatalf("no day of the service last month: %v", err)
	}
	w.past, w.month = past, past.Format("2006-01")
}

func (w *boWalk) agentFamily(t *testing.T) {
	if w.service == uuid.Nil {
		t.Skip("needs the service of the previous step")
	}
	b := newBrowser(t, w.s.api, "bo-accueil")
	b.login("agent@demo.enfance.test", "demo-staff-2026", "Familles")
	// The desk sees no money and no administration.
	for _, hidden := range []string{"Facturation", "Utilisateurs", "Collectivité", "Journal"} {
		if eval[bool](b, fmt.Sprintf(`document.getElementById('nav').textContent.includes(%s)`, jsString(hidden))) {
			t.Errorf("the desk's menu shows %s", hidden)
		}
	}
	b.click(`main//a`, "Nouvelle famille")
	b.waitText("#page-title", "Nouvelle famille", 10*time.Second)
	b.typeIn(`input[name="name"]`, "Durand")
	b.setValue(`input[name="qf"]`, "650")
	b.typeIn(`input[name="email"]`, "durand@famille.test")
	b.typeIn(`input[name="phone"]`, "06 12 34 56 78")
	b.typeIn(`input[name="city"]`, "Démo")
	member := func(n int, field, value string) {
		b.typeIn(fmt.Sprintf(`.members-list fieldset:nth-of-type(%d) [name="%s"]`, n, field), value)
	}
	member(1, "first_name", "Claire")
	member(1, "last_name", "Durand")
	member(2, "first_name", "Emma")
	member(2, "last_name", "Durand")
	member(2, "birth_date", "02/05/2017")
	member(2, "school", "École Jules Ferry")
	member(2, "class_name", "CE2")
	member(2, "allergies", "arachide")
	b.click("button", "Ajouter un enfant")
	member(3, "first_name", "Noah")
	member(3, "last_name", "Durand")
	member(3, "birth_date", "14/09/2019")
	member(3, "school", "École Jules Ferry")
	member(3, "class_name", "GS")
	b.typeIn(`input[name="account_login"]`, "parent.durand@famille.test")
	b.shot("04-nouvelle-famille")
	b.click("button", "Créer la famille")
	b.waitText("#page-title", "Famille Durand", 10*time.Second)
	b.waitText("#messages", "un e-mail d'invitation part vers parent.durand@famille.test", 5*time.Second)
	w.scan(t, `SELECT id FROM families WHERE name = 'Durand'`, nil, &w.family)
	if n := w.count(t, `SELECT count(*) FROM members WHERE family_id = $1 AND kind = 'child'`, w.family); n != 2 {
		t.Fatalf("%d children recorded", n)
	}
	w.waitMail(t, "parent.durand@famille.test", "/#/set-password?token=")

	// The desk cannot change the QF: the field is locked, and says who can.
	b.click(`section[@aria-labelledby="fam-contact"]//button`, "Modifier")
	b.waitJS("the QF field locked", `document.querySelector('input[name="qf"]').disabled`, 5*time.Second)
	b.waitText(`section[aria-labelledby="fam-contact"]`, "Seuls les régisseurs et les administrateurs changent le quotient familial", time.Second)
	b.click(`section[@aria-labelledby="fam-contact"]//button`, "Annuler")
	for _, money := range []string{"Règlement au guichet", "Régularisation", "Factures"} {
		if eval[bool](b, fmt.Sprintf(`[...document.querySelectorAll('main h2')].some(h => h.textContent === %s)`, jsString(money))) {
			t.Errorf("the desk sees the %q section", money)
		}
	}

	// A grandmother may collect the children.
	b.typeIn(`section[aria-labelledby="fam-persons"] input[name="first_name"]`, "Josette")
	b.typeIn(`section[aria-labelledby="fam-persons"] input[name="last_name"]`, "Durand")
	b.typeIn(`section[aria-labelledby="fam-persons"] input[name="phone"]`, "06 11 22 33 44")
	b.typeIn(`section[aria-labelledby="fam-persons"] input[name="relationship"]`, "grand-mère")
	b.click(`section[@aria-labelledby="fam-persons"]//button`, "Ajouter la personne")
	b.waitText(`section[aria-labelledby="fam-persons"] table`, "Josette Durand", 10*time.Second)

	// Booked on its behalf a day ahead, then cancelled in time: the price goes back.
	var ahead time.Time
	if err := w.s.pool.QueryRow(context.Background(), `SELECT day FROM service_days WHERE service_id = $1 AND open AND day >= current_date + 10 ORDER BY day LIMIT 1`, w.service).Scan(&ahead); err != nil {
		t.Fatal(err)
	}
	var emma uuid.UUID
	w.scan(t, `SELECT id FROM members WHERE family_id = $1 AND first_name = 'Emma'`, []any{w.family}, &emma)
	book := `section[aria-labelledby="s-book"]`
	// The form's button stays disabled until the last booking's lists are redrawn.
	bookable := func() {
		b.waitJS("the booking button enabled", fmt.Sprintf(`!document.querySelector(%s).disabled`, jsString(book+` button[type="submit"]`)), 10*time.Second)
	}
	b.waitJS("the booking form", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(book+` select[name="service_id"]`)), 10*time.Second)
	b.setSelect(book+` select[name="child_id"]`, emma.String())
	b.setSelect(book+` select[name="service_id"]`, w.service.String())
	b.typeIn(book+` input[name="from"]`, ahead.Format("02/01/2006"))
	b.click(`section[@aria-labelledby="s-book"]//button`, "Réserver")
	b.waitText("#messages", "1 réservation faite ; 1,20 € ajoutés au solde dû", 10*time.Second)
	b.waitText("#fam-outstanding", "1,20 €", 5*time.Second)
	// The one of last month, booked late with a reason (the attendance sheet needs it).
	b.setValue(book+` input[name="from"]`, w.past.Format("02/01/2006"))
	b.typeIn(book+` input[name="reason"]`, "inscription tardive, accord de la directrice")
	bookable()
	b.do("override", chromedpClick(book+` input[name="override_deadline"]`))
	b.click(`section[@aria-labelledby="s-book"]//button`, "Réserver")
	b.waitText("#fam-outstanding", "2,40 €", 10*time.Second) // the first booking's message is still shown
	// A day whose free place a waiting list is owed: refused, saying what to do;
	// booked once the agent passes the list over, with the reason.
	var listed time.Time
	if err := w.s.pool.QueryRow(context.Background(), `UPDATE service_days SET waiting = 1
		WHERE id = (SELECT id FROM service_days WHERE service_id = $1 AND open AND day > $2 ORDER BY day LIMIT 1) RETURNING day`,
		w.service, ahead).Scan(&listed); err != nil {
		t.Fatal(err)
	}
	bookable()
	b.do("deadline override off", chromedpClick(book+` input[name="override_deadline"]`))
	b.setValue(book+` input[name="from"]`, listed.Format("02/01/2006"))
	b.click(`section[@aria-labelledby="s-book"]//button`, "Réserver")
	b.waitText("#messages", "sur la liste d'attente : proposez-leur la place depuis la liste, ou passez outre avec un motif", 10*time.Second)
	bookable()
	b.do("waiting list override", chromedpClick(book+` input[name="override_waitlist"]`))
	b.click(`section[@aria-labelledby="s-book"]//button`, "Réserver")
	b.waitText("#fam-outstanding", "3,60 €", 10*time.Second)
	var overridden uuid.UUID
	w.scan(t, `SELECT r.id FROM reservations r JOIN service_days d ON d.id = r.service_day_id
		WHERE r.child_id = $1 AND d.service_id = $2 AND d.day = $3 AND r.status = 'confirmed'`, []any{emma, w.service, listed}, &overridden)
	// Given back (in time, the price returned) so that the walk's money stays as it was.
	w.s.login("agent@demo.enfance.test", "demo-staff-2026").do(http.MethodPost, "/api/v1/admin/reservations/"+overridden.String()+"/cancel",
		map[string]any{"reason": "essai de la liste d'attente", "credit": true}, http.StatusOK, nil)
	bookable()
	b.do("deadline override back", chromedpClick(book+` input[name="override_deadline"]`))
	b.do("waiting list override off", chromedpClick(book+` input[name="override_waitlist"]`))

	res := `section[aria-labelledby="fam-res"]`
	b.setValue(res+` input[name="from"]`, w.past.Format("02/01/2006"))
	b.setValue(res+` input[name="to"]`, ahead.Format("02/01/2006"))
	b.click(`section[@aria-labelledby="fam-res"]//button`, "Afficher")
	b.waitJS("both reservations listed", fmt.Sprintf(`document.querySelectorAll(%s).length === 2`, jsString(res+" tbody tr")), 10*time.Second)
	b.waitText(res+" tbody", "inscription tardive", time.Second)
	b.click(fmt.Sprintf(`section[@aria-labelledby="fam-res"]//tr[contains(., %s)]//button`, xpathString(dayLabelFR(ahead))), "Annuler…")
	b.waitText(res, "Dans les délais", 5*time.Second)
	if !eval[bool](b, `document.querySelector('input[name="credit"]').checked`) {
		t.Error("in time, giving the price back is proposed by default")
	}
	b.shot("05-famille-annulation")
	b.click(`section[@aria-labelledby="fam-res"]//button`, "Confirmer l'annulation")
	b.waitText("#messages", "annulée : 1,20 € retirés du solde dû", 10*time.Second)
	b.waitText(res+" tbody", "Annulée", 10*time.Second)
	b.shot("06-famille-accueil")
	b.phoneShot("06-famille-accueil-telephone")
	// A page of money opened by hand says it is not for the desk.
	b.open("/#/admin/facturation")
	b.waitText("main", "réservée aux régisseurs et aux administrateurs", 10*time.Second)
}

// waitMail waits for an e-mail to `to` holding `want` in the API's outbox.
func (w *boWalk) waitMail(t *testing.T, to, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(w.mailDir, "*.eml"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			if strings.Contains(string(raw), "To: <"+to+">") || strings.Contains(string(raw), "To: "+to) {
				if strings.Contains(strings.ReplaceAll(string(raw), "=\r\n", ""), want) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no e-mail to %s holding %q in the outbox (%d files)", to, want, len(files))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *boWalk) financeAttendance(t *testing.T) {
	if w.family == uuid.Nil {
		t.Skip("needs the family of the previous step")
	}
	b := newBrowser(t, w.s.api, "bo-finances")
	b.login("finance@demo.enfance.test", "demo-staff-2026", "Familles")
	b.open("/#/admin/familles/" + w.family.String())
	b.waitText("#page-title", "Famille Durand", 10*time.Second)
	// Cash at the desk: pays the 1,20 € owed for last month's day, the rest to the cagnotte.
	desk := `section[aria-labelledby="s-desk"]`
	b.typeIn(desk+` input[name="amount_cents"]`, "10")
	b.typeIn(desk+` input[name="reference"]`, "Quittance 0042")
	b.click(`section[@aria-labelledby="s-desk"]//button`, "Enregistrer le règlement")
	b.waitText("#messages", "Règlement de 10,00 € enregistré", 10*time.Second)
	b.waitText("#fam-outstanding", "0,00 €", 5*time.Second)
	b.waitText("#fam-credit", "8,80 €", 5*time.Second)
	// The money history, each movement with the day it concerns; on a phone, a
	// stack of cards rather than a table to scroll sideways.
	history := `section[aria-labelledby="fam-history"]`
	b.waitText(history+" table", "Règlement au guichet", 5*time.Second)
	b.waitText(history+" table", "Quittance 0042", time.Second)
	b.shot("07-famille-finances")
	b.phoneShot("07-famille-finances-telephone", history)

	// Finance sets the rule of the garderie: a presence without a reservation costs 0,50 € more.
	b.open("/#/admin/services/" + w.service.String())
	b.waitText("#page-title", "Garderie du soir", 10*time.Second)
	if eval[bool](b, `!!document.querySelector('section[aria-labelledby="svc-generate"]') || [...document.querySelectorAll('a')].some(a => a.textContent.includes('Modifier le service'))`) {
		t.Error("finance sees the admin's service editing")
	}
	b.setSelect(`select[name="unbooked"]`, "surcharge")
	b.typeIn(`input[name="surcharge_cents"]`, "0,50")
	b.click("button", "Enregistrer la règle")
	b.waitText("#messages", "présence sans réservation facturée au tarif de la famille, majoré de 0,50 €", 10*time.Second)

	// The sheet of last month's day: Emma booked but absent, Noah there without a booking.
	b.open(fmt.Sprintf("/#/admin/journee?service=%s&date=%s", w.service, w.past.Format(time.DateOnly)))
	b.waitText("#day-title", "Garderie du soir", 10*time.Second)
	b.waitText("main table", "DURAND Emma", 5*time.Second)
	b.waitText("main table", "Allergies : arachide", time.Second)
	b.waitText("main table", "Josette Durand (grand-mère)", time.Second)
	b.shot("08-liste-du-jour")
	b.phoneShot("08-liste-du-jour-telephone")
	if got := eval[string](b, `fetch(document.querySelector('a[href$="children.pdf"]').href).then(r => r.status + ' ' + r.headers.get('content-type'))`); got != "200 application/pdf" {
		t.Errorf("the day's list PDF: %s", got)
	}
	if got := eval[string](b, `fetch(document.querySelector('a[href$="children.csv"]').href).then(r => r.text())`); !strings.Contains(got, "Durand;Emma;CE2;École Jules Ferry;arachide") {
		t.Errorf("the day's list CSV: %q", got)
	}
	// Emma stays unticked: absent. Saved.
	b.click("button", "Enregistrer le pointage")
	b.waitText("#messages", "Pointage enregistré : 0 présent(s), 1 absent(s)", 10*time.Second)
	b.waitText("main table", "Absent", 5*time.Second)
	// Noah, found by name, present without a reservation, with the reason.
	b.typeIn(`input[name="child_q"]`, "noah")
	b.typeIn(`input[name="unbooked_reason"]`, "Oubli de réservation")
	b.click("button", "Chercher")
	b.waitText("ul.found", "Noah Durand", 10*time.Second)
	b.click(`ul[contains(@class,"found")]//button`, "Noter présent")
	b.waitText("#messages", "Noah Durand noté(e) présent(e) sans réservation : 1,70 € ajoutés au solde dû de la famille", 10*time.Second)
	b.waitText(".unbooked table", "Oubli de réservation", 5*time.Second)
	b.shot("09-pointage")
	b.phoneShot("09-pointage-telephone")
	if n := w.count(t, `SELECT count(*) FROM attendances WHERE family_id = $1 AND day = $2 AND ((status = 'absent' AND reservation_id IS NOT NULL) OR (status = 'present' AND reservation_id IS NULL AND charged_cents = 170))`,
		w.family, w.past); n != 2 {
		t.Fatalf("%d attendances as ticked, want Emma absent and Noah present without a reservation", n)
	}

	// The week's numbers of that day, for the kitchen.
	b.click("a", "Chiffres de la semaine")
	b.waitText("#page-title", "Chiffres de la semaine", 10*time.Second)
	b.waitText("main table", "Garderie du soir", 5*time.Second)
	b.waitText("main table", "pointés : 1 présent (dont 1 sans réservation), 1 absent", 5*time.Second)
	b.both("10-semaine")
}

func (w *boWalk) financeInvoice(t *testing.T) {
	if w.family == uuid.Nil || w.past.IsZero() {
		t.Skip("needs the attendance of the previous step")
	}
	b := newBrowser(t, w.s.api, "bo-facture")
	b.login("finance@demo.enfance.test", "demo-staff-2026", "Familles")
	b.click(`nav//a`, "Facturation")
	b.waitText("#page-title", "Facturation", 10*time.Second)
	if v := eval[string](b, `document.querySelector('input[name="month"]').value`); v != w.month {
		t.Fatalf("the month proposed is %q, want %s", v, w.month)
	}
	b.click("button", "Lancer la facturation")
	b.waitText("#run-status", "Terminée", 40*time.Second)
	b.open("/#/admin/familles/" + w.family.String())
	b.waitText("#page-title", "Famille Durand", 10*time.Second)
	inv := `section[aria-labelledby="s-invoices"]`
	b.waitText(inv, "Facture "+ofMonthFR(w.month), 10*time.Second)
	b.waitText(inv+" table", "Absence non annulée", 5*time.Second)
	b.waitText(inv+" table", "Présence sans réservation", time.Second)
	b.waitText(inv+" table", "Oubli de réservation (tarif majoré)", time.Second)
	b.waitText(inv+" table", "1,70 €", time.Second)
	eval[bool](b, fmt.Sprintf(`document.querySelector(%s).scrollIntoView(), true`, jsString(inv)))
	b.shot("11-facture-du-mois")
	b.phoneShot("11-facture-du-mois-telephone")
	if got := eval[string](b, fmt.Sprintf(`fetch(document.querySelector(%s).href).then(r => r.status + ' ' + r.headers.get('content-type'))`, jsString(inv+` a[href$=".pdf"]`))); got != "200 application/pdf" {
		t.Errorf("the invoice's PDF: %s", got)
	}
	csv := eval[string](b, fmt.Sprintf(`fetch('/api/v1/admin/exports/%s.csv').then(r => r.text())`, w.month))
	for _, want := range []string{"absence;" + w.past.Format("02/01/2006") + ";FAC-", "presence_non_reservee;" + w.past.Format("02/01/2006") + ";FAC-", "Noah Durand", ";1,70;"} {
		if !strings.Contains(csv, want) {
			t.Errorf("the month's export lacks %q:\n%s", want, csv)
		}
	}
}

func (w *boWalk) adminPages(t *testing.T) {
	b := newBrowser(t, w.s.api, "bo-admin2")
	b.login("admin@demo.enfance.test", "demo-staff-2026", "Familles")
	b.click(`nav//a`, "Utilisateurs")
	b.waitText("main table", "agent@demo.enfance.test", 10*time.Second)
	b.typeIn(`input[name="login"]`, "nouvelle.regie@ville.test")
	b.typeIn(`input[name="display_name"]`, "Nouvelle régie")
	b.setSelect(`select[name="role"]`, "finance")
	b.click("button", "Créer le compte")
	b.waitText("#messages", "Compte nouvelle.regie@ville.test créé (Régisseur (finances))", 10*time.Second)
	w.waitMail(t, "nouvelle.regie@ville.test", "/#/set-password?token=")
	b.both("12-utilisateurs")

	b.click(`nav//a`, "Collectivité")
	b.waitText("#payfip-mode", "Mode test", 10*time.Second)
	b.do("choose W", chromedpClick(`#saisie-W`))
	b.click("button", "Changer les paramètres PayFiP")
	b.waitText("#messages", "Indiquez votre mot de passe", 5*time.Second)
	b.typeIn(`input[name="current_password"]`, "demo-staff-2026")
	b.click("button", "Changer les paramètres PayFiP")
	b.waitText("#messages", "Paramètres PayFiP enregistrés : numéro client 123456, mode production", 10*time.Second)
	b.waitText("#payfip-mode", "les paiements en ligne sont réels", 5*time.Second)
	b.both("13-collectivite")

	b.open("/#/admin/journal?famille=" + w.family.String())
	b.waitText("main table", "Famille créée", 10*time.Second)
	b.waitText("main table", "Présence sans réservation", 5*time.Second)
	b.waitText("main table", "agent@demo.enfance.test", time.Second)
	w.journalReadable(t, b)
	// The reservations the desk booked and cancelled name Emma and the garderie,
	// the cancellation too (its record holds neither: the API finds them through
	// the reservation).
	for _, action := range []string{"Réservation par l'accueil", "Annulation par l'accueil"} {
		text := w.journalRow(t, b, action)
		for _, want := range []string{"Enfant : Emma Durand", "Service : Garderie du soir"} {
			if !strings.Contains(text, want) {
				t.Errorf("the log's line %q lacks %q:\n%s", action, want, text)
			}
		}
	}
	b.both("14-journal")
	// The days the admin opened for the garderie: who, which service, the period,
	// the capacity and how many days.
	var adminID uuid.UUID
	var opened int
	w.scan(t, `SELECT u.id, (SELECT count(*) FROM service_days WHERE service_id = $1) FROM users u WHERE u.login = 'admin@demo.enfance.test'`, []any{w.service}, &adminID, &opened)
	b.open("/#/admin/journal?agent=" + adminID.String())
	row := `//table//tr[td[contains(., "Jours du service ouverts sur une période")]]`
	b.waitJS("the generation in the log", fmt.Sprintf(`!!document.evaluate(%s, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue`, jsString(row)), 10*time.Second)
	text := eval[string](b, fmt.Sprintf(`%s(document.evaluate(%s, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.innerText)`, jsNorm, jsString(row)))
	for _, want := range []string{"admin@demo.enfance.test", "Nom : Garderie du soir", "Du : " + w.opened[0], "Au : " + w.opened[1], "Capacité : 30", fmt.Sprintf("Jours ouverts : %d", opened), "voir le service"} {
		if !strings.Contains(text, want) {
			t.Errorf("the log's line of the days opened lacks %q:\n%s", want, text)
		}
	}
	b.both("14-journal-jours-ouverts")
	// The garderie created and edited, and its two days changed, read in French:
	// weekdays, deadlines, the price grid, the offer's hold; no raw field names.
	for action, wants := range map[string][]string{
		"Service créé": {"Nom : Garderie du soir", "Code : garderie", "Description : 16h30 – 18h30, école Jules Ferry",
			"Jours : lun., mar., jeu., ven.", "Réservation : J-2 avant 10h00 (jours ouvrés)", "Annulation : J-2 avant 10h00 (jours ouvrés)",
			"Enfants admis : tous les enfants", "Tarifs : QF 0–700 : 1,20 € ; 701 et plus : 2,40 €", "Place proposée gardée : 24 h",
			"Ouvert aux réservations : oui", "voir le service"},
		"Service modifié": {"Jours : lun., mar., jeu., ven. → lun., mar., mer., jeu., ven.",
			"Réservation : J-2 avant 10h00 (jours ouvrés) → J-3 avant 10h00 (jours ouvrés)",
			"Tarifs : QF 0–700 : 1,20 € ; 701 et plus : 2,40 € → QF 0–700 : 1,20 € ; 701 et plus : 2,60 €",
			"Place proposée gardée : 24 h → 48 h", "voir le service"},
		"Jours du service modifiés": {capitalizeFR(w.resized) + " : capacité 30 → 25", capitalizeFR(w.closed) + " : ouvert → fermé", "voir le service"},
	} {
		text := w.journalRow(t, b, action)
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("the log's line %q lacks %q:\n%s", action, want, text)
			}
		}
		for _, raw := range []string{"Annulation : J-2 avant 10h00 (jours ouvrés) →", "Enfants admis : tous les enfants →"} {
			if action == "Service modifié" && strings.Contains(text, raw) {
				t.Errorf("the log's line %q shows an unchanged field (%q):\n%s", action, raw, text)
			}
		}
	}
	w.journalReadable(t, b)

	b.click(`nav//a`, "Services")
	b.click(`main//a`, "Fermetures")
	b.waitText("main table", "Vacances de Noël", 10*time.Second)
	b.both("15-fermetures")
	b.click(`nav//a`, "Familles")
	b.typeIn(`input[name="q"]`, "jules ferry")
	b.click("button", "Rechercher")
	b.waitText("main table", "Durand", 10*time.Second)
	b.both("16-recherche")
}

// journalRow waits for the log's newest line of an action ("Service créé") and
// returns its text, spaces normalised.
func (w *boWalk) journalRow(t *testing.T, b *browser, action string) string {
	t.Helper()
	row := fmt.Sprintf(`//table//tr[td[normalize-space(.) = %s]]`, xpathString(action))
	b.waitJS(action+" in the log", fmt.Sprintf(`!!document.evaluate(%s, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue`, jsString(row)), 10*time.Second)
	return eval[string](b, fmt.Sprintf(`%s(document.evaluate(%s, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.innerText)`, jsNorm, jsString(row)))
}

// journalReadable checks that every entry of the audit log's page reads in French:
// each field is named in words (a raw key such as prices or days_before is not
// capitalised), no value is an unread "…" or "[object Object]", and no line
// shows as changed a field that was empty and stays so.
func (w *boWalk) journalReadable(t *testing.T, b *browser) {
	t.Helper()
	raw := eval[[]string](b, `[...document.querySelectorAll('.audit-table .changes .field-name')].map((e) => e.textContent).filter((n) => !/^[A-ZÀ-Ý]/.test(n))`)
	if len(raw) > 0 {
		t.Errorf("the audit log shows raw field names: %q", raw)
	}
	text := eval[string](b, `document.querySelector('.audit-table').innerText`)
	for _, bad := range []string{"…", "[object", "undefined", "NaN", "— → —"} {
		if strings.Contains(text, bad) {
			t.Errorf("the audit log shows %q:\n%s", bad, text)
		}
	}
}

// capitalizeFR is the pages' capitalize: "jeudi 5 mars 2026" → "Jeudi 5 mars 2026".
func capitalizeFR(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return s
	}
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// dayLabelFR is how the pages write a day: "jeudi 3 décembre 2026".
func dayLabelFR(d time.Time) string {
	days := []string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	n := fmt.Sprint(d.Day())
	if d.Day() == 1 {
		n = "1er"
	}
	return fmt.Sprintf("%s %s %s %d", days[d.Weekday()], n, frenchMonths[d.Month()-1], d.Year())
}

// ofMonthFR is "d'octobre 2026", "de novembre 2026".
func ofMonthFR(month string) string {
	m := monthTitle(month)
	if strings.ContainsRune("aeiouyéèâ", []rune(m)[0]) {
		return "d'" + m
	}
	return "de " + m
}
