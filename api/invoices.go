package api

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
	"github.com/enfance/enfance/invoice"
	"github.com/enfance/enfance/workflows"
)

// Month-end invoicing (packages invoice and workflows): the family's invoices,
// finance's runs and month export. /invoices/:file is "<id>.pdf" (see fileID).
func (s *Server) invoiceRoutes(r routes) {
	r.fam.GET("/invoices", s.listInvoices)
	r.fam.GET("/invoices/:file", s.invoicePDF)
	r.money.GET("/families/:id/invoices", s.staffFamilyInvoices)
	r.money.POST("/invoice-runs", s.startInvoiceRun)
	r.money.GET("/invoice-runs", s.listInvoiceRuns)
	r.money.GET("/invoice-runs/:id", s.getInvoiceRun)
	r.money.GET("/invoices/:file", s.adminInvoicePDF)
	r.money.GET("/exports/:file", s.exportMonth)
}

type invoiceJSON struct {
	ID                  uuid.UUID `json:"id"`
	Number              string    `json:"number"`
	Month               string    `json:"month"`
	TotalCents          int64     `json:"total_cents"` // the month's reservations and charges
	DueCents            int64     `json:"due_cents"`   // left to pay: max(closing balance, 0)
	PaidCents           int64     `json:"paid_cents"`
	OpeningBalanceCents int64     `json:"opening_balance_cents"`
	ClosingBalanceCents int64     `json:"closing_balance_cents"`
	ClosingCreditCents  int64     `json:"closing_credit_cents"`
	IssuedAt            time.Time `json:"issued_at"`
	PDF                 string    `json:"pdf"`
}

// listInvoices is the family's monthly invoices, newest first.
func (s *Server) listInvoices(c *gin.Context) {
	who := callerOf(c)
	rows, err := s.invoices.FamilyInvoices(c, who.OrgID, *who.FamilyID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]invoiceJSON, 0, len(rows))
	for _, i := range rows {
		out = append(out, invoiceJSON{
			ID: i.ID, Number: i.Number, Month: i.Month, TotalCents: i.TotalCents, DueCents: i.DueCents, PaidCents: i.PaidCents,
			OpeningBalanceCents: i.OpeningBalanceCents, ClosingBalanceCents: i.ClosingBalanceCents,
			ClosingCreditCents: i.ClosingCreditCents, IssuedAt: i.IssuedAt, PDF: "/api/v1/invoices/" + i.ID.String() + ".pdf",
		})
	}
	c.JSON(http.StatusOK, out)
}

// invoicePDF serves one of the family's invoices.
func (s *Server) invoicePDF(c *gin.Context) { s.sendInvoicePDF(c, callerOf(c).FamilyID) }

// adminInvoicePDF serves any invoice of the org, for finance.
func (s *Server) adminInvoicePDF(c *gin.Context) { s.sendInvoicePDF(c, nil) }

