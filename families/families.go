// Package families holds the fiche famille: the family's record and contact
// details, its members, and the persons it authorises to collect its children —
// written by staff, and by the family itself for its contact details and its
// authorised persons, with the same checks and the same audit.
package families

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/check"
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

// PersonInput is a person a family authorises to collect its children.
type PersonInput struct {
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Phone        string `json:"phone"`
	Relationship string `json:"relationship"`
}

// AddAuthorizedPerson adds a person to a family of the actor's org, within
// MaxAuthorizedPersons (ErrTooMany); audited.
func (s *Store) AddAuthorizedPerson(ctx context.Context, by audit.Actor, familyID uuid.UUID, in PersonInput) (db.AuthorizedPerson, error) {
	p := db.InsertAuthorizedPersonParams{
		ID: uuid.New(), OrgID: by.OrgID, FamilyID: familyID, FirstName: strings.TrimSpace(in.FirstName),
		LastName: strings.TrimSpace(in.LastName), Phone: strings.TrimSpace(in.Phone), Relationship: strings.TrimSpace(in.Relationship),
	}
	var bad check.Fields
	bad.Add("first_name", check.Required(100)(p.FirstName))
	bad.Add("last_name", check.Required(100)(p.LastName))
	bad.Add("phone", check.Phone(p.Phone))
	bad.Add("relationship", check.MaxLen(100)(p.Relationship))
	if p.Phone == "" {
		bad.Add("phone", "requis : on doit pouvoir joindre la personne")
	}
	if err := bad.Err("Personne autorisée invalide."); err != nil {
		return db.AuthorizedPerson{}, err
	}
	var out db.AuthorizedPerson
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		// The family row's lock serialises adds, so the cap holds.
		if _, err := lockFamily(ctx, q, by.OrgID, p.FamilyID); err != nil {
			return err
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
		return s.record(ctx, q, by, "authorized_person.create", "authorized_person", out.ID, nil, view(out))
	})
	return out, err
}

// RemoveAuthorizedPerson removes a person of a family of the actor's org; audited.
func (s *Store) RemoveAuthorizedPerson(ctx context.Context, by audit.Actor, familyID, id uuid.UUID) error {
	return db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		gone, err := q.DeleteAuthorizedPerson(ctx, db.DeleteAuthorizedPersonParams{OrgID: by.OrgID, FamilyID: familyID, ID: id})
		if db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("delete authorised person: %w", err)
		}
		return s.record(ctx, q, by, "authorized_person.delete", "authorized_person", id, view(gone), nil)
	})
}
