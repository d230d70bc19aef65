package services

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
)

// A service's rules are data (its row and its price grid); these read them as the
// pure rules of package booking, for every package that books, cancels, lists or
// prices a service's days.

// Brackets converts price rows to booking's brackets.
func Brackets(rows []db.ServicePrice) []booking.PriceBracket {
	out := make([]booking.PriceBracket, 0, len(rows))
	for _, p := range rows {
		b := booking.PriceBracket{QFMin: int(p.QfMin), PriceCents: p.PriceCents}
		if p.QfMax != nil {
			m := int(*p.QfMax)
			b.QFMax = &m
		}
		out = append(out, b)
	}
	return out
}

// BookingRule is the service's booking deadline rule.
func BookingRule(s db.Service) booking.DeadlineRule {
	return booking.DeadlineRule{DaysBefore: int(s.BookingDaysBefore), At: sinceMidnight(s.BookingTime), WorkingDaysOnly: s.WorkingDaysOnly}
}

// CancelRule is the service's cancellation deadline rule.
func CancelRule(s db.Service) booking.DeadlineRule {
	return booking.DeadlineRule{DaysBefore: int(s.CancelDaysBefore), At: sinceMidnight(s.CancelTime), WorkingDaysOnly: s.WorkingDaysOnly}
}

func sinceMidnight(t pgtype.Time) time.Duration {
	return time.Duration(t.Microseconds) * time.Microsecond
}

// EligibilityRule is the service's eligibility rule.
func EligibilityRule(s db.Service) booking.Eligibility {
	e := booking.Eligibility{Schools: s.EligibleSchools, Classes: s.EligibleClasses}
	if s.MinAgeMonths != nil {
		v := int(*s.MinAgeMonths)
		e.MinMonths = &v
	}
	if s.MaxAgeMonths != nil {
		v := int(*s.MaxAgeMonths)
		e.MaxMonths = &v
	}
	return e
}

// OfferHold is how long the service's waiting-list offers hold their place
// (services.waitlist_offer_hold).
func OfferHold(svc db.Service) time.Duration {
	iv := svc.WaitlistOfferHold
	return time.Duration(iv.Microseconds)*time.Microsecond + time.Duration(iv.Days)*24*time.Hour
}
