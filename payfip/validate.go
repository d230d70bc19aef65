package payfip

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxObjetLen is the longest objet PayFiP accepts.
const MaxObjetLen = 100

// letters that do not decompose under NFKD but have an obvious ASCII spelling.
var foldLetters = map[rune]string{
	'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE", 'ß': "ss", 'ø': "o", 'Ø': "O",
	'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'þ': "th", 'Þ': "TH",
}

// NormalizeObjet turns free text into what PayFiP accepts in objet: accents
// stripped (NFKD, combining marks dropped; œ → oe …), the separators / ' - #
// (and their typographic cousins: ’ ‘ dashes) and any white space become a
// space, anything else that is not an ASCII letter or digit is dropped, runs of
// spaces collapse, the result is trimmed and cut to 100 characters.
func NormalizeObjet(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is pending
	emit := func(r rune) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	for _, r := range norm.NFKD.String(s) {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			emit(r)
		case r == '/' || r == '\'' || r == '-' || r == '#' || r == '\u2018' || r == '\u2019' ||
			unicode.Is(unicode.Pd, r) || unicode.IsSpace(r):
			space = true
		case foldLetters[r] != "":
			for _, x := range foldLetters[r] {
				emit(x)
			}
		}
		if b.Len() >= MaxObjetLen {
			break
		}
	}
	out := b.String()
	if len(out) > MaxObjetLen {
		out = out[:MaxObjetLen]
	}
	return strings.TrimRight(out, " ")
}

// ValidRefdet reports whether s is a valid refdet: 6 to 30 ASCII letters or digits.
func ValidRefdet(s string) bool {
	if len(s) < 6 || len(s) > 30 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validMel(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 6 || n > 80 || !utf8.ValidString(s) {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' {
			return false
		}
	}
	return true
}

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == ""
}

// validate checks a request the way PayFiP would, so that a bad request fails
// here with the field named rather than as a fault.
func (c *Client) validate(r PaymentRequest) error {
	switch {
	case r.Exer < 1000 || r.Exer > 9999:
		return invalid("exer", "must be a 4-digit year")
	case !validMel(r.Mel):
		return invalid("mel", "must be 6–80 characters with one '@' and no spaces")
	case r.AmountCents < MinAmountCents:
		return invalid("montant", "must be at least %d cents", MinAmountCents)
	case r.AmountCents > c.cfg.MaxAmountCents:
		return invalid("montant", "must be at most %d cents", c.cfg.MaxAmountCents)
	case !isDigits(r.Numcli, 6):
		return invalid("numcli", "must be exactly 6 digits")
	case !ValidRefdet(r.Refdet):
		return invalid("refdet", "must be 6–30 letters or digits")
	case r.Saisie != "T" && r.Saisie != "X" && r.Saisie != "W":
		return invalid("saisie", "must be T, X or W")
	case !validHTTPURL(r.URLNotif):
		return invalid("urlnotif", "must be an absolute http(s) URL")
	case !validHTTPURL(r.URLRedirect):
		return invalid("urlredirect", "must be an absolute http(s) URL")
	}
	return nil
}
