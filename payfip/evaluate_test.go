package payfip_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/enfance/enfance/payfip"
)

var created = time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC) // 10:00 in Paris (CEST)

func baseSent(saisie string) payfip.Sent {
	return payfip.Sent{IDOp: "cc0cb210-1cd4-11ea-8cca-0213ad91a103", Numcli: "006270", Refdet: "ABC123XYZ", Exer: 2025,
		AmountCents: 4250, Saisie: saisie, CreatedAt: created, TestPayments: true}
}

func detailFor(s payfip.Sent, resultrans string) payfip.Detail {
	d := payfip.Detail{IDOp: s.IDOp, Numcli: s.Numcli, Refdet: s.Refdet, Exer: fmt.Sprint(s.Exer), Montant: fmt.Sprint(s.AmountCents),
		Mel: "parent@example.org", Objet: "Cantine", Saisie: s.Saisie, Resultrans: resultrans, Dattrans: "01072025", Heurtrans: "1007"}
	if resultrans == "P" || resultrans == "V" {
		d.Numauto = "112233445566-tip"
	}
	return d
}

func TestEvaluateResults(t *testing.T) {
	now := created.Add(10 * time.Minute)
	for _, saisie := range []string{"T", "X", "W"} {
		for _, c := range []struct {
			resultrans string
			want       payfip.Status
		}{
			{"P", payfip.StatusPaid}, {"V", payfip.StatusPaid},
			{"R", payfip.StatusRefused}, {"Z", payfip.StatusRefused},
			{"A", payfip.StatusAbandoned},
			{"", payfip.StatusError}, {"X", payfip.StatusError}, {"p", payfip.StatusError}, {"PP", payfip.StatusError},
		} {
			s := baseSent(saisie)
			o := payfip.Evaluate(s, detailFor(s, c.resultrans), nil, now)
			if o.Status != c.want {
				t.Errorf("saisie %s resultrans %q: %+v, want %s", saisie, c.resultrans, o, c.want)
				continue
			}
			if o.Resultrans != c.resultrans {
				t.Errorf("Resultrans %q", o.Resultrans)
			}
			if c.want == payfip.StatusPaid {
				// 10:07 Paris summer time = 08:07 UTC.
				if !o.PaidAt.Equal(time.Date(2025, 7, 1, 8, 7, 0, 0, time.UTC)) || o.Numauto != "112233445566-tip" || o.Reason != "" {
					t.Errorf("paid outcome %+v", o)
				}
			} else {
				if !o.PaidAt.IsZero() {
					t.Errorf("PaidAt set on %s", c.want)
				}
				if o.Reason == "" {
					t.Errorf("%s without a Reason", c.want)
				}
			}
		}
	}
}

func TestEvaluateMismatches(t *testing.T) {
	now := created.Add(5 * time.Minute)
	mismatches := []struct {
		field string
		mod   func(d *payfip.Detail)
	}{
		{"idOp", func(d *payfip.Detail) { d.IDOp = "other" }},
		{"idOp", func(d *payfip.Detail) { d.IDOp = "" }},
		{"numcli", func(d *payfip.Detail) { d.Numcli = "6270" }}, // leading zeros matter
		{"numcli", func(d *payfip.Detail) { d.Numcli = "123456" }},
		{"refdet", func(d *payfip.Detail) { d.Refdet = "abc123xyz" }},
		{"refdet", func(d *payfip.Detail) { d.Refdet = "" }},
		{"exer", func(d *payfip.Detail) { d.Exer = "2024" }},
		{"exer", func(d *payfip.Detail) { d.Exer = "" }},
		{"exer", func(d *payfip.Detail) { d.Exer = "20x5" }},
		{"montant", func(d *payfip.Detail) { d.Montant = "4251" }},
		{"montant", func(d *payfip.Detail) { d.Montant = "42.50" }},
		{"montant", func(d *payfip.Detail) { d.Montant = "-4250" }},
		{"montant", func(d *payfip.Detail) { d.Montant = "" }},
		{"montant", func(d *payfip.Detail) { d.Montant = "99999999999999999999999" }},
		{"saisie", func(d *payfip.Detail) { d.Saisie = "T" }},
		{"saisie", func(d *payfip.Detail) { d.Saisie = "" }},
	}
	for _, res := range []string{"P", "V", "R", "Z", "A", "?"} {
		for _, m := range mismatches {
			s := baseSent("W")
			d := detailFor(s, res)
			m.mod(&d)
			o := payfip.Evaluate(s, d, nil, now)
			if o.Status != payfip.StatusError {
				t.Errorf("resultrans %s, bad %s (%+v): status %s, want error", res, m.field, d, o.Status)
				continue
			}
			if !strings.HasPrefix(o.Reason, m.field+" mismatch") {
				t.Errorf("resultrans %s, bad %s: Reason %q does not name the field first", res, m.field, o.Reason)
			}
			if !o.PaidAt.IsZero() {
				t.Errorf("PaidAt set on a mismatch")
			}
		}
	}
	// Surrounding white space and leading zeros in numbers are not mismatches.
	s := baseSent("W")
	d := detailFor(s, "P")
	d.IDOp, d.Montant, d.Exer = " "+d.IDOp+"\n", "004250", " 2025 "
	if o := payfip.Evaluate(s, d, nil, now); o.Status != payfip.StatusPaid {
		t.Fatalf("%+v", o)
	}
}

