package activities_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/attendance"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/invoice"
)

// Attendance reaches the month of the service: a sheet filled in a few days late
// charges the presence on the day the child came, so December's invoice lists it
// with the December absence; a presence recorded once December was invoiced goes
// on January's invoice, marked late, and is never invoiced twice.
func TestAttendanceOnTheMonthsInvoice(t *testing.T) {
	f := newInvFixture(t)
	must(t, f.q.InsertServicePrice(f.ctx, db.InsertServicePriceParams{ID: uuid.New(), ServiceID: f.service, QfMin: 0, PriceCents: 320}))
	fam := f.family("Durand", "durand@example.test")
	staff := cart.Staff{OrgID: f.org, UserID: uuid.New()}
	must(t, f.q.InsertUser(f.ctx, db.InsertUserParams{ID: staff.UserID, OrgID: f.org, Login: "agent@ville.test", Role: "agent"}))
	f.staff(fam, date(2026, 12, 3), 320, at(2026, 11, 20, 9, 0))
	for _, d := range []int{3, 7, 8} {
		f.day(date(2026, 12, d))
	}
	clock := at(2026, 12, 10, 17, 0)
	store := &attendance.Store{Pool: f.pool, Now: func() time.Time { return clock }}
	record := func(d int, m attendance.Mark) {
		t.Helper()
		if _, err := store.Record(f.ctx, staff, f.service, date(2026, 12, d), []attendance.Mark{m}); err != nil {
			t.Fatal(err)
		}
	}
	record(3, attendance.Mark{ChildID: fam.child, Present: false})
	record(7, attendance.Mark{ChildID: fam.child, Present: true, Reason: "oubli de réservation"})

	dec := f.invoice(fam, "2026-12")
	lines, err := f.q.ListInvoiceLines(f.ctx, dec.Invoice.ID)
	must(t, err)
	var absence, presence *db.InvoiceLine
	for i, l := range lines {
		switch l.Kind {
		case invoice.KindAbsence:
			absence = &lines[i]
		case invoice.KindUnbooked:
			presence = &lines[i]
		}
	}
	if absence == nil || absence.UnitCents != 320 || absence.AmountCents != 0 || absence.AttendanceID == nil || *absence.Day != date(2026, 12, 3) {
		t.Errorf("absence line %+v", absence)
	}
	if presence == nil || presence.AmountCents != 320 || presence.Label != "oubli de réservation" || *presence.Day != date(2026, 12, 7) || presence.Late {
		t.Errorf("presence line %+v", presence)
	}
	if dec.Invoice.TotalCents != 320 {
		t.Errorf("December charges %d: the presence only (the booking was November's)", dec.Invoice.TotalCents)
	}

	// Recorded on 6 January for 8 December: on January's invoice, late.
	clock = at(2027, 1, 6, 9, 0)
	record(8, attendance.Mark{ChildID: fam.child, Present: true, Reason: "venu avec sa sœur"})
	f.now = at(2027, 2, 2, 9, 0)
	jan := f.invoice(fam, "2027-01")
	lines, err = f.q.ListInvoiceLines(f.ctx, jan.Invoice.ID)
	must(t, err)
	late := 0
	for _, l := range lines {
		if l.Kind == invoice.KindUnbooked {
			if !l.Late || l.AmountCents != 320 || *l.Day != date(2026, 12, 8) || !strings.Contains(l.Label, "sœur") {
				t.Errorf("late presence %+v", l)
			}
			late++
		}
	}
	if late != 1 || jan.Invoice.TotalCents != 320 {
		t.Errorf("January: %d late presences, charges %d", late, jan.Invoice.TotalCents)
	}
	if n := f.sum(`SELECT count(*) FROM invoice_lines WHERE kind = 'unbooked_attendance'`); n != 2 {
		t.Errorf("%d presence lines over both invoices, want 2", n)
	}
}
