package booking_test

import (
	"testing"
	"time"

	"github.com/enfance/enfance/booking"
)

// FuzzDeadline checks the properties every deadline rule must keep, whatever the
// day, the number of days before, the time and the counting: the deadline falls
// before the day itself ends, it is at the rule's wall-clock time in Paris, and
// with working days only it lands on a working day.
func FuzzDeadline(f *testing.F) {
	f.Add(int64(0), uint8(2), uint16(600), true)     // J-2 at 10:00, working days
	f.Add(int64(88), uint8(0), uint16(0), false)     // same day at midnight
	f.Add(int64(207), uint8(5), uint16(1439), true)  // across the spring DST change
	f.Add(int64(-400), uint8(30), uint16(570), true) // long before, across a year
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		f.Fatal(err)
	}
	base := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, offset int64, days uint8, minutes uint16, working bool) {
		offset %= 3650
		day := base.AddDate(0, 0, int(offset))
		at := time.Duration(minutes%1440) * time.Minute
		rule := booking.DeadlineRule{DaysBefore: int(days % 60), At: at, WorkingDaysOnly: working}
		d := rule.Deadline(day, paris)
		local := d.In(paris)
		dayEnd := time.Date(day.Year(), day.Month(), day.Day(), 23, 59, 59, 0, paris)
		if d.After(dayEnd) {
			t.Fatalf("%s for %s is after the day itself", rule, day.Format(time.DateOnly))
		}
		// The wall clock is the rule's, except inside a DST gap where it moves an hour on.
		wall := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute
		if wall != at && wall != at+time.Hour {
			t.Fatalf("%s for %s gives %s local", rule, day.Format(time.DateOnly), local)
		}
		if working && rule.DaysBefore > 0 && !booking.IsWorkingDay(booking.Day(local)) {
			t.Fatalf("%s for %s lands on %s, not a working day", rule, day.Format(time.DateOnly), local.Format(time.DateOnly))
		}
		if rule.Allows(day, d, paris) {
			t.Fatalf("the deadline minute itself must be too late")
		}
		if !rule.Allows(day, d.Add(-time.Second), paris) {
			t.Fatalf("one second before the deadline must be in time")
		}
	})
}

// FuzzParseMonth checks that any accepted month spans its whole calendar month.
func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-12", "2027-02", "2028-02", "2026-13", "26-1", "", "2026-12-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		first, last, err := booking.ParseMonth(s)
		if err != nil {
			return
		}
		if first.Day() != 1 || last.AddDate(0, 0, 1).Day() != 1 || first.Month() != last.Month() || first.Format("2006-01") != s {
			t.Fatalf("ParseMonth(%q) = %s … %s", s, first, last)
		}
	})
}
