// Package check holds the checks of what people type into the portal and the back
// office — required, lengths, e-mail addresses, phones, postal codes, dates — and
// Error, the refusal that names each field in French. Domain packages check their
// input with it; the API answers an *Error as a 400 listing the fields.
package check

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Field is one refused input and why.
type Field struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Reason  string `json:"reason,omitempty"`
}

// Error is input refused as a whole: nothing was written.
type Error struct {
	Detail string // « Fiche famille invalide. »
	Fields []Field
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d field(s))", e.Detail, len(e.Fields)) }

// Fields gathers the refusals of one input.
type Fields []Field

// Add records field's message, if any ("" is a value that passed).
func (f *Fields) Add(field, message string) {
	if message != "" {
		*f = append(*f, Field{Field: field, Message: message})
	}
}

// Err is an *Error with detail when a field was refused, nil otherwise.
func (f Fields) Err(detail string) error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Detail: detail, Fields: f}
}

// Invalid is an *Error about one field.
func Invalid(detail, field, message string) error {
	return &Error{Detail: detail, Fields: []Field{{Field: field, Message: message}}}
}

// MaxLen refuses more than n characters.
func MaxLen(n int) func(string) string {
	return func(v string) string {
		if utf8.RuneCountInString(v) > n {
			return fmt.Sprintf("%d caractères au plus", n)
		}
		return ""
	}
}

// Required refuses an empty value or more than n characters.
func Required(n int) func(string) string {
	return func(v string) string {
		if v == "" {
			return "requis"
		}
		return MaxLen(n)(v)
	}
}

// Email refuses what is not one plain e-mail address ("" passes).
func Email(v string) string {
	if v == "" {
		return ""
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > 254 || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") {
		return "adresse e-mail invalide"
	}
	return ""
}

var (
	phoneChars = regexp.MustCompile(`^\+?[0-9 .\-()]+$`)
	postalCode = regexp.MustCompile(`^[0-9]{5}$`)
)

// Phone accepts French and international numbers as people type them ("" passes).
func Phone(v string) string {
	if v == "" {
		return ""
	}
	digits := 0
	for _, r := range v {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if !phoneChars.MatchString(v) || digits < 10 || digits > 15 {
		return "numéro de téléphone invalide (10 chiffres, ou +33 …)"
	}
	return ""
}

// PostalCode wants a French postal code ("" passes).
func PostalCode(v string) string {
	if v != "" && !postalCode.MatchString(v) {
		return "code postal à 5 chiffres attendu"
	}
	return ""
}

// BadDate is the message of a day not written YYYY-MM-DD.
const BadDate = "date attendue au format AAAA-MM-JJ"
