package cart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	auditlog "github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/services"
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
func (e *TooLateError) Message() string { return "L" + e.clause()[1:] + "." }

// clause is « le délai d'annulation était le mardi 1er décembre 2026 à 10h00 ».
func (e *TooLateError) clause() string {
	t := e.Deadline.In(e.Loc)
	return fmt.Sprintf("le délai d'annulation était le %s à %02dh%02d", document.WeekdayDate(t), t.Hour(), t.Minute())
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
	if res.Status != db.ReservationStatusConfirmed {
		return Cancellation{}, ErrAlreadyCancelled
	}
	org, err := q.GetOrg(ctx, res.OrgID)
	if err != nil {
		return Cancellation{}, fmt.Errorf("read org: %w", err)
	}
	loc, err := org.Zone()
	if err != nil {
		return Cancellation{}, fmt.Errorf("org time zone: %w", err)
	}
	// An inactive service still lets its reservations be cancelled.
	svc, err := q.GetService(ctx, db.GetServiceParams{OrgID: res.OrgID, ID: res.ServiceID})
	if err != nil {
		return Cancellation{}, fmt.Errorf("read service: %w", err)
	}
	now := s.now()
	out := Cancellation{Deadline: services.CancelRule(svc).Deadline(res.Day, loc)}
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
	reason := ""
	if by != nil {
		actor, reason = &by.UserID, by.Reason
	}
	if refund && res.PriceCents > 0 {
		if out.CreditedCents, out.ReversedCents, err = giveBack(ctx, q, res, actor, reason, now); err != nil {
			return Cancellation{}, err
		}
	}
	if err := q.ReleasePlace(ctx, res.ServiceDayID); err != nil {
		return Cancellation{}, fmt.Errorf("release place: %w", err)
	}
	if by != nil {
		if err := audit(ctx, q, by.Staff, "reservation.cancel_on_behalf", res.ID, map[string]any{"status": res.Status}, map[string]any{
			"status": db.ReservationStatusCancelled, "reason": by.Reason, "in_time": out.InTime, "refund": refund,
			"credited_cents": out.CreditedCents, "reversed_cents": out.ReversedCents,
		}); err != nil {
			return Cancellation{}, err
		}
	}
	return out, nil
}

// giveBack returns a cancelled reservation's price to the family (ledger.GiveBack).
// A reservation paid online was paid at checkout; a staff booking was charged to
// the outstanding balance.
func giveBack(ctx context.Context, q *db.Queries, res db.Reservation, actor *uuid.UUID, reason string, now time.Time) (credited, reversed int64, err error) {
	return ledger.GiveBack(ctx, q, ledger.Charged{
		OrgID: res.OrgID, FamilyID: res.FamilyID, Cents: res.PriceCents, ToBalance: res.Source == db.ReservationSourceStaff,
		Key: ledger.CancelKey(res.ID), Label: "Annulation de la réservation du " + res.Day.Format("02/01/2006"),
		ReservationID: &res.ID, Reason: reason,
	}, actor, now)
}

// CancelRefusal explains why one reservation of a batch cannot be cancelled.
type CancelRefusal struct {
	Index   int       // in the request
	ID      uuid.UUID // the reservation
	Reason  string    // not_found, already_cancelled, deadline_passed
	Message string    // French, naming the day: « Le jeudi 3 décembre : … »
}

// CancelRefusedError: some reservations of a batch cannot be cancelled; none was.
type CancelRefusedError struct{ Refusals []CancelRefusal }

func (e *CancelRefusedError) Error() string {
	return fmt.Sprintf("%d cancellation(s) refused", len(e.Refusals))
}

// CancelMany cancels several of the family's reservations at once ("Valider les
// annulations" after unticking days in the calendar), all or none: one too late
// and nothing is cancelled, every refusal named. Each is cancelled as Cancel does.
//
// Locks follow the order of every writer: the reservations (in the order of their
// IDs), then the family and its live cart, then the service days (in the order of
// their IDs, the reservations being cancelled in that order).
func (s *Store) CancelMany(ctx context.Context, f Family, ids []uuid.UUID) ([]Cancellation, error) {
	var out []Cancellation
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		order := make([]int, len(ids))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return bytes.Compare(ids[a][:], ids[b][:]) })
		type locked struct {
			index int
			res   db.Reservation
		}
		var rows []locked
		var refusals []CancelRefusal
		seen := map[uuid.UUID]bool{}
		for _, i := range order {
			if seen[ids[i]] {
				continue
			}
			seen[ids[i]] = true
			res, err := q.LockFamilyReservation(ctx, db.LockFamilyReservationParams{OrgID: f.OrgID, FamilyID: f.ID, ID: ids[i]})
			if errors.Is(err, pgx.ErrNoRows) {
				refusals = append(refusals, CancelRefusal{Index: i, ID: ids[i], Reason: "not_found", Message: "Cette réservation n'existe pas."})
				continue
			} else if err != nil {
				return fmt.Errorf("lock reservation: %w", err)
			}
			rows = append(rows, locked{index: i, res: res})
		}
		if err := ledger.LockFamilyAndLiveCart(ctx, q, f.OrgID, f.ID); err != nil {
			return err
		}
		slices.SortFunc(rows, func(a, b locked) int { return bytes.Compare(a.res.ServiceDayID[:], b.res.ServiceDayID[:]) })
		for _, r := range rows {
			k, err := s.cancel(ctx, q, r.res, nil)
			var late *TooLateError
			switch {
			case errors.Is(err, ErrAlreadyCancelled):
				refusals = append(refusals, CancelRefusal{Index: r.index, ID: r.res.ID, Reason: "already_cancelled",
					Message: DayMessage(r.res.Day.Format(time.DateOnly), "cette réservation est déjà annulée")})
			case errors.As(err, &late):
				refusals = append(refusals, CancelRefusal{Index: r.index, ID: r.res.ID, Reason: "deadline_passed",
					Message: DayMessage(r.res.Day.Format(time.DateOnly), late.clause())})
			case err != nil:
				return err
			default:
				out = append(out, k)
			}
		}
		if len(refusals) > 0 {
			slices.SortFunc(refusals, func(a, b CancelRefusal) int { return a.Index - b.Index })
			return &CancelRefusedError{Refusals: refusals}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Cancellation) int { return a.Reservation.Day.Compare(b.Reservation.Day) })
	return out, nil
}

// DayMessage names the day (YYYY-MM-DD) a refusal is about, as the family reads
// it: « Le jeudi 3 décembre : le délai de réservation est dépassé ».
func DayMessage(date, message string) string {
	d, err := booking.ParseDay(date)
	if err != nil {
		return message
	}
	return "Le " + document.DayMonth(d) + " : " + message
}
