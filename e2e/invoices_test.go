package e2e_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/demo"
	"github.com/enfance/enfance/invoice"
	"github.com/enfance/enfance/logging"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/testenv"
	"github.com/enfance/enfance/worker"
	"github.com/enfance/enfance/workflows"
)

var parisZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

type runView struct {
	ID            string `json:"id"`
	Month         string `json:"month"`
	Status        string `json:"status"`
	FamiliesTotal int    `json:"families_total"`
	FamiliesDone  int    `json:"families_done"`
	InvoicesCount int    `json:"invoices_count"`
	EmailedCount  int    `json:"emailed_count"`
	TotalCents    int64  `json:"total_cents"`
	PaidCents     int64  `json:"paid_cents"`
	DueCents      int64  `json:"due_cents"`
}

type invoiceView struct {
	ID         string `json:"id"`
	Number     string `json:"number"`
	Month      string `json:"month"`
	TotalCents int64  `json:"total_cents"`
	DueCents   int64  `json:"due_cents"`
}

func (s *stack) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.pool.Exec(context.Background(), sql, args...); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
}

func (s *stack) int(sql string, args ...any) int64 {
	s.t.Helper()
	var v int64
	if err := s.pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// bookLastMonth gives a demo family a reservation of last month, charged and paid
// online on the 2nd, and one booked by staff on the 10th, still owed.
func (s *stack) bookLastMonth(family string, first time.Time) {
	s.t.Helper()
	paid := time.Date(first.Year(), first.Month(), 2, 18, 0, 0, 0, parisZone)
	owed := time.Date(first.Year(), first.Month(), 10, 9, 0, 0, 0, parisZone)
	for i, when := range []time.Time{paid, owed} {
		day := first.AddDate(0, 0, 14+i)
		source := []string{"online", "staff"}[i]
		s.exec(`INSERT INTO service_days (id, org_id, service_id, day)
			SELECT gen_random_uuid(), s.org_id, s.id, $2 FROM services s JOIN orgs o ON o.id = s.org_id
			WHERE o.slug = $1 AND s.code = 'cantine' ON CONFLICT (service_id, day) DO NOTHING`, demo.OrgSlug, day)
		s.exec(`WITH r AS (
			INSERT INTO reservations (id, org_id, family_id, child_id, service_id, service_day_id, day, price_cents, status, source)
			SELECT gen_random_uuid(), f.org_id, f.id, m.id, sd.service_id, sd.id, sd.day, 450, 'confirmed', $3
			FROM families f JOIN members m ON m.family_id = f.id AND m.kind = 'child'
			JOIN services sv ON sv.org_id = f.org_id AND sv.code = 'cantine'
			JOIN service_days sd ON sd.service_id = sv.id AND sd.day = $2
			WHERE f.name = $1 ORDER BY m.birth_date LIMIT 1 RETURNING *)
			INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, reservation_id, label, occurred_at)
			SELECT org_id, family_id, 'charge', price_cents, 'charge:' || id, id, 'Réservation', $4 FROM r`, family, day, source, when)
	}
	s.exec(`INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, label, method, occurred_at)
		SELECT org_id, id, 'payment', -450, 'payment:' || id, 'Paiement en ligne PayFiP', 'payfip', $2 FROM families WHERE name = $1`, family, paid)
}

func (s *stack) waitRun(c *apiClient, id string) runView {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var r runView
		c.do(http.MethodGet, "/api/v1/admin/invoice-runs/"+id, nil, http.StatusOK, &r)
		if r.Status != "running" {
			return r
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("run %s still running: %+v", id, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMonthEndInvoicing drives month-end through the API, the worker and the
// Temporal dev server: finance starts last month's run (and asks again), follows
// it, families download their invoice, the e-mails leave once, the CSV export and
// the search attributes are there.
func TestMonthEndInvoicing(t *testing.T) {
	s := newStack(t)
	now := time.Now().In(parisZone)
	last := invoice.PreviousMonth(now, parisZone)
	p, err := invoice.ParsePeriod(last, parisZone)
	if err != nil {
		t.Fatal(err)
	}
	s.bookLastMonth("Martin", p.FirstDay)
	s.bookLastMonth("Bernard", p.FirstDay)

	finance := s.login("finance@demo.enfance.test", "demo-staff-2026")
	agent := s.login("agent@demo.enfance.test", "demo-staff-2026")
	agent.do(http.MethodPost, "/api/v1/admin/invoice-runs", map[string]string{"month": last}, http.StatusForbidden, nil)
	raw := finance.do(http.MethodPost, "/api/v1/admin/invoice-runs", map[string]string{"month": now.Format("2006-01")}, http.StatusUnprocessableEntity, nil)
	if !strings.Contains(string(raw), "n'est pas terminé") {
		t.Errorf("current month: %s", raw)
	}
	finance.do(http.MethodPost, "/api/v1/admin/invoice-runs", map[string]string{"month": "2026-13"}, http.StatusBadRequest, nil)

	var first, again runView
	finance.do(http.MethodPost, "/api/v1/admin/invoice-runs", map[string]string{"month": last}, http.StatusAccepted, &first)
	// Asked again: joined while running (202), or the same run done (200).
	if code := finance.status(http.MethodPost, "/api/v1/admin/invoice-runs", map[string]string{"month": last}, &again); code != http.StatusAccepted && code != http.StatusOK {
		t.Fatalf("asked again: status %d", code)
	}
	if first.ID == "" || again.ID != first.ID || first.Status != "running" {
		t.Fatalf("asked twice: %+v then %+v", first, again)
	}
	done := s.waitRun(finance, first.ID)
	want := runView{ID: first.ID, Month: last, Status: "completed", FamiliesTotal: 2, FamiliesDone: 2, InvoicesCount: 2,
		EmailedCount: 2, TotalCents: 2 * 900, PaidCents: 2 * 450, DueCents: 2 * 450}
	if done != want {
		t.Fatalf("run %+v\nwant %+v", done, want)
	}
	var after runView
	finance.do(http.MethodPost, "/api/v1/admin/invoice-runs", map[string]string{"month": last}, http.StatusOK, &after)
	if after.ID != first.ID || after.Status != "completed" {
		t.Errorf("asked after completion: %+v", after)
	}

	martin := s.login("martin@demo.enfance.test", "demo-martin-2026")
	bernard := s.login("bernard@demo.enfance.test", "demo-bernard-2026")
	var mine, theirs []invoiceView
	martin.do(http.MethodGet, "/api/v1/invoices", nil, http.StatusOK, &mine)
	bernard.do(http.MethodGet, "/api/v1/invoices", nil, http.StatusOK, &theirs)
	if len(mine) != 1 || len(theirs) != 1 || mine[0].Month != last || mine[0].TotalCents != 900 || mine[0].DueCents != 450 {
		t.Fatalf("invoices: %+v / %+v", mine, theirs)
	}
	year := now.Year()
	numbers := map[string]bool{mine[0].Number: true, theirs[0].Number: true}
	if !numbers[fmt.Sprintf("FAC-%d-000001", year)] || !numbers[fmt.Sprintf("FAC-%d-000002", year)] {
		t.Errorf("numbers %v", numbers)
	}
	pdf := martin.do(http.MethodGet, "/api/v1/invoices/"+mine[0].ID+".pdf", nil, http.StatusOK, nil)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("not a PDF: %.20q", pdf)
	}
	martin.do(http.MethodGet, "/api/v1/invoices/"+mine[0].ID, nil, http.StatusNotFound, nil)
	martin.do(http.MethodGet, "/api/v1/invoices/"+mine[0].ID+".txt", nil, http.StatusNotFound, nil)
	martin.do(http.MethodGet, "/api/v1/invoices/"+theirs[0].ID+".pdf", nil, http.StatusNotFound, nil)
	finance.do(http.MethodGet, "/api/v1/admin/invoices/"+theirs[0].ID+".pdf", nil, http.StatusOK, nil)

	for _, inv := range []invoiceView{mine[0], theirs[0]} {
		if _, err := os.Stat(filepath.Join(s.outbox, "invoice_"+inv.ID+".eml")); err != nil {
			t.Errorf("invoice %s not e-mailed: %v", inv.Number, err)
		}
	}
	if n := s.int(`SELECT count(*) FROM outbound_emails WHERE idempotency_key LIKE 'invoice:%' AND sent_at IS NOT NULL`); n != 2 {
		t.Errorf("%d invoice e-mails recorded", n)
	}

	export := finance.do(http.MethodGet, "/api/v1/admin/exports/"+last+".csv", nil, http.StatusOK, nil)
	if !bytes.HasPrefix(export, []byte("\xef\xbb\xbf")) {
		t.Fatal("the export has no byte-order mark")
	}
	r := csv.NewReader(bytes.NewReader(export[3:]))
	r.Comma = ';'
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1+2+2 || records[0][0] != "type" || records[1][0] != "facture" || records[3][0] != "paiement" {
		t.Fatalf("export:\n%s", export)
	}
	if records[1][8] != "9,00" || records[1][14] != "4,50" || records[3][15] != "4,50" || !strings.HasPrefix(records[3][16], "FAC-") {
		t.Errorf("export amounts:\n%s", export)
	}
	finance.do(http.MethodGet, "/api/v1/admin/exports/"+last+".xls", nil, http.StatusNotFound, nil)

	// Operators find the run in the Temporal UI by org, month and status.
	var orgID uuid.UUID
	if err := s.pool.QueryRow(context.Background(), `SELECT id FROM orgs WHERE slug = $1`, demo.OrgSlug).Scan(&orgID); err != nil {
		t.Fatal(err)
	}
	query := fmt.Sprintf("OrgId = '%s' AND Month = '%s' AND RunStatus = 'completed'", orgID, last)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Executions) > 0 && resp.Executions[0].Execution.WorkflowId == workflows.InvoiceRunWorkflowID(orgID, last) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no workflow for %s", query)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// seedInvoiceOrg makes an org of its own with n families, each with k
// reservations in the month (booked and paid online on the 1st), a tenth of them
// with a cancellation credit and a desk payment, written in bulk.
func seedInvoiceOrg(tb testing.TB, pool *pgxpool.Pool, n, k int, p invoice.Period) uuid.UUID {
	tb.Helper()
	ctx := context.Background()
	org, svc := uuid.New(), uuid.New()
	booked := p.Start.Add(10 * time.Hour)
	steps := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO orgs (id, slug, name, numcli, saisie, time_zone, address) VALUES ($1, $2, 'Ville de Charge', '123456', 'T', 'Europe/Paris', '1 place de la Mairie')`,
			[]any{org, "charge-" + org.String()[:8]}},
		{`INSERT INTO services (id, org_id, code, name, weekdays) VALUES ($1, $2, 'cantine', 'Restauration scolaire', '{1,2,3,4,5}')`, []any{svc, org}},
		{`INSERT INTO families (id, org_id, name, email, address, postal_code, city)
			SELECT gen_random_uuid(), $1, 'Famille ' || g, 'famille' || g || '@example.test', g || ' rue du Test', '75011', 'Paris'
			FROM generate_series(1, $2::int) g`, []any{org, n}},
		{`INSERT INTO members (id, org_id, family_id, kind, first_name, last_name)
			SELECT gen_random_uuid(), org_id, id, 'child', 'Léa', name FROM families WHERE org_id = $1`, []any{org}},
		{`INSERT INTO service_days (id, org_id, service_id, day)
			SELECT gen_random_uuid(), $1, $2, d::date FROM generate_series($3::date, $4::date, interval '1 day') d
			WHERE extract(isodow FROM d) < 6`, []any{org, svc, p.FirstDay, p.LastDay}},
		{`INSERT INTO reservations (id, org_id, family_id, child_id, service_id, service_day_id, day, price_cents, status, source)
			SELECT gen_random_uuid(), m.org_id, m.family_id, m.id, sd.service_id, sd.id, sd.day, 450, 'confirmed', 'online'
			FROM members m CROSS JOIN LATERAL (SELECT * FROM service_days WHERE service_id = $2 ORDER BY day LIMIT $3) sd
			WHERE m.org_id = $1`, []any{org, svc, k}},
		{`INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, reservation_id, label, occurred_at)
			SELECT org_id, family_id, 'charge', price_cents, 'charge:' || id, id, 'Réservation', $2 FROM reservations WHERE org_id = $1`, []any{org, booked}},
		{`INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, label, method, occurred_at)
			SELECT org_id, family_id, 'payment', -sum(price_cents), 'payment:' || family_id, 'Paiement en ligne PayFiP', 'payfip', $2
			FROM reservations WHERE org_id = $1 GROUP BY org_id, family_id`, []any{org, booked}},
		{`INSERT INTO ledger_entries (org_id, family_id, kind, credit_cents, idempotency_key, label, occurred_at)
			SELECT org_id, id, 'cancellation_credit', 450, 'credit:' || id, 'Annulation', $2 FROM families
			WHERE org_id = $1 AND hashtext(id::text) % 10 = 0`, []any{org, booked.Add(48 * time.Hour)}},
		{`INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, label, method, occurred_at)
			SELECT org_id, id, 'desk_payment', -500, 'desk:' || id, 'Paiement au guichet', 'especes', $2 FROM families
			WHERE org_id = $1 AND hashtext(id::text) % 10 = 1`, []any{org, booked.Add(72 * time.Hour)}},
		{`ANALYZE`, nil},
	}
	for _, st := range steps {
		if _, err := pool.Exec(ctx, st.sql, st.args...); err != nil {
			tb.Fatalf("seed: %s: %v", st.sql, err)
		}
	}
	return org
}

// workerEnv is the worker alone (no API) on a fresh database and the shared
// Temporal dev server, for runs started through the client as the CLI does.
type workerEnv struct {
	pool      *pgxpool.Pool
	temporal  client.Client
	taskQueue string
}

func newWorkerEnv(tb testing.TB) *workerEnv {
	tb.Helper()
	log := zap.NewNop()
	pool, _ := testenv.Database(tb)
	dev := testenv.Temporal(tb)
	tc, err := client.Dial(client.Options{HostPort: dev.FrontendHostPort(), Namespace: "default", Logger: logging.Temporal(log)})
	if err != nil {
		tb.Fatalf("dial temporal: %v", err)
	}
	tb.Cleanup(tc.Close)
	queue := "e2e-invoices-" + uuid.NewString()
	acts := &activities.Activities{Pool: pool, Log: log, Mail: &mail.Outbox{Dir: tb.TempDir(), From: "Portail <no-reply@enfance.test>"}}
	w := worker.New(tc, queue, acts)
	if err := w.Start(); err != nil {
		tb.Fatalf("start worker: %v", err)
	}
	tb.Cleanup(w.Stop)
	return &workerEnv{pool: pool, temporal: tc, taskQueue: queue}
}

// status sends body as JSON and decodes the answer into out, whatever its status.
func (c *apiClient) status(method, path string, body any, out any) int {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode
}

type runFigures struct {
	wall        time.Duration
	cpuSelf     time.Duration // API + worker (this process)
	cpuPG       time.Duration // the PostgreSQL cluster (child processes)
	cpuTemporal time.Duration // the Temporal dev server (a child process)
	peakRSSMB   float64       // this process, since it started
	dbMB        float64
	maxEvents   int64 // the longest history of the run's executions
	progress    workflows.InvoiceRunProgress
}

// runAtScale invoices n families of an org of their own through the real worker
// and Temporal, and checks what it must: every family once, numbers without gap,
// the run's totals equal to the invoices'.
func runAtScale(tb testing.TB, s *workerEnv, n int, tuning workflows.InvoiceRunTuning) runFigures {
	tb.Helper()
	ctx := context.Background()
	last := invoice.PreviousMonth(time.Now(), parisZone)
	p, _ := invoice.ParsePeriod(last, parisZone)
	org := seedInvoiceOrg(tb, s.pool, n, 8, p)

	selfBefore, childBefore := cpuSelf(), cpuOfChildren()
	start := time.Now()
	run, err := workflows.StartInvoiceRun(ctx, s.temporal, s.taskQueue, workflows.InvoiceRunInput{OrgID: org, Month: last, Tuning: tuning})
	if err != nil || run == nil {
		tb.Fatalf("start: %v", err)
	}
	var f runFigures
	if err := run.Get(ctx, &f.progress); err != nil {
		tb.Fatalf("run: %v", err)
	}
	f.wall = time.Since(start)
	f.cpuSelf = cpuSelf() - selfBefore
	childAfter := cpuOfChildren()
	f.cpuPG = childAfter["postgres"] - childBefore["postgres"]
	f.cpuTemporal = childAfter["temporal"] - childBefore["temporal"]
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	f.peakRSSMB = float64(ru.Maxrss) / 1024
	var size int64
	if err := s.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size); err != nil {
		tb.Fatal(err)
	}
	f.dbMB = float64(size) / (1 << 20)

	f.maxEvents = maxHistory(tb, s.temporal, workflows.InvoiceRunWorkflowID(org, last), f.progress.Generation+1)

	pr := f.progress
	var invoices, charges, paid, due, maxNumber, numbers int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*), sum(total_cents), sum(paid_cents), sum(due_cents),
		max(substr(number, 10)::bigint), count(DISTINCT number) FROM invoices WHERE org_id = $1`, org).
		Scan(&invoices, &charges, &paid, &due, &maxNumber, &numbers); err != nil {
		tb.Fatal(err)
	}
	if pr.Status != "completed" || pr.FamiliesDone != n || pr.FamiliesTotal != n || invoices != int64(n) || pr.Invoices != n ||
		pr.Emailed != n || maxNumber != invoices || numbers != invoices ||
		pr.ChargesCents != charges || pr.PaidCents != paid || pr.DueCents != due || charges != int64(n*8*450) {
		tb.Fatalf("run %+v; invoices %d, numbers up to %d (%d distinct), charges %d paid %d due %d", pr, invoices, maxNumber, numbers, charges, paid, due)
	}
	var status string
	var done int32
	if err := s.pool.QueryRow(ctx, `SELECT status, families_done FROM invoice_runs WHERE org_id = $1 AND month = $2`, org, last).Scan(&status, &done); err != nil {
		tb.Fatal(err)
	}
	if status != "completed" || done != int32(n) {
		tb.Fatalf("row %s, %d done", status, done)
	}
	return f
}

