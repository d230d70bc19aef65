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
)

// Every way of taking a place — a family adding days to its cart one by one or a
// month at a time, staff booking on a family's behalf — goes through place: the same
// checks, the same guarded counter, the same lock order.

// checkOptions relax the checks for staff.
type checkOptions struct {
	ignoreDeadline bool // staff booking past the deadline, with a reason
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
	if !Eligibility(svc.Service).Eligible(childOf(child), day) {
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
	if !o.ignoreDeadline && !BookingRule(svc.Service).Allows(day, now, r.loc) {
		return candidate{}, ReasonDeadlinePassed, nil
	}
	price, err := booking.Price(svc.prices, int(r.fam.Qf))
	if err != nil {
		return candidate{}, ReasonNoPrice, nil
	}
	// Only a hint, to report every refusal at once; the guarded UPDATE decides.
	if sd.Capacity != nil && sd.Taken >= *sd.Capacity {
		return candidate{}, ReasonFull, nil
	}
	return candidate{index: index, item: it, child: child, svc: svc, day: day, sd: sd, price: price}, "", nil
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

// lockOrder sorts service day IDs in the order every writer of service_days locks them.
func lockOrder(ids []uuid.UUID) {
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
}
