package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
	fs.StringVar(&o.TemporalAddress, "temporal", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend of the stack: each paid cart's history is read back from it (empty: not read)")
	fs.StringVar(&o.TemporalNamespace, "namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace of the carts")
	fs.StringVar(&o.DatabaseURL, "database", envOr("DATABASE_URL", "postgres://enfance@127.0.0.1:54329/enfance?sslmode=disable"), "PostgreSQL URL of the stack (to seed families and check invariants)")
	fs.IntVar(&o.Families, "families", 2000, "families N")
	fs.IntVar(&o.Days, "days", 8, "days K booked per family (one on a capacity-limited service)")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "families C at a time")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "longest wait from checkout to paid")
	fs.IntVar(&o.Cancellations, "cancel", 0, "after the rush, this many families cancel the limited day: its waiting list offers the places, which are paid")
	out := fs.String("out", filepath.Join(".data", "bench-rush.json"), "where to write the JSON report")
	skipLimit := fs.Bool("no-limit", false, "skip the bare PostgreSQL limit run")
	pprof := fs.String("pprof", "", "Go profile base URLs (METRICS_ADDR of the API and worker processes, comma-separated): a CPU profile of each during phase 2 is written beside -out")
	fs.IntVar(&o.ProfileSeconds, "pprof-seconds", 20, "length of the phase 2 CPU profiles")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	o.Profiles = bench.APIs(*pprof)
	o.ProfilePrefix = strings.TrimSuffix(*out, filepath.Ext(*out))
	fmt.Printf("rush: %d families, %d days each, %d at a time, against %s\n", o.Families, o.Days, o.Concurrency, o.APIURL)
	fmt.Println("phase 1: every family logs in; phase 2: at one instant, every parent adds days and pays")
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
		r.Targets = bench.Targets(r)
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
	lp := r.LoginPhase
	fmt.Printf("\nphase 1, logins: %d in %.1f s → %.1f logins/s; p50 %.0f ms, p95 %.0f ms, p99 %.0f ms\n",
		lp.Families, lp.WallSeconds, lp.LoginsPerSecond, lp.Latency.P50, lp.Latency.P95, lp.Latency.P99)
	fmt.Printf("phase 2, the rush: %d carts confirmed in %.1f s → %.1f carts/s (%d reservations)\n", r.ConfirmedCarts, r.WallSeconds, r.CartsPerSecond, r.Reservations)
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
	fmt.Printf("overbooked days: %d   capacity count mismatches: %d   carts neither paid nor open: %d   ledger violations: %d   paid carts without their receipt: %d\n",
		r.OverbookedDays, r.CountMismatches, r.StuckCarts, r.LedgerViolations, r.ReceiptsUnsent)
	fmt.Printf("waiting list: %d joined, %d offers paid, %d invariant violations\n", r.WaitlistJoined, r.OffersPaid, r.WaitlistBroken)
	fmt.Printf("errors by kind: %v   retries by call (on another API process): %v\n", r.Errors, r.Retries)
	if h := r.History; h != nil {
		fmt.Printf("history per paid cart (%d read, %d unread), mean / max: %.1f / %d events, %.1f / %d workflow tasks, %.1f / %d activity tasks, %.1f / %d markers (local activities), %.1f / %d timers, %.1f / %d search attribute upserts\n",
			h.Carts, h.Unread, h.Events.Mean, h.Events.Max, h.WorkflowTasks.Mean, h.WorkflowTasks.Max, h.ActivityTasks.Mean, h.ActivityTasks.Max,
			h.Markers.Mean, h.Markers.Max, h.Timers.Mean, h.Timers.Max, h.Upserts.Mean, h.Upserts.Max)
	}
	fmt.Printf("CPU (processes found by %s):\n", r.ProcessesBy)
	printUsage("phase 2, the rush", r.Processes)
	printUsage("phase 1, logins (per paid cart of phase 2)", r.LoginProcesses)
	if r.Limit != nil {
		fmt.Printf("limit (bare PostgreSQL loop): %d reservations in %.1f s → %.0f/s; engine: %.0f/s; engine ÷ limit = %.3f\n",
			r.Limit.Reservations, r.Limit.WallSeconds, r.Limit.ReservationsPerSecond, float64(r.Reservations)/r.WallSeconds, r.EngineVsLimit)
	}
	fmt.Printf("\n%-88s %12s %10s  %s\n", "target", "value", "target", "")
	for _, t := range r.Targets {
		met := "met"
		if !t.Met {
			met = "NOT met"
		}
		fmt.Printf("%-88s %12s %10s  %s\n", t.Figure, fmt.Sprintf("%.2f %s", t.Value, t.Unit), t.Target, met)
	}
}

func printUsage(phase string, usage map[string]bench.Usage) {
	groups := make([]string, 0, len(usage))
	for g := range usage {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	fmt.Printf("  %s\n", phase)
	for _, g := range groups {
		u := usage[g]
		fmt.Printf("    %-56s %2d processes  %7.1f s CPU (%5.1f ms per paid cart)  peak RSS ≤ %.0f MB\n", g, u.Processes, u.CPUSeconds, u.CPUMsPerPaidCart, u.PeakRSSMB)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
