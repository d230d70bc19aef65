package payfip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sent is what the engine stored when it created the payment, and whether test
// payments count where it runs.
type Sent struct {
	IDOp, Numcli, Refdet string
	Exer                 int
	AmountCents          int64
	Saisie               string
	CreatedAt            time.Time
	// TestPayments is true outside ENFANCE_ENV=production (dev, tests): there a
	// test (T) answer to a T request is a (test) payment. In production (false, the
	// zero value) a T answer is never a payment, whatever was sent.
	TestPayments bool
}

// Status is the engine's reading of a payment attempt.
type Status string

// Statuses returned by Evaluate.
const (
	StatusPaid      Status = "paid"
	StatusRefused   Status = "refused"
	StatusAbandoned Status = "abandoned"
	StatusPending   Status = "pending" // not finished yet: poll again
	StatusExpired   Status = "expired" // the idOp is dead, no payment happened
	StatusError     Status = "error"   // cannot tell, or the answer does not match: poll again / operator
)

// Outcome is the result of Evaluate.
type Outcome struct {
	Status Status
	// Reason says in plain words why the attempt is not paid, or what did not
	// match; empty when paid normally. Safe to log (no e-mail, no card data).
	Reason     string
	PaidAt     time.Time // when paid, from dattrans/heurtrans (Europe/Paris)
	Numauto    string
	Resultrans string
}

// PendingWindow is how long after creation a P5 ("result not known") still means
// the payer may be on the payment page; later it means the attempt expired.
const PendingWindow = 20 * time.Minute

var paris = mustLoadParis()

func mustLoadParis() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil { // cannot happen: time/tzdata is embedded
		panic(err)
	}
	return loc
}

// Evaluate reads the answer (d, callErr) of PaymentDetail for the attempt sent
// at now:
//   - a *Fault P5: pending while now−CreatedAt < 20 min, then expired;
//   - a *Fault P1: expired; any other fault or error: error;
//   - otherwise the detail must match what was sent (idOp, numcli, refdet, exer,
//     montant, saisie) — whatever resultrans says, a mismatch is an error, and a
//     T (test) answer to a W (production) request is never a payment;
//   - a T answer is an error too unless sent.TestPayments: in production no test
//     payment counts, even for an org (mis)configured with saisie T;
//   - then resultrans P,V → paid; R,Z → refused; A → abandoned; other → error.
func Evaluate(sent Sent, d Detail, callErr error, now time.Time) Outcome {
	if callErr != nil {
		var f *Fault
		if errors.As(callErr, &f) {
			switch strings.TrimSpace(f.Code) {
			case CodeTransactionNotKnown:
				age := now.Sub(sent.CreatedAt)
				if age < PendingWindow {
					return Outcome{Status: StatusPending, Reason: "PayFiP does not know the result yet (P5): the payer may still be on the payment page"}
				}
				return Outcome{Status: StatusExpired, Reason: fmt.Sprintf("PayFiP still has no result (P5) %s after creation: the payment page has expired", age.Round(time.Minute))}
			case CodeUnknownIDOp:
				return Outcome{Status: StatusExpired, Reason: "PayFiP does not know this idOp (P1): it was never used or has been purged"}
			}
			return Outcome{Status: StatusError, Reason: "PayFiP answered a fault: " + strings.TrimPrefix(f.Error(), "payfip: ")}
		}
		return Outcome{Status: StatusError, Reason: "could not get the payment detail from PayFiP: " + callErr.Error()}
	}

	out := Outcome{Numauto: strings.TrimSpace(d.Numauto), Resultrans: strings.TrimSpace(d.Resultrans)}
	if reason := mismatch(sent, d); reason != "" {
		out.Status = StatusError
		out.Reason = reason
		return out
	}
	if strings.TrimSpace(d.Saisie) == "T" && !sent.TestPayments {
		out.Status = StatusError
		out.Reason = "saisie T: PayFiP answered a test payment, and test payments are never payments in production (ENFANCE_ENV=production); check the org's saisie"
		return out
	}
	switch out.Resultrans {
	case "P", "V":
		out.Status = StatusPaid
		at, err := transTime(d.Dattrans, d.Heurtrans)
		if err != nil {
			// The money is taken; an unreadable date must not block it.
			at = now
			out.Reason = "paid, but the transaction date is unreadable (" + err.Error() + "): using the time of this check"
		}
		out.PaidAt = at
	case "R", "Z":
		out.Status = StatusRefused
		if out.Resultrans == "R" {
			out.Reason = "card payment refused (R)"
		} else {
			out.Reason = "direct debit refused (Z)"
		}
	case "A":
		out.Status = StatusAbandoned
		out.Reason = "payment abandoned by the payer (A)"
	default:
		out.Status = StatusError
		out.Reason = fmt.Sprintf("unknown resultrans %q", truncate(out.Resultrans, 16))
	}
	return out
}

// mismatch names the first field of d that does not match sent, or "".
func mismatch(sent Sent, d Detail) string {
	get := strings.TrimSpace
	if got := get(d.IDOp); got != sent.IDOp {
		return fmt.Sprintf("idOp mismatch: PayFiP answered %q, we sent %q", truncate(got, 64), sent.IDOp)
	}
	if got := get(d.Numcli); got != sent.Numcli {
		return fmt.Sprintf("numcli mismatch: PayFiP answered %q, we sent %q", truncate(got, 16), sent.Numcli)
	}
	if got := get(d.Refdet); got != sent.Refdet {
		return fmt.Sprintf("refdet mismatch: PayFiP answered %q, we sent %q", truncate(got, 40), sent.Refdet)
	}
	if got := get(d.Exer); !isDigits(got, len(got)) || got == "" || atoi(got) != int64(sent.Exer) {
		return fmt.Sprintf("exer mismatch: PayFiP answered %q, we sent %d", truncate(got, 16), sent.Exer)
	}
	if got := get(d.Montant); !isDigits(got, len(got)) || got == "" || len(got) > 15 || atoi(got) != sent.AmountCents {
		return fmt.Sprintf("montant mismatch: PayFiP answered %q cents, we sent %d", truncate(got, 20), sent.AmountCents)
	}
	if got := get(d.Saisie); got != sent.Saisie {
		if got == "T" {
			return fmt.Sprintf("saisie mismatch: PayFiP answered a test payment (T) for a real request (%s); this is not a payment", sent.Saisie)
		}
		return fmt.Sprintf("saisie mismatch: PayFiP answered %q, we sent %q", truncate(got, 4), sent.Saisie)
	}
	return ""
}

func atoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// transTime reads dattrans DDMMYYYY and heurtrans HHMM as Europe/Paris time.
func transTime(dattrans, heurtrans string) (time.Time, error) {
	dattrans, heurtrans = strings.TrimSpace(dattrans), strings.TrimSpace(heurtrans)
	if !isDigits(dattrans, 8) || !isDigits(heurtrans, 4) {
		return time.Time{}, fmt.Errorf("dattrans %q heurtrans %q", truncate(dattrans, 12), truncate(heurtrans, 8))
	}
	t, err := time.ParseInLocation("020120061504", dattrans+heurtrans, paris)
	if err != nil {
		return time.Time{}, fmt.Errorf("dattrans %q heurtrans %q", dattrans, heurtrans)
	}
	return t, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
