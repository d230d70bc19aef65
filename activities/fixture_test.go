package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/demo"
	"github.com/enfance/enfance/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is the demo data in a fresh database: the Martin family (QF 650, no
// money on its account) and the Bernard family (QF 1400, 5,00 € of credit).
type fixture struct {
	t    *testing.T
	ctx  context.Context
	pool *pgxpool.Pool
	q    *db.Queries
	acts *activities.Activities
	org  uuid.UUID
	now  time.Time
}

type family struct {
	id, child uuid.UUID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool, _ := testenv.Database(t)
	ctx := context.Background()
	if _, err := demo.Load(ctx, pool); err != nil {
		t.Fatalf("demo data: %v", err)
	}
	f := &fixture{t: t, ctx: ctx, pool: pool, q: db.New(pool), now: time.Date(2026, 11, 25, 14, 2, 0, 0, time.UTC)}
	org, err := f.q.GetOrgBySlug(ctx, demo.OrgSlug)
	if err != nil {
		t.Fatal(err)
	}
	f.org = org.ID
	f.acts = &activities.Activities{Pool: pool, Log: zap.NewNop(), Now: func() time.Time { return f.now }, TestPayments: true}
	return f
}

func (f *fixture) family(name string) family {
	f.t.Helper()
	var fam family
	if err := f.pool.QueryRow(f.ctx, `
		SELECT f.id, m.id FROM families f JOIN members m ON m.family_id = f.id AND m.kind = 'child'
		WHERE f.name = $1 ORDER BY m.birth_date LIMIT 1`, name).Scan(&fam.id, &fam.child); err != nil {
		f.t.Fatalf("family %s: %v", name, err)
	}
	return fam
}

// cart opens a cart for fam holding n days of the service `code` (demo days in
// March 2027), at the family's price, each taking its place as the API does.
func (f *fixture) cart(fam family, code string, n int) db.Cart {
	f.t.Helper()
	c, err := f.q.CreateCart(f.ctx, db.CreateCartParams{ID: uuid.New(), OrgID: f.org, FamilyID: fam.id, ExpiresAt: f.now.Add(48 * time.Hour)})
	if err != nil {
		f.t.Fatalf("create cart: %v", err)
	}
	rows, err := f.pool.Query(f.ctx, `
		SELECT d.id, d.service_id, d.day, p.price_cents
		FROM service_days d JOIN services s ON s.id = d.service_id
		JOIN families fa ON fa.id = $2
		JOIN service_prices p ON p.service_id = s.id AND fa.qf >= p.qf_min AND (p.qf_max IS NULL OR fa.qf <= p.qf_max)
		WHERE s.code = $1 AND s.org_id = fa.org_id AND d.open AND d.day >= '2027-03-01'
		ORDER BY d.day LIMIT $3`, code, fam.id, n)
	if err != nil {
		f.t.Fatal(err)
	}
	type day struct {
		id, service uuid.UUID
		day         time.Time
		price       int64
	}
	var days []day
	for rows.Next() {
		var d day
		if err := rows.Scan(&d.id, &d.service, &d.day, &d.price); err != nil {
			f.t.Fatal(err)
		}
		days = append(days, d)
	}
	if err := rows.Err(); err != nil || len(days) != n {
		f.t.Fatalf("%d days of %s found (%v)", len(days), code, err)
	}
	for _, d := range days {
		if _, err := f.q.TakePlace(f.ctx, d.id); err != nil {
			f.t.Fatalf("take place: %v", err)
		}
		if _, err := f.q.InsertCartLine(f.ctx, db.InsertCartLineParams{
			ID: uuid.New(), OrgID: f.org, CartID: c.ID, FamilyID: fam.id, ChildID: fam.child,
			ServiceID: d.service, ServiceDayID: d.id, Day: d.day, PriceCents: d.price,
		}); err != nil {
			f.t.Fatalf("cart line: %v", err)
		}
	}
	return c
}

// owe puts cents of unpaid charges on fam's outstanding balance.
func (f *fixture) owe(fam family, cents int64) {
	f.t.Helper()
	if _, err := f.q.InsertLedgerEntry(f.ctx, db.InsertLedgerEntryParams{
		OrgID: f.org, FamilyID: fam.id, Kind: "adjustment", OutstandingCents: cents,
		IdempotencyKey: "test:owe:" + uuid.NewString(), Label: "Régularisation", OccurredAt: f.now,
	}); err != nil {
		f.t.Fatal(err)
	}
}

type balances struct{ outstanding, credit int64 }

func (f *fixture) balances(fam family) balances {
	f.t.Helper()
	b, err := f.q.FamilyBalances(f.ctx, fam.id)
	if err != nil {
		f.t.Fatal(err)
	}
	return balances{b.OutstandingCents, b.CreditCents}
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.pool.QueryRow(f.ctx, query, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// taken sums service_days.taken over the days of cart c's lines.
func (f *fixture) taken(c db.Cart) int {
	return f.count(`SELECT COALESCE(sum(taken), 0)::int FROM service_days WHERE id IN (SELECT service_day_id FROM cart_lines WHERE cart_id = $1)`, c.ID)
}

func (f *fixture) cartStatus(c db.Cart) db.CartStatus {
	f.t.Helper()
	got, err := f.q.GetCart(f.ctx, c.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return got.Status
}

func (f *fixture) attempt(id uuid.UUID) db.PaymentAttempt {
	f.t.Helper()
	att, err := f.q.GetPaymentAttempt(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return att
}

// paidByPayFiP records on the attempt what CheckPayment records for a P answer.
func (f *fixture) paidByPayFiP(id uuid.UUID) {
	f.t.Helper()
	idOp := "idop-" + id.String()
	paidAt := f.now.Add(5 * time.Minute)
	if err := f.q.SetPaymentAttemptIDOp(f.ctx, db.SetPaymentAttemptIDOpParams{ID: id, IDOp: &idOp}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.q.SetPaymentAttemptOutcome(f.ctx, db.SetPaymentAttemptOutcomeParams{
		ID: id, Status: "paid", Resultrans: "P", Numauto: "112233", PaidAt: &paidAt,
	}); err != nil {
		f.t.Fatal(err)
	}
}

func wantAppError(t *testing.T, err error, typ string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != typ || !appErr.NonRetryable() {
		t.Fatalf("want a non-retryable %s error, got %v", typ, err)
	}
}
