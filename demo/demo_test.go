package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/enfance/enfance/demo"
	"github.com/enfance/enfance/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestDemoLoadsOnceWithTheDocumentedData(t *testing.T) {
	pool, _ := testenv.Database(t)
	ctx := context.Background()
	loaded, err := demo.Load(ctx, pool)
	if err != nil || !loaded {
		t.Fatalf("first load: loaded=%v err=%v", loaded, err)
	}
	loaded, err = demo.Load(ctx, pool)
	if err != nil || loaded {
		t.Fatalf("second load must do nothing: loaded=%v err=%v", loaded, err)
	}

	var orgs, users, numcli, saisie, zone = 0, 0, "", "", ""
	if err := pool.QueryRow(ctx, `SELECT count(*), min(numcli), min(saisie), min(time_zone) FROM orgs`).Scan(&orgs, &numcli, &saisie, &zone); err != nil {
		t.Fatal(err)
	}
	if orgs != 1 || numcli != "123456" || saisie != "T" || zone != "Europe/Paris" {
		t.Fatalf("org: %d %s %s %s", orgs, numcli, saisie, zone)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil || users != 5 {
		t.Fatalf("users: %d %v", users, err)
	}

	families := map[string]struct {
		qf, children int
		credit       int64
	}{"Martin": {650, 2, 0}, "Bernard": {1400, 1, 500}}
	for name, want := range families {
		var qf, children int
		var credit int64
		err := pool.QueryRow(ctx, `SELECT f.qf,
			(SELECT count(*) FROM members m WHERE m.family_id = f.id AND m.kind = 'child'),
			(SELECT COALESCE(sum(credit_cents), 0) FROM ledger_entries l WHERE l.family_id = f.id)
			FROM families f WHERE f.name = $1`, name).Scan(&qf, &children, &credit)
		if err != nil {
			t.Fatal(err)
		}
		if qf != want.qf || children != want.children || credit != want.credit {
			t.Errorf("%s: qf %d, %d children, credit %d; want %+v", name, qf, children, credit, want)
		}
	}

	// Prices by QF bracket and the closed days.
	prices := map[string][]int64{"cantine": {150, 290, 380}, "mercredi": {500, 800, 1200}}
	for code, want := range prices {
		rows, err := pool.Query(ctx, `SELECT p.price_cents FROM service_prices p JOIN services s ON s.id = p.service_id WHERE s.code = $1 ORDER BY p.qf_min`, code)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for rows.Next() {
			var c int64
			_ = rows.Scan(&c)
			got = append(got, c)
		}
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("%s prices %v, want %v", code, got, want)
		}
	}
	for day, open := range map[string]bool{
		"2026-11-10": true,  // a Tuesday in term
		"2026-11-11": false, // Armistice
		"2026-12-22": false, // Christmas holidays
		"2027-05-06": false, // Ascension
		"2027-06-29": true,
	} {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM service_days d JOIN services s ON s.id = d.service_id WHERE s.code = 'cantine' AND d.day = $1`, day).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if (n == 1) != open {
			t.Errorf("cantine on %s: %d service days, want open=%v", day, n, open)
		}
	}
	var capacity int
	if err := pool.QueryRow(ctx, `SELECT min(capacity) FROM service_days d JOIN services s ON s.id = d.service_id WHERE s.code = 'mercredi'`).Scan(&capacity); err != nil || capacity != 24 {
		t.Errorf("mercredis capacity %d (%v), want 24", capacity, err)
	}
}

// dev's full day: the first open Wednesday a fortnight on, its capacity the places
// taken, and no other day touched; after the school year, none.
func TestDemoFullDayIsTheFirstWednesdayAFortnightOn(t *testing.T) {
	pool, _ := testenv.Database(t)
	ctx := context.Background()
	if _, err := demo.Load(ctx, pool); err != nil {
		t.Fatal(err)
	}
	today := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	day, err := demo.FullDay(ctx, pool, today)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 16, 0, 0, 0, 0, time.UTC); !day.Equal(want) {
		t.Fatalf("full day %s, want %s", day, want)
	}
	var full, limited int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE d.capacity = d.taken), count(*) FILTER (WHERE d.capacity IS NOT NULL)
		FROM service_days d JOIN services s ON s.id = d.service_id WHERE s.code = 'mercredi'`).Scan(&full, &limited); err != nil {
		t.Fatal(err)
	}
	if full != 1 || limited < 30 {
		t.Fatalf("%d full Wednesdays of %d limited ones, want the one", full, limited)
	}
	if day, err := demo.FullDay(ctx, pool, demo.YearEnd); err != nil || !day.IsZero() {
		t.Fatalf("after the school year: %s %v", day, err)
	}
}
