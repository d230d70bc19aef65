// Package worker wires the Temporal worker: one task queue, the workflows and the
// activities registered on it, and the e-mail queue the activities fill.
package worker

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/workflows"
)

// Worker is a Temporal worker that also sends the e-mail queue while it runs.
type Worker struct {
	sdkworker.Worker
	acts   *activities.Activities
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// New returns a worker for taskQueue with every workflow and activity of the engine.
func New(c client.Client, taskQueue string, acts *activities.Activities) *Worker {
	if p := faultPause(); p != nil {
		acts.Pause = p
	}
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		Interceptors: faultInterceptors(),
		// Two pollers each (the default) leave tasks waiting in the server during a
		// booking rush; eight measured faster checkouts (docs/performance.md).
		MaxConcurrentWorkflowTaskPollers: 8,
		MaxConcurrentActivityTaskPollers: 8,
	})
	Register(w, acts)
	return &Worker{Worker: w, acts: acts}
}

// Start starts polling the task queue and sending the e-mail queue.
func (w *Worker) Start() error {
	if err := w.Worker.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		sendMailQueue(ctx, w.acts, mailQueueEvery)
	}()
	return nil
}

// Stop stops both, letting the e-mails being sent finish.
func (w *Worker) Stop() {
	if w.cancel != nil {
		w.cancel()
		w.done.Wait()
	}
	w.Worker.Stop()
}

// mailQueueEvery is how often a worker looks for queued e-mails due: a receipt
// leaves at most this long after its confirmation.
const mailQueueEvery = time.Second

// sendMailQueue sends the queued e-mails due, every tick, until ctx ends.
func sendMailQueue(ctx context.Context, acts *activities.Activities, every time.Duration) {
	const batch = 32
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			n, err := activities.SendQueuedEmails(context.WithoutCancel(ctx), acts, batch)
			if err != nil && ctx.Err() == nil {
				acts.Log.Warn("e-mail queue", zap.Error(err))
			}
			if err != nil || n < batch || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Register puts the engine's workflows and activities on a registry (a worker, a
// replayer or a test environment).
func Register(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
	RegisterActivity(any)
}, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.Cart, workflow.RegisterOptions{Name: workflows.CartWorkflow})
	r.RegisterWorkflowWithOptions(workflows.BalancePayment, workflow.RegisterOptions{Name: workflows.BalancePaymentWorkflow})
	r.RegisterWorkflowWithOptions(workflows.InvoiceRun, workflow.RegisterOptions{Name: workflows.InvoiceRunWorkflow})
	r.RegisterWorkflowWithOptions(workflows.InvoiceRunScheduled, workflow.RegisterOptions{Name: workflows.InvoiceRunScheduledWorkflow})
	r.RegisterWorkflowWithOptions(workflows.Reconcile, workflow.RegisterOptions{Name: workflows.ReconcileWorkflow})
	r.RegisterWorkflowWithOptions(workflows.Waitlist, workflow.RegisterOptions{Name: workflows.WaitlistWorkflow})
	r.RegisterActivity(acts)
}
