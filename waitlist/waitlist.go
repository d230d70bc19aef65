// Package waitlist holds the waiting lists of full days. A family joins a full
// day's list for a child; when a place frees, the first child waiting gets an
// offer: the day put in its family's cart at its QF price (a held cart line, so a
// place nobody else can take), for a time the service sets, never past the day's
// booking deadline. Paid in time, the offer is accepted; otherwise, or declined,
// the place goes to the next child.
//
// PostgreSQL holds the lists and decides every race under the day's row lock
// (service_days.waiting beside taken). Each list's workflow (workflows.Waitlist,
// `waitlist:<service day id>`) decides when to offer and when an offer lapses, and
// calls this package's transactions through its activities.
//
// Locks follow the order of every writer: the family's cart, then the entries
// (by id when several), then the service day.
package waitlist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
)

// Store runs the lists' transactions.
type Store struct {
	Pool  *pgxpool.Pool
	Carts *cart.Store // opens the family's cart an offer goes into
	Now   func() time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Statuses of an entry, as in PostgreSQL.
const (
	StatusWaiting  = db.WaitlistStatusWaiting
	StatusOffered  = db.WaitlistStatusOffered
	StatusExpired  = db.WaitlistStatusExpired
	StatusAccepted = db.WaitlistStatusAccepted
	StatusLeft     = db.WaitlistStatusLeft
)

// Reasons a join is refused, beside cart's.
const (
	ReasonNotFull        = "not_full"        // a place is free: book it instead
	ReasonAlreadyWaiting = "already_waiting" // the child is on the day's list already
)

var reasonText = map[string]string{
	ReasonNotFull:        "il reste des places ce jour-là : réservez-le directement",
	ReasonAlreadyWaiting: "cet enfant est déjà sur la liste d'attente de ce jour",
}

// Message is the French explanation of a refusal reason (the cart's included).
func Message(reason string) string {
	if m, ok := reasonText[reason]; ok {
		return m
	}
	return cart.Message(reason)
}

// Errors the API maps once.
var (
	ErrNotFound     = errors.New("waiting list entry not found")
	ErrClosed       = errors.New("waiting list entry already accepted or expired")
	ErrNotWaiting   = errors.New("waiting list entry is not waiting")
	ErrListChanged  = errors.New("the waiting list changed meanwhile")
	ErrNoFreePlace  = errors.New("no free place on the day")
	ErrCartBusy     = errors.New("the family's cart is being paid")
	ErrDeadline     = errors.New("the day's booking deadline has passed")
	ErrReasonNeeded = errors.New("a reason is required")
)

// Entry is one child on one day's list, as the family and staff see it.
type Entry struct {
	db.WaitlistEntry
	Rank        *int32 // among the day's waiting entries, 1 = next; nil unless waiting
	ServiceName string
	ChildName   string
}

func entryOf(e db.WaitlistEntry, rank int32) Entry {
	out := Entry{WaitlistEntry: e}
	if e.Status == StatusWaiting {
		out.Rank = &rank
	}
	return out
}

// Join puts a child on a full day's list, or refuses with the reason (a
// *cart.RefusedError): the cart's (closed, deadline passed, already reserved or in
// the cart, not eligible…), not_full when a place is free — the family should book
// it — or already_waiting.
func (s *Store) Join(ctx context.Context, f cart.Family, by uuid.UUID, it cart.Item) (Entry, error) {
	var out Entry
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		joined, refusals, err := cart.JoinEach(ctx, tx, f, []cart.Item{it}, s.now(), s.joinOne(by))
		if err != nil {
			return err
		}
		if len(refusals) > 0 {
			return refused(refusals)
		}
		out = joined[0]
		return nil
	})
	return out, err
}

// MonthResult is what joining a month's full days did.
type MonthResult struct {
	Joined  []Entry
	Skipped []cart.Skipped // the days that could not be joined, and why (not_full: bookable)
}

// JoinMonth puts a child on the list of every full day of month the service runs,
// skipping each day that cannot be joined with its reason.
func (s *Store) JoinMonth(ctx context.Context, f cart.Family, by, childID, serviceID uuid.UUID, month string) (MonthResult, error) {
	first, last, err := booking.ParseMonth(month)
	if err != nil {
		return MonthResult{}, err
	}
	out := MonthResult{Joined: []Entry{}, Skipped: []cart.Skipped{}}
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if _, err := q.GetChild(ctx, db.GetChildParams{OrgID: f.OrgID, FamilyID: f.ID, ID: childID}); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("read child: %w", err)
		}
		if svc, err := q.GetService(ctx, db.GetServiceParams{OrgID: f.OrgID, ID: serviceID}); errors.Is(err, pgx.ErrNoRows) || (err == nil && !svc.Active) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("read service: %w", err)
		}
		days, err := q.ListServiceDays(ctx, db.ListServiceDaysParams{ServiceID: serviceID, FirstDay: first, LastDay: last})
		if err != nil {
			return fmt.Errorf("service days: %w", err)
		}
		items := make([]cart.Item, len(days))
		for i, d := range days {
			items[i] = cart.Item{ChildID: childID, ServiceID: serviceID, Date: d.Day.Format(time.DateOnly)}
		}
		joined, refusals, err := cart.JoinEach(ctx, tx, f, items, s.now(), s.joinOne(by))
		if err != nil {
			return err
		}
		// Joined in the lock order of their days; told in the calendar's.
		slices.SortFunc(joined, func(a, b Entry) int { return a.Day.Compare(b.Day) })
		out.Joined = append(out.Joined, joined...)
		for _, r := range refusals {
			out.Skipped = append(out.Skipped, cart.Skipped{Date: r.Item.Date, Reason: r.Reason, Message: Message(r.Reason)})
		}
		return nil
	})
	return out, err
}