func TestEvaluateTestResultInProduction(t *testing.T) {
	for _, res := range []string{"P", "V"} {
		s := baseSent("W")
		d := detailFor(s, res)
		d.Saisie = "T"
		o := payfip.Evaluate(s, d, nil, created)
		if o.Status != payfip.StatusError || !strings.Contains(o.Reason, "test payment") {
			t.Fatalf("%s with saisie T on W: %+v", res, o)
		}
	}
	// T on T is a (test) payment outside production.
	s := baseSent("T")
	if o := payfip.Evaluate(s, detailFor(s, "P"), nil, created); o.Status != payfip.StatusPaid {
		t.Fatalf("T on T: %+v", o)
	}
}

// In ENFANCE_ENV=production (TestPayments false, the zero value) a test answer is
// never a payment, whatever was sent — even T for an org configured with saisie T
// — and whatever it says; W and X payments are unaffected.
func TestEvaluateNoTestPaymentInProduction(t *testing.T) {
	for _, sent := range []string{"T", "W", "X"} {
		for _, res := range []string{"P", "V", "R", "A"} {
			s := baseSent(sent)
			s.TestPayments = false
			d := detailFor(s, res)
			d.Saisie = "T"
			o := payfip.Evaluate(s, d, nil, created)
			if o.Status != payfip.StatusError || !strings.Contains(o.Reason, "test payment") || !o.PaidAt.IsZero() {
				t.Errorf("sent %s, answered T %s in production: %+v", sent, res, o)
			}
		}
		s := baseSent(sent)
		s.TestPayments = false
		if o := payfip.Evaluate(s, detailFor(s, "P"), nil, created); (sent == "T") == (o.Status == payfip.StatusPaid) {
			t.Errorf("sent %s answered %s P in production: %+v", sent, sent, o)
		}
	}
}

func TestEvaluateFaults(t *testing.T) {
	s := baseSent("W")
	fault := func(typ, code string) error { return &payfip.Fault{Type: typ, Code: code, Libelle: "x"} }
	for _, c := range []struct {
		name string
		err  error
		age  time.Duration
		want payfip.Status
	}{
		{"P5 just created", fault(payfip.FaultFonctionnelle, "P5"), 0, payfip.StatusPending},
		{"P5 at 19m59s", fault(payfip.FaultFonctionnelle, "P5"), 20*time.Minute - time.Second, payfip.StatusPending},
		{"P5 at 20m", fault(payfip.FaultFonctionnelle, "P5"), 20 * time.Minute, payfip.StatusExpired},
		{"P5 after 3h", fault(payfip.FaultFonctionnelle, "P5"), 3 * time.Hour, payfip.StatusExpired},
		{"P5 wrapped", fmt.Errorf("activity: %w", fault(payfip.FaultFonctionnelle, "P5")), time.Minute, payfip.StatusPending},
		{"P1 just created", fault(payfip.FaultFonctionnelle, "P1"), 0, payfip.StatusExpired},
		{"P1 later", fault(payfip.FaultFonctionnelle, "P1"), time.Hour, payfip.StatusExpired},
		{"other functional fault", fault(payfip.FaultFonctionnelle, "R3"), time.Minute, payfip.StatusError},
		{"technical fault", fault(payfip.FaultTechIndisponible, "999"), time.Minute, payfip.StatusError},
		{"fault without detail", &payfip.Fault{Message: "boom", FaultString: "boom"}, time.Minute, payfip.StatusError},
		{"transport error", errors.New("dial tcp: connection refused"), time.Minute, payfip.StatusError},
	} {
		// A detail that would be "paid" must be ignored when the call failed.
		o := payfip.Evaluate(s, detailFor(s, "P"), c.err, created.Add(c.age))
		if o.Status != c.want {
			t.Errorf("%s: %+v, want %s", c.name, o, c.want)
		}
		if o.Reason == "" {
			t.Errorf("%s: no Reason", c.name)
		}
		if c.want == payfip.StatusError && !strings.Contains(o.Reason, "PayFiP") {
			t.Errorf("%s: Reason %q does not say what failed", c.name, o.Reason)
		}
	}
}

func TestEvaluatePaidAt(t *testing.T) {
	s := baseSent("W")
	for _, c := range []struct {
		dattrans, heurtrans string
		want                time.Time
	}{
		{"15012025", "2359", time.Date(2025, 1, 15, 22, 59, 0, 0, time.UTC)}, // winter: UTC+1
		{"15072025", "0005", time.Date(2025, 7, 14, 22, 5, 0, 0, time.UTC)},  // summer: UTC+2, previous UTC day
	} {
		d := detailFor(s, "P")
		d.Dattrans, d.Heurtrans = c.dattrans, c.heurtrans
		if o := payfip.Evaluate(s, d, nil, created); o.Status != payfip.StatusPaid || !o.PaidAt.Equal(c.want) {
			t.Errorf("%s %s: %+v, want %v", c.dattrans, c.heurtrans, o, c.want)
		}
	}
	// Unreadable date: still paid (the money is taken), PaidAt = now, Reason says so.
	d := detailFor(s, "P")
	d.Dattrans = "2025-07-01"
	now := created.Add(7 * time.Minute)
	if o := payfip.Evaluate(s, d, nil, now); o.Status != payfip.StatusPaid || !o.PaidAt.Equal(now) || !strings.Contains(o.Reason, "unreadable") {
		t.Errorf("unreadable date: %+v", o)
	}
}
