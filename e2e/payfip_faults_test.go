package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/payfip/sim"
	"github.com/enfance/enfance/workflows"
)

// PayFiP slow or failing at creation: the family waits or is told to retry, the
// cart is kept, and a later checkout pays it once.
func TestPayFiPSlowOrFailingAtCreation(t *testing.T) {
	s := newStack(t)
	fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
	cart := book(fam, "cantine", 2)

	s.sim.SetFaults(sim.Faults{CreateHTTP500: 1})
	var p problemView
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusConflict, &p)
	if !strings.Contains(p.Detail, "PayFiP") {
		t.Fatalf("HTTP 500 at creation: %+v", p)
	}

	s.sim.SetFaults(sim.Faults{SlowCreate: 1500 * time.Millisecond, SlowDetail: 1500 * time.Millisecond})
	var co checkoutAnswer
	fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
	payOnPage(t, co.PaymentURL, "P")
	if got := s.cartEnds(*cart.ID); got != "paid" {
		t.Fatalf("cart ended %q", got)
	}
	var attempts, paid int
	if err := s.pool.QueryRow(context.Background(),
		`SELECT count(*), count(*) FILTER (WHERE status = 'paid') FROM payment_attempts WHERE cart_id = $1`, *cart.ID).Scan(&attempts, &paid); err != nil {
		t.Fatal(err)
	}
	if attempts != 2 || paid != 1 {
		t.Fatalf("%d attempts (%d paid), want the failed one and one paid", attempts, paid)
	}
	s.assertNothingLost(t)
}

// An answer that does not match what was sent is never a payment: a tampered
// montant, or a test (T) result for an org in production (W); nor is a test
// result in ENFANCE_ENV=production, even for an org set to T. The cart waits for
// an operator; no reservation is confirmed and no payment is written.
func TestPayFiPAnswersThatDoNotMatchAreNeverPaid(t *testing.T) {
	production := func(c *config.Config) { c.Env = "production" }
	for name, tc := range map[string]struct {
		faults  sim.Faults
		options []func(*config.Config)
	}{
		"tampered montant":                 {faults: sim.Faults{TamperMontant: true}},
		"T result for a W org":             {faults: sim.Faults{ForceSaisieT: true}},
		"T result for a T org, production": {options: []func(*config.Config){production}},
	} {
		faults := tc.faults
		t.Run(name, func(t *testing.T) {
			s := newStack(t, tc.options...)
			if faults.ForceSaisieT {
				if _, err := s.pool.Exec(context.Background(), `UPDATE orgs SET saisie = 'W'`); err != nil {
					t.Fatal(err)
				}
			}
			fam := s.login("martin@demo.enfance.test", "demo-martin-2026")
			cart := book(fam, "cantine", 2)
			var co checkoutAnswer
			fam.do(http.MethodPost, "/api/v1/cart/checkout", nil, http.StatusOK, &co)
			s.sim.SetFaults(faults)
			payOnPage(t, co.PaymentURL, "P")

			// The notification makes the workflow read the result; wait until it has.
			id := workflows.CartWorkflowID(uuid.MustParse(*cart.ID))
			deadline := time.Now().Add(20 * time.Second)
			var state workflows.CartState
			for {
				v, err := s.temporal.QueryWorkflow(context.Background(), id, "", workflows.CartQuery)
				if err == nil {
					_ = v.Get(&state)
				}
				if strings.Contains(strings.ToLower(state.Details), "needs attention") || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if !strings.Contains(strings.ToLower(state.Details), "needs attention") {
				t.Fatalf("operators are not told: %+v", state)
			}
			var paid, payments, reservations int
			if err := s.pool.QueryRow(context.Background(), `SELECT
				(SELECT count(*) FROM payment_attempts WHERE cart_id = $1 AND status = 'paid'),
				(SELECT count(*) FROM ledger_entries WHERE kind = 'payment'),
				(SELECT count(*) FROM reservations)`, *cart.ID).Scan(&paid, &payments, &reservations); err != nil {
				t.Fatal(err)
			}
			if paid != 0 || payments != 0 || reservations != 0 || state.Status != workflows.StatusCheckingOut {
				t.Fatalf("a mismatching answer was taken as paid: attempts paid %d, payments %d, reservations %d, cart %s",
					paid, payments, reservations, state.Status)
			}
		})
	}
}
