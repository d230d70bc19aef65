// Package accounts holds the logins: password links (set and reset), and staff
// turning a family's login off and on. The API sends the e-mails once a change
// is committed; this package never sees a password.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/db"
)

// Password links. A reset link is short-lived; a set-password link goes with an
// account staff created, and its owner may read the mail days later.
const (
	ResetLinkTTL = time.Hour
	SetLinkTTL   = 72 * time.Hour
)

// Purposes of a password link.
const (
	PurposeSet   = "set"
	PurposeReset = "reset"
)

// Errors the API maps.
var (
	ErrNotFound = errors.New("account not found")
	ErrDisabled = errors.New("account disabled")
)

// NewToken returns a random token and its SHA-256, which is all that is stored.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewPasswordLink stores a new single-use link for the user (only its hash) and
// returns the token to e-mail.
func NewPasswordLink(ctx context.Context, q *db.Queries, userID uuid.UUID, purpose string, now time.Time) (string, error) {
	token, hash := NewToken()
	ttl := ResetLinkTTL
	if purpose == PurposeSet {
		ttl = SetLinkTTL
	}
	if err := q.CreatePasswordToken(ctx, db.CreatePasswordTokenParams{
		TokenHash: hash, UserID: userID, Purpose: purpose, ExpiresAt: now.Add(ttl), CreatedAt: now,
	}); err != nil {
		return "", fmt.Errorf("password token: %w", err)
	}
	return token, nil
}

// Store runs the transactions.
type Store struct {
	Pool *pgxpool.Pool
	Now  db.Clock // nil: the system's

	Limits          config.LoginLimits // how password guessing is slowed down
	SessionIdle     time.Duration      // a session unused this long ends
	SessionAbsolute time.Duration      // a session ends this long after the login at the latest
	ResetMailEvery  time.Duration      // one reset link e-mailed per account in this time at most
}

func (s *Store) now() time.Time { return s.Now.Time() }

// User is an account as the audit log keeps it (no hash, no token).
type User struct {
	ID          uuid.UUID  `json:"id"`
	Login       string     `json:"login"`
	Role        string     `json:"role"`
	FamilyID    *uuid.UUID `json:"family_id,omitempty"`
	DisplayName string     `json:"display_name"`
	Disabled    bool       `json:"disabled"`
}

// View is u as the audit log keeps it.
func View(u db.User) User {
	return User{ID: u.ID, Login: u.Login, Role: u.Role, FamilyID: u.FamilyID, DisplayName: u.DisplayName, Disabled: u.Disabled}
}

// SetFamilyLoginDisabled turns a family's login off (its sessions end at once:
// the next request of any of them answers 401) or on again; audited.
func (s *Store) SetFamilyLoginDisabled(ctx context.Context, by audit.Actor, familyID, userID uuid.UUID, disabled bool) (db.User, error) {
	var out db.User
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		before, err := q.GetOrgUser(ctx, db.GetOrgUserParams{OrgID: by.OrgID, ID: userID})
		if errors.Is(err, pgx.ErrNoRows) || err == nil && (before.FamilyID == nil || *before.FamilyID != familyID) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("read account: %w", err)
		}
		if out, err = q.SetFamilyUserDisabled(ctx, db.SetFamilyUserDisabledParams{OrgID: by.OrgID, FamilyID: &familyID, ID: userID, Disabled: disabled}); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		action := "user.enable"
		if disabled {
			action = "user.disable"
			if err := q.DeleteUserSessions(ctx, userID); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: action, Entity: "user",
			EntityID: userID.String(), Before: View(before), After: View(out), At: s.now()})
	})
	return out, err
}

// Link is a password link to e-mail.
type Link struct {
	User    db.User
	Token   string
	Purpose string // set: no password yet; reset: it replaces the current one
}

// SendLink makes a new password link for an account of the org: familyID names
// the family it must belong to, or nil for a staff account. An account without a
// password gets a set-password link (72 hours), one with a password a reset link
// (one hour). Earlier links stay valid until used or expired. Audited.
func (s *Store) SendLink(ctx context.Context, by audit.Actor, userID uuid.UUID, familyID *uuid.UUID) (Link, error) {
	var out Link
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		u, err := q.GetOrgUser(ctx, db.GetOrgUserParams{OrgID: by.OrgID, ID: userID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("read account: %w", err)
		}
		switch {
		case familyID != nil && (u.FamilyID == nil || *u.FamilyID != *familyID):
			return ErrNotFound
		case familyID == nil && u.Role == "family":
			return ErrNotFound
		case u.Disabled:
			return ErrDisabled
		}
		purpose := PurposeSet
		if u.PasswordHash != "" {
			purpose = PurposeReset
		}
		now := s.now()
		token, err := NewPasswordLink(ctx, q, u.ID, purpose, now)
		if err != nil {
			return err
		}
		out = Link{User: u, Token: token, Purpose: purpose}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "user.link_sent", Entity: "user",
			EntityID: u.ID.String(), After: map[string]string{"purpose": purpose, "login": u.Login}, At: now})
	})
	return out, err
}
