package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/bench"
	"github.com/enfance/enfance/devenv"
)

// clusterRig is `enfance cluster` as a user runs it, on ports of its own.
type clusterRig struct {
	root, bin, data string
	env             []string
	apis            []string // http://127.0.0.1:port
	lb, ui, sim     string
	dsn             string
}

func newClusterRig(t *testing.T) *clusterRig {
	t.Helper()
	if os.Getenv("ENFANCE_CLUSTER_TESTS") == "" {
		t.Skip("the cluster's tests run in make chaos (ENFANCE_CLUSTER_TESTS=1)")
	}
	root, err := devenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := devenv.CheckClusterTools(root); err != nil {
		t.Fatal(err)
	}
	r := &clusterRig{root: root, bin: filepath.Join(t.TempDir(), "enfance")}
	if out, err := exec.Command("go", "build", "-o", r.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// The postgres user must reach the data folder: t.TempDir() is private to root.
	if r.data, err = os.MkdirTemp("", "enfance-cluster-test-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(r.data) })
	if err := os.Chmod(r.data, 0o755); err != nil {
		t.Fatal(err)
	}
	temporalPort, err := devenv.FreeTemporalServerPort()
	if err != nil {
		t.Fatal(err)
	}
	p := freePorts(t, 6)
	r.apis = []string{fmt.Sprintf("http://127.0.0.1:%d", p[0]), fmt.Sprintf("http://127.0.0.1:%d", p[1])}
	r.lb, r.ui, r.sim = fmt.Sprintf("http://127.0.0.1:%d", p[2]), fmt.Sprintf("http://127.0.0.1:%d", p[3]), fmt.Sprintf("http://127.0.0.1:%d", p[4])
	r.dsn = fmt.Sprintf("postgres://enfance@127.0.0.1:%d/enfance?sslmode=disable", p[5])
	r.env = append(os.Environ(),
		"DATA_DIR="+r.data,
		fmt.Sprintf("CLUSTER_API_ADDRS=127.0.0.1:%d,127.0.0.1:%d", p[0], p[1]),
		fmt.Sprintf("CLUSTER_LB_ADDR=127.0.0.1:%d", p[2]),
		fmt.Sprintf("TEMPORAL_UI_PORT=%d", p[3]),
		fmt.Sprintf("PAYFIP_SIM_ADDR=127.0.0.1:%d", p[4]),
		fmt.Sprintf("DEV_PG_PORT=%d", p[5]),
		fmt.Sprintf("DEV_TEMPORAL_PORT=%d", temporalPort),
		"CLUSTER_WORKERS=2", "DATABASE_URL=", "TEMPORAL_ADDRESS=", "PUBLIC_URL=", "LOG_LEVEL=warn",
	)
	return r
}

// run starts the cluster, calls check once it is up, then types Ctrl-C and
// checks that nothing is left running.
func (r *clusterRig) run(t *testing.T, check func()) string {
	t.Helper()
	banner := runUntilCtrlC(t, r.root, r.bin, "cluster", r.env, check)
	if left := processesUsing(r.data); len(left) > 0 {
		t.Fatalf("processes left after Ctrl-C: %v", left)
	}
	if pids, _ := filepath.Glob(filepath.Join(r.data, "cluster", "run", "*.pid")); len(pids) > 0 {
		t.Fatalf("pid files left after Ctrl-C: %v", pids)
	}
	return banner
}

// pid reads the process ID the cluster wrote for one of its processes.
func (r *clusterRig) pid(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.data, "cluster", "run", name+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// `enfance cluster` as a new user runs it, twice: every part answers, each API
// process and the balancer log the demo family in, the Temporal Web UI serves
// the namespace's search attributes, and Ctrl-C leaves nothing behind; the
// second start keeps the data (demo loaded once, Temporal's schema upgraded in
// place).
func TestClusterStartsEverythingAndStopsEverything(t *testing.T) {
	r := newClusterRig(t)
	for run := 1; run <= 2; run++ {
		banner := r.run(t, func() {
			for _, base := range append(r.apis, r.lb) {
				if st, body := get(t, base+"/readyz"); st != http.StatusOK {
					t.Fatalf("run %d: %s/readyz: %d %s", run, base, st, body)
				}
				resp, err := http.Post(base+"/api/v1/auth/login", "application/json",
					strings.NewReader(`{"login":"martin@demo.enfance.test","password":"demo-martin-2026"}`))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("run %d: demo login through %s: %d", run, base, resp.StatusCode)
				}
			}
			assertDemoOnce(t, r.dsn)
			if st, body := get(t, r.ui+"/api/v1/namespaces/default/search-attributes"); st != http.StatusOK ||
				!strings.Contains(body, "CartStatus") || !strings.Contains(body, "AmountDueCents") {
				t.Fatalf("run %d: Temporal UI search attributes: %d %s", run, st, body)
			}
			for _, name := range []string{"api-1", "api-2", "worker-1", "worker-2"} {
				if pid := r.pid(t, name); syscall.Kill(pid, 0) != nil {
					t.Fatalf("run %d: %s (pid %d) is not running", run, name, pid)
				}
			}
		})
		// Each API process has its metrics on a port of its own, not on its API port.
		n := 0
		for _, line := range strings.Split(banner, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "API ") && strings.Contains(line, "metrics: http://127.0.0.1:") {
				n++
			}
		}
		if n != len(r.apis) {
			t.Errorf("run %d: %d API metrics addresses in the banner:\n%s", run, n, banner)
		}
		for _, a := range r.apis {
			if strings.Contains(banner, a+"/metrics") || strings.Contains(banner, strings.Replace(a, "127.0.0.1", "localhost", 1)+"/metrics") {
				t.Errorf("run %d: metrics on the API port %s:\n%s", run, a, banner)
			}
		}
		for _, want := range append(r.apis, "API 2", "Temporal UI", "2 × enfance worker", "Temporal server on PostgreSQL", "temporal_visibility", "demo-staff-2026") {
			want = strings.Replace(want, "127.0.0.1", "localhost", 1)
			if !strings.Contains(banner, want) {
				t.Errorf("run %d: banner lacks %q:\n%s", run, want, banner)
			}
		}
	}
}

// The rush on the production shape, losing a process of each kind: while the
// families book and pay through both API processes, one worker and one API
// process are killed (SIGKILL) and the cluster restarts them. The parents whose
// API died retry on the other one with the same Idempotency-Key. Every family
// ends with its cart paid once, its reservations all there and none twice, one
// PayFiP payment and one ledger payment for the amount frozen, a balanced
// account, and the same answer from PayFiP (the simulator) as from the ledger.
func TestClusterRushSurvivesLosingOneOfEach(t *testing.T) {
	r := newClusterRig(t)
	r.run(t, func() {
		const families = 160
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		type outcome struct {
			rep *bench.Report
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			rep, err := bench.Rush(ctx, bench.Options{
				APIURL: strings.Join(r.apis, ","), SimURL: r.sim, DatabaseURL: r.dsn,
				Families: families, Days: 4, Concurrency: 24, Timeout: 5 * time.Minute,
			})
			done <- outcome{rep, err}
		}()

		// Once a fifth of the carts are paid, kill a worker and an API process.
		conn, err := pgx.Connect(ctx, r.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		for paid := 0; paid < families/5; {
			select {
			case o := <-done:
				t.Fatalf("the rush ended before the kills: %+v %v", o.rep, o.err)
			case <-time.After(100 * time.Millisecond):
			}
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM carts c JOIN orgs o ON o.id = c.org_id
				WHERE o.slug LIKE 'bench-%' AND c.status = 'paid'`).Scan(&paid); err != nil {
				t.Fatal(err)
			}
		}
		killed := map[string]int{"worker-1": r.pid(t, "worker-1"), "api-1": r.pid(t, "api-1")}
		for name, pid := range killed {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill %s: %v", name, err)
			}
			t.Logf("killed %s (pid %d)", name, pid)
		}

		o := <-done
		if o.err != nil {
			t.Fatalf("rush: %v", o.err)
		}
		rep := o.rep
		t.Logf("rush: %d carts paid in %.1f s, errors %v, retries %v", rep.ConfirmedCarts, rep.WallSeconds, rep.Errors, rep.Retries)
		if rep.ConfirmedCarts != families || len(rep.Errors) > 0 {
			t.Errorf("%d of %d carts paid; errors %v", rep.ConfirmedCarts, families, rep.Errors)
		}
		if rep.OverbookedDays+rep.CountMismatches+rep.StuckCarts+rep.LedgerViolations+rep.WaitlistBroken > 0 {
			t.Errorf("invariants: %d overbooked days, %d capacity mismatches, %d carts neither paid nor open, %d ledger violations, %d waiting-list violations",
				rep.OverbookedDays, rep.CountMismatches, rep.StuckCarts, rep.LedgerViolations, rep.WaitlistBroken)
		}
		if rep.WaitlistJoined == 0 {
			t.Error("nobody joined the limited day's waiting list: the rush did not fill it")
		}
		retries := 0
		for _, n := range rep.Retries {
			retries += n
		}
		if retries == 0 {
			t.Error("no parent had to retry: the API process died with nobody talking to it, the test proved nothing")
		}
		for name, old := range killed {
			if pid := r.pid(t, name); pid == old || syscall.Kill(pid, 0) != nil {
				t.Errorf("%s was not restarted (pid %d, killed %d)", name, pid, old)
			}
		}
		assertEveryFamilyPaidOnce(t, ctx, conn, families)
		assertPayFiPAgreesWithTheLedger(t, ctx, conn, r.sim, filepath.Join(r.data, "cluster", "logs"))
		// The operators' view: every paid cart in the Temporal Web UI, found by its
		// search attribute once its workflow has sent the receipt and ended
		// (visibility is written after the workflow, so it is waited for).
		q := url.QueryEscape(`WorkflowType = "Cart" AND CartStatus = "paid" AND ExecutionStatus = "Completed"`)
		var st int
		var body string
		var count struct{ Count string }
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			st, body = get(t, r.ui+"/api/v1/namespaces/default/workflow-count?query="+q)
			if err := json.Unmarshal([]byte(body), &count); st == http.StatusOK && err == nil && count.Count == strconv.Itoa(families) {
				break
			}
		}
		if count.Count != strconv.Itoa(families) {
			t.Errorf("Temporal UI: %q paid carts found (%d %s), want %d", count.Count, st, body, families)
		}
	})
}

// assertEveryFamilyPaidOnce checks the bench org family by family: one paid cart
// and nothing else, its lines all confirmed as reservations, one paid PayFiP
// attempt and one ledger payment of its amount, and an account that owes
// nothing.
func assertEveryFamilyPaidOnce(t *testing.T, ctx context.Context, conn *pgx.Conn, families int) {
	t.Helper()
	rows, err := conn.Query(ctx, `
		SELECT f.id,
		  (SELECT count(*) FROM carts c WHERE c.family_id = f.id AND c.status = 'paid'),
		  (SELECT count(*) FROM carts c WHERE c.family_id = f.id AND c.status <> 'paid'),
		  (SELECT count(*) FROM cart_lines l JOIN carts c ON c.id = l.cart_id WHERE c.family_id = f.id AND c.status = 'paid'),
		  (SELECT count(*) FROM reservations r WHERE r.family_id = f.id AND r.status = 'confirmed'),
		  (SELECT count(DISTINCT (r.child_id, r.service_day_id)) FROM reservations r WHERE r.family_id = f.id),
		  (SELECT count(*) FROM payment_attempts a WHERE a.family_id = f.id AND a.status = 'paid'),
		  (SELECT count(*) FROM payment_attempts a WHERE a.family_id = f.id),
		  (SELECT count(*) FROM ledger_entries e WHERE e.family_id = f.id AND e.kind = 'payment'),
		  (SELECT coalesce(sum(e.outstanding_cents), 0) FROM ledger_entries e WHERE e.family_id = f.id)
		FROM families f JOIN orgs o ON o.id = f.org_id WHERE o.slug LIKE 'bench-%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var paid, other, lines, reservations, distinct, attemptsPaid, attempts, payments, owed int64
		if err := rows.Scan(&id, &paid, &other, &lines, &reservations, &distinct, &attemptsPaid, &attempts, &payments, &owed); err != nil {
			t.Fatal(err)
		}
		n++
		if paid != 1 || other != 0 || lines == 0 || reservations != lines || distinct != reservations ||
			attemptsPaid != 1 || attempts != 1 || payments != 1 || owed != 0 {
			t.Errorf("family %s: %d paid carts and %d others, %d lines paid, %d reservations (%d distinct), %d attempts (%d paid), %d ledger payments, %d cents owed",
				id, paid, other, lines, reservations, distinct, attempts, attemptsPaid, payments, owed)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != families {
		t.Errorf("%d bench families, want %d", n, families)
	}
}

// assertPayFiPAgreesWithTheLedger asks the simulator about every payment the
// engine created: each was paid once, for the amount the engine recorded.
func assertPayFiPAgreesWithTheLedger(t *testing.T, ctx context.Context, conn *pgx.Conn, sim, logs string) {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT a.id_op, a.amount_cents, a.status FROM payment_attempts a
		JOIN orgs o ON o.id = a.org_id WHERE o.slug LIKE 'bench-%'`)
	if err != nil {
		t.Fatal(err)
	}
	type attempt struct {
		idOp   *string
		amount int64
		status string
	}
	var all []attempt
	for rows.Next() {
		var a attempt
		if err := rows.Scan(&a.idOp, &a.amount, &a.status); err != nil {
			t.Fatal(err)
		}
		all = append(all, a)
	}
	rows.Close()
	for _, a := range all {
		if a.idOp == nil {
			t.Errorf("attempt without idOp (%s)", a.status)
			continue
		}
		st, body := get(t, sim+"/sim/payments/"+url.PathEscape(*a.idOp))
		var p struct {
			Resultrans string `json:"resultrans"`
			Montant    string `json:"montant"`
		}
		if err := json.Unmarshal([]byte(body), &p); st != http.StatusOK || err != nil {
			t.Errorf("simulator on %s: %d %s", *a.idOp, st, body)
			continue
		}
		if p.Resultrans != "P" || p.Montant != strconv.FormatInt(a.amount, 10) || a.status != "paid" {
			t.Errorf("payment %s: simulator %+v, engine %d cents %s", *a.idOp, p, a.amount, a.status)
			logLinesAbout(t, logs, *a.idOp)
		}
	}
}

// logLinesAbout shows what the cluster's processes logged about needle (an idOp),
// so that a failure on a CI machine says where the payment stopped.
func logLinesAbout(t *testing.T, dir, needle string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		shown := 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, needle) && shown < 40 {
				t.Logf("%s: %s", filepath.Base(f), line)
				shown++
			}
		}
	}
}
