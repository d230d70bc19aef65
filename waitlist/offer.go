package waitlist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/services"
)

// Offered is an offer just made: the entry's child holds the day in its family's
// cart until ExpiresAt.
type Offered struct {
	EntryID   uuid.UUID
	FamilyID  uuid.UUID
	ExpiresAt time.Time
	// The cart the offer went into; CartCreated says it was opened for the offer,
	// so its workflow must be started.
	Cart        db.Cart
	CartCreated bool
}

// OpenOffer is an offer not settled yet, for the list's workflow timers.
type OpenOffer struct {
	EntryID   uuid.UUID
	ExpiresAt time.Time
}

// DayState is what a list's workflow needs to know of its day.
type DayState struct {
	Offers   []OpenOffer
	Waiting  int32
	Version  int64
	Deadline time.Time // the day's booking deadline: no offer from then on
}

// OfferResult is what OfferFreePlaces did.
type OfferResult struct {
	Made  []Offered
	State DayState
	// Busy: the next child's family is paying its cart, which cannot take a line
	// meanwhile; the free place waits for it (the workflow asks again shortly).
	Busy bool
}

// maxOffersAtOnce bounds one call; the workflow calls again while places are free.
const maxOffersAtOnce = 50

// OfferFreePlaces offers each free place of the day to the next child waiting,
// one transaction per offer, until no place is free, nobody waits, the booking
// deadline has passed, or the next family's cart is being paid.
func (s *Store) OfferFreePlaces(ctx context.Context, dayID uuid.UUID) (OfferResult, error) {
	var out OfferResult
	for range maxOffersAtOnce {
		o, err := s.offerOne(ctx, dayID, offerBy{})
		switch {
		case errors.Is(err, ErrCartBusy):
			out.Busy = true
		case errors.Is(err, ErrNoFreePlace), errors.Is(err, ErrDeadline), errors.Is(err, ErrNotWaiting):
		case err != nil:
			return out, err
		default:
			if o != nil {
				out.Made = append(out.Made, *o)
			}
			continue
		}
		break
	}
	var err error
	out.State, err = s.State(ctx, dayID)
	return out, err
}

// OfferByHand is staff offering a place to one child of the day's list, whatever
// its rank: a free place, or with addPlace one place more on a full day (the
// capacity grows by one). The reason is required and audited.
func (s *Store) OfferByHand(ctx context.Context, st cart.Staff, entryID uuid.UUID, reason string, addPlace bool) (Offered, error) {
	if reason == "" {
		return Offered{}, ErrReasonNeeded
	}
	e, err := db.New(s.Pool).GetWaitlistEntry(ctx, entryID)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && e.OrgID != st.OrgID) {
		return Offered{}, ErrNotFound
	} else if err != nil {
		return Offered{}, fmt.Errorf("read entry: %w", err)
	}
	o, err := s.offerOne(ctx, e.ServiceDayID, offerBy{entry: &entryID, staff: &st, reason: reason, addPlace: addPlace})
	if err == nil && o == nil {
		// The entry's child had the day already: it was closed, nothing to offer.
		err = ErrNotWaiting
	}
	if err != nil {
		return Offered{}, err
	}
	return *o, nil
}

type offerBy struct {
	entry    *uuid.UUID // nil: the first child waiting
	staff    *cart.Staff
	reason   string
	addPlace bool
}

// offerOne makes one offer in one transaction, or tells why not. It returns a nil
// offer without error when the child it picked turned out to have the day already
// (booked by staff since joining): that entry is closed instead, and the caller
// tries the next.
func (s *Store) offerOne(ctx context.Context, dayID uuid.UUID, by offerBy) (*Offered, error) {
	var out *Offered
	for range 5 { // the list moved under us (reordered, left): look again
		err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
			var err error
			out, err = s.offerIn(ctx, db.New(tx), dayID, by)
			return err
		})
		if !errors.Is(err, ErrListChanged) {
			return out, err
		}
	}
	return nil, ErrListChanged
}

