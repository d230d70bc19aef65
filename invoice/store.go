package invoice

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
)

// ErrNotFound means the invoice, its family or the run does not exist in the org.
var ErrNotFound = errors.New("not found")

// Store reads what was invoiced; the month-end run writes it (package activities).
type Store struct {
	Pool *pgxpool.Pool
}

func notFound(err error) error {
	if db.NotFound(err) {
		return ErrNotFound
	}
	return err
}

// FamilyInvoices lists a family's invoices, newest first.
func (s *Store) FamilyInvoices(ctx context.Context, orgID, familyID uuid.UUID) ([]db.Invoice, error) {
	return db.New(s.Pool).ListFamilyInvoices(ctx, db.ListFamilyInvoicesParams{OrgID: orgID, FamilyID: familyID})
}

// WithLines is an invoice with what it prints.
type WithLines struct {
	db.Invoice
	Lines []db.InvoiceLine
}

// FamilyInvoicesWithLines lists a family of the org's invoices with their lines,
// newest first (ErrNotFound for another org's family).
func (s *Store) FamilyInvoicesWithLines(ctx context.Context, orgID, familyID uuid.UUID) ([]WithLines, error) {
	q := db.New(s.Pool)
	if _, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: orgID, ID: familyID}); err != nil {
		return nil, notFound(err)
	}
	invs, err := s.FamilyInvoices(ctx, orgID, familyID)
	if err != nil {
		return nil, err
	}
	out := make([]WithLines, 0, len(invs))
	for _, inv := range invs {
		lines, err := q.ListInvoiceLines(ctx, inv.ID)
		if err != nil {
			return nil, fmt.Errorf("invoice lines: %w", err)
		}
		out = append(out, WithLines{Invoice: inv, Lines: lines})
	}
	return out, nil
}

// PDF draws an invoice of the org; familyID, when given, must be its family's.
func (s *Store) PDF(ctx context.Context, orgID uuid.UUID, familyID *uuid.UUID, id uuid.UUID) (db.Invoice, []byte, error) {
	q := db.New(s.Pool)
	var inv db.Invoice
	var err error
	if familyID != nil {
		inv, err = q.GetFamilyInvoice(ctx, db.GetFamilyInvoiceParams{OrgID: orgID, FamilyID: *familyID, ID: id})
	} else {
		inv, err = q.GetInvoice(ctx, db.GetInvoiceParams{OrgID: orgID, ID: id})
	}
	if err != nil {
		return inv, nil, notFound(err)
	}
	pdf, err := Render(ctx, q, inv)
	return inv, pdf, err
}

// Period reads a month of the org, in its zone (a *check.Error naming the field
// month when it is not YYYY-MM).
func (s *Store) Period(ctx context.Context, orgID uuid.UUID, month string) (Period, error) {
	org, err := db.New(s.Pool).GetOrg(ctx, orgID)
	if err != nil {
		return Period{}, fmt.Errorf("read org: %w", err)
	}
	loc, err := org.Zone()
	if err != nil {
		return Period{}, fmt.Errorf("org time zone: %w", err)
	}
	p, err := ParsePeriod(month, loc)
	if err != nil {
		return p, check.Invalid("Mois invalide.", "month", ErrBadMonth)
	}
	return p, nil
}

// Run reads a run of the org.
func (s *Store) Run(ctx context.Context, orgID, id uuid.UUID) (db.InvoiceRun, error) {
	r, err := db.New(s.Pool).GetInvoiceRun(ctx, db.GetInvoiceRunParams{OrgID: orgID, ID: id})
	return r, notFound(err)
}

// RunOf reads the org's run of a month (ErrNotFound when none started).
func (s *Store) RunOf(ctx context.Context, orgID uuid.UUID, month string) (db.InvoiceRun, error) {
	r, err := db.New(s.Pool).GetInvoiceRunByMonth(ctx, db.GetInvoiceRunByMonthParams{OrgID: orgID, Month: month})
	return r, notFound(err)
}

// EnsureRun returns the org's run of a month, writing its row if there is none yet
// (the run's workflow writes the same row first thing; whoever comes second finds it).
func (s *Store) EnsureRun(ctx context.Context, orgID uuid.UUID, month string, by *uuid.UUID, workflowID string) (db.InvoiceRun, error) {
	return db.New(s.Pool).EnsureInvoiceRun(ctx, db.EnsureInvoiceRunParams{
		ID: uuid.New(), OrgID: orgID, Month: month, StartedBy: by, WorkflowID: workflowID,
	})
}

// Runs lists the org's runs, newest month first.
func (s *Store) Runs(ctx context.Context, orgID uuid.UUID) ([]db.InvoiceRun, error) {
	return db.New(s.Pool).ListInvoiceRuns(ctx, orgID)
}

// Month is what finance exports of a month: its invoices, the payments received
// in it, and the attendances its invoices list.
type Month struct {
	Invoices    []db.ListMonthInvoicesRow
	Payments    []db.ListMonthPaymentsRow
	Attendances []db.ListMonthAttendanceLinesRow
}

// Month reads the org's month p.
func (s *Store) Month(ctx context.Context, orgID uuid.UUID, p Period) (Month, error) {
	q := db.New(s.Pool)
	var out Month
	var err error
	if out.Invoices, err = q.ListMonthInvoices(ctx, db.ListMonthInvoicesParams{OrgID: orgID, Month: p.Month}); err != nil {
		return out, fmt.Errorf("month's invoices: %w", err)
	}
	if out.Payments, err = q.ListMonthPayments(ctx, db.ListMonthPaymentsParams{OrgID: orgID, PeriodStart: p.Start, PeriodEnd: p.End}); err != nil {
		return out, fmt.Errorf("month's payments: %w", err)
	}
	if out.Attendances, err = q.ListMonthAttendanceLines(ctx, db.ListMonthAttendanceLinesParams{OrgID: orgID, Month: p.Month}); err != nil {
		return out, fmt.Errorf("month's attendances: %w", err)
	}
	return out, nil
}
