package waitlist_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/waitlist"
)

// wednesdays are the days of December 2026 the races run on, one round each
// (their booking deadlines are after the fixture's clock).
var wednesdays = []time.Time{
	time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 16, 0, 0, 0, 0, time.UTC),
	time.Date(2026, 12, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 30, 0, 0, 0, 0, time.UTC),
}

// Two places freed while offers race: cancellations and the list's offers run
// at once, several offers at a time (two workers, a retried activity). Each
// freed place is offered once, to the children first in line, none twice, and
// the counters stay exact.
func TestTwoPlacesFreedWhileOffersRace(t *testing.T) {
	f := newFixture(t, 4)
	pool := f.bigPool(20)
	carts := &cart.Store{Pool: pool, TTL: 48 * time.Hour, Now: f.clock.Now}
	lists := &waitlist.Store{Pool: pool, Carts: carts, Now: f.clock.Now}
	for _, day := range wednesdays {
		booked := f.fill(day)
		ks := f.families(6)
		var entries []waitlist.Entry
		for _, k := range ks {
			entries = append(entries, f.join(k, day))
		}
		sdID := f.serviceDay(day).ID
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		offered := map[uuid.UUID]int{}
		for _, r := range booked[:2] {
			wg.Go(func() {
				<-start
				if _, err := carts.Cancel(f.ctx, cart.Family{OrgID: f.org, ID: r.FamilyID}, r.ID); err != nil {
					t.Error(err)
				}
			})
		}
		for range 6 {
			wg.Go(func() {
				<-start
				res, err := lists.OfferFreePlaces(f.ctx, sdID)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, o := range res.Made {
					offered[o.EntryID]++
				}
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		// Each cancellation wakes the list after it commits: one more pass, as then.
		res, err := lists.OfferFreePlaces(f.ctx, sdID)
		f.must(err)
		for _, o := range res.Made {
			offered[o.EntryID]++
		}
		if len(offered) != 2 || offered[entries[0].ID] != 1 || offered[entries[1].ID] != 1 {
			t.Errorf("%s: offers %v, want one each to the first two (%s, %s)", day.Format(time.DateOnly), offered, entries[0].ID, entries[1].ID)
		}
		f.check(day, 4, 4)
		if r := f.rank(ks[2], entries[2].ID); r != 1 {
			t.Errorf("third in line now ranks %d, want 1", r)
		}
	}
}

// An offer paid at the second its timer fires: the checkout and the lapse race
// for the cart's lock. Either the family pays (the lapse finds the cart being
// paid and leaves it to the payment, which accepts the offer) or the lapse wins
// (the place goes back and the checkout finds nothing to pay); never both.
func TestOfferPaidAtTheSecondItLapses(t *testing.T) {
	f := newFixture(t, 1)
	pool := f.bigPool(10)
	lists := &waitlist.Store{Pool: pool, Carts: &cart.Store{Pool: pool, TTL: 48 * time.Hour, Now: f.clock.Now}, Now: f.clock.Now}
	acts := &activities.Activities{Pool: pool, Log: zap.NewNop(), Now: f.clock.Now, Waitlists: lists}
	outcomes := map[string]int{}
	for round, day := range wednesdays {
		f.clock.Set(at(2026, 11, 30, 9, 0))
		booked := f.fill(day)
		k := f.families(1)[0]
		e := f.join(k, day)
		if _, err := f.carts.CancelOnBehalf(f.ctx, f.staff, booked[0].ID, cart.StaffCancel{}); err != nil {
			t.Fatal(err)
		}
		res, err := lists.OfferFreePlaces(f.ctx, f.serviceDay(day).ID)
		if err != nil || len(res.Made) != 1 {
			t.Fatalf("offer: %+v %v", res, err)
		}
		cartID := res.Made[0].Cart.ID
		// The cagnotte covers it, so a checkout settles at once.
		_, err = f.q.InsertLedgerEntry(f.ctx, db.InsertLedgerEntryParams{OrgID: f.org, FamilyID: k.fam.ID, Kind: "adjustment",
			CreditCents: 1200, IdempotencyKey: "race-credit:" + k.fam.ID.String(), OccurredAt: f.clock.Now()})
		f.must(err)
		f.clock.Set(res.Made[0].ExpiresAt) // the second the timer fires

		var prep activities.PrepareCheckoutResult
		var prepErr error
		var lapse waitlist.LapseResult
		var lapseErr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			prep, prepErr = acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: cartID, Seq: 1})
		})
		wg.Go(func() {
			<-start
			lapse, lapseErr = lists.Lapse(f.ctx, e.ID)
		})
		close(start)
		wg.Wait()
		f.must(lapseErr)
		var appErr *temporal.ApplicationError
		switch {
		case prepErr == nil && lapse.Outcome == waitlist.LapseBusy:
			outcomes["paid"]++
			if prep.Totals.SubtotalCents != 1200 {
				t.Errorf("round %d: the checkout froze %d cents, want the offer's 1200", round, prep.Totals.SubtotalCents)
			}
			f.must(acts.ConfirmCart(f.ctx, prep.AttemptID))
			if again, err := lists.Lapse(f.ctx, e.ID); err != nil || again.Outcome != waitlist.LapseAccepted {
				t.Errorf("round %d: lapse after the payment: %+v %v", round, again, err)
			}
			f.check(day, 1, 0)
		case errors.As(prepErr, &appErr) && appErr.Type() == activities.ErrTypeNothingToPay && lapse.Outcome == waitlist.LapseExpired:
			outcomes["lapsed"]++
			f.check(day, 0, 0)
		default:
			t.Fatalf("round %d: checkout %+v %v, lapse %+v: both or neither", round, prep, prepErr, lapse)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// The payment of a cart holding an offer fails after the offer's time: the cart
// opens again and the next look ends the offer.
func TestOfferWhosePaymentFailsLapsesAfterwards(t *testing.T) {
	f := newFixture(t, 1)
	booked := f.fill(f.day)
	k := f.families(1)[0]
	e := f.join(k, f.day)
	if _, err := f.carts.CancelOnBehalf(f.ctx, f.staff, booked[0].ID, cart.StaffCancel{}); err != nil {
		t.Fatal(err)
	}
	res, err := f.lists.OfferFreePlaces(f.ctx, f.serviceDay(f.day).ID)
	f.must(err)
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: res.Made[0].Cart.ID, Seq: 1})
	f.must(err)
	f.clock.Set(res.Made[0].ExpiresAt.Add(time.Minute))
	if r, err := f.lists.Lapse(f.ctx, e.ID); err != nil || r.Outcome != waitlist.LapseBusy {
		t.Fatalf("lapse while paying: %+v %v", r, err)
	}
	f.check(f.day, 1, 0)
	f.must(f.q.SetPaymentAttemptOutcome(f.ctx, db.SetPaymentAttemptOutcomeParams{ID: prep.AttemptID, Status: "refused", StatusReason: "refusé"}))
	f.must(f.acts.ReopenCart(f.ctx, prep.AttemptID))
	r, err := f.lists.Lapse(f.ctx, e.ID)
	if err != nil || r.Outcome != waitlist.LapseExpired {
		t.Fatalf("lapse after the refusal: %+v %v", r, err)
	}
	f.check(f.day, 0, 0)
}

