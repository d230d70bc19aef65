package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/workflows"
)

// HistoryStats is what Temporal recorded for each paid cart of the run, read
// back from its history once the workflow has ended.
type HistoryStats struct {
	Carts         int  `json:"carts"`
	Events        Stat `json:"events"`
	WorkflowTasks Stat `json:"workflow_tasks"`
	ActivityTasks Stat `json:"activity_tasks"`
	// Markers are local activities (and version markers): no task of their own.
	Markers Stat `json:"markers"`
	Timers  Stat `json:"timers"`
	Upserts Stat `json:"search_attribute_upserts"`
	// Unread: carts whose workflow had not ended 30 s after the rush, or whose
	// history could not be read.
	Unread int `json:"unread"`
}

// Stat is a mean and a maximum over the paid carts.
type Stat struct {
	Mean float64 `json:"mean"`
	Max  int     `json:"max"`
}

type historyCount struct{ events, tasks, activities, markers, timers, upserts int }

// readHistories waits for each cart's workflow to end and counts its history.
func readHistories(ctx context.Context, hostPort, namespace string, carts []uuid.UUID) (*HistoryStats, error) {
	if namespace == "" {
		namespace = "default"
	}
	tc, err := client.Dial(client.Options{HostPort: hostPort, Namespace: namespace, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return nil, err
	}
	defer tc.Close()
	var mu sync.Mutex
	var counts []historyCount
	unread := 0
	jobs := make(chan uuid.UUID)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				c, err := countHistory(ctx, tc, workflows.CartWorkflowID(id))
				mu.Lock()
				if err != nil {
					unread++
				} else {
					counts = append(counts, c)
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range carts {
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	h := &HistoryStats{Carts: len(counts), Unread: unread}
	stat := func(f func(historyCount) int) Stat {
		var s Stat
		for _, c := range counts {
			s.Mean += float64(f(c))
			s.Max = max(s.Max, f(c))
		}
		if len(counts) > 0 {
			s.Mean /= float64(len(counts))
		}
		return s
	}
	h.Events = stat(func(c historyCount) int { return c.events })
	h.WorkflowTasks = stat(func(c historyCount) int { return c.tasks })
	h.ActivityTasks = stat(func(c historyCount) int { return c.activities })
	h.Markers = stat(func(c historyCount) int { return c.markers })
	h.Timers = stat(func(c historyCount) int { return c.timers })
	h.Upserts = stat(func(c historyCount) int { return c.upserts })
	return h, nil
}

func countHistory(ctx context.Context, tc client.Client, workflowID string) (historyCount, error) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := tc.GetWorkflow(wctx, workflowID, "").Get(wctx, nil); err != nil {
		return historyCount{}, err
	}
	var c historyCount
	it := tc.GetWorkflowHistory(wctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return historyCount{}, err
		}
		c.events++
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			c.tasks++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			c.activities++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			c.markers++
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			c.timers++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			c.upserts++
		}
	}
	return c, nil
}

// waitForReceipts waits up to wait for every paid cart's receipt to leave and
// returns how many had not.
func waitForReceipts(ctx context.Context, pool *pgxpool.Pool, fx *fixture, wait time.Duration) (int, error) {
	q := db.New(pool)
	deadline := time.Now().Add(wait)
	for {
		n, err := q.CountPaidCartsWithoutReceipt(ctx, fx.orgID)
		if err != nil {
			return 0, fmt.Errorf("receipts: %w", err)
		}
		if n == 0 || time.Now().After(deadline) {
			return int(n), nil
		}
		select {
		case <-ctx.Done():
			return int(n), ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Target is one figure the opening-day rush aims at (docs/performance.md), with
// what was measured.
type Target struct {
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"`
	Met    bool    `json:"met"`
}

// Targets checks the run against the opening-day targets (docs/performance.md);
// Rush sets them, and they are computed again once the limit is known.
func Targets(r *Report) []Target {
	var out []Target
	atMost := func(figure string, v float64, unit string, limit float64) {
		out = append(out, Target{Figure: figure, Value: v, Unit: unit, Target: fmt.Sprintf("≤ %g", limit), Met: v <= limit})
	}
	atLeast := func(figure string, v float64, unit string, limit float64) {
		out = append(out, Target{Figure: figure, Value: v, Unit: unit, Target: fmt.Sprintf("≥ %g", limit), Met: v >= limit})
	}
	co := r.Calls["checkout"]
	atMost("checkout p50", co.P50, "ms", 300)
	atMost("checkout p99", co.P99, "ms", 1000)
	atMost("checkout → paid p99", r.Calls["checkout_to_paid"].P99, "ms", 2000)
	atLeast("confirmed carts per second", r.CartsPerSecond, "carts/s", 30)
	if r.Limit != nil {
		atLeast("engine ÷ bare-PostgreSQL limit", r.EngineVsLimit, "", 0.30)
	}
	if h := r.History; h != nil {
		atMost("history events per paid cart (max)", float64(h.Events.Max), "events", 20)
		atMost("workflow tasks per paid cart (max)", float64(h.WorkflowTasks.Max), "tasks", 4)
	}
	temporalMs := 0.0
	for group, u := range r.Processes { // the Temporal dev server, or the real server's processes
		if group == "temporal" || group == "temporal server" {
			temporalMs += u.CPUMsPerPaidCart
		}
	}
	atMost("Temporal CPU per paid cart", temporalMs, "ms", 30)
	atMost("overbooked days, count mismatches, stuck carts, ledger violations, receipts unsent",
		float64(r.OverbookedDays+r.CountMismatches+r.StuckCarts+r.LedgerViolations+r.ReceiptsUnsent), "", 0)
	return out
}

// profile starts a CPU profile of each process of o.Profiles and returns a
// function that waits for them and writes them.
func profile(ctx context.Context, o Options) func() error {
	errs := make(chan error, len(o.Profiles))
	for i, base := range o.Profiles {
		go func() {
			errs <- fetchProfile(ctx, strings.TrimRight(base, "/")+fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(o.ProfileSeconds, 1)),
				fmt.Sprintf("%s-%d.pprof", o.ProfilePrefix, i+1))
		}()
	}
	return func() error {
		var first error
		for range o.Profiles {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}

func fetchProfile(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: status %d", url, resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("profile %s: %w", url, err)
	}
	return os.WriteFile(file, b, 0o644)
}
