package services

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
)

// Day is a service day as the back office and the audit log read it.
type Day struct {
	Date       string `json:"date"`
	Open       bool   `json:"open"`
	Capacity   *int32 `json:"capacity"` // null: unlimited
	Taken      int32  `json:"taken"`    // held in carts + confirmed
	PlacesLeft *int32 `json:"places_left"`
	Waiting    int32  `json:"waiting"` // children on the day's waiting list
}

// DayView is d as the back office reads it.
func DayView(d db.ServiceDay) Day {
	out := Day{Date: d.Day.Format(time.DateOnly), Open: d.Open, Capacity: d.Capacity, Taken: d.Taken, Waiting: d.Waiting}
	if left, limited := booking.PlacesLeft(d.Capacity, d.Taken, d.Waiting); limited {
		out.PlacesLeft = &left
	}
	return out
}

// Days lists a month (YYYY-MM) of a service of the org's days.
func (s *Store) Days(ctx context.Context, orgID, serviceID uuid.UUID, month string) ([]db.ServiceDay, error) {
	sv, err := s.Get(ctx, orgID, serviceID)
	if err != nil {
		return nil, err
	}
	first, last, err := booking.ParseMonth(month)
	if err != nil {
		return nil, check.Invalid("Mois attendu au format AAAA-MM.", "month", "format AAAA-MM")
	}
	return db.New(s.Pool).ListServiceDays(ctx, db.ListServiceDaysParams{ServiceID: sv.ID, FirstDay: first, LastDay: last})
}

// DayEdit opens, closes or re-sizes one day.
type DayEdit struct {
	Date     string `json:"date"`
	Open     *bool  `json:"open"`     // default true
	Capacity *int32 `json:"capacity"` // null or absent: unlimited
}

// CapacityError refuses capacities below the places already taken; no day changed.
type CapacityError struct{ Fields []check.Field }

func (e *CapacityError) Error() string {
	return fmt.Sprintf("%d capacities below taken", len(e.Fields))
}

// PutDays opens, closes or re-sizes days of a service of the actor's org, all or
// nothing, and returns them with those edited (their places may go to a waiting
// list). A capacity below the places already taken is refused (*CapacityError):
// those families hold or paid their place. Closing a day keeps its reservations
// (cancel them on the families' behalf if the service will not run) and stops new
// bookings. Audited.
func (s *Store) PutDays(ctx context.Context, by audit.Actor, serviceID uuid.UUID, edits []DayEdit) ([]db.ServiceDay, error) {
	sv, err := s.Get(ctx, by.OrgID, serviceID)
	if err != nil {
		return nil, err
	}
	if len(edits) == 0 || len(edits) > 400 {
		return nil, check.Invalid("Indiquez entre 1 et 400 jours.", "days", "entre 1 et 400 éléments")
	}
	type edit struct {
		index    int
		day      time.Time
		open     bool
		capacity *int32
	}
	checked := make([]edit, 0, len(edits))
	seen := map[time.Time]bool{}
	var bad check.Fields
	for i, d := range edits {
		field := "days[" + strconv.Itoa(i) + "]"
		day, err := booking.ParseDay(d.Date)
		switch {
		case err != nil:
			bad.Add(field+".date", check.BadDate)
			continue
		case seen[day]:
			bad.Add(field+".date", "date en double")
			continue
		case d.Capacity != nil && *d.Capacity < 0:
			bad.Add(field+".capacity", "capacité positive ou nulle (null : illimitée)")
			continue
		}
		seen[day] = true
		e := edit{index: i, day: day, open: true, capacity: d.Capacity}
		if d.Open != nil {
			e.open = *d.Open
		}
		checked = append(checked, e)
	}
	if err := bad.Err("Jours invalides."); err != nil {
		return nil, err
	}
	dates := make([]time.Time, len(checked))
	for i, e := range checked {
		dates[i] = e.day
	}
	var out []db.ServiceDay
	err = db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		// Lock the existing days first, in the order every writer of service_days
		// follows; bookings on them wait, so "taken" cannot move under the guard.
		locked, err := q.LockServiceDays(ctx, db.LockServiceDaysParams{ServiceID: sv.ID, Days: dates})
		if err != nil {
			return fmt.Errorf("lock days: %w", err)
		}
		taken := map[time.Time]int32{}
		for _, d := range locked {
			taken[d.Day] = d.Taken
		}
		var below []check.Field
		for _, e := range checked {
			d, err := q.UpsertServiceDay(ctx, db.UpsertServiceDayParams{
				ID: uuid.New(), OrgID: sv.OrgID, ServiceID: sv.ID, Day: e.day, Open: e.open, Capacity: e.capacity,
			})
			if db.NotFound(err) {
				n := taken[e.day]
				below = append(below, check.Field{
					Field:   "days[" + strconv.Itoa(e.index) + "].capacity",
					Message: fmt.Sprintf("%d place(s) déjà prise(s) le %s : la capacité ne peut pas être inférieure à %d", n, e.day.Format("02/01/2006"), n),
					Reason:  "below_taken",
				})
				continue
			} else if err != nil {
				return fmt.Errorf("upsert day: %w", err)
			}
			out = append(out, d)
		}
		if len(below) > 0 {
			return &CapacityError{Fields: below}
		}
		return s.record(ctx, q, by, "service.days", sv.ID, views(locked), views(out))
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b db.ServiceDay) int { return a.Day.Compare(b.Day) })
	return out, nil
}

func views(days []db.ServiceDay) []Day {
	out := make([]Day, 0, len(days))
	for _, d := range days {
		out = append(out, DayView(d))
	}
	return out
}

// Generation opens a service on its weekdays between two days.
type Generation struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Capacity *int32 `json:"capacity"`
}

// GenerateDays opens a service of the actor's org on its weekdays between two
// days (400 at most), except on the org's closures; days that exist already are
// left as they are. It returns how many it created. Audited, with the period, the
// capacity and that number.
func (s *Store) GenerateDays(ctx context.Context, by audit.Actor, serviceID uuid.UUID, g Generation) (int64, error) {
	sv, err := s.Get(ctx, by.OrgID, serviceID)
	if err != nil {
		return 0, err
	}
	from, err1 := booking.ParseDay(g.From)
	to, err2 := booking.ParseDay(g.To)
	var bad check.Fields
	if err1 != nil {
		bad.Add("from", check.BadDate)
	}
	if err2 != nil {
		bad.Add("to", check.BadDate)
	}
	if err1 == nil && err2 == nil && (to.Before(from) || to.Sub(from) > 400*24*time.Hour) {
		bad.Add("to", "période de 1 à 400 jours")
	}
	if g.Capacity != nil && *g.Capacity < 0 {
		bad.Add("capacity", "capacité positive ou nulle (null : illimitée)")
	}
	if err := bad.Err("Période invalide."); err != nil {
		return 0, err
	}
	var created int64
	err = db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		var err error
		if created, err = q.GenerateServiceDays(ctx, db.GenerateServiceDaysParams{ServiceID: sv.ID, FirstDay: from, LastDay: to, Capacity: g.Capacity}); err != nil {
			return fmt.Errorf("generate days: %w", err)
		}
		return s.record(ctx, q, by, "service.days_generate", sv.ID, nil, map[string]any{
			"name": sv.Name, "first_day": from.Format(time.DateOnly), "last_day": to.Format(time.DateOnly), "capacity": g.Capacity, "created": created,
		})
	})
	return created, err
}
