package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/workflows"
)

// TestReplayRecordedHistories is the determinism check: the current workflow code
// must replay every history recorded from real runs: testdata/local, written by
// `go test ./workflows -run TestLifecycle -record` (FlowLocal), and testdata/*.json,
// the same paths recorded from the code before issue 16 (FlowActivities), which
// the carts started then still run. A failure means carts running in production
// would break on deploy; guard the change with workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := filepath.Glob(filepath.Join("testdata", "local", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range local {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	for _, want := range lifecyclePaths {
		if !slices.Contains(names, want) {
			t.Errorf("testdata/local/%s.json is missing: run go test ./workflows -run TestLifecycle -record", want)
		}
	}
	if len(files) < len(lifecyclePaths)-1 {
		t.Errorf("%d histories of carts started before issue 16 in testdata: they must stay until no such cart can run", len(files))
	}
	files = append(files, local...)
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

// A history's flow is what its input says: the histories of testdata/local run
// FlowLocal, those recorded before issue 16 run FlowActivities — or the replay
// above would prove nothing of the flow they stand for.
func TestRecordedHistoriesRunTheirFlow(t *testing.T) {
	for dir, want := range map[string]int{"testdata": workflows.FlowActivities, filepath.Join("testdata", "local"): workflows.FlowLocal} {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v %v", dir, files, err)
		}
		for _, f := range files {
			r, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			hist, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			started := hist.Events[0].GetWorkflowExecutionStartedEventAttributes()
			if started.GetWorkflowType().GetName() != workflows.CartWorkflow {
				continue
			}
			var in workflows.CartInput
			if err := converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &in); err != nil {
				t.Fatal(err)
			}
			activities, markers := 0, 0 // activity tasks, local activities
			for _, e := range hist.Events {
				switch e.GetEventType() {
				case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
					// The reminder e-mail is an activity in both flows (off the way of a payment).
					if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() != "SendCartReminder" {
						activities++
					}
				case enumspb.EVENT_TYPE_MARKER_RECORDED:
					if e.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
						markers++
					}
				}
			}
			if in.Flow != want || (want == workflows.FlowLocal && activities > 0) || (want == workflows.FlowActivities && markers > 0) {
				t.Errorf("%s: flow %d with %d activity tasks and %d markers, want flow %d", f, in.Flow, activities, markers, want)
			}
		}
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
