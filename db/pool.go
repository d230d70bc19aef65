package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPingTimeout bounds the ping of a connection being handed out when
// DATABASE_URL sets no pool_ping_timeout. A live backend answers an empty query
// in well under a millisecond; two seconds leave room for a server under load.
const DefaultPingTimeout = 2 * time.Second

// NewPool opens the pool every process runs on (the API, the workers, the
// commands, the tests' stacks) on the database at dsn. The URL may carry pgxpool's
// settings (pool_max_conns: docs/deploy.md; pool_ping_timeout: docs/operations.md).
//
// A connection is pinged each time it is handed out. When PostgreSQL restarts (or
// fails over, or an operator terminates sessions), the connections idle in the
// pool are dead without the pool knowing: the server told them so (FATAL 57P01)
// or closed them, and only the next use reads it. pgx pings by itself only a
// connection idle for more than a second, so after a restart quicker than that —
// or a session terminated a moment ago — the first requests would each pick a
// dead connection and fail (a 503 "réessayez" for a family that did nothing
// wrong), one per connection in the pool. The ping (one empty query, a round
// trip) finds the dead connection first; pgx then drops it and takes or opens
// another, within the same Acquire. Nothing is retried by hand: a query that
// fails is a query that reached a connection found alive a moment before, which
// is a failure during the outage itself, and is reported as such.
//
// A connection whose server vanished without closing it (a failover after the old
// primary's host died, a network cut) does not answer the ping at all: after
// DefaultPingTimeout (pool_ping_timeout in the URL changes it; pgx's own default
// is to wait for ever) it is dropped like a dead one, so that a request waits
// seconds, not until TCP gives up.
func NewPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return true }
	if cfg.PingTimeout == 0 {
		cfg.PingTimeout = DefaultPingTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return pool, nil
}
