// Package worker wires the Temporal worker: one task queue, the workflows and the
// activities registered on it.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/workflows"
)

// New returns a worker for taskQueue with every workflow and activity of the engine.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		Interceptors: faultInterceptors(),
		// Two pollers each (the default) leave tasks waiting in the server during a
		// booking rush; eight measured faster checkouts (docs/performance.md).
		MaxConcurrentWorkflowTaskPollers: 8,
		MaxConcurrentActivityTaskPollers: 8,
	})
	Register(w, acts)
	return w
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
