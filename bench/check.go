package bench

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/db"
)

func checkInvariants(ctx context.Context, pool *pgxpool.Pool, fx *fixture, r *Report) error {
	q := db.New(pool)
	var err error
	get := func(dst *int, fn func() (int64, error)) {
		if err != nil {
			return
		}
		var n int64
		n, err = fn()
		*dst = int(n)
	}
	get(&r.OverbookedDays, func() (int64, error) { return q.CountOverbookedDays(ctx, fx.orgID) })
	get(&r.CountMismatches, func() (int64, error) { return q.CountCapacityMismatches(ctx, fx.orgID) })
	get(&r.StuckCarts, func() (int64, error) { return q.CountStuckCarts(ctx, fx.orgID) })
	get(&r.LedgerViolations, func() (int64, error) { return q.CountLedgerViolations(ctx, fx.orgID) })
	get(&r.Reservations, func() (int64, error) { return q.CountConfirmedReservations(ctx, fx.orgID) })
	get(&r.WaitlistBroken, func() (int64, error) { return q.CountWaitlistMismatches(ctx, fx.orgID) })
	if err != nil {
		return fmt.Errorf("invariants: %w", err)
	}
	return nil
}
