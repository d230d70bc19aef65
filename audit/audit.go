// Package audit writes the audit log: who changed what and when, with the record
// before and after. Every domain package records its changes through Record, in
// the change's own transaction, so a change is never without its trace.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/db"
)

// Actor is who makes a change: a staff member, or a family's login, in its org.
type Actor struct{ OrgID, UserID uuid.UUID }

// Entry is one change. Before is nil for a creation, After for a deletion.
// Records hold no password nor token.
type Entry struct {
	OrgID    uuid.UUID
	Actor    *uuid.UUID
	Action   string // "family.update", "attendance.record" …
	Entity   string // "family", "member", "user", "service" …
	EntityID string
	Before   any
	After    any
	At       time.Time
}

// Record writes e with q, which should be the change's transaction.
func Record(ctx context.Context, q *db.Queries, e Entry) error {
	b, err := encode(e.Before)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	a, err := encode(e.After)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if err := q.InsertAudit(ctx, db.InsertAuditParams{
		OrgID: e.OrgID, ActorID: e.Actor, Action: e.Action, Entity: e.Entity, EntityID: e.EntityID,
		Before: b, After: a, OccurredAt: e.At,
	}); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

func encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// Log reads the audit log.
type Log struct{ Pool *pgxpool.Pool }

// Filter picks entries of an org's log: one entity, one family (its record, its
// members, logins, authorised persons, reservations, messages and attendances),
// one staff member, a period; BeforeID pages back from an entry; Limit of them.
type Filter = db.ListAuditParams

// List reads the entries f picks, newest first.
func (l *Log) List(ctx context.Context, f Filter) ([]db.ListAuditRow, error) {
	rows, err := db.New(l.Pool).ListAudit(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return rows, nil
}
