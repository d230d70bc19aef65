package workflows_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/workflows"
)

var invOrg = uuid.MustParse("0b5a0000-0000-4000-8000-0000000000aa")

// invModel stands for PostgreSQL behind the invoice activities: families sorted
// by ID, the invoices issued (by family), and what the run row received.
type invModel struct {
	t        *testing.T
	mu       sync.Mutex
	families []uuid.UUID
	invoiced map[uuid.UUID]int // how many times each family was invoiced
	emailed  map[uuid.UUID]int
	inFlight int
	maxIn    int
	finished []activities.FinishInvoiceRunInput
	saved    []activities.InvoiceRunFigures
	lists    int
	failOn   uuid.UUID // a family whose batch fails for good
	statuses []string  // RunStatus values upserted
	begun    activities.BeginInvoiceRunResult
	listTook time.Duration // test time each listing takes
}

func newInvModel(t *testing.T, n int) *invModel {
	m := &invModel{t: t, invoiced: map[uuid.UUID]int{}, emailed: map[uuid.UUID]int{},
		begun: activities.BeginInvoiceRunResult{RunID: uuid.MustParse("0b5a0000-0000-4000-8000-00000000a001"), FamiliesTotal: n}}
	for i := range n {
		m.families = append(m.families, uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("family", i))))
	}
	slices.SortFunc(m.families, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return m
}

// invoiceID of a family is stable, as an existing invoice is returned again.
func invoiceID(fam uuid.UUID) uuid.UUID { return uuid.NewSHA1(fam, []byte("invoice")) }

func (m *invModel) env(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC))
	env.SetTestTimeout(30 * time.Second)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.InvoiceRunWorkflowID(invOrg, "2026-11")})
	env.RegisterWorkflowWithOptions(workflows.InvoiceRun, workflow.RegisterOptions{Name: workflows.InvoiceRunWorkflow})
	acts := &activities.Activities{}
	env.RegisterActivity(acts)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if v, ok := sa.GetKeyword(workflows.RunStatusKey); ok {
			m.mu.Lock()
			m.statuses = append(m.statuses, v)
			m.mu.Unlock()
		}
	}).Return(nil)
	env.OnActivity(acts.BeginInvoiceRun, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BeginInvoiceRunInput) (activities.BeginInvoiceRunResult, error) {
			if in.WorkflowID != workflows.InvoiceRunWorkflowID(invOrg, "2026-11") {
				m.t.Errorf("workflow ID %q", in.WorkflowID)
			}
			return m.begun, nil
		})
	env.OnActivity(acts.ListInvoiceFamilies, mock.Anything, mock.Anything).After(m.listTook).Return(
		func(_ context.Context, in activities.ListInvoiceFamiliesInput) ([]uuid.UUID, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.lists++
			var page []uuid.UUID
			for _, f := range m.families {
				if bytes.Compare(f[:], in.After[:]) > 0 && len(page) < in.Limit {
					page = append(page, f)
				}
			}
			return page, nil
		})
	env.OnActivity(acts.InvoiceFamilies, mock.Anything, mock.Anything).Return(
		func(_ context.Context, b activities.InvoiceBatch) (activities.InvoiceBatchResult, error) {
			m.mu.Lock()
			m.inFlight++
			m.maxIn = max(m.maxIn, m.inFlight)
			m.mu.Unlock()
			defer func() { m.mu.Lock(); m.inFlight--; m.mu.Unlock() }()
			var res activities.InvoiceBatchResult
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, f := range b.FamilyIDs {
				if f == m.failOn {
					return res, temporal.NewNonRetryableApplicationError("boom", "Boom", nil)
				}
				res.Families++
				m.invoiced[f]++
				res.Invoices++
				res.ChargesCents += 450
				res.PaidCents += 400
				res.DueCents += 50
				res.InvoiceIDs = append(res.InvoiceIDs, invoiceID(f))
			}
			return res, nil
		})
	env.OnActivity(acts.SendInvoiceEmails, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InvoiceEmails) (activities.InvoiceEmailsResult, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, id := range in.InvoiceIDs {
				m.emailed[id]++
			}
			return activities.InvoiceEmailsResult{Sent: len(in.InvoiceIDs)}, nil
		})
	env.OnActivity(acts.SaveInvoiceRunProgress, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SaveInvoiceRunProgressInput) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.saved = append(m.saved, in.Figures)
			return nil
		})
	env.OnActivity(acts.FinishInvoiceRun, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishInvoiceRunInput) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.finished = append(m.finished, in)
			return nil
		})
	return env
}

