package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/audit"
)

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
	Children   []auditChild    `json:"children"`
	Services   []auditService  `json:"services"`
}

// auditChild and auditService name what an entry refers to by identifier.
type auditChild struct {
	ID        uuid.UUID `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
}

type auditService struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// auditLog pages through the org's audit log, newest first, optionally for one
// entity (?entity=family&entity_id=…), one family (?family_id=: its record, its
// members, logins, authorised persons, reservations, messages and attendances),
// one staff member (?actor_id=) and a period (?from=&to=, days in the org's
// zone, both included). next_cursor is the before_id of the next page.
func (s *Server) auditLog(c *gin.Context) {
	who := callerOf(c)
	limit := queryLimit(c, 100, 500)
	p := audit.Filter{OrgID: who.OrgID, Entity: c.Query("entity"), EntityID: c.Query("entity_id"), Lim: int32(limit + 1)}
	var fields []FieldError
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			fields = append(fields, FieldError{Field: "cursor", Message: "curseur invalide"})
		}
		p.BeforeID = n
	}
	for _, f := range []struct {
		name string
		dst  **uuid.UUID
	}{{"family_id", &p.FamilyID}, {"actor_id", &p.ActorID}} {
		if v := c.Query(f.name); v != "" {
			id, err := uuid.Parse(v)
			if err != nil {
				fields = append(fields, FieldError{Field: f.name, Message: "identifiant invalide"})
			}
			*f.dst = &id
		}
	}
	if c.Query("from") != "" || c.Query("to") != "" {
		loc, err := s.orgs.Zone(c, callerOf(c).OrgID)
		if err != nil {
			fail(c, s.log, err)
			return
		}
		for _, f := range []struct {
			name  string
			dst   **time.Time
			shift int
		}{{"from", &p.Since, 0}, {"to", &p.Until, 1}} {
			if v := c.Query(f.name); v != "" {
				d, err := time.ParseInLocation(time.DateOnly, v, loc)
				if err != nil {
					fields = append(fields, FieldError{Field: f.name, Message: "date attendue au format AAAA-MM-JJ"})
				}
				t := d.AddDate(0, 0, f.shift)
				*f.dst = &t
			}
		}
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Filtres invalides.", fields...))
		return
	}
	rows, err := s.journal.List(c, p)
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
		e := auditJSON{
			ID: r.ID, ActorID: r.ActorID, ActorLogin: r.ActorLogin, Action: r.Action, Entity: r.Entity,
			EntityID: r.EntityID, Before: rawOrNull(r.Before), After: rawOrNull(r.After), OccurredAt: r.OccurredAt,
			Children: make([]auditChild, len(r.Children)), Services: make([]auditService, len(r.Services)),
		}
		for j, k := range r.Children {
			e.Children[j] = auditChild(k)
		}
		for j, v := range r.Services {
			e.Services[j] = auditService(v)
		}
		out.Items = append(out.Items, e)
	}
	c.JSON(http.StatusOK, out)
}

func rawOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}
