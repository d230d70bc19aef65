package services

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
)

// Offered is an active service as a family sees it: its price at the family's
// QF (nil when no bracket fits) and which of its children may be booked.
type Offered struct {
	db.Service
	PriceCents       *int64
	EligibleChildIDs []string
}

// ForFamily lists the org's active services a child of the family may be booked
// on today, each at the family's price.
func (s *Store) ForFamily(ctx context.Context, orgID, familyID uuid.UUID) ([]Offered, error) {
	q := db.New(s.Pool)
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: orgID, ID: familyID})
	if err != nil {
		return nil, fmt.Errorf("read family: %w", err)
	}
	svcs, err := q.ListServices(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	members, err := q.ListMembers(ctx, db.ListMembersParams{OrgID: orgID, FamilyID: fam.ID})
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	byService, err := pricesOf(ctx, q, svcs)
	if err != nil {
		return nil, err
	}
	today := booking.Day(s.now())
	out := []Offered{}
	for _, sv := range svcs {
		o := Offered{Service: sv, EligibleChildIDs: []string{}}
		if p, err := booking.Price(Brackets(byService[sv.ID]), int(fam.Qf)); err == nil {
			o.PriceCents = &p
		}
		for _, m := range members {
			if m.Kind == "child" && EligibilityRule(sv).Eligible(booking.Child{School: m.School, Class: m.ClassName, BirthDate: m.BirthDate}, today) {
				o.EligibleChildIDs = append(o.EligibleChildIDs, m.ID.String())
			}
		}
		if len(o.EligibleChildIDs) > 0 {
			out = append(out, o)
		}
	}
	return out, nil
}
