package cart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
)

// Skipped is a day of a month toggle that could not be booked, and why.
type Skipped struct {
	Date    string `json:"date"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// MonthResult is the outcome of a month toggle.
type MonthResult struct {
	Cart    *db.Cart // nil when unticking without a live cart
	Created bool     // a new cart was opened: its workflow must be started
	Added   []db.CartLine
	Skipped []Skipped
	Removed []db.CartLine
}

// errNothingAdded rolls back a cart opened for a month toggle that added nothing, so
// no empty cart is left without its workflow.
var errNothingAdded = errors.New("nothing added")

// ToggleMonth ticks (selected) every day of month the service runs for one child —
// each through the same checks and guarded place as AddItems, the days that cannot
// be booked skipped with their reason — or unticks them: the month's held lines of
// that child and service leave the cart and free their places. Only an open cart
// changes.
func (s *Store) ToggleMonth(ctx context.Context, f Family, childID, serviceID uuid.UUID, month string, selected bool) (MonthResult, error) {
	first, last, err := booking.ParseMonth(month)
	if err != nil {
		return MonthResult{}, err
	}
	if !selected {
		return s.untickMonth(ctx, f, childID, serviceID, first, last)
	}
	var out MonthResult
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		cart, created, r, err := s.openCart(ctx, q, f)
		if err != nil {
			return err
		}
		if err := r.requireChildAndService(ctx, childID, serviceID); err != nil {
			return err
		}
		days, err := q.ListServiceDays(ctx, db.ListServiceDaysParams{ServiceID: serviceID, FirstDay: first, LastDay: last})
		if err != nil {
			return fmt.Errorf("service days: %w", err)
		}
		items := make([]Item, len(days))
		for i, d := range days {
			items[i] = Item{ChildID: childID, ServiceID: serviceID, Date: d.Day.Format(time.DateOnly)}
		}
		lines, refusals, err := place(ctx, tx, r, items, s.now(), checkOptions{}, skipRefused, holdLine(r, cart))
		if err != nil {
			return err
		}
		out = MonthResult{Cart: &cart, Created: created, Added: lines, Skipped: make([]Skipped, 0, len(refusals))}
		for _, ref := range refusals {
			out.Skipped = append(out.Skipped, Skipped{Date: ref.Item.Date, Reason: ref.Reason, Message: ref.Message})
		}
		if created && len(lines) == 0 {
			return errNothingAdded
		}
		return nil
	})
	if errors.Is(err, errNothingAdded) {
		out.Cart, out.Created, err = nil, false, nil
	}
	return out, err
}

func (s *Store) untickMonth(ctx context.Context, f Family, childID, serviceID uuid.UUID, first, last time.Time) (MonthResult, error) {
	out := MonthResult{Added: []db.CartLine{}, Skipped: []Skipped{}, Removed: []db.CartLine{}}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		r, err := newRules(ctx, q, f)
		if err != nil {
			return err
		}
		if err := r.requireChildAndService(ctx, childID, serviceID); err != nil {
			return err
		}
		c, err := lockOpenCart(ctx, q, f)
		if errors.Is(err, ErrNotFound) {
			return nil // nothing held, nothing to untick
		} else if err != nil {
			return err
		}
		out.Cart = &c
		lines, err := q.ReleaseMonthLines(ctx, db.ReleaseMonthLinesParams{CartID: c.ID, ChildID: childID, ServiceID: serviceID, FirstDay: first, LastDay: last})
		if err != nil {
			return fmt.Errorf("release lines: %w", err)
		}
		out.Removed = lines
		days := make([]uuid.UUID, len(lines))
		ids := make([]uuid.UUID, len(lines))
		for i, l := range lines {
			days[i], ids[i] = l.ServiceDayID, l.ID
		}
		if err := declineOffers(ctx, q, ids...); err != nil {
			return err
		}
		lockOrder(days)
		for _, d := range days {
			if err := q.ReleasePlace(ctx, d); err != nil {
				return fmt.Errorf("release place: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// requireChildAndService answers ErrNotFound unless both belong to the caller
// (the child to the family, an active service to the org).
func (r *rules) requireChildAndService(ctx context.Context, childID, serviceID uuid.UUID) error {
	child, err := r.child(ctx, childID)
	if err != nil {
		return err
	}
	svc, err := r.service(ctx, serviceID)
	if err != nil {
		return err
	}
	if child == nil || svc == nil {
		return ErrNotFound
	}
	return nil
}
