package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
	"github.com/enfance/enfance/invoice"
	"github.com/enfance/enfance/mail"
)

// Error types of the invoice run.
const (
	ErrTypeMonthNotFinished = "MonthNotFinished"
	ErrTypeBadMonth         = "BadMonth"
	ErrTypeUnknownOrg       = "UnknownOrg"
)

// BeginInvoiceRunInput names the run.
type BeginInvoiceRunInput struct {
	OrgID      uuid.UUID
	Month      string
	StartedBy  *uuid.UUID
	WorkflowID string
}

// BeginInvoiceRunResult is the run's row as the workflow starts.
type BeginInvoiceRunResult struct {
	RunID         uuid.UUID
	FamiliesTotal int
	// Completed: this month was invoiced already; the workflow reports the row and stops.
	Completed bool
	Progress  InvoiceRunFigures
}

// InvoiceRunFigures are a run's running totals, written as they are (never added
// to), so a replayed write changes nothing.
type InvoiceRunFigures struct {
	FamiliesDone int
	Invoices     int
	Emailed      int
	ChargesCents int64
	PaidCents    int64
	DueCents     int64
}

// orgPeriod reads the org and its month, refusing a month not over yet.
func (a *Activities) orgPeriod(ctx context.Context, q *db.Queries, orgID uuid.UUID, month string) (db.Org, invoice.Period, error) {
	org, err := q.GetOrg(ctx, orgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return org, invoice.Period{}, temporal.NewNonRetryableApplicationError("unknown org "+orgID.String(), ErrTypeUnknownOrg, err)
	} else if err != nil {
		return org, invoice.Period{}, fmt.Errorf("read org: %w", err)
	}
	loc, err := org.Zone()
	if err != nil {
		return org, invoice.Period{}, fmt.Errorf("org time zone: %w", err)
	}
	p, err := invoice.ParsePeriod(month, loc)
	if err != nil {
		return org, p, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadMonth, nil)
	}
	if !p.Finished(a.now()) {
		return org, p, temporal.NewNonRetryableApplicationError(p.NotFinished(), ErrTypeMonthNotFinished, nil)
	}
	return org, p, nil
}

// BeginInvoiceRun creates or resumes the org's run for the month (one row per org
// and month) and counts the families to look at. A completed run is left as it is.
func (a *Activities) BeginInvoiceRun(ctx context.Context, in BeginInvoiceRunInput) (BeginInvoiceRunResult, error) {
	q := db.New(a.Pool)
	org, p, err := a.orgPeriod(ctx, q, in.OrgID, in.Month)
	if err != nil {
		return BeginInvoiceRunResult{}, err
	}
	total, err := q.CountInvoiceFamilies(ctx, db.CountInvoiceFamiliesParams{
		OrgID: org.ID, PeriodStart: p.Start, PeriodEnd: p.End, FirstDay: p.FirstDay, LastDay: p.LastDay, Horizon: p.Horizon(),
	})
	if err != nil {
		return BeginInvoiceRunResult{}, fmt.Errorf("count families: %w", err)
	}
	var res BeginInvoiceRunResult
	err = a.tx(ctx, func(q *db.Queries) error {
		row, err := q.EnsureInvoiceRun(ctx, db.EnsureInvoiceRunParams{
			ID: uuid.New(), OrgID: org.ID, Month: p.Month, StartedBy: in.StartedBy, WorkflowID: in.WorkflowID,
		})
		if err != nil {
			return fmt.Errorf("invoice run: %w", err)
		}
		if row, err = q.LockInvoiceRun(ctx, row.ID); err != nil {
			return fmt.Errorf("lock invoice run: %w", err)
		}
		res.RunID = row.ID
		if row.Status == db.InvoiceRunStatusCompleted {
			res.Completed, res.FamiliesTotal = true, int(row.FamiliesTotal)
			res.Progress = InvoiceRunFigures{
				FamiliesDone: int(row.FamiliesDone), Invoices: int(row.InvoicesCount), Emailed: int(row.EmailedCount),
				ChargesCents: row.ChargesCents, PaidCents: row.PaidCents, DueCents: row.DueCents,
			}
			return nil
		}
		res.FamiliesTotal = int(total)
		return q.RestartInvoiceRun(ctx, db.RestartInvoiceRunParams{ID: row.ID, FamiliesTotal: int32(total), WorkflowID: in.WorkflowID})
	})
	return res, err
}

