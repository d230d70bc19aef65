package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/devenv"
)

// `enfance dev` as a new user runs it: the real binary, real PostgreSQL and Temporal
// processes. Ctrl-C must leave nothing behind, and a second start must keep the data
// and not load the demo twice.
func TestDevStartsEverythingAndStopsEverything(t *testing.T) {
	root, err := devenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "temporal")); err != nil {
		t.Fatal("temporal CLI missing at bin/temporal: run make tools")
	}
	bin := filepath.Join(t.TempDir(), "enfance")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// The postgres user must reach the data folder: t.TempDir() is private to root.
	data, err := os.MkdirTemp("", "enfance-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 6)
	env := append(os.Environ(),
		"DATA_DIR="+data,
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", ports[0]),
		fmt.Sprintf("DEV_PG_PORT=%d", ports[1]),
		fmt.Sprintf("DEV_TEMPORAL_PORT=%d", ports[2]),
		fmt.Sprintf("TEMPORAL_UI_PORT=%d", ports[3]),
		fmt.Sprintf("PAYFIP_SIM_ADDR=127.0.0.1:%d", ports[4]),
		fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", ports[5]),
		"DATABASE_URL=", "TEMPORAL_ADDRESS=", "LOG_LEVEL=warn",
	)
	api := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	metrics := fmt.Sprintf("http://127.0.0.1:%d", ports[5])
	dsn := fmt.Sprintf("postgres://enfance@127.0.0.1:%d/enfance?sslmode=disable", ports[1])

	for run := 1; run <= 2; run++ {
		banner := runUntilCtrlC(t, root, bin, "dev", env, func() {
			resp, err := http.Get(api + "/readyz")
			if err != nil {
				t.Fatalf("run %d: readyz: %v", run, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("run %d: readyz status %d", run, resp.StatusCode)
			}
			resp, err = http.Post(api+"/api/v1/auth/login", "application/json",
				strings.NewReader(`{"login":"martin@demo.enfance.test","password":"demo-martin-2026"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("run %d: demo login status %d", run, resp.StatusCode)
			}
			assertDemoOnce(t, dsn)
			for _, path := range []string{"/", "/dev/outbox/", "/api/openapi.yaml"} {
				resp, err := http.Get(api + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("run %d: GET %s: %d", run, path, resp.StatusCode)
				}
			}
			// Metrics and profiles on METRICS_ADDR only.
			for _, path := range []string{"/metrics", "/debug/pprof/"} {
				resp, err := http.Get(metrics + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("run %d: GET %s%s: %d", run, metrics, path, resp.StatusCode)
				}
			}
		})
		for _, want := range []string{fmt.Sprintf("http://localhost:%d/api/v1", ports[0]), metrics + "/metrics", metrics + "/debug/pprof/", fmt.Sprintf("http://localhost:%d", ports[3]), "PayFiP simulator", "Mail outbox", "martin@demo.enfance.test", "demo-staff-2026"} {
			if !strings.Contains(banner, want) {
				t.Errorf("run %d: banner lacks %q:\n%s", run, want, banner)
			}
		}
		if left := processesUsing(data); len(left) > 0 {
			t.Fatalf("run %d: processes left after Ctrl-C: %v", run, left)
		}
	}
}

// runUntilCtrlC starts `enfance <command>`, waits for its banner, calls check,
// then sends Ctrl-C (SIGINT) and waits for it to exit.
func runUntilCtrlC(t *testing.T, root, bin, command string, env []string, check func()) string {
	t.Helper()
	cmd := exec.Command(bin, command)
	cmd.Dir, cmd.Env = root, env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ready := make(chan struct{})
	var banner strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			banner.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Try: curl") && !signalled {
				signalled = true
				close(ready)
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("enfance %s exited before its banner: %v\n%s", command, err, banner.String())
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("no banner after 3 minutes:\n%s", banner.String())
	}
	check()
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("enfance %s exit: %v", command, err)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("enfance %s did not stop within a minute of Ctrl-C", command)
	}
	return banner.String()
}

func assertDemoOnce(t *testing.T, dsn string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var orgs, users, days int
	if err := conn.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM orgs), (SELECT count(*) FROM users), (SELECT count(*) FROM service_days)`).Scan(&orgs, &users, &days); err != nil {
		t.Fatal(err)
	}
	if orgs != 1 || users != 5 || days == 0 {
		t.Fatalf("demo data: %d orgs, %d users, %d service days; want 1 org, 5 users, some days", orgs, users, days)
	}
}

// processesUsing lists live processes whose command line mentions dir.
func processesUsing(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(line, dir) {
			found = append(found, e.Name()+": "+line)
		}
	}
	return found
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}