// Families rushing a place freed for the list get "full"; the list's offer takes it.
func TestFamiliesCannotSnatchAPlaceFreedForTheList(t *testing.T) {
	f := newFixture(t, 3)
	booked := f.fill(f.day)
	first := f.families(1)[0]
	e := f.join(first, f.day)
	if _, err := f.carts.Cancel(f.ctx, cart.Family{OrgID: f.org, ID: booked[0].FamilyID}, booked[0].ID); err != nil {
		t.Fatal(err)
	}
	pool := f.bigPool(30)
	carts := &cart.Store{Pool: pool, TTL: 48 * time.Hour, Now: f.clock.Now}
	lists := &waitlist.Store{Pool: pool, Carts: carts, Now: f.clock.Now}
	rush := f.families(40)
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, len(rush))
	var offer waitlist.OfferResult
	for i, k := range rush {
		wg.Go(func() {
			<-start
			_, errs[i] = carts.AddItems(f.ctx, k.fam, []cart.Item{f.item(k, f.day)})
		})
	}
	wg.Go(func() {
		<-start
		var err error
		offer, err = lists.OfferFreePlaces(f.ctx, f.serviceDay(f.day).ID)
		f.must(err)
	})
	close(start)
	wg.Wait()
	for i, err := range errs {
		if r := refusedWith(t, err); r != cart.ReasonFull {
			t.Errorf("family %d: %q, want full", i, r)
		}
	}
	if len(offer.Made) != 1 || offer.Made[0].EntryID != e.ID {
		t.Errorf("offer %+v", offer.Made)
	}
	f.check(f.day, 3, 0)
}

