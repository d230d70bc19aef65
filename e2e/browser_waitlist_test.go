package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserWaitingList drives the waiting list in Chromium, as a parent and as
// the accueil: a Wednesday is full; the parent joins its list from the booking
// calendar and sees the rank; a place frees, the offer arrives by e-mail (in the
// outbox), its link opens the cart where the place is held, and the parent pays
// it on PayFiP's page. Staff see the day's list, reorder it with a reason and
// open the offer form. Screenshots at desktop and phone width.
func TestBrowserWaitingList(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	holder, holderKid := s.newFamily("Lefebvre")
	mercredi := serviceByCode(holder, "mercredi")
	full := availableDays(holder, holderKid, mercredi.ID, 2)[1]
	s.exec(`UPDATE service_days SET capacity = 1 WHERE service_id = $1 AND day = $2`, mercredi.ID, full.Date)
	holder.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": []map[string]string{{"child_id": holderKid, "service_id": mercredi.ID, "date": full.Date}}}, http.StatusCreated, nil)
	var co checkoutAnswer
	holder.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	payOnPage(t, co.PaymentURL, "P")
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("holder's cart %q", got)
	}
	_, _ = s.newFamily("Garnier") // the parent of the browser: login garnier@famille.test

	b := newBrowser(t, s.api, "liste-attente")
	b.login("garnier@famille.test", "mot-de-passe-Garnier", "Bonjour, famille Garnier")
	b.open("/#/reservations/" + mercredi.ID + "?mois=" + full.Date[:7])
	joinSel := fmt.Sprintf(`button[data-join=%q]`, full.Date)
	b.waitJS("the full day's join button", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(joinSel)), 15*time.Second)
	b.shot("01-jour-complet")
	b.do("join the list", chromedpClick(joinSel))
	b.waitText("#messages", "est au rang 1 sur la liste d'attente", 10*time.Second)
	b.waitJS("the day marked waiting", fmt.Sprintf(`document.querySelector('li.waitlist-day[data-date=%q]')?.classList.contains('waitlist-waiting')`, full.Date), 10*time.Second)
	b.waitJS("the cell says Attente", fmt.Sprintf(`document.querySelector('td.day-waitlist input[data-date=%q]') !== null || [...document.querySelectorAll('td.day-waitlist')].length > 0`, full.Date), 5*time.Second)
	b.shot("02-inscrit-rang-1")
	b.phoneShot("02-inscrit-rang-1-telephone")

	// Two more families join by the API: the staff page will have a list.
	for _, name := range []string{"Moreau", "Roux"} {
		c, kid := s.newFamily(name)
		c.do(http.MethodPost, "/api/v1/waitlist", map[string]string{"child_id": kid, "service_id": mercredi.ID, "date": full.Date}, http.StatusCreated, nil)
	}
	// The home page and the parent's calendar list its lists.
	b.open("/#/")
	b.waitText("#home-waitlist", "Rang 1 sur la liste d'attente", 10*time.Second)
	b.shot("03-accueil-liste")
	b.open("/#/calendrier")
	b.waitText("#my-waitlists", "Rang 1 sur la liste d'attente", 10*time.Second)
	b.shot("03-mes-listes")
	b.phoneShot("03-mes-listes-telephone")

	// A place frees: the offer comes by e-mail, its link opens the cart.
	var res []reservationView
	holder.do(http.MethodGet, "/api/v1/reservations?from="+full.Date+"&to="+full.Date, nil, http.StatusOK, &res)
	holder.do(http.MethodPost, "/api/v1/reservations/"+res[0].ID+"/cancel", nil, http.StatusOK, nil)
	var mail string
	eventually(t, "the offer e-mail in the outbox", func() bool {
		files, _ := filepath.Glob(filepath.Join(s.outbox, "waitlist-offer_*.eml"))
		if len(files) == 1 {
			mail = files[0]
		}
		return mail != ""
	})
	subject, text := readMail(t, mail)
	link := regexp.MustCompile(`https?://\S+/#/panier`).FindString(text)
	if !strings.HasPrefix(subject, "Une place s'est libérée") || link == "" {
		t.Fatalf("offer e-mail %q:\n%s", subject, text)
	}
	b.do("open the e-mail's link", chromedp.Navigate(link))
	b.waitText("#page-title", "Mon panier", 10*time.Second)
	b.waitText("#offer-notice", "Une place s'est libérée pour vous", 10*time.Second)
	b.waitText("table.cart-lines", "Place libérée, gardée jusqu'au", 5*time.Second)
	b.shot("04-panier-place-proposee")
	b.phoneShot("04-panier-place-proposee-telephone")

	// Paid on PayFiP's page: confirmed.
	b.click("button", "Payer")
	b.waitJS("the PayFiP page", `document.title.includes('PayFiP')`, 15*time.Second)
	b.click("button", "Payer par carte")
	b.click(`a[contains(@class,"back")]`, "Retour au site")
	b.waitText("#payment-ok", "Votre paiement a été effectué, vos réservations également !", 30*time.Second)
	b.shot("05-place-payee")
	var status string
	if err := s.pool.QueryRow(ctx, `SELECT e.status FROM waitlist_entries e JOIN families f ON f.id = e.family_id WHERE f.name = 'Garnier'`).Scan(&status); err != nil || status != "accepted" {
		t.Fatalf("Garnier's entry %q (%v), want accepted", status, err)
	}
	b.open("/#/calendrier")
	b.waitText("#my-waitlists", "Place obtenue", 10*time.Second)

	// The accueil: the day's list, reordered with a reason, and the offer form.
	staff := newBrowser(t, s.api, "liste-attente-accueil")
	staff.login("agent@demo.enfance.test", "demo-staff-2026", "Familles")
	staff.open(fmt.Sprintf("/#/admin/services/%s/jours/%s/attente", mercredi.ID, full.Date))
	staff.waitText("#page-title", "Liste d'attente", 10*time.Second)
	staff.waitText("#waitlist-facts", "2 enfants en attente", 10*time.Second)
	staff.waitText("main", "Place obtenue", 5*time.Second)
	staff.shot("01-liste-du-jour")
	staff.phoneShot("01-liste-du-jour-telephone")
	first := eval[string](staff, `document.querySelector('table.waitlist-table button[data-down]').dataset.down`)
	staff.do("move the first down", chromedpClick(fmt.Sprintf(`button[data-down=%q]`, first)))
	staff.typeIn(`input[name="reorder_reason"]`, "parents qui travaillent")
	staff.click("button", "Enregistrer l'ordre")
	staff.waitText("#messages", "Nouvel ordre enregistré", 10*time.Second)
	staff.waitJS("the new order", fmt.Sprintf(`document.querySelector('table.waitlist-table tbody tr:last-child button[data-down]')?.dataset.down === %q`, first), 10*time.Second)
	staff.do("open the offer form", chromedpClick(`table.waitlist-table tbody tr:first-child button[data-offer]`))
	staff.waitText(".offer-form", "Ajouter une place", 5*time.Second)
	staff.shot("02-proposer-une-place")
	staff.typeIn(`input[name="offer_reason"]`, "situation d'urgence")
	staff.click(`div[contains(@class,"offer-form")]//button`, "Proposer la place")
	staff.waitText("#messages", "Place proposée", 15*time.Second)
	staff.waitText("main", "Places proposées", 10*time.Second)
	staff.shot("03-place-proposee-a-la-main")
	// The service's days lead to the list.
	staff.open(fmt.Sprintf("/#/admin/services/%s?mois=%s", mercredi.ID, full.Date[:7]))
	staff.waitText("table.days-table", "Liste d'attente (1)", 10*time.Second)
	staff.shot("04-jours-du-service")
	var offered int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM waitlist_entries WHERE status = 'offered' AND offered_by IS NOT NULL`).Scan(&offered); err != nil || offered != 1 {
		t.Fatalf("%d offers by hand (%v)", offered, err)
	}
}
