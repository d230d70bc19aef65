package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/password"
)

// Roles of a login.
const (
	RoleFamily  = "family"
	RoleAgent   = "agent"
	RoleFinance = "finance"
	RoleAdmin   = "admin"
)

// Errors of logging in and of passwords, which the API maps.
var (
	ErrBadLogin      = errors.New("wrong login or password")
	ErrUnauthorized  = errors.New("no session")
	ErrBadToken      = errors.New("password link invalid or expired")
	ErrWrongPassword = errors.New("current password wrong")
)

// WaitError: the login or the client's address is slowed down after failed
// passwords (see throttlePolicy); nothing was checked nor counted.
type WaitError struct{ Wait time.Duration }

func (e *WaitError) Error() string { return "too many failed attempts: wait " + e.Wait.String() }

// Session is a login's session, as a request is authenticated with it.
type Session = db.GetSessionRow

// Opened is a new session: its token (the client's secret; only its hash is
// stored) and its CSRF token.
type Opened struct {
	Token, CSRF string
	Hash        []byte
	ExpiresAt   time.Time
	User        db.User
}

// Login checks a login and its password and opens a session. Failures are counted
// against the client's address (addrKey) and each attempt against the login
// (throttle), so guessing slows down without locking anyone out. A login that
// does not exist costs the time of a wrong password and gets the same answer.
func (s *Store) Login(ctx context.Context, login, pw, addrKey, ip, userAgent string) (Opened, error) {
	login = strings.TrimSpace(login)
	if err := s.admitAttempt(ctx, login, addrKey); err != nil {
		return Opened{}, err
	}
	q := db.New(s.Pool)
	user, err := q.GetUserByLogin(ctx, login)
	if db.NotFound(err) {
		password.Burn(ctx, pw) // same time and answer as a wrong password
		return Opened{}, s.loginFailed(ctx, addrKey, ErrBadLogin)
	} else if err != nil {
		return Opened{}, fmt.Errorf("read account: %w", err)
	}
	if ok, err := password.Verify(ctx, pw, user.PasswordHash); err != nil || !ok {
		return Opened{}, s.loginFailed(ctx, addrKey, ErrBadLogin)
	}
	if err := s.attemptSucceeded(ctx, login); err != nil {
		return Opened{}, err
	}
	token, hash := NewToken()
	csrf, _ := NewToken()
	out := Opened{Token: token, CSRF: csrf, Hash: hash, ExpiresAt: s.now().Add(s.SessionAbsolute), User: user}
	if err := q.CreateSession(ctx, db.CreateSessionParams{
		TokenHash: hash, UserID: user.ID, CsrfToken: csrf, ExpiresAt: out.ExpiresAt, Ip: ip, UserAgent: userAgent,
	}); err != nil {
		return Opened{}, fmt.Errorf("create session: %w", err)
	}
	return out, nil
}

// loginFailed counts a failure against the address, then answers refusal.
func (s *Store) loginFailed(ctx context.Context, addrKey string, refusal error) error {
	if err := s.attemptFailed(ctx, addrKey); err != nil {
		return err
	}
	return refusal
}

