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
	"go.temporal.io/api/workflowservice/v1"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/password"
	"github.com/enfance/enfance/workflows"
)

type waitlistView struct {
	ID             string     `json:"id"`
	Date           string     `json:"date"`
	Rank           *int       `json:"rank"`
	Status         string     `json:"status"`
	OfferExpiresAt *time.Time `json:"offer_expires_at"`
	CartItemID     string     `json:"cart_item_id"`
}

type offerCartView struct {
	ID     *string `json:"id"`
	Status string  `json:"status"`
	Items  []struct {
		ID             string     `json:"id"`
		Date           string     `json:"date"`
		PriceCents     int64      `json:"price_cents"`
		OfferExpiresAt *time.Time `json:"offer_expires_at"`
	} `json:"items"`
	TotalDueCents int64 `json:"total_due_cents"`
}

// newFamily adds a family of the demo org with one child and a login.
func (s *stack) newFamily(name string) (*apiClient, string) {
	s.t.Helper()
	ctx := context.Background()
	q := db.New(s.pool)
	org, err := q.GetOrgBySlug(ctx, "demo")
	if err != nil {
		s.t.Fatal(err)
	}
	fam, kid := uuid.New(), uuid.New()
	login := strings.ToLower(name) + "@famille.test"
	if err := q.InsertFamily(ctx, db.InsertFamilyParams{ID: fam, OrgID: org.ID, Name: name, Email: login, Qf: 650}); err != nil {
		s.t.Fatal(err)
	}
	birth := time.Date(2018, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := q.InsertMember(ctx, db.InsertMemberParams{ID: kid, OrgID: org.ID, FamilyID: fam, Kind: "child", FirstName: "Enfant " + name, LastName: name,
		BirthDate: &birth, School: "École Jules Ferry", ClassName: "CE1"}); err != nil {
		s.t.Fatal(err)
	}
	hash, err := password.Hash(ctx, "mot-de-passe-"+name)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := q.InsertUser(ctx, db.InsertUserParams{ID: uuid.New(), OrgID: org.ID, Login: login, PasswordHash: hash, Role: "family", FamilyID: &fam}); err != nil {
		s.t.Fatal(err)
	}
	return s.login(login, "mot-de-passe-"+name), kid.String()
}

// entryOf reads the family's entry for date.
func entryOf(c *apiClient, date string) waitlistView {
	c.t.Helper()
	var entries []waitlistView
	c.do(http.MethodGet, "/api/v1/waitlist", nil, http.StatusOK, &entries)
	for _, e := range entries {
		if e.Date == date {
			return e
		}
	}
	c.t.Fatalf("no waiting-list entry for %s: %+v", date, entries)
	return waitlistView{}
}

// The story, end to end with the real Temporal server: a Wednesday at the
// leisure centre is full; three families join its waiting list; a cancellation
// frees a place and the first family gets the offer in its cart (and by e-mail),
// lets it lapse; the second gets it, pays, and is confirmed; the third keeps
// waiting, now first in line. Capacity and the lists' invariants hold throughout,
// and operators find the list in Temporal by its search attributes.
func TestWaitingListOffersAFreedPlaceThenPassesItOn(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	holder, holderKid := s.newFamily("Lefebvre")
	mercredi := serviceByCode(holder, "mercredi")
	full := availableDays(holder, holderKid, mercredi.ID, 2)[1] // a day or two of margin before its deadline
	var dayID uuid.UUID
	if err := s.pool.QueryRow(ctx, `UPDATE service_days SET capacity = 1 WHERE service_id = $1 AND day = $2 RETURNING id`, mercredi.ID, full.Date).Scan(&dayID); err != nil {
		t.Fatal(err)
	}
	// The holder books the last place and pays.
	var cart cartView
	holder.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": []map[string]string{{"child_id": holderKid, "service_id": mercredi.ID, "date": full.Date}}}, http.StatusCreated, &cart)
	var co checkoutAnswer
	holder.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	payOnPage(t, co.PaymentURL, "P")
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("holder's cart %q", got)
	}

	// Three families find the day full and join its list.
	type fam struct {
		c   *apiClient
		kid string
	}
	var fams []fam
	for i, name := range []string{"Garnier", "Moreau", "Roux"} {
		c, kid := s.newFamily(name)
		var days []day
		c.do(http.MethodGet, "/api/v1/children/"+kid+"/calendar?service_id="+mercredi.ID+"&month="+full.Date[:7], nil, http.StatusOK, &days)
		for _, d := range days {
			if d.Date == full.Date && d.State != "full" {
				t.Fatalf("%s sees %s as %s, want full", name, d.Date, d.State)
			}
		}
		var e waitlistView
		c.do(http.MethodPost, "/api/v1/waitlist", map[string]string{"child_id": kid, "service_id": mercredi.ID, "date": full.Date}, http.StatusCreated, &e)
		if e.Status != "waiting" || e.Rank == nil || *e.Rank != i+1 {
			t.Fatalf("%s joined as %+v, want rank %d", name, e, i+1)
		}
		fams = append(fams, fam{c, kid})
	}
	// A day with places is not joined: it is booked.
	var p problemView
	other := availableDays(fams[0].c, fams[0].kid, mercredi.ID, 1)[0]
	fams[0].c.do(http.MethodPost, "/api/v1/waitlist", map[string]string{"child_id": fams[0].kid, "service_id": mercredi.ID, "date": other.Date}, http.StatusConflict, &p)
	if !strings.HasSuffix(p.Type, "/not-full") {
		t.Fatalf("joining a day with places: %+v", p)
	}

	// Offers on this service last a few seconds, so the first one lapses in the test.
	s.exec(`UPDATE services SET waitlist_offer_hold = '6 seconds' WHERE id = $1`, mercredi.ID)

	// The holder cancels in time: the place frees, the first family gets it.
	var res []reservationView
	holder.do(http.MethodGet, "/api/v1/reservations?from="+full.Date+"&to="+full.Date, nil, http.StatusOK, &res)
	holder.do(http.MethodPost, "/api/v1/reservations/"+res[0].ID+"/cancel", nil, http.StatusOK, nil)
	var first waitlistView
	eventually(t, "the first family's offer", func() bool { first = entryOf(fams[0].c, full.Date); return first.Status != "waiting" })
	// Offers from now on hold 24 hours: the second family has time to pay.
	s.exec(`UPDATE services SET waitlist_offer_hold = '24 hours' WHERE id = $1`, mercredi.ID)
	if first.Status != "offered" || first.OfferExpiresAt == nil || first.CartItemID == "" {
		t.Fatalf("first family's entry %+v, want offered (the test must see it before it lapses)", first)
	}
	var offerCart offerCartView
	fams[0].c.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &offerCart)
	if len(offerCart.Items) != 1 || offerCart.Items[0].Date != full.Date || offerCart.Items[0].OfferExpiresAt == nil ||
		!offerCart.Items[0].OfferExpiresAt.Equal(*first.OfferExpiresAt) || offerCart.TotalDueCents != offerCart.Items[0].PriceCents {
		t.Fatalf("first family's cart %+v", offerCart)
	}
	if r := entryOf(fams[1].c, full.Date); r.Status != "waiting" || *r.Rank != 1 {
		t.Fatalf("second family while the first holds the offer: %+v", r)
	}
	// Nobody else can take the held place.
	late, lateKid := s.newFamily("Blanc")
	late.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": []map[string]string{{"child_id": lateKid, "service_id": mercredi.ID, "date": full.Date}}}, http.StatusConflict, &p)

	// The first family lets it lapse: the second gets the offer.
	var second waitlistView
	eventually(t, "the second family's offer", func() bool { second = entryOf(fams[1].c, full.Date); return second.Status == "offered" })
	if e := entryOf(fams[0].c, full.Date); e.Status != "expired" {
		t.Fatalf("first family's entry after the lapse: %+v", e)
	}
	fams[0].c.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &offerCart)
	if len(offerCart.Items) != 0 {
		t.Fatalf("the lapsed offer is still in the first family's cart: %+v", offerCart)
	}
	if left := time.Until(*second.OfferExpiresAt); left < time.Hour {
		t.Fatalf("second offer expires in %s", left)
	}
	// The second family pays its cart: confirmed.
	fams[1].c.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	payOnPage(t, co.PaymentURL, "P")
	if got := s.cartEnds(co.CartID); got != "paid" {
		t.Fatalf("second family's cart %q", got)
	}
	if e := entryOf(fams[1].c, full.Date); e.Status != "accepted" || e.Rank != nil {
		t.Fatalf("second family's entry after paying: %+v", e)
	}
	fams[1].c.do(http.MethodGet, "/api/v1/reservations?from="+full.Date+"&to="+full.Date, nil, http.StatusOK, &res)
	if len(res) != 1 || res[0].Status != "confirmed" {
		t.Fatalf("second family's reservations %+v", res)
	}
	// The third keeps waiting, first in line now.
	if e := entryOf(fams[2].c, full.Date); e.Status != "waiting" || *e.Rank != 1 {
		t.Fatalf("third family's entry: %+v", e)
	}

	// One offer e-mail to each family offered, none to the third.
	for i, want := range []int{1, 1, 0} {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM outbound_emails o JOIN waitlist_entries e ON o.idempotency_key = 'waitlist-offer:' || e.id
			JOIN members m ON m.id = e.child_id WHERE m.id = $1 AND o.sent_at IS NOT NULL`, fams[i].kid).Scan(&n); err != nil || n != want {
			t.Errorf("family %d: %d offer e-mails (%v), want %d", i, n, err, want)
		}
	}
	mails, _ := filepath.Glob(filepath.Join(s.outbox, "waitlist-offer_*.eml"))
	if len(mails) != 2 {
		t.Errorf("%d offer e-mails in the outbox, want 2", len(mails))
	}
	for _, m := range mails {
		subject, text := readMail(t, m)
		if !strings.HasPrefix(subject, "Une place s'est libérée : Mercredis loisirs du ") || !strings.Contains(text, "/#/panier") ||
			!strings.Contains(text, "famille suivante") {
			t.Errorf("offer e-mail %q:\n%s", subject, text)
		}
	}
	s.assertWaitlistInvariants(dayID, 1, 1)

	// Operators find the list in the Temporal UI by its attributes.
	query := fmt.Sprintf(`WorkflowType = %q AND ServiceId = %q AND ServiceDate = %q AND WaitlistLength = 1`, workflows.WaitlistWorkflow, mercredi.ID, full.Date)
	eventually(t, "the list in Temporal's visibility", func() bool {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == workflows.WaitlistWorkflowID(dayID)
	})
}

type reservationView struct {
	ID     string `json:"id"`
	Date   string `json:"date"`
	Status string `json:"status"`
}

// assertWaitlistInvariants checks the day's counters and every list invariant.
func (s *stack) assertWaitlistInvariants(dayID uuid.UUID, taken, waiting int32) {
	s.t.Helper()
	ctx := context.Background()
	q := db.New(s.pool)
	sd, err := q.GetServiceDayByID(ctx, dayID)
	if err != nil {
		s.t.Fatal(err)
	}
	if sd.Taken != taken || sd.Waiting != waiting {
		s.t.Errorf("day: taken %d waiting %d, want %d %d", sd.Taken, sd.Waiting, taken, waiting)
	}
	for name, count := range map[string]func(context.Context, uuid.UUID) (int64, error){
		"waiting-list": q.CountWaitlistMismatches, "capacity": q.CountCapacityMismatches, "overbooked": q.CountOverbookedDays,
	} {
		if n, err := count(ctx, sd.OrgID); err != nil || n != 0 {
			s.t.Errorf("%s invariant: %d violations (%v)", name, n, err)
		}
	}
}

// The back office with the real Temporal server: staff add a child to a full
// day's list for its family, reorder the list, offer a place by hand (one place
// more), and a capacity raised on the day goes to the list by itself.
func TestStaffRunTheWaitingList(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	holder, holderKid := s.newFamily("Lefebvre")
	mercredi := serviceByCode(holder, "mercredi")
	full := availableDays(holder, holderKid, mercredi.ID, 2)[1]
	var dayID uuid.UUID
	if err := s.pool.QueryRow(ctx, `UPDATE service_days SET capacity = 1 WHERE service_id = $1 AND day = $2 RETURNING id`, mercredi.ID, full.Date).Scan(&dayID); err != nil {
		t.Fatal(err)
	}
	holder.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": []map[string]string{{"child_id": holderKid, "service_id": mercredi.ID, "date": full.Date}}}, http.StatusCreated, nil)

	agent := s.login("agent@demo.enfance.test", "demo-staff-2026")
	base := "/api/v1/admin/services/" + mercredi.ID + "/days/" + full.Date + "/waitlist"
	a, aKid := s.newFamily("Garnier")
	b, bKid := s.newFamily("Moreau")
	a.do(http.MethodPost, "/api/v1/waitlist", map[string]string{"child_id": aKid, "service_id": mercredi.ID, "date": full.Date}, http.StatusCreated, nil)
	var famB struct {
		Family struct {
			ID string `json:"id"`
		} `json:"family"`
	}
	b.do(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &famB)
	var joined waitlistView
	agent.do(http.MethodPost, base, map[string]string{"family_id": famB.Family.ID, "child_id": bKid, "reason": "demande au guichet"}, http.StatusCreated, &joined)
	if *joined.Rank != 2 {
		t.Fatalf("joined by staff at rank %v", joined.Rank)
	}
	type staffList struct {
		Capacity *int `json:"capacity"`
		Taken    int  `json:"taken"`
		Waiting  int  `json:"waiting"`
		Entries  []struct {
			ID     string `json:"id"`
			Rank   *int   `json:"rank"`
			Status string `json:"status"`
		} `json:"entries"`
	}
	var l staffList
	agent.do(http.MethodGet, base, nil, http.StatusOK, &l)
	if l.Waiting != 2 || len(l.Entries) != 2 {
		t.Fatalf("day's list %+v", l)
	}
	// B first: a priority of the municipality.
	agent.do(http.MethodPatch, base, map[string]any{"order": []string{l.Entries[1].ID, l.Entries[0].ID}, "reason": "parents qui travaillent"}, http.StatusOK, &l)
	if e := entryOf(b, full.Date); *e.Rank != 1 {
		t.Fatalf("B's rank after the reorder: %v", *e.Rank)
	}
	// By hand, to A (second now), one place more.
	aEntry := entryOf(a, full.Date)
	var p problemView
	agent.do(http.MethodPost, base+"/"+aEntry.ID+"/offer", map[string]any{"reason": "urgence"}, http.StatusConflict, &p)
	if !strings.HasSuffix(p.Type, "/offer-refused") || !strings.Contains(p.Detail, "ajoutez une place") {
		t.Fatalf("offer without a free place: %+v", p)
	}
	agent.do(http.MethodPost, base+"/"+aEntry.ID+"/offer", map[string]any{"reason": "situation d'urgence", "add_place": true}, http.StatusOK, &l)
	if *l.Capacity != 2 || l.Taken != 2 || l.Waiting != 1 {
		t.Fatalf("after the offer by hand: %+v", l)
	}
	var cart offerCartView
	a.do(http.MethodGet, "/api/v1/cart", nil, http.StatusOK, &cart)
	if len(cart.Items) != 1 || cart.Items[0].OfferExpiresAt == nil {
		t.Fatalf("A's cart %+v", cart)
	}
	eventually(t, "the e-mail of the offer by hand", func() bool {
		mails, _ := filepath.Glob(filepath.Join(s.outbox, "waitlist-offer_"+aEntry.ID+".eml"))
		return len(mails) == 1
	})
	// A place more on the day (PUT days): it goes to B by itself.
	agent.do(http.MethodPut, "/api/v1/admin/services/"+mercredi.ID+"/days", map[string]any{"days": []map[string]any{{"date": full.Date, "open": true, "capacity": 3}}}, http.StatusOK, nil)
	eventually(t, "B's offer", func() bool { return entryOf(b, full.Date).Status == "offered" })
	s.assertWaitlistInvariants(dayID, 3, 0)
	var audits int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action IN ('waitlist.join_on_behalf', 'waitlist.reorder', 'waitlist.offer_by_hand')`).Scan(&audits); err != nil || audits != 3 {
		t.Fatalf("%d audit rows (%v), want 3", audits, err)
	}
}
