package workflows

import (
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// CartStartOptions is how every cart's workflow starts, whoever starts it: the
// API when the cart opens (and, should it be missing, at checkout), the PayFiP
// reconciliation for an overdue cart, a waiting list for the cart of its offer.
// The input runs FlowLocal; the search attributes are the cart's from its first
// instant (the workflow does not write them again).
type CartStartOptions struct {
	Input CartInput
	// Summary is what the Temporal UI shows of the workflow ("Panier <id>" by default).
	Summary string
}

// NewCartStart starts the workflow of the cart whose row says this, with its
// reminder remindBefore its expiry (CART_REMINDER_BEFORE; zero: none).
func NewCartStart(cartID, orgID, familyID uuid.UUID, expiresAt time.Time, remindBefore time.Duration) CartStartOptions {
	return CartStartOptions{Input: CartInput{
		CartID: cartID, OrgID: orgID, FamilyID: familyID, ExpiresAt: expiresAt, RemindBefore: remindBefore, Flow: FlowLocal,
	}}
}

func (o CartStartOptions) summary() string {
	if o.Summary != "" {
		return o.Summary
	}
	return "Panier " + o.Input.CartID.String()
}

func (o CartStartOptions) searchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		OrgIDKey.ValueSet(o.Input.OrgID.String()), FamilyIDKey.ValueSet(o.Input.FamilyID.String()),
		CartStatusKey.ValueSet(StatusOpen), AmountDueCentsKey.ValueSet(0),
	)
}

// Client is the start from a client (the API). Starting a cart whose workflow
// runs joins it; one that failed may start again. Where a worker of the task
// queue shares the client (enfance dev), its first workflow task comes back
// with the start instead of through a poll (eager start).
func (o CartStartOptions) Client(taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       CartWorkflowID(o.Input.CartID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		StaticSummary:            o.summary(),
		TypedSearchAttributes:    o.searchAttributes(),
		EnableEagerStart:         true,
	}
}

// Child is the start from a workflow (reconciliation, a waiting list): the
// cart's workflow outlives its starter, and may follow one that ended.
func (o CartStartOptions) Child() workflow.ChildWorkflowOptions {
	return workflow.ChildWorkflowOptions{
		WorkflowID:            CartWorkflowID(o.Input.CartID),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         o.summary(),
		TypedSearchAttributes: o.searchAttributes(),
	}
}

// startCart starts a cart's workflow as a child that outlives its starter (the
// cart lives its own life), and waits until it runs. A cart whose workflow runs
// already is left to it (started is false).
func startCart(ctx workflow.Context, start CartStartOptions) (started bool, err error) {
	err = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, start.Child()), CartWorkflow, start.Input).
		GetChildWorkflowExecution().Get(ctx, nil)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return false, nil
	}
	return err == nil, err
}
