package cart_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
)

func TestAddItemsRefusesWithAReasonPerItem(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	other, otherKids := f.family(f.org, 650, "CP")
	staff := cart.Staff{OrgID: f.org, UserID: f.staff}
	cp := f.newService(f.org, "cp-only", func(p *db.CreateServiceParams) { p.EligibleClasses = []string{"CM1"} })
	young := f.newService(f.org, "petits", func(p *db.CreateServiceParams) { v := int32(36); p.MaxAgeMonths = &v })
	unpriced := f.newService(f.org, "sans-tarif", nil)
	if err := f.q.DeleteServicePrices(f.ctx, unpriced); err != nil {
		t.Fatal(err)
	}
	otherOrg := f.newOrg("ailleurs")
	foreign := f.newService(otherOrg, "cantine", nil)

	f.setOpen(f.canteen, date(2026, 12, 4), false)
	f.setCapacity(f.canteen, date(2026, 12, 7), 1)
	if _, err := f.store.AddItems(f.ctx, other, []cart.Item{item(otherKids[0], f.canteen, date(2026, 12, 7))}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, date(2026, 12, 8))}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.BookOnBehalf(f.ctx, staff, fam.ID, cart.StaffBooking{Items: []cart.Item{item(kids[0], f.canteen, date(2026, 12, 10))}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(at(2026, 11, 27, 10, 0)) // 1 December's deadline has just passed

	tests := []struct {
		item cart.Item
		want string
	}{
		{item(kids[0], f.canteen, date(2026, 12, 3)), ""},
		{item(kids[0], f.canteen, date(2026, 12, 1)), cart.ReasonDeadlinePassed},
		{item(kids[0], f.canteen, date(2026, 12, 4)), cart.ReasonClosed},
		{item(kids[0], f.canteen, date(2026, 12, 5)), cart.ReasonClosed},  // a Saturday: no service day
		{item(kids[0], f.canteen, date(2026, 12, 21)), cart.ReasonClosed}, // Christmas holidays
		{item(kids[0], f.canteen, date(2026, 12, 7)), cart.ReasonFull},
		{item(kids[0], f.canteen, date(2026, 12, 8)), cart.ReasonAlreadyInCart},
		{item(kids[0], f.canteen, date(2026, 12, 10)), cart.ReasonAlreadyReserved},
		{item(otherKids[0], f.canteen, date(2026, 12, 3)), cart.ReasonNotYourChild},
		{item(uuid.New(), f.canteen, date(2026, 12, 3)), cart.ReasonNotYourChild},
		{item(kids[0], uuid.New(), date(2026, 12, 3)), cart.ReasonUnknownService},
		{item(kids[0], foreign, date(2026, 12, 3)), cart.ReasonUnknownService},
		{item(kids[0], cp, date(2026, 12, 3)), cart.ReasonNotEligible},
		{item(kids[0], young, date(2026, 12, 3)), cart.ReasonNotEligible},
		{item(kids[0], unpriced, date(2026, 12, 3)), cart.ReasonNoPrice},
		{cart.Item{ChildID: kids[0], ServiceID: f.canteen, Date: "03/12/2026"}, cart.ReasonInvalidDate},
	}
	items := make([]cart.Item, len(tests))
	for i, tt := range tests {
		items[i] = tt.item
	}
	_, err := f.store.AddItems(f.ctx, fam, items)
	var refused *cart.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v, want refusals", err)
	}
	got := map[int]cart.Refusal{}
	for _, r := range refused.Refusals {
		got[r.Index] = r
		if r.Message == "" || r.Message != cart.Message(r.Reason) {
			t.Errorf("item %d: message %q for %s", r.Index, r.Message, r.Reason)
		}
	}
	for i, tt := range tests {
		if got[i].Reason != tt.want {
			t.Errorf("item %d (%s %s): reason %q, want %q", i, tt.item.Date, tt.item.ServiceID, got[i].Reason, tt.want)
		}
	}

	// All or nothing: the good item was not added either.
	f.checkTaken(f.canteen, date(2026, 12, 3), 0)
	v, err := f.store.Get(f.ctx, fam)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Lines) != 1 {
		t.Errorf("cart has %d lines, want the 1 added before", len(v.Lines))
	}

	// Alone, it goes in, at the family's QF price, frozen on the line.
	added, err := f.store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, date(2026, 12, 3))})
	if err != nil {
		t.Fatal(err)
	}
	if len(added.Lines) != 1 || added.Lines[0].PriceCents != 150 {
		t.Fatalf("added %+v, want one line at 150 cents", added.Lines)
	}
	f.checkTaken(f.canteen, date(2026, 12, 3), 1)
}

func TestRemovingALineFreesItsPlace(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	other, otherKids := f.family(f.org, 650, "CP")
	day := date(2026, 12, 3)
	f.setCapacity(f.canteen, day, 1)
	added, err := f.store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, day)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.store.AddItems(f.ctx, other, []cart.Item{item(otherKids[0], f.canteen, day)})
	if r := refusedWith(t, err); r != cart.ReasonFull {
		t.Fatalf("refused with %q, want full", r)
	}
	if _, err := f.store.RemoveItem(f.ctx, other, added.Lines[0].ID); !errors.Is(err, cart.ErrNotFound) {
		t.Errorf("another family removing the line: %v, want ErrNotFound", err)
	}
	if freed, err := f.store.RemoveItem(f.ctx, fam, added.Lines[0].ID); err != nil || freed != f.serviceDay(f.canteen, day).ID {
		t.Fatalf("removed: day %s, %v; want the line's day freed", freed, err)
	}
	f.checkTaken(f.canteen, day, 0)
	if _, err := f.store.AddItems(f.ctx, other, []cart.Item{item(otherKids[0], f.canteen, day)}); err != nil {
		t.Fatalf("the freed place: %v", err)
	}
	f.checkTaken(f.canteen, day, 1)
}
