package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/workflows"
)

// timers counts the timers the workflow starts, by duration.
func (h *harness) timers() func() []time.Duration {
	var mu sync.Mutex
	var started []time.Duration
	h.env.SetOnTimerScheduledListener(func(_ string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		started = append(started, d)
	})
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), started...)
	}
}

// The reminder goes once, CART_REMINDER_BEFORE ahead of the expiry, and costs
// one timer more than a cart without it: the wait until expiry is cut in two.
func TestReminderOnceBeforeTheCartExpires(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.in.RemindBefore = 6 * time.Hour
		timers := h.timers()
		if got := h.run(); got != "expired" {
			t.Fatalf("result %q", got)
		}
		h.wantSequence("SendCartReminder(open)@42h0m0s ExpireCart@48h0m0s")
		if got := timers(); len(got) != 2 || got[0] != 42*time.Hour || got[1] != 6*time.Hour {
			t.Errorf("timers %v, want 42h then 6h", got)
		}
	})
}

// A cart paid before its reminder time: one timer, as without the reminder, and
// no e-mail.
func TestNoReminderForACartPaidBefore(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.in.RemindBefore = 6 * time.Hour
		h.dues = []int64{0} // the cagnotte covers it: no PayFiP timers
		timers := h.timers()
		h.checkout(time.Hour, okRequest)
		if got := h.run(); got != "paid" {
			t.Fatalf("result %q", got)
		}
		h.wantSequence("PrepareCheckout(1)@1h0m0s ConfirmCart(1)@1h0m0s SendReceipt(1)@1h0m0s")
		if got := timers(); len(got) != 1 || got[0] != 42*time.Hour {
			t.Errorf("timers %v, want the one until the reminder's time", got)
		}
	})
}

// A cart younger than CART_REMINDER_BEFORE, or with the reminder off, keeps its
// single expiry timer and gets no e-mail.
func TestNoReminderForAYoungCartOrWhenOff(t *testing.T) {
	for _, before := range []time.Duration{48 * time.Hour, 72 * time.Hour, 0} {
		t.Run(before.String(), func(t *testing.T) {
			flows(t, func(t *testing.T, h *harness) {
				h.in.RemindBefore = before
				timers := h.timers()
				if got := h.run(); got != "expired" {
					t.Fatalf("result %q", got)
				}
				h.wantSequence("ExpireCart@48h0m0s")
				if got := timers(); len(got) != 1 || got[0] != ttl {
					t.Errorf("timers %v, want the expiry alone", got)
				}
			})
		})
	}
}

// While a payment is in progress at the reminder's time, no reminder: the family
// is paying.
func TestNoReminderWhileTheCartIsBeingPaid(t *testing.T) {
	flows(t, func(t *testing.T, h *harness) {
		h.in.RemindBefore = 6 * time.Hour
		h.check = func(n int, _ int32, _ time.Duration) (payfip.Outcome, error) {
			if n < 2 {
				return payfip.Outcome{Status: payfip.StatusPending}, nil
			}
			return payfip.Outcome{Status: payfip.StatusPaid}, nil
		}
		h.checkout(41*time.Hour+50*time.Minute, okRequest)
		h.notify(42*time.Hour+5*time.Minute, 1)
		if got := h.run(); got != "paid" {
			t.Fatalf("result %q", got)
		}
		if n := h.count("SendCartReminder"); n != 0 {
			t.Errorf("%d reminders sent during a payment: %s", n, h.sequence())
		}
	})
}

// Carts started by the workflow before the reminder, by an API that already asks
// for one (testdata/before_reminder, see its README), still replay: the new timer
// is behind workflow.GetVersion.
func TestReplayCartsStartedBeforeTheReminder(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "before_reminder", "*.json"))
	if err != nil || len(files) != 2 {
		t.Fatalf("histories: %v %v", files, err)
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
			// The history asks for a reminder the new code would send.
			started := hist.Events[0]
			var in workflows.CartInput
			if err := converter.GetDefaultDataConverter().FromPayloads(started.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
				t.Fatal(err)
			}
			if _, ok := booking.ReminderAfter(started.GetEventTime().AsTime(), in.ExpiresAt, in.RemindBefore); !ok {
				t.Fatalf("input %+v asks for no reminder: the history proves nothing", in)
			}
			rp := sdkworker.NewWorkflowReplayer()
			rp.RegisterWorkflowWithOptions(workflows.Cart, workflow.RegisterOptions{Name: workflows.CartWorkflow})
			if err := rp.ReplayWorkflowHistory(log.NewStructuredLogger(slog.New(slog.DiscardHandler)), hist); err != nil {
				t.Fatalf("%s no longer replays: %v", f, err)
			}
		})
	}
}
