package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
)

// audit records who changed what and when, with the record before and after
// (nil for a creation or a deletion). It runs in the change's own transaction, so
// a change is never without its trace. Records hold no password nor token.
func (s *Server) audit(ctx context.Context, q *db.Queries, orgID uuid.UUID, actor *uuid.UUID, action, entity, entityID string, before, after any) error {
	enc := func(v any) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		return json.Marshal(v)
	}
	b, err := enc(before)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	a, err := enc(after)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if err := q.InsertAudit(ctx, db.InsertAuditParams{
		OrgID: orgID, ActorID: actor, Action: action, Entity: entity, EntityID: entityID,
		Before: b, After: a, OccurredAt: s.now(),
	}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

type auditJSON struct {
	ID         int64           `json:"id"`
	ActorID    *uuid.UUID      `json:"actor_id"`
	ActorLogin string          `json:"actor_login"`
	Action     string          `json:"action"`
	Entity     string          `json:"entity"`
	EntityID   string          `json:"entity_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	OccurredAt time.Time       `json:"occurred_at"`
}

// auditLog pages through the org's audit log, newest first, optionally for one
// entity (?entity=family&entity_id=…). next_cursor is the before_id of the next page.
func (s *Server) auditLog(c *gin.Context) {
	who := callerOf(c)
	limit := queryLimit(c, 100, 500)
	var before int64
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			fail(c, s.log, badRequest("Curseur invalide.", FieldError{Field: "cursor", Message: "curseur invalide"}))
			return
		}
		before = n
	}
	rows, err := s.q.ListAudit(c, db.ListAuditParams{
		OrgID: who.OrgID, Entity: c.Query("entity"), EntityID: c.Query("entity_id"), BeforeID: before, Lim: int32(limit + 1),
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := page[auditJSON]{Items: []auditJSON{}}
	for i, r := range rows {
		if i == limit {
			next := strconv.FormatInt(rows[i-1].ID, 10)
			out.NextCursor = &next
			break
		}
		out.Items = append(out.Items, auditJSON{
			ID: r.ID, ActorID: r.ActorID, ActorLogin: r.ActorLogin, Action: r.Action, Entity: r.Entity,
			EntityID: r.EntityID, Before: rawOrNull(r.Before), After: rawOrNull(r.After), OccurredAt: r.OccurredAt,
		})
	}
	c.JSON(http.StatusOK, out)
}

// page is a paginated list: pass next_cursor back as ?cursor= for the next page.
type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func rawOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// queryLimit reads ?limit= within [1, max], def when absent or unreadable.
func queryLimit(c *gin.Context, def, max int) int {
	n, err := strconv.Atoi(c.Query("limit"))
	if err != nil || n < 1 {
		return def
	}
	return min(n, max)
}
