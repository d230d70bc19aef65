package activities_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/testenv"
)

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a wall-clock time in Paris.
func at(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, paris) }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// invFixture is an org of its own with one service, in a fresh database; families
// and their money are written the way the engine writes them (reservations,
// carts, ledger entries with their keys).
type invFixture struct {
	t       *testing.T
	ctx     context.Context
	pool    *pgxpool.Pool
	q       *db.Queries
	acts    *activities.Activities
	org     uuid.UUID
	service uuid.UUID
	outbox  string
	sends   atomic.Int64
	now     time.Time
}

type invFamily struct {
	id, child uuid.UUID
}

// countingSender counts the messages that really leave.
type countingSender struct {
	next  mail.Sender
	count *atomic.Int64
	fail  atomic.Bool
}

func (s *countingSender) Send(ctx context.Context, m mail.Message) error {
	if s.fail.Load() {
		return errors.New("smtp: connection refused")
	}
	s.count.Add(1)
	return s.next.Send(ctx, m)
}

func newInvFixture(t *testing.T) *invFixture {
	t.Helper()
	pool, _ := testenv.Database(t)
	f := &invFixture{t: t, ctx: context.Background(), pool: pool, q: db.New(pool), org: uuid.New(), service: uuid.New(),
		outbox: t.TempDir(), now: at(2027, 1, 5, 9, 0)}
	f.acts = &activities.Activities{Pool: pool, Log: zap.NewNop(), Now: func() time.Time { return f.now },
		Mail: &countingSender{next: &mail.Outbox{Dir: f.outbox, From: "Portail <no-reply@enfance.test>"}, count: &f.sends}}
	must(t, f.q.InsertOrg(f.ctx, db.InsertOrgParams{ID: f.org, Slug: "ville-" + f.org.String()[:8], Name: "Ville de Facturation",
		Numcli: "123456", Saisie: "T", TimeZone: "Europe/Paris", Address: "1 place de la Mairie"}))
	must(t, f.q.InsertService(f.ctx, db.InsertServiceParams{ID: f.service, OrgID: f.org, Code: "cantine", Name: "Restauration scolaire",
		Weekdays: []int16{1, 2, 3, 4, 5}, BookingTime: ten, CancelTime: ten}))
	return f
}

var ten = pgtype.Time{Microseconds: int64(10 * time.Hour / time.Microsecond), Valid: true}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *invFixture) family(name, email string) invFamily {
	f.t.Helper()
	fam := invFamily{id: uuid.New(), child: uuid.New()}
	must(f.t, f.q.InsertFamily(f.ctx, db.InsertFamilyParams{ID: fam.id, OrgID: f.org, Name: name, Email: email,
		Address: "3 rue des Lilas", PostalCode: "75011", City: "Paris"}))
	must(f.t, f.q.InsertMember(f.ctx, db.InsertMemberParams{ID: fam.child, OrgID: f.org, FamilyID: fam.id, Kind: "child",
		FirstName: "Léa", LastName: name}))
	return fam
}

func (f *invFixture) day(d time.Time) uuid.UUID {
	f.t.Helper()
	sd, err := f.q.UpsertServiceDay(f.ctx, db.UpsertServiceDayParams{ID: uuid.New(), OrgID: f.org, ServiceID: f.service, Day: d, Open: true})
	must(f.t, err)
	return sd.ID
}

// online books day through a cart paid at `when`: the reservation and its charge.
func (f *invFixture) online(fam invFamily, day time.Time, price int64, when time.Time) uuid.UUID {
	f.t.Helper()
	sd := f.day(day)
	c, err := f.q.CreateCart(f.ctx, db.CreateCartParams{ID: uuid.New(), OrgID: f.org, FamilyID: fam.id, ExpiresAt: when.Add(48 * time.Hour)})
	must(f.t, err)
	_, err = f.q.InsertCartLine(f.ctx, db.InsertCartLineParams{ID: uuid.New(), OrgID: f.org, CartID: c.ID, FamilyID: fam.id,
		ChildID: fam.child, ServiceID: f.service, ServiceDayID: sd, Day: day, PriceCents: price})
	must(f.t, err)
	res, err := f.q.ConfirmCartLineReservations(f.ctx, c.ID)
	must(f.t, err)
	must(f.t, f.q.ConfirmCartLines(f.ctx, c.ID))
	must(f.t, f.q.SetCartStatus(f.ctx, db.SetCartStatusParams{ID: c.ID, Status: "paid"}))
	id := res[0].ID
	f.ledger(fam, "charge", price, 0, when, &id)
	return id
}

