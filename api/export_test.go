package api_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The month's CSV shows what a desk payment actually received: 50 € in cash from
// a family owing nothing is 50,00 (all of it to the cagnotte), and 50 € from a
// family owing 20 € is 50,00 too (20 € of balance, 30 € to the cagnotte) — not
// only the part that paid the balance.
func TestExportShowsWhatTheDeskReceived(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	quiet, owing := e.newFamily(org, "Sansdette"), e.newFamily(org, "Endette")
	_, err := e.pool.Exec(e.ctx, `INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, idempotency_key, label)
		VALUES ($1, $2, 'charge', 2000, 'test:charge', 'Réservation')`, org, owing)
	e.must(err)
	finance := e.session(org, "finance", nil)
	for _, fam := range []uuid.UUID{quiet, owing} {
		r := finance.send(http.MethodPost, "/api/v1/admin/families/"+fam.String()+"/payments",
			map[string]any{"amount_cents": 5000, "method": "cash"}, http.Header{"Idempotency-Key": {"desk-" + fam.String()}})
		if r.status != http.StatusCreated {
			t.Fatalf("desk payment: %d %s", r.status, r.body)
		}
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	month := time.Now().In(paris).Format("2006-01")
	r := finance.send(http.MethodGet, "/api/v1/admin/exports/"+month+".csv", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(r.body), "\ufeff")))
	cr.Comma = ';'
	rows, err := cr.ReadAll()
	e.must(err)
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	got := map[string]string{}
	for _, row := range rows[1:] {
		if row[col["type"]] == "paiement" {
			got[row[col["famille"]]] = row[col["montant"]] + " " + row[col["mode"]]
		}
	}
	if got["Sansdette"] != "50,00 cash" || got["Endette"] != "50,00 cash" || len(got) != 2 {
		t.Fatalf("payments in the export: %v\n%s", got, r.body)
	}
}
