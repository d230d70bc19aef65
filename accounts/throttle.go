package accounts

import (
	"context"
	"fmt"
	"strings"
	"time"

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
func (s *Store) loginPolicy() throttlePolicy {
	return throttlePolicy{free: s.Limits.FreeFailures, max: s.Limits.MaxWait, forgive: 15 * time.Minute}
}

// addressPolicy: an address may be a town hall, a school or a carrier's NAT. It
// may fail LOGIN_ADDRESS_FAILURES_PER_HOUR times an hour, sustained, before any wait.
func (s *Store) addressPolicy() throttlePolicy {
	n := s.Limits.AddressFailuresPerHour
	return throttlePolicy{free: n, max: s.Limits.MaxWait, forgive: time.Hour / time.Duration(n)}
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
func loginKey(login string) string {
	k := strings.ToLower(strings.TrimSpace(login))
	if len(k) > 254 {
		k = k[:254]
	}
	return k
}

// admitAttempt lets a password attempt on login from the address addrKey through,
// or answers a *WaitError when the login or the address is slowed down (then
// nothing is counted). An admitted attempt is counted against its login before the
// password is checked, so that a burst of parallel guesses at one login cannot all
// pass before the first failure is written; attemptSucceeded takes it back.
// Addresses count failures only (attemptFailed): many good logins at once from one
// address must not lock it.
func (s *Store) admitAttempt(ctx context.Context, login, addrKey string) error {
	now := s.now()
	until, err := db.New(s.Pool).LoginBlockedUntil(ctx, db.LoginBlockedUntilParams{Scope: "address", Key: addrKey})
	if err != nil && !db.NotFound(err) {
		return fmt.Errorf("throttle address: %w", err)
	}
	if until != nil && until.After(now) {
		return &WaitError{Wait: until.Sub(now)}
	}
	var wait time.Duration
	err = db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		var err error
		wait, err = s.countFailure(ctx, q, "login", loginKey(login), s.loginPolicy(), now)
		return err
	})
	if err == nil && wait > 0 {
		return &WaitError{Wait: wait}
	}
	return err
}

// attemptFailed counts a wrong password against the client's address.
func (s *Store) attemptFailed(ctx context.Context, addrKey string) error {
	return db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		_, err := s.countFailure(ctx, q, "address", addrKey, s.addressPolicy(), s.now())
		return err
	})
}

// countFailure adds one failure to a login or an address under its row's lock,
// unless it is waiting: then it answers the wait and counts nothing.
func (s *Store) countFailure(ctx context.Context, q *db.Queries, scope, key string, p throttlePolicy, now time.Time) (time.Duration, error) {
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
func (s *Store) attemptSucceeded(ctx context.Context, login string) error {
	if err := db.New(s.Pool).ClearLoginThrottle(ctx, db.ClearLoginThrottleParams{Scope: "login", Key: loginKey(login)}); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}