// staff books day on the family's behalf at `when`, charged to its balance.
func (f *invFixture) staff(fam invFamily, day time.Time, price int64, when time.Time) uuid.UUID {
	f.t.Helper()
	res, err := f.q.InsertStaffReservation(f.ctx, db.InsertStaffReservationParams{ID: uuid.New(), OrgID: f.org, FamilyID: fam.id,
		ChildID: fam.child, ServiceID: f.service, ServiceDayID: f.day(day), Day: day, PriceCents: price, Reason: "test"})
	must(f.t, err)
	f.ledger(fam, "charge", price, 0, when, &res.ID)
	return res.ID
}

func (f *invFixture) cancel(id uuid.UUID, when time.Time) {
	f.t.Helper()
	_, err := f.q.CancelReservation(f.ctx, db.CancelReservationParams{ID: id, CancelledAt: &when})
	must(f.t, err)
}

func (f *invFixture) ledger(fam invFamily, kind db.LedgerKind, outstanding, credit int64, when time.Time, res *uuid.UUID) {
	f.t.Helper()
	n, err := f.q.InsertLedgerEntry(f.ctx, db.InsertLedgerEntryParams{OrgID: f.org, FamilyID: fam.id, Kind: kind,
		OutstandingCents: outstanding, CreditCents: credit, IdempotencyKey: uuid.NewString(), ReservationID: res,
		Label: string(kind), OccurredAt: when})
	must(f.t, err)
	if n != 1 {
		f.t.Fatalf("ledger %s not written", kind)
	}
}

func (f *invFixture) invoice(fam invFamily, month string) activities.FamilyInvoice {
	f.t.Helper()
	res, err := f.acts.InvoiceFamily(f.ctx, f.org, month, fam.id)
	must(f.t, err)
	return res
}

func (f *invFixture) sum(query string, args ...any) int64 {
	f.t.Helper()
	var v int64
	must(f.t, f.pool.QueryRow(f.ctx, query, args...).Scan(&v))
	return v
}