// sendInvoicePDF serves the :file invoice of the caller's org, of familyID if given.
func (s *Server) sendInvoicePDF(c *gin.Context, familyID *uuid.UUID) {
	id, ok := fileID(c, ".pdf")
	if !ok {
		fail(c, s.log, errNotFound)
		return
	}
	inv, pdf, err := s.invoices.PDF(c, callerOf(c).OrgID, familyID, id)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="facture-`+inv.Number+`.pdf"`)
	c.Data(http.StatusOK, "application/pdf", pdf)
}

type invoiceLineJSON struct {
	Kind        string  `json:"kind"`
	Label       string  `json:"label"`
	Date        *string `json:"date"`
	Child       string  `json:"child,omitempty"`
	Service     string  `json:"service,omitempty"`
	UnitCents   int64   `json:"unit_cents"`
	AmountCents int64   `json:"amount_cents"` // effect on the amount owed
	CreditCents int64   `json:"credit_cents"` // effect on the cagnotte
	Late        bool    `json:"late"`
}

type staffInvoiceJSON struct {
	invoiceJSON
	CancelledCents     int64             `json:"cancelled_cents"`
	CreditUsedCents    int64             `json:"credit_used_cents"`
	AdjustmentsCents   int64             `json:"adjustments_cents"`
	OpeningCreditCents int64             `json:"opening_credit_cents"`
	Lines              []invoiceLineJSON `json:"lines"`
}

// staffFamilyInvoices is a family's invoices with their lines, newest first
// (finance, admin): what the PDF prints, as data.
func (s *Server) staffFamilyInvoices(c *gin.Context) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	rows, err := s.invoices.FamilyInvoicesWithLines(c, callerOf(c).OrgID, ids[0])
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]staffInvoiceJSON, 0, len(rows))
	for _, i := range rows {
		lines := i.Lines
		inv := staffInvoiceJSON{
			invoiceJSON: invoiceJSON{ID: i.ID, Number: i.Number, Month: i.Month, TotalCents: i.TotalCents, DueCents: i.DueCents,
				PaidCents: i.PaidCents, OpeningBalanceCents: i.OpeningBalanceCents, ClosingBalanceCents: i.ClosingBalanceCents,
				ClosingCreditCents: i.ClosingCreditCents, IssuedAt: i.IssuedAt, PDF: "/api/v1/admin/invoices/" + i.ID.String() + ".pdf"},
			CancelledCents: i.CancelledCents, CreditUsedCents: i.CreditUsedCents, AdjustmentsCents: i.AdjustmentsCents,
			OpeningCreditCents: i.OpeningCreditCents, Lines: make([]invoiceLineJSON, 0, len(lines)),
		}
		for _, l := range lines {
			lj := invoiceLineJSON{Kind: l.Kind, Label: l.Label, Child: l.ChildName, Service: l.ServiceName, UnitCents: l.UnitCents,
				AmountCents: l.AmountCents, CreditCents: l.CreditCents, Late: l.Late}
			if l.Day != nil {
				d := l.Day.Format(time.DateOnly)
				lj.Date = &d
			}
			inv.Lines = append(inv.Lines, lj)
		}
		out = append(out, inv)
	}
	c.JSON(http.StatusOK, out)
}

type invoiceRunJSON struct {
	ID            uuid.UUID  `json:"id"`
	Month         string     `json:"month"`
	Status        string     `json:"status"` // running, completed or failed
	FamiliesTotal int        `json:"families_total"`
	FamiliesDone  int        `json:"families_done"`
	InvoicesCount int        `json:"invoices_count"`
	EmailedCount  int        `json:"emailed_count"`
	TotalCents    int64      `json:"total_cents"` // reservations and charges invoiced
	PaidCents     int64      `json:"paid_cents"`
	DueCents      int64      `json:"due_cents"`
	StartedAt     time.Time  `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
	WorkflowID    string     `json:"workflow_id"`
	Details       string     `json:"details,omitempty"`
	Error         string     `json:"error,omitempty"`
}

func runJSON(r db.InvoiceRun) invoiceRunJSON {
	return invoiceRunJSON{
		ID: r.ID, Month: r.Month, Status: string(r.Status), FamiliesTotal: int(r.FamiliesTotal), FamiliesDone: int(r.FamiliesDone),
		InvoicesCount: int(r.InvoicesCount), EmailedCount: int(r.EmailedCount), TotalCents: r.ChargesCents,
		PaidCents: r.PaidCents, DueCents: r.DueCents, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		WorkflowID: workflows.InvoiceRunWorkflowID(r.OrgID, r.Month), Error: r.Error,
	}
}

// orgPeriod reads a month of the caller's org, answering the problem itself.
func (s *Server) orgPeriod(c *gin.Context, month string) (invoice.Period, bool) {
	p, err := s.invoices.Period(c, callerOf(c).OrgID, month)
	if err != nil {
		fail(c, s.log, err)
		return p, false
	}
	return p, true
}

