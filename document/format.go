// Package document renders the PDFs families receive (attestations de paiement,
// invoices) and the French formatting they share.
package document

import (
	"fmt"
	"strings"
	"time"
)

// Euros formats cents the French way: 1 234,56 € (narrow no-break space for
// thousands is not in the PDF core fonts, so a plain no-break space is used).
func Euros(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	units := fmt.Sprintf("%d", cents/100)
	var b strings.Builder
	for i, r := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b.WriteRune('\u00a0')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s%s,%02d\u00a0€", sign, b.String(), cents%100)
}

var months = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
var weekdays = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}

// LongDate is « 3 décembre 2026 » (1er for the first of the month).
func LongDate(t time.Time) string {
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %d", day, months[t.Month()-1], t.Year())
}

// WeekdayDate is « jeudi 3 décembre 2026 ».
func WeekdayDate(t time.Time) string {
	return weekdays[t.Weekday()] + " " + LongDate(t)
}

// DateTime is « 3 décembre 2026 à 14h02 » in loc.
func DateTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return fmt.Sprintf("%s à %02dh%02d", LongDate(t), t.Hour(), t.Minute())
}

// ShortDate is 03/12/2026.
func ShortDate(t time.Time) string { return t.Format("02/01/2006") }

// MonthName is « décembre 2026 ».
func MonthName(t time.Time) string { return fmt.Sprintf("%s %d", months[t.Month()-1], t.Year()) }

// OfMonth is « de décembre 2026 », « d'octobre 2026 »: the month after « de »,
// elided before a vowel (avril, août, octobre).
func OfMonth(t time.Time) string {
	name := MonthName(t)
	if strings.ContainsRune("aeiouéèâ", []rune(name)[0]) {
		return "d'" + name
	}
	return "de " + name
}

// DayMonth is « jeudi 3 décembre », « mardi 1er décembre »: a day of the coming
// weeks, as a sentence names it.
func DayMonth(t time.Time) string {
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %s", weekdays[t.Weekday()], day, months[t.Month()-1])
}