// TestInvoiceReconcilesWithTheLedger builds a family with every kind of ledger
// entry, some on the edges of the month in Paris time, and checks each figure of
// its November invoice against sums over ledger_entries.
func TestInvoiceReconcilesWithTheLedger(t *testing.T) {
	f := newInvFixture(t)
	fam := f.family("Martin", "martin@example.test")

	// October: a booking paid online, an unpaid staff booking, a cancellation in time.
	f.online(fam, date(2026, 10, 20), 450, at(2026, 10, 15, 10, 0))
	f.ledger(fam, "payment", -450, 0, at(2026, 10, 15, 10, 0), nil)
	f.staff(fam, date(2026, 10, 29), 300, at(2026, 10, 28, 9, 0))
	gone := f.online(fam, date(2026, 10, 30), 200, at(2026, 10, 2, 9, 0))
	f.ledger(fam, "payment", -200, 0, at(2026, 10, 2, 9, 0), nil)
	f.cancel(gone, at(2026, 10, 20, 9, 0))
	f.ledger(fam, "cancellation_credit", 0, 200, at(2026, 10, 20, 9, 0), &gone)
	// Booked and paid in October for a November day: on November's invoice as information.
	prepaid := f.online(fam, date(2026, 11, 3), 450, at(2026, 10, 25, 18, 0))
	f.ledger(fam, "payment", -450, 0, at(2026, 10, 25, 18, 0), nil)

	// November (00:30 on the 1st in Paris is still 31 October in UTC).
	for _, d := range []int{5, 6, 7} {
		f.online(fam, date(2026, 11, d), 450, at(2026, 11, 1, 0, 30))
	}
	f.online(fam, date(2026, 12, 2), 450, at(2026, 11, 1, 0, 30)) // December day booked in November
	f.ledger(fam, "credit_used", -200, -200, at(2026, 11, 1, 0, 30), nil)
	f.ledger(fam, "payment", -1900, 0, at(2026, 11, 1, 0, 30), nil) // 4 × 4,50 + 3,00 owed − 2,00 credit
	reversed := f.staff(fam, date(2026, 11, 12), 380, at(2026, 11, 10, 9, 0))
	f.cancel(reversed, at(2026, 11, 11, 9, 0))
	f.ledger(fam, "adjustment", -380, 0, at(2026, 11, 11, 9, 0), &reversed)
	refunded := f.online(fam, date(2026, 11, 26), 450, at(2026, 11, 16, 9, 0))
	f.ledger(fam, "payment", -450, 0, at(2026, 11, 16, 9, 0), nil)
	f.cancel(refunded, at(2026, 11, 20, 9, 0))
	f.ledger(fam, "cancellation_credit", 0, 450, at(2026, 11, 20, 9, 0), &refunded)
	f.staff(fam, date(2026, 11, 27), 380, at(2026, 11, 24, 9, 0))
	f.ledger(fam, "desk_payment", -100, 0, at(2026, 11, 25, 9, 0), nil)
	f.ledger(fam, "adjustment", 50, 0, at(2026, 11, 26, 9, 0), nil)
	f.ledger(fam, "adjustment", 0, 30, at(2026, 11, 26, 9, 5), nil)
	f.ledger(fam, "late_payment_credit", 0, 1000, at(2026, 11, 27, 9, 0), nil)
	f.ledger(fam, "payment", -30, 0, at(2026, 11, 30, 23, 30), nil) // 22:30 UTC: still November
	// December (00:10 on the 1st in Paris is 30 November in UTC): not on November's invoice.
	f.ledger(fam, "desk_payment", -70, 0, at(2026, 12, 1, 0, 10), nil)

	// A family with nothing in November gets no invoice.
	quiet := f.family("Durand", "durand@example.test")
	f.online(quiet, date(2026, 10, 6), 450, at(2026, 10, 1, 9, 0))

	res := f.invoice(fam, "2026-11")
	if !res.OK || !res.Created {
		t.Fatalf("no invoice: %+v", res)
	}
	inv := res.Invoice
	start, end := at(2026, 11, 1, 0, 0), at(2026, 12, 1, 0, 0)
	window := `family_id = $1 AND occurred_at >= $2 AND occurred_at < $3`
	want := map[string][2]int64{
		"opening balance":   {inv.OpeningBalanceCents, f.sum(`SELECT COALESCE(sum(outstanding_cents),0) FROM ledger_entries WHERE family_id = $1 AND occurred_at < $2`, fam.id, start)},
		"closing balance":   {inv.ClosingBalanceCents, f.sum(`SELECT COALESCE(sum(outstanding_cents),0) FROM ledger_entries WHERE family_id = $1 AND occurred_at < $2`, fam.id, end)},
		"charges":           {inv.TotalCents, f.sum(`SELECT COALESCE(sum(outstanding_cents),0) FROM ledger_entries WHERE `+window+` AND kind = 'charge'`, fam.id, start, end)},
		"paid":              {inv.PaidCents, f.sum(`SELECT COALESCE(-sum(outstanding_cents),0) FROM ledger_entries WHERE `+window+` AND kind IN ('payment','desk_payment')`, fam.id, start, end)},
		"credit used":       {inv.CreditUsedCents, f.sum(`SELECT COALESCE(-sum(outstanding_cents),0) FROM ledger_entries WHERE `+window+` AND kind = 'credit_used'`, fam.id, start, end)},
		"cancelled":         {inv.CancelledCents, f.sum(`SELECT COALESCE(-sum(outstanding_cents),0) FROM ledger_entries WHERE `+window+` AND kind = 'adjustment' AND reservation_id IS NOT NULL`, fam.id, start, end)},
		"adjustments":       {inv.AdjustmentsCents, f.sum(`SELECT COALESCE(sum(outstanding_cents),0) FROM ledger_entries WHERE `+window+` AND kind IN ('adjustment','late_payment_credit','cancellation_credit') AND NOT (kind = 'adjustment' AND reservation_id IS NOT NULL)`, fam.id, start, end)},
		"opening credit":    {inv.OpeningCreditCents, f.sum(`SELECT COALESCE(sum(credit_cents),0) FROM ledger_entries WHERE family_id = $1 AND occurred_at < $2`, fam.id, start)},
		"closing credit":    {inv.ClosingCreditCents, f.sum(`SELECT COALESCE(sum(credit_cents),0) FROM ledger_entries WHERE family_id = $1 AND occurred_at < $2`, fam.id, end)},
		"credit earned":     {inv.CreditEarnedCents, f.sum(`SELECT COALESCE(sum(credit_cents),0) FROM ledger_entries WHERE `+window+` AND credit_cents > 0`, fam.id, start, end)},
		"credit spent":      {inv.CreditSpentCents, f.sum(`SELECT COALESCE(-sum(credit_cents),0) FROM ledger_entries WHERE `+window+` AND credit_cents < 0`, fam.id, start, end)},
		"itemized entries":  {f.sum(`SELECT count(*) FROM invoice_lines WHERE invoice_id = $1 AND ledger_entry_id IS NOT NULL`, inv.ID), f.sum(`SELECT count(*) FROM ledger_entries WHERE `+window, fam.id, start, end)},
		"lines add up":      {f.sum(`SELECT sum(amount_cents) FROM invoice_lines WHERE invoice_id = $1`, inv.ID), inv.ClosingBalanceCents - inv.OpeningBalanceCents},
		"credit lines":      {f.sum(`SELECT sum(credit_cents) FROM invoice_lines WHERE invoice_id = $1`, inv.ID), inv.ClosingCreditCents - inv.OpeningCreditCents},
		"due":               {inv.DueCents, max(inv.ClosingBalanceCents, 0)},
		"reservation lines": {f.sum(`SELECT count(*) FROM invoice_lines WHERE invoice_id = $1 AND kind IN ('reservation','staff_reservation') AND child_name = 'Léa Martin' AND service_name = 'Restauration scolaire'`, inv.ID), 7},
	}
	for name, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s: invoice %d, ledger %d", name, v[0], v[1])
		}
	}
	// The figures themselves, worked out by hand: opening 300 owed, 200 of credit.
	if inv.OpeningBalanceCents != 300 || inv.TotalCents != 5*450+2*380 || inv.ClosingBalanceCents != 300+3010-380-2480-200+50 ||
		inv.OpeningCreditCents != 200 || inv.ClosingCreditCents != 200-200+450+30+1000 {
		t.Errorf("figures: %+v", inv)
	}
	if inv.Number != "FAC-2027-000001" || inv.Month != "2026-11" {
		t.Errorf("number %s month %s", inv.Number, inv.Month)
	}
	var info int64
	must(t, f.pool.QueryRow(f.ctx, `SELECT count(*) FROM invoice_lines l JOIN reservations r ON r.day = l.day
		WHERE l.invoice_id = $1 AND l.kind = 'info' AND r.id = $2 AND l.amount_cents = 0 AND l.unit_cents = 450`, inv.ID, prepaid).Scan(&info))
	if info != 1 {
		t.Errorf("the reservation dated in November but paid in October is not shown once as information (%d)", info)
	}

	// Asked again: the same invoice, no number consumed.
	again := f.invoice(fam, "2026-11")
	if again.Created || again.Invoice.ID != inv.ID || f.sum(`SELECT last FROM invoice_counters WHERE org_id = $1`, f.org) != 1 {
		t.Errorf("second call: %+v", again)
	}
	if r := f.invoice(quiet, "2026-11"); r.OK {
		t.Errorf("a family with nothing in November got invoice %s", r.Invoice.Number)
	}
	// December's invoice opens where November's closed.
	dec := f.invoice(fam, "2026-12").Invoice
	if dec.OpeningBalanceCents != inv.ClosingBalanceCents || dec.OpeningCreditCents != inv.ClosingCreditCents || dec.PaidCents != 70 {
		t.Errorf("December opens at %d/%d (November closed at %d/%d), paid %d", dec.OpeningBalanceCents, dec.OpeningCreditCents,
			inv.ClosingBalanceCents, inv.ClosingCreditCents, dec.PaidCents)
	}
}

