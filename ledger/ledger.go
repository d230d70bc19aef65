// Package ledger is the only writer of ledger_entries, the append-only account of
// what each family owes (outstanding) and holds (credit, its cagnotte). Both
// balances are sums of its rows, never stored totals.
//
// Every movement is built by the constructor of its kind (db.LedgerKind: Charge,
// Payment, CreditUsed, CancellationCredit, LatePaymentCredit, DeskPayment,
// Adjustment),
// under the key of its kind: the UNIQUE idempotency_key turns a replayed write into
// a no-op, so a process that dies after writing and retries writes nothing more.
// Owed says what a new payment or a staff movement may still use once the
// payments in progress have frozen their part; LockFamily is the lock every writer
// that reads those balances first holds.
package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
)

// Entry is one movement about to be written. Only this package's constructors make
// one, so every row has a kind, a key of that kind and a label.
type Entry struct{ p db.InsertLedgerEntryParams }

// Key is the entry's idempotency key.
func (e Entry) Key() string { return e.p.IdempotencyKey }

// Write inserts the entries in q's transaction. An entry whose key is already in
// the ledger is not written again.
func Write(ctx context.Context, q *db.Queries, entries ...Entry) error {
	for _, e := range entries {
		if _, err := q.InsertLedgerEntry(ctx, e.p); err != nil {
			return fmt.Errorf("ledger %s: %w", e.p.IdempotencyKey, err)
		}
	}
	return nil
}

// Keys, one builder per kind of movement.

// ChargeKey is the charge of a reservation.
func ChargeKey(reservationID uuid.UUID) string { return "charge:" + reservationID.String() }

// AttendanceKey is the charge of a presence without a reservation.
func AttendanceKey(attendanceID uuid.UUID) string { return "attendance:" + attendanceID.String() }

// AttendanceWithdrawnKey gives that charge back once the presence is taken back.
func AttendanceWithdrawnKey(attendanceID uuid.UUID) string {
	return AttendanceKey(attendanceID) + ":withdrawn"
}

// CancelKey gives a cancelled reservation's price back.
func CancelKey(reservationID uuid.UUID) string { return "cancel:" + reservationID.String() }

// PaymentKey is an attempt's online payment.
func PaymentKey(attemptID uuid.UUID) string { return "payment:" + attemptID.String() }

// CreditUsedKey is the cagnotte an attempt spends.
func CreditUsedKey(attemptID uuid.UUID) string { return "credit_used:" + attemptID.String() }

// LatePaymentKey is an attempt's money credited after its cart or payment ended.
func LatePaymentKey(attemptID uuid.UUID) string { return "late_payment:" + attemptID.String() }

// DeskKey is a desk payment or an adjustment (kind) of a family, under the
// Idempotency-Key its client sent.
func DeskKey(kind db.LedgerKind, familyID uuid.UUID, clientKey string) string {
	return string(kind) + ":" + familyID.String() + ":" + clientKey
}

// day is how a label names a day.
func day(t time.Time) string { return t.Format("02/01/2006") }

// Charge is the price of a reservation confirmed at a checkout of cart cartID.
func Charge(r db.Reservation, cartID uuid.UUID, at time.Time) Entry {
	return Entry{db.InsertLedgerEntryParams{
		OrgID: r.OrgID, FamilyID: r.FamilyID, Kind: db.LedgerKindCharge, OutstandingCents: r.PriceCents,
		IdempotencyKey: ChargeKey(r.ID), ReservationID: &r.ID, CartID: &cartID,
		Label: "Réservation du " + day(r.Day), OccurredAt: at,
	}}
}

// StaffCharge is the price of a reservation that staff member by made on the
// family's behalf, charged to its outstanding balance.
func StaffCharge(r db.Reservation, by uuid.UUID, reason string, at time.Time) Entry {
	return Entry{db.InsertLedgerEntryParams{
		OrgID: r.OrgID, FamilyID: r.FamilyID, Kind: db.LedgerKindCharge, OutstandingCents: r.PriceCents,
		IdempotencyKey: ChargeKey(r.ID), ReservationID: &r.ID, CreatedBy: &by,
		Label: "Réservation du " + day(r.Day) + " faite par le service", Reason: reason, OccurredAt: at,
	}}
}

// AttendanceCharge is what a presence without a reservation costs (cents), ticked
// by staff member by.
func AttendanceCharge(a db.Attendance, cents int64, label string, by uuid.UUID, at time.Time) Entry {
	return Entry{db.InsertLedgerEntryParams{
		OrgID: a.OrgID, FamilyID: a.FamilyID, Kind: db.LedgerKindCharge, OutstandingCents: cents,
		IdempotencyKey: AttendanceKey(a.ID), AttendanceID: &a.ID, CreatedBy: &by,
		Label: label, OccurredAt: at,
	}}
}

