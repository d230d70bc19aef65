package password

import (
	_ "embed"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length bounds, in characters. The maximum only bounds the work of one hash.
const (
	MinLength = 10
	MaxLength = 256
)

// Weakness is why a new password is refused, with a French message for the form.
type Weakness struct {
	Code    string // too_short, too_long, common, personal
	Message string
}

func (w *Weakness) Error() string { return w.Message }

// The refusals Check returns.
var (
	ErrTooShort = &Weakness{"too_short", "Le mot de passe doit contenir au moins 10 caractères."}
	ErrTooLong  = &Weakness{"too_long", "Le mot de passe doit contenir au plus 256 caractères."}
	ErrCommon   = &Weakness{"common", "Ce mot de passe fait partie des plus courants ; choisissez-en un autre, par exemple une phrase de quelques mots."}
	ErrPersonal = &Weakness{"personal", "Le mot de passe ne doit pas reprendre votre identifiant."}
)

// The list is embedded rather than fetched or looked up online: the API needs no
// network to check a password, and sending (part of) a password's hash to a third
// party is a decision for the municipality, not a default. A few hundred entries
// catch the guesses an online attacker tries first; the length minimum and the
// login throttling do the rest.
//
//go:embed common.txt
var commonList string

var common = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonList, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// Check tells whether pw may become a password. personal holds what the account
// is known by (its login): a password built on it is refused.
func Check(pw string, personal ...string) *Weakness {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinLength:
		return ErrTooShort
	case n > MaxLength:
		return ErrTooLong
	}
	lower := strings.ToLower(pw)
	if isCommon(lower) {
		return ErrCommon
	}
	for _, p := range personal {
		p = strings.ToLower(strings.TrimSpace(p))
		if at := strings.IndexByte(p, '@'); at >= 0 {
			p = p[:at]
		}
		if utf8.RuneCountInString(p) >= 4 && strings.Contains(lower, p) {
			return ErrPersonal
		}
	}
	return nil
}

// isCommon: a listed password, a listed word with digits or symbols around it
// ("Soleil2024!"), one character repeated, or a run of consecutive digits.
func isCommon(lower string) bool {
	if common[lower] {
		return true
	}
	core := strings.TrimFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	if core != "" && common[core] {
		return true
	}
	if strings.Count(lower, lower[:1]) == len(lower) {
		return true
	}
	return strings.Contains(strings.Repeat("0123456789", 30), lower) ||
		strings.Contains(strings.Repeat("9876543210", 30), lower)
}