// TestLateEntryGoesOnTheNextInvoice: a payment dated in a month already invoiced
// (confirmed after the run) is itemized once, on the next invoice, and the
// balances still chain.
func TestLateEntryGoesOnTheNextInvoice(t *testing.T) {
	f := newInvFixture(t)
	fam := f.family("Petit", "petit@example.test")
	f.staff(fam, date(2026, 10, 12), 600, at(2026, 10, 10, 9, 0))
	oct := f.invoice(fam, "2026-10").Invoice
	f.ledger(fam, "payment", -600, 0, at(2026, 10, 31, 23, 50), nil) // written after October's invoice
	f.online(fam, date(2026, 11, 4), 450, at(2026, 11, 2, 9, 0))
	f.ledger(fam, "payment", -450, 0, at(2026, 11, 2, 9, 0), nil)

	nov := f.invoice(fam, "2026-11").Invoice
	if nov.OpeningBalanceCents != oct.ClosingBalanceCents || nov.PaidCents != 1050 || nov.ClosingBalanceCents != 0 || nov.DueCents != 0 {
		t.Errorf("November: %+v (October closed at %d)", nov, oct.ClosingBalanceCents)
	}
	if n := f.sum(`SELECT count(*) FROM invoice_lines WHERE invoice_id = $1 AND late`, nov.ID); n != 1 {
		t.Errorf("late lines: %d", n)
	}
	// A month whose run has not happened keeps its own entries.
	other := f.family("Moreau", "moreau@example.test")
	f.staff(other, date(2026, 10, 12), 600, at(2026, 10, 10, 9, 0))
	f.staff(other, date(2026, 11, 12), 600, at(2026, 11, 10, 9, 0))
	novOther := f.invoice(other, "2026-11").Invoice
	if novOther.OpeningBalanceCents != 600 || novOther.TotalCents != 600 {
		t.Errorf("November took October's entries of a family October's run has not reached: %+v", novOther)
	}
}

