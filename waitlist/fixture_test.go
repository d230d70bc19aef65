package waitlist_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/testenv"
	"github.com/enfance/enfance/waitlist"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, paris) }

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// fixture is one org with a Wednesday leisure centre (« mercredi ») open every
// Wednesday of December 2026, booking and cancellation "J-2 before 10:00",
// 12,00 € a day, offers held 24 h. The clock starts on Monday 30 November 2026
// at 09:00 in Paris; the day the tests fill is Wednesday 16 December (booking
// deadline Monday 14 December 10:00).
type fixture struct {
	t       *testing.T
	ctx     context.Context
	pool    *pgxpool.Pool
	dsn     string
	q       *db.Queries
	org     uuid.UUID
	staff   cart.Staff
	service uuid.UUID
	day     time.Time
	clock   *clock
	carts   *cart.Store
	lists   *waitlist.Store
	acts    *activities.Activities
}

func newFixture(t *testing.T, capacity int32) *fixture {
	t.Helper()
	pool, dsn := testenv.Database(t)
	f := &fixture{t: t, ctx: context.Background(), pool: pool, dsn: dsn, q: db.New(pool), clock: &clock{now: at(2026, 11, 30, 9, 0)},
		day: time.Date(2026, 12, 16, 0, 0, 0, 0, time.UTC)}
	f.carts = &cart.Store{Pool: pool, TTL: 48 * time.Hour, Now: f.clock.Now}
	f.lists = &waitlist.Store{Pool: pool, Carts: f.carts, Now: f.clock.Now}
	f.acts = &activities.Activities{Pool: pool, Log: zap.NewNop(), Now: f.clock.Now, Waitlists: f.lists}
	f.org = uuid.New()
	f.must(f.q.InsertOrg(f.ctx, db.InsertOrgParams{ID: f.org, Slug: "ville-" + f.org.String()[:8], Name: "Ville", Numcli: "123456", Saisie: "T", TimeZone: "Europe/Paris"}))
	f.staff = cart.Staff{OrgID: f.org, UserID: uuid.New()}
	f.must(f.q.InsertUser(f.ctx, db.InsertUserParams{ID: f.staff.UserID, OrgID: f.org, Login: "agent-" + f.org.String() + "@test", Role: "agent"}))
	f.service = uuid.New()
	ten := pgtype.Time{Microseconds: (10 * time.Hour).Microseconds(), Valid: true}
	f.must(f.q.InsertService(f.ctx, db.InsertServiceParams{ID: f.service, OrgID: f.org, Code: "mercredi", Name: "Mercredi loisirs",
		Weekdays: []int16{3}, BookingDaysBefore: 2, BookingTime: ten, CancelDaysBefore: 2, CancelTime: ten}))
	f.must(f.q.InsertServicePrice(f.ctx, db.InsertServicePriceParams{ID: uuid.New(), ServiceID: f.service, QfMin: 0, PriceCents: 1200}))
	_, err := f.q.GenerateServiceDays(f.ctx, db.GenerateServiceDaysParams{ServiceID: f.service, Capacity: &capacity,
		FirstDay: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), LastDay: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)})
	f.must(err)
	return f
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// kid is a family with one child.
type kid struct {
	fam   cart.Family
	child uuid.UUID
	user  uuid.UUID
}

func (f *fixture) families(n int) []kid {
	f.t.Helper()
	out := make([]kid, n)
	f.must(pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		for i := range out {
			k := kid{fam: cart.Family{OrgID: f.org, ID: uuid.New()}, child: uuid.New(), user: uuid.New()}
			if err := q.InsertFamily(f.ctx, db.InsertFamilyParams{ID: k.fam.ID, OrgID: f.org, Name: fmt.Sprintf("Famille %d", i), Email: fmt.Sprintf("f%d@test", i), Qf: 500}); err != nil {
				return err
			}
			if err := q.InsertMember(f.ctx, db.InsertMemberParams{ID: k.child, OrgID: f.org, FamilyID: k.fam.ID, Kind: "child", FirstName: fmt.Sprintf("Enfant%d", i), LastName: "Test"}); err != nil {
				return err
			}
			if err := q.InsertUser(f.ctx, db.InsertUserParams{ID: k.user, OrgID: f.org, Login: fmt.Sprintf("f%d-%s@test", i, k.fam.ID), Role: "family", FamilyID: &k.fam.ID}); err != nil {
				return err
			}
			out[i] = k
		}
		return nil
	}))
	return out
}

func (f *fixture) item(k kid, day time.Time) cart.Item {
	return cart.Item{ChildID: k.child, ServiceID: f.service, Date: day.Format(time.DateOnly)}
}

// book puts the day in the family's cart and pays it from a credit given first.
func (f *fixture) book(k kid, day time.Time) db.Reservation {
	f.t.Helper()
	if _, err := f.carts.AddItems(f.ctx, k.fam, []cart.Item{f.item(k, day)}); err != nil {
		f.t.Fatalf("book %s: %v", day.Format(time.DateOnly), err)
	}
	return f.pay(k)[0]
}