// startInvoiceRun starts the month's run, or answers the run already there: one
// run per org and month (workflow invoice-run:<org>:<month>). A running run is
// joined, a failed one started again (it resumes), a completed one returned.
func (s *Server) startInvoiceRun(c *gin.Context) {
	who := callerOf(c)
	var req struct {
		Month string `json:"month"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu : {\"month\": \"AAAA-MM\"}.", FieldError{Field: "month", Message: invoice.ErrBadMonth}))
		return
	}
	p, ok := s.orgPeriod(c, req.Month)
	if !ok {
		return
	}
	if !p.Finished(s.now()) {
		fail(c, s.log, problem(http.StatusUnprocessableEntity, "month-not-finished", "Mois non terminé", p.NotFinished()))
		return
	}
	if row, err := s.invoices.RunOf(c, who.OrgID, p.Month); err == nil && row.Status == db.InvoiceRunStatusCompleted {
		c.JSON(http.StatusOK, runJSON(row))
		return
	} else if err != nil && !errors.Is(err, invoice.ErrNotFound) {
		fail(c, s.log, err)
		return
	}
	run, err := workflows.StartInvoiceRun(c, s.temporal, s.cfg.TemporalTaskQueue, workflows.InvoiceRunInput{
		OrgID: who.OrgID, Month: p.Month, StartedBy: &who.UserID,
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	// The workflow writes the same row first thing; whoever comes second finds it.
	row, err := s.invoices.EnsureRun(c, who.OrgID, p.Month, &who.UserID, workflows.InvoiceRunWorkflowID(who.OrgID, p.Month))
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := runJSON(row)
	status := http.StatusOK
	if run != nil {
		// Started or joined: running, whatever an earlier failed execution left in the row.
		out.Status, status = workflows.RunRunning, http.StatusAccepted
		out.FinishedAt, out.Error = nil, ""
	}
	c.Header("Location", "/api/v1/admin/invoice-runs/"+row.ID.String())
	c.JSON(status, out)
}

// getInvoiceRun reads the run's row and, while its workflow runs, the live
// figures from its progress query; a workflow that ended without completing
// (failed, terminated, timed out) is reported as failed.
func (s *Server) getInvoiceRun(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	row, err := s.invoices.Run(c, callerOf(c).OrgID, id)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := runJSON(row)
	if row.Status == db.InvoiceRunStatusRunning {
		s.liveRun(c, &out)
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) liveRun(c *gin.Context, out *invoiceRunJSON) {
	ctx, cancel := context.WithTimeout(c, 3*time.Second)
	defer cancel()
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, out.WorkflowID, "")
	if err != nil {
		return // Temporal unreachable or the run not started yet: the row is what we know
	}
	switch desc.GetWorkflowExecutionInfo().GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return
	default:
		out.Status = workflows.RunFailed
		return
	}
	v, err := s.temporal.QueryWorkflow(ctx, out.WorkflowID, "", workflows.InvoiceRunQuery)
	if err != nil {
		return
	}
	var p workflows.InvoiceRunProgress
	if err := v.Get(&p); err != nil || p.FamiliesDone < out.FamiliesDone {
		return
	}
	out.FamiliesDone, out.InvoicesCount, out.EmailedCount = p.FamiliesDone, p.Invoices, p.Emailed
	out.TotalCents, out.PaidCents, out.DueCents, out.Details = p.ChargesCents, p.PaidCents, p.DueCents, p.Details
	if p.FamiliesTotal > 0 {
		out.FamiliesTotal = p.FamiliesTotal
	}
}

// listInvoiceRuns is the org's runs, newest month first.
func (s *Server) listInvoiceRuns(c *gin.Context) {
	rows, err := s.invoices.Runs(c, callerOf(c).OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]invoiceRunJSON, 0, len(rows))
	for _, r := range rows {
		out = append(out, runJSON(r))
	}
	c.JSON(http.StatusOK, out)
}

// exportColumns of GET /admin/exports/{YYYY-MM}.csv, one row per invoice of the
// month, then one per payment received in the month (online and at the desk),
// then one per attendance the month's invoices list: a child absent without a
// cancellation ("absence": montant is the reservation's price, which stays due)
// and a child present without a reservation ("presence_non_reservee": montant is
// what the service's rule charged, 0,00 when it charges nothing).
// Semicolon-separated, UTF-8 with a byte-order mark, CRLF line ends, amounts in
// euros with a decimal comma and no thousands separator (1234,56), dates
// JJ/MM/AAAA in the org's zone: what a French spreadsheet opens as numbers and
// dates. Cells that do not apply to a row's type are empty.
var exportColumns = []string{
	"type",              // facture | paiement | absence | presence_non_reservee
	"date",              // issue date of the invoice, date of the payment, or day of the attendance
	"numero",            // invoice number (also of an attendance's invoice), or the payment's reference (PayFiP refdet; L<ledger id> at the desk)
	"famille",           // family name
	"famille_id",        // family UUID
	"libelle",           // "Facture de novembre 2026", the payment's label, or child, service and reason of an attendance
	"mode",              // payment method: payfip, especes, cheque … (payments only)
	"solde_anterieur",   // outstanding balance at the start of the month
	"reservations",      // reservations and charges of the month
	"annulations",       // unpaid bookings cancelled (deducted from the balance)
	"paiements",         // payments received in the month
	"cagnotte_utilisee", // cagnotte spent
	"regularisations",   // other adjustments, signed
	"solde_fin_de_mois", // outstanding balance at the end of the month
	"reste_a_payer",     // max(solde_fin_de_mois, 0)
	"montant",           // invoice: reservations; payment: the whole amount received (a surplus to the cagnotte included)
	"facture",           // payment: the invoice that itemizes it, when issued
}

func euroCell(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d,%02d", sign, cents/100, cents%100)
}

// exportMonth is the month's invoices and payments as CSV for finance.
func (s *Server) exportMonth(c *gin.Context) {
	who := callerOf(c)
	month, ok := strings.CutSuffix(c.Param("file"), ".csv")
	if !ok {
		fail(c, s.log, errNotFound)
		return
	}
	p, ok := s.orgPeriod(c, month)
	if !ok {
		return
	}
	m, err := s.invoices.Month(c, who.OrgID, p)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	var b strings.Builder
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.Comma, w.UseCRLF = ';', true
	_ = w.Write(exportColumns)
	label := "Facture " + document.OfMonth(p.FirstDay)
	for _, i := range m.Invoices {
		_ = w.Write([]string{
			"facture", document.ShortDate(i.IssuedAt.In(p.Loc)), i.Number, i.FamilyName, i.FamilyID.String(), label, "",
			euroCell(i.OpeningBalanceCents), euroCell(i.TotalCents), euroCell(i.CancelledCents), euroCell(i.PaidCents),
			euroCell(i.CreditUsedCents), euroCell(i.AdjustmentsCents), euroCell(i.ClosingBalanceCents), euroCell(i.DueCents),
			euroCell(i.TotalCents), "",
		})
	}
	for _, pm := range m.Payments {
		ref := pm.Refdet
		if ref == "" {
			ref = fmt.Sprintf("L%d", pm.ID)
		}
		_ = w.Write([]string{
			"paiement", document.ShortDate(pm.OccurredAt.In(p.Loc)), ref, pm.FamilyName, pm.FamilyID.String(), pm.Label, pm.Method,
			"", "", "", "", "", "", "", "", euroCell(pm.ReceivedCents), pm.InvoiceNumber,
		})
	}
	for _, a := range m.Attendances {
		kind, amount := "presence_non_reservee", a.AmountCents
		switch a.Kind {
		case invoice.KindAbsence:
			kind, amount = "absence", a.UnitCents
		case invoice.KindUnbookedInfo:
			amount = 0 // free by the rule, or charged on another invoice
		}
		day := ""
		if a.Day != nil {
			day = document.ShortDate(*a.Day)
		}
		_ = w.Write([]string{
			kind, day, a.InvoiceNumber, a.FamilyName, a.FamilyID.String(), a.ChildName + ", " + a.ServiceName + " : " + a.Label, "",
			"", "", "", "", "", "", "", "", euroCell(amount), a.InvoiceNumber,
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		fail(c, s.log, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="factures-paiements-`+p.Month+`.csv"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}
