package e2e_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/worker"
	"github.com/enfance/enfance/workflows"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// enfanceBinary builds the real binary once per test run.
func enfanceBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "enfance-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "enfance")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/enfance/enfance/cmd/enfance").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build enfance: %v", buildErr)
	}
	return binary
}

// workerProcess is `enfance worker` running as its own process against the stack.
type workerProcess struct {
	cmd    *exec.Cmd
	paused chan struct{}
	exited chan struct{}
}

func (s *stack) startWorker(t *testing.T, pauseBefore string) *workerProcess {
	t.Helper()
	// The process runs in production, where only real payments count: the demo
	// org is made a production one (saisie W; the simulator answers in kind).
	if _, err := s.pool.Exec(context.Background(), `UPDATE orgs SET saisie = 'W'`); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(enfanceBinary(t), "worker")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+s.dsn, "TEMPORAL_ADDRESS="+s.temporalAddr, "TEMPORAL_TASK_QUEUE="+s.cfg.TemporalTaskQueue,
		"PAYFIP_ENDPOINT="+s.cfg.PayFiPEndpoint, "PAYFIP_PAYMENT_URL="+s.cfg.PayFiPPaymentURL,
		"PUBLIC_URL="+s.api, "MAIL_OUTBOX_DIR="+s.outbox, "SMTP_URL=", "ENFANCE_ENV=production", "LOG_LEVEL=warn",
		worker.PauseBeforeEnv+"="+pauseBefore,
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProcess{cmd: cmd, paused: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "enfance-fault: paused before") {
				once.Do(func() { close(w.paused) })
			}
		}
		_ = cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() { w.kill() })
	return w
}

func (w *workerProcess) kill() {
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.exited
}

// A worker dies (SIGKILL) at the worst moments of a payment: after PayFiP said
// paid and before the confirmation (inside the cart's local activity SettleCart),
// and between the confirmation and the receipt (in the e-mail queue, the receipt
// held by the dying worker). A new worker finishes the job: one payment, one
// confirmation, one receipt e-mail (once the dead worker's hold on it is over),
// a balanced ledger.
func TestWorkerKilledMidPaymentLosesNothingAndDoesNothingTwice(t *testing.T) {
	for _, killBefore := range []string{"ConfirmCart", "SendReceipt"} {
		t.Run("before "+killBefore, func(t *testing.T) {
			s := newStack(t)
			s.worker.Stop() // the work is done by worker processes only
			first := s.startWorker(t, killBefore)

			fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
			child, cantine := martinChildAndCantine(t, fam)
			days := availableDays(fam, child, cantine, 2)
			items := []map[string]string{}
			for _, d := range days {
				items = append(items, map[string]string{"child_id": child, "service_id": cantine, "date": d.Date})
			}
			fam.do(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": items}, http.StatusCreated, nil)
			var co checkoutAnswer
			fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
			idOp := co.PaymentURL[strings.Index(co.PaymentURL, "idop=")+5:]
			resp := postForm(t, strings.Split(co.PaymentURL, "?")[0], url.Values{"idop": {idOp}, "resultrans": {"P"}})
			resp.Body.Close()

			select {
			case <-first.paused:
			case <-time.After(90 * time.Second):
				t.Fatalf("the worker never reached %s", killBefore)
			}
			first.kill()
			s.startWorker(t, "")

			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			var final string
			if err := s.temporal.GetWorkflow(ctx, workflows.CartWorkflowID(uuid.MustParse(co.CartID)), "").Get(ctx, &final); err != nil || final != "paid" {
				t.Fatalf("cart workflow: %q, %v", final, err)
			}

			// The receipt leaves from the e-mail queue after the workflow has ended.
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
				var sent int
				if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM outbound_emails WHERE idempotency_key LIKE 'receipt:%' AND sent_at IS NOT NULL`).Scan(&sent); err != nil {
					t.Fatal(err)
				}
				if sent > 0 || time.Now().After(deadline) {
					break
				}
			}
			var attempts, paid, reservations, charges, payments, sentMails int
			err := s.pool.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM payment_attempts WHERE cart_id = $1),
				(SELECT count(*) FROM payment_attempts WHERE cart_id = $1 AND status = 'paid'),
				(SELECT count(*) FROM reservations r JOIN cart_lines l ON l.id = r.cart_line_id WHERE l.cart_id = $1 AND r.status = 'confirmed'),
				(SELECT count(*) FROM ledger_entries WHERE cart_id = $1 AND kind = 'charge'),
				(SELECT count(*) FROM ledger_entries WHERE cart_id = $1 AND kind = 'payment'),
				(SELECT count(*) FROM outbound_emails WHERE idempotency_key LIKE 'receipt:%' AND sent_at IS NOT NULL)`,
				co.CartID).Scan(&attempts, &paid, &reservations, &charges, &payments, &sentMails)
			if err != nil {
				t.Fatal(err)
			}
			if attempts != 1 || paid != 1 || reservations != 2 || charges != 2 || payments != 1 || sentMails != 1 {
				t.Fatalf("attempts %d (paid %d), reservations %d, charges %d, payments %d, receipts sent %d; want 1 1 2 2 1 1",
					attempts, paid, reservations, charges, payments, sentMails)
			}
			files, _ := filepath.Glob(filepath.Join(s.outbox, "*.eml"))
			if len(files) != 1 {
				t.Fatalf("outbox holds %d e-mails, want one receipt", len(files))
			}
			org, err := db.New(s.pool).GetOrgBySlug(ctx, "demo")
			if err != nil {
				t.Fatal(err)
			}
			if n, err := db.New(s.pool).CountLedgerViolations(ctx, org.ID); err != nil || n != 0 {
				t.Fatalf("ledger violations: %d, %v", n, err)
			}
		})
	}
}

func martinChildAndCantine(t *testing.T, fam *apiClient) (child, cantine string) {
	t.Helper()
	var members []member
	fam.do(http.MethodGet, "/api/v1/family/members", nil, http.StatusOK, &members)
	for _, m := range members {
		if m.Kind == "child" && child == "" {
			child = m.ID
		}
	}
	var services []service
	fam.do(http.MethodGet, "/api/v1/services", nil, http.StatusOK, &services)
	for _, sv := range services {
		if sv.Code == "cantine" {
			cantine = sv.ID
		}
	}
	if child == "" || cantine == "" {
		t.Fatal("demo family without child or cantine")
	}
	return child, cantine
}
