package waitlist_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/waitlist"
)

func TestJoinOnlyAFullDayAndSeeTheRank(t *testing.T) {
	f := newFixture(t, 2)
	ks := f.families(4)

	_, err := f.lists.Join(f.ctx, ks[0].fam, ks[0].user, f.item(ks[0], f.day))
	if r := refusedWith(t, err); r != waitlist.ReasonNotFull {
		t.Fatalf("joining a day with places: %q, want not_full", r)
	}
	f.fill(f.day)
	f.check(f.day, 2, 0)

	first, second := f.join(ks[0], f.day), f.join(ks[1], f.day)
	if first.Status != waitlist.StatusWaiting || *first.Rank != 1 || *second.Rank != 2 {
		t.Fatalf("ranks %v %v", *first.Rank, *second.Rank)
	}
	_, err = f.lists.Join(f.ctx, ks[0].fam, ks[0].user, f.item(ks[0], f.day))
	if r := refusedWith(t, err); r != waitlist.ReasonAlreadyWaiting {
		t.Errorf("joining twice: %q", r)
	}
	// Another family's child is not the family's to put on a list.
	_, err = f.lists.Join(f.ctx, ks[0].fam, ks[0].user, f.item(ks[2], f.day))
	if r := refusedWith(t, err); r != cart.ReasonNotYourChild {
		t.Errorf("another family's child: %q", r)
	}
	f.check(f.day, 2, 2)

	// The calendar says full, with the child's rank on the list.
	days, err := f.carts.Calendar(f.ctx, ks[1].fam, ks[1].child, f.service, "2026-12")
	f.must(err)
	for _, d := range days {
		if d.Date == "2026-12-16" {
			if d.State != "full" || d.Waitlist == nil || d.Waitlist.Status != "waiting" || *d.Waitlist.Rank != 2 {
				t.Errorf("calendar of the 16th: %+v %+v", d, d.Waitlist)
			}
		}
	}
	// Leaving moves the next up; leaving twice is a no-op.
	left, err := f.lists.Leave(f.ctx, ks[0].fam, first.ID)
	if err != nil || left.Entry.Status != waitlist.StatusLeft || left.Freed != nil {
		t.Fatalf("leave: %+v %v", left, err)
	}
	if _, err := f.lists.Leave(f.ctx, ks[0].fam, first.ID); err != nil {
		t.Errorf("leaving twice: %v", err)
	}
	if r := f.rank(ks[1], second.ID); r != 1 {
		t.Errorf("rank after the first left: %d, want 1", r)
	}
	// Another family cannot leave on its behalf.
	if _, err := f.lists.Leave(f.ctx, ks[2].fam, second.ID); !errors.Is(err, waitlist.ErrNotFound) {
		t.Errorf("another family leaving: %v", err)
	}
	f.check(f.day, 2, 1)

	// Past the booking deadline the list takes nobody.
	f.clock.Set(at(2026, 12, 14, 10, 0))
	_, err = f.lists.Join(f.ctx, ks[3].fam, ks[3].user, f.item(ks[3], f.day))
	if r := refusedWith(t, err); r != cart.ReasonDeadlinePassed {
		t.Errorf("after the deadline: %q", r)
	}
}

func TestJoinAMonthsFullDays(t *testing.T) {
	f := newFixture(t, 1)
	k := f.families(1)[0]
	full := []time.Time{f.day, f.day.AddDate(0, 0, 7)} // 16 and 23 December
	for _, d := range full {
		f.fill(d)
	}
	res, err := f.lists.JoinMonth(f.ctx, k.fam, k.user, k.child, f.service, "2026-12")
	f.must(err)
	if len(res.Joined) != 2 || res.Joined[0].Day != full[0] || res.Joined[1].Day != full[1] {
		t.Fatalf("joined %+v", res.Joined)
	}
	// The other Wednesdays: the 2nd and 9th have places (not_full), the 30th too.
	reasons := map[string]string{}
	for _, s := range res.Skipped {
		reasons[s.Date] = s.Reason
	}
	for _, d := range []string{"2026-12-02", "2026-12-09", "2026-12-30"} {
		if reasons[d] != waitlist.ReasonNotFull {
			t.Errorf("%s skipped with %q, want not_full", d, reasons[d])
		}
	}
	// Again: every full day is already joined.
	again, err := f.lists.JoinMonth(f.ctx, k.fam, k.user, k.child, f.service, "2026-12")
	f.must(err)
	if len(again.Joined) != 0 {
		t.Errorf("joined twice: %+v", again.Joined)
	}
	f.check(f.day, 1, 1)
}

