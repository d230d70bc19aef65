package cart_test

import (
	"context"
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
)

func TestMain(m *testing.M) { testenv.Main(m) }

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func at(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, paris) }

// clock is the store's time, moved by the tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// fixture is one org with a canteen open Monday, Tuesday, Thursday and Friday from
// November 2026 to January 2027 (closed on 11 November and the Christmas holidays),
// booking and cancellation deadlines "J-2 before 10:00, working days", prices by QF
// 150 / 290 / 380 cents. The clock starts on Friday 27 November 2026 at 09:00 in Paris.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	pool    *pgxpool.Pool
	dsn     string
	q       *db.Queries
	org     uuid.UUID
	staff   uuid.UUID // an agent
	canteen uuid.UUID
	clock   *clock
	store   *cart.Store
	acts    *activities.Activities
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool, dsn := testenv.Database(t)
	f := &fixture{t: t, ctx: context.Background(), pool: pool, dsn: dsn, q: db.New(pool), clock: &clock{now: at(2026, 11, 27, 9, 0)}}
	f.store = &cart.Store{Pool: pool, TTL: 48 * time.Hour, Now: f.clock.Now}
	f.acts = &activities.Activities{Pool: pool, Log: zap.NewNop(), Now: f.clock.Now}
	f.org = f.newOrg("test")
	f.staff = uuid.New()
	f.must(f.q.InsertUser(f.ctx, db.InsertUserParams{ID: f.staff, OrgID: f.org, Login: "agent-" + f.staff.String() + "@test", Role: "agent"}))
	for _, c := range []struct{ first, last time.Time }{{date(2026, 11, 11), date(2026, 11, 11)}, {date(2026, 12, 19), date(2027, 1, 3)}} {
		f.must(f.q.InsertClosure(f.ctx, db.InsertClosureParams{ID: uuid.New(), OrgID: f.org, FirstDay: c.first, LastDay: c.last, Label: "fermé"}))
	}
	f.canteen = f.newService(f.org, "cantine", nil)
	return f
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) newOrg(slug string) uuid.UUID {
	id := uuid.New()
	f.must(f.q.InsertOrg(f.ctx, db.InsertOrgParams{ID: id, Slug: slug + "-" + id.String()[:8], Name: "Ville " + slug, Numcli: "123456", Saisie: "T", TimeZone: "Europe/Paris"}))
	return id
}

func tenAM() pgtype.Time {
	return pgtype.Time{Microseconds: int64(10 * time.Hour / time.Microsecond), Valid: true}
}

// newService creates a service with the fixture's rules and opens its days.
func (f *fixture) newService(org uuid.UUID, code string, edit func(*db.CreateServiceParams)) uuid.UUID {
	f.t.Helper()
	p := db.CreateServiceParams{
		ID: uuid.New(), OrgID: org, Code: code, Name: code, Weekdays: []int16{1, 2, 4, 5},
		BookingDaysBefore: 2, BookingTime: tenAM(), CancelDaysBefore: 2, CancelTime: tenAM(), WorkingDaysOnly: true,
		EligibleSchools: []string{}, EligibleClasses: []string{}, Active: true,
	}
	if edit != nil {
		edit(&p)
	}
	svc, err := f.q.CreateService(f.ctx, p)
	f.must(err)
	b1, b2 := int32(700), int32(1200)
	for _, pr := range []db.InsertServicePriceParams{{QfMin: 0, QfMax: &b1, PriceCents: 150}, {QfMin: 701, QfMax: &b2, PriceCents: 290}, {QfMin: 1201, PriceCents: 380}} {
		pr.ID, pr.ServiceID = uuid.New(), svc.ID
		f.must(f.q.InsertServicePrice(f.ctx, pr))
	}
	_, err = f.q.GenerateServiceDays(f.ctx, db.GenerateServiceDaysParams{ServiceID: svc.ID, FirstDay: date(2026, 11, 1), LastDay: date(2027, 1, 31)})
	f.must(err)
	return svc.ID
}

// family creates a family of the org with one child per class name given.
func (f *fixture) family(org uuid.UUID, qf int32, classes ...string) (cart.Family, []uuid.UUID) {
	f.t.Helper()
	fam := cart.Family{OrgID: org, ID: uuid.New()}
	f.must(f.q.InsertFamily(f.ctx, db.InsertFamilyParams{ID: fam.ID, OrgID: org, Name: "Famille " + fam.ID.String()[:6], Email: "f@test", Qf: qf}))
	var kids []uuid.UUID
	for i, class := range classes {
		id := uuid.New()
		birth := date(2018, 3, 1)
		f.must(f.q.InsertMember(f.ctx, db.InsertMemberParams{
			ID: id, OrgID: org, FamilyID: fam.ID, Kind: "child", FirstName: fmt.Sprintf("Enfant%d", i), LastName: "Test",
			BirthDate: &birth, School: "École Jules Ferry", ClassName: class,
		}))
		kids = append(kids, id)
	}
	return fam, kids
}

func (f *fixture) serviceDay(svc uuid.UUID, day time.Time) db.ServiceDay {
	f.t.Helper()
	sd, err := f.q.GetServiceDay(f.ctx, db.GetServiceDayParams{OrgID: f.org, ServiceID: svc, Day: day})
	f.must(err)
	return sd
}

