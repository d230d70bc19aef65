package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
)

// Desk money (finance and admin): payments handed in at the desk and adjustments.
// Each write carries its client's Idempotency-Key (DeskKey): a retried request
// answers the entry the first one wrote instead of writing a second.

// MaxDeskCents bounds one desk movement: beyond 100 000 €, a typo rather than money.
const MaxDeskCents = 100_000_00

// Errors the API maps.
var (
	ErrNotFound  = errors.New("family not found")
	ErrKeyReused = errors.New("idempotency key already used for another write")
)

// TooLowError refuses an adjustment that would take a balance below zero,
// counting what the payments in progress hold.
type TooLowError struct {
	Target         string // credit or outstanding
	AvailableCents int64
}

func (e *TooLowError) Error() string {
	return fmt.Sprintf("%s would go below zero (%d cents available)", e.Target, e.AvailableCents)
}

// Store runs the desk's transactions.
type Store struct {
	Pool *pgxpool.Pool
	Now  db.Clock // nil: the system's
}

// Written is a desk write and the family's balances after it.
type Written struct {
	Entry    db.LedgerEntry
	Balances db.FamilyBalancesRow
	Replayed bool // the key had been used by the same write: nothing new was written
}

// DeskPaymentInput is cash or a cheque handed in at the desk.
type DeskPaymentInput struct {
	AmountCents int64  `json:"amount_cents"`
	Method      string `json:"method"` // cash or cheque
	Reference   string `json:"reference"`
}

// DeskPayment records a payment at the desk for a family of the actor's org. It
// pays what the family owes; anything beyond goes to its cagnotte, so no cent is
// lost to a negative balance. Outstanding balance frozen into a payment in
// progress counts as being paid already. Audited.
func (s *Store) DeskPayment(ctx context.Context, by audit.Actor, familyID uuid.UUID, clientKey string, in DeskPaymentInput) (Written, error) {
	in.Reference = strings.TrimSpace(in.Reference)
	var bad check.Fields
	if in.AmountCents <= 0 || in.AmountCents > MaxDeskCents {
		bad.Add("amount_cents", "montant en centimes, positif, 100 000 € au plus")
	}
	if in.Method != "cash" && in.Method != "cheque" {
		bad.Add("method", "cash ou cheque")
	}
	bad.Add("reference", check.MaxLen(100)(in.Reference))
	if err := bad.Err("Règlement invalide."); err != nil {
		return Written{}, err
	}
	label := "Règlement au guichet en espèces"
	if in.Method == "cheque" {
		label = "Règlement au guichet par chèque"
	}
	if in.Reference != "" {
		label += " (" + in.Reference + ")"
	}
	return s.write(ctx, by, familyID, DeskKey(db.LedgerKindDeskPayment, familyID, clientKey),
		func(e db.LedgerEntry) bool {
			return e.CreditCents-e.OutstandingCents == in.AmountCents && e.Method == in.Method
		},
		func(free Free, key string) (Entry, error) {
			toOwed := min(in.AmountCents, max(free.OutstandingCents, 0))
			return DeskPayment(by.OrgID, familyID, in.AmountCents, toOwed, in.Method, label, key, by.UserID, s.Now.Time()), nil
		},
		func(e db.LedgerEntry) any {
			return map[string]any{"ledger_entry_id": e.ID, "amount_cents": in.AmountCents, "method": in.Method, "reference": in.Reference,
				"outstanding_cents": e.OutstandingCents, "credit_cents": e.CreditCents}
		})
}

// AdjustmentInput corrects one balance with a reason: AmountCents is added to
// Target (credit: the cagnotte; outstanding: what the family owes).
type AdjustmentInput struct {
	AmountCents int64  `json:"amount_cents"`
	Target      string `json:"target"`
	Reason      string `json:"reason"`
}