// ListInvoiceFamiliesInput asks for the next page of families after a cursor.
type ListInvoiceFamiliesInput struct {
	OrgID uuid.UUID
	Month string
	After uuid.UUID // uuid.Nil for the first page
	Limit int
}

// ListInvoiceFamilies returns the next page of families that may have something to
// invoice, in ID order (keyset pagination: a page costs the same at any depth).
func (a *Activities) ListInvoiceFamilies(ctx context.Context, in ListInvoiceFamiliesInput) ([]uuid.UUID, error) {
	q := db.New(a.Pool)
	org, p, err := a.orgPeriod(ctx, q, in.OrgID, in.Month)
	if err != nil {
		return nil, err
	}
	ids, err := q.ListInvoiceFamilies(ctx, db.ListInvoiceFamiliesParams{
		OrgID: org.ID, After: in.After, PeriodStart: p.Start, PeriodEnd: p.End,
		FirstDay: p.FirstDay, LastDay: p.LastDay, Horizon: p.Horizon(), PageSize: int32(max(in.Limit, 1)),
	})
	if err != nil {
		return nil, fmt.Errorf("list families: %w", err)
	}
	return ids, nil
}

// InvoiceBatch is a few families of a run, invoiced by one activity.
type InvoiceBatch struct {
	RunID     uuid.UUID
	OrgID     uuid.UUID
	Month     string
	FamilyIDs []uuid.UUID
}

// InvoiceBatchResult adds up a batch. Invoices that existed already count as they
// are: a resumed run reports the same totals as an uninterrupted one.
type InvoiceBatchResult struct {
	Families     int
	Invoices     int
	Created      int // numbers consumed by this batch
	ChargesCents int64
	PaidCents    int64
	DueCents     int64
	InvoiceIDs   []uuid.UUID
}

