// Command enfance is the booking and payment engine: one binary, one subcommand per
// process (see `enfance help`).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `enfance — réservation et paiement des services périscolaires

Usage: enfance <command>

  dev          run everything locally (PostgreSQL, Temporal, PayFiP simulator, worker, API, demo data)
  cluster      the production shape locally: Temporal server on PostgreSQL, Web UI, 2 workers, 2 APIs behind a balancer
  api          run the REST API
  worker       run the Temporal worker
  migrate      apply the database migrations
  payfip-sim   run the PayFiP simulator alone
  payfip       PayFiP chores: payfip numcli <numcli> checks a régie's numcli with PayFiP
  bench rush   the opening-day benchmark against a running stack (see README)
  invoices     month-end invoicing: invoices run --org --month, invoices schedule --org

Configuration comes from environment variables; see README.md.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch os.Args[1] {
	case "dev":
		err = runDev(ctx)
	case "cluster":
		err = runCluster(ctx)
	case "api":
		err = runAPI(ctx)
	case "worker":
		err = runWorker(ctx)
	case "migrate":
		err = runMigrate(ctx)
	case "payfip-sim":
		err = runSim(ctx)
	case "payfip":
		err = runPayFiP(ctx, os.Args[2:])
	case "bench":
		err = runBench(ctx, os.Args[2:])
	case "invoices":
		err = runInvoices(ctx, os.Args[2:])
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "enfance:", err)
		os.Exit(1)
	}
}