// A freed place belongs to the list: neither a family nor staff (without an
// override) can take it; the offer goes to the first child waiting, as a held
// line of its family's cart, for the service's 24 h.
func TestAFreedPlaceGoesToTheFirstChildWaiting(t *testing.T) {
	f := newFixture(t, 2)
	booked := f.fill(f.day)
	ks := f.families(4)
	e1, e2, e3 := f.join(ks[0], f.day), f.join(ks[1], f.day), f.join(ks[2], f.day)

	holder := cart.Family{OrgID: f.org, ID: booked[0].FamilyID}
	if _, err := f.carts.Cancel(f.ctx, holder, booked[0].ID); err != nil {
		t.Fatal(err)
	}
	f.check(f.day, 1, 3)
	_, err := f.carts.AddItems(f.ctx, ks[3].fam, []cart.Item{f.item(ks[3], f.day)})
	if r := refusedWith(t, err); r != cart.ReasonFull {
		t.Errorf("a family taking the freed place: %q, want full", r)
	}
	_, err = f.carts.BookOnBehalf(f.ctx, f.staff, ks[3].fam.ID, cart.StaffBooking{Items: []cart.Item{f.item(ks[3], f.day)}})
	if r := refusedWith(t, err); r != cart.ReasonWaitlist {
		t.Errorf("staff taking the freed place: %q, want waitlist", r)
	}

	res, err := f.lists.OfferFreePlaces(f.ctx, f.serviceDay(f.day).ID)
	f.must(err)
	if len(res.Made) != 1 || res.Made[0].EntryID != e1.ID || !res.Made[0].CartCreated {
		t.Fatalf("offers %+v", res.Made)
	}
	if want := at(2026, 12, 1, 9, 0); !res.Made[0].ExpiresAt.Equal(want) {
		t.Errorf("offer expires %s, want %s", res.Made[0].ExpiresAt, want)
	}
	if res.State.Waiting != 2 || len(res.State.Offers) != 1 || !res.State.Deadline.Equal(at(2026, 12, 14, 10, 0)) {
		t.Errorf("state %+v", res.State)
	}
	f.check(f.day, 2, 2)
	// The offer is a line of the family's cart like any other, at its price.
	v, err := f.carts.Get(f.ctx, ks[0].fam)
	f.must(err)
	if len(v.Lines) != 1 || v.Lines[0].Day != f.day || v.Lines[0].PriceCents != 1200 || v.Totals.TotalDueCents != 1200 {
		t.Fatalf("cart %+v", v)
	}
	offers, err := f.lists.CartOffers(f.ctx, v.Cart.ID)
	f.must(err)
	if o := offers[v.Lines[0].ID]; o.EntryID != e1.ID || !o.ExpiresAt.Equal(res.Made[0].ExpiresAt) {
		t.Errorf("cart offers %+v", offers)
	}
	if r := f.rank(ks[1], e2.ID); r != 1 {
		t.Errorf("second's rank %d, want 1", r)
	}
	if r := f.rank(ks[2], e3.ID); r != 2 {
		t.Errorf("third's rank %d, want 2", r)
	}
	// Nothing more is free: a second call offers nothing.
	again, err := f.lists.OfferFreePlaces(f.ctx, f.serviceDay(f.day).ID)
	if err != nil || len(again.Made) != 0 {
		t.Fatalf("second call: %+v %v", again.Made, err)
	}

	// Paid in time: accepted; the lapse that comes later finds it so.
	f.pay(ks[0])
	if e := f.entry(e1.ID); e.Status != waitlist.StatusAccepted {
		t.Errorf("paid offer: %s", e.Status)
	}
	f.clock.Set(at(2026, 12, 1, 9, 0))
	lapse, err := f.lists.Lapse(f.ctx, e1.ID)
	if err != nil || lapse.Outcome != waitlist.LapseAccepted || lapse.Freed != nil {
		t.Errorf("lapse of a paid offer: %+v %v", lapse, err)
	}
	f.check(f.day, 2, 2)
}

