// Package booking holds the pure rules of booking: prices by quotient familial,
// booking and cancellation deadlines, the state of a day, eligibility and the
// totals of a cart. It does no I/O; callers bring the data.
package booking

import (
	"errors"
	"fmt"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/fr"
)

// MinOnlinePaymentCents is PayFiP's minimum amount (1 €). A smaller positive amount
// due is confirmed and carried as outstanding balance.
const MinOnlinePaymentCents = 100

// Day truncates t to its calendar date, as a UTC midnight. Service days are dates,
// not instants: they are compared in UTC to stay free of DST.
func Day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// ParseDay parses a YYYY-MM-DD date.
func ParseDay(s string) (time.Time, error) {
	return time.Parse(time.DateOnly, s)
}

// ParseMonth parses YYYY-MM and returns its first and last days.
func ParseMonth(s string) (first, last time.Time, err error) {
	first, err = time.Parse("2006-01", s)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("month %q: want YYYY-MM: %w", s, err)
	}
	return first, first.AddDate(0, 1, -1), nil
}

// PriceBracket prices a service for families whose QF lies in [QFMin, QFMax];
// a nil QFMax has no upper bound.
type PriceBracket struct {
	QFMin      int
	QFMax      *int
	PriceCents int64
}

// ErrNoPrice means no bracket covers the family's QF: the service is misconfigured.
var ErrNoPrice = errors.New("no price bracket for this quotient familial")

// Price returns the unit price a family with quotient familial qf pays.
func Price(brackets []PriceBracket, qf int) (int64, error) {
	for _, b := range brackets {
		if qf >= b.QFMin && (b.QFMax == nil || qf <= *b.QFMax) {
			return b.PriceCents, nil
		}
	}
	return 0, ErrNoPrice
}

// DeadlineRule is "J-DaysBefore at At", in the org's zone. With WorkingDaysOnly,
// weekends and French public holidays are not counted.
type DeadlineRule struct {
	DaysBefore      int
	At              time.Duration // since midnight, local time
	WorkingDaysOnly bool
}

// frenchCalendar knows the French public holidays (metropolitan France).
var frenchCalendar = func() *cal.BusinessCalendar {
	c := cal.NewBusinessCalendar()
	c.AddHoliday(fr.Holidays...)
	return c
}()

// IsPublicHoliday reports whether the date is a French public holiday.
func IsPublicHoliday(day time.Time) bool {
	actual, observed, _ := frenchCalendar.IsHoliday(Day(day))
	return actual || observed
}

// IsWorkingDay reports whether the date is neither a weekend day nor a public holiday.
func IsWorkingDay(day time.Time) bool {
	wd := day.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !IsPublicHoliday(day)
}

// Deadline is the last instant at which the rule still allows acting on day.
// time.Date normalises the wall clock in loc, so DST changes are handled there.
func (r DeadlineRule) Deadline(day time.Time, loc *time.Location) time.Time {
	d := Day(day)
	if r.WorkingDaysOnly {
		for n := 0; n < r.DaysBefore; {
			d = d.AddDate(0, 0, -1)
			if IsWorkingDay(d) {
				n++
			}
		}
	} else {
		d = d.AddDate(0, 0, -r.DaysBefore)
	}
	h := int(r.At / time.Hour)
	m := int((r.At % time.Hour) / time.Minute)
	return time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, loc)
}

// Allows reports whether acting at now on day is still within the rule. The deadline
// minute itself is too late: "avant 10h" means 09:59 is the last minute.
func (r DeadlineRule) Allows(day, now time.Time, loc *time.Location) bool {
	return now.Before(r.Deadline(day, loc))
}

// String renders the rule as the portal shows it.
func (r DeadlineRule) String() string {
	s := fmt.Sprintf("J-%d avant %02dh%02d", r.DaysBefore, int(r.At/time.Hour), int((r.At%time.Hour)/time.Minute))
	if r.WorkingDaysOnly {
		s += " (jours ouvrés)"
	}
	return s
}

// DayState is what the calendar shows for a day.
type DayState string

const (
	StateClosed         DayState = "closed"
	StateAvailable      DayState = "available"
	StateFull           DayState = "full"
	StateInCart         DayState = "in_cart"
	StateReserved       DayState = "reserved"
	StateDeadlinePassed DayState = "deadline_passed"
)

// DayFacts is what is known of one child's day for one service.
type DayFacts struct {
	Open           bool // a service day exists and is open
	Full           bool
	Reserved       bool
	InCart         bool
	BookingAllowed bool // the booking deadline has not passed
}

// State decides the calendar state. What the family already holds wins over what
// the day would allow a newcomer.
func State(f DayFacts) DayState {
	switch {
	case f.Reserved:
		return StateReserved
	case f.InCart:
		return StateInCart
	case !f.Open:
		return StateClosed
	case !f.BookingAllowed:
		return StateDeadlinePassed
	case f.Full:
		return StateFull
	default:
		return StateAvailable
	}
}

// Eligibility restricts a service to some schools, classes or an age range.
type Eligibility struct {
	Schools   []string
	Classes   []string
	MinMonths *int
	MaxMonths *int
}

// Child is what eligibility looks at.
type Child struct {
	School    string
	Class     string
	BirthDate *time.Time
}

// Eligible reports whether the child may attend on day.
func (e Eligibility) Eligible(c Child, day time.Time) bool {
	if len(e.Schools) > 0 && !contains(e.Schools, c.School) {
		return false
	}
	if len(e.Classes) > 0 && !contains(e.Classes, c.Class) {
		return false
	}
	if e.MinMonths == nil && e.MaxMonths == nil {
		return true
	}
	if c.BirthDate == nil {
		return false
	}
	age := AgeInMonths(*c.BirthDate, day)
	if e.MinMonths != nil && age < *e.MinMonths {
		return false
	}
	if e.MaxMonths != nil && age > *e.MaxMonths {
		return false
	}
	return true
}

// AgeInMonths counts whole months from birth to day.
func AgeInMonths(birth, day time.Time) int {
	months := (day.Year()-birth.Year())*12 + int(day.Month()) - int(birth.Month())
	if day.Day() < birth.Day() {
		months--
	}
	return months
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Totals is what a cart costs at checkout.
type Totals struct {
	SubtotalCents         int64 // the lines
	OutstandingAddedCents int64 // earlier unpaid charges, settled with this cart
	CreditAppliedCents    int64 // taken from the cagnotte, up to the amount
	TotalDueCents         int64
}

// ComputeTotals applies amount due = lines + outstanding − credit, using credit only
// up to the amount so the rest stays in the cagnotte.
func ComputeTotals(linesCents, outstandingCents, creditCents int64) Totals {
	t := Totals{SubtotalCents: linesCents, OutstandingAddedCents: max(outstandingCents, 0)}
	gross := t.SubtotalCents + t.OutstandingAddedCents
	t.CreditAppliedCents = min(max(creditCents, 0), gross)
	t.TotalDueCents = gross - t.CreditAppliedCents
	return t
}

// Settlement says how a checkout is settled.
type Settlement string

const (
	SettleNow     Settlement = "paid"    // nothing to pay
	SettleCarried Settlement = "carried" // 0 < due < 1 €: confirmed, carried as outstanding
	SettlePayFiP  Settlement = "payfip"  // an online payment is needed
)

// HowToSettle picks the settlement for an amount due.
func HowToSettle(dueCents int64) Settlement {
	switch {
	case dueCents <= 0:
		return SettleNow
	case dueCents < MinOnlinePaymentCents:
		return SettleCarried
	default:
		return SettlePayFiP
	}
}
