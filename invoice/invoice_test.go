package invoice_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/invoice"
)

func TestPeriodInTheOrgZone(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	p, err := invoice.ParsePeriod("2026-11", paris)
	if err != nil {
		t.Fatal(err)
	}
	// Paris is UTC+1 in November and UTC+2 until the last Sunday of October.
	if got := p.Start.UTC(); !got.Equal(time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("start %s", got)
	}
	if got := p.End.UTC(); !got.Equal(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("end %s", got)
	}
	if p.FirstDay != time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) || p.LastDay != time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) {
		t.Errorf("days %s – %s", p.FirstDay, p.LastDay)
	}
	if p.Finished(p.End.Add(-time.Nanosecond)) || !p.Finished(p.End) {
		t.Error("the month ends at midnight on the 1st, Paris time")
	}
	if got := p.NotFinished(); got != "Le mois de novembre 2026 n'est pas terminé : sa facturation sera possible à partir du 1er décembre 2026." {
		t.Errorf("message %q", got)
	}
	for _, bad := range []string{"", "2026-1", "2026-00", "2026-13", "26-11", "2026-11-01", "1999-12"} {
		if _, err := invoice.ParsePeriod(bad, paris); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := invoice.PreviousMonth(time.Date(2027, 1, 1, 5, 0, 0, 0, time.UTC), paris); got != "2026-12" {
		t.Errorf("previous month %s", got)
	}
	// 23:30 UTC on 31 December is already 1 January in Paris.
	if got := invoice.MonthOf(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), paris); got != "2027-01" {
		t.Errorf("month of %s", got)
	}
	if got := invoice.Number(2026, 42); got != "FAC-2026-000042" {
		t.Errorf("number %s", got)
	}
}

// Attendance on the invoice: a presence without a reservation is a charge of the
// month (its ledger entry), one the rule charged nothing is listed as such, one
// taken back is a cancellation, and an absence without a cancellation is listed
// at its reservation's price without moving the balance.
func TestBuildListsAttendances(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	p, err := invoice.ParsePeriod("2026-12", paris)
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC) }
	noon := func(d int) time.Time { return time.Date(2026, 12, d, 12, 0, 0, 0, paris) }
	charged, free, withdrawn, absentRes := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	d7, d9 := day(7), day(9)
	in := invoice.Input{
		Period: p,
		Entries: []db.ListInvoiceableEntriesRow{
			{ID: 1, Kind: "charge", OutstandingCents: 480, OccurredAt: noon(7), Label: "Présence sans réservation du 07/12/2026 (oubli)",
				AttendanceID: &charged, AttendanceDay: &d7, AttendanceReason: "oubli", AttendanceRule: "surcharge", ChildName: "Noah Durand", ServiceName: "Garderie"},
			{ID: 2, Kind: "charge", OutstandingCents: 290, OccurredAt: noon(9), AttendanceID: &withdrawn, AttendanceDay: &d9, AttendanceReason: "erreur", AttendanceRule: "charge"},
			{ID: 3, Kind: "adjustment", OutstandingCents: -290, OccurredAt: noon(9).Add(time.Hour), AttendanceID: &withdrawn, AttendanceDay: &d9,
				Label: "Présence sans réservation du 09/12/2026 retirée (non réglée)"},
		},
		Reservations: []db.ListMonthReservationDetailsRow{{ID: absentRes, Day: day(3), PriceCents: 380, Source: "staff", ChildName: "Emma Durand", ServiceName: "Garderie"}},
		Attendances: []db.ListMonthAttendancesRow{
			{ID: uuid.New(), Day: day(3), Status: "absent", ReservationID: &absentRes, ReservationPriceCents: 380, ChildName: "Emma Durand", ServiceName: "Garderie"},
			{ID: charged, Day: day(7), Status: "present", Reason: "oubli", Rule: "surcharge", ChargedCents: 480, ChildName: "Noah Durand", ServiceName: "Garderie"},
			{ID: free, Day: day(8), Status: "present", Reason: "essai", Rule: "free", ChildName: "Noah Durand", ServiceName: "Garderie"},
		},
	}
	st, ok := invoice.Build(in)
	if !ok {
		t.Fatal("nothing to invoice")
	}
	kinds := map[string][]invoice.Line{}
	for _, l := range st.Lines {
		kinds[l.Kind] = append(kinds[l.Kind], l)
	}
	if u := kinds[invoice.KindUnbooked]; len(u) != 2 || u[0].AmountCents != 480 || u[0].Label != "oubli (tarif majoré)" || *u[0].Day != day(7) ||
		u[0].AttendanceID == nil || *u[0].AttendanceID != charged {
		t.Errorf("unbooked lines %+v", u)
	}
	if i := kinds[invoice.KindUnbookedInfo]; len(i) != 1 || i[0].AmountCents != 0 || *i[0].Day != day(8) || i[0].Label != "essai – non facturé (règle du service)" {
		t.Errorf("free presence %+v", i)
	}
	if a := kinds[invoice.KindAbsence]; len(a) != 1 || a[0].UnitCents != 380 || a[0].AmountCents != 0 || *a[0].Day != day(3) {
		t.Errorf("absence %+v", a)
	}
	if c := kinds[invoice.KindCancellation]; len(c) != 1 || c[0].AmountCents != -290 {
		t.Errorf("presence taken back %+v", c)
	}
	if tt := st.Totals; tt.Charges != 770 || tt.Cancelled != 290 || tt.Closing != 480 || tt.Due != 480 || tt.Adjustments != 0 {
		t.Errorf("totals %+v", tt)
	}
}
