package booking_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/enfance/enfance/booking"
)

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func at(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, paris) }

func TestDeadline(t *testing.T) {
	j := func(n int, hhmm string, working bool) booking.DeadlineRule {
		d, err := booking.ParseClock(hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return booking.DeadlineRule{DaysBefore: n, At: d, WorkingDaysOnly: working}
	}
	tests := []struct {
		name    string
		rule    booking.DeadlineRule
		day     time.Time
		want    time.Time // in Paris
		wantUTC string    // the same instant in UTC, so a zone mistake cannot hide
	}{
		{"calendar days, plain week", j(2, "10:00", false), date(2026, 12, 3), at(2026, 12, 1, 10, 0), "2026-12-01T09:00:00Z"},
		{"working days skip the weekend", j(2, "10:00", true), date(2026, 12, 7), at(2026, 12, 3, 10, 0), "2026-12-03T09:00:00Z"},
		{"calendar days land on the weekend", j(2, "10:00", false), date(2026, 12, 7), at(2026, 12, 5, 10, 0), "2026-12-05T09:00:00Z"},
		{"same day", j(0, "08:00", false), date(2026, 12, 7), at(2026, 12, 7, 8, 0), "2026-12-07T07:00:00Z"},

		// Summer time starts on Sunday 29 March 2026 (02:00 CET → 03:00 CEST).
		{"spring DST: deadline on the Saturday before, still CET", j(2, "10:00", false), date(2026, 3, 30), at(2026, 3, 28, 10, 0), "2026-03-28T09:00:00Z"},
		{"spring DST: deadline on the changeover Sunday, CEST", j(2, "10:00", false), date(2026, 3, 31), at(2026, 3, 29, 10, 0), "2026-03-29T08:00:00Z"},
		{"spring DST: a week across the change keeps 10:00 local", j(7, "10:00", false), date(2026, 4, 2), at(2026, 3, 26, 10, 0), "2026-03-26T09:00:00Z"},
		{"spring DST: working days over the changeover weekend", j(1, "10:00", true), date(2026, 3, 30), at(2026, 3, 27, 10, 0), "2026-03-27T09:00:00Z"},
		// Summer time ends on Sunday 25 October 2026 (03:00 CEST → 02:00 CET).
		{"autumn DST: deadline on the Saturday before, still CEST", j(2, "10:00", false), date(2026, 10, 26), at(2026, 10, 24, 10, 0), "2026-10-24T08:00:00Z"},
		{"autumn DST: deadline on the changeover Sunday, CET", j(2, "10:00", false), date(2026, 10, 27), at(2026, 10, 25, 10, 0), "2026-10-25T09:00:00Z"},
		{"autumn DST: 02:30 on the changeover Sunday is a real instant", j(1, "02:30", false), date(2026, 10, 26), at(2026, 10, 25, 2, 30), ""},
		{"autumn DST: working days over the changeover weekend", j(1, "10:00", true), date(2026, 10, 26), at(2026, 10, 23, 10, 0), "2026-10-23T08:00:00Z"},

		// Public holidays are not working days.
		{"11 November (Wednesday) skipped", j(2, "10:00", true), date(2026, 11, 13), at(2026, 11, 10, 10, 0), "2026-11-10T09:00:00Z"},
		{"11 November counted in calendar days", j(2, "10:00", false), date(2026, 11, 13), at(2026, 11, 11, 10, 0), "2026-11-11T09:00:00Z"},
		{"1 May (Friday) and the weekend skipped, back into April", j(2, "10:00", true), date(2026, 5, 5), at(2026, 4, 30, 10, 0), "2026-04-30T08:00:00Z"},
		{"8 May (Friday) skipped", j(2, "10:00", true), date(2026, 5, 12), at(2026, 5, 7, 10, 0), "2026-05-07T08:00:00Z"},
		{"Ascension (Thursday 14 May 2026) skipped", j(2, "10:00", true), date(2026, 5, 18), at(2026, 5, 13, 10, 0), "2026-05-13T08:00:00Z"},
		{"Whit Monday (25 May 2026) skipped", j(1, "10:00", true), date(2026, 5, 26), at(2026, 5, 22, 10, 0), "2026-05-22T08:00:00Z"},
		{"New Year's Day skipped, back into the old year", j(2, "10:00", true), date(2027, 1, 4), at(2026, 12, 30, 10, 0), "2026-12-30T09:00:00Z"},

		// Month boundaries.
		{"J-2 of the 1st, calendar days", j(2, "10:00", false), date(2026, 12, 1), at(2026, 11, 29, 10, 0), "2026-11-29T09:00:00Z"},
		{"J-2 of the 1st, working days", j(2, "10:00", true), date(2026, 12, 1), at(2026, 11, 27, 10, 0), "2026-11-27T09:00:00Z"},
		{"J-2 of 1 March, common year", j(2, "10:00", false), date(2027, 3, 1), at(2027, 2, 27, 10, 0), "2027-02-27T09:00:00Z"},
		{"J-1 of 1 March, leap year", j(1, "10:00", false), date(2028, 3, 1), at(2028, 2, 29, 10, 0), "2028-02-29T09:00:00Z"},
		{"J-3 of 1 January, calendar days", j(3, "18:30", false), date(2027, 1, 1), at(2026, 12, 29, 18, 30), "2026-12-29T17:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rule.Deadline(tt.day, paris)
			if !got.Equal(tt.want) {
				t.Errorf("Deadline(%s) = %s, want %s", tt.day.Format(time.DateOnly), got, tt.want)
			}
			if tt.wantUTC != "" && got.UTC().Format(time.RFC3339) != tt.wantUTC {
				t.Errorf("Deadline(%s) in UTC = %s, want %s", tt.day.Format(time.DateOnly), got.UTC().Format(time.RFC3339), tt.wantUTC)
			}
			if h, m, _ := got.In(paris).Clock(); h != tt.want.Hour() || m != tt.want.Minute() {
				t.Errorf("deadline wall clock %02d:%02d, want %02d:%02d", h, m, tt.want.Hour(), tt.want.Minute())
			}
		})
	}
}