// Many families join at once: each gets its own rank.
func TestManyJoinAtOnce(t *testing.T) {
	f := newFixture(t, 1)
	f.fill(f.day)
	pool := f.bigPool(30)
	lists := &waitlist.Store{Pool: pool, Carts: &cart.Store{Pool: pool, TTL: 48 * time.Hour, Now: f.clock.Now}, Now: f.clock.Now}
	ks := f.families(60)
	start := make(chan struct{})
	var wg sync.WaitGroup
	ranks := make([]int32, len(ks))
	for i, k := range ks {
		wg.Go(func() {
			<-start
			e, err := lists.Join(f.ctx, k.fam, k.user, f.item(k, f.day))
			if err != nil {
				t.Error(err)
				return
			}
			ranks[i] = *e.Rank
		})
	}
	close(start)
	wg.Wait()
	seen := map[int32]bool{}
	for _, r := range ranks {
		if r < 1 || r > 60 || seen[r] {
			t.Errorf("rank %d given twice or out of range", r)
		}
		seen[r] = true
	}
	f.check(f.day, 1, 60)
}

// Joining while the last place frees: whoever joined before the place was
// offered waits in order; if nobody did, the place is anyone's. Never both a
// free place for newcomers and a child waiting.
func TestJoinRacesAFreedPlace(t *testing.T) {
	f := newFixture(t, 1)
	pool := f.bigPool(30)
	carts := &cart.Store{Pool: pool, TTL: 48 * time.Hour, Now: f.clock.Now}
	lists := &waitlist.Store{Pool: pool, Carts: carts, Now: f.clock.Now}
	for _, day := range wednesdays {
		booked := f.fill(day)
		ks := f.families(20)
		start := make(chan struct{})
		var wg sync.WaitGroup
		joined := make([]bool, len(ks))
		wg.Go(func() {
			<-start
			if _, err := carts.Cancel(f.ctx, cart.Family{OrgID: f.org, ID: booked[0].FamilyID}, booked[0].ID); err != nil {
				t.Error(err)
			}
		})
		for i, k := range ks {
			wg.Go(func() {
				<-start
				_, err := lists.Join(f.ctx, k.fam, k.user, f.item(k, day))
				switch {
				case err == nil:
					joined[i] = true
				case refusedWith(t, err) != waitlist.ReasonNotFull:
					t.Errorf("join: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		res, err := lists.OfferFreePlaces(f.ctx, f.serviceDay(day).ID) // the cancellation's wake
		f.must(err)
		n := int32(0)
		for _, j := range joined {
			if j {
				n++
			}
		}
		if n == 0 {
			f.check(day, 0, 0)
			continue
		}
		if len(res.Made) != 1 {
			t.Errorf("%s: %d joined, offers %+v", day.Format(time.DateOnly), n, res.Made)
		}
		f.check(day, 1, n-1)
	}
}
