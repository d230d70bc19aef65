package booking

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseClock parses a wall-clock time "HH:MM" into the time since midnight.
func ParseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("clock %q: want HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("clock %q: want HH:MM between 00:00 and 23:59", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// Clock renders a time since midnight as "HH:MM".
func Clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int((d%time.Hour)/time.Minute))
}

// MaxDaysBefore bounds a deadline rule: beyond two months a rule is a typo.
const MaxDaysBefore = 60

// BracketError says which bracket of a price grid is wrong, in French.
type BracketError struct {
	Index   int // in the grid as given; -1 for the grid as a whole
	Message string
}

func (e *BracketError) Error() string {
	if e.Index < 0 {
		return "price brackets: " + e.Message
	}
	return fmt.Sprintf("price bracket %d: %s", e.Index, e.Message)
}

// ValidateBrackets checks that a price grid covers every quotient familial exactly
// once: from 0, each bracket starting the unit after the previous one ends, the last
// without upper bound. So booking.Price finds exactly one price for any QF.
func ValidateBrackets(brackets []PriceBracket) error {
	if len(brackets) == 0 {
		return &BracketError{Index: -1, Message: "au moins une tranche de prix est requise"}
	}
	order := make([]int, len(brackets))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return brackets[a].QFMin - brackets[b].QFMin })
	next := 0
	for n, i := range order {
		b := brackets[i]
		switch {
		case b.PriceCents < 0:
			return &BracketError{Index: i, Message: "le prix ne peut pas être négatif"}
		case b.QFMax != nil && *b.QFMax < b.QFMin:
			return &BracketError{Index: i, Message: fmt.Sprintf("la tranche finit (QF %d) avant de commencer (QF %d)", *b.QFMax, b.QFMin)}
		case b.QFMin < next:
			return &BracketError{Index: i, Message: fmt.Sprintf("la tranche commençant au QF %d chevauche la précédente", b.QFMin)}
		case b.QFMin > next:
			return &BracketError{Index: i, Message: fmt.Sprintf("aucune tranche ne couvre les QF de %d à %d", next, b.QFMin-1)}
		}
		if b.QFMax == nil {
			if n != len(order)-1 {
				return &BracketError{Index: i, Message: "seule la dernière tranche peut être sans plafond"}
			}
			return nil
		}
		next = *b.QFMax + 1
	}
	return &BracketError{Index: order[len(order)-1], Message: fmt.Sprintf("la dernière tranche doit être sans plafond (aucun prix au-delà du QF %d)", next-1)}
}