// An offer not paid in time frees its place exactly once, and the next child
// gets it; declining and the cart's own expiry end offers too.
func TestOffersLapseOnceAndPassOn(t *testing.T) {
	f := newFixture(t, 1)
	booked := f.fill(f.day)
	ks := f.families(3)
	e1, e2, e3 := f.join(ks[0], f.day), f.join(ks[1], f.day), f.join(ks[2], f.day)
	day := f.serviceDay(f.day).ID
	if _, err := f.carts.CancelOnBehalf(f.ctx, f.staff, booked[0].ID, cart.StaffCancel{Reason: "déménagement"}); err != nil {
		t.Fatal(err)
	}
	offer := func() waitlist.Offered {
		t.Helper()
		res, err := f.lists.OfferFreePlaces(f.ctx, day)
		f.must(err)
		if len(res.Made) != 1 {
			t.Fatalf("offers %+v", res.Made)
		}
		return res.Made[0]
	}
	if o := offer(); o.EntryID != e1.ID {
		t.Fatalf("first offer to %s", o.EntryID)
	}
	// Not due yet: nothing happens.
	if res, err := f.lists.Lapse(f.ctx, e1.ID); err != nil || res.Outcome != waitlist.LapseNotDue {
		t.Fatalf("early lapse %+v %v", res, err)
	}
	f.clock.Set(at(2026, 12, 1, 9, 0))
	res, err := f.lists.Lapse(f.ctx, e1.ID)
	if err != nil || res.Outcome != waitlist.LapseExpired || res.Freed == nil || *res.Freed != day {
		t.Fatalf("lapse %+v %v", res, err)
	}
	if res, err := f.lists.Lapse(f.ctx, e1.ID); err != nil || res.Outcome != waitlist.LapseClosed {
		t.Fatalf("second lapse %+v %v", res, err)
	}
	f.check(f.day, 0, 2)
	if e := f.entry(e1.ID); e.Status != waitlist.StatusExpired {
		t.Errorf("lapsed entry %s", e.Status)
	}
	v, err := f.carts.Get(f.ctx, ks[0].fam)
	f.must(err)
	if len(v.Lines) != 0 {
		t.Errorf("the lapsed offer is still in the cart: %+v", v.Lines)
	}

	// The second declines by removing the line from its cart.
	if o := offer(); o.EntryID != e2.ID {
		t.Fatalf("second offer to %s", o.EntryID)
	}
	v, err = f.carts.Get(f.ctx, ks[1].fam)
	f.must(err)
	freed, err := f.carts.RemoveItem(f.ctx, ks[1].fam, v.Lines[0].ID)
	if err != nil || freed != day {
		t.Fatalf("decline: %s %v", freed, err)
	}
	if e := f.entry(e2.ID); e.Status != waitlist.StatusLeft {
		t.Errorf("declined entry %s", e.Status)
	}
	f.check(f.day, 0, 1)

	// The third's offer ends with its cart.
	if o := offer(); o.EntryID != e3.ID {
		t.Fatalf("third offer to %s", o.EntryID)
	}
	v, err = f.carts.Get(f.ctx, ks[2].fam)
	f.must(err)
	f.must(f.acts.ExpireCart(f.ctx, v.Cart.ID))
	if e := f.entry(e3.ID); e.Status != waitlist.StatusExpired {
		t.Errorf("offer of an expired cart: %s", e.Status)
	}
	f.check(f.day, 0, 0)
	if res, err := f.lists.OfferFreePlaces(f.ctx, day); err != nil || len(res.Made) != 0 || res.State.Waiting != 0 {
		t.Errorf("nobody left: %+v %v", res, err)
	}
	// Nobody waits: the place is anyone's again.
	k := f.families(1)[0]
	if _, err := f.carts.AddItems(f.ctx, k.fam, []cart.Item{f.item(k, f.day)}); err != nil {
		t.Errorf("the place after the list: %v", err)
	}
	f.check(f.day, 1, 0)
}

