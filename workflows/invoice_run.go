package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/invoice"
)

// Names of the month-end invoicing, shared with the API, the CLI and operators.
const (
	InvoiceRunWorkflow          = "InvoiceRun"
	InvoiceRunScheduledWorkflow = "InvoiceRunScheduled"
	InvoiceRunQuery             = "progress"
)

// Run statuses, as in invoice_runs.status and the RunStatus search attribute.
const (
	RunRunning   = string(db.InvoiceRunStatusRunning)
	RunCompleted = string(db.InvoiceRunStatusCompleted)
	RunFailed    = string(db.InvoiceRunStatusFailed)
)

// Search attributes of an invoice run (OrgIDKey is shared with carts).
var (
	MonthKey     = temporal.NewSearchAttributeKeyKeyword("Month")
	RunStatusKey = temporal.NewSearchAttributeKeyKeyword("RunStatus")
)

// InvoiceRunWorkflowID is the one workflow ID of an org's run for a month.
func InvoiceRunWorkflowID(orgID uuid.UUID, month string) string {
	return "invoice-run:" + orgID.String() + ":" + month
}

// InvoiceScheduleID is the ID of an org's monthly Temporal Schedule.
func InvoiceScheduleID(orgID uuid.UUID) string { return "invoice-schedule:" + orgID.String() }

// InvoiceRunTuning sizes a run. The zero value means the defaults below, chosen
// for 50,000 families: a page of 500 families is 20 batches of 25, at most 4
// batches in flight (so PostgreSQL keeps capacity for the API), and the workflow
// continues as new every 20 pages (10,000 families, about 3,000 history events)
// or sooner if Temporal suggests it.
type InvoiceRunTuning struct {
	PageSize    int `json:",omitzero"`
	BatchSize   int `json:",omitzero"`
	Concurrency int `json:",omitzero"`
	PagesPerRun int `json:",omitzero"`
}

func (t InvoiceRunTuning) orDefaults() InvoiceRunTuning {
	if t.PageSize <= 0 {
		t.PageSize = 500
	}
	if t.BatchSize <= 0 {
		t.BatchSize = 25
	}
	if t.Concurrency <= 0 {
		t.Concurrency = 4
	}
	if t.PagesPerRun <= 0 {
		t.PagesPerRun = 20
	}
	return t
}

// InvoiceRunInput starts a run. Resume is set only by continue-as-new.
type InvoiceRunInput struct {
	OrgID     uuid.UUID
	Month     string
	StartedBy *uuid.UUID        `json:",omitempty"`
	Tuning    InvoiceRunTuning  `json:",omitzero"`
	Resume    *InvoiceRunResume `json:",omitempty"`
}

// InvoiceRunResume is what a run carries into its next execution.
type InvoiceRunResume struct {
	RunID         uuid.UUID
	FamiliesTotal int
	Cursor        uuid.UUID // the last family of the last page done
	Pages         int
	Generation    int // executions before this one
	Figures       activities.InvoiceRunFigures
}

// InvoiceRunProgress answers the progress query and is the workflow's result.
type InvoiceRunProgress struct {
	RunID         string
	Month         string
	Status        string
	FamiliesTotal int
	FamiliesDone  int
	Invoices      int
	Emailed       int
	ChargesCents  int64
	PaidCents     int64
	DueCents      int64
	Pages         int
	Generation    int
	Details       string
}

type invoiceRun struct {
	in      InvoiceRunInput
	tuning  InvoiceRunTuning
	status  string
	state   InvoiceRunResume
	details string
}

