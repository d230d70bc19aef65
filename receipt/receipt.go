// Package receipt assembles a payment's attestation from PostgreSQL, for the e-mail
// the worker sends and the download the API serves, so both show the same thing.
package receipt

import (
	"context"
	"fmt"
	"time"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
)

// Render builds the attestation PDF of a settled payment attempt.
func Render(ctx context.Context, q *db.Queries, att db.PaymentAttempt) ([]byte, error) {
	if att.Status != "paid" && att.Status != "settled_without_payfip" {
		return nil, fmt.Errorf("attempt %s is %s: no receipt", att.ID, att.Status)
	}
	org, err := q.GetOrg(ctx, att.OrgID)
	if err != nil {
		return nil, fmt.Errorf("read org: %w", err)
	}
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: att.OrgID, ID: att.FamilyID})
	if err != nil {
		return nil, fmt.Errorf("read family: %w", err)
	}
	loc, err := time.LoadLocation(org.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("org time zone: %w", err)
	}
	rows, err := q.ListCartReservationDetails(ctx, att.CartID)
	if err != nil {
		return nil, fmt.Errorf("read reservations: %w", err)
	}
	lines := make([]document.ReceiptLine, 0, len(rows))
	for _, r := range rows {
		lines = append(lines, document.ReceiptLine{Day: r.Day, Child: r.FirstName + " " + r.LastName, Service: r.ServiceName, PriceCents: r.PriceCents})
	}
	paidAt := att.CreatedAt
	if att.PaidAt != nil {
		paidAt = *att.PaidAt
	} else if att.SettledAt != nil {
		paidAt = *att.SettledAt
	}
	amount := att.AmountCents
	if att.Status != "paid" {
		amount = 0 // nothing was paid online; a carried amount stays owed
	}
	return document.RenderReceipt(document.Receipt{
		Org:              document.Party{Name: org.Name, Address: []string{org.Address}},
		Family:           document.Party{Name: "Famille " + fam.Name, Address: []string{fam.Address, fam.PostalCode + " " + fam.City}},
		PaidAt:           paidAt,
		Location:         loc,
		AmountCents:      amount,
		Numauto:          att.Numauto,
		Refdet:           att.Refdet,
		Lines:            lines,
		LinesCents:       att.LinesCents,
		CreditUsedCents:  att.CreditUsedCents,
		OutstandingCents: att.OutstandingCents,
	})
}
