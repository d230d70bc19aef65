package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/enfance/enfance/workflows"
)

// The balance paid alone, run for real (recorded with -record like the cart's
// paths): the API's start with its checkout, PayFiP, the ledger.

// startBalance starts the family's payment of its balance as the API does
// (UpdateWithStart) and returns the checkout's answer.
func (l *live) startBalance(familyName string) (uuid.UUID, workflows.CheckoutResult) {
	l.t.Helper()
	var org, fam uuid.UUID
	if err := l.pool.QueryRow(l.ctx, `SELECT org_id, id FROM families WHERE name = $1`, familyName).Scan(&org, &fam); err != nil {
		l.t.Fatal(err)
	}
	id := uuid.New()
	l.wfID = workflows.BalanceWorkflowID(id)
	start := l.tc.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: l.wfID, TaskQueue: l.queue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.OrgIDKey.ValueSet(org.String()), workflows.FamilyIDKey.ValueSet(fam.String()),
			workflows.PaymentStatusKey.ValueSet(workflows.PaymentPreparing), workflows.AmountDueCentsKey.ValueSet(0)),
	}, workflows.BalancePaymentWorkflow, workflows.BalanceInput{PaymentID: id, OrgID: org, FamilyID: fam, Timing: signalOnly})
	h, err := l.tc.UpdateWithStartWorkflow(l.ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions:          client.UpdateWorkflowOptions{UpdateID: "checkout", UpdateName: workflows.CheckoutUpdate, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	var res workflows.CheckoutResult
	if err == nil {
		err = h.Get(l.ctx, &res)
	}
	if err != nil || res.Status != "payment_required" {
		l.t.Fatalf("balance checkout: %+v %v", res, err)
	}
	return id, res
}

func (l *live) endBalance(name, want string) {
	l.t.Helper()
	var got string
	if err := l.tc.GetWorkflow(l.ctx, l.wfID, "").Get(l.ctx, &got); err != nil || got != want {
		l.t.Fatalf("balance payment ended %q (%v), want %q", got, err, want)
	}
	l.replayAndRecord(name, "PaymentStatus")
}

func (l *live) balances(familyName string) (outstanding, credit int64) {
	l.t.Helper()
	if err := l.pool.QueryRow(l.ctx, `SELECT COALESCE(sum(outstanding_cents), 0), COALESCE(sum(credit_cents), 0)
		FROM ledger_entries l JOIN families f ON f.id = l.family_id WHERE f.name = $1`, familyName).Scan(&outstanding, &credit); err != nil {
		l.t.Fatal(err)
	}
	return outstanding, credit
}

func TestLifecycleBalance(t *testing.T) {
	t.Run("balance_alone_paid", func(t *testing.T) {
		l := newLive(t)
		l.owe("Martin", 1200)
		l.start("Martin", "cantine", 2, time.Hour, signalOnly) // a cart in progress, untouched
		id, res := l.startBalance("Martin")
		if res.AmountDueCents != 1200 || res.AttemptID != id.String() {
			t.Fatalf("checkout %+v", res)
		}
		idOp := res.PaymentURL[strings.Index(res.PaymentURL, "idop=")+5:]
		if err := l.sim.Pay(idOp, "P"); err != nil {
			t.Fatal(err)
		}
		if err := l.tc.SignalWorkflow(l.ctx, l.wfID, "", workflows.PayFiPSignal, idOp); err != nil {
			t.Fatal(err)
		}
		l.endBalance("balance_alone_paid", workflows.PaymentPaid)
		if o, c := l.balances("Martin"); o != 0 || c != 0 {
			t.Fatalf("balances %d %d", o, c)
		}
		if n := l.count(`SELECT count(*) FROM cart_lines WHERE cart_id = $1 AND state = 'held'`, l.cart.ID); n != 2 {
			t.Fatalf("%d lines held in the cart", n)
		}
	})

	t.Run("balance_alone_abandoned_by_family", func(t *testing.T) {
		l := newLive(t)
		l.owe("Martin", 1200)
		id, _ := l.startBalance("Martin")
		var ab workflows.AbandonResult
		h, err := l.tc.UpdateWorkflow(l.ctx, client.UpdateWorkflowOptions{
			WorkflowID: l.wfID, UpdateName: workflows.AbandonUpdate, Args: []any{id.String()},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(l.ctx, &ab)
		}
		if err != nil || ab.Status != workflows.PaymentNotPaid {
			t.Fatalf("abandon: %+v %v", ab, err)
		}
		l.endBalance("balance_alone_abandoned_by_family", workflows.PaymentNotPaid)
		if o, _ := l.balances("Martin"); o != 1200 {
			t.Fatalf("owed %d after the abandon", o)
		}
		if n := l.count(`SELECT count(*) FROM payment_attempts WHERE id = $1 AND status = 'error' AND abandoned_at IS NOT NULL`, id); n != 1 {
			t.Fatal("the attempt is not closed as abandoned by the family")
		}
	})
}