// joinOne adds the child to the day's list once the family's checks passed: the
// guarded UPDATE of the day's row decides whether the day is full (or already has
// a list), and locks the row, so what other writers did since the checks is seen.
func (s *Store) joinOne(by uuid.UUID) func(ctx context.Context, q *db.Queries, c cart.Checked) (Entry, string, error) {
	return func(ctx context.Context, q *db.Queries, c cart.Checked) (Entry, string, error) {
		sd, err := q.JoinDayList(ctx, c.Day.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return Entry{}, ReasonNotFull, nil
		} else if err != nil {
			return Entry{}, "", fmt.Errorf("join list: %w", err)
		}
		if reason, err := childHasDay(ctx, q, c.Child.ID, sd.ID); err != nil || reason != "" {
			return Entry{}, reason, err
		}
		pos, err := q.NextWaitlistPosition(ctx, sd.ID)
		if err != nil {
			return Entry{}, "", fmt.Errorf("position: %w", err)
		}
		e, err := q.InsertWaitlistEntry(ctx, db.InsertWaitlistEntryParams{
			ID: uuid.New(), OrgID: sd.OrgID, FamilyID: c.Child.FamilyID, ChildID: c.Child.ID, ServiceID: sd.ServiceID,
			ServiceDayID: sd.ID, Day: sd.Day, Position: pos, CreatedBy: &by,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return Entry{}, ReasonAlreadyWaiting, nil
		} else if err != nil {
			return Entry{}, "", fmt.Errorf("insert entry: %w", err)
		}
		rank, err := q.WaitlistRank(ctx, db.WaitlistRankParams{ServiceDayID: sd.ID, Position: pos})
		if err != nil {
			return Entry{}, "", fmt.Errorf("rank: %w", err)
		}
		out := entryOf(e, rank)
		out.ServiceName, out.ChildName = c.Service.Name, c.Child.FirstName
		return out, "", nil
	}
}

// childHasDay tells whether the child already holds the day in a cart or has it
// reserved; run under the day's row lock, it sees every writer's commit.
func childHasDay(ctx context.Context, q *db.Queries, child, day uuid.UUID) (string, error) {
	reserved, err := q.HasConfirmedReservation(ctx, db.HasConfirmedReservationParams{ChildID: child, ServiceDayID: day})
	if err != nil {
		return "", fmt.Errorf("check reservation: %w", err)
	}
	if reserved {
		return cart.ReasonAlreadyReserved, nil
	}
	held, err := q.HasHeldLine(ctx, db.HasHeldLineParams{ChildID: child, ServiceDayID: day})
	if err != nil {
		return "", fmt.Errorf("check cart lines: %w", err)
	}
	if held {
		return cart.ReasonAlreadyInCart, nil
	}
	return "", nil
}

func refused(rs []cart.Refusal) error {
	for i := range rs {
		rs[i].Message = Message(rs[i].Reason)
	}
	return &cart.RefusedError{Refusals: rs}
}

// Left is what leaving did.
type Left struct {
	Entry Entry
	// Freed is the day whose place an offer held, now free for the next child.
	Freed *uuid.UUID
}

// Leave takes one of the family's children off a day's list. Leaving with an
// offer declines it: the offer's line leaves the cart and its place goes to the
// next child — unless the cart is being paid (cart.ErrNotOpen). Leaving twice is
// a no-op; an accepted or expired entry cannot be left (ErrClosed).
func (s *Store) Leave(ctx context.Context, f cart.Family, id uuid.UUID) (Left, error) {
	var out Left
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		e, err := q.GetFamilyWaitlistEntry(ctx, db.GetFamilyWaitlistEntryParams{OrgID: f.OrgID, FamilyID: f.ID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("read entry: %w", err)
		}
		switch e.Status {
		case StatusLeft:
			out.Entry = entryOf(e, 0)
			return nil
		case StatusAccepted, StatusExpired:
			return ErrClosed
		case StatusOffered:
			c, _, err := lockOfferCart(ctx, q, e)
			if err != nil {
				return err
			}
			if c.Status != db.CartStatusOpen {
				return cart.ErrNotOpen
			}
		}
		if e, err = q.LockWaitlistEntry(ctx, e.ID); err != nil {
			return fmt.Errorf("lock entry: %w", err)
		}
		was := e.Status
		switch was {
		case StatusWaiting:
			if _, err := q.LeaveDayList(ctx, e.ServiceDayID); err != nil {
				return fmt.Errorf("leave list: %w", err)
			}
		case StatusOffered:
			day, err := q.ReleaseCartLine(ctx, *e.OfferLineID)
			if err != nil {
				return fmt.Errorf("release offer line: %w", err)
			}
			if err := q.ReleasePlace(ctx, day); err != nil {
				return fmt.Errorf("release place: %w", err)
			}
			out.Freed = &day
		default: // it moved between the read and the lock: read it again
			return ErrListChanged
		}
		now := s.now()
		if e, err = q.CloseWaitlistEntry(ctx, db.CloseWaitlistEntryParams{ID: e.ID, Status: StatusLeft, ClosedAt: &now}); err != nil {
			return fmt.Errorf("close entry: %w", err)
		}
		out.Entry = entryOf(e, 0)
		return nil
	})
	if errors.Is(err, ErrListChanged) {
		return s.Leave(ctx, f, id)
	}
	return out, err
}