// InvoiceRun issues an org's invoices for a finished month: it walks the families
// with something to invoice page by page (keyset on family ID), invoices each page
// in batches with a bounded number of activities in flight, e-mails each invoice
// once, and continues as new with its cursor before its history grows large.
// Everything it writes is idempotent (UNIQUE(family_id, month) on invoices, keyed
// e-mails), so a failed run started again resumes without duplicates.
func InvoiceRun(ctx workflow.Context, in InvoiceRunInput) (InvoiceRunProgress, error) {
	r := &invoiceRun{in: in, tuning: in.Tuning.orDefaults(), status: RunRunning}
	if in.Resume != nil {
		r.state = *in.Resume
	}
	if err := workflow.SetQueryHandler(ctx, InvoiceRunQuery, func() (InvoiceRunProgress, error) { return r.progress(), nil }); err != nil {
		return InvoiceRunProgress{}, err
	}
	r.upsert(ctx, OrgIDKey.ValueSet(in.OrgID.String()), MonthKey.ValueSet(in.Month), RunStatusKey.ValueSet(RunRunning))

	if in.Resume == nil {
		r.describe(ctx, "counting the families of "+in.Month)
		var begun activities.BeginInvoiceRunResult
		err := workflow.ExecuteActivity(r.dbOptions(ctx, "open the run"), (*activities.Activities).BeginInvoiceRun, activities.BeginInvoiceRunInput{
			OrgID: in.OrgID, Month: in.Month, StartedBy: in.StartedBy, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		}).Get(ctx, &begun)
		if err != nil {
			return r.fail(ctx, err)
		}
		r.state.RunID, r.state.FamiliesTotal = begun.RunID, begun.FamiliesTotal
		if begun.Completed {
			r.state.Figures = begun.Progress
			r.status = RunCompleted
			r.upsert(ctx, RunStatusKey.ValueSet(RunCompleted))
			r.describe(ctx, "already completed")
			return r.progress(), nil
		}
	}

	for pagesHere := 0; ; pagesHere++ {
		if pagesHere >= r.tuning.PagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return r.continueAsNew(ctx)
		}
		var ids []uuid.UUID
		err := workflow.ExecuteActivity(r.dbOptions(ctx, "list the next families"), (*activities.Activities).ListInvoiceFamilies, activities.ListInvoiceFamiliesInput{
			OrgID: in.OrgID, Month: in.Month, After: r.state.Cursor, Limit: r.tuning.PageSize,
		}).Get(ctx, &ids)
		if err != nil {
			return r.fail(ctx, err)
		}
		if len(ids) == 0 {
			break
		}
		if err := r.page(ctx, ids); err != nil {
			return r.fail(ctx, err)
		}
		r.state.Cursor = ids[len(ids)-1]
		r.state.Pages++
		if err := workflow.ExecuteActivity(r.dbOptions(ctx, "save progress"), (*activities.Activities).SaveInvoiceRunProgress, activities.SaveInvoiceRunProgressInput{
			RunID: r.state.RunID, Figures: r.state.Figures,
		}).Get(ctx, nil); err != nil {
			return r.fail(ctx, err)
		}
		r.describe(ctx, r.summary())
		if len(ids) < r.tuning.PageSize {
			break
		}
	}

	if err := workflow.ExecuteActivity(r.dbOptions(ctx, "close the run"), (*activities.Activities).FinishInvoiceRun, activities.FinishInvoiceRunInput{
		RunID: r.state.RunID, Status: RunCompleted, Figures: r.state.Figures,
	}).Get(ctx, nil); err != nil {
		return r.fail(ctx, err)
	}
	r.status = RunCompleted
	r.upsert(ctx, RunStatusKey.ValueSet(RunCompleted))
	r.describe(ctx, "completed: "+r.summary())
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return InvoiceRunProgress{}, err
	}
	return r.progress(), nil
}

