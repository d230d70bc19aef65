package invoice_test

import (
	"testing"
	"time"

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
