package cart_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/enfance/enfance/cart"
)

// refusedWith returns the single refusal reason of err, or fails.
func refusedWith(t *testing.T, err error) string {
	t.Helper()
	var refused *cart.RefusedError
	if !errors.As(err, &refused) || len(refused.Refusals) != 1 {
		t.Fatalf("err = %v, want one refusal", err)
	}
	return refused.Refusals[0].Reason
}

func TestLastFivePlacesGoToExactlyFiveFamilies(t *testing.T) {
	f := newFixture(t)
	day := date(2026, 12, 3)
	f.setCapacity(f.canteen, day, 8)

	// Three of the eight places are gone: two held in carts, one confirmed.
	early, earlyKids := f.manyFamilies(3)
	for i := range early {
		if _, err := f.store.AddItems(f.ctx, early[i], []cart.Item{item(earlyKids[i], f.canteen, day)}); err != nil {
			t.Fatal(err)
		}
	}
	f.pay(early[0])
	f.checkTaken(f.canteen, day, 3)

	const n = 100
	fams, kids := f.manyFamilies(n)
	store := &cart.Store{Pool: f.bigPool(50), TTL: 48 * time.Hour, Now: f.clock.Now}
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = store.AddItems(f.ctx, fams[i], []cart.Item{item(kids[i], f.canteen, day)})
		})
	}
	close(start)
	wg.Wait()

	won, full := 0, 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		if reason := refusedWith(t, err); reason != cart.ReasonFull {
			t.Errorf("family %d refused with %q, want full", i, reason)
		}
		full++
	}
	if won != 5 || full != n-5 {
		t.Errorf("%d succeeded and %d were told full; want 5 and %d", won, full, n-5)
	}
	f.checkTaken(f.canteen, day, 8)

	// A latecomer's calendar says full, and so does the server when it tries.
	late, lateKids := f.manyFamilies(1)
	days, err := f.store.Calendar(f.ctx, late[0], lateKids[0], f.canteen, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if got := days[2]; got.Date != "2026-12-03" || got.State != "full" {
		t.Errorf("calendar of 3 December: %+v, want full", got)
	}
	_, err = f.store.AddItems(f.ctx, late[0], []cart.Item{item(lateKids[0], f.canteen, day)})
	if reason := refusedWith(t, err); reason != cart.ReasonFull {
		t.Errorf("latecomer refused with %q, want full", reason)
	}
}

func TestTwoParentsAddingTheSameDayMakeOneLine(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	store := &cart.Store{Pool: f.bigPool(10), TTL: 48 * time.Hour, Now: f.clock.Now}
	days := []time.Time{date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 10)}
	created := 0
	for _, day := range days {
		start := make(chan struct{})
		var (
			wg    sync.WaitGroup
			errs  [2]error
			added [2]cart.Added
		)
		for p := range 2 {
			wg.Go(func() {
				<-start
				added[p], errs[p] = store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, day)})
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for p, err := range errs {
			if err == nil {
				ok++
				if added[p].Created {
					created++
				}
				continue
			}
			if reason := refusedWith(t, err); reason != cart.ReasonAlreadyInCart {
				t.Errorf("%s: the other parent was refused with %q, want already_in_cart", day.Format(time.DateOnly), reason)
			}
		}
		if ok != 1 {
			t.Errorf("%s: %d parents succeeded, want 1", day.Format(time.DateOnly), ok)
		}
		f.checkTaken(f.canteen, day, 1)
	}
	if created != 1 {
		t.Errorf("%d requests opened a cart, want 1", created)
	}
	v, err := f.store.Get(f.ctx, fam)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Lines) != len(days) {
		t.Errorf("cart has %d lines, want %d", len(v.Lines), len(days))
	}
}

// A family adding a day while an agent books the same child on the same day: one
// of them gets it, never both (a held line next to a confirmed reservation would
// take two places and make the cart's confirmation fail).
func TestFamilyAndStaffRacingForTheSameChildDay(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	store := &cart.Store{Pool: f.bigPool(10), TTL: 48 * time.Hour, Now: f.clock.Now}
	staff := cart.Staff{OrgID: f.org, UserID: f.staff}
	for _, day := range []time.Time{date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 10), date(2026, 12, 11)} {
		start := make(chan struct{})
		var wg sync.WaitGroup
		var famErr, staffErr error
		wg.Go(func() {
			<-start
			_, famErr = store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, day)})
		})
		wg.Go(func() {
			<-start
			_, staffErr = store.BookOnBehalf(f.ctx, staff, fam.ID, cart.StaffBooking{Items: []cart.Item{item(kids[0], f.canteen, day)}})
		})
		close(start)
		wg.Wait()
		switch {
		case famErr == nil && staffErr == nil:
			t.Errorf("%s: both the family and the agent got the day", day.Format(time.DateOnly))
		case famErr == nil:
			if r := refusedWith(t, staffErr); r != cart.ReasonAlreadyInCart {
				t.Errorf("%s: agent refused with %q, want already_in_cart", day.Format(time.DateOnly), r)
			}
		case staffErr == nil:
			if r := refusedWith(t, famErr); r != cart.ReasonAlreadyReserved {
				t.Errorf("%s: family refused with %q, want already_reserved", day.Format(time.DateOnly), r)
			}
		default:
			t.Errorf("%s: neither got the day: %v / %v", day.Format(time.DateOnly), famErr, staffErr)
		}
		f.checkTaken(f.canteen, day, 1)
	}
}
