package waitlist

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/services"
)

// StaffEntry is an entry as the back office sees it: the child and its family.
type StaffEntry struct {
	Entry
	FirstName, LastName, School, ClassName string
	FamilyName, FamilyEmail, FamilyPhone   string
}

// DayView is a day's list for staff.
type DayView struct {
	Day      db.ServiceDay
	Service  db.Service
	Deadline time.Time // the booking deadline: the list closes then
	Entries  []StaffEntry
}

// Day returns the list of a service's day in the staff member's org: the
// children waiting in order, the offers, then the entries closed.
func (s *Store) Day(ctx context.Context, st cart.Staff, serviceID uuid.UUID, day time.Time) (DayView, error) {
	q := db.New(s.Pool)
	v, err := staffDay(ctx, q, st, serviceID, day)
	if err != nil {
		return DayView{}, err
	}
	rows, err := q.ListDayWaitlist(ctx, db.ListDayWaitlistParams{OrgID: st.OrgID, ServiceDayID: v.Day.ID})
	if err != nil {
		return DayView{}, fmt.Errorf("list entries: %w", err)
	}
	v.Entries = make([]StaffEntry, 0, len(rows))
	for _, r := range rows {
		e := entryOf(r.WaitlistEntry, r.Rank)
		e.ServiceName, e.ChildName = v.Service.Name, r.FirstName
		v.Entries = append(v.Entries, StaffEntry{
			Entry: e, FirstName: r.FirstName, LastName: r.LastName, School: r.School, ClassName: r.ClassName,
			FamilyName: r.FamilyName, FamilyEmail: r.FamilyEmail, FamilyPhone: r.FamilyPhone,
		})
	}
	return v, nil
}

// Has reports whether the entry is on the day's list.
func (v DayView) Has(entryID uuid.UUID) bool {
	return slices.ContainsFunc(v.Entries, func(e StaffEntry) bool { return e.ID == entryID })
}

func staffDay(ctx context.Context, q *db.Queries, st cart.Staff, serviceID uuid.UUID, day time.Time) (DayView, error) {
	svc, err := q.GetService(ctx, db.GetServiceParams{OrgID: st.OrgID, ID: serviceID})
	if errors.Is(err, pgx.ErrNoRows) {
		return DayView{}, ErrNotFound
	} else if err != nil {
		return DayView{}, fmt.Errorf("read service: %w", err)
	}
	sd, err := q.GetServiceDay(ctx, db.GetServiceDayParams{OrgID: st.OrgID, ServiceID: serviceID, Day: day})
	if errors.Is(err, pgx.ErrNoRows) {
		return DayView{}, ErrNotFound
	} else if err != nil {
		return DayView{}, fmt.Errorf("read day: %w", err)
	}
	_, loc, err := q.OrgZone(ctx, st.OrgID)
	if err != nil {
		return DayView{}, err
	}
	return DayView{Day: sd, Service: svc, Deadline: services.BookingRule(svc).Deadline(sd.Day, loc)}, nil
}

// Reorder gives the day's waiting children the order staff chose (the
// municipality's priorities: working parents first, siblings…). order must name
// every entry waiting now, each once: a list that changed since staff looked at
// it is refused (ErrListChanged) rather than reordered half blind. Audited with the
// reason.
func (s *Store) Reorder(ctx context.Context, st cart.Staff, serviceID uuid.UUID, day time.Time, order []uuid.UUID, reason string) (db.ServiceDay, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return db.ServiceDay{}, ErrReasonNeeded
	}
	var out db.ServiceDay
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		v, err := staffDay(ctx, q, st, serviceID, day)
		if err != nil {
			return err
		}
		// The entries first (by id), then the day: the lock order of the lists.
		waiting, err := q.LockDayWaitingEntries(ctx, v.Day.ID)
		if err != nil {
			return fmt.Errorf("lock entries: %w", err)
		}
		slices.SortFunc(waiting, cmpPosition)
		before := make([]uuid.UUID, len(waiting))
		for i, e := range waiting {
			before[i] = e.ID
		}
		if !sameSet(before, order) {
			return ErrListChanged
		}
		if out, err = q.BumpWaitlistVersion(ctx, v.Day.ID); err != nil {
			return fmt.Errorf("lock day: %w", err)
		}
		next, err := q.NextWaitlistPosition(ctx, v.Day.ID)
		if err != nil {
			return fmt.Errorf("position: %w", err)
		}
		for i, id := range order {
			if err := q.SetWaitlistPosition(ctx, db.SetWaitlistPositionParams{ID: id, Position: next + int64(i)}); err != nil {
				return fmt.Errorf("reorder: %w", err)
			}
		}
		return audit(ctx, q, st, "waitlist.reorder", "service_day", v.Day.ID.String(),
			map[string]any{"order": before}, map[string]any{"order": order, "reason": reason}, s.now())
	})
	return out, err
}

func cmpPosition(a, b db.WaitlistEntry) int {
	return cmp.Or(cmp.Compare(a.Position, b.Position), bytes.Compare(a.ID[:], b.ID[:]))
}

func sameSet(a, b []uuid.UUID) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[uuid.UUID]bool, len(a))
	for _, id := range a {
		seen[id] = true
	}
	for _, id := range b {
		if !seen[id] {
			return false
		}
		delete(seen, id)
	}
	return true
}

// JoinOnBehalf puts a child of a family of the staff member's org on a full day's
// list (a family that asked at the desk or on the phone), with the family's checks.
// Audited.
func (s *Store) JoinOnBehalf(ctx context.Context, st cart.Staff, familyID uuid.UUID, it cart.Item, reason string) (Entry, error) {
	var out Entry
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		joined, refusals, err := cart.JoinEach(ctx, tx, cart.Family{OrgID: st.OrgID, ID: familyID}, []cart.Item{it}, s.now(), s.joinOne(st.UserID))
		if err != nil {
			return err
		}
		if len(refusals) > 0 {
			return refused(refusals)
		}
		out = joined[0]
		return audit(ctx, db.New(tx), st, "waitlist.join_on_behalf", "waitlist_entry", out.ID.String(), nil, map[string]any{
			"family_id": familyID, "child_id": it.ChildID, "service_id": it.ServiceID, "date": it.Date,
			"rank": out.Rank, "reason": strings.TrimSpace(reason),
		}, s.now())
	})
	return out, err
}
