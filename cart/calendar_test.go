package cart_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/enfance/enfance/cart"
)

func states(t *testing.T, days []cart.CalendarDay) map[string]cart.CalendarDay {
	t.Helper()
	out := map[string]cart.CalendarDay{}
	for _, d := range days {
		out[d.Date] = d
	}
	return out
}

func TestCalendarNavigatesMonthsBothWays(t *testing.T) {
	f := newFixture(t)
	fam, kids := f.family(f.org, 650, "CP")
	other, _ := f.family(f.org, 650, "CP")
	// A reservation on the last open day of December, a held line on the first
	// open day of January: each shows in its own month only.
	if _, err := f.store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, date(2026, 12, 18))}); err != nil {
		t.Fatal(err)
	}
	f.pay(fam)
	added, err := f.store.AddItems(f.ctx, fam, []cart.Item{item(kids[0], f.canteen, date(2027, 1, 4))})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(at(2026, 11, 27, 9, 59))

	tests := []struct {
		month string
		days  int
		want  map[string]string
	}{
		{"2026-10", 31, map[string]string{"2026-10-01": "closed", "2026-10-31": "closed"}}, // before the service opens
		{"2026-11", 30, map[string]string{
			"2026-11-01": "closed", "2026-11-02": "deadline_passed", "2026-11-11": "closed",
			"2026-11-27": "deadline_passed", "2026-11-30": "deadline_passed",
		}},
		{"2026-12", 31, map[string]string{
			"2026-12-01": "available", // its deadline is today 10:00
			"2026-12-02": "closed",    // a Wednesday
			"2026-12-18": "reserved", "2026-12-21": "closed", "2026-12-31": "closed",
		}},
		{"2027-01", 31, map[string]string{"2027-01-01": "closed", "2027-01-04": "in_cart", "2027-01-05": "available", "2027-01-29": "available"}},
		{"2027-02", 28, map[string]string{"2027-02-01": "closed", "2027-02-28": "closed"}}, // after the last opened day
	}
	for _, tt := range tests {
		days, err := f.store.Calendar(f.ctx, fam, kids[0], f.canteen, tt.month)
		if err != nil {
			t.Fatalf("%s: %v", tt.month, err)
		}
		if len(days) != tt.days {
			t.Errorf("%s: %d days, want %d", tt.month, len(days), tt.days)
		}
		if days[0].Date != tt.month+"-01" {
			t.Errorf("%s starts on %s", tt.month, days[0].Date)
		}
		got := states(t, days)
		for d, want := range tt.want {
			if got[d].State != want {
				t.Errorf("%s: %s, want %s", d, got[d].State, want)
			}
		}
	}

	dec, err := f.store.Calendar(f.ctx, fam, kids[0], f.canteen, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	d := states(t, dec)
	if first := d["2026-12-01"]; first.PriceCents != 150 || first.BookableUntil == nil || !first.BookableUntil.Equal(at(2026, 11, 27, 10, 0)) {
		t.Errorf("1 December: %+v, want 150 cents bookable until 27 November 10:00", first)
	}
	if res := d["2026-12-18"]; res.ReservationID == nil || res.CancellableUntil == nil || !res.CancellableUntil.Equal(at(2026, 12, 16, 10, 0)) {
		t.Errorf("18 December: %+v, want cancellable until 16 December 10:00", res)
	}
	jan, err := f.store.Calendar(f.ctx, fam, kids[0], f.canteen, "2027-01")
	if err != nil {
		t.Fatal(err)
	}
	if j := states(t, jan)["2027-01-04"]; j.CartItemID == nil || *j.CartItemID != added.Lines[0].ID {
		t.Errorf("4 January: %+v, want the cart line", j)
	}

	// One minute later, 1 December can no longer be booked.
	f.clock.Set(at(2026, 11, 27, 10, 0))
	dec, err = f.store.Calendar(f.ctx, fam, kids[0], f.canteen, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if s := states(t, dec)["2026-12-01"].State; s != "deadline_passed" {
		t.Errorf("1 December at 10:00: %s, want deadline_passed", s)
	}

	// Two days before 18 December at 10:00 the reservation stops being cancellable.
	f.clock.Set(at(2026, 12, 16, 10, 0))
	dec, err = f.store.Calendar(f.ctx, fam, kids[0], f.canteen, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if r := states(t, dec)["2026-12-18"]; r.State != "reserved" || r.CancellableUntil != nil {
		t.Errorf("18 December once too late to cancel: %+v", r)
	}

	if _, err := f.store.Calendar(f.ctx, other, kids[0], f.canteen, "2026-12"); !errors.Is(err, cart.ErrNotFound) {
		t.Errorf("another family's child: %v, want ErrNotFound", err)
	}
	if _, err := f.store.Calendar(f.ctx, fam, kids[0], uuid.New(), "2026-12"); !errors.Is(err, cart.ErrNotFound) {
		t.Errorf("unknown service: %v, want ErrNotFound", err)
	}
}
