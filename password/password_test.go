package password_test

import (
	"context"
	"strings"
	"testing"

	"github.com/enfance/enfance/password"
)

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h, err := password.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id with the chosen parameters", h)
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		if ok, err := password.Verify(ctx, pw, h); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if ok, _ := password.Verify(ctx, "anything", ""); ok {
		t.Error("an unset password must never match")
	}
	other, _ := password.Hash(ctx, "correct horse battery")
	if other == h {
		t.Error("two hashes of one password must differ (salt)")
	}
}