// page invoices a page of families in batches, at most Concurrency in flight.
// After a failure no new batch starts; the ones in flight finish first.
func (r *invoiceRun) page(ctx workflow.Context, ids []uuid.UUID) error {
	inFlight := 0
	var firstErr error
	for start := 0; start < len(ids); start += r.tuning.BatchSize {
		batch := ids[start:min(start+r.tuning.BatchSize, len(ids))]
		if err := workflow.Await(ctx, func() bool { return inFlight < r.tuning.Concurrency || firstErr != nil }); err != nil {
			return err
		}
		if firstErr != nil {
			break
		}
		inFlight++
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { inFlight-- }()
			if err := r.batch(ctx, batch); err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	if err := workflow.Await(ctx, func() bool { return inFlight == 0 }); err != nil {
		return err
	}
	return firstErr
}

// batch invoices a few families, then e-mails their invoices. A mail outage only
// delays the run: the e-mail activity retries with its own, longer, backoff.
func (r *invoiceRun) batch(ctx workflow.Context, families []uuid.UUID) error {
	var res activities.InvoiceBatchResult
	ictx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		Summary:             fmt.Sprintf("invoice %d families", len(families)),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
	if err := workflow.ExecuteActivity(ictx, (*activities.Activities).InvoiceFamilies, activities.InvoiceBatch{
		RunID: r.state.RunID, OrgID: r.in.OrgID, Month: r.in.Month, FamilyIDs: families,
	}).Get(ctx, &res); err != nil {
		return err
	}
	f := &r.state.Figures
	f.FamiliesDone += res.Families
	f.Invoices += res.Invoices
	f.ChargesCents += res.ChargesCents
	f.PaidCents += res.PaidCents
	f.DueCents += res.DueCents
	if len(res.InvoiceIDs) == 0 {
		return nil
	}
	mctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		Summary:             fmt.Sprintf("e-mail %d invoices", len(res.InvoiceIDs)),
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: 5 * time.Minute, MaximumAttempts: 20},
	})
	var sent activities.InvoiceEmailsResult
	if err := workflow.ExecuteActivity(mctx, (*activities.Activities).SendInvoiceEmails, activities.InvoiceEmails{
		OrgID: r.in.OrgID, InvoiceIDs: res.InvoiceIDs,
	}).Get(ctx, &sent); err != nil {
		return err
	}
	f.Emailed += sent.Sent + sent.AlreadySent
	return nil
}

var nonRetryable = []string{activities.ErrTypeMonthNotFinished, activities.ErrTypeBadMonth, activities.ErrTypeUnknownOrg}

func (r *invoiceRun) dbOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}

func (r *invoiceRun) continueAsNew(ctx workflow.Context) (InvoiceRunProgress, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return InvoiceRunProgress{}, err
	}
	next := r.in
	state := r.state
	state.Generation++
	next.Resume = &state
	return InvoiceRunProgress{}, workflow.NewContinueAsNewError(ctx, InvoiceRunWorkflow, next)
}

// fail records the failure on the run's row (when there is one) and fails the
// workflow; starting the run again resumes it.
func (r *invoiceRun) fail(ctx workflow.Context, cause error) (InvoiceRunProgress, error) {
	r.status = RunFailed
	r.upsert(ctx, RunStatusKey.ValueSet(RunFailed))
	r.describe(ctx, "failed: "+cause.Error())
	if r.state.RunID != uuid.Nil {
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		if err := workflow.ExecuteActivity(r.dbOptions(dctx, "mark the run failed"), (*activities.Activities).FinishInvoiceRun, activities.FinishInvoiceRunInput{
			RunID: r.state.RunID, Status: RunFailed, Error: cause.Error(), Figures: r.state.Figures,
		}).Get(dctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("invoice run not marked failed", "error", err)
		}
	}
	return r.progress(), cause
}

func (r *invoiceRun) progress() InvoiceRunProgress {
	f := r.state.Figures
	p := InvoiceRunProgress{
		Month: r.in.Month, Status: r.status, FamiliesTotal: r.state.FamiliesTotal, FamiliesDone: f.FamiliesDone,
		Invoices: f.Invoices, Emailed: f.Emailed, ChargesCents: f.ChargesCents, PaidCents: f.PaidCents, DueCents: f.DueCents,
		Pages: r.state.Pages, Generation: r.state.Generation, Details: r.details,
	}
	if r.state.RunID != uuid.Nil {
		p.RunID = r.state.RunID.String()
	}
	return p
}