// Adjust records an adjustment of a family of the actor's org. Neither balance may
// go below zero, counting what a payment in progress already holds (*TooLowError).
// Audited.
func (s *Store) Adjust(ctx context.Context, by audit.Actor, familyID uuid.UUID, clientKey string, in AdjustmentInput) (Written, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	var bad check.Fields
	if in.AmountCents == 0 || in.AmountCents > MaxDeskCents || in.AmountCents < -MaxDeskCents {
		bad.Add("amount_cents", "montant en centimes, non nul, ±100 000 € au plus")
	}
	if in.Target != "credit" && in.Target != "outstanding" {
		bad.Add("target", "credit ou outstanding")
	}
	if msg := check.Required(500)(in.Reason); msg != "" {
		bad.Add("reason", "motif "+msg)
	}
	if err := bad.Err("Régularisation invalide."); err != nil {
		return Written{}, err
	}
	return s.write(ctx, by, familyID, DeskKey(db.LedgerKindAdjustment, familyID, clientKey),
		func(e db.LedgerEntry) bool {
			if in.Target == "credit" {
				return e.CreditCents == in.AmountCents && e.OutstandingCents == 0
			}
			return e.OutstandingCents == in.AmountCents && e.CreditCents == 0
		},
		func(free Free, key string) (Entry, error) {
			outstanding, credit, left := in.AmountCents, int64(0), free.OutstandingCents
			if in.Target == "credit" {
				outstanding, credit, left = 0, in.AmountCents, free.CreditCents
			}
			if left+in.AmountCents < 0 {
				return Entry{}, &TooLowError{Target: in.Target, AvailableCents: max(left, 0)}
			}
			return Adjustment(by.OrgID, familyID, outstanding, credit, key, "Régularisation : "+in.Reason, in.Reason, &by.UserID, s.Now.Time()), nil
		},
		func(e db.LedgerEntry) any {
			return map[string]any{"ledger_entry_id": e.ID, "target": in.Target, "amount_cents": in.AmountCents, "reason": in.Reason}
		})
}

// write runs one desk write under key: build decides the entry from what the
// locked family owes and holds; a key already used answers its entry, or
// ErrKeyReused when it was used for another write (same says which).
func (s *Store) write(ctx context.Context, by audit.Actor, familyID uuid.UUID, key string, same func(db.LedgerEntry) bool,
	build func(free Free, key string) (Entry, error), auditOf func(db.LedgerEntry) any) (Written, error) {
	var out Written
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		// The family's lock serialises the writers that read its balances first.
		if _, err := q.LockFamily(ctx, db.LockFamilyParams{OrgID: by.OrgID, ID: familyID}); db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock family: %w", err)
		}
		prev, err := q.GetLedgerEntryByKey(ctx, key)
		switch {
		case err == nil:
			out.Entry, out.Replayed = prev, true
		case !db.NotFound(err):
			return fmt.Errorf("read ledger: %w", err)
		default:
			free, err := Owed(ctx, q, familyID, nil)
			if err != nil {
				return err
			}
			e, err := build(free, key)
			if err != nil {
				return err
			}
			if out.Entry, err = q.InsertDeskLedgerEntry(ctx, db.InsertDeskLedgerEntryParams(e.p)); err != nil {
				return fmt.Errorf("ledger %s: %w", key, err)
			}
			if err := audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "ledger." + string(out.Entry.Kind),
				Entity: "family", EntityID: familyID.String(), After: auditOf(out.Entry), At: s.Now.Time()}); err != nil {
				return err
			}
		}
		out.Balances, err = q.FamilyBalances(ctx, familyID)
		return err
	})
	if err != nil {
		return Written{}, err
	}
	if out.Replayed && (out.Entry.FamilyID != familyID || !same(out.Entry)) {
		return Written{}, ErrKeyReused
	}
	return out, nil
}

// History is a family's ledger, oldest first, with the day each movement
// concerns (Days, by entry id).
type History struct {
	Entries []db.LedgerEntry
	Days    map[int64]Day
}

// Day is what a movement concerns: a child's day on a service, booked (its
// charge, its cancellation) or present without a reservation.
type Day struct {
	Date           time.Time
	ChildID        uuid.UUID
	ChildFirstName string
	ServiceID      uuid.UUID
	ServiceName    string
}

// History is a family of the org's ledger (ErrNotFound for another org's family).
func (s *Store) History(ctx context.Context, orgID, familyID uuid.UUID) (History, error) {
	q := db.New(s.Pool)
	if _, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: orgID, ID: familyID}); db.NotFound(err) {
		return History{}, ErrNotFound
	} else if err != nil {
		return History{}, fmt.Errorf("read family: %w", err)
	}
	entries, err := q.ListFamilyLedger(ctx, db.ListFamilyLedgerParams{OrgID: orgID, FamilyID: familyID})
	if err != nil {
		return History{}, fmt.Errorf("read ledger: %w", err)
	}
	// Read after the entries, without a transaction: the ledger is append-only and
	// its reservations and presences are never deleted, so every entry read above
	// finds its day here (one written in between has no row above to go to).
	rows, err := q.ListFamilyLedgerDays(ctx, db.ListFamilyLedgerDaysParams{OrgID: orgID, FamilyID: familyID})
	if err != nil {
		return History{}, fmt.Errorf("read ledger days: %w", err)
	}
	days := make(map[int64]Day, len(rows))
	for _, r := range rows {
		days[r.EntryID] = Day{Date: r.Day, ChildID: r.ChildID, ChildFirstName: r.ChildFirstName, ServiceID: r.ServiceID, ServiceName: r.ServiceName}
	}
	return History{Entries: entries, Days: days}, nil
}
