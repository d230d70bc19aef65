package e2e_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/enfance/enfance/workflows"
)

// A live cart whose workflow is missing (Temporal was unreachable when it opened, or
// an operator terminated it) would hold its places forever. Reconciliation starts
// its workflow again once it is well past its TTL; the workflow expires it and the
// places come back. A cart whose workflow runs is left alone.
func TestReconciliationRestartsTheWorkflowOfAnOverdueCart(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	orphan := book(s.login("martin@demo.enfance.test", "demo-martin-2026"), "cantine", 2)
	alive := book(s.login("bernard@demo.enfance.test", "demo-bernard-2026"), "cantine", 1)

	if err := s.temporal.TerminateWorkflow(ctx, workflows.CartWorkflowID(uuid.MustParse(*orphan.ID)), "", "test: the workflow is lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE carts SET expires_at = now() - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}

	res := runReconcile(t, s.temporal, s.cfg.TemporalTaskQueue, workflows.ReconcileInput{})
	if res.Restarted != 1 || res.Attention != 0 {
		t.Fatalf("reconciliation: %+v, want one cart restarted", res)
	}
	if got := s.cartEnds(*orphan.ID); got != "expired" {
		t.Fatalf("restarted cart ended %q, want expired", got)
	}
	var orphanStatus, aliveStatus string
	var held int
	if err := s.pool.QueryRow(ctx, `SELECT
		(SELECT status FROM carts WHERE id = $1), (SELECT status FROM carts WHERE id = $2),
		(SELECT count(*) FROM cart_lines WHERE cart_id = $1 AND state = 'held')`, *orphan.ID, *alive.ID).Scan(&orphanStatus, &aliveStatus, &held); err != nil {
		t.Fatal(err)
	}
	if orphanStatus != "expired" || held != 0 || aliveStatus != "open" {
		t.Fatalf("orphan %s with %d held lines, running cart %s; want expired, 0, open", orphanStatus, held, aliveStatus)
	}
	s.assertNothingLost(t)
}
