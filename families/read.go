package families

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
)

// Summary is a family's record with its balances.
type Summary struct {
	Family   db.Family
	Balances db.FamilyBalancesRow
}

// Get reads a family of the org with its balances (ErrNotFound for another org's).
func (s *Store) Get(ctx context.Context, orgID, id uuid.UUID) (Summary, error) {
	q := db.New(s.Pool)
	f, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: orgID, ID: id})
	if db.NotFound(err) {
		return Summary{}, ErrNotFound
	} else if err != nil {
		return Summary{}, fmt.Errorf("read family: %w", err)
	}
	bal, err := q.FamilyBalances(ctx, f.ID)
	if err != nil {
		return Summary{}, fmt.Errorf("balances: %w", err)
	}
	return Summary{Family: f, Balances: bal}, nil
}

// Detail is everything staff see on a family's page.
type Detail struct {
	Summary
	Members  []db.Member
	Persons  []db.AuthorizedPerson
	Accounts []db.ListFamilyUsersRow
}

// Detail reads a family of the org with its members, authorised persons and logins.
func (s *Store) Detail(ctx context.Context, orgID, id uuid.UUID) (Detail, error) {
	sum, err := s.Get(ctx, orgID, id)
	if err != nil {
		return Detail{}, err
	}
	out := Detail{Summary: sum}
	q := db.New(s.Pool)
	if out.Members, err = q.ListMembers(ctx, db.ListMembersParams{OrgID: orgID, FamilyID: id}); err != nil {
		return out, fmt.Errorf("members: %w", err)
	}
	if out.Persons, err = q.ListAuthorizedPersons(ctx, db.ListAuthorizedPersonsParams{OrgID: orgID, FamilyID: id}); err != nil {
		return out, fmt.Errorf("authorised persons: %w", err)
	}
	if out.Accounts, err = q.ListFamilyUsers(ctx, db.ListFamilyUsersParams{OrgID: orgID, FamilyID: &id}); err != nil {
		return out, fmt.Errorf("logins: %w", err)
	}
	return out, nil
}

// Members lists a family's members.
func (s *Store) Members(ctx context.Context, orgID, familyID uuid.UUID) ([]db.Member, error) {
	return db.New(s.Pool).ListMembers(ctx, db.ListMembersParams{OrgID: orgID, FamilyID: familyID})
}

// AuthorizedPersons lists who a family lets collect its children.
func (s *Store) AuthorizedPersons(ctx context.Context, orgID, familyID uuid.UUID) ([]db.AuthorizedPerson, error) {
	return db.New(s.Pool).ListAuthorizedPersons(ctx, db.ListAuthorizedPersonsParams{OrgID: orgID, FamilyID: familyID})
}

// Search is a page of the org's families.
type Search struct {
	Q     string // the family's name, e-mail, phones or logins, a member's name, a child's school
	After *Cursor
	Limit int
}

// Cursor is where a page of families starts: after this name and ID.
type Cursor struct {
	Name string    `json:"n"`
	ID   uuid.UUID `json:"i"`
}

// List returns the org's families matching sr, by name, with their balances:
// sr.Limit of them, and the cursor of the next page (nil on the last).
func (s *Store) List(ctx context.Context, orgID uuid.UUID, sr Search) ([]db.ListOrgFamiliesRow, *Cursor, error) {
	p := db.ListOrgFamiliesParams{OrgID: orgID, Q: db.EscapeLike(sr.Q), Digits: phoneDigits(sr.Q), Lim: int32(sr.Limit + 1)}
	if sr.After != nil {
		p.Paged, p.AfterName, p.AfterID = true, sr.After.Name, sr.After.ID
	}
	rows, err := db.New(s.Pool).ListOrgFamilies(ctx, p)
	if err != nil {
		return nil, nil, fmt.Errorf("list families: %w", err)
	}
	if len(rows) <= sr.Limit {
		return rows, nil, nil
	}
	last := rows[sr.Limit-1]
	return rows[:sr.Limit], &Cursor{Name: last.Name, ID: last.ID}, nil
}

// phoneDigits is what a phone search looks for: the digits of q when q looks like
// a phone number (at least 4 digits, nothing but digits, spaces, dots, dashes and
// "+"), whatever spacing the family typed its number with; "" otherwise.
func phoneDigits(q string) string {
	var b strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '+':
		default:
			return ""
		}
	}
	if b.Len() < 4 {
		return ""
	}
	return b.String()
}

// SearchChildren finds the org's children by name (q, already trimmed; under 2
// characters, no one), with their families.
func (s *Store) SearchChildren(ctx context.Context, orgID uuid.UUID, q string, limit int) ([]db.SearchOrgChildrenRow, error) {
	if len([]rune(q)) < 2 {
		return []db.SearchOrgChildrenRow{}, nil
	}
	return db.New(s.Pool).SearchOrgChildren(ctx, db.SearchOrgChildrenParams{OrgID: orgID, Q: db.EscapeLike(q), Lim: int32(limit)})
}