func (r *invoiceRun) summary() string {
	f := r.state.Figures
	return fmt.Sprintf("%d/%d families, %d invoices (%s charged, %s paid, %s due), %d e-mailed, page %d, execution %d",
		f.FamiliesDone, r.state.FamiliesTotal, f.Invoices, euros(f.ChargesCents), euros(f.PaidCents), euros(f.DueCents),
		f.Emailed, r.state.Pages, r.state.Generation+1)
}

func (r *invoiceRun) upsert(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

func (r *invoiceRun) describe(ctx workflow.Context, details string) {
	r.details = details
	workflow.SetCurrentDetails(ctx, details)
}

// InvoiceScheduleInput is the fixed argument of an org's monthly schedule.
type InvoiceScheduleInput struct {
	OrgID    uuid.UUID
	TimeZone string // the org's zone: the run invoices the month before the one it fires in
}

// InvoiceRunScheduled is what the monthly Schedule starts: it works out the month
// just finished and starts that month's run under its one workflow ID (a child
// abandoned when this returns), or finds it started already by finance.
func InvoiceRunScheduled(ctx workflow.Context, in InvoiceScheduleInput) (string, error) {
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError("time zone "+in.TimeZone, "BadTimeZone", err)
	}
	month := invoice.PreviousMonth(workflow.Now(ctx), loc)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            InvoiceRunWorkflowID(in.OrgID, month),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		StaticSummary:         "Facturation " + month,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			OrgIDKey.ValueSet(in.OrgID.String()), MonthKey.ValueSet(month), RunStatusKey.ValueSet(RunRunning)),
	})
	var exec workflow.Execution
	err = workflow.ExecuteChildWorkflow(cctx, InvoiceRunWorkflow, InvoiceRunInput{OrgID: in.OrgID, Month: month}).
		GetChildWorkflowExecution().Get(ctx, &exec)
	if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return month, err
	}
	return month, nil
}

// InvoiceRunStartOptions are the options every trigger (API, CLI) starts a run
// with: one workflow per org and month; a running one is joined, a failed one
// started again (it resumes), a completed one refused by Temporal.
func InvoiceRunStartOptions(orgID uuid.UUID, month, taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       InvoiceRunWorkflowID(orgID, month),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		StaticSummary:            "Facturation " + month,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			OrgIDKey.ValueSet(orgID.String()), MonthKey.ValueSet(month), RunStatusKey.ValueSet(RunRunning)),
	}
}

// StartInvoiceRun starts the run or joins the running one. It returns nil and no
// error when the month's run already completed.
func StartInvoiceRun(ctx context.Context, c client.Client, taskQueue string, in InvoiceRunInput) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, InvoiceRunStartOptions(in.OrgID, in.Month, taskQueue), InvoiceRunWorkflow, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("start invoice run: %w", err)
	}
	return run, nil
}

// CreateInvoiceSchedule creates the org's monthly Schedule: the 1st of each month
// at 06:00 in the org's zone, runs never overlapping. Operators see it, pause it
// and trigger it in the Temporal UI.
func CreateInvoiceSchedule(ctx context.Context, c client.Client, taskQueue string, orgID uuid.UUID, timeZone string, paused bool) (client.ScheduleHandle, error) {
	return c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: InvoiceScheduleID(orgID),
		Spec: client.ScheduleSpec{
			Calendars:    []client.ScheduleCalendarSpec{{DayOfMonth: []client.ScheduleRange{{Start: 1}}, Hour: []client.ScheduleRange{{Start: 6}}}},
			TimeZoneName: timeZone,
		},
		Action: &client.ScheduleWorkflowAction{
			ID:                    "invoice-trigger:" + orgID.String(),
			Workflow:              InvoiceRunScheduledWorkflow,
			Args:                  []any{InvoiceScheduleInput{OrgID: orgID, TimeZone: timeZone}},
			TaskQueue:             taskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(OrgIDKey.ValueSet(orgID.String())),
		},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Paused:  paused,
		Note:    "Facturation mensuelle : le 1er du mois à 6h00, le mois précédent",
	})
}