// pay settles the family's cart as its workflow does, from a credit given first.
func (f *fixture) pay(k kid) []db.Reservation {
	f.t.Helper()
	v, err := f.carts.Get(f.ctx, k.fam)
	f.must(err)
	if v.Cart == nil {
		f.t.Fatal("no cart to pay")
	}
	_, err = f.q.InsertLedgerEntry(f.ctx, db.InsertLedgerEntryParams{OrgID: f.org, FamilyID: k.fam.ID, Kind: "adjustment",
		CreditCents: v.Totals.TotalDueCents, IdempotencyKey: "test-credit:" + uuid.NewString(), OccurredAt: f.clock.Now()})
	f.must(err)
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: v.Cart.ID, Seq: 1})
	f.must(err)
	if prep.Settlement != booking.SettleNow {
		f.t.Fatalf("settlement %s", prep.Settlement)
	}
	f.must(f.acts.ConfirmCart(f.ctx, prep.AttemptID))
	rows, err := f.q.ListFamilyReservations(f.ctx, db.ListFamilyReservationsParams{OrgID: f.org, FamilyID: k.fam.ID, FirstDay: f.day.AddDate(-1, 0, 0), LastDay: f.day.AddDate(1, 0, 0)})
	f.must(err)
	return rows
}

// fill books every place of the day for new families and returns their reservations.
func (f *fixture) fill(day time.Time) []db.Reservation {
	f.t.Helper()
	sd := f.serviceDay(day)
	var out []db.Reservation
	for _, k := range f.families(int(*sd.Capacity - sd.Taken)) {
		out = append(out, f.book(k, day))
	}
	return out
}

func (f *fixture) serviceDay(day time.Time) db.ServiceDay {
	f.t.Helper()
	sd, err := f.q.GetServiceDay(f.ctx, db.GetServiceDayParams{OrgID: f.org, ServiceID: f.service, Day: day})
	f.must(err)
	return sd
}

func (f *fixture) join(k kid, day time.Time) waitlist.Entry {
	f.t.Helper()
	e, err := f.lists.Join(f.ctx, k.fam, k.user, f.item(k, day))
	if err != nil {
		f.t.Fatalf("join: %v", err)
	}
	return e
}

func (f *fixture) entry(id uuid.UUID) db.WaitlistEntry {
	f.t.Helper()
	e, err := f.q.GetWaitlistEntry(f.ctx, id)
	f.must(err)
	return e
}

// rank is the entry's rank as the family reads it (0 unless waiting).
func (f *fixture) rank(k kid, id uuid.UUID) int32 {
	f.t.Helper()
	entries, err := f.lists.FamilyEntries(f.ctx, k.fam)
	f.must(err)
	for _, e := range entries {
		if e.ID == id {
			if e.Rank == nil {
				return 0
			}
			return *e.Rank
		}
	}
	f.t.Fatalf("entry %s not in the family's list", id)
	return 0
}

// check asserts the day's counters and every invariant of the lists: taken is the
// held lines plus the confirmed reservations, waiting is the entries waiting,
// each offer a held line, each accepted entry a confirmed place.
func (f *fixture) check(day time.Time, taken, waiting int32) {
	f.t.Helper()
	sd := f.serviceDay(day)
	lines, err := f.q.CountDayLines(f.ctx, sd.ID)
	f.must(err)
	if sd.Taken != taken || int64(sd.Taken) != lines {
		f.t.Errorf("%s: taken %d, lines + reservations %d; want %d", day.Format(time.DateOnly), sd.Taken, lines, taken)
	}
	if sd.Waiting != waiting {
		f.t.Errorf("%s: waiting %d, want %d", day.Format(time.DateOnly), sd.Waiting, waiting)
	}
	bad, err := f.q.CountWaitlistMismatches(f.ctx, f.org)
	f.must(err)
	if bad != 0 {
		f.t.Errorf("%d waiting-list invariant violations", bad)
	}
	over, err := f.q.CountOverbookedDays(f.ctx, f.org)
	f.must(err)
	if over != 0 {
		f.t.Errorf("%d overbooked days", over)
	}
}

func refusedWith(t *testing.T, err error) string {
	t.Helper()
	var refused *cart.RefusedError
	if !errors.As(err, &refused) || len(refused.Refusals) != 1 {
		t.Fatalf("err = %v, want one refusal", err)
	}
	return refused.Refusals[0].Reason
}

// bigPool is a pool wide enough for a concurrency test's requests to reach
// PostgreSQL at the same time.
func (f *fixture) bigPool(conns int) *pgxpool.Pool {
	f.t.Helper()
	cfg, err := pgxpool.ParseConfig(f.dsn)
	f.must(err)
	cfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(f.ctx, cfg)
	f.must(err)
	f.t.Cleanup(pool.Close)
	return pool
}