// Declining through the list itself: DELETE /waitlist/{id} of an offer.
func TestLeavingWithAnOfferDeclinesIt(t *testing.T) {
	f := newFixture(t, 1)
	booked := f.fill(f.day)
	ks := f.families(2)
	e1 := f.join(ks[0], f.day)
	f.join(ks[1], f.day)
	if _, err := f.carts.CancelOnBehalf(f.ctx, f.staff, booked[0].ID, cart.StaffCancel{}); err != nil {
		t.Fatal(err)
	}
	day := f.serviceDay(f.day).ID
	_, err := f.lists.OfferFreePlaces(f.ctx, day)
	f.must(err)

	// While the cart is being paid the offer stays.
	v, err := f.carts.Get(f.ctx, ks[0].fam)
	f.must(err)
	f.must(f.q.SetCartStatus(f.ctx, db.SetCartStatusParams{ID: v.Cart.ID, Status: "checking_out"}))
	if _, err := f.lists.Leave(f.ctx, ks[0].fam, e1.ID); !errors.Is(err, cart.ErrNotOpen) {
		t.Fatalf("leaving while paying: %v", err)
	}
	f.must(f.q.SetCartStatus(f.ctx, db.SetCartStatusParams{ID: v.Cart.ID, Status: "open"}))
	left, err := f.lists.Leave(f.ctx, ks[0].fam, e1.ID)
	if err != nil || left.Freed == nil || *left.Freed != day || left.Entry.Status != waitlist.StatusLeft {
		t.Fatalf("decline: %+v %v", left, err)
	}
	f.check(f.day, 0, 1)
	if v, _ := f.carts.Get(f.ctx, ks[0].fam); len(v.Lines) != 0 {
		t.Errorf("declined offer still in the cart")
	}
}