// FamilyEntries lists the family's entries for days from today (in the org's
// zone) on, whatever their status, with the rank of those waiting.
func (s *Store) FamilyEntries(ctx context.Context, f cart.Family) ([]Entry, error) {
	q := db.New(s.Pool)
	_, loc, err := q.OrgZone(ctx, f.OrgID)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListFamilyWaitlist(ctx, db.ListFamilyWaitlistParams{OrgID: f.OrgID, FamilyID: f.ID, FromDay: booking.Day(s.now().In(loc))})
	if err != nil {
		return nil, fmt.Errorf("list entries: %w", err)
	}
	out := make([]Entry, 0, len(rows))
	for _, r := range rows {
		e := entryOf(r.WaitlistEntry, r.Rank)
		e.ServiceName, e.ChildName = r.ServiceName, r.ChildFirstName
		out = append(out, e)
	}
	return out, nil
}

// LiveEntry is the child's entry on the item's day while it waits or holds an
// offer (ErrNotFound otherwise).
func (s *Store) LiveEntry(ctx context.Context, f cart.Family, it cart.Item) (Entry, error) {
	entries, err := s.FamilyEntries(ctx, f)
	if err != nil {
		return Entry{}, err
	}
	for _, e := range entries {
		live := e.Status == StatusWaiting || e.Status == StatusOffered
		if live && e.ChildID == it.ChildID && e.ServiceID == it.ServiceID && e.Day.Format(time.DateOnly) == it.Date {
			return e, nil
		}
	}
	return Entry{}, ErrNotFound
}

// CartOffer is an offer held as a line of the family's cart.
type CartOffer struct {
	EntryID   uuid.UUID
	ExpiresAt time.Time
}

// CartOffers maps the cart's lines that are offers to their entry and expiry.
func (s *Store) CartOffers(ctx context.Context, cartID uuid.UUID) (map[uuid.UUID]CartOffer, error) {
	rows, err := db.New(s.Pool).ListCartOffers(ctx, cartID)
	if err != nil {
		return nil, fmt.Errorf("cart offers: %w", err)
	}
	out := make(map[uuid.UUID]CartOffer, len(rows))
	for _, r := range rows {
		out[*r.OfferLineID] = CartOffer{EntryID: r.ID, ExpiresAt: *r.OfferExpiresAt}
	}
	return out, nil
}

// lockOfferCart locks the cart an offer's line sits in: the cart first, as every
// writer of the cart's lines, then the entry, then the day.
func lockOfferCart(ctx context.Context, q *db.Queries, e db.WaitlistEntry) (db.Cart, db.CartLine, error) {
	line, err := q.GetCartLineByID(ctx, *e.OfferLineID)
	if err != nil {
		return db.Cart{}, db.CartLine{}, fmt.Errorf("read offer line: %w", err)
	}
	c, err := q.LockCart(ctx, line.CartID)
	if err != nil {
		return db.Cart{}, db.CartLine{}, fmt.Errorf("lock cart: %w", err)
	}
	return c, line, nil
}

// audit records what staff did to a list, with the reason they gave.
func audit(ctx context.Context, q *db.Queries, st cart.Staff, action, entity, id string, before, after any, now time.Time) error {
	var b, a []byte
	var err error
	if before != nil {
		if b, err = json.Marshal(before); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	if a, err = json.Marshal(after); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := q.InsertAudit(ctx, db.InsertAuditParams{
		OrgID: st.OrgID, ActorID: &st.UserID, Action: action, Entity: entity, EntityID: id, Before: b, After: a, OccurredAt: now,
	}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
