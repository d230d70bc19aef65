package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/enfance/enfance/devenv"
	"github.com/enfance/enfance/logging"
)

// TemporalSearchAttributes are registered on the dev server that Temporal starts
// (name → "Keyword", "Int", …). Change it before the first Temporal call.
var TemporalSearchAttributes = map[string]string{
	"OrgId":          "Keyword",
	"FamilyId":       "Keyword",
	"CartStatus":     "Keyword",
	"AmountDueCents": "Int",
	"Month":          "Keyword",
	"RunStatus":      "Keyword",
	"PaymentStatus":  "Keyword",
	"ServiceId":      "Keyword",
	"ServiceDate":    "Keyword",
	"WaitlistLength": "Int",
}

var (
	temporalMu  sync.Mutex
	temporal    *testsuite.DevServer
	temporalErr error
)

// Temporal returns the Temporal dev server shared by the test binary, started on
// the first call with testsuite.StartDevServer from <repo>/bin/temporal (in
// memory, on a free port, namespace "default", TemporalSearchAttributes
// registered). Its Client() is ready to use; do not close it or Stop the server,
// Main does.
//
// The server dies with the test binary even when that is killed (go test
// -timeout): see execWithParentDeath.
func Temporal(t testing.TB) *testsuite.DevServer {
	t.Helper()
	requireMain(t)
	temporalMu.Lock()
	defer temporalMu.Unlock()
	if temporal == nil && temporalErr == nil {
		temporal, temporalErr = startTemporal()
	}
	if temporalErr != nil {
		t.Fatal(temporalErr)
	}
	return temporal
}

func startTemporal() (*testsuite.DevServer, error) {
	root, err := devenv.RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	bin := filepath.Join(root, "bin", "temporal")
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return nil, fmt.Errorf("temporal CLI missing at %s: run make tools", bin)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("testenv: path of the test binary: %w", err)
	}

	names := make([]string, 0, len(TemporalSearchAttributes))
	for name := range TemporalSearchAttributes {
		names = append(names, name)
	}
	sort.Strings(names)
	var args []string
	for _, name := range names {
		args = append(args, "--search-attribute", name+"="+TemporalSearchAttributes[name])
	}
	// The last three arguments make this test binary exec bin/temporal (see init).
	args = append(args, execFlag, bin, strconv.Itoa(os.Getpid()))

	out := devenv.NewTailBuffer(8192)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	server, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: self,
		LogLevel:     "error",
		ClientOptions: &client.Options{
			Namespace: "default",
			Logger:    logging.Temporal(log().Named("temporal-client")),
		},
		ExtraArgs: args,
		Stdout:    out,
		Stderr:    out,
	})
	if err != nil {
		return nil, fmt.Errorf("testenv: start the Temporal dev server (%s): %w\noutput:\n%s", bin, err, out)
	}
	return server, nil
}

func stopTemporal(context.Context) error {
	temporalMu.Lock()
	defer temporalMu.Unlock()
	if temporal == nil {
		return nil
	}
	s := temporal
	temporal, temporalErr = nil, fmt.Errorf("testenv: Temporal already stopped (Main has returned)")
	s.Client().Close()
	done := make(chan error, 1)
	go func() { done <- s.Stop() }() // SIGINT, then wait
	select {
	case err := <-done:
		if err != nil && !strings.Contains(err.Error(), "signal: interrupt") {
			return fmt.Errorf("stop the Temporal dev server: %w", err)
		}
		return nil
	case <-time.After(20 * time.Second):
		// It gets SIGKILL from its parent-death signal when this process exits.
		return fmt.Errorf("the Temporal dev server did not stop within 20 s; it is killed when the test binary exits")
	}
}

// execFlag, followed by the CLI's path and the parent's PID as the last three
// arguments, asks a test binary to become the Temporal CLI.
const execFlag = "--testenv-exec-temporal"

// testsuite.StartDevServer runs the CLI as a plain child: if the test binary is
// killed (go test -timeout, Ctrl-C of a parent), the server would be orphaned,
// holding memory and ports. So testenv points it at the test binary itself, which
// sets a parent-death signal and execs the real CLI — the signal survives exec.
func init() {
	n := len(os.Args)
	if n < 4 || os.Args[n-3] != execFlag {
		return
	}
	execWithParentDeath(os.Args[n-2], os.Args[n-1], os.Args[1:n-3])
}

func execWithParentDeath(bin, parentPID string, args []string) {
	runtime.LockOSThread() // prctl and exec on the same thread
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "testenv: prctl(PR_SET_PDEATHSIG):", errno)
		os.Exit(1)
	}
	if strconv.Itoa(os.Getppid()) != parentPID { // the test binary died already
		os.Exit(1)
	}
	err := syscall.Exec(bin, append([]string{bin}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "testenv: exec %s: %v\n", bin, err)
	os.Exit(127)
}
