package cart

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/services"
)

// Every way of taking a place — a family adding days to its cart one by one or a
// month at a time, staff booking on a family's behalf — goes through place: the same
// checks, the same guarded counter, the same lock order.

// checkOptions relax the checks for staff, or for a waiting list.
type checkOptions struct {
	ignoreDeadline   bool // staff booking past the deadline, with a reason
	overrideWaitlist bool // staff booking a place the day's waiting list would have had, with a reason
	staff            bool // refusals are worded for the back office
	joining          bool // joining the day's waiting list: a full day is the point
}

// mode says what a refusal does to the other items.
type mode int

const (
	allOrNothing mode = iota // one refusal and nothing is taken
	skipRefused              // each item on its own; refused ones are skipped
)

// candidate is an item that passed the checks that need no lock.
type candidate struct {
	index int
	item  Item
	child *db.Member
	svc   *service
	day   time.Time
	sd    db.ServiceDay
	price int64
}

// check runs the rules that need no lock. They are checked again where it matters
// once the day's row is locked (take), since what they read may change meanwhile.
// The first failing rule names the refusal, in the order the calendar uses: what the
// child already has beats what the day would allow.
func (r *rules) check(ctx context.Context, index int, it Item, now time.Time, o checkOptions) (candidate, string, error) {
	day, err := booking.ParseDay(it.Date)
	if err != nil {
		return candidate{}, ReasonInvalidDate, nil
	}
	child, err := r.child(ctx, it.ChildID)
	if err != nil || child == nil {
		return candidate{}, ReasonNotYourChild, err
	}
	svc, err := r.service(ctx, it.ServiceID)
	if err != nil || svc == nil {
		return candidate{}, ReasonUnknownService, err
	}
	if !services.EligibilityRule(svc.Service).Eligible(childOf(child), day) {
		return candidate{}, ReasonNotEligible, nil
	}
	sd, err := r.q.GetServiceDay(ctx, db.GetServiceDayParams{OrgID: r.fam.OrgID, ServiceID: svc.ID, Day: day})
	if errors.Is(err, pgx.ErrNoRows) {
		return candidate{}, ReasonClosed, nil
	} else if err != nil {
		return candidate{}, "", fmt.Errorf("read service day: %w", err)
	}
	reserved, err := r.q.HasConfirmedReservation(ctx, db.HasConfirmedReservationParams{ChildID: child.ID, ServiceDayID: sd.ID})
	if err != nil {
		return candidate{}, "", fmt.Errorf("check reservation: %w", err)
	}
	if reserved {
		return candidate{}, ReasonAlreadyReserved, nil
	}
	held, err := r.q.HasHeldLine(ctx, db.HasHeldLineParams{ChildID: child.ID, ServiceDayID: sd.ID})
	if err != nil {
		return candidate{}, "", fmt.Errorf("check cart lines: %w", err)
	}
	if held {
		return candidate{}, ReasonAlreadyInCart, nil
	}
	if !sd.Open {
		return candidate{}, ReasonClosed, nil
	}
	if !o.ignoreDeadline && !services.BookingRule(svc.Service).Allows(day, now, r.loc) {
		return candidate{}, ReasonDeadlinePassed, nil
	}
	price, err := booking.Price(svc.prices, int(r.fam.Qf))
	if err != nil {
		return candidate{}, ReasonNoPrice, nil
	}
	if !o.joining {
		// Only a hint, to report every refusal at once; the guarded UPDATE decides.
		if reason := capacityHint(sd, o); reason != "" {
			return candidate{}, reason, nil
		}
	}
	return candidate{index: index, item: it, child: child, svc: svc, day: day, sd: sd, price: price}, "", nil
}

// capacityHint tells why the day has no place for this booking, if it has none: it
// is full, or its free places belong to the children waiting on its list (a family
// reads that as full; staff may override it with a reason).
func capacityHint(sd db.ServiceDay, o checkOptions) string {
	switch {
	case sd.Capacity != nil && sd.Taken >= *sd.Capacity:
		return ReasonFull
	case sd.Waiting > 0 && o.staff && !o.overrideWaitlist:
		return ReasonWaitlist
	case sd.Waiting > 0 && !o.staff:
		return ReasonFull
	}
	return ""
}

// takeFunc takes the place of one candidate once its day may be locked; a non-empty
// reason refuses it, and whatever it wrote is rolled back.
type takeFunc[T any] func(ctx context.Context, q *db.Queries, c candidate) (T, string, error)

