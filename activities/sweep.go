package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
)

// OverdueGrace is how long past its time to live a cart may stay live before
// reconciliation restarts its workflow: longer than a payment may take to settle
// (20 minutes), so a cart rightly waiting for PayFiP is not counted.
const OverdueGrace = 30 * time.Minute

// OverdueCart is a live cart past its TTL.
type OverdueCart struct {
	CartID, OrgID, FamilyID uuid.UUID
	ExpiresAt               time.Time
}

// ListOverdueCarts lists up to limit live carts past their TTL by OverdueGrace.
func (a *Activities) ListOverdueCarts(ctx context.Context, limit int) ([]OverdueCart, error) {
	rows, err := db.New(a.Pool).ListOverdueCarts(ctx, db.ListOverdueCartsParams{Before: a.now().Add(-OverdueGrace), MaxCarts: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list overdue carts: %w", err)
	}
	out := make([]OverdueCart, 0, len(rows))
	for _, r := range rows {
		out = append(out, OverdueCart{CartID: r.ID, OrgID: r.OrgID, FamilyID: r.FamilyID, ExpiresAt: r.ExpiresAt})
	}
	return out, nil
}