// InvoiceFamilies issues the month's invoice of each family of the batch that has
// something to invoice, each in its own transaction (see InvoiceFamily).
func (a *Activities) InvoiceFamilies(ctx context.Context, b InvoiceBatch) (InvoiceBatchResult, error) {
	q := db.New(a.Pool)
	org, p, err := a.orgPeriod(ctx, q, b.OrgID, b.Month)
	if err != nil {
		return InvoiceBatchResult{}, err
	}
	var res InvoiceBatchResult
	var runID *uuid.UUID
	if b.RunID != uuid.Nil {
		runID = &b.RunID
	}
	for i, fid := range b.FamilyIDs {
		inv, created, ok, err := a.invoiceFamily(ctx, org, p, runID, fid)
		if err != nil {
			return InvoiceBatchResult{}, err
		}
		res.Families++
		if created {
			res.Created++
		}
		if ok {
			res.Invoices++
			res.ChargesCents += inv.TotalCents
			res.PaidCents += inv.PaidCents
			res.DueCents += inv.DueCents
			res.InvoiceIDs = append(res.InvoiceIDs, inv.ID)
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	return res, nil
}

// FamilyInvoice is what InvoiceFamily did for one family.
type FamilyInvoice struct {
	Invoice db.Invoice
	Created bool // a number was consumed by this call
	OK      bool // false: nothing to invoice
}

// InvoiceFamily issues one family's invoice for the month (see invoiceFamily).
func (a *Activities) InvoiceFamily(ctx context.Context, orgID uuid.UUID, month string, familyID uuid.UUID) (FamilyInvoice, error) {
	q := db.New(a.Pool)
	org, p, err := a.orgPeriod(ctx, q, orgID, month)
	if err != nil {
		return FamilyInvoice{}, err
	}
	inv, created, ok, err := a.invoiceFamily(ctx, org, p, nil, familyID)
	return FamilyInvoice{Invoice: inv, Created: created, OK: ok}, err
}

var errInvoiceExists = errors.New("invoice exists")

// invoiceFamily is idempotent: a family's invoice for a month, once issued, is
// returned as it is and consumes no number. A new invoice takes the next number of
// the org's counter for the year of issue in the same transaction as the invoice
// and its lines, so a rollback gives the number back: numbers have no gap. The
// counter row stays locked until that transaction commits, so the statement is
// computed before and the transaction only writes.
func (a *Activities) invoiceFamily(ctx context.Context, org db.Org, p invoice.Period, runID *uuid.UUID, familyID uuid.UUID) (db.Invoice, bool, bool, error) {
	q := db.New(a.Pool)
	for attempt := 1; ; attempt++ {
		inv, err := q.GetFamilyInvoiceForMonth(ctx, db.GetFamilyInvoiceForMonthParams{FamilyID: familyID, Month: p.Month})
		if err == nil {
			return inv, false, true, nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return inv, false, false, fmt.Errorf("read invoice: %w", err)
		}
		st, ok, err := a.statement(ctx, q, org, p, familyID)
		if err != nil || !ok {
			return db.Invoice{}, false, false, err
		}
		inv, err = a.issue(ctx, org, p, runID, familyID, st)
		switch {
		case errors.Is(err, errInvoiceExists):
			continue // another execution issued it meanwhile: return that one
		case isLineTaken(err) && attempt < 3:
			continue // another month's invoice itemized a late entry first: recompute
		case err != nil:
			return db.Invoice{}, false, false, err
		}
		return inv, true, true, nil
	}
}

func (a *Activities) statement(ctx context.Context, q *db.Queries, org db.Org, p invoice.Period, familyID uuid.UUID) (invoice.Statement, bool, error) {
	entries, err := q.ListInvoiceableEntries(ctx, db.ListInvoiceableEntriesParams{FamilyID: familyID, Horizon: p.Horizon(), PeriodEnd: p.End})
	if err != nil {
		return invoice.Statement{}, false, fmt.Errorf("read ledger: %w", err)
	}
	before, err := q.FamilyBalancesBefore(ctx, db.FamilyBalancesBeforeParams{FamilyID: familyID, Before: p.Horizon()})
	if err != nil {
		return invoice.Statement{}, false, fmt.Errorf("read balances: %w", err)
	}
	res, err := q.ListMonthReservationDetails(ctx, db.ListMonthReservationDetailsParams{FamilyID: familyID, FirstDay: p.FirstDay, LastDay: p.LastDay})
	if err != nil {
		return invoice.Statement{}, false, fmt.Errorf("read reservations: %w", err)
	}
	attendances, err := q.ListMonthAttendances(ctx, db.ListMonthAttendancesParams{FamilyID: familyID, FirstDay: p.FirstDay, LastDay: p.LastDay})
	if err != nil {
		return invoice.Statement{}, false, fmt.Errorf("read attendances: %w", err)
	}
	closed := map[string]bool{}
	if hasLateCandidate(entries, p) {
		months, err := q.ClosedInvoiceMonths(ctx, db.ClosedInvoiceMonthsParams{FamilyID: familyID, OrgID: org.ID})
		if err != nil {
			return invoice.Statement{}, false, fmt.Errorf("read closed months: %w", err)
		}
		for _, m := range months {
			closed[m] = true
		}
	}
	st, ok := invoice.Build(invoice.Input{Period: p, Entries: entries, BeforeHorizon: before, Reservations: res, ClosedMonths: closed, Attendances: attendances})
	return st, ok, nil
}

func hasLateCandidate(entries []db.ListInvoiceableEntriesRow, p invoice.Period) bool {
	for _, e := range entries {
		if !e.Itemized && e.OccurredAt.Before(p.Start) {
			return true
		}
	}
	return false
}

func (a *Activities) issue(ctx context.Context, org db.Org, p invoice.Period, runID *uuid.UUID, familyID uuid.UUID, st invoice.Statement) (db.Invoice, error) {
	issuedAt := a.now()
	year := issuedAt.In(p.Loc).Year()
	var inv db.Invoice
	err := a.tx(ctx, func(q *db.Queries) error {
		n, err := q.NextInvoiceNumber(ctx, db.NextInvoiceNumberParams{OrgID: org.ID, Year: int32(year)})
		if err != nil {
			return fmt.Errorf("invoice number: %w", err)
		}
		t := st.Totals
		inv, err = q.InsertInvoice(ctx, db.InsertInvoiceParams{
			ID: uuid.New(), OrgID: org.ID, FamilyID: familyID, RunID: runID, Month: p.Month, Number: invoice.Number(year, n),
			OpeningBalanceCents: t.Opening, TotalCents: t.Charges, CancelledCents: t.Cancelled, PaidCents: t.Paid,
			CreditUsedCents: t.CreditUsed, AdjustmentsCents: t.Adjustments, ClosingBalanceCents: t.Closing, DueCents: t.Due,
			OpeningCreditCents: t.OpeningCredit, CreditEarnedCents: t.CreditEarned, CreditSpentCents: t.CreditSpent,
			ClosingCreditCents: t.ClosingCredit, IssuedAt: issuedAt,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return errInvoiceExists // rolls the number back
		} else if err != nil {
			return fmt.Errorf("insert invoice: %w", err)
		}
		rows := make([]db.InsertInvoiceLinesParams, len(st.Lines))
		for i, l := range st.Lines {
			rows[i] = db.InsertInvoiceLinesParams{
				ID: uuid.New(), InvoiceID: inv.ID, Position: int32(i + 1), Kind: l.Kind, Label: l.Label, Day: l.Day,
				Quantity: 1, UnitCents: l.UnitCents, AmountCents: l.AmountCents, CreditCents: l.CreditCents,
				LedgerEntryID: l.LedgerEntryID, ChildName: l.Child, ServiceName: l.Service, OccurredAt: l.OccurredAt, Late: l.Late,
				AttendanceID: l.AttendanceID,
			}
		}
		if _, err := q.InsertInvoiceLines(ctx, rows); err != nil {
			return fmt.Errorf("insert invoice lines: %w", err)
		}
		return nil
	})
	return inv, err
}

func isLineTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "invoice_lines_ledger_entry_id_key"
}

// InvoiceEmails are invoices of one org to e-mail.
type InvoiceEmails struct {
	OrgID      uuid.UUID
	InvoiceIDs []uuid.UUID
}

// InvoiceEmailsResult counts what happened to each invoice.
type InvoiceEmailsResult struct {
	Sent        int // sent by this call
	AlreadySent int // sent before (a retry, or a resumed run)
	NoEmail     int // the family has no address
}

// SendInvoiceEmails e-mails each invoice with its PDF, once (see SendInvoiceEmail).
func (a *Activities) SendInvoiceEmails(ctx context.Context, in InvoiceEmails) (InvoiceEmailsResult, error) {
	var res InvoiceEmailsResult
	for i, id := range in.InvoiceIDs {
		outcome, err := a.SendInvoiceEmail(ctx, in.OrgID, id)
		if err != nil {
			return res, err
		}
		switch outcome {
		case EmailSent:
			res.Sent++
		case EmailAlreadySent:
			res.AlreadySent++
		case EmailNoAddress:
			res.NoEmail++
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	return res, nil
}

// What SendInvoiceEmail did.
const (
	EmailSent        = "sent"
	EmailAlreadySent = "already_sent"
	EmailNoAddress   = "no_address"
)

// SendInvoiceEmail e-mails an invoice with its PDF attached, exactly once: the
// outbound_emails row keyed "invoice:<id>" records that it left, and a retry after
// a crash between sending and recording sends the same message again with the
// same Message-ID (the outbox file is replaced), as for receipts.
func (a *Activities) SendInvoiceEmail(ctx context.Context, orgID, invoiceID uuid.UUID) (string, error) {
	q := db.New(a.Pool)
	inv, err := q.GetInvoice(ctx, db.GetInvoiceParams{OrgID: orgID, ID: invoiceID})
	if err != nil {
		return "", fmt.Errorf("read invoice %s: %w", invoiceID, err)
	}
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: orgID, ID: inv.FamilyID})
	if err != nil {
		return "", fmt.Errorf("read family: %w", err)
	}
	to := strings.TrimSpace(fam.Email)
	if to == "" {
		return EmailNoAddress, nil
	}
	key := "invoice:" + inv.ID.String()
	p, err := invoice.ParsePeriod(inv.Month, time.UTC)
	if err != nil {
		return "", err
	}
	month := document.OfMonth(p.FirstDay) // « d'octobre 2026 »
	subject := "Votre facture " + month + " (" + inv.Number + ")"
	sent, err := mail.Once(ctx, q, a.Mail, orgID, key, to, subject, func() (mail.Message, error) {
		return a.invoiceMail(ctx, q, orgID, inv, month)
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("invoice %s: %w", inv.Number, err)
	case !sent:
		return EmailAlreadySent, nil
	}
	return EmailSent, nil
}

// invoiceMail is the e-mail of an invoice, its PDF attached.
func (a *Activities) invoiceMail(ctx context.Context, q *db.Queries, orgID uuid.UUID, inv db.Invoice, month string) (mail.Message, error) {
	pdf, err := invoice.Render(ctx, q, inv)
	if err != nil {
		return mail.Message{}, err
	}
	org, err := q.GetOrg(ctx, orgID)
	if err != nil {
		return mail.Message{}, fmt.Errorf("read org: %w", err)
	}
	var body strings.Builder
	fmt.Fprintf(&body, "Bonjour,\n\nVotre facture n° %s du mois %s auprès de %s est disponible ; vous la trouverez en pièce jointe et dans votre espace famille.\n\n",
		inv.Number, month, org.Name)
	fmt.Fprintf(&body, "Réservations du mois : %s\nPaiements reçus : %s\nReste à payer : %s\n",
		document.Euros(inv.TotalCents), document.Euros(inv.PaidCents), document.Euros(inv.DueCents))
	if inv.DueCents > 0 {
		body.WriteString("\nLe reste à payer sera ajouté à votre prochain panier ; vous pouvez aussi le régler dès maintenant depuis votre espace famille.\n")
	}
	body.WriteString("\nCordialement,\nLe service Enfance\n")
	return mail.Message{Text: body.String(),
		Attachments: []mail.Attachment{{Filename: "facture-" + inv.Number + ".pdf", ContentType: "application/pdf", Data: pdf}}}, nil
}

// SaveInvoiceRunProgressInput is a run's figures after a page.
type SaveInvoiceRunProgressInput struct {
	RunID   uuid.UUID
	Figures InvoiceRunFigures
}

// SaveInvoiceRunProgress writes a running run's figures to its row, where the API reads them.
func (a *Activities) SaveInvoiceRunProgress(ctx context.Context, in SaveInvoiceRunProgressInput) error {
	f := in.Figures
	if err := db.New(a.Pool).SetInvoiceRunProgress(ctx, db.SetInvoiceRunProgressParams{
		ID: in.RunID, FamiliesDone: int32(f.FamiliesDone), InvoicesCount: int32(f.Invoices), EmailedCount: int32(f.Emailed),
		ChargesCents: f.ChargesCents, PaidCents: f.PaidCents, DueCents: f.DueCents,
	}); err != nil {
		return fmt.Errorf("save run progress: %w", err)
	}
	return nil
}

// FinishInvoiceRunInput closes a run.
type FinishInvoiceRunInput struct {
	RunID   uuid.UUID
	Status  string // completed or failed
	Error   string
	Figures InvoiceRunFigures
}

// FinishInvoiceRun writes the run's last figures and its outcome.
func (a *Activities) FinishInvoiceRun(ctx context.Context, in FinishInvoiceRunInput) error {
	return a.tx(ctx, func(q *db.Queries) error {
		f := in.Figures
		if err := q.SetInvoiceRunProgress(ctx, db.SetInvoiceRunProgressParams{
			ID: in.RunID, FamiliesDone: int32(f.FamiliesDone), InvoicesCount: int32(f.Invoices), EmailedCount: int32(f.Emailed),
			ChargesCents: f.ChargesCents, PaidCents: f.PaidCents, DueCents: f.DueCents,
		}); err != nil {
			return fmt.Errorf("save run figures: %w", err)
		}
		if err := q.FinishInvoiceRun(ctx, db.FinishInvoiceRunParams{ID: in.RunID, Status: db.InvoiceRunStatus(in.Status), Error: in.Error}); err != nil {
			return fmt.Errorf("finish run: %w", err)
		}
		return nil
	})
}
