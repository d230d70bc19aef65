package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
)

// Errors of creating and changing accounts, which the API maps.
var (
	ErrLoginTaken = errors.New("login already used")
	ErrLastAdmin  = errors.New("the org keeps one active admin")
)

// StaffRoles are the roles of a staff account.
var StaffRoles = map[string]bool{RoleAgent: true, RoleFinance: true, RoleAdmin: true}

const badRole = "agent, finance ou admin"

// CreateUser adds an account without a password, in q's transaction, and makes
// its set-password link for the caller to e-mail once the transaction commits:
// ErrLoginTaken when the login is someone's already.
func CreateUser(ctx context.Context, q *db.Queries, p db.CreateUserParams, now time.Time) (db.User, Link, error) {
	if msg := check.Email(p.Login); msg != "" || p.Login == "" {
		return db.User{}, Link{}, check.Invalid("Identifiant invalide.", "login", "adresse e-mail attendue")
	}
	u, err := q.CreateUser(ctx, p)
	if db.UniqueViolation(err, "") {
		return db.User{}, Link{}, ErrLoginTaken
	} else if err != nil {
		return db.User{}, Link{}, fmt.Errorf("create account: %w", err)
	}
	token, err := NewPasswordLink(ctx, q, u.ID, PurposeSet, now)
	if err != nil {
		return db.User{}, Link{}, err
	}
	return u, Link{User: u, Token: token, Purpose: PurposeSet}, nil
}

// AddFamilyLogin gives a family of the actor's org one more login (a second
// parent, or a family created without one); its set-password link is for the
// caller to e-mail. Audited.
func (s *Store) AddFamilyLogin(ctx context.Context, by audit.Actor, familyID uuid.UUID, login string) (Link, error) {
	var out Link
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		if _, err := q.LockFamily(ctx, db.LockFamilyParams{OrgID: by.OrgID, ID: familyID}); db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock family: %w", err)
		}
		u, link, err := CreateUser(ctx, q, db.CreateUserParams{ID: uuid.New(), OrgID: by.OrgID,
			Login: strings.TrimSpace(login), Role: RoleFamily, FamilyID: &familyID}, s.now())
		if err != nil {
			return err
		}
		out = link
		return s.record(ctx, q, by, "user.create", u.ID, nil, View(u))
	})
	return out, err
}

func (s *Store) record(ctx context.Context, q *db.Queries, by audit.Actor, action string, id uuid.UUID, before, after any) error {
	return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: action, Entity: "user",
		EntityID: id.String(), Before: before, After: after, At: s.now()})
}

// Staff lists the org's staff accounts by login.
func (s *Store) Staff(ctx context.Context, orgID uuid.UUID) ([]db.User, error) {
	return db.New(s.Pool).ListStaffUsers(ctx, orgID)
}

// StaffInput is a staff account being created, or changed (nil: kept).
type StaffInput struct {
	Login       string  `json:"login"` // creation only
	Role        *string `json:"role"`
	DisplayName *string `json:"display_name"`
	Disabled    *bool   `json:"disabled"` // change only
}

// apply checks in and writes it over u.
func (in StaffInput) apply(u *db.User) error {
	if in.Role != nil {
		if !StaffRoles[*in.Role] {
			return check.Invalid("Rôle invalide.", "role", badRole)
		}
		u.Role = *in.Role
	}
	if in.DisplayName != nil {
		name := strings.TrimSpace(*in.DisplayName)
		if msg := check.MaxLen(100)(name); msg != "" {
			return check.Invalid("Nom invalide.", "display_name", msg)
		}
		u.DisplayName = name
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	return nil
}

// CreateStaff adds a staff account to the actor's org (admins); its set-password
// link is for the caller to e-mail. Audited.
func (s *Store) CreateStaff(ctx context.Context, by audit.Actor, in StaffInput) (Link, error) {
	var u db.User
	if in.Role == nil {
		return Link{}, check.Invalid("Rôle invalide.", "role", badRole)
	}
	in.Disabled = nil
	if err := in.apply(&u); err != nil {
		return Link{}, err
	}
	var out Link
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		created, link, err := CreateUser(ctx, q, db.CreateUserParams{ID: uuid.New(), OrgID: by.OrgID, Login: strings.TrimSpace(in.Login),
			Role: u.Role, DisplayName: u.DisplayName}, s.now())
		if err != nil {
			return err
		}
		out = link
		return s.record(ctx, q, by, "user.create", created.ID, nil, View(created))
	})
	return out, err
}

// UpdateStaff changes a staff account's role, name or disabled flag. Disabling
// ends its sessions; the org always keeps one active admin (ErrLastAdmin). Audited.
func (s *Store) UpdateStaff(ctx context.Context, by audit.Actor, id uuid.UUID, in StaffInput) (db.User, error) {
	var out db.User
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		before, err := q.LockStaffUser(ctx, db.LockStaffUserParams{OrgID: by.OrgID, ID: id})
		if db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		wasAdmin := before.Role == RoleAdmin && !before.Disabled
		if wasAdmin {
			// Every active admin's row, locked: two admins demoting each other at once
			// are serialised, and the second sees the first's change.
			if _, err := q.LockActiveAdmins(ctx, by.OrgID); err != nil {
				return fmt.Errorf("lock admins: %w", err)
			}
		}
		u := before
		if err := in.apply(&u); err != nil {
			return err
		}
		if out, err = q.UpdateStaffUser(ctx, db.UpdateStaffUserParams{OrgID: by.OrgID, ID: id, Role: u.Role, DisplayName: u.DisplayName, Disabled: u.Disabled}); err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		if wasAdmin && (out.Role != RoleAdmin || out.Disabled) {
			left, err := q.LockActiveAdmins(ctx, by.OrgID)
			if err != nil {
				return fmt.Errorf("lock admins: %w", err)
			}
			if len(left) == 0 {
				return ErrLastAdmin
			}
		}
		if out.Disabled {
			if err := q.DeleteUserSessions(ctx, id); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		return s.record(ctx, q, by, "user.update", id, View(before), View(out))
	})
	return out, err
}
