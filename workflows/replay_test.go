package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/workflows"
)

// TestReplayRecordedHistories is the determinism check: the current workflow code
// must replay every history recorded from real runs (testdata, written by
// `go test ./workflows -run TestLifecycle -record`). A failure means carts running
// in production would break on deploy; guard the change with workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	for _, want := range lifecyclePaths {
		if !slices.Contains(names, want) {
			t.Errorf("testdata/%s.json is missing: run go test ./workflows -run TestLifecycle -record", want)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			hist, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := replay(hist); err != nil {
				t.Fatalf("%s no longer replays: %v", f, err)
			}
		})
	}
}

// The checker is not a formality: a workflow that now starts with an extra timer
// (an unguarded change) does not replay a recorded cart.
func TestReplayCatchesAnUnguardedChange(t *testing.T) {
	changed := func(ctx workflow.Context, in workflows.CartInput) (string, error) {
		if err := workflow.Sleep(ctx, time.Minute); err != nil {
			return "", err
		}
		return workflows.Cart(ctx, in)
	}
	r, err := os.Open(filepath.Join("testdata", "paid_on_notification.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	hist, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rp := sdkworker.NewWorkflowReplayer()
	rp.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: workflows.CartWorkflow})
	if err := rp.ReplayWorkflowHistory(log.NewStructuredLogger(slog.New(slog.DiscardHandler)), hist); err == nil {
		t.Fatal("an incompatible change replayed without error")
	}
}
