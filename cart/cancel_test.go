package cart_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
)

func byDay(rows []db.Reservation) map[string]db.Reservation {
	out := map[string]db.Reservation{}
	for _, r := range rows {
		out[r.Day.Format(time.DateOnly)] = r
	}
	return out
}

func TestFamilyCancelsInTimeForCredit(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	other, _ := f.family(f.org, 650, "CP")
	thu, fri := date(2026, 12, 3), date(2026, 12, 4)
	if _, err := f.store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, thu), item(kids[0], f.canteen, fri)}); err != nil {
		t.Fatal(err)
	}
	res := byDay(f.pay(fam))
	before := f.balances(fam)

	// Thursday 3 December may be cancelled until Tuesday 1 December at 10:00
	// (J-2 in working days); Friday's deadline is Wednesday.
	f.clock.Set(at(2026, 12, 1, 10, 0))
	_, err := f.store.Cancel(f.ctx, fam, res["2026-12-03"].ID)
	var late *cart.TooLateError
	if !errors.As(err, &late) {
		t.Fatalf("at 10:00: err = %v, want TooLateError", err)
	}
	if got, want := late.Message(), "Le délai d'annulation était le mardi 1er décembre 2026 à 10h00."; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	f.checkTaken(f.canteen, thu, 1)

	f.clock.Set(at(2026, 12, 1, 9, 59))
	if _, err := f.store.Cancel(f.ctx, other, res["2026-12-03"].ID); !errors.Is(err, cart.ErrNotFound) {
		t.Errorf("another family cancelling: %v, want ErrNotFound", err)
	}
	if _, err := f.store.Cancel(f.ctx, fam, uuid.New()); !errors.Is(err, cart.ErrNotFound) {
		t.Errorf("unknown reservation: %v, want ErrNotFound", err)
	}
	c, err := f.store.Cancel(f.ctx, fam, res["2026-12-03"].ID)
	if err != nil {
		t.Fatalf("at 09:59: %v", err)
	}
	if c.Reservation.Status != "cancelled" || c.Reservation.CancelledAt == nil || !c.InTime || c.CreditedCents != 150 || c.ReversedCents != 0 {
		t.Errorf("cancellation %+v", c)
	}
	f.checkTaken(f.canteen, thu, 0)
	entry, ok := f.ledgerByKey(fam)["cancel:"+res["2026-12-03"].ID.String()]
	if !ok || entry.Kind != "cancellation_credit" || entry.CreditCents != 150 || entry.OutstandingCents != 0 ||
		entry.ReservationID == nil || *entry.ReservationID != res["2026-12-03"].ID {
		t.Errorf("ledger entry %+v", entry)
	}
	after := f.balances(fam)
	if after.CreditCents-before.CreditCents != 150 || after.OutstandingCents != before.OutstandingCents {
		t.Errorf("balances %+v → %+v, want +150 credit", before, after)
	}

	if _, err := f.store.Cancel(f.ctx, fam, res["2026-12-03"].ID); !errors.Is(err, cart.ErrAlreadyCancelled) {
		t.Errorf("second cancellation: %v, want ErrAlreadyCancelled", err)
	}
	if b := f.balances(fam); b != after {
		t.Errorf("a second cancellation moved money: %+v → %+v", after, b)
	}

	// At Tuesday 10:00 Friday is still in time.
	f.clock.Set(at(2026, 12, 1, 10, 0))
	if _, err := f.store.Cancel(f.ctx, fam, res["2026-12-04"].ID); err != nil {
		t.Errorf("Friday at Tuesday 10:00: %v", err)
	}
	f.checkTaken(f.canteen, fri, 0)

	// The freed day can be booked again, and its credit pays for it.
	f.clock.Set(at(2026, 11, 30, 9, 0))
	if _, err := f.store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, thu)}); err != nil {
		t.Fatalf("booking the cancelled day again: %v", err)
	}
	v, err := f.store.Get(f.ctx, fam)
	if err != nil {
		t.Fatal(err)
	}
	if v.Totals.CreditAppliedCents != 150 || v.Totals.TotalDueCents != 0 {
		t.Errorf("totals %+v, want the credit to pay the line", v.Totals)
	}
}

