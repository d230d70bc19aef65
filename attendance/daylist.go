package attendance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/db"
)

// Collector is a person the family authorised to collect its children.
type Collector struct {
	Name         string `json:"name"`
	Phone        string `json:"phone"`
	Relationship string `json:"relationship"`
}

// Child is one line of the day's list.
type Child struct {
	ChildID       uuid.UUID
	FamilyID      uuid.UUID
	ReservationID *uuid.UUID // nil: present without a reservation
	FirstName     string
	LastName      string
	School        string
	ClassName     string
	BirthDate     *time.Time
	Allergies     string
	Notes         string
	FamilyName    string
	FamilyPhones  []string
	MayCollect    []Collector
	Source        db.ReservationSource // of the reservation: online or staff
	// Status on the sheet: "" (not ticked yet), Present or Absent.
	Status db.AttendanceStatus
	// A presence without a reservation: its reason and what it was charged.
	Reason       string
	ChargedCents int64
}

// DayList is a service day as the canteen or the accueil prints it.
type DayList struct {
	Service   db.Service
	Day       time.Time
	Scheduled bool // the service has this day in its calendar
	Open      bool
	Capacity  *int32
	Taken     int32 // places held in carts and confirmed
	Rule      Rule  // for presences without a reservation
	Expected  []Child
	Unbooked  []Child
}

// Ticked counts the expected children already ticked present or absent.
func (d DayList) Ticked() int {
	n := 0
	for _, c := range d.Expected {
		if c.Status != "" {
			n++
		}
	}
	return n
}

// Day reads the day's list of a service of the org: the children expected
// (confirmed reservations), then those ticked present without a reservation.
func (s *Store) Day(ctx context.Context, orgID, serviceID uuid.UUID, day time.Time) (DayList, error) {
	q := db.New(s.Pool)
	svc, _, err := serviceOf(ctx, q, orgID, serviceID)
	if err != nil {
		return DayList{}, err
	}
	out := DayList{Service: svc, Day: day}
	if sd, err := q.GetServiceDay(ctx, db.GetServiceDayParams{OrgID: orgID, ServiceID: serviceID, Day: day}); err == nil {
		out.Scheduled, out.Open, out.Capacity, out.Taken = true, sd.Open, sd.Capacity, sd.Taken
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return DayList{}, fmt.Errorf("read service day: %w", err)
	}
	if out.Rule, err = ruleOf(ctx, q, orgID, serviceID); err != nil {
		return DayList{}, err
	}
	roster, err := q.ListDayRoster(ctx, db.ListDayRosterParams{OrgID: orgID, ServiceID: serviceID, Day: day})
	if err != nil {
		return DayList{}, fmt.Errorf("read day roster: %w", err)
	}
	unbooked, err := q.ListDayUnbooked(ctx, db.ListDayUnbookedParams{OrgID: orgID, ServiceID: serviceID, Day: day})
	if err != nil {
		return DayList{}, fmt.Errorf("read presences without reservation: %w", err)
	}
	families := []uuid.UUID{}
	for _, r := range roster {
		c := Child{
			ChildID: r.ChildID, FamilyID: r.FamilyID, ReservationID: &r.ReservationID, FirstName: r.FirstName, LastName: r.LastName,
			School: r.School, ClassName: r.ClassName, BirthDate: r.BirthDate, Allergies: r.Allergies, Notes: r.Notes,
			FamilyName: r.FamilyName, FamilyPhones: phones(r.FamilyPhone, r.FamilyPhone2), Source: r.Source,
		}
		if r.AttendanceStatus != nil {
			c.Status = *r.AttendanceStatus
		}
		out.Expected = append(out.Expected, c)
		families = append(families, r.FamilyID)
	}
	for _, r := range unbooked {
		out.Unbooked = append(out.Unbooked, Child{
			ChildID: r.ChildID, FamilyID: r.FamilyID, FirstName: r.FirstName, LastName: r.LastName,
			School: r.School, ClassName: r.ClassName, BirthDate: r.BirthDate, Allergies: r.Allergies, Notes: r.Notes,
			FamilyName: r.FamilyName, FamilyPhones: phones(r.FamilyPhone, r.FamilyPhone2),
			Status: Present, Reason: r.Reason, ChargedCents: r.ChargedCents,
		})
		families = append(families, r.FamilyID)
	}
	persons, err := q.ListFamiliesAuthorizedPersons(ctx, db.ListFamiliesAuthorizedPersonsParams{OrgID: orgID, FamilyIds: families})
	if err != nil {
		return DayList{}, fmt.Errorf("read authorised persons: %w", err)
	}
	byFamily := map[uuid.UUID][]Collector{}
	for _, p := range persons {
		byFamily[p.FamilyID] = append(byFamily[p.FamilyID], Collector{Name: p.FirstName + " " + p.LastName, Phone: p.Phone, Relationship: p.Relationship})
	}
	for _, list := range [][]Child{out.Expected, out.Unbooked} {
		for i := range list {
			list[i].MayCollect = byFamily[list[i].FamilyID]
		}
	}
	return out, nil
}

func phones(ps ...string) []string {
	out := []string{}
	for _, p := range ps {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// DayCount is one service day's numbers.
type DayCount struct {
	ServiceID           uuid.UUID
	Day                 time.Time
	Open                bool
	Capacity            *int32
	Booked              int // confirmed reservations
	BookedWithAllergies int // of which children with allergies recorded
	HeldInCarts         int // places held by carts not paid yet
	Present             int // ticked present (with or without a reservation)
	Absent              int
	Unbooked            int // present without a reservation
}

// MaxCountDays bounds a request for numbers (a school term).
const MaxCountDays = 120

// Counts are the numbers of the org's service days between two dates, for the
// kitchen's orders and the accueil's staffing.
func (s *Store) Counts(ctx context.Context, orgID uuid.UUID, from, to time.Time) ([]DayCount, error) {
	rows, err := db.New(s.Pool).ListOrgDayCounts(ctx, db.ListOrgDayCountsParams{OrgID: orgID, FirstDay: from, LastDay: to})
	if err != nil {
		return nil, fmt.Errorf("read day counts: %w", err)
	}
	out := make([]DayCount, 0, len(rows))
	for _, r := range rows {
		out = append(out, DayCount{
			ServiceID: r.ServiceID, Day: r.Day, Open: r.Open, Capacity: r.Capacity, Booked: int(r.Booked),
			BookedWithAllergies: int(r.BookedWithAllergies), HeldInCarts: max(int(r.Taken)-int(r.Booked), 0),
			Present: int(r.Present), Absent: int(r.Absent), Unbooked: int(r.Unbooked),
		})
	}
	return out, nil
}