func (f *fixture) setCapacity(svc uuid.UUID, day time.Time, capacity int32) {
	f.t.Helper()
	sd := f.serviceDay(svc, day)
	_, err := f.q.UpsertServiceDay(f.ctx, db.UpsertServiceDayParams{ID: uuid.New(), OrgID: f.org, ServiceID: svc, Day: day, Open: sd.Open, Capacity: &capacity})
	f.must(err)
}

func (f *fixture) setOpen(svc uuid.UUID, day time.Time, open bool) {
	f.t.Helper()
	sd := f.serviceDay(svc, day)
	_, err := f.q.UpsertServiceDay(f.ctx, db.UpsertServiceDayParams{ID: uuid.New(), OrgID: f.org, ServiceID: svc, Day: day, Open: open, Capacity: sd.Capacity})
	f.must(err)
}

// checkTaken asserts the day's counter equals its held lines plus confirmed reservations.
func (f *fixture) checkTaken(svc uuid.UUID, day time.Time, want int32) {
	f.t.Helper()
	sd := f.serviceDay(svc, day)
	lines, err := f.q.CountDayLines(f.ctx, sd.ID)
	f.must(err)
	if sd.Taken != want || int64(sd.Taken) != lines {
		f.t.Errorf("%s: taken = %d, held lines + reservations = %d, want %d", day.Format(time.DateOnly), sd.Taken, lines, want)
	}
}

func item(child, svc uuid.UUID, day time.Time) cart.Item {
	return cart.Item{ChildID: child, ServiceID: svc, Date: day.Format(time.DateOnly)}
}

// pay confirms the family's cart the way the workflow does, settled from a credit
// given beforehand so no PayFiP call is needed.
func (f *fixture) pay(fam cart.Family) []db.Reservation {
	f.t.Helper()
	v, err := f.store.Get(f.ctx, fam)
	f.must(err)
	if v.Cart == nil {
		f.t.Fatal("no cart to pay")
	}
	f.ledger(fam, "adjustment", 0, v.Totals.TotalDueCents, "test-credit:"+v.Cart.ID.String())
	prep, err := f.acts.PrepareCheckout(f.ctx, activities.PrepareCheckoutInput{CartID: v.Cart.ID, Seq: 1})
	f.must(err)
	if prep.Settlement != booking.SettleNow {
		f.t.Fatalf("settlement %s, want paid from credit", prep.Settlement)
	}
	f.must(f.acts.ConfirmCart(f.ctx, prep.AttemptID))
	rows, err := f.q.ListFamilyReservations(f.ctx, db.ListFamilyReservationsParams{OrgID: fam.OrgID, FamilyID: fam.ID, FirstDay: date(2000, 1, 1), LastDay: date(2100, 1, 1)})
	f.must(err)
	return rows
}

func (f *fixture) ledger(fam cart.Family, kind db.LedgerKind, outstanding, credit int64, key string) {
	f.t.Helper()
	if outstanding == 0 && credit == 0 {
		return
	}
	_, err := f.q.InsertLedgerEntry(f.ctx, db.InsertLedgerEntryParams{
		OrgID: fam.OrgID, FamilyID: fam.ID, Kind: kind, OutstandingCents: outstanding, CreditCents: credit,
		IdempotencyKey: key, OccurredAt: f.clock.Now(),
	})
	f.must(err)
}

func (f *fixture) balances(fam cart.Family) db.FamilyBalancesRow {
	f.t.Helper()
	b, err := f.q.FamilyBalances(f.ctx, fam.ID)
	f.must(err)
	return b
}

func (f *fixture) ledgerByKey(fam cart.Family) map[string]db.LedgerEntry {
	f.t.Helper()
	rows, err := f.q.ListFamilyLedger(f.ctx, db.ListFamilyLedgerParams{OrgID: fam.OrgID, FamilyID: fam.ID})
	f.must(err)
	out := map[string]db.LedgerEntry{}
	for _, e := range rows {
		out[e.IdempotencyKey] = e
	}
	return out
}

// bigPool is a pool wide enough for the requests of a concurrency test to reach
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

// manyFamilies creates n families of one child each in one transaction.
func (f *fixture) manyFamilies(n int) ([]cart.Family, []uuid.UUID) {
	f.t.Helper()
	fams := make([]cart.Family, n)
	kids := make([]uuid.UUID, n)
	f.must(pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		for i := range n {
			fams[i] = cart.Family{OrgID: f.org, ID: uuid.New()}
			kids[i] = uuid.New()
			if err := q.InsertFamily(f.ctx, db.InsertFamilyParams{ID: fams[i].ID, OrgID: f.org, Name: fmt.Sprintf("Famille %d", i), Email: "f@test", Qf: int32(i * 20)}); err != nil {
				return err
			}
			if err := q.InsertMember(f.ctx, db.InsertMemberParams{ID: kids[i], OrgID: f.org, FamilyID: fams[i].ID, Kind: "child", FirstName: "Enfant", LastName: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	}))
	return fams, kids
}
