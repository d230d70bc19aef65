package cart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	auditlog "github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
)

// ErrAlreadyCancelled refuses to cancel a reservation twice.
var ErrAlreadyCancelled = errors.New("reservation already cancelled")

// ErrReasonRequired: staff acting past a deadline must say why.
var ErrReasonRequired = errors.New("a reason is required to act past the deadline")

// TooLateError refuses a family's cancellation after the service's deadline.
type TooLateError struct {
	Deadline time.Time
	Loc      *time.Location // the org's zone, in which the deadline is told
}

func (e *TooLateError) Error() string {
	return "cancellation deadline passed at " + e.Deadline.Format(time.RFC3339)
}

// Message tells the family when the deadline was, in French and in the org's zone.
func (e *TooLateError) Message() string {
	t := e.Deadline.In(e.Loc)
	return fmt.Sprintf("Le délai d'annulation était le %s à %02dh%02d.", document.WeekdayDate(t), t.Hour(), t.Minute())
}

// Cancellation is what a cancellation did.
type Cancellation struct {
	Reservation   db.Reservation
	Deadline      time.Time // the cancellation deadline of the day
	InTime        bool
	CreditedCents int64 // added to the cagnotte
	ReversedCents int64 // taken off the outstanding balance: an unpaid staff booking
}

// Cancel cancels one of the family's confirmed reservations, if the service's
// cancellation deadline has not passed: the reservation is cancelled, its place
// freed and its price given back (see giveBack), in one transaction.
func (s *Store) Cancel(ctx context.Context, f Family, id uuid.UUID) (Cancellation, error) {
	var out Cancellation
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		res, err := q.LockFamilyReservation(ctx, db.LockFamilyReservationParams{OrgID: f.OrgID, FamilyID: f.ID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock reservation: %w", err)
		}
		out, err = s.cancel(ctx, q, res, nil)
		return err
	})
	return out, err
}

// Staff is a staff member acting in their org.
type Staff = auditlog.Actor

// ErrLateCreditForbidden: giving the price back past the cancellation deadline is
// a decision of finance (or an admin), not of the desk.
var ErrLateCreditForbidden = errors.New("giving credit past the deadline needs the finance role")

// StaffCancel is how staff cancel on a family's behalf.
type StaffCancel struct {
	Reason string // required past the deadline
	Refund *bool  // give the price back; nil: as a family would get it (only in time)
	// MayCreditLate: this staff member may give the price back past the deadline
	// (finance, admin).
	MayCreditLate bool
}

// CancelOnBehalf cancels a reservation of any family of the staff member's org,
// past the deadline too when a reason is given.
func (s *Store) CancelOnBehalf(ctx context.Context, st Staff, id uuid.UUID, sc StaffCancel) (Cancellation, error) {
	var out Cancellation
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		res, err := q.LockOrgReservation(ctx, db.LockOrgReservationParams{OrgID: st.OrgID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock reservation: %w", err)
		}
		out, err = s.cancel(ctx, q, res, &staffAct{Staff: st, StaffCancel: sc})
		return err
	})
	return out, err
}

type staffAct struct {
	Staff
	StaffCancel
}

// cancel runs under the reservation's row lock. Locks follow reservation → family
// → cart → service day, the order of every other writer that takes several.
func (s *Store) cancel(ctx context.Context, q *db.Queries, res db.Reservation, by *staffAct) (Cancellation, error) {
	if res.Status != "confirmed" {
		return Cancellation{}, ErrAlreadyCancelled
	}
	org, err := q.GetOrg(ctx, res.OrgID)
	if err != nil {
		return Cancellation{}, fmt.Errorf("read org: %w", err)
	}
	loc, err := time.LoadLocation(org.TimeZone)
	if err != nil {
		return Cancellation{}, fmt.Errorf("org time zone: %w", err)
	}
	// An inactive service still lets its reservations be cancelled.
	svc, err := q.GetService(ctx, db.GetServiceParams{OrgID: res.OrgID, ID: res.ServiceID})
	if err != nil {
		return Cancellation{}, fmt.Errorf("read service: %w", err)
	}
	now := s.now()
	out := Cancellation{Deadline: CancelRule(svc).Deadline(res.Day, loc)}
	out.InTime = now.Before(out.Deadline)
	refund := out.InTime
	switch {
	case by == nil && !out.InTime:
		return Cancellation{}, &TooLateError{Deadline: out.Deadline, Loc: loc}
	case by != nil && !out.InTime && by.Reason == "":
		return Cancellation{}, ErrReasonRequired
	case by != nil && by.Refund != nil:
		refund = *by.Refund
		if refund && !out.InTime && !by.MayCreditLate {
			return Cancellation{}, ErrLateCreditForbidden
		}
	}
	if out.Reservation, err = q.CancelReservation(ctx, db.CancelReservationParams{ID: res.ID, CancelledAt: &now}); err != nil {
		return Cancellation{}, fmt.Errorf("cancel reservation: %w", err)
	}
	var actor *uuid.UUID
	if by != nil {
		actor = &by.UserID
	}
	if refund && res.PriceCents > 0 {
		if out.CreditedCents, out.ReversedCents, err = giveBack(ctx, q, res, actor, now); err != nil {
			return Cancellation{}, err
		}
	}
	if err := q.ReleasePlace(ctx, res.ServiceDayID); err != nil {
		return Cancellation{}, fmt.Errorf("release place: %w", err)
	}
	if by != nil {
		if err := audit(ctx, q, by.Staff, "reservation.cancel_on_behalf", res.ID, map[string]any{"status": res.Status}, map[string]any{
			"status": "cancelled", "reason": by.Reason, "in_time": out.InTime, "refund": refund,
			"credited_cents": out.CreditedCents, "reversed_cents": out.ReversedCents,
		}); err != nil {
			return Cancellation{}, err
		}
	}
	return out, nil
}