// maxHistory is the longest history among the executions of a workflow ID (each
// continue-as-new starts a new one), once visibility lists all of them.
func maxHistory(tb testing.TB, c client.Client, id string, executions int) int64 {
	tb.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + id + "'"})
		if err != nil {
			tb.Fatal(err)
		}
		if len(resp.Executions) >= executions {
			var longest int64
			for _, e := range resp.Executions {
				d, err := c.DescribeWorkflowExecution(ctx, id, e.Execution.RunId)
				if err != nil {
					tb.Fatal(err)
				}
				longest = max(longest, d.WorkflowExecutionInfo.HistoryLength)
			}
			return longest
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d executions of %s listed, want %d", len(resp.Executions), id, executions)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOfChildren adds up the CPU time of this process's descendants (the tests'
// PostgreSQL cluster and Temporal dev server), read from /proc, by program.
func cpuOfChildren() map[string]time.Duration {
	parent := map[int]int{}
	ticks := map[int]int64{}
	comm := map[int]string{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		j := strings.IndexByte(s, '(')
		if i < 0 || j < 0 {
			continue
		}
		fields := strings.Fields(s[i+2:])
		if len(fields) < 13 {
			continue
		}
		var pid, ppid int
		var ut, st int64
		fmt.Sscan(filepath.Base(d), &pid)
		fmt.Sscan(fields[1], &ppid)
		fmt.Sscan(fields[11], &ut)
		fmt.Sscan(fields[12], &st)
		parent[pid], ticks[pid], comm[pid] = ppid, ut+st, s[j+1:i]
	}
	self := os.Getpid()
	total := map[string]time.Duration{}
	for pid, t := range ticks {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == self {
				name := "temporal"
				if comm[pid] == "postgres" {
					name = "postgres"
				}
				total[name] += time.Duration(t) * 10 * time.Millisecond // USER_HZ = 100
				break
			}
		}
	}
	return total
}