func TestUnfinishedMonthIsRefused(t *testing.T) {
	f := newInvFixture(t)
	f.now = at(2027, 1, 31, 23, 59)
	_, err := f.acts.BeginInvoiceRun(f.ctx, activities.BeginInvoiceRunInput{OrgID: f.org, Month: "2027-01"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeMonthNotFinished || !appErr.NonRetryable() ||
		appErr.Message() != "Le mois de janvier 2027 n'est pas terminé : sa facturation sera possible à partir du 1er février 2027." {
		t.Fatalf("got %v", err)
	}
	f.now = at(2027, 2, 1, 0, 0)
	if _, err := f.acts.BeginInvoiceRun(f.ctx, activities.BeginInvoiceRunInput{OrgID: f.org, Month: "2027-01"}); err != nil {
		t.Fatalf("at midnight the month is over: %v", err)
	}
	_, err = f.acts.BeginInvoiceRun(f.ctx, activities.BeginInvoiceRunInput{OrgID: f.org, Month: "2027-13"})
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeBadMonth {
		t.Fatalf("bad month: %v", err)
	}
}

// TestNumbersHaveNoGapUnderConcurrentRuns runs October and November (twice) at
// once, four batches in flight each, and checks that the year's numbers are
// exactly 1…N.
func TestNumbersHaveNoGapUnderConcurrentRuns(t *testing.T) {
	f := newInvFixture(t)
	const families = 80
	for i := range families {
		fam := f.family(fmt.Sprintf("Famille%03d", i), "")
		f.online(fam, date(2026, 10, 5+i%20), 450, at(2026, 10, 2, 9, 0))
		if i%5 != 0 { // a fifth of them have nothing in November
			f.staff(fam, date(2026, 11, 5+i%20), 380, at(2026, 11, 2, 9, 0))
		}
	}
	run := func(month string) error {
		ids, err := f.acts.ListInvoiceFamilies(f.ctx, activities.ListInvoiceFamiliesInput{OrgID: f.org, Month: month, Limit: 1000})
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(ids))
		sem := make(chan struct{}, 4)
		for start := 0; start < len(ids); start += 5 {
			batch := ids[start:min(start+5, len(ids))]
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if _, err := f.acts.InvoiceFamilies(f.ctx, activities.InvoiceBatch{OrgID: f.org, Month: month, FamilyIDs: batch}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, month := range []string{"2026-10", "2026-11", "2026-11"} {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- run(month) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}

	rows, err := f.pool.Query(f.ctx, `SELECT number FROM invoices WHERE org_id = $1 ORDER BY number`, f.org)
	must(t, err)
	var numbers []string
	for rows.Next() {
		var n string
		must(t, rows.Scan(&n))
		numbers = append(numbers, n)
	}
	must(t, rows.Err())
	wantCount := families + families*4/5
	if len(numbers) != wantCount {
		t.Fatalf("%d invoices, want %d", len(numbers), wantCount)
	}
	for i, n := range numbers {
		if want := fmt.Sprintf("FAC-2027-%06d", i+1); n != want {
			t.Fatalf("number %d is %s, want %s (gap or duplicate)", i+1, n, want)
		}
	}
	if last := f.sum(`SELECT last FROM invoice_counters WHERE org_id = $1 AND year = 2027`, f.org); last != int64(wantCount) {
		t.Errorf("counter at %d, %d invoices", last, wantCount)
	}
	if n := f.sum(`SELECT count(*) FROM (SELECT family_id, month FROM invoices GROUP BY 1, 2 HAVING count(*) > 1) d`); n != 0 {
		t.Errorf("%d families invoiced twice for a month", n)
	}
}

// TestInvoiceEmailIsSentOnce: sent once with its PDF, never again, retried after a
// mail outage; a family without an address is skipped.
func TestInvoiceEmailIsSentOnce(t *testing.T) {
	f := newInvFixture(t)
	fam := f.family("Martin", "martin@example.test")
	f.staff(fam, date(2026, 11, 12), 380, at(2026, 11, 10, 9, 0))
	noMail := f.family("Sansmail", "")
	f.staff(noMail, date(2026, 11, 12), 380, at(2026, 11, 10, 9, 0))
	inv := f.invoice(fam, "2026-11").Invoice
	other := f.invoice(noMail, "2026-11").Invoice

	sender := f.acts.Mail.(*countingSender)
	sender.fail.Store(true)
	if _, err := f.acts.SendInvoiceEmails(f.ctx, activities.InvoiceEmails{OrgID: f.org, InvoiceIDs: []uuid.UUID{inv.ID, other.ID}}); err == nil {
		t.Fatal("a mail outage must fail the activity so that it is retried")
	}
	sender.fail.Store(false)
	for range 2 {
		if _, err := f.acts.SendInvoiceEmails(f.ctx, activities.InvoiceEmails{OrgID: f.org, InvoiceIDs: []uuid.UUID{inv.ID, other.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.sends.Load(); n != 1 {
		t.Fatalf("%d messages sent, want 1", n)
	}
	files, _ := filepath.Glob(filepath.Join(f.outbox, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox: %v", files)
	}
	raw, err := os.ReadFile(files[0])
	must(t, err)
	for _, want := range []string{"invoice_" + inv.ID.String(), "facture-FAC-2027-000001.pdf", "application/pdf", "martin@example.test"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("message lacks %q", want)
		}
	}
	if n := f.sum(`SELECT count(*) FROM outbound_emails WHERE idempotency_key = $1 AND sent_at IS NOT NULL`, "invoice:"+inv.ID.String()); n != 1 {
		t.Errorf("outbound_emails: %d", n)
	}
}

// TestRunRowLifecycle: the row is created once per month, restarts count from
// zero, and a completed run stays completed.
func TestRunRowLifecycle(t *testing.T) {
	f := newInvFixture(t)
	fam := f.family("Martin", "")
	f.staff(fam, date(2026, 11, 12), 380, at(2026, 11, 10, 9, 0))
	first, err := f.acts.BeginInvoiceRun(f.ctx, activities.BeginInvoiceRunInput{OrgID: f.org, Month: "2026-11", WorkflowID: "w"})
	must(t, err)
	if first.FamiliesTotal != 1 || first.Completed {
		t.Fatalf("begin: %+v", first)
	}
	must(t, f.acts.FinishInvoiceRun(f.ctx, activities.FinishInvoiceRunInput{RunID: first.RunID, Status: "failed", Error: "boom"}))
	second, err := f.acts.BeginInvoiceRun(f.ctx, activities.BeginInvoiceRunInput{OrgID: f.org, Month: "2026-11", WorkflowID: "w"})
	must(t, err)
	if second.RunID != first.RunID || second.Completed {
		t.Fatalf("restart: %+v", second)
	}
	must(t, f.acts.FinishInvoiceRun(f.ctx, activities.FinishInvoiceRunInput{RunID: first.RunID, Status: "completed",
		Figures: activities.InvoiceRunFigures{FamiliesDone: 1, Invoices: 1, ChargesCents: 380, DueCents: 380}}))
	third, err := f.acts.BeginInvoiceRun(f.ctx, activities.BeginInvoiceRunInput{OrgID: f.org, Month: "2026-11", WorkflowID: "w"})
	must(t, err)
	if !third.Completed || third.Progress.ChargesCents != 380 || third.RunID != first.RunID {
		t.Fatalf("completed run: %+v", third)
	}
	row, err := f.q.GetInvoiceRun(f.ctx, db.GetInvoiceRunParams{OrgID: f.org, ID: first.RunID})
	must(t, err)
	if row.Status != "completed" || row.FinishedAt == nil || row.Error != "" && row.Status != "completed" {
		t.Errorf("row: %+v", row)
	}
	if got := slices.Index([]db.InvoiceRunStatus{"running", "completed", "failed"}, row.Status); got < 0 {
		t.Errorf("status %q", row.Status)
	}
}

// The month is said the French way in the e-mail: « Votre facture d'octobre 2026 ».
func TestInvoiceEmailSaysDOctobre(t *testing.T) {
	f := newInvFixture(t)
	fam := f.family("Martin", "martin@example.test")
	f.staff(fam, date(2026, 10, 12), 380, at(2026, 10, 10, 9, 0))
	inv := f.invoice(fam, "2026-10").Invoice
	if _, err := f.acts.SendInvoiceEmails(f.ctx, activities.InvoiceEmails{OrgID: f.org, InvoiceIDs: []uuid.UUID{inv.ID}}); err != nil {
		t.Fatal(err)
	}
	var subject string
	must(t, f.pool.QueryRow(f.ctx, `SELECT subject FROM outbound_emails WHERE idempotency_key = $1`, "invoice:"+inv.ID.String()).Scan(&subject))
	if want := "Votre facture d'octobre 2026 (" + inv.Number + ")"; subject != want {
		t.Fatalf("subject %q, want %q", subject, want)
	}
}