// Authenticate reads the session of token: ErrUnauthorized when there is none,
// or when it has been idle longer than SessionIdle (it is then ended). Its idle
// clock is kept with one write a minute at most.
func (s *Store) Authenticate(ctx context.Context, token string) (Session, error) {
	q := db.New(s.Pool)
	hash := HashToken(token)
	sess, err := q.GetSession(ctx, hash)
	if db.NotFound(err) {
		return Session{}, ErrUnauthorized
	} else if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	now := s.now()
	if now.Sub(sess.LastSeenAt) > s.SessionIdle {
		_ = q.DeleteSession(ctx, hash)
		return Session{}, ErrUnauthorized
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := q.TouchSession(ctx, hash); err != nil {
			return Session{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return sess, nil
}

// Logout ends the session of hash.
func (s *Store) Logout(ctx context.Context, hash []byte) error {
	if err := db.New(s.Pool).DeleteSession(ctx, hash); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// ResetLink makes a password reset link for the account of login, if there is
// one and none was made in the last ResetMailEvery (nil otherwise): the caller
// e-mails it, and answers the same whatever this returns.
func (s *Store) ResetLink(ctx context.Context, login string) (*Link, error) {
	q := db.New(s.Pool)
	user, err := q.GetUserByLogin(ctx, login)
	if db.NotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	now := s.now()
	if n, err := q.ClaimResetMail(ctx, db.ClaimResetMailParams{ID: user.ID, Now: now, Since: now.Add(-s.ResetMailEvery)}); err != nil {
		return nil, fmt.Errorf("claim the e-mail: %w", err)
	} else if n == 0 {
		return nil, nil // one was sent a moment ago
	}
	token, err := NewPasswordLink(ctx, q, user.ID, PurposeReset, now)
	if err != nil {
		return nil, err
	}
	return &Link{User: user, Token: token, Purpose: PurposeReset}, nil
}

// ResetPassword sets a new password with a link (a reset link, or the set link
// of an account staff created): ErrBadToken when it is spent or expired, a
// *password.Weakness when the password is refused (the link stays usable). The
// link is spent, every session of the account ends, and its login may be tried
// again at once.
func (s *Store) ResetPassword(ctx context.Context, token, newPassword string) error {
	tokenHash := HashToken(token)
	tok, err := db.New(s.Pool).GetPasswordToken(ctx, db.GetPasswordTokenParams{TokenHash: tokenHash, Now: s.now()})
	if db.NotFound(err) {
		return ErrBadToken
	} else if err != nil {
		return fmt.Errorf("read password link: %w", err)
	}
	if w := password.Check(newPassword, tok.Login); w != nil {
		return w
	}
	hash, err := password.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	err = db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		now := s.now()
		if _, err := q.ConsumePasswordToken(ctx, db.ConsumePasswordTokenParams{TokenHash: tokenHash, Now: now}); db.NotFound(err) {
			return ErrBadToken // spent by a concurrent request
		} else if err != nil {
			return fmt.Errorf("spend password link: %w", err)
		}
		if err := s.setPassword(ctx, q, tok.UserID, hash, nil, now); err != nil {
			return err
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: tok.OrgID, Actor: &tok.UserID, Action: "user.password_" + tok.Purpose,
			Entity: "user", EntityID: tok.UserID.String(), After: map[string]string{"via": "link"}, At: now})
	})
	if err != nil {
		return err
	}
	// Whoever holds the mailbox may log in again at once.
	_ = db.New(s.Pool).ClearLoginThrottle(ctx, db.ClearLoginThrottleParams{Scope: "login", Key: loginKey(tok.Login)})
	return nil
}

// setPassword stores a new hash and revokes the account's password links; its
// sessions end, but for keep (the session changing it).
func (s *Store) setPassword(ctx context.Context, q *db.Queries, userID uuid.UUID, hash string, keep []byte, now time.Time) error {
	if err := q.SetUserPassword(ctx, db.SetUserPasswordParams{ID: userID, PasswordHash: hash}); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := q.RevokePasswordTokens(ctx, db.RevokePasswordTokensParams{UserID: userID, Now: now}); err != nil {
		return fmt.Errorf("revoke password links: %w", err)
	}
	var err error
	if keep == nil {
		err = q.DeleteUserSessions(ctx, userID)
	} else {
		err = q.DeleteOtherSessions(ctx, db.DeleteOtherSessionsParams{UserID: userID, Keep: keep})
	}
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// VerifyPassword checks a login's password given again before a sensitive
// change. It is counted like a login attempt (a stolen session could otherwise
// guess it): *WaitError while slowed down, ErrWrongPassword when wrong.
func (s *Store) VerifyPassword(ctx context.Context, userID uuid.UUID, login, addrKey, given string) error {
	if err := s.admitAttempt(ctx, login, addrKey); err != nil {
		return err
	}
	user, err := db.New(s.Pool).GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("read account: %w", err)
	}
	if ok, err := password.Verify(ctx, given, user.PasswordHash); err != nil || !ok {
		return s.loginFailed(ctx, addrKey, ErrWrongPassword)
	}
	return s.attemptSucceeded(ctx, login)
}

// ChangePassword replaces the password of the session's login (session: its
// hash, which stays open; the account's other sessions end). The new password is
// checked first (*password.Weakness), then the current one (VerifyPassword).
// Audited.
func (s *Store) ChangePassword(ctx context.Context, by audit.Actor, login, addrKey string, session []byte, current, newPassword string) error {
	if w := password.Check(newPassword, login); w != nil {
		return w
	}
	if err := s.VerifyPassword(ctx, by.UserID, login, addrKey, current); err != nil {
		return err
	}
	hash, err := password.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	return db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		now := s.now()
		if err := s.setPassword(ctx, q, by.UserID, hash, session, now); err != nil {
			return err
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "user.password_change",
			Entity: "user", EntityID: by.UserID.String(), After: map[string]string{"via": "current_password"}, At: now})
	})
}
