package password_test

import (
	"strings"
	"testing"

	"github.com/enfance/enfance/password"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		want *password.Weakness
	}{
		{"court", password.ErrTooShort},
		{"123456789", password.ErrTooShort},
		{"éléphant!", password.ErrTooShort}, // 9 characters, more bytes
		{strings.Repeat("x", 257), password.ErrTooLong},
		{"1234567890", password.ErrCommon},
		{"AZERTYUIOP", password.ErrCommon},
		{"motdepasse", password.ErrCommon},
		{"Motdepasse2024!", password.ErrCommon},
		{"2024soleil!!", password.ErrCommon},
		{"Password123", password.ErrCommon},
		{"zzzzzzzzzzzz", password.ErrCommon},
		{"34567890123", password.ErrCommon},
		{"9876543210", password.ErrCommon},
		{"dupont.marie-1985", password.ErrPersonal},
		{"cheval correct agrafe", nil},
		{"éléphant rose 42", nil},
		{"Soleil-de-Mars-1987", nil}, // words, but not a listed password
		{strings.Repeat("ab", 128), nil},
	} {
		got := password.Check(tc.pw, "dupont.marie@exemple.fr")
		if got != tc.want {
			t.Errorf("Check(%q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
	if password.Check("martin-1234567", "m@x.fr") != nil {
		t.Error("a login shorter than 4 characters must not refuse every password containing it")
	}
}
