package invoice

import (
	"context"
	"fmt"
	"strings"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
)

// Render draws an issued invoice from what PostgreSQL holds: the invoice, its
// lines, the org and the family as they are now (their address may have changed
// since; the figures cannot).
func Render(ctx context.Context, q *db.Queries, inv db.Invoice) ([]byte, error) {
	org, err := q.GetOrg(ctx, inv.OrgID)
	if err != nil {
		return nil, fmt.Errorf("read org: %w", err)
	}
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: inv.OrgID, ID: inv.FamilyID})
	if err != nil {
		return nil, fmt.Errorf("read family: %w", err)
	}
	loc, err := org.Zone()
	if err != nil {
		return nil, fmt.Errorf("org time zone: %w", err)
	}
	p, err := ParsePeriod(inv.Month, loc)
	if err != nil {
		return nil, fmt.Errorf("invoice %s: %w", inv.ID, err)
	}
	rows, err := q.ListInvoiceLines(ctx, inv.ID)
	if err != nil {
		return nil, fmt.Errorf("read invoice lines: %w", err)
	}
	lines := make([]document.InvoiceLine, 0, len(rows))
	for _, r := range rows {
		lines = append(lines, document.InvoiceLine{
			Kind: r.Kind, Day: r.Day, Label: r.Label, Child: r.ChildName, Service: r.ServiceName,
			UnitCents: r.UnitCents, AmountCents: r.AmountCents, CreditCents: r.CreditCents, Late: r.Late,
		})
	}
	return document.RenderInvoice(document.Invoice{
		Org:      document.Party{Name: org.Name, Address: nonEmpty(org.Address, org.Email)},
		Family:   document.Party{Name: "Famille " + fam.Name, Address: nonEmpty(fam.Address, strings.TrimSpace(fam.PostalCode+" "+fam.City))},
		Number:   inv.Number,
		FirstDay: p.FirstDay,
		LastDay:  p.LastDay,
		IssuedAt: inv.IssuedAt,
		Location: loc,
		Lines:    lines,
		Totals: document.InvoiceTotals{
			Opening: inv.OpeningBalanceCents, Charges: inv.TotalCents, Cancelled: inv.CancelledCents, Paid: inv.PaidCents,
			CreditUsed: inv.CreditUsedCents, Adjustments: inv.AdjustmentsCents, Closing: inv.ClosingBalanceCents, Due: inv.DueCents,
			OpeningCredit: inv.OpeningCreditCents, CreditEarned: inv.CreditEarnedCents, CreditSpent: inv.CreditSpentCents,
			ClosingCredit: inv.ClosingCreditCents,
		},
	})
}

func nonEmpty(lines ...string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