// TestInvoiceRunAtScale: 300 families through the real server with small pages:
// six full pages, two per execution, then a fourth execution finds no more.
func TestInvoiceRunAtScale(t *testing.T) {
	s := newWorkerEnv(t)
	f := runAtScale(t, s, 300, workflows.InvoiceRunTuning{PageSize: 50, BatchSize: 10, Concurrency: 4, PagesPerRun: 2})
	if f.progress.Generation != 3 || f.progress.Pages != 6 {
		t.Errorf("generation %d, %d pages; want 3 continue-as-new and 6 pages", f.progress.Generation, f.progress.Pages)
	}
	// Each execution's history stays small: two pages of five batches.
	if f.maxEvents > 500 {
		t.Errorf("an execution has %d history events", f.maxEvents)
	}
	t.Logf("300 families in %s, at most %d events per execution", f.wall.Round(time.Millisecond), f.maxEvents)
}

// BenchmarkInvoiceRun invoices INVOICE_BENCH_FAMILIES families (10,000 by default)
// with the default tuning; not part of make test:
//
//	go test ./e2e -run '^$' -bench InvoiceRun -benchtime 1x -timeout 30m
func BenchmarkInvoiceRun(b *testing.B) {
	n := 10000
	if v := os.Getenv("INVOICE_BENCH_FAMILIES"); v != "" {
		fmt.Sscan(v, &n)
	}
	s := newWorkerEnv(b)
	for b.Loop() {
		f := runAtScale(b, s, n, workflows.InvoiceRunTuning{})
		b.ReportMetric(f.wall.Seconds(), "s/run")
		b.ReportMetric(float64(n)/f.wall.Seconds(), "families/s")
		b.ReportMetric(f.cpuSelf.Seconds(), "cpu-s-worker")
		b.ReportMetric(f.cpuPG.Seconds(), "cpu-s-postgres")
		b.ReportMetric(f.cpuTemporal.Seconds(), "cpu-s-temporal")
		b.ReportMetric(f.peakRSSMB, "peak-rss-MB")
		b.ReportMetric(f.dbMB, "db-MB")
		b.ReportMetric(float64(f.maxEvents), "max-history-events")
		b.Logf("%d families: %s wall, CPU %s worker, %s PostgreSQL, %s Temporal, peak RSS %.0f MB, database %.0f MB, %d executions of at most %d history events",
			n, f.wall.Round(time.Millisecond), f.cpuSelf.Round(time.Millisecond), f.cpuPG.Round(time.Millisecond), f.cpuTemporal.Round(time.Millisecond),
			f.peakRSSMB, f.dbMB, f.progress.Generation+1, f.maxEvents)
	}
}