// runToEnd executes the workflow and each continue-as-new that follows, as the
// server would, and returns the final result and the number of executions.
func (m *invModel) runToEnd(t *testing.T, in workflows.InvoiceRunInput) (workflows.InvoiceRunProgress, int, error) {
	for executions := 1; ; executions++ {
		env := m.env(t)
		env.ExecuteWorkflow(workflows.InvoiceRunWorkflow, in)
		if !env.IsWorkflowCompleted() {
			t.Fatal("workflow did not complete")
		}
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			if can.WorkflowType.Name != workflows.InvoiceRunWorkflow {
				t.Fatalf("continued as %s", can.WorkflowType.Name)
			}
			var next workflows.InvoiceRunInput
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				t.Fatal(err)
			}
			in = next
			continue
		}
		var out workflows.InvoiceRunProgress
		if err == nil {
			if err := env.GetWorkflowResult(&out); err != nil {
				t.Fatal(err)
			}
		}
		return out, executions, err
	}
}

func TestInvoiceRunWalksEveryFamilyOnceAcrossContinueAsNew(t *testing.T) {
	m := newInvModel(t, 45)
	in := workflows.InvoiceRunInput{OrgID: invOrg, Month: "2026-11",
		Tuning: workflows.InvoiceRunTuning{PageSize: 10, BatchSize: 3, Concurrency: 2, PagesPerRun: 2}}
	out, executions, err := m.runToEnd(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if executions != 3 || out.Generation != 2 || out.Pages != 5 {
		t.Errorf("%d executions, generation %d, %d pages; want 3, 2, 5", executions, out.Generation, out.Pages)
	}
	for _, f := range m.families {
		if m.invoiced[f] != 1 || m.emailed[invoiceID(f)] != 1 {
			t.Fatalf("family %s invoiced %d times, e-mailed %d times", f, m.invoiced[f], m.emailed[invoiceID(f)])
		}
	}
	want := workflows.InvoiceRunProgress{RunID: m.begun.RunID.String(), Month: "2026-11", Status: "completed", FamiliesTotal: 45,
		FamiliesDone: 45, Invoices: 45, Emailed: 45, ChargesCents: 45 * 450, PaidCents: 45 * 400, DueCents: 45 * 50, Pages: 5, Generation: 2}
	out.Details = ""
	if out != want {
		t.Errorf("result %+v\nwant   %+v", out, want)
	}
	if m.maxIn > 2 {
		t.Errorf("%d batches in flight, limit 2", m.maxIn)
	}
	if len(m.finished) != 1 || m.finished[0].Status != "completed" || m.finished[0].Figures.FamiliesDone != 45 {
		t.Errorf("finish: %+v", m.finished)
	}
	if len(m.saved) != 5 || m.saved[2].FamiliesDone != 30 {
		t.Errorf("progress saved after each page: %+v", m.saved)
	}
	if m.statuses[len(m.statuses)-1] != "completed" {
		t.Errorf("RunStatus upserts: %v", m.statuses)
	}
}

func TestInvoiceRunProgressQuery(t *testing.T) {
	m := newInvModel(t, 12)
	m.listTook = time.Hour // so that the query lands between two pages
	env := m.env(t)
	var mid workflows.InvoiceRunProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.InvoiceRunQuery)
		if err != nil {
			t.Error(err)
			return
		}
		if err := v.Get(&mid); err != nil {
			t.Error(err)
		}
	}, 90*time.Minute)
	env.ExecuteWorkflow(workflows.InvoiceRunWorkflow, workflows.InvoiceRunInput{OrgID: invOrg, Month: "2026-11",
		Tuning: workflows.InvoiceRunTuning{PageSize: 6, BatchSize: 2}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if mid.Status != "running" || mid.FamiliesDone != 6 || mid.FamiliesTotal != 12 || mid.Pages != 1 || mid.ChargesCents != 6*450 {
		t.Errorf("progress mid-run: %+v", mid)
	}
}

func TestInvoiceRunFailureMarksTheRunFailed(t *testing.T) {
	m := newInvModel(t, 20)
	m.failOn = m.families[13]
	_, _, err := m.runToEnd(t, workflows.InvoiceRunInput{OrgID: invOrg, Month: "2026-11",
		Tuning: workflows.InvoiceRunTuning{PageSize: 10, BatchSize: 2, Concurrency: 3}})
	if err == nil {
		t.Fatal("the run should fail")
	}
	if len(m.finished) != 1 || m.finished[0].Status != "failed" || m.finished[0].Error == "" {
		t.Errorf("finish: %+v", m.finished)
	}
	if m.statuses[len(m.statuses)-1] != "failed" {
		t.Errorf("RunStatus upserts: %v", m.statuses)
	}
	// Started again (a new execution, as after a failure), it resumes: families
	// already invoiced are asked again and count once in the totals.
	m.failOn = uuid.Nil
	m.finished = nil
	out, _, err := m.runToEnd(t, workflows.InvoiceRunInput{OrgID: invOrg, Month: "2026-11",
		Tuning: workflows.InvoiceRunTuning{PageSize: 10, BatchSize: 2, Concurrency: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FamiliesDone != 20 || out.Invoices != 20 || len(m.finished) != 1 || m.finished[0].Status != "completed" {
		t.Errorf("resumed run: %+v, finish %+v", out, m.finished)
	}
}

func TestCompletedRunIsNotRunAgain(t *testing.T) {
	m := newInvModel(t, 20)
	m.begun.Completed = true
	m.begun.Progress = activities.InvoiceRunFigures{FamiliesDone: 20, Invoices: 18, ChargesCents: 999}
	out, _, err := m.runToEnd(t, workflows.InvoiceRunInput{OrgID: invOrg, Month: "2026-11"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != "completed" || out.Invoices != 18 || m.lists != 0 || len(m.invoiced) != 0 {
		t.Errorf("completed run ran again: %+v, %d lists", out, m.lists)
	}
}

func TestScheduledRunInvoicesThePreviousMonth(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	// 06:00 in Paris on 1 December is 05:00 UTC.
	env.SetStartTime(time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC))
	env.RegisterWorkflowWithOptions(workflows.InvoiceRunScheduled, workflow.RegisterOptions{Name: workflows.InvoiceRunScheduledWorkflow})
	var gotID string
	var gotIn workflows.InvoiceRunInput
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.InvoiceRunInput) (workflows.InvoiceRunProgress, error) {
		gotID, gotIn = workflow.GetInfo(ctx).WorkflowExecution.ID, in
		return workflows.InvoiceRunProgress{}, nil
	}, workflow.RegisterOptions{Name: workflows.InvoiceRunWorkflow})
	env.ExecuteWorkflow(workflows.InvoiceRunScheduledWorkflow, workflows.InvoiceScheduleInput{OrgID: invOrg, TimeZone: "Europe/Paris"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var month string
	if err := env.GetWorkflowResult(&month); err != nil {
		t.Fatal(err)
	}
	if month != "2026-11" || gotIn.Month != "2026-11" || gotID != workflows.InvoiceRunWorkflowID(invOrg, "2026-11") {
		t.Errorf("month %q, child %q with %+v", month, gotID, gotIn)
	}
}
