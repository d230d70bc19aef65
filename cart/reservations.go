package cart

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/services"
)

// Reservation is a reservation with its cancellation deadline, passed or not.
type Reservation struct {
	db.Reservation
	Deadline time.Time
}

// Reservations lists the family's reservations between two days (both included),
// of one status or (nil) every one, with their cancellation deadlines.
func (s *Store) Reservations(ctx context.Context, f Family, from, to time.Time, status *db.ReservationStatus) ([]Reservation, error) {
	q := db.New(s.Pool)
	rows, err := q.ListFamilyReservationsByStatus(ctx, db.ListFamilyReservationsByStatusParams{
		OrgID: f.OrgID, FamilyID: f.ID, FirstDay: from, LastDay: to, Status: status,
	})
	if err != nil {
		return nil, fmt.Errorf("reservations: %w", err)
	}
	deadline, err := cancelDeadlines(ctx, q, f.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]Reservation, len(rows))
	for i, r := range rows {
		out[i] = Reservation{Reservation: r, Deadline: deadline(r.ServiceID, r.Day)}
	}
	return out, nil
}

// StaffReservation is a reservation as staff list a family's: with the child's
// and the service's names, who booked it, and its cancellation deadline.
type StaffReservation struct {
	db.ListStaffFamilyReservationsRow
	Deadline time.Time
}

// StaffReservations lists a family of the org's reservations between two days,
// cancelled ones included (ErrNotFound for another org's family).
func (s *Store) StaffReservations(ctx context.Context, orgID, familyID uuid.UUID, from, to time.Time) ([]StaffReservation, error) {
	q := db.New(s.Pool)
	if _, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: orgID, ID: familyID}); db.NotFound(err) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("read family: %w", err)
	}
	rows, err := q.ListStaffFamilyReservations(ctx, db.ListStaffFamilyReservationsParams{OrgID: orgID, FamilyID: familyID, FirstDay: from, LastDay: to})
	if err != nil {
		return nil, fmt.Errorf("reservations: %w", err)
	}
	deadline, err := cancelDeadlines(ctx, q, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]StaffReservation, len(rows))
	for i, r := range rows {
		out[i] = StaffReservation{ListStaffFamilyReservationsRow: r, Deadline: deadline(r.ServiceID, r.Day)}
	}
	return out, nil
}

// cancelDeadlines returns, for the org's services, the cancellation deadline of a
// day of a service.
func cancelDeadlines(ctx context.Context, q *db.Queries, orgID uuid.UUID) (func(serviceID uuid.UUID, day time.Time) time.Time, error) {
	_, loc, err := q.OrgZone(ctx, orgID)
	if err != nil {
		return nil, err
	}
	svcs, err := q.ListAllServices(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	rules := make(map[uuid.UUID]booking.DeadlineRule, len(svcs))
	for _, sv := range svcs {
		rules[sv.ID] = services.CancelRule(sv)
	}
	return func(serviceID uuid.UUID, day time.Time) time.Time { return rules[serviceID].Deadline(day, loc) }, nil
}
