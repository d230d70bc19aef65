package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/db"
)

// throttlePolicy slows down password guessing for one account or one client
// address, without ever locking either out: the first free failures cost nothing,
// each further one doubles the wait before the next attempt (1 s, 2 s, 4 s …) up to
// max. Failures are forgiven one every forgive (a leaky bucket), so what counts is
// the rate of failures, not their total: a school's NAT that mistypes now and then
// all day never waits, a guesser does.
//
// Hand-written rather than golang.org/x/time/rate: the counts live in PostgreSQL
// (login_throttles), shared by every API replica and surviving restarts, and the
// answer is a growing wait, not a fixed rate.
type throttlePolicy struct {
	free    int
	max     time.Duration
	forgive time.Duration
}

// loginPolicy: a person mistypes a few times; a guesser needs thousands of tries,
// and at LOGIN_MAX_WAIT between them gets a few hundred a day. The account's owner
// waits at most that long, and a reset link lets them in at once.
func (s *Server) loginPolicy() throttlePolicy {
	return throttlePolicy{free: s.cfg.Login.FreeFailures, max: s.cfg.Login.MaxWait, forgive: 15 * time.Minute}
}

// addressPolicy: an address may be a town hall, a school or a carrier's NAT. It
// may fail LOGIN_ADDRESS_FAILURES_PER_HOUR times an hour, sustained, before any wait.
func (s *Server) addressPolicy() throttlePolicy {
	n := s.cfg.Login.AddressFailuresPerHour
	return throttlePolicy{free: n, max: s.cfg.Login.MaxWait, forgive: time.Hour / time.Duration(n)}
}

// wait is how long the n-th failure in a row makes the next attempt wait.
func (p throttlePolicy) wait(n int) time.Duration {
	switch {
	case n <= p.free:
		return 0
	case n-p.free-1 >= 30:
		return p.max
	}
	return min(time.Second<<(n-p.free-1), p.max)
}

// failuresAt is how many failures still count at now, some having been forgiven
// since the last one.
func (p throttlePolicy) failuresAt(failures int, last *time.Time, now time.Time) int {
	if last == nil {
		return 0
	}
	return max(failures-int(now.Sub(*last)/p.forgive), 0)
}

// loginKey is how a login is counted: the way GetUserByLogin matches it.
func loginKey(login string) string { return truncate(strings.ToLower(strings.TrimSpace(login)), 254) }

// admitAttempt lets a password attempt on login from addr through, or answers how
// long to wait when the login or the address is slowed down (then
// nothing is counted). An admitted attempt is counted against its login before the
// password is checked, so that a burst of parallel guesses at one login cannot all
// pass before the first failure is written; attemptSucceeded takes it back.
// Addresses count failures only (attemptFailed): many good logins at once from one
// address must not lock it.
func (s *Server) admitAttempt(ctx context.Context, login, addr string) (time.Duration, error) {
	now := s.now()
	var wait time.Duration
	until, err := s.q.LoginBlockedUntil(ctx, db.LoginBlockedUntilParams{Scope: "address", Key: addressKey(addr)})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("throttle address: %w", err)
	}
	if until != nil && until.After(now) {
		return until.Sub(now), nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		wait, err = s.countFailure(ctx, s.q.WithTx(tx), "login", loginKey(login), s.loginPolicy(), now)
		return err
	})
	return wait, err
}

// attemptFailed counts a wrong password against the client's address.
func (s *Server) attemptFailed(ctx context.Context, addr string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := s.countFailure(ctx, s.q.WithTx(tx), "address", addressKey(addr), s.addressPolicy(), s.now())
		return err
	})
}

// countFailure adds one failure to a login or an address under its row's lock,
// unless it is waiting: then it answers the wait and counts nothing.
func (s *Server) countFailure(ctx context.Context, q *db.Queries, scope, key string, p throttlePolicy, now time.Time) (time.Duration, error) {
	row, err := q.LockLoginThrottle(ctx, db.LockLoginThrottleParams{Scope: scope, Key: key})
	if err != nil {
		return 0, fmt.Errorf("throttle %s: %w", scope, err)
	}
	if row.BlockedUntil != nil && row.BlockedUntil.After(now) {
		return row.BlockedUntil.Sub(now), nil
	}
	n := p.failuresAt(int(row.Failures), row.LastFailureAt, now) + 1
	var until *time.Time
	if d := p.wait(n); d > 0 {
		t := now.Add(d)
		until = &t
	}
	if err := q.SetLoginThrottle(ctx, db.SetLoginThrottleParams{
		Scope: scope, Key: key, Failures: int32(n), LastFailureAt: &now, BlockedUntil: until,
	}); err != nil {
		return 0, fmt.Errorf("throttle %s: %w", scope, err)
	}
	if row.Inserted {
		if _, err := q.PurgeStaleLoginThrottles(ctx, db.PurgeStaleLoginThrottlesParams{Before: now.Add(-24 * time.Hour), Now: now}); err != nil {
			return 0, fmt.Errorf("throttle purge: %w", err)
		}
	}
	return 0, nil
}

// attemptSucceeded takes a good password's attempt back: its login starts afresh.
func (s *Server) attemptSucceeded(ctx context.Context, login string) error {
	if err := s.q.ClearLoginThrottle(ctx, db.ClearLoginThrottleParams{Scope: "login", Key: loginKey(login)}); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// tooManyAttempts is the answer while a login or an address waits. It is the same
// whether or not the login exists.
func tooManyAttempts(c *gin.Context, wait time.Duration) *Problem {
	secs := int(math.Ceil(wait.Seconds()))
	c.Header("Retry-After", strconv.Itoa(secs))
	when := fmt.Sprintf("%d secondes", secs)
	if secs >= 90 {
		when = fmt.Sprintf("%d minutes", (secs+59)/60)
	}
	p := problem(http.StatusTooManyRequests, "too-many-attempts", "Trop de tentatives",
		"Trop de tentatives de connexion ont échoué. Réessayez dans "+when+", ou utilisez « mot de passe oublié ».")
	p.Extra = map[string]any{"retry_after_seconds": secs}
	return p
}