func (s *Store) offerIn(ctx context.Context, q *db.Queries, dayID uuid.UUID, by offerBy) (*Offered, error) {
	now := s.now()
	// What can be read without locks first, to know which family's cart to lock:
	// the cart comes first in the lock order. Everything is checked again once
	// the day's row is locked.
	sd, err := q.GetServiceDayByID(ctx, dayID)
	if err != nil {
		return nil, fmt.Errorf("read day: %w", err)
	}
	if sd.Waiting == 0 || !sd.Open {
		return nil, ErrNotWaiting
	}
	if !by.addPlace && sd.Capacity != nil && sd.Taken >= *sd.Capacity {
		return nil, ErrNoFreePlace
	}
	svc, err := q.GetService(ctx, db.GetServiceParams{OrgID: sd.OrgID, ID: sd.ServiceID})
	if err != nil {
		return nil, fmt.Errorf("read service: %w", err)
	}
	_, loc, err := q.OrgZone(ctx, sd.OrgID)
	if err != nil {
		return nil, err
	}
	deadline := services.BookingRule(svc).Deadline(sd.Day, loc)
	if !now.Before(deadline) {
		return nil, ErrDeadline
	}
	var e db.WaitlistEntry
	if by.entry != nil {
		e, err = q.GetWaitlistEntry(ctx, *by.entry)
	} else {
		e, err = q.FirstWaiting(ctx, dayID)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotWaiting
	} else if err != nil {
		return nil, fmt.Errorf("read entry: %w", err)
	}
	if e.Status != StatusWaiting || e.ServiceDayID != dayID {
		return nil, ErrNotWaiting
	}
	if reason, err := childHasDay(ctx, q, e.ChildID, dayID); err != nil {
		return nil, err
	} else if reason != "" {
		// Booked since joining (by staff): the entry has no place to wait for.
		return nil, closeBooked(ctx, q, e, reason, now)
	}
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: e.OrgID, ID: e.FamilyID})
	if err != nil {
		return nil, fmt.Errorf("read family: %w", err)
	}
	c, created, err := s.Carts.LockLiveCart(ctx, q, cart.Family{OrgID: e.OrgID, ID: e.FamilyID})
	if err != nil {
		return nil, err
	}
	expires := booking.OfferExpiry(now, services.OfferHold(svc), deadline, c.ExpiresAt)
	if c.Status != db.CartStatusOpen || !expires.After(now) {
		// Being paid (its total is frozen), or at its very end: the offer waits for
		// the next cart. The transaction rolls back, a cart opened here included.
		return nil, ErrCartBusy
	}
	if e, err = q.LockWaitlistEntry(ctx, e.ID); err != nil {
		return nil, fmt.Errorf("lock entry: %w", err)
	}
	if e.Status != StatusWaiting {
		return nil, ErrListChanged
	}
	_, err = q.TakeOfferPlace(ctx, dayID)
	added := false
	if errors.Is(err, pgx.ErrNoRows) && by.addPlace {
		_, err = q.AddOfferPlace(ctx, dayID)
		added = err == nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoFreePlace
	} else if err != nil {
		return nil, fmt.Errorf("take place: %w", err)
	}
	if by.entry == nil {
		// Under the day's lock the order is settled: the offer goes to the first.
		first, err := q.FirstWaiting(ctx, dayID)
		if err != nil {
			return nil, fmt.Errorf("read first entry: %w", err)
		}
		if first.ID != e.ID {
			return nil, ErrListChanged
		}
	}
	if reason, err := childHasDay(ctx, q, e.ChildID, dayID); err != nil {
		return nil, err
	} else if reason != "" {
		return nil, ErrListChanged // booked since the check above: look again
	}
	prices, err := q.ListServicePrices(ctx, []uuid.UUID{svc.ID})
	if err != nil {
		return nil, fmt.Errorf("read prices: %w", err)
	}
	price, err := booking.Price(services.Brackets(prices), int(fam.Qf))
	if err != nil {
		return nil, fmt.Errorf("family %s, service %s: %w", fam.ID, svc.ID, err)
	}
	line, err := q.InsertCartLine(ctx, db.InsertCartLineParams{
		ID: uuid.New(), OrgID: e.OrgID, CartID: c.ID, FamilyID: e.FamilyID, ChildID: e.ChildID,
		ServiceID: e.ServiceID, ServiceDayID: dayID, Day: e.Day, PriceCents: price,
	})
	if err != nil { // no row cannot happen: childHasDay saw no held line under the day's lock
		return nil, fmt.Errorf("insert offer line: %w", err)
	}
	var staffID *uuid.UUID
	if by.staff != nil {
		staffID = &by.staff.UserID
	}
	if e, err = q.SetWaitlistOffered(ctx, db.SetWaitlistOfferedParams{
		ID: e.ID, OfferLineID: &line.ID, OfferedAt: &now, OfferExpiresAt: &expires, OfferedBy: staffID, OfferReason: by.reason,
	}); err != nil {
		return nil, fmt.Errorf("offer: %w", err)
	}
	if by.staff != nil {
		after := map[string]any{
			"status": StatusOffered, "child_id": e.ChildID, "date": e.Day.Format(time.DateOnly),
			"offer_expires_at": expires, "price_cents": price, "reason": by.reason, "added_place": added,
		}
		if err := audit(ctx, q, *by.staff, "waitlist.offer_by_hand", "waitlist_entry", e.ID.String(), map[string]any{"status": StatusWaiting}, after, now); err != nil {
			return nil, err
		}
	}
	return &Offered{EntryID: e.ID, FamilyID: e.FamilyID, ExpiresAt: expires, Cart: c, CartCreated: created}, nil
}

