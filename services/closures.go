// Package services holds what an org's services share: its closures (public and
// school holidays), on which no service day is generated.
package services

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/audit"
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

// View is c as the API and the audit log show it.
func View(c db.Closure) Closure {
	return Closure{ID: c.ID, FirstDay: c.FirstDay.Format(time.DateOnly), LastDay: c.LastDay.Format(time.DateOnly), Label: c.Label}
}

// AddClosure records a closure of the actor's org (checked by the caller: last ≥
// first, a label). Days already generated stay as they are: close them in the
// services' calendars if need be. Audited.
func (s *Store) AddClosure(ctx context.Context, by audit.Actor, first, last time.Time, label string) (db.Closure, error) {
	var out db.Closure
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		var err error
		out, err = q.CreateClosure(ctx, db.CreateClosureParams{ID: uuid.New(), OrgID: by.OrgID, FirstDay: first, LastDay: last, Label: label})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrExists
		} else if err != nil {
			return fmt.Errorf("insert closure: %w", err)
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "closure.create", Entity: "closure",
			EntityID: out.ID.String(), After: View(out), At: s.now()})
	})
	return out, err
}

// RemoveClosure deletes a closure of the actor's org; audited.
func (s *Store) RemoveClosure(ctx context.Context, by audit.Actor, id uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		gone, err := q.DeleteClosure(ctx, db.DeleteClosureParams{OrgID: by.OrgID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("delete closure: %w", err)
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "closure.delete", Entity: "closure",
			EntityID: id.String(), Before: View(gone), At: s.now()})
	})
}