// An offer never outlives the day's booking deadline, nor the cart it sits in.
func TestOfferExpiryIsCappedByTheDeadlineAndTheCart(t *testing.T) {
	f := newFixture(t, 1)
	booked := f.fill(f.day)
	ks := f.families(2)
	e1 := f.join(ks[0], f.day)
	e2 := f.join(ks[1], f.day)
	day := f.serviceDay(f.day).ID

	// Sunday 13 December 20:00: 24 h would end after the Monday 10:00 deadline.
	f.clock.Set(at(2026, 12, 13, 20, 0))
	if _, err := f.carts.CancelOnBehalf(f.ctx, f.staff, booked[0].ID, cart.StaffCancel{Reason: "malade"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.lists.OfferFreePlaces(f.ctx, day)
	f.must(err)
	if len(res.Made) != 1 || !res.Made[0].ExpiresAt.Equal(at(2026, 12, 14, 10, 0)) {
		t.Fatalf("offer %+v, want it to end at the deadline", res.Made)
	}
	// At the deadline it lapses, and the freed place is offered to nobody.
	f.clock.Set(at(2026, 12, 14, 10, 0))
	if r, err := f.lists.Lapse(f.ctx, e1.ID); err != nil || r.Outcome != waitlist.LapseExpired {
		t.Fatalf("lapse %+v %v", r, err)
	}
	if res, err := f.lists.OfferFreePlaces(f.ctx, day); err != nil || len(res.Made) != 0 {
		t.Fatalf("offer after the deadline: %+v %v", res, err)
	}
	// The list closes: the second is told it expired.
	closed, err := f.lists.Close(f.ctx, day)
	if err != nil || len(closed) != 1 || closed[0] != e2.ID {
		t.Fatalf("close %v %v", closed, err)
	}
	if e := f.entry(e2.ID); e.Status != waitlist.StatusExpired {
		t.Errorf("closed entry %s", e.Status)
	}
	if again, err := f.lists.Close(f.ctx, day); err != nil || len(again) != 0 {
		t.Errorf("closing twice: %v %v", again, err)
	}
	f.check(f.day, 0, 0)
}

func TestOfferIntoACartExpiringSoonEndsWithIt(t *testing.T) {
	f := newFixture(t, 1)
	booked := f.fill(f.day)
	k := f.families(1)[0]
	other := f.day.AddDate(0, 0, 7)
	// The family's cart was opened 40 hours ago (another day in it): 8 h left.
	f.clock.Set(at(2026, 11, 28, 17, 0))
	if _, err := f.carts.AddItems(f.ctx, k.fam, []cart.Item{f.item(k, other)}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(at(2026, 11, 30, 9, 0))
	e := f.join(k, f.day)
	if _, err := f.carts.CancelOnBehalf(f.ctx, f.staff, booked[0].ID, cart.StaffCancel{}); err != nil {
		t.Fatal(err)
	}
	res, err := f.lists.OfferFreePlaces(f.ctx, f.serviceDay(f.day).ID)
	f.must(err)
	if len(res.Made) != 1 || res.Made[0].EntryID != e.ID || res.Made[0].CartCreated || !res.Made[0].ExpiresAt.Equal(at(2026, 11, 30, 17, 0)) {
		t.Fatalf("offer %+v, want it in the live cart until its expiry", res.Made)
	}
	f.check(f.day, 1, 0)
}

// The next family is paying its cart: the offer waits (its place stays the
// list's) and is made once the cart is open again.
func TestOfferWaitsForACartBeingPaid(t *testing.T) {
	f := newFixture(t, 1)
	booked := f.fill(f.day)
	k := f.families(1)[0]
	if _, err := f.carts.AddItems(f.ctx, k.fam, []cart.Item{f.item(k, f.day.AddDate(0, 0, 7))}); err != nil {
		t.Fatal(err)
	}
	f.join(k, f.day)
	if _, err := f.carts.CancelOnBehalf(f.ctx, f.staff, booked[0].ID, cart.StaffCancel{}); err != nil {
		t.Fatal(err)
	}
	v, err := f.carts.Get(f.ctx, k.fam)
	f.must(err)
	f.must(f.q.SetCartStatus(f.ctx, db.SetCartStatusParams{ID: v.Cart.ID, Status: "checking_out"}))
	day := f.serviceDay(f.day).ID
	res, err := f.lists.OfferFreePlaces(f.ctx, day)
	if err != nil || !res.Busy || len(res.Made) != 0 {
		t.Fatalf("offer into a cart being paid: %+v %v", res, err)
	}
	f.check(f.day, 0, 1)
	other := f.families(1)[0]
	_, err = f.carts.AddItems(f.ctx, other.fam, []cart.Item{f.item(other, f.day)})
	if r := refusedWith(t, err); r != cart.ReasonFull {
		t.Errorf("the waiting place taken by another family: %q", r)
	}
	f.must(f.q.SetCartStatus(f.ctx, db.SetCartStatusParams{ID: v.Cart.ID, Status: "open"}))
	res, err = f.lists.OfferFreePlaces(f.ctx, day)
	if err != nil || res.Busy || len(res.Made) != 1 || res.Made[0].Cart.ID != v.Cart.ID {
		t.Fatalf("offer once open again: %+v %v", res, err)
	}
	f.check(f.day, 1, 0)
}

// Staff reorder the list (the municipality's priorities) and offer by hand,
// audited; a booking of their own on a day with a list needs an override.
func TestStaffReorderOfferByHandAndOverride(t *testing.T) {
	f := newFixture(t, 1)
	f.fill(f.day)
	ks := f.families(4)
	e := []waitlist.Entry{f.join(ks[0], f.day), f.join(ks[1], f.day), f.join(ks[2], f.day)}

	// A stale order (one entry missing) is refused rather than half applied.
	if _, err := f.lists.Reorder(f.ctx, f.staff, f.service, f.day, []uuid.UUID{e[2].ID, e[0].ID}, "parents qui travaillent"); !errors.Is(err, waitlist.ErrListChanged) {
		t.Fatalf("stale order: %v", err)
	}
	if _, err := f.lists.Reorder(f.ctx, f.staff, f.service, f.day, []uuid.UUID{e[2].ID, e[0].ID, e[1].ID}, " "); !errors.Is(err, waitlist.ErrReasonNeeded) {
		t.Fatalf("no reason: %v", err)
	}
	if _, err := f.lists.Reorder(f.ctx, f.staff, f.service, f.day, []uuid.UUID{e[2].ID, e[0].ID, e[1].ID}, "parents qui travaillent"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int32{2, 3, 1} {
		if r := f.rank(ks[i], e[i].ID); r != want {
			t.Errorf("entry %d: rank %d, want %d", i, r, want)
		}
	}
	// Staff of another org see nothing.
	if _, err := f.lists.Day(f.ctx, cart.Staff{OrgID: uuid.New(), UserID: f.staff.UserID}, f.service, f.day); !errors.Is(err, waitlist.ErrNotFound) {
		t.Errorf("another org: %v", err)
	}
	// By hand, to the second in line, on a full day: no place unless one is added.
	if _, err := f.lists.OfferByHand(f.ctx, f.staff, e[0].ID, "situation d'urgence", false); !errors.Is(err, waitlist.ErrNoFreePlace) {
		t.Fatalf("offer without a place: %v", err)
	}
	o, err := f.lists.OfferByHand(f.ctx, f.staff, e[0].ID, "situation d'urgence", true)
	if err != nil || o.EntryID != e[0].ID {
		t.Fatalf("offer by hand: %+v %v", o, err)
	}
	sd := f.serviceDay(f.day)
	if *sd.Capacity != 2 {
		t.Errorf("capacity %d after adding a place, want 2", *sd.Capacity)
	}
	f.check(f.day, 2, 2)
	if got := f.entry(e[0].ID); got.OfferedBy == nil || *got.OfferedBy != f.staff.UserID || got.OfferReason != "situation d'urgence" {
		t.Errorf("offer by hand recorded as %+v", got)
	}
	if _, err := f.lists.OfferByHand(f.ctx, f.staff, e[0].ID, "encore", true); !errors.Is(err, waitlist.ErrNotWaiting) {
		t.Errorf("offering twice: %v", err)
	}
	var audits int
	f.must(f.pool.QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE org_id = $1 AND action IN ('waitlist.reorder', 'waitlist.offer_by_hand') AND actor_id = $2`,
		f.org, f.staff.UserID).Scan(&audits))
	if audits != 2 {
		t.Errorf("%d audit rows, want 2", audits)
	}

	// Staff booking on the day: a place freed while children wait is theirs…
	v, err := f.carts.Get(f.ctx, ks[0].fam)
	f.must(err)
	if _, err := f.carts.RemoveItem(f.ctx, ks[0].fam, v.Lines[0].ID); err != nil {
		t.Fatal(err)
	}
	f.check(f.day, 1, 2)
	item := []cart.Item{f.item(ks[3], f.day)}
	_, err = f.carts.BookOnBehalf(f.ctx, f.staff, ks[3].fam.ID, cart.StaffBooking{Items: item})
	if r := refusedWith(t, err); r != cart.ReasonWaitlist {
		t.Fatalf("staff booking: %q", r)
	}
	if _, err := f.carts.BookOnBehalf(f.ctx, f.staff, ks[3].fam.ID, cart.StaffBooking{Items: item, OverrideWaitlist: true}); !errors.Is(err, cart.ErrReasonRequired) {
		t.Fatalf("override without a reason: %v", err)
	}
	// …unless overridden with a reason; a child of the list booked that way leaves it.
	res, err := f.carts.BookOnBehalf(f.ctx, f.staff, ks[1].fam.ID, cart.StaffBooking{Items: []cart.Item{f.item(ks[1], f.day)}, OverrideWaitlist: true, Reason: "fratrie"})
	if err != nil || len(res) != 1 {
		t.Fatalf("override: %v", err)
	}
	if got := f.entry(e[1].ID); got.Status != waitlist.StatusAccepted {
		t.Errorf("the booked child's entry: %s", got.Status)
	}
	f.check(f.day, 2, 1)
	// The day is full again: an override does not make room.
	_, err = f.carts.BookOnBehalf(f.ctx, f.staff, ks[3].fam.ID, cart.StaffBooking{Items: item, OverrideWaitlist: true, Reason: "urgence"})
	if r := refusedWith(t, err); r != cart.ReasonFull {
		t.Errorf("override on a full day: %q", r)
	}
	f.check(f.day, 2, 1)
}

// Through the activity, staff refusals come with a type and a French message.
func TestOfferByHandRefusalsForTheBackOffice(t *testing.T) {
	f := newFixture(t, 1)
	f.fill(f.day)
	k := f.families(1)[0]
	e := f.join(k, f.day)
	_, err := f.acts.OfferPlaceByHand(f.ctx, activities.OfferByHandInput{EntryID: e.ID, Staff: f.staff, Reason: "urgence"})
	if err == nil || !errorsHasType(err, activities.ErrTypeWaitlistNoPlace) {
		t.Fatalf("no place: %v", err)
	}
	_, err = f.acts.OfferPlaceByHand(f.ctx, activities.OfferByHandInput{EntryID: e.ID, Staff: cart.Staff{OrgID: uuid.New()}, Reason: "urgence"})
	if !errorsHasType(err, activities.ErrTypeWaitlistNotFound) {
		t.Fatalf("another org: %v", err)
	}
}

func errorsHasType(err error, typ string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == typ && appErr.NonRetryable() && appErr.Message() != ""
}

// The families told: the offer's e-mail (what, until when, the link), and at the
// deadline the families still waiting; each once.
func TestOfferAndClosingEmails(t *testing.T) {
	f := newFixture(t, 1)
	outbox := t.TempDir()
	f.acts.Mail = &mail.Outbox{Dir: outbox, From: "Portail <no-reply@enfance.test>"}
	f.acts.PublicURL = "https://portail.ville.test"
	booked := f.fill(f.day)
	ks := f.families(2)
	first, second := f.join(ks[0], f.day), f.join(ks[1], f.day)
	if _, err := f.carts.CancelOnBehalf(f.ctx, f.staff, booked[0].ID, cart.StaffCancel{}); err != nil {
		t.Fatal(err)
	}
	day := f.serviceDay(f.day).ID
	if _, err := f.lists.OfferFreePlaces(f.ctx, day); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		f.must(f.acts.SendWaitlistOffer(f.ctx, first.ID))
	}
	f.clock.Set(at(2026, 12, 14, 10, 0))
	closed, err := f.lists.Close(f.ctx, day)
	f.must(err)
	for range 2 {
		f.must(f.acts.SendWaitlistClosed(f.ctx, closed))
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) != 2 {
		t.Fatalf("e-mails %v, want the offer and the closing", files)
	}
	read := func(name string) string {
		raw, err := os.ReadFile(filepath.Join(outbox, name))
		f.must(err)
		return strings.ReplaceAll(string(raw), "=\r\n", "")
	}
	offer := read("waitlist-offer_" + first.ID.String() + ".eml")
	for _, want := range []string{"mercredi 16 d=C3=A9cembre 2026", "12,00", "mardi 1er d=C3=A9cembre 2026 =C3=A0 09h00", "https://portail.ville.test/#/panier", "famille suivante"} {
		if !strings.Contains(offer, want) {
			t.Errorf("offer e-mail lacks %q:\n%s", want, offer)
		}
	}
	closing := read("waitlist-closed_" + second.ID.String() + ".eml")
	if !strings.Contains(closing, "Aucune place ne s'est lib=C3=A9r=C3=A9e") || !strings.Contains(closing, "rien ne vous est factur=C3=A9") {
		t.Errorf("closing e-mail:\n%s", closing)
	}
}