// closeBooked closes the entry of a child that has the day already: reserved
// (accepted) or held in a cart (left). It no longer counts as waiting.
func closeBooked(ctx context.Context, q *db.Queries, e db.WaitlistEntry, reason string, now time.Time) error {
	e, err := q.LockWaitlistEntry(ctx, e.ID)
	if err != nil {
		return fmt.Errorf("lock entry: %w", err)
	}
	if e.Status != StatusWaiting {
		return ErrListChanged
	}
	status := StatusAccepted
	if reason == cart.ReasonAlreadyInCart {
		status = StatusLeft
	}
	if _, err := q.CloseWaitlistEntry(ctx, db.CloseWaitlistEntryParams{ID: e.ID, Status: status, ClosedAt: &now}); err != nil {
		return fmt.Errorf("close entry: %w", err)
	}
	if _, err := q.LeaveDayList(ctx, e.ServiceDayID); err != nil {
		return fmt.Errorf("leave list: %w", err)
	}
	return nil
}

// Lapse outcomes.
const (
	LapseExpired  = string(db.WaitlistStatusExpired)  // not paid in time: the line left the cart, its place is free
	LapseAccepted = string(db.WaitlistStatusAccepted) // paid in time
	LapseClosed   = "closed"                          // declined, or ended with its cart, already
	LapseBusy     = "busy"                            // its cart is being paid: the payment's outcome decides
	LapseNotDue   = "not_due"                         // its expiry is still ahead
)

// LapseResult is what Lapse did.
type LapseResult struct {
	Outcome   string
	Freed     *uuid.UUID // the day whose place the offer held (LapseExpired)
	ExpiresAt time.Time  // LapseNotDue: when to come back
}

