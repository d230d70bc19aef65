// Package password hashes and checks passwords with argon2id.
package password

import (
	"context"
	"runtime"

	"github.com/alexedwards/argon2id"
)

// Params follow OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane). The
// library's default (64 MiB) costs 2 GiB of memory with 32 logins at once, which is
// exactly what an opening-day rush brings.
var Params = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// slots bounds the hashes computed at once, so a login rush queues instead of
// multiplying memory and starving every other request of CPU.
var slots = make(chan struct{}, 2*runtime.GOMAXPROCS(0))

func acquire(ctx context.Context) error {
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func release() { <-slots }

// Hash returns the encoded argon2id hash of pw.
func Hash(ctx context.Context, pw string) (string, error) {
	if err := acquire(ctx); err != nil {
		return "", err
	}
	defer release()
	return argon2id.CreateHash(pw, Params)
}

// dummy is checked when a login is unknown, so that an unknown login and a wrong
// password cost the same time.
var dummy, _ = argon2id.CreateHash("enfance-dummy-password", Params)

// Verify reports whether pw matches hash. An empty hash (an account whose password
// was never set) never matches, after the same work as a real check.
func Verify(ctx context.Context, pw, hash string) (bool, error) {
	if err := acquire(ctx); err != nil {
		return false, err
	}
	defer release()
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(pw, dummy)
		return false, nil
	}
	return argon2id.ComparePasswordAndHash(pw, hash)
}

// Burn does the work of one check for a login that does not exist.
func Burn(ctx context.Context, pw string) {
	_, _ = Verify(ctx, pw, "")
}
