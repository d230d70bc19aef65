package attendance

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
)

// What a presence without a reservation costs.
const (
	RuleCharge    = "charge"    // the family's price
	RuleSurcharge = "surcharge" // the family's price plus a surcharge
	RuleFree      = "free"      // nothing
)

// MaxSurchargeCents bounds a surcharge (100 €), as the schema does.
const MaxSurchargeCents = 10000

// Rule is a service's rule for presences without a reservation, set by finance.
type Rule struct {
	Unbooked       string `json:"unbooked"`
	SurchargeCents int64  `json:"surcharge_cents"`
}

// DefaultRule applies to a service finance has not set: the family's price.
var DefaultRule = Rule{Unbooked: RuleCharge}

// Cost is what a presence without a reservation costs a family whose price is price.
func (r Rule) Cost(price int64) int64 {
	switch r.Unbooked {
	case RuleFree:
		return 0
	case RuleSurcharge:
		return price + r.SurchargeCents
	default:
		return price
	}
}

// Label says the rule in French, as the pages and the day's list print it.
func (r Rule) Label() string {
	switch r.Unbooked {
	case RuleFree:
		return "non facturée"
	case RuleSurcharge:
		return "facturée au tarif de la famille, majoré de " + document.Euros(r.SurchargeCents)
	default:
		return "facturée au tarif de la famille"
	}
}

// RuleError names what is wrong with a rule.
type RuleError struct{ Field, Message string }

func (e *RuleError) Error() string { return e.Field + ": " + e.Message }

// Check validates a rule.
func (r Rule) Check() error {
	switch r.Unbooked {
	case RuleCharge, RuleFree:
		if r.SurchargeCents != 0 {
			return &RuleError{"surcharge_cents", "0 sauf avec la règle « surcharge »"}
		}
	case RuleSurcharge:
		if r.SurchargeCents <= 0 || r.SurchargeCents > MaxSurchargeCents {
			return &RuleError{"surcharge_cents", "majoration en centimes, de 1 centime à 100 €"}
		}
	default:
		return &RuleError{"unbooked", "charge, surcharge ou free"}
	}
	return nil
}

func ruleOf(ctx context.Context, q *db.Queries, orgID, serviceID uuid.UUID) (Rule, error) {
	row, err := q.GetAttendanceRule(ctx, db.GetAttendanceRuleParams{OrgID: orgID, ServiceID: serviceID})
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultRule, nil
	} else if err != nil {
		return Rule{}, fmt.Errorf("read attendance rule: %w", err)
	}
	return Rule{Unbooked: row.Unbooked, SurchargeCents: row.SurchargeCents}, nil
}

// Rules are the org's rules by service; services without one use DefaultRule.
func (s *Store) Rules(ctx context.Context, orgID uuid.UUID) (map[uuid.UUID]Rule, error) {
	rows, err := db.New(s.Pool).ListAttendanceRules(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("read attendance rules: %w", err)
	}
	out := make(map[uuid.UUID]Rule, len(rows))
	for _, r := range rows {
		out[r.ServiceID] = Rule{Unbooked: r.Unbooked, SurchargeCents: r.SurchargeCents}
	}
	return out, nil
}

// SetRule changes a service's rule (the API lets finance and admins only); audited.
// Presences already recorded keep what they were charged.
func (s *Store) SetRule(ctx context.Context, st cart.Staff, serviceID uuid.UUID, r Rule) (Rule, error) {
	if err := r.Check(); err != nil {
		return Rule{}, err
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if _, err := q.LockService(ctx, db.LockServiceParams{OrgID: st.OrgID, ID: serviceID}); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock service: %w", err)
		}
		before, err := ruleOf(ctx, q, st.OrgID, serviceID)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := q.UpsertAttendanceRule(ctx, db.UpsertAttendanceRuleParams{
			ServiceID: serviceID, OrgID: st.OrgID, Unbooked: r.Unbooked, SurchargeCents: r.SurchargeCents, UpdatedBy: &st.UserID, UpdatedAt: now,
		}); err != nil {
			return fmt.Errorf("write attendance rule: %w", err)
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: st.OrgID, Actor: &st.UserID, Action: "service.attendance_rule",
			Entity: "service", EntityID: serviceID.String(), Before: before, After: r, At: now})
	})
	if err != nil {
		return Rule{}, err
	}
	return r, nil
}