// Lapse ends an offer whose time is up: its line leaves the cart and frees its
// place, exactly once. An offer whose cart is being paid at that second is left to
// the payment (accepted if it succeeds, expired by the next call if it does not);
// one paid, declined or gone with its cart is reported as it ended.
func (s *Store) Lapse(ctx context.Context, entryID uuid.UUID) (LapseResult, error) {
	var out LapseResult
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		now := s.now()
		e, err := q.GetWaitlistEntry(ctx, entryID)
		if err != nil {
			return fmt.Errorf("read entry: %w", err)
		}
		if e.Status != StatusOffered {
			out.Outcome = LapseClosed
			if e.Status == StatusAccepted {
				out.Outcome = LapseAccepted
			}
			return nil
		}
		if now.Before(*e.OfferExpiresAt) {
			out.Outcome, out.ExpiresAt = LapseNotDue, *e.OfferExpiresAt
			return nil
		}
		c, line, err := lockOfferCart(ctx, q, e)
		if err != nil {
			return err
		}
		if c.Status == db.CartStatusCheckingOut {
			out.Outcome = LapseBusy
			return nil
		}
		if e, err = q.LockWaitlistEntry(ctx, e.ID); err != nil {
			return fmt.Errorf("lock entry: %w", err)
		}
		if e.Status != StatusOffered { // settled between the read and the lock
			out.Outcome = LapseClosed
			if e.Status == StatusAccepted {
				out.Outcome = LapseAccepted
			}
			return nil
		}
		day, err := q.ReleaseCartLine(ctx, line.ID)
		if err != nil {
			// Not held while its entry is offered: the cart's transactions close both
			// together, so this is a bug; stop rather than free a place twice.
			return fmt.Errorf("release offer line %s (%s): %w", line.ID, line.State, err)
		}
		if err := q.ReleasePlace(ctx, day); err != nil {
			return fmt.Errorf("release place: %w", err)
		}
		if _, err := q.CloseWaitlistEntry(ctx, db.CloseWaitlistEntryParams{ID: e.ID, Status: StatusExpired, ClosedAt: &now}); err != nil {
			return fmt.Errorf("close entry: %w", err)
		}
		out.Outcome, out.Freed = LapseExpired, &day
		return nil
	})
	return out, err
}

// State reads the day's list as its workflow needs it.
func (s *Store) State(ctx context.Context, dayID uuid.UUID) (DayState, error) {
	q := db.New(s.Pool)
	sd, err := q.GetServiceDayByID(ctx, dayID)
	if err != nil {
		return DayState{}, fmt.Errorf("read day: %w", err)
	}
	svc, err := q.GetService(ctx, db.GetServiceParams{OrgID: sd.OrgID, ID: sd.ServiceID})
	if err != nil {
		return DayState{}, fmt.Errorf("read service: %w", err)
	}
	_, loc, err := q.OrgZone(ctx, sd.OrgID)
	if err != nil {
		return DayState{}, err
	}
	offers, err := q.ListDayOffers(ctx, dayID)
	if err != nil {
		return DayState{}, fmt.Errorf("list offers: %w", err)
	}
	out := DayState{Waiting: sd.Waiting, Version: sd.WaitlistVersion, Deadline: services.BookingRule(svc).Deadline(sd.Day, loc), Offers: []OpenOffer{}}
	for _, o := range offers {
		out.Offers = append(out.Offers, OpenOffer{EntryID: o.ID, ExpiresAt: *o.OfferExpiresAt})
	}
	return out, nil
}

// Close ends the day's list once its booking deadline has passed: every child
// still waiting is told the list closed (status expired). It returns those
// entries; a second call finds none.
func (s *Store) Close(ctx context.Context, dayID uuid.UUID) ([]uuid.UUID, error) {
	var closed []uuid.UUID
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		now := s.now()
		entries, err := q.LockDayWaitingEntries(ctx, dayID)
		if err != nil {
			return fmt.Errorf("lock entries: %w", err)
		}
		for _, e := range entries {
			if _, err := q.CloseWaitlistEntry(ctx, db.CloseWaitlistEntryParams{ID: e.ID, Status: StatusExpired, ClosedAt: &now}); err != nil {
				return fmt.Errorf("close entry: %w", err)
			}
			closed = append(closed, e.ID)
		}
		if _, err := q.CloseDayWaitingList(ctx, dayID); err != nil {
			return fmt.Errorf("close list: %w", err)
		}
		return nil
	})
	return closed, err
}
