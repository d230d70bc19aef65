package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/enfance/enfance/bench"
)

// runBench runs `enfance bench rush`: the opening-day rush against a running stack
// (the `dev` one by default), then the bare PostgreSQL limit, and prints both.
func runBench(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "rush" {
		return fmt.Errorf("usage: enfance bench rush [flags] (see -h)")
	}
	fs := flag.NewFlagSet("bench rush", flag.ContinueOnError)
	o := bench.Options{}
	fs.StringVar(&o.APIURL, "api", "http://localhost:8080", "API base URL, or several separated by commas (enfance cluster: http://localhost:8080,http://localhost:8081): parents are spread over them and retry on the next one")
	fs.StringVar(&o.SimURL, "sim", "http://127.0.0.1:8091", "PayFiP simulator base URL (switched to automatic payment)")
	fs.StringVar(&o.DatabaseURL, "database", envOr("DATABASE_URL", "postgres://enfance@127.0.0.1:54329/enfance?sslmode=disable"), "PostgreSQL URL of the stack (to seed families and check invariants)")
	fs.IntVar(&o.Families, "families", 2000, "families N")
	fs.IntVar(&o.Days, "days", 8, "days K booked per family (one on a capacity-limited service)")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "families C at a time")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "longest wait from checkout to paid")
	fs.IntVar(&o.Cancellations, "cancel", 0, "after the rush, this many families cancel the limited day: its waiting list offers the places, which are paid")
	out := fs.String("out", filepath.Join(".data", "bench-rush.json"), "where to write the JSON report")
	skipLimit := fs.Bool("no-limit", false, "skip the bare PostgreSQL limit run")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	fmt.Printf("rush: %d families, %d days each, %d at a time, against %s\n", o.Families, o.Days, o.Concurrency, o.APIURL)
	r, err := bench.Rush(ctx, o)
	if err != nil {
		return err
	}
	if !*skipLimit {
		fmt.Println("limit: the same booking writes in a bare transaction loop…")
		if r.Limit, err = bench.Limit(ctx, o.DatabaseURL, o.Families, o.Days, o.Concurrency); err != nil {
			return fmt.Errorf("limit: %w", err)
		}
		if r.Limit.ReservationsPerSecond > 0 {
			r.EngineVsLimit = float64(r.Reservations) / r.WallSeconds / r.Limit.ReservationsPerSecond
		}
	}
	printReport(r)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Println("report written to", *out)
	if r.OverbookedDays > 0 || r.StuckCarts > 0 || r.LedgerViolations > 0 || r.CountMismatches > 0 || r.WaitlistBroken > 0 {
		return fmt.Errorf("invariants broken: %d overbooked days, %d stuck carts, %d ledger violations, %d capacity mismatches, %d waiting-list violations",
			r.OverbookedDays, r.StuckCarts, r.LedgerViolations, r.CountMismatches, r.WaitlistBroken)
	}
	return nil
}

func printReport(r *bench.Report) {
	fmt.Printf("\nconfirmed carts: %d in %.1f s → %.1f carts/s (%d reservations)\n", r.ConfirmedCarts, r.WallSeconds, r.CartsPerSecond, r.Reservations)
	names := make([]string, 0, len(r.Calls))
	for n := range r.Calls {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Printf("%-18s %7s %9s %9s %9s %9s\n", "call", "count", "p50 ms", "p95 ms", "p99 ms", "max ms")
	for _, n := range names {
		l := r.Calls[n]
		fmt.Printf("%-18s %7d %9.1f %9.1f %9.1f %9.1f\n", n, l.Count, l.P50, l.P95, l.P99, l.Max)
	}
	fmt.Printf("overbooked days: %d   capacity count mismatches: %d   carts neither paid nor open: %d   ledger violations: %d\n",
		r.OverbookedDays, r.CountMismatches, r.StuckCarts, r.LedgerViolations)
	fmt.Printf("waiting list: %d joined, %d offers paid, %d invariant violations\n", r.WaitlistJoined, r.OffersPaid, r.WaitlistBroken)
	fmt.Printf("errors by kind: %v   retries by call (on another API process): %v\n", r.Errors, r.Retries)
	groups := make([]string, 0, len(r.Processes))
	for g := range r.Processes {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		u := r.Processes[g]
		fmt.Printf("%-56s %2d processes  %7.1f s CPU (%5.1f ms per paid cart)  peak RSS ≤ %.0f MB\n", g, u.Processes, u.CPUSeconds, u.CPUMsPerPaidCart, u.PeakRSSMB)
	}
	if r.Limit != nil {
		fmt.Printf("limit (bare PostgreSQL loop): %d reservations in %.1f s → %.0f/s; engine: %.0f/s; engine ÷ limit = %.3f\n",
			r.Limit.Reservations, r.Limit.WallSeconds, r.Limit.ReservationsPerSecond, float64(r.Reservations)/r.WallSeconds, r.EngineVsLimit)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
