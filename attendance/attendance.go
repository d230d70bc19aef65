// Package attendance holds the service day as the canteen and the accueil live it:
// the day's list (who is expected, their class, allergies and notes, who may
// collect them), the attendance sheet (pointage) and the week's numbers.
//
// Ticking a sheet never changes a reservation. A child with a reservation is
// present or absent; an absent child without a cancellation stays charged, and
// nothing moves. A child present without a reservation is an "unbooked
// attendance": charged by the rule finance set for the service (the family's price,
// the price with a surcharge, or nothing), through the ledger under the key
// attendance:<id>, with the reason staff gave. Unticking it gives the charge back
// (ledger.GiveBack, key attendance:<id>:withdrawn). Every change is audited.
package attendance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/services"
)

// Errors the API maps.
var (
	ErrNotFound     = errors.New("service not found")
	ErrNotScheduled = errors.New("the service does not run that day")
	ErrFutureDay    = errors.New("attendance of a day to come")
)

// Store runs the transactions.
type Store struct {
	Pool *pgxpool.Pool
	Now  db.Clock // nil: the system's
}

func (s *Store) now() time.Time { return s.Now.Time() }

// Statuses of a child on a sheet.
const (
	Present   = db.AttendanceStatusPresent
	Absent    = db.AttendanceStatusAbsent
	Withdrawn = db.AttendanceStatusWithdrawn // an unbooked attendance taken back
)

// Mark is one child ticked (present) or not on a day's sheet.
type Mark struct {
	ChildID uuid.UUID `json:"child_id"`
	Present bool      `json:"present"`
	Reason  string    `json:"reason"` // required for a child without a reservation
}

// Reasons a mark is refused.
const (
	ReasonUnknownChild   = "unknown_child"
	ReasonReasonRequired = "reason_required"
	ReasonNoPrice        = "no_price"
	ReasonDuplicate      = "duplicate"
)

var reasonText = map[string]string{
	ReasonUnknownChild:   "cet enfant n'est pas inscrit dans votre collectivité",
	ReasonReasonRequired: "enfant présent sans réservation : indiquez le motif",
	ReasonNoPrice:        "aucun tarif du service ne correspond au quotient familial de la famille",
	ReasonDuplicate:      "cet enfant figure deux fois",
}

// Refusal explains why one mark was refused.
type Refusal struct {
	Index   int
	ChildID uuid.UUID
	Reason  string
	Message string
}

// RefusedError: a sheet with a refused mark records nothing.
type RefusedError struct{ Refusals []Refusal }

func (e *RefusedError) Error() string { return fmt.Sprintf("%d mark(s) refused", len(e.Refusals)) }

// Recorded is what saving a sheet did.
type Recorded struct {
	Changed        int   // children whose status changed
	ChargedCents   int64 // charged for presences without a reservation
	GivenBackCents int64 // given back for presences taken back
}

// Record saves marks on the sheet of a service day, all or none, in one
// transaction. A mark that says what the sheet already holds changes nothing, so
// saving the same sheet twice charges once.
func (s *Store) Record(ctx context.Context, st cart.Staff, serviceID uuid.UUID, day time.Time, marks []Mark) (Recorded, error) {
	var out Recorded
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		svc, loc, err := serviceOf(ctx, q, st.OrgID, serviceID)
		if err != nil {
			return err
		}
		now := s.now()
		if day.After(booking.Day(now.In(loc))) {
			return ErrFutureDay
		}
		if _, err := q.GetServiceDay(ctx, db.GetServiceDayParams{OrgID: st.OrgID, ServiceID: serviceID, Day: day}); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotScheduled
		} else if err != nil {
			return fmt.Errorf("read service day: %w", err)
		}
		// Rows are locked child by child in the order of their IDs, the order every
		// sheet follows, so two sheets saved at once never deadlock.
		order := make([]int, len(marks))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(marks[a].ChildID.String(), marks[b].ChildID.String()) })
		r := &recorder{q: q, st: st, svc: svc, loc: loc, day: day, now: now}
		var refusals []Refusal
		seen := map[uuid.UUID]bool{}
		for _, i := range order {
			m := marks[i]
			m.Reason = strings.TrimSpace(m.Reason)
			reason := ""
			if seen[m.ChildID] {
				reason = ReasonDuplicate
			} else if reason, err = r.mark(ctx, m, &out); err != nil {
				return err
			}
			seen[m.ChildID] = true
			if reason != "" {
				refusals = append(refusals, Refusal{Index: i, ChildID: m.ChildID, Reason: reason, Message: reasonText[reason]})
			}
		}
		if len(refusals) > 0 {
			slices.SortFunc(refusals, func(a, b Refusal) int { return a.Index - b.Index })
			return &RefusedError{Refusals: refusals}
		}
		return nil
	})
	if err != nil {
		return Recorded{}, err
	}
	return out, nil
}

