package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
)

// Free is a family's balances as a new payment or a staff movement may use them:
// the ledger's, less what the payments in progress have frozen (the outstanding
// balance they are paying, the cagnotte they are spending).
type Free struct {
	OutstandingCents int64 // may be negative when more was paid than owed
	CreditCents      int64
}

// Owed reads Free in q's transaction: what the family owes minus what a checkout
// in progress froze, and likewise its cagnotte. The attempts of exceptCart are not
// counted: a cart's own checkout does not hold against itself. Writers call it
// with the family locked (LockFamily), so that no checkout freezes the same money
// meanwhile.
func Owed(ctx context.Context, q *db.Queries, familyID uuid.UUID, exceptCart *uuid.UUID) (Free, error) {
	bal, err := q.FamilyBalances(ctx, familyID)
	if err != nil {
		return Free{}, fmt.Errorf("balances: %w", err)
	}
	pending, err := q.PendingPayments(ctx, db.PendingPaymentsParams{FamilyID: familyID, ExceptCart: exceptCart})
	if err != nil {
		return Free{}, fmt.Errorf("payments in progress: %w", err)
	}
	return Free{OutstandingCents: bal.OutstandingCents - pending.OutstandingCents, CreditCents: bal.CreditCents - pending.CreditCents}, nil
}

// LockFamily takes the family's money lock: every writer that reads its balances
// before writing the ledger holds it first (then, if it needs them, its attempt
// and its cart), so two of them never settle the same euro twice.
func LockFamily(ctx context.Context, q *db.Queries, familyID uuid.UUID) error {
	if err := q.LockFamilyForMoney(ctx, familyID); err != nil {
		return fmt.Errorf("lock family: %w", err)
	}
	return nil
}

// LockFamilyAndLiveCart takes LockFamily, then the family's live cart if it has
// one, so that a checkout cannot freeze its balance meanwhile.
func LockFamilyAndLiveCart(ctx context.Context, q *db.Queries, orgID, familyID uuid.UUID) error {
	if err := LockFamily(ctx, q, familyID); err != nil {
		return err
	}
	live, err := q.GetLiveCart(ctx, db.GetLiveCartParams{OrgID: orgID, FamilyID: familyID})
	if db.NotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("live cart: %w", err)
	}
	if _, err := q.LockCart(ctx, live.ID); err != nil {
		return fmt.Errorf("lock cart: %w", err)
	}
	return nil
}

// Charged is money a family was charged and is given back: a reservation's price,
// or what a presence without a reservation cost.
type Charged struct {
	OrgID, FamilyID uuid.UUID
	Cents           int64
	// ToBalance: charged to the outstanding balance (a booking by staff, a
	// presence without a reservation), not paid at a checkout.
	ToBalance bool
	Key       string // of the give-back (CancelKey, AttendanceWithdrawnKey); the cagnotte part gets Key+":credit" when both are written
	Label     string // "Annulation de la réservation du 03/12/2026"
	Reason    string // the reason staff gave, shown to the family with the movement
	// What the entries name.
	ReservationID, AttendanceID *uuid.UUID
}

// GiveBack returns a charge to the family, so that what it owes minus what it
// holds (outstanding − credit) drops by exactly that amount.
//
// Money paid at checkout goes to the cagnotte (CancellationCredit). A charge to
// the outstanding balance is, as long as that balance is unpaid, reversed (an
// Adjustment that lowers the outstanding balance) instead of crediting money the
// family never paid. Only the part the family still owes is reversed —
// outstanding balance already frozen into a payment in progress counts as paid
// (Owed) — and the rest goes to the cagnotte. The family and its live cart are
// locked (LockFamilyAndLiveCart) so two give-backs never reverse the same euro
// twice and no checkout freezes the balance meanwhile.
func GiveBack(ctx context.Context, q *db.Queries, c Charged, by *uuid.UUID, now time.Time) (credited, reversed int64, err error) {
	if c.ToBalance {
		if err := LockFamilyAndLiveCart(ctx, q, c.OrgID, c.FamilyID); err != nil {
			return 0, 0, err
		}
		free, err := Owed(ctx, q, c.FamilyID, nil)
		if err != nil {
			return 0, 0, err
		}
		reversed = min(c.Cents, max(free.OutstandingCents, 0))
	}
	credited = c.Cents - reversed
	key := c.Key
	if reversed > 0 {
		if err := Write(ctx, q, reversal(c, reversed, by, now)); err != nil {
			return 0, 0, err
		}
		key += ":credit"
	}
	if credited > 0 {
		if err := Write(ctx, q, CancellationCredit(c, credited, key, by, now)); err != nil {
			return 0, 0, err
		}
	}
	return credited, reversed, nil
}
