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

// Logged is an entry of the log with the children and services its record
// refers to by identifier (child_id, service_id, or the reservation, waiting-list
// entry, service or day it is about), named for whoever reads the log.
type Logged struct {
	db.ListAuditRow
	Children []Child
	Services []Service
}

// Child is a child an entry refers to, by its name now.
type Child struct {
	ID                  uuid.UUID
	FirstName, LastName string
}

// Service is a service an entry refers to, by its name now.
type Service struct {
	ID   uuid.UUID
	Name string
}

// List reads the entries f picks, newest first, each with the children and
// services it refers to, named in two queries for the page. Only f.OrgID's
// children and services are named.
func (l *Log) List(ctx context.Context, f Filter) ([]Logged, error) {
	q := db.New(l.Pool)
	rows, err := q.ListAudit(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	out := make([]Logged, len(rows))
	at := make(map[int64]*Logged, len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = Logged{ListAuditRow: r}
		at[r.ID], ids[i] = &out[i], r.ID
	}
	if len(rows) == 0 {
		return out, nil
	}
	children, err := q.AuditChildren(ctx, db.AuditChildrenParams{OrgID: f.OrgID, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("audit log children: %w", err)
	}
	for _, c := range children {
		e := at[c.AuditID]
		e.Children = append(e.Children, Child{ID: c.ID, FirstName: c.FirstName, LastName: c.LastName})
	}
	services, err := q.AuditServices(ctx, db.AuditServicesParams{OrgID: f.OrgID, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("audit log services: %w", err)
	}
	for _, s := range services {
		e := at[s.AuditID]
		e.Services = append(e.Services, Service{ID: s.ID, Name: s.Name})
	}
	return out, nil
}