func serviceOf(ctx context.Context, q *db.Queries, orgID, serviceID uuid.UUID) (db.Service, *time.Location, error) {
	svc, err := q.GetService(ctx, db.GetServiceParams{OrgID: orgID, ID: serviceID})
	if errors.Is(err, pgx.ErrNoRows) {
		return svc, nil, ErrNotFound
	} else if err != nil {
		return svc, nil, fmt.Errorf("read service: %w", err)
	}
	org, err := q.GetOrg(ctx, orgID)
	if err != nil {
		return svc, nil, fmt.Errorf("read org: %w", err)
	}
	loc, err := org.Zone()
	if err != nil {
		return svc, nil, fmt.Errorf("org time zone: %w", err)
	}
	return svc, loc, nil
}

type recorder struct {
	q   *db.Queries
	st  cart.Staff
	svc db.Service
	loc *time.Location
	day time.Time
	now time.Time
}

// mark applies one child's mark; a non-empty reason refuses it.
func (r *recorder) mark(ctx context.Context, m Mark, out *Recorded) (string, error) {
	q := r.q
	child, err := q.GetOrgChild(ctx, db.GetOrgChildParams{OrgID: r.st.OrgID, ID: m.ChildID})
	if errors.Is(err, pgx.ErrNoRows) {
		return ReasonUnknownChild, nil
	} else if err != nil {
		return "", fmt.Errorf("read child: %w", err)
	}
	res, err := q.GetConfirmedReservation(ctx, db.GetConfirmedReservationParams{OrgID: r.st.OrgID, ServiceID: r.svc.ID, Day: r.day, ChildID: child.ID})
	hasRes := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("read reservation: %w", err)
	}
	for attempt := 0; attempt < 2; attempt++ {
		row, err := q.LockChildAttendance(ctx, db.LockChildAttendanceParams{ServiceID: r.svc.ID, Day: r.day, ChildID: child.ID})
		found := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", fmt.Errorf("lock attendance: %w", err)
		}
		// A row that no longer matches the child's situation (its reservation was
		// cancelled, or a reservation was made after an unbooked tick) is taken
		// back first.
		if found && (!hasRes && row.ReservationID != nil || hasRes && (row.ReservationID == nil || *row.ReservationID != res.ID)) {
			if err := r.withdraw(ctx, row, out); err != nil {
				return "", err
			}
			found = false
		}
		switch {
		case hasRes:
			status := Absent
			if m.Present {
				status = Present
			}
			if found {
				if row.Status == status {
					return "", nil
				}
				return "", r.setStatus(ctx, row, status, out)
			}
			inserted, err := r.insert(ctx, child, &res.ID, status, "", "", 0)
			if err != nil || !inserted {
				if err == nil {
					continue // ticked by someone else meanwhile: apply the mark to their row
				}
				return "", err
			}
			out.Changed++
			return "", nil
		case m.Present:
			if found {
				return "", nil // already present without a reservation: charged once
			}
			if m.Reason == "" {
				return ReasonReasonRequired, nil
			}
			reason, inserted, err := r.unbooked(ctx, child, m.Reason, out)
			if err != nil || reason != "" || inserted {
				return reason, err
			}
		default:
			if found {
				return "", r.withdraw(ctx, row, out)
			}
			return "", nil // not there and not expected: nothing to record
		}
	}
	return "", fmt.Errorf("attendance of child %s: ticked concurrently twice", child.ID)
}

func (r *recorder) insert(ctx context.Context, child db.Member, resID *uuid.UUID, status db.AttendanceStatus, reason, rule string, charged int64) (bool, error) {
	row, err := r.q.InsertAttendance(ctx, db.InsertAttendanceParams{
		ID: uuid.New(), OrgID: r.st.OrgID, ServiceID: r.svc.ID, Day: r.day, ChildID: child.ID, FamilyID: child.FamilyID,
		ReservationID: resID, Status: status, Reason: reason, Rule: rule, ChargedCents: charged,
		RecordedBy: &r.st.UserID, RecordedAt: r.now,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("insert attendance: %w", err)
	}
	return true, r.audit(ctx, "attendance.record", row, nil, row)
}

// unbooked records a child present without a reservation and charges it by the
// service's rule at the family's price.
func (r *recorder) unbooked(ctx context.Context, child db.Member, reason string, out *Recorded) (string, bool, error) {
	q := r.q
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: r.st.OrgID, ID: child.FamilyID})
	if err != nil {
		return "", false, fmt.Errorf("read family: %w", err)
	}
	rule, err := ruleOf(ctx, q, r.st.OrgID, r.svc.ID)
	if err != nil {
		return "", false, err
	}
	prices, err := q.ListServicePrices(ctx, []uuid.UUID{r.svc.ID})
	if err != nil {
		return "", false, fmt.Errorf("read prices: %w", err)
	}
	price, err := booking.Price(services.Brackets(prices), int(fam.Qf))
	if errors.Is(err, booking.ErrNoPrice) {
		if rule.Unbooked != RuleFree {
			return ReasonNoPrice, false, nil
		}
	} else if err != nil {
		return "", false, err
	}
	cost := rule.Cost(price)
	row, err := q.InsertAttendance(ctx, db.InsertAttendanceParams{
		ID: uuid.New(), OrgID: r.st.OrgID, ServiceID: r.svc.ID, Day: r.day, ChildID: child.ID, FamilyID: child.FamilyID,
		Status: Present, Reason: truncate(reason, 500), Rule: rule.Unbooked, ChargedCents: cost,
		RecordedBy: &r.st.UserID, RecordedAt: r.now,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil // ticked by someone else meanwhile
	} else if err != nil {
		return "", false, fmt.Errorf("insert attendance: %w", err)
	}
	if cost > 0 {
		label := "Présence sans réservation du " + r.day.Format("02/01/2006") + " (" + row.Reason + ")"
		if rule.Unbooked == RuleSurcharge {
			label += ", majoration de " + document.Euros(rule.SurchargeCents) + " comprise"
		}
		if err := ledger.Write(ctx, q, ledger.AttendanceCharge(row, cost, label, r.st.UserID, r.chargedAt())); err != nil {
			return "", false, err
		}
	}
	out.Changed++
	out.ChargedCents += cost
	return "", true, r.audit(ctx, "attendance.unbooked", row, nil, row)
}

