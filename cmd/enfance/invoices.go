package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/serviceerror"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
	"github.com/enfance/enfance/invoice"
	"github.com/enfance/enfance/workflows"
)

const invoicesUsage = `usage:
  enfance invoices run --org <slug or id> --month YYYY-MM [--wait]
      start (or join) the org's month-end run through Temporal, as POST /api/v1/admin/invoice-runs does
  enfance invoices schedule --org <slug or id> [--paused]
      create the org's Temporal Schedule: the 1st of each month at 06:00 in the org's zone, invoicing the month before`

// runInvoices is `enfance invoices …`: finance's month-end trigger and its schedule.
func runInvoices(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "schedule") {
		return errors.New(invoicesUsage)
	}
	fs := flag.NewFlagSet("invoices "+args[0], flag.ContinueOnError)
	orgFlag := fs.String("org", "", "org slug or UUID")
	month := fs.String("month", "", "month to invoice, YYYY-MM (run)")
	wait := fs.Bool("wait", false, "wait for the run to finish and print its figures (run)")
	paused := fs.Bool("paused", false, "create the schedule paused (schedule)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *orgFlag == "" {
		return errors.New(invoicesUsage)
	}
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg, pool, tc := c.cfg, c.pool, c.temporal
	org, err := findOrg(ctx, db.New(pool), *orgFlag)
	if err != nil {
		return err
	}

	if args[0] == "schedule" {
		if _, err := workflows.CreateInvoiceSchedule(ctx, tc, cfg.TemporalTaskQueue, org.ID, org.TimeZone, *paused); err != nil {
			var exists *serviceerror.AlreadyExists
			if errors.As(err, &exists) {
				return fmt.Errorf("the schedule %s exists already (pause, trigger or delete it in the Temporal UI)", workflows.InvoiceScheduleID(org.ID))
			}
			return fmt.Errorf("create schedule: %w", err)
		}
		state := "active"
		if *paused {
			state = "paused"
		}
		fmt.Printf("schedule %s created (%s): the 1st of each month at 06:00 %s\n", workflows.InvoiceScheduleID(org.ID), state, org.TimeZone)
		return nil
	}

	loc, err := org.Zone()
	if err != nil {
		return fmt.Errorf("org time zone: %w", err)
	}
	p, err := invoice.ParsePeriod(*month, loc)
	if err != nil {
		return fmt.Errorf("--month: %w", err)
	}
	if !p.Finished(time.Now()) {
		return errors.New(p.NotFinished())
	}
	run, err := workflows.StartInvoiceRun(ctx, tc, cfg.TemporalTaskQueue, workflows.InvoiceRunInput{OrgID: org.ID, Month: p.Month})
	if err != nil {
		return err
	}
	id := workflows.InvoiceRunWorkflowID(org.ID, p.Month)
	if run == nil {
		fmt.Printf("the run of %s for %s is already completed (workflow %s)\n", document.MonthName(p.FirstDay), org.Name, id)
		return nil
	}
	fmt.Printf("invoice run of %s for %s: workflow %s\n", document.MonthName(p.FirstDay), org.Name, id)
	if !*wait {
		return nil
	}
	var out workflows.InvoiceRunProgress
	if err := run.Get(ctx, &out); err != nil {
		return fmt.Errorf("invoice run: %w", err)
	}
	fmt.Printf("%s: %d/%d families, %d invoices, %d e-mailed; reservations %s, paid %s, left to pay %s\n", out.Status,
		out.FamiliesDone, out.FamiliesTotal, out.Invoices, out.Emailed,
		document.Euros(out.ChargesCents), document.Euros(out.PaidCents), document.Euros(out.DueCents))
	return nil
}

func findOrg(ctx context.Context, q *db.Queries, slugOrID string) (db.Org, error) {
	var org db.Org
	var err error
	if id, perr := uuid.Parse(slugOrID); perr == nil {
		org, err = q.GetOrg(ctx, id)
	} else {
		org, err = q.GetOrgBySlug(ctx, slugOrID)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return org, fmt.Errorf("no org %q", slugOrID)
	}
	if err != nil {
		return org, fmt.Errorf("read org: %w", err)
	}
	return org, nil
}