// place checks every item, then takes the places of those that passed in the order
// of their service days' IDs — the order every writer of service_days follows, so
// two transactions never wait on each other's rows in opposite orders. In
// skipRefused mode each item runs in its own savepoint, so a refused one leaves no
// trace; in allOrNothing mode the caller rolls everything back on any refusal.
func place[T any](ctx context.Context, tx pgx.Tx, r *rules, items []Item, now time.Time, o checkOptions, m mode, take takeFunc[T]) ([]T, []Refusal, error) {
	var (
		cands    []candidate
		refusals []Refusal
	)
	refuse := func(i int, it Item, reason string) {
		refusals = append(refusals, Refusal{Index: i, Item: it, Reason: reason, Message: reasonText[reason]})
	}
	for i, it := range items {
		c, reason, err := r.check(ctx, i, it, now, o)
		if err != nil {
			return nil, nil, err
		}
		if reason != "" {
			refuse(i, it, reason)
			continue
		}
		cands = append(cands, c)
	}
	if m == allOrNothing && len(refusals) > 0 {
		return nil, refusals, nil
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Or(bytes.Compare(a.sd.ID[:], b.sd.ID[:]), cmp.Compare(a.index, b.index))
	})
	var out []T
	for _, c := range cands {
		v, reason, err := takeOne(ctx, tx, m, c, take)
		if err != nil {
			return nil, nil, err
		}
		if reason != "" {
			refuse(c.index, c.item, reason)
			continue
		}
		out = append(out, v)
	}
	slices.SortFunc(refusals, func(a, b Refusal) int { return cmp.Compare(a.Index, b.Index) })
	return out, refusals, nil
}

func takeOne[T any](ctx context.Context, tx pgx.Tx, m mode, c candidate, take takeFunc[T]) (T, string, error) {
	var zero T
	if m == allOrNothing {
		return take(ctx, db.New(tx), c)
	}
	sp, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		return zero, "", fmt.Errorf("savepoint: %w", err)
	}
	v, reason, err := take(ctx, db.New(sp), c)
	if err != nil || reason != "" {
		if rbErr := sp.Rollback(ctx); rbErr != nil && err == nil {
			err = fmt.Errorf("rollback to savepoint: %w", rbErr)
		}
		return zero, reason, err
	}
	if err := sp.Commit(ctx); err != nil {
		return zero, "", fmt.Errorf("release savepoint: %w", err)
	}
	return v, "", nil
}

// holdLine puts a candidate in the family's cart and takes its place.
func holdLine(r *rules, cart db.Cart) takeFunc[db.CartLine] {
	return func(ctx context.Context, q *db.Queries, c candidate) (db.CartLine, string, error) {
		line, err := q.InsertCartLine(ctx, db.InsertCartLineParams{
			ID: uuid.New(), OrgID: r.fam.OrgID, CartID: cart.ID, FamilyID: r.fam.ID, ChildID: c.child.ID,
			ServiceID: c.svc.ID, ServiceDayID: c.sd.ID, Day: c.day, PriceCents: c.price,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return db.CartLine{}, ReasonAlreadyInCart, nil
		} else if err != nil {
			return db.CartLine{}, "", fmt.Errorf("insert line: %w", err)
		}
		if _, err := q.TakePlace(ctx, c.sd.ID); errors.Is(err, pgx.ErrNoRows) {
			return db.CartLine{}, ReasonFull, nil
		} else if err != nil {
			return db.CartLine{}, "", fmt.Errorf("take place: %w", err)
		}
		// The day's row is ours until commit, and staff bookings lock it before they
		// insert: a reservation made since the first check is visible now.
		reserved, err := q.HasConfirmedReservation(ctx, db.HasConfirmedReservationParams{ChildID: c.child.ID, ServiceDayID: c.sd.ID})
		if err != nil {
			return db.CartLine{}, "", fmt.Errorf("check reservation: %w", err)
		}
		if reserved {
			return db.CartLine{}, ReasonAlreadyReserved, nil
		}
		return line, "", nil
	}
}

// Checked is an item that passed every rule of its day but capacity, for a
// transaction of another package that takes the day its own way (joining the
// day's waiting list). Day is the service day as read before any lock.
type Checked struct {
	Index      int
	Item       Item
	Child      db.Member
	Service    db.Service
	Day        db.ServiceDay
	PriceCents int64
}

// JoinEach runs, in tx, the family's checks on every item — child, service,
// eligibility, open day, booking deadline, not reserved nor held already, a
// price — leaving capacity to join, which is called for each item that passed, in
// the order of their service days' IDs (the lock order), each in a savepoint: a
// refusal (a reason) or an item that fails the checks is skipped and reported.
func JoinEach[T any](ctx context.Context, tx pgx.Tx, f Family, items []Item, now time.Time, join func(ctx context.Context, q *db.Queries, c Checked) (T, string, error)) ([]T, []Refusal, error) {
	r, err := newRules(ctx, db.New(tx), f)
	if err != nil {
		return nil, nil, err
	}
	return place(ctx, tx, r, items, now, checkOptions{joining: true}, skipRefused, func(ctx context.Context, q *db.Queries, c candidate) (T, string, error) {
		return join(ctx, q, Checked{Index: c.index, Item: c.item, Child: *c.child, Service: c.svc.Service, Day: c.sd, PriceCents: c.price})
	})
}

// lockOrder sorts service day IDs in the order every writer of service_days locks them.
func lockOrder(ids []uuid.UUID) {
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
}
