// Package families holds what a family's record gathers beyond its members: the
// persons it authorises to collect its children, written by the family itself
// or by staff, within the same cap and with the same audit.
package families

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

// MaxAuthorizedPersons caps a family's list.
const MaxAuthorizedPersons = 20

// Errors the API maps.
var (
	ErrNotFound = errors.New("not found")
	ErrTooMany  = fmt.Errorf("a family declares %d authorised persons at most", MaxAuthorizedPersons)
)

// Store runs the transactions.
type Store struct {
	Pool *pgxpool.Pool
	Now  db.Clock // nil: the system's
}

func (s *Store) now() time.Time { return s.Now.Time() }

// AuthorizedPerson is a person as the audit log keeps it.
type AuthorizedPerson struct {
	ID           uuid.UUID `json:"id"`
	FamilyID     uuid.UUID `json:"family_id"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name"`
	Phone        string    `json:"phone"`
	Relationship string    `json:"relationship"`
}

func view(p db.AuthorizedPerson) AuthorizedPerson {
	return AuthorizedPerson{ID: p.ID, FamilyID: p.FamilyID, FirstName: p.FirstName, LastName: p.LastName, Phone: p.Phone, Relationship: p.Relationship}
}

// AddAuthorizedPerson adds a person (already validated) to a family of the
// actor's org; audited.
func (s *Store) AddAuthorizedPerson(ctx context.Context, by audit.Actor, p db.InsertAuthorizedPersonParams) (db.AuthorizedPerson, error) {
	var out db.AuthorizedPerson
	p.OrgID = by.OrgID
	if p.ID == uuid.Nil {
		p.ID = uuid.New()
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		// The family row's lock serialises adds, so the cap holds.
		if _, err := q.LockFamily(ctx, db.LockFamilyParams{OrgID: by.OrgID, ID: p.FamilyID}); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock family: %w", err)
		}
		existing, err := q.ListAuthorizedPersons(ctx, db.ListAuthorizedPersonsParams{OrgID: by.OrgID, FamilyID: p.FamilyID})
		if err != nil {
			return fmt.Errorf("read authorised persons: %w", err)
		}
		if len(existing) >= MaxAuthorizedPersons {
			return ErrTooMany
		}
		if out, err = q.InsertAuthorizedPerson(ctx, p); err != nil {
			return fmt.Errorf("insert authorised person: %w", err)
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "authorized_person.create",
			Entity: "authorized_person", EntityID: out.ID.String(), After: view(out), At: s.now()})
	})
	return out, err
}

// RemoveAuthorizedPerson removes a person of a family of the actor's org; audited.
func (s *Store) RemoveAuthorizedPerson(ctx context.Context, by audit.Actor, familyID, id uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		gone, err := q.DeleteAuthorizedPerson(ctx, db.DeleteAuthorizedPersonParams{OrgID: by.OrgID, FamilyID: familyID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("delete authorised person: %w", err)
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "authorized_person.delete",
			Entity: "authorized_person", EntityID: id.String(), Before: view(gone), At: s.now()})
	})
}
