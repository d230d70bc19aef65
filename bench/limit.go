package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/ledger"
)

// LimitReport is the same booking writes done by a bare transaction loop.
type LimitReport struct {
	Families              int     `json:"families"`
	Reservations          int     `json:"reservations"`
	WallSeconds           float64 `json:"wall_seconds"`
	ReservationsPerSecond float64 `json:"reservations_per_second"`
}

// Limit writes, for n fresh families, what a paid cart writes — cart, capacity
// holds, lines, reservations, charges, payment attempt and payment, cart paid —
// with the engine's own queries, C transactions at a time, with no HTTP and no
// Temporal: the ceiling the engine's booking writes are compared with.
func Limit(ctx context.Context, dsn string, n, days, concurrency int) (*LimitReport, error) {
	pool, err := db.NewPool(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	fx, err := seed(ctx, pool, n)
	if err != nil {
		return nil, err
	}
	jobs := make(chan benchFamily)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	made := 0
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fam := range jobs {
				k, err := bookDirect(ctx, pool, fx, fam, days)
				mu.Lock()
				made += k
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, f := range fx.families {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	wall := time.Since(start).Seconds()
	return &LimitReport{Families: n, Reservations: made, WallSeconds: wall, ReservationsPerSecond: float64(made) / wall}, nil
}

func bookDirect(ctx context.Context, pool *pgxpool.Pool, fx *fixture, fam benchFamily, days int) (int, error) {
	made := 0
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		cart, err := q.CreateCart(ctx, db.CreateCartParams{ID: uuid.New(), OrgID: fx.orgID, FamilyID: fam.id, ExpiresAt: time.Now().Add(48 * time.Hour)})
		if err != nil {
			return fmt.Errorf("cart: %w", err)
		}
		for i, d := range fx.serviceDays[:days] {
			svc := fx.cantine
			if i == 0 {
				svc = fx.mercredi
			}
			sd, err := q.GetServiceDay(ctx, db.GetServiceDayParams{OrgID: fx.orgID, ServiceID: svc, Day: d})
			if err != nil {
				return err
			}
			if _, err := q.TakePlace(ctx, sd.ID); errors.Is(err, pgx.ErrNoRows) {
				continue // full, as the engine would refuse it
			} else if err != nil {
				return err
			}
			if _, err := q.InsertCartLine(ctx, db.InsertCartLineParams{ID: uuid.New(), OrgID: fx.orgID, CartID: cart.ID, FamilyID: fam.id,
				ChildID: fam.child, ServiceID: svc, ServiceDayID: sd.ID, Day: d, PriceCents: 350}); err != nil {
				return err
			}
		}
		res, err := q.ConfirmCartLineReservations(ctx, cart.ID)
		if err != nil {
			return err
		}
		var total int64
		for _, r := range res {
			total += r.PriceCents
			if err := ledger.Write(ctx, q, ledger.Charge(r, cart.ID, time.Now())); err != nil {
				return err
			}
		}
		// The payment, as PayFiP's would be recorded: its attempt, then its entry.
		id := uuid.New()
		att, err := q.InsertPaymentAttempt(ctx, db.InsertPaymentAttemptParams{
			ID: id, OrgID: fx.orgID, FamilyID: fam.id, CartID: cart.ID, Seq: 1, Refdet: activities.Refdet(id),
			Numcli: "000000", Exer: int32(time.Now().Year()), Saisie: "T", LinesCents: total, AmountCents: total, Status: db.AttemptStatusPaid,
		})
		if err != nil {
			return fmt.Errorf("payment attempt: %w", err)
		}
		if err := ledger.Write(ctx, q, ledger.Payment(att, time.Now())); err != nil {
			return err
		}
		if err := q.ConfirmCartLines(ctx, cart.ID); err != nil {
			return err
		}
		made = len(res)
		return q.SetCartStatus(ctx, db.SetCartStatusParams{ID: cart.ID, Status: db.CartStatusPaid})
	})
	return made, err
}