// TestInvoiceScheduleTriggersLastMonthsRun creates an org's Schedule paused, as
// `enfance invoices schedule --paused` does, checks what operators see, and
// triggers it: the run of the month just finished starts under its one ID.
func TestInvoiceScheduleTriggersLastMonthsRun(t *testing.T) {
	s := newWorkerEnv(t)
	ctx := context.Background()
	last := invoice.PreviousMonth(time.Now(), parisZone)
	p, _ := invoice.ParsePeriod(last, parisZone)
	org := seedInvoiceOrg(t, s.pool, 5, 2, p)
	h, err := workflows.CreateInvoiceSchedule(ctx, s.temporal, s.taskQueue, org, "Europe/Paris", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	desc, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cal := desc.Schedule.Spec.Calendars
	if !desc.Schedule.State.Paused || desc.Schedule.Spec.TimeZoneName != "Europe/Paris" || len(cal) != 1 ||
		cal[0].DayOfMonth[0].Start != 1 || cal[0].Hour[0].Start != 6 || len(cal[0].Minute) != 1 || cal[0].Minute[0].Start != 0 {
		t.Fatalf("schedule: paused %v, spec %+v", desc.Schedule.State.Paused, desc.Schedule.Spec)
	}
	if _, err := workflows.CreateInvoiceSchedule(ctx, s.temporal, s.taskQueue, org, "Europe/Paris", true); err == nil {
		t.Error("a second schedule for the same org was created")
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	id := workflows.InvoiceRunWorkflowID(org, last)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := s.temporal.DescribeWorkflowExecution(ctx, id, ""); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the schedule did not start %s", id)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var out workflows.InvoiceRunProgress
	if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "completed" || out.Invoices != 5 {
		t.Errorf("scheduled run: %+v", out)
	}
}