func TestStaffBookOnBehalf(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 1400, "CP")
	other, otherKids := f.family(f.org, 650, "CP")
	staff := cart.Staff{OrgID: f.org, UserID: f.staff}
	thu := date(2026, 12, 3)

	// Wednesday 2 December at noon: Thursday's booking deadline has passed.
	f.clock.Set(at(2026, 12, 2, 12, 0))
	_, err := f.store.BookOnBehalf(f.ctx, staff, fam.ID, cart.StaffBooking{Items: []cart.Item{item(kids[0], f.canteen, thu)}})
	var refused *cart.RefusedError
	if !errors.As(err, &refused) || refused.Refusals[0].Reason != cart.ReasonDeadlinePassed {
		t.Fatalf("past the deadline without override: %v", err)
	}
	if msg := refused.Refusals[0].Message; msg == cart.Message(cart.ReasonDeadlinePassed) {
		t.Errorf("staff should get their own wording, got %q", msg)
	}
	if _, err := f.store.BookOnBehalf(f.ctx, staff, fam.ID, cart.StaffBooking{Items: []cart.Item{item(kids[0], f.canteen, thu)}, OverrideDeadline: true, Reason: "  "}); !errors.Is(err, cart.ErrReasonRequired) {
		t.Fatalf("override without reason: %v, want ErrReasonRequired", err)
	}
	if _, err := f.store.BookOnBehalf(f.ctx, staff, otherKids[0], cart.StaffBooking{Items: []cart.Item{item(kids[0], f.canteen, thu)}}); !errors.Is(err, cart.ErrNotFound) {
		t.Errorf("unknown family: %v, want ErrNotFound", err)
	}
	foreign := cart.Staff{OrgID: f.newOrg("ailleurs"), UserID: f.staff}
	if _, err := f.store.BookOnBehalf(f.ctx, foreign, fam.ID, cart.StaffBooking{Items: []cart.Item{item(kids[0], f.canteen, thu)}}); !errors.Is(err, cart.ErrNotFound) {
		t.Errorf("another org's family: %v, want ErrNotFound", err)
	}

	// Capacity holds for staff too, even past the deadline.
	f.setCapacity(f.canteen, date(2026, 12, 7), 1)
	if _, err := f.store.AddItems(f.ctx, other, []cart.Item{item(otherKids[0], f.canteen, date(2026, 12, 7))}); err != nil {
		t.Fatal(err)
	}
	_, err = f.store.BookOnBehalf(f.ctx, staff, fam.ID, cart.StaffBooking{
		Items: []cart.Item{item(kids[0], f.canteen, thu), item(kids[0], f.canteen, date(2026, 12, 7))}, OverrideDeadline: true, Reason: "appel du parent",
	})
	if !errors.As(err, &refused) || len(refused.Refusals) != 1 || refused.Refusals[0].Index != 1 || refused.Refusals[0].Reason != cart.ReasonFull {
		t.Fatalf("full day: %v", err)
	}
	f.checkTaken(f.canteen, thu, 0) // all or nothing

	got, err := f.store.BookOnBehalf(f.ctx, staff, fam.ID, cart.StaffBooking{Items: []cart.Item{item(kids[0], f.canteen, thu)}, OverrideDeadline: true, Reason: "appel du parent"})
	if err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if r.Source != "staff" || r.BookedBy == nil || *r.BookedBy != f.staff || r.Reason != "appel du parent" || r.Status != "confirmed" || r.PriceCents != 380 {
		t.Errorf("reservation %+v", r)
	}
	f.checkTaken(f.canteen, thu, 1)
	entry := f.ledgerByKey(fam)["charge:"+r.ID.String()]
	if entry.Kind != "charge" || entry.OutstandingCents != 380 || entry.CreditCents != 0 || entry.CreatedBy == nil || *entry.CreatedBy != f.staff {
		t.Errorf("charge %+v", entry)
	}
	if b := f.balances(fam); b.OutstandingCents != 380 {
		t.Errorf("outstanding %d, want 380", b.OutstandingCents)
	}
	// The family's next cart includes it.
	if _, err := f.store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, date(2026, 12, 10))}); err != nil {
		t.Fatal(err)
	}
	v, err := f.store.Get(f.ctx, fam)
	if err != nil {
		t.Fatal(err)
	}
	if v.Totals.OutstandingAddedCents != 380 || v.Totals.TotalDueCents != 760 {
		t.Errorf("totals %+v, want 380 outstanding added, 760 due", v.Totals)
	}
	var n int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE entity_id = $1 AND actor_id = $2 AND action = 'reservation.book_on_behalf' AND after->>'reason' = 'appel du parent'`, r.ID.String(), f.staff).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit rows %d, %v; want 1", n, err)
	}
}

// Cancelling a staff booking the family has not paid yet reverses its charge
// instead of crediting money never paid; what was paid goes to the cagnotte. Either
// way, what the family owes minus what it holds drops by exactly the price.
func TestCancellingAnUnpaidStaffBookingReversesTheCharge(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	staff := cart.Staff{OrgID: f.org, UserID: f.staff}
	booked, err := f.store.BookOnBehalf(f.ctx, staff, fam.ID, cart.StaffBooking{Items: []cart.Item{
		item(kids[0], f.canteen, date(2026, 12, 7)), item(kids[0], f.canteen, date(2026, 12, 8)), item(kids[0], f.canteen, date(2026, 12, 10)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	res := byDay(booked)
	net := func() int64 { b := f.balances(fam); return b.OutstandingCents - b.CreditCents }
	if b := f.balances(fam); b.OutstandingCents != 450 {
		t.Fatalf("outstanding %d, want 450", b.OutstandingCents)
	}

	// Unpaid: the family cancels in time; the charge is reversed, nothing credited.
	c, err := f.store.Cancel(f.ctx, fam, res["2026-12-07"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReversedCents != 150 || c.CreditedCents != 0 {
		t.Errorf("reversed %d, credited %d; want 150, 0", c.ReversedCents, c.CreditedCents)
	}
	e := f.ledgerByKey(fam)["cancel:"+res["2026-12-07"].ID.String()]
	if e.Kind != "adjustment" || e.OutstandingCents != -150 || e.CreditCents != 0 {
		t.Errorf("reversal %+v", e)
	}
	if b := f.balances(fam); b.OutstandingCents != 300 || b.CreditCents != 0 {
		t.Errorf("balances %+v, want 300 outstanding, no credit", b)
	}

	// Partly paid at the desk: 220 of the 300 owed. Cancelling a 150 booking
	// reverses the 80 still owed and credits the other 70.
	f.ledger(fam, "desk_payment", -220, 0, "desk:1")
	before := net()
	c, err = f.store.Cancel(f.ctx, fam, res["2026-12-08"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReversedCents != 80 || c.CreditedCents != 70 {
		t.Errorf("reversed %d, credited %d; want 80, 70", c.ReversedCents, c.CreditedCents)
	}
	entries := f.ledgerByKey(fam)
	id := res["2026-12-08"].ID.String()
	if e := entries["cancel:"+id]; e.Kind != "adjustment" || e.OutstandingCents != -80 {
		t.Errorf("reversal %+v", e)
	}
	if e := entries["cancel:"+id+":credit"]; e.Kind != "cancellation_credit" || e.CreditCents != 70 {
		t.Errorf("credit %+v", e)
	}
	if b := f.balances(fam); b.OutstandingCents != 0 || b.CreditCents != 70 || before-net() != 150 {
		t.Errorf("balances %+v (net moved by %d), want 0 outstanding, 70 credit, net −150", b, before-net())
	}

	// Fully paid: a plain cancellation credit.
	c, err = f.store.Cancel(f.ctx, fam, res["2026-12-10"].ID)
	if err != nil || c.CreditedCents != 150 || c.ReversedCents != 0 {
		t.Errorf("paid staff booking: %+v, %v; want 150 credited", c, err)
	}
	if b := f.balances(fam); b.OutstandingCents != 0 || b.CreditCents != 220 {
		t.Errorf("balances %+v, want 0 outstanding, 220 credit", b)
	}
}

// While a payment of the balance alone is paying the outstanding balance, that
// balance counts as paid: cancelling a staff booking credits it rather than
// reversing a charge the payment in progress is about to settle.
func TestCancellingAStaffBookingDuringABalancePaymentCredits(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	staff := cart.Staff{OrgID: f.org, UserID: f.staff}
	booked, err := f.store.BookOnBehalf(f.ctx, staff, fam.ID, cart.StaffBooking{Items: []cart.Item{item(kids[0], f.canteen, date(2026, 12, 7))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acts.PrepareBalancePayment(f.ctx, activities.PrepareBalanceInput{PaymentID: uuid.New(), OrgID: fam.OrgID, FamilyID: fam.ID}); err != nil {
		t.Fatal(err)
	}
	c, err := f.store.Cancel(f.ctx, fam, booked[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.CreditedCents != 150 || c.ReversedCents != 0 {
		t.Errorf("credited %d, reversed %d; want 150, 0", c.CreditedCents, c.ReversedCents)
	}
}

func TestStaffCancelOnBehalf(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	staff := cart.Staff{OrgID: f.org, UserID: f.staff}
	if _, err := f.store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, date(2026, 12, 3)), item(kids[0], f.canteen, date(2026, 12, 4)), item(kids[0], f.canteen, date(2026, 12, 7))}); err != nil {
		t.Fatal(err)
	}
	res := byDay(f.pay(fam))
	f.clock.Set(at(2026, 12, 3, 8, 0)) // the 3rd and 4th are past their cancellation deadline

	if _, err := f.store.CancelOnBehalf(f.ctx, staff, res["2026-12-03"].ID, cart.StaffCancel{}); !errors.Is(err, cart.ErrReasonRequired) {
		t.Fatalf("late without reason: %v, want ErrReasonRequired", err)
	}
	foreign := cart.Staff{OrgID: f.newOrg("ailleurs"), UserID: f.staff}
	if _, err := f.store.CancelOnBehalf(f.ctx, foreign, res["2026-12-03"].ID, cart.StaffCancel{Reason: "x"}); !errors.Is(err, cart.ErrNotFound) {
		t.Errorf("another org: %v, want ErrNotFound", err)
	}
	before := f.balances(fam)
	// Late, with a reason: cancelled, place freed, no money back by default.
	c, err := f.store.CancelOnBehalf(f.ctx, staff, res["2026-12-03"].ID, cart.StaffCancel{Reason: "enfant malade, prévenu tard"})
	if err != nil || c.InTime || c.CreditedCents != 0 || c.Reservation.Status != "cancelled" {
		t.Fatalf("late cancel: %+v, %v", c, err)
	}
	f.checkTaken(f.canteen, date(2026, 12, 3), 0)
	if b := f.balances(fam); b != before {
		t.Errorf("money moved: %+v → %+v", before, b)
	}
	// Late, credit asked: only finance may; then the price goes to the cagnotte.
	yes := true
	if _, err := f.store.CancelOnBehalf(f.ctx, staff, res["2026-12-04"].ID, cart.StaffCancel{Reason: "certificat médical", Refund: &yes}); !errors.Is(err, cart.ErrLateCreditForbidden) {
		t.Fatalf("late credit by the desk: %v, want ErrLateCreditForbidden", err)
	}
	c, err = f.store.CancelOnBehalf(f.ctx, staff, res["2026-12-04"].ID, cart.StaffCancel{Reason: "certificat médical", Refund: &yes, MayCreditLate: true})
	if err != nil || c.CreditedCents != 150 {
		t.Fatalf("late cancel with credit: %+v, %v", c, err)
	}
	if e := f.ledgerByKey(fam)["cancel:"+res["2026-12-04"].ID.String()]; e.CreatedBy == nil || *e.CreatedBy != f.staff || e.CreditCents != 150 {
		t.Errorf("credit entry %+v", e)
	}
	// In time, no reason needed, credited as the family would be; refused explicitly, not.
	no := false
	c, err = f.store.CancelOnBehalf(f.ctx, staff, res["2026-12-07"].ID, cart.StaffCancel{Refund: &no})
	if err != nil || !c.InTime || c.CreditedCents != 0 {
		t.Fatalf("in time, no refund: %+v, %v", c, err)
	}
	if _, err := f.store.CancelOnBehalf(f.ctx, staff, res["2026-12-07"].ID, cart.StaffCancel{Reason: "x"}); !errors.Is(err, cart.ErrAlreadyCancelled) {
		t.Errorf("twice: %v", err)
	}
	var n int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action = 'reservation.cancel_on_behalf'`, f.staff).Scan(&n); err != nil || n != 3 {
		t.Errorf("audit rows %d, %v; want 3", n, err)
	}
}