// Payment is an attempt PayFiP paid: owed −amount, whoever records it (the
// confirmation of its cart or of its balance payment, or reconciliation).
func Payment(att db.PaymentAttempt, at time.Time) Entry {
	label := "Paiement en ligne PayFiP " + att.Refdet
	if att.Kind == db.AttemptKindBalance {
		label += " (règlement du solde)"
	}
	return Entry{db.InsertLedgerEntryParams{
		OrgID: att.OrgID, FamilyID: att.FamilyID, Kind: db.LedgerKindPayment, OutstandingCents: -att.AmountCents,
		IdempotencyKey: PaymentKey(att.ID), PaymentAttemptID: &att.ID, CartID: att.CartID,
		Label: label, Method: "payfip", OccurredAt: at,
	}}
}

// CreditUsed is the cagnotte an attempt spends: cagnotte −x and owed −x.
func CreditUsed(att db.PaymentAttempt, at time.Time) Entry {
	return Entry{db.InsertLedgerEntryParams{
		OrgID: att.OrgID, FamilyID: att.FamilyID, Kind: db.LedgerKindCreditUsed,
		OutstandingCents: -att.CreditUsedCents, CreditCents: -att.CreditUsedCents,
		IdempotencyKey: CreditUsedKey(att.ID), PaymentAttemptID: &att.ID, CartID: att.CartID,
		Label: "Cagnotte utilisée", OccurredAt: at,
	}}
}

// LatePaymentCredit puts cents of an attempt's money, paid after its cart or its
// payment had ended, on the family's cagnotte (owed +cents, cagnotte +cents: with
// the Payment of the same attempt, what the family owes is as it was).
func LatePaymentCredit(att db.PaymentAttempt, cents int64, at time.Time) Entry {
	return Entry{db.InsertLedgerEntryParams{
		OrgID: att.OrgID, FamilyID: att.FamilyID, Kind: db.LedgerKindLatePaymentCredit,
		OutstandingCents: cents, CreditCents: cents,
		IdempotencyKey: LatePaymentKey(att.ID), PaymentAttemptID: &att.ID, CartID: att.CartID,
		Label: "Paiement PayFiP " + att.Refdet + " reçu " + lateWhy(att) + " : versé à la cagnotte", OccurredAt: at,
	}}
}

// lateWhy says, for the label, when a late payment came.
func lateWhy(att db.PaymentAttempt) string {
	switch {
	case att.AbandonedAt != nil:
		return "après son abandon sur le portail"
	case att.Kind == db.AttemptKindBalance:
		return "après la clôture du paiement du solde"
	}
	return "après la fin du panier"
}

// CancellationCredit gives cents of a charge back to the cagnotte (see GiveBack).
func CancellationCredit(c Charged, cents int64, key string, by *uuid.UUID, at time.Time) Entry {
	return Entry{db.InsertLedgerEntryParams{
		OrgID: c.OrgID, FamilyID: c.FamilyID, Kind: db.LedgerKindCancellationCredit, CreditCents: cents,
		IdempotencyKey: key, ReservationID: c.ReservationID, AttendanceID: c.AttendanceID,
		CreatedBy: by, Reason: c.Reason, Label: c.Label, OccurredAt: at,
	}}
}

// Adjustment is a correction: outstandingCents added to what the family owes,
// creditCents to its cagnotte, by a staff member (nil: the engine) with the reason
// the family reads.
func Adjustment(orgID, familyID uuid.UUID, outstandingCents, creditCents int64, key, label, reason string, by *uuid.UUID, at time.Time) Entry {
	return Entry{db.InsertLedgerEntryParams{
		OrgID: orgID, FamilyID: familyID, Kind: db.LedgerKindAdjustment, OutstandingCents: outstandingCents, CreditCents: creditCents,
		IdempotencyKey: key, CreatedBy: by, Label: label, Reason: reason, OccurredAt: at,
	}}
}

// reversal takes cents of an unpaid charge off the outstanding balance (see GiveBack).
func reversal(c Charged, cents int64, by *uuid.UUID, at time.Time) Entry {
	e := Adjustment(c.OrgID, c.FamilyID, -cents, 0, c.Key, c.Label+" (non réglée)", c.Reason, by, at)
	e.p.ReservationID, e.p.AttendanceID = c.ReservationID, c.AttendanceID
	return e
}

// DeskPayment is cash or a cheque (method) handed in at the desk: toOwed of it
// pays what the family owes, the rest goes to its cagnotte.
func DeskPayment(orgID, familyID uuid.UUID, amountCents, toOwed int64, method, label, key string, by uuid.UUID, at time.Time) Entry {
	return Entry{db.InsertLedgerEntryParams{
		OrgID: orgID, FamilyID: familyID, Kind: db.LedgerKindDeskPayment, OutstandingCents: -toOwed, CreditCents: amountCents - toOwed,
		IdempotencyKey: key, CreatedBy: &by, Label: label, Method: method, OccurredAt: at,
	}}
}