func TestAllowsIsStrictlyBeforeTheDeadline(t *testing.T) {
	rule := booking.DeadlineRule{DaysBefore: 2, At: 10 * time.Hour}
	day := date(2026, 12, 3)
	tests := []struct {
		now  time.Time
		want bool
	}{
		{at(2026, 12, 1, 9, 59), true},
		{at(2026, 12, 1, 9, 59).Add(59*time.Second + 999*time.Millisecond), true},
		{at(2026, 12, 1, 10, 0), false},
		{at(2026, 12, 1, 10, 1), false},
		{at(2026, 11, 30, 23, 0), true},
		// The same instants seen from UTC: the zone is the org's, not the server's.
		{time.Date(2026, 12, 1, 8, 59, 0, 0, time.UTC), true},
		{time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), false},
		{time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), false}, // 09:30 UTC is 10:30 in Paris
	}
	for _, tt := range tests {
		if got := rule.Allows(day, tt.now, paris); got != tt.want {
			t.Errorf("Allows at %s = %v, want %v", tt.now.In(paris).Format("2006-01-02 15:04:05.000 MST"), got, tt.want)
		}
	}
	// In summer time 10:00 in Paris is 08:00 UTC.
	summer := date(2026, 6, 3)
	if !rule.Allows(summer, time.Date(2026, 6, 1, 7, 59, 0, 0, time.UTC), paris) {
		t.Error("07:59 UTC (09:59 CEST) should still allow")
	}
	if rule.Allows(summer, time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC), paris) {
		t.Error("08:00 UTC (10:00 CEST) should be too late")
	}
}

