// Package testenv gives tests real servers: a PostgreSQL database per test and a
// Temporal dev server per test binary. Every package using it calls Main from its
// TestMain, which stops what was started once the tests are done:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Servers start lazily, on the first Database or Temporal call, once per test
// binary. Nothing is skipped: a missing PostgreSQL or Temporal CLI fails the test
// and says what to do.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/enfance/enfance/logging"
)

// mainRunning is set by Main; Database and Temporal refuse to start servers
// nobody would stop.
var mainRunning atomic.Bool

// Main runs the tests (m.Run), then stops whatever this package started and exits
// with the tests' code (or 1 if stopping failed).
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func requireMain(t testing.TB) {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("testenv: add `func TestMain(m *testing.M) { testenv.Main(m) }` to this package's tests, so the servers testenv starts are stopped afterwards")
	}
}

func shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(stopTemporal(ctx), stopPostgres(ctx))
}

var (
	loggerOnce sync.Once
	logger     *zap.Logger
)

// log is for the servers' own messages: warnings and errors only, on stderr.
func log() *zap.Logger {
	loggerOnce.Do(func() {
		l, err := logging.New("warn", true)
		if err != nil {
			l = zap.NewNop()
		}
		logger = l.Named("testenv")
	})
	return logger
}