// giveBack returns a cancelled reservation's price to the family (see GiveBack).
// A reservation paid online was paid at checkout; a staff booking was charged to
// the outstanding balance.
func giveBack(ctx context.Context, q *db.Queries, res db.Reservation, actor *uuid.UUID, now time.Time) (credited, reversed int64, err error) {
	return GiveBack(ctx, q, Charge{
		OrgID: res.OrgID, FamilyID: res.FamilyID, Cents: res.PriceCents, ToBalance: res.Source == "staff",
		Key: "cancel:" + res.ID.String(), Label: "Annulation de la réservation du " + res.Day.Format("02/01/2006"),
		ReservationID: &res.ID,
	}, actor, now)
}

// Charge is money a family was charged and is given back: a reservation's price,
// or what a presence without a reservation cost.
type Charge struct {
	OrgID, FamilyID uuid.UUID
	Cents           int64
	// ToBalance: charged to the outstanding balance (a booking by staff, a
	// presence without a reservation), not paid at a checkout.
	ToBalance bool
	Key       string // ledger key of the give-back; the cagnotte part gets Key+":credit" when both are written
	Label     string // "Annulation de la réservation du 03/12/2026"
	// What the entries name.
	ReservationID, AttendanceID *uuid.UUID
}

// GiveBack returns a charge to the family, so that what it owes minus what it
// holds (outstanding − credit) drops by exactly that amount.
//
// Money paid at checkout goes to the cagnotte (cancellation_credit). A charge to
// the outstanding balance is, as long as that balance is unpaid, reversed (an
// adjustment that lowers the outstanding balance) instead of crediting money the
// family never paid. Only the part the family still owes is reversed —
// outstanding balance already frozen into a checkout in progress counts as paid
// — and the rest goes to the cagnotte. The family row is locked so two
// give-backs never reverse the same euro twice, and the live cart so a checkout
// cannot freeze the balance meanwhile.
func GiveBack(ctx context.Context, q *db.Queries, c Charge, actor *uuid.UUID, now time.Time) (credited, reversed int64, err error) {
	if c.ToBalance {
		if err := q.LockFamilyForMoney(ctx, c.FamilyID); err != nil {
			return 0, 0, fmt.Errorf("lock family: %w", err)
		}
		if live, err := q.GetLiveCart(ctx, db.GetLiveCartParams{OrgID: c.OrgID, FamilyID: c.FamilyID}); err == nil {
			if _, err := q.LockCart(ctx, live.ID); err != nil {
				return 0, 0, fmt.Errorf("lock cart: %w", err)
			}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return 0, 0, fmt.Errorf("live cart: %w", err)
		}
		bal, err := q.FamilyBalances(ctx, c.FamilyID)
		if err != nil {
			return 0, 0, fmt.Errorf("balances: %w", err)
		}
		pending, err := q.PendingCheckoutOutstanding(ctx, c.FamilyID)
		if err != nil {
			return 0, 0, fmt.Errorf("pending checkout: %w", err)
		}
		reversed = min(c.Cents, max(bal.OutstandingCents-pending, 0))
	}
	credited = c.Cents - reversed
	key := c.Key
	if reversed > 0 {
		if err := ledger(ctx, q, db.InsertLedgerEntryParams{
			OrgID: c.OrgID, FamilyID: c.FamilyID, Kind: "adjustment", OutstandingCents: -reversed,
			IdempotencyKey: key, ReservationID: c.ReservationID, AttendanceID: c.AttendanceID, CreatedBy: actor, OccurredAt: now,
			Label: c.Label + " (non réglée)",
		}); err != nil {
			return 0, 0, err
		}
		key += ":credit"
	}
	if credited > 0 {
		if err := ledger(ctx, q, db.InsertLedgerEntryParams{
			OrgID: c.OrgID, FamilyID: c.FamilyID, Kind: "cancellation_credit", CreditCents: credited,
			IdempotencyKey: key, ReservationID: c.ReservationID, AttendanceID: c.AttendanceID, CreatedBy: actor, OccurredAt: now,
			Label: c.Label,
		}); err != nil {
			return 0, 0, err
		}
	}
	return credited, reversed, nil
}

func ledger(ctx context.Context, q *db.Queries, e db.InsertLedgerEntryParams) error {
	if _, err := q.InsertLedgerEntry(ctx, e); err != nil {
		return fmt.Errorf("ledger %s: %w", e.IdempotencyKey, err)
	}
	return nil
}