func TestPublicHolidays(t *testing.T) {
	holidays := []time.Time{
		date(2026, 1, 1), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 8), date(2026, 5, 14),
		date(2026, 5, 25), date(2026, 7, 14), date(2026, 8, 15), date(2026, 11, 1), date(2026, 11, 11),
		date(2026, 12, 25), date(2027, 5, 6), // Ascension 2027
	}
	for _, d := range holidays {
		if !booking.IsPublicHoliday(d) || booking.IsWorkingDay(d) {
			t.Errorf("%s should be a public holiday", d.Format(time.DateOnly))
		}
	}
	// France moves no holiday to the Monday when it falls on a weekend.
	notHolidays := []time.Time{date(2022, 12, 26), date(2027, 12, 27), date(2026, 12, 24), date(2026, 11, 12), date(2026, 4, 5)}
	for _, d := range notHolidays {
		if booking.IsPublicHoliday(d) {
			t.Errorf("%s should not be a public holiday", d.Format(time.DateOnly))
		}
	}
	if booking.IsWorkingDay(date(2026, 12, 5)) || booking.IsWorkingDay(date(2026, 12, 6)) {
		t.Error("weekends are not working days")
	}
	if !booking.IsWorkingDay(date(2026, 12, 7)) {
		t.Error("Monday 7 December 2026 is a working day")
	}
}

