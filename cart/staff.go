package cart

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/ledger"
)

// StaffBooking is a booking staff make on a family's behalf.
type StaffBooking struct {
	Items            []Item
	Reason           string
	OverrideDeadline bool // book past the booking deadline; needs a reason
	// OverrideWaitlist books a free place that children waiting on the day's list
	// would have been offered; needs a reason.
	OverrideWaitlist bool
}

// staffText words the refusals for the back office, where "your family" is wrong.
var staffText = map[string]string{
	ReasonNotYourChild:   "cet enfant n'appartient pas à cette famille",
	ReasonAlreadyInCart:  "ce jour est dans le panier en cours de la famille",
	ReasonNoPrice:        "aucun tarif ne correspond au quotient familial de la famille",
	ReasonDeadlinePassed: "le délai de réservation est dépassé : passez outre avec un motif pour réserver quand même",
	ReasonWaitlist:       "des enfants attendent une place ce jour-là sur la liste d'attente : proposez-leur la place depuis la liste, ou passez outre avec un motif",
}

// BookOnBehalf books every item for a family of the staff member's org, or none.
// The checks are the family's (place), except the booking deadline when overridden
// with a reason; capacity still holds through the guarded UPDATE. Each reservation is
// confirmed at once, at the family's QF price, and charged to its outstanding
// balance, which its next cart includes.
func (s *Store) BookOnBehalf(ctx context.Context, st Staff, familyID uuid.UUID, b StaffBooking) ([]db.Reservation, error) {
	b.Reason = strings.TrimSpace(b.Reason)
	if (b.OverrideDeadline || b.OverrideWaitlist) && b.Reason == "" {
		return nil, ErrReasonRequired
	}
	var out []db.Reservation
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		r, err := newRules(ctx, q, Family{OrgID: st.OrgID, ID: familyID})
		if err != nil {
			return err
		}
		now := s.now()
		o := checkOptions{ignoreDeadline: b.OverrideDeadline, overrideWaitlist: b.OverrideWaitlist, staff: true}
		res, refusals, err := place(ctx, tx, r, b.Items, now, o, allOrNothing, reserveFor(r, st, b.Reason, b.OverrideWaitlist, now))
		if err != nil {
			return err
		}
		if len(refusals) > 0 {
			for i := range refusals {
				if m, ok := staffText[refusals[i].Reason]; ok {
					refusals[i].Message = m
				}
			}
			return &RefusedError{Refusals: refusals}
		}
		for _, rv := range res {
			if err := audit(ctx, q, st, "reservation.book_on_behalf", rv.ID, nil, map[string]any{
				"child_id": rv.ChildID, "service_id": rv.ServiceID, "date": rv.Day.Format(time.DateOnly),
				"price_cents": rv.PriceCents, "reason": b.Reason, "override_deadline": b.OverrideDeadline,
				"override_waitlist": b.OverrideWaitlist,
			}); err != nil {
				return err
			}
		}
		out = res
		return nil
	})
	return out, err
}

// reserveFor confirms a candidate as a staff reservation and charges it. A child
// waiting on the day's list leaves it, booked.
func reserveFor(r *rules, st Staff, reason string, overrideWaitlist bool, now time.Time) takeFunc[db.Reservation] {
	return func(ctx context.Context, q *db.Queries, c candidate) (db.Reservation, string, error) {
		// A waiting-list entry of the child locks before the day's row, the order of
		// the lists' writers.
		waiting, err := q.LockChildWaitingEntry(ctx, db.LockChildWaitingEntryParams{ChildID: c.child.ID, ServiceDayID: c.sd.ID})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return db.Reservation{}, "", fmt.Errorf("lock waitlist entry: %w", err)
		}
		onList := err == nil
		// The day's row next: once it is locked, a cart line or reservation made
		// since the checks is visible, since those writers lock it too.
		take := q.TakePlace
		if overrideWaitlist {
			take = q.TakePlaceOverList
		}
		if _, err := take(ctx, c.sd.ID); errors.Is(err, pgx.ErrNoRows) {
			sd, err := q.GetServiceDayByID(ctx, c.sd.ID)
			if err != nil {
				return db.Reservation{}, "", fmt.Errorf("read service day: %w", err)
			}
			return db.Reservation{}, cmp.Or(capacityHint(sd, checkOptions{staff: true}), ReasonFull), nil
		} else if err != nil {
			return db.Reservation{}, "", fmt.Errorf("take place: %w", err)
		}
		held, err := q.HasHeldLine(ctx, db.HasHeldLineParams{ChildID: c.child.ID, ServiceDayID: c.sd.ID})
		if err != nil {
			return db.Reservation{}, "", fmt.Errorf("check cart lines: %w", err)
		}
		if held {
			return db.Reservation{}, ReasonAlreadyInCart, nil
		}
		res, err := q.InsertStaffReservation(ctx, db.InsertStaffReservationParams{
			ID: uuid.New(), OrgID: r.fam.OrgID, FamilyID: r.fam.ID, ChildID: c.child.ID, ServiceID: c.svc.ID,
			ServiceDayID: c.sd.ID, Day: c.day, PriceCents: c.price, BookedBy: &st.UserID, Reason: reason,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return db.Reservation{}, ReasonAlreadyReserved, nil
		} else if err != nil {
			return db.Reservation{}, "", fmt.Errorf("insert reservation: %w", err)
		}
		if onList {
			if err := q.AcceptWaitingEntry(ctx, waiting.ID); err != nil {
				return db.Reservation{}, "", fmt.Errorf("close waitlist entry: %w", err)
			}
			if _, err := q.LeaveDayList(ctx, c.sd.ID); err != nil {
				return db.Reservation{}, "", fmt.Errorf("leave list: %w", err)
			}
		}
		if res.PriceCents > 0 {
			if err := ledger.Write(ctx, q, ledger.StaffCharge(res, st.UserID, reason, now)); err != nil {
				return db.Reservation{}, "", err
			}
		}
		return res, "", nil
	}
}

// audit records what staff did to a reservation, with the reason they gave.
func audit(ctx context.Context, q *db.Queries, st Staff, action string, id uuid.UUID, before any, after map[string]any) error {
	var b []byte
	if before != nil {
		var err error
		if b, err = json.Marshal(before); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	a, err := json.Marshal(after)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := q.AuditReservationChange(ctx, db.AuditReservationChangeParams{
		OrgID: st.OrgID, ActorID: &st.UserID, Action: action, EntityID: id.String(), Before: b, After: a,
	}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
