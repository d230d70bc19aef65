// Package services holds what an org's services share: its closures (public and
// school holidays), on which no service day is generated.
package services

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
)

// Errors the API maps.
var (
	ErrNotFound = errors.New("closure not found")
	ErrExists   = errors.New("a closure with this first day and label exists")
)

// Store runs the transactions.
type Store struct {
	Pool *pgxpool.Pool
	Now  db.Clock // nil: the system's
}

func (s *Store) now() time.Time { return s.Now.Time() }

// Closure is a closure as the audit log keeps it.
type Closure struct {
	ID       uuid.UUID `json:"id"`
	FirstDay string    `json:"first_day"`
	LastDay  string    `json:"last_day"`
	Label    string    `json:"label"`
}

// ClosureView is c as the API and the audit log show it.
func ClosureView(c db.Closure) Closure {
	return Closure{ID: c.ID, FirstDay: c.FirstDay.Format(time.DateOnly), LastDay: c.LastDay.Format(time.DateOnly), Label: c.Label}
}

// ClosureInput is a closure as the back office writes it.
type ClosureInput struct {
	FirstDay string `json:"first_day"`
	LastDay  string `json:"last_day"`
	Label    string `json:"label"`
}

// AddClosure records a closure of the actor's org: from its first to its last day
// (a year at most), with a label. Days already generated stay as they are: close
// them in the services' calendars if need be. Audited.
func (s *Store) AddClosure(ctx context.Context, by audit.Actor, in ClosureInput) (db.Closure, error) {
	var bad check.Fields
	first, err1 := booking.ParseDay(in.FirstDay)
	if err1 != nil {
		bad.Add("first_day", check.BadDate)
	}
	last, err2 := booking.ParseDay(in.LastDay)
	if err2 != nil {
		bad.Add("last_day", check.BadDate)
	}
	if err1 == nil && err2 == nil && (last.Before(first) || last.Sub(first) > 366*24*time.Hour) {
		bad.Add("last_day", "le dernier jour suit le premier, un an au plus")
	}
	label := strings.TrimSpace(in.Label)
	bad.Add("label", check.Required(100)(label))
	if err := bad.Err("Fermeture invalide."); err != nil {
		return db.Closure{}, err
	}
	var out db.Closure
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		var err error
		out, err = q.CreateClosure(ctx, db.CreateClosureParams{ID: uuid.New(), OrgID: by.OrgID, FirstDay: first, LastDay: last, Label: label})
		if db.NotFound(err) {
			return ErrExists
		} else if err != nil {
			return fmt.Errorf("insert closure: %w", err)
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "closure.create", Entity: "closure",
			EntityID: out.ID.String(), After: ClosureView(out), At: s.now()})
	})
	return out, err
}

// RemoveClosure deletes a closure of the actor's org; audited.
func (s *Store) RemoveClosure(ctx context.Context, by audit.Actor, id uuid.UUID) error {
	return db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		gone, err := q.DeleteClosure(ctx, db.DeleteClosureParams{OrgID: by.OrgID, ID: id})
		if db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("delete closure: %w", err)
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "closure.delete", Entity: "closure",
			EntityID: id.String(), Before: ClosureView(gone), At: s.now()})
	})
}

// Closures lists the org's closures overlapping from–to.
func (s *Store) Closures(ctx context.Context, orgID uuid.UUID, from, to time.Time) ([]db.Closure, error) {
	return db.New(s.Pool).ListClosures(ctx, db.ListClosuresParams{OrgID: orgID, FirstDay: from, LastDay: to})
}

// All lists the org's services, inactive ones included.
func (s *Store) All(ctx context.Context, orgID uuid.UUID) ([]db.Service, error) {
	return db.New(s.Pool).ListAllServices(ctx, orgID)
}