func TestDeadlineRuleString(t *testing.T) {
	r := booking.DeadlineRule{DaysBefore: 2, At: 10 * time.Hour, WorkingDaysOnly: true}
	if got, want := r.String(), "J-2 avant 10h00 (jours ouvrés)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	r = booking.DeadlineRule{DaysBefore: 0, At: 8*time.Hour + 30*time.Minute}
	if got, want := r.String(), "J-0 avant 08h30"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestState(t *testing.T) {
	tests := []struct {
		name  string
		facts booking.DayFacts
		want  booking.DayState
	}{
		{"nothing known: closed", booking.DayFacts{}, booking.StateClosed},
		{"open, in time, room", booking.DayFacts{Open: true, BookingAllowed: true}, booking.StateAvailable},
		{"open, in time, full", booking.DayFacts{Open: true, BookingAllowed: true, Full: true}, booking.StateFull},
		{"open, too late", booking.DayFacts{Open: true}, booking.StateDeadlinePassed},
		{"too late beats full", booking.DayFacts{Open: true, Full: true}, booking.StateDeadlinePassed},
		{"closed beats too late", booking.DayFacts{Full: true}, booking.StateClosed},
		{"in cart beats full", booking.DayFacts{Open: true, BookingAllowed: true, Full: true, InCart: true}, booking.StateInCart},
		{"reserved stays reserved after the deadline", booking.DayFacts{Open: true, Reserved: true}, booking.StateReserved},
		{"reserved on a day closed since", booking.DayFacts{Reserved: true}, booking.StateReserved},
	}
	for _, tt := range tests {
		if got := booking.State(tt.facts); got != tt.want {
			t.Errorf("%s: State = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestPrice(t *testing.T) {
	grid := []booking.PriceBracket{
		{QFMin: 0, QFMax: ptr(700), PriceCents: 150},
		{QFMin: 701, QFMax: ptr(1200), PriceCents: 290},
		{QFMin: 1201, PriceCents: 380},
	}
	for _, tt := range []struct {
		qf   int
		want int64
	}{{0, 150}, {650, 150}, {700, 150}, {701, 290}, {1200, 290}, {1201, 380}, {99999, 380}} {
		got, err := booking.Price(grid, tt.qf)
		if err != nil || got != tt.want {
			t.Errorf("Price(qf %d) = %d, %v; want %d", tt.qf, got, err, tt.want)
		}
	}
	if _, err := booking.Price(grid[:2], 1500); !errors.Is(err, booking.ErrNoPrice) {
		t.Errorf("a QF above every bracket: err = %v, want ErrNoPrice", err)
	}
}

func TestValidateBrackets(t *testing.T) {
	tests := []struct {
		name      string
		grid      []booking.PriceBracket
		wantIndex int // -2: valid
		wantMsg   string
	}{
		{"three brackets", []booking.PriceBracket{{0, ptr(700), 150}, {701, ptr(1200), 290}, {1201, nil, 380}}, -2, ""},
		{"given out of order", []booking.PriceBracket{{1201, nil, 380}, {0, ptr(700), 150}, {701, ptr(1200), 290}}, -2, ""},
		{"one flat price", []booking.PriceBracket{{0, nil, 300}}, -2, ""},
		{"free for the lowest", []booking.PriceBracket{{0, ptr(0), 0}, {1, nil, 300}}, -2, ""},
		{"empty", nil, -1, "au moins une tranche"},
		{"does not start at 0", []booking.PriceBracket{{100, nil, 300}}, 0, "de 0 à 99"},
		{"gap", []booking.PriceBracket{{0, ptr(700), 150}, {800, nil, 380}}, 1, "de 701 à 799"},
		{"overlap", []booking.PriceBracket{{0, ptr(700), 150}, {700, nil, 380}}, 1, "chevauche"},
		{"same start twice", []booking.PriceBracket{{0, nil, 150}, {0, nil, 380}}, 0, "seule la dernière"},
		{"unbounded in the middle", []booking.PriceBracket{{0, nil, 150}, {701, nil, 380}}, 0, "seule la dernière"},
		{"capped at the top", []booking.PriceBracket{{0, ptr(700), 150}, {701, ptr(1200), 380}}, 1, "au-delà du QF 1200"},
		{"ends before it starts", []booking.PriceBracket{{0, ptr(700), 150}, {701, ptr(600), 380}}, 1, "avant de commencer"},
		{"negative price", []booking.PriceBracket{{0, nil, -1}}, 0, "négatif"},
	}
	for _, tt := range tests {
		err := booking.ValidateBrackets(tt.grid)
		if tt.wantIndex == -2 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var be *booking.BracketError
		if !errors.As(err, &be) {
			t.Errorf("%s: err = %v, want a BracketError", tt.name, err)
			continue
		}
		if be.Index != tt.wantIndex || !strings.Contains(be.Message, tt.wantMsg) {
			t.Errorf("%s: got index %d %q, want index %d containing %q", tt.name, be.Index, be.Message, tt.wantIndex, tt.wantMsg)
		}
	}
}

func TestEligibility(t *testing.T) {
	birth := date(2019, 9, 2)
	child := booking.Child{School: "École Jules Ferry", Class: "CP", BirthDate: &birth}
	day := date(2026, 12, 3) // 7 years and 3 months: 87 months
	tests := []struct {
		name string
		e    booking.Eligibility
		c    booking.Child
		want bool
	}{
		{"no rule", booking.Eligibility{}, child, true},
		{"right school", booking.Eligibility{Schools: []string{"École Jules Ferry"}}, child, true},
		{"other school", booking.Eligibility{Schools: []string{"École Pasteur"}}, child, false},
		{"right class", booking.Eligibility{Classes: []string{"CP", "CE1"}}, child, true},
		{"other class", booking.Eligibility{Classes: []string{"CM1"}}, child, false},
		{"age within", booking.Eligibility{MinMonths: ptr(36), MaxMonths: ptr(87)}, child, true},
		{"too old by a month", booking.Eligibility{MaxMonths: ptr(86)}, child, false},
		{"too young", booking.Eligibility{MinMonths: ptr(88)}, child, false},
		{"age rule, no birth date", booking.Eligibility{MinMonths: ptr(36)}, booking.Child{School: "x"}, false},
	}
	for _, tt := range tests {
		if got := tt.e.Eligible(tt.c, day); got != tt.want {
			t.Errorf("%s: Eligible = %v, want %v", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		birth, day time.Time
		want       int
	}{
		{date(2019, 9, 2), date(2026, 9, 1), 83},
		{date(2019, 9, 2), date(2026, 9, 2), 84},
		{date(2020, 2, 29), date(2021, 2, 28), 11},
		{date(2020, 1, 31), date(2020, 3, 1), 1},
	} {
		if got := booking.AgeInMonths(tt.birth, tt.day); got != tt.want {
			t.Errorf("AgeInMonths(%s, %s) = %d, want %d", tt.birth.Format(time.DateOnly), tt.day.Format(time.DateOnly), got, tt.want)
		}
	}
}

func TestTotalsAndSettlement(t *testing.T) {
	tests := []struct {
		lines, outstanding, credit int64
		want                       booking.Totals
		settle                     booking.Settlement
	}{
		{1000, 0, 0, booking.Totals{1000, 0, 0, 1000}, booking.SettlePayFiP},
		{1000, 250, 0, booking.Totals{1000, 250, 0, 1250}, booking.SettlePayFiP},
		{1000, 0, 400, booking.Totals{1000, 0, 400, 600}, booking.SettlePayFiP},
		{1000, 0, 5000, booking.Totals{1000, 0, 1000, 0}, booking.SettleNow},
		{1000, 0, 950, booking.Totals{1000, 0, 950, 50}, booking.SettleCarried},
		{0, 300, 0, booking.Totals{0, 300, 0, 300}, booking.SettlePayFiP},
		{1000, -200, 0, booking.Totals{1000, 0, 0, 1000}, booking.SettlePayFiP},
		{1000, 0, 900, booking.Totals{1000, 0, 900, 100}, booking.SettlePayFiP},
	}
	for _, tt := range tests {
		got := booking.ComputeTotals(tt.lines, tt.outstanding, tt.credit)
		if got != tt.want {
			t.Errorf("ComputeTotals(%d, %d, %d) = %+v, want %+v", tt.lines, tt.outstanding, tt.credit, got, tt.want)
		}
		if s := booking.HowToSettle(got.TotalDueCents); s != tt.settle {
			t.Errorf("HowToSettle(%d) = %s, want %s", got.TotalDueCents, s, tt.settle)
		}
	}
}

func TestParseMonth(t *testing.T) {
	for _, tt := range []struct{ month, first, last string }{
		{"2026-12", "2026-12-01", "2026-12-31"},
		{"2027-02", "2027-02-01", "2027-02-28"},
		{"2028-02", "2028-02-01", "2028-02-29"},
		{"2026-04", "2026-04-01", "2026-04-30"},
	} {
		first, last, err := booking.ParseMonth(tt.month)
		if err != nil || first.Format(time.DateOnly) != tt.first || last.Format(time.DateOnly) != tt.last {
			t.Errorf("ParseMonth(%s) = %s, %s, %v", tt.month, first, last, err)
		}
	}
	for _, bad := range []string{"2026-13", "2026-1", "12-2026", "", "2026-12-01"} {
		if _, _, err := booking.ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q): no error", bad)
		}
	}
}

func TestParseClock(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{{"10:00", 10 * time.Hour}, {"00:00", 0}, {"23:59", 23*time.Hour + 59*time.Minute}, {"08:30", 8*time.Hour + 30*time.Minute}} {
		got, err := booking.ParseClock(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseClock(%q) = %v, %v", tt.in, got, err)
		}
		if booking.Clock(got) != tt.in {
			t.Errorf("Clock(%v) = %q, want %q", got, booking.Clock(got), tt.in)
		}
	}
	for _, bad := range []string{"24:00", "10:60", "10h00", "9:00", "", "aa:bb", "-1:00"} {
		if _, err := booking.ParseClock(bad); err == nil {
			t.Errorf("ParseClock(%q): no error", bad)
		}
	}
}