// chargedAt dates the charge of a presence on the day the child came (noon in the
// org's zone), never in the future: the month's invoice is the month of the
// service, even when the sheet is filled in a few days later.
func (r *recorder) chargedAt() time.Time {
	noon := time.Date(r.day.Year(), r.day.Month(), r.day.Day(), 12, 0, 0, 0, r.loc)
	if noon.After(r.now) {
		return r.now
	}
	return noon
}

func (r *recorder) setStatus(ctx context.Context, row db.Attendance, status db.AttendanceStatus, out *Recorded) error {
	after, err := r.q.SetAttendanceStatus(ctx, db.SetAttendanceStatusParams{ID: row.ID, Status: status, RecordedBy: &r.st.UserID, UpdatedAt: r.now})
	if err != nil {
		return fmt.Errorf("update attendance: %w", err)
	}
	out.Changed++
	return r.audit(ctx, "attendance.record", after, row, after)
}

// withdraw takes a row back; an unbooked attendance's charge is given back.
func (r *recorder) withdraw(ctx context.Context, row db.Attendance, out *Recorded) error {
	after, err := r.q.SetAttendanceStatus(ctx, db.SetAttendanceStatusParams{ID: row.ID, Status: Withdrawn, RecordedBy: &r.st.UserID, UpdatedAt: r.now})
	if err != nil {
		return fmt.Errorf("withdraw attendance: %w", err)
	}
	if row.ReservationID == nil && row.ChargedCents > 0 {
		credited, reversed, err := ledger.GiveBack(ctx, r.q, ledger.Charged{
			OrgID: row.OrgID, FamilyID: row.FamilyID, Cents: row.ChargedCents, ToBalance: true,
			Key:   ledger.AttendanceWithdrawnKey(row.ID),
			Label: "Présence sans réservation du " + row.Day.Format("02/01/2006") + " retirée", AttendanceID: &row.ID,
		}, &r.st.UserID, r.now)
		if err != nil {
			return err
		}
		out.GivenBackCents += credited + reversed
	}
	out.Changed++
	return r.audit(ctx, "attendance.withdraw", after, row, after)
}

// attendanceAudit is an attendance as the audit log keeps it.
type attendanceAudit struct {
	ServiceID     uuid.UUID           `json:"service_id"`
	Date          string              `json:"date"`
	ChildID       uuid.UUID           `json:"child_id"`
	FamilyID      uuid.UUID           `json:"family_id"`
	ReservationID *uuid.UUID          `json:"reservation_id"`
	Status        db.AttendanceStatus `json:"status"`
	Reason        string              `json:"reason,omitempty"`
	Rule          string              `json:"rule,omitempty"`
	ChargedCents  int64               `json:"charged_cents"`
}

func auditOf(a db.Attendance) attendanceAudit {
	return attendanceAudit{ServiceID: a.ServiceID, Date: a.Day.Format(time.DateOnly), ChildID: a.ChildID, FamilyID: a.FamilyID,
		ReservationID: a.ReservationID, Status: a.Status, Reason: a.Reason, Rule: a.Rule, ChargedCents: a.ChargedCents}
}

func (r *recorder) audit(ctx context.Context, action string, row db.Attendance, before, after any) error {
	var b, a any
	if v, ok := before.(db.Attendance); ok {
		b = auditOf(v)
	}
	if v, ok := after.(db.Attendance); ok {
		a = auditOf(v)
	}
	return audit.Record(ctx, r.q, audit.Entry{OrgID: r.st.OrgID, Actor: &r.st.UserID, Action: action, Entity: "attendance",
		EntityID: row.ID.String(), Before: b, After: a, At: r.now})
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