// "Valider les annulations": the days unticked in the calendar are cancelled
// together, all or none — one past its deadline and nothing moves, each refusal
// naming its day.
func TestCancelManyAllOrNone(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP", "CE1")
	other, _ := f.family(f.org, 650, "CP")
	thu, fri, mon := date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 7)
	if _, err := f.store.AddItems(f.ctx, fam, []cart.Item{
		item(kids[0], f.canteen, thu), item(kids[0], f.canteen, fri), item(kids[1], f.canteen, fri), item(kids[0], f.canteen, mon),
	}); err != nil {
		t.Fatal(err)
	}
	rows := f.pay(fam)
	byKid := map[string]db.Reservation{}
	for _, r := range rows {
		byKid[r.ChildID.String()[:4]+r.Day.Format(time.DateOnly)] = r
	}
	late, fri0, fri1, monday := byKid[kids[0].String()[:4]+"2026-12-03"], byKid[kids[0].String()[:4]+"2026-12-04"],
		byKid[kids[1].String()[:4]+"2026-12-04"], byKid[kids[0].String()[:4]+"2026-12-07"]
	f.clock.Set(at(2026, 12, 1, 10, 0)) // Thursday's deadline has just passed
	before := f.balances(fam)

	_, err := f.store.CancelMany(f.ctx, fam, []uuid.UUID{fri0.ID, late.ID, monday.ID, uuid.New()})
	var refused *cart.CancelRefusedError
	if !errors.As(err, &refused) || len(refused.Refusals) != 2 {
		t.Fatalf("with a late day: %v", err)
	}
	if r := refused.Refusals[0]; r.Index != 1 || r.Reason != "deadline_passed" ||
		r.Message != "Le jeudi 3 décembre : le délai d'annulation était le mardi 1er décembre 2026 à 10h00" {
		t.Errorf("late refusal %+v", r)
	}
	if r := refused.Refusals[1]; r.Index != 3 || r.Reason != "not_found" {
		t.Errorf("unknown refusal %+v", r)
	}
	if b := f.balances(fam); b != before {
		t.Errorf("a refused batch moved money: %+v → %+v", before, b)
	}
	f.checkTaken(f.canteen, fri, 2)
	if _, err := f.store.CancelMany(f.ctx, other, []uuid.UUID{fri0.ID}); !errors.As(err, &refused) || refused.Refusals[0].Reason != "not_found" {
		t.Errorf("another family's reservation: %v", err)
	}

	done, err := f.store.CancelMany(f.ctx, fam, []uuid.UUID{monday.ID, fri1.ID, fri0.ID, fri0.ID})
	if err != nil || len(done) != 3 {
		t.Fatalf("in time: %v, %d cancelled", err, len(done))
	}
	var credited int64
	for _, k := range done {
		credited += k.CreditedCents
		if k.Reservation.Status != "cancelled" || !k.InTime {
			t.Errorf("cancellation %+v", k)
		}
	}
	if credited != 450 || done[0].Reservation.Day != fri {
		t.Errorf("credited %d (want 450), first %s", credited, done[0].Reservation.Day)
	}
	if b := f.balances(fam); b.CreditCents-before.CreditCents != 450 || b.OutstandingCents != before.OutstandingCents {
		t.Errorf("balances %+v → %+v", before, b)
	}
	f.checkTaken(f.canteen, fri, 0)
	f.checkTaken(f.canteen, mon, 0)
	f.checkTaken(f.canteen, thu, 1)
	if _, err := f.store.CancelMany(f.ctx, fam, []uuid.UUID{monday.ID}); !errors.As(err, &refused) || refused.Refusals[0].Reason != "already_cancelled" {
		t.Errorf("twice: %v", err)
	}
}
