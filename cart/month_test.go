package cart_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
)

func lineDays(lines []db.CartLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Day.Format(time.DateOnly)
	}
	slices.Sort(out)
	return out
}

func TestMonthToggle(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP", "CM1")
	other, otherKids := f.family(f.org, 650, "CP")
	staff := cart.Staff{OrgID: f.org, UserID: f.staff}

	// December 2026 runs on the 1st, 3, 4, 7, 8, 10, 11, 14, 15, 17 and 18 (the
	// Christmas holidays start on the 19th). Make every kind of day unbookable once.
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
	f.clock.Set(at(2026, 11, 27, 10, 0))

	res, err := f.store.ToggleMonth(f.ctx, fam, kids[0], f.canteen, "2026-12", true)
	if err != nil {
		t.Fatal(err)
	}
	wantAdded := []string{"2026-12-03", "2026-12-11", "2026-12-14", "2026-12-15", "2026-12-17", "2026-12-18"}
	if got := lineDays(res.Added); !slices.Equal(got, wantAdded) {
		t.Errorf("added %v, want %v", got, wantAdded)
	}
	wantSkipped := []cart.Skipped{
		{Date: "2026-12-01", Reason: cart.ReasonDeadlinePassed},
		{Date: "2026-12-04", Reason: cart.ReasonClosed},
		{Date: "2026-12-07", Reason: cart.ReasonFull},
		{Date: "2026-12-08", Reason: cart.ReasonAlreadyInCart},
		{Date: "2026-12-10", Reason: cart.ReasonAlreadyReserved},
	}
	if len(res.Skipped) != len(wantSkipped) {
		t.Fatalf("skipped %+v, want %+v", res.Skipped, wantSkipped)
	}
	for i, w := range wantSkipped {
		if g := res.Skipped[i]; g.Date != w.Date || g.Reason != w.Reason || g.Message != cart.Message(w.Reason) {
			t.Errorf("skipped[%d] = %+v, want %s %s", i, g, w.Date, w.Reason)
		}
	}
	for _, l := range res.Added {
		if l.PriceCents != 150 {
			t.Errorf("line %s at %d cents, want 150", l.Day.Format(time.DateOnly), l.PriceCents)
		}
	}
	f.checkTaken(f.canteen, date(2026, 12, 3), 1)
	f.checkTaken(f.canteen, date(2026, 12, 7), 1)

	// Ticking again adds nothing and says every day is in the cart (or why not).
	again, err := f.store.ToggleMonth(f.ctx, fam, kids[0], f.canteen, "2026-12", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Added) != 0 || len(again.Skipped) != 11 {
		t.Errorf("second tick: added %d, skipped %d; want 0 and 11", len(again.Added), len(again.Skipped))
	}
	f.checkTaken(f.canteen, date(2026, 12, 3), 1)

	// The sibling's month is another child's: unticking it leaves these lines alone.
	if _, err := f.store.ToggleMonth(f.ctx, fam, kids[1], f.canteen, "2026-12", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.ToggleMonth(f.ctx, fam, kids[1], f.canteen, "2026-12", false); err != nil {
		t.Fatal(err)
	}
	f.checkTaken(f.canteen, date(2026, 12, 3), 1)

	// Unticking removes this child's held days of the month, the one added by hand
	// too, and frees their places; the reservation stays.
	off, err := f.store.ToggleMonth(f.ctx, fam, kids[0], f.canteen, "2026-12", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lineDays(off.Removed), append([]string{"2026-12-03", "2026-12-08"}, wantAdded[1:]...); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("removed %v, want %v", got, want)
	}
	for _, d := range []time.Time{date(2026, 12, 3), date(2026, 12, 8), date(2026, 12, 18)} {
		f.checkTaken(f.canteen, d, 0)
	}
	f.checkTaken(f.canteen, date(2026, 12, 10), 1)
	v, err := f.store.Get(f.ctx, fam)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Lines) != 0 {
		t.Errorf("cart still has %d lines", len(v.Lines))
	}
}

func TestMonthToggleOnlyOnAnOpenCartOfYourOwn(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	other, otherKids := f.family(f.org, 650, "CP")

	// Nothing to untick without a cart; nothing is opened either.
	res, err := f.store.ToggleMonth(f.ctx, fam, kids[0], f.canteen, "2026-12", false)
	if err != nil || len(res.Removed) != 0 || res.Cart != nil {
		t.Fatalf("untick without a cart: %+v, %v", res, err)
	}
	// A month with nothing bookable any more opens no cart.
	f.clock.Set(at(2026, 11, 27, 10, 0))
	res, err = f.store.ToggleMonth(f.ctx, fam, kids[0], f.canteen, "2026-11", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 0 || len(res.Skipped) != 17 || res.Cart != nil || res.Created {
		t.Errorf("November: added %d, skipped %d, cart %v; want 0, 17, none", len(res.Added), len(res.Skipped), res.Cart)
	}
	if v, err := f.store.Get(f.ctx, fam); err != nil || v.Cart != nil {
		t.Errorf("a cart was left behind: %+v, %v", v.Cart, err)
	}

	for _, sel := range []bool{true, false} {
		if _, err := f.store.ToggleMonth(f.ctx, fam, otherKids[0], f.canteen, "2026-12", sel); !errors.Is(err, cart.ErrNotFound) {
			t.Errorf("another family's child (selected=%v): %v, want ErrNotFound", sel, err)
		}
		if _, err := f.store.ToggleMonth(f.ctx, fam, kids[0], uuid.New(), "2026-12", sel); !errors.Is(err, cart.ErrNotFound) {
			t.Errorf("unknown service (selected=%v): %v, want ErrNotFound", sel, err)
		}
	}

	res, err = f.store.ToggleMonth(f.ctx, fam, kids[0], f.canteen, "2026-12", true)
	if err != nil || !res.Created || len(res.Added) != 10 {
		t.Fatalf("December: created %v, added %d, err %v; want a new cart with 10 days", res.Created, len(res.Added), err)
	}
	if err := f.q.SetCartStatus(f.ctx, db.SetCartStatusParams{ID: res.Cart.ID, Status: "checking_out"}); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []bool{true, false} {
		if _, err := f.store.ToggleMonth(f.ctx, fam, kids[0], f.canteen, "2027-01", sel); !errors.Is(err, cart.ErrNotOpen) {
			t.Errorf("checking out (selected=%v): %v, want ErrNotOpen", sel, err)
		}
	}
	f.checkTaken(f.canteen, date(2026, 12, 3), 1)
	_ = other
}
