// Package bench measures the engine under an opening-day rush: many families
// logging in, booking, paying and waiting for confirmation at once, against a
// running stack, and compares booking writes with a bare PostgreSQL loop (the limit).
package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/password"
)

// Password is the password of every bench family.
const Password = "bench-rush-password"

// fixture is an org of its own for one run, so runs never mix with demo data.
type fixture struct {
	orgID       uuid.UUID
	families    []benchFamily
	cantine     uuid.UUID
	mercredi    uuid.UUID // capacity-limited
	firstDay    time.Time
	limitedCap  int32
	serviceDays []time.Time
}

type benchFamily struct {
	id, child uuid.UUID
	login     string
}

// seed creates an org with two services open every weekday for the coming weeks —
// one unlimited, one limited to half the families — and n families with a child.
func seed(ctx context.Context, pool *pgxpool.Pool, n int) (*fixture, error) {
	hash, err := password.Hash(ctx, Password)
	if err != nil {
		return nil, err
	}
	run := uuid.NewString()[:8]
	f := &fixture{orgID: uuid.New(), cantine: uuid.New(), mercredi: uuid.New(), limitedCap: int32(max(n/2, 1))}
	// Days from J+3 on, so the J-1 deadline never interferes whatever the hour.
	f.firstDay = booking.Day(time.Now()).AddDate(0, 0, 3)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.InsertOrg(ctx, db.InsertOrgParams{
			ID: f.orgID, Slug: "bench-" + run, Name: "Banc d'essai " + run, Numcli: "123456", Saisie: "T", TimeZone: "Europe/Paris",
		}); err != nil {
			return fmt.Errorf("org: %w", err)
		}
		noon := pgtype.Time{Microseconds: int64(12 * time.Hour / time.Microsecond), Valid: true}
		for _, s := range []struct {
			id   uuid.UUID
			code string
			cap  *int32
		}{{f.cantine, "cantine", nil}, {f.mercredi, "mercredi", &f.limitedCap}} {
			if err := q.InsertService(ctx, db.InsertServiceParams{
				ID: s.id, OrgID: f.orgID, Code: s.code, Name: "Bench " + s.code, Weekdays: []int16{1, 2, 3, 4, 5},
				BookingDaysBefore: 1, BookingTime: noon, CancelDaysBefore: 1, CancelTime: noon,
			}); err != nil {
				return fmt.Errorf("service: %w", err)
			}
			if err := q.InsertServicePrice(ctx, db.InsertServicePriceParams{ID: uuid.New(), ServiceID: s.id, QfMin: 0, PriceCents: 350}); err != nil {
				return fmt.Errorf("price: %w", err)
			}
			if _, err := q.GenerateServiceDays(ctx, db.GenerateServiceDaysParams{
				Capacity: s.cap, FirstDay: f.firstDay, LastDay: f.firstDay.AddDate(0, 0, 27), ServiceID: s.id,
			}); err != nil {
				return fmt.Errorf("days: %w", err)
			}
		}
		for i := range n {
			fam := benchFamily{id: uuid.New(), child: uuid.New(), login: fmt.Sprintf("bench-%s-%d@bench.enfance.test", run, i)}
			if err := q.InsertFamily(ctx, db.InsertFamilyParams{ID: fam.id, OrgID: f.orgID, Name: fmt.Sprintf("Bench %d", i), Email: fam.login, Qf: 500}); err != nil {
				return fmt.Errorf("family: %w", err)
			}
			if err := q.InsertMember(ctx, db.InsertMemberParams{ID: fam.child, OrgID: f.orgID, FamilyID: fam.id, Kind: "child", FirstName: "Enfant", LastName: fmt.Sprint(i)}); err != nil {
				return fmt.Errorf("child: %w", err)
			}
			if err := q.InsertUser(ctx, db.InsertUserParams{ID: uuid.New(), OrgID: f.orgID, Login: fam.login, PasswordHash: hash, Role: "family", FamilyID: &fam.id}); err != nil {
				return fmt.Errorf("user: %w", err)
			}
			f.families = append(f.families, fam)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	days, err := db.New(pool).ListServiceDays(ctx, db.ListServiceDaysParams{ServiceID: f.cantine, FirstDay: f.firstDay, LastDay: f.firstDay.AddDate(0, 0, 27)})
	if err != nil {
		return nil, err
	}
	for _, d := range days {
		f.serviceDays = append(f.serviceDays, d.Day)
	}
	return f, nil
}
