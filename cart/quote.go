package cart

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/ledger"
)

// Quote is what a checkout would freeze now: the lines (linesCents; none when
// the balance is paid alone), plus the free outstanding balance, less the free
// cagnotte (ledger.Owed; a cart's own checkout, cartID, does not hold against
// itself). The payment of the balance alone uses it; a cart's, QuoteCart.
func Quote(ctx context.Context, q *db.Queries, familyID uuid.UUID, cartID *uuid.UUID, linesCents int64) (booking.Totals, error) {
	free, err := ledger.Owed(ctx, q, familyID, cartID)
	if err != nil {
		return booking.Totals{}, err
	}
	return booking.ComputeTotals(linesCents, free.OutstandingCents, free.CreditCents), nil
}

// CartQuote is what checking out a cart would freeze now: its lines and totals.
type CartQuote struct {
	Lines  []db.CartLine
	Totals booking.Totals
}

// QuoteCart computes a cart's CartQuote in q's transaction: the cart view shows
// it, and the cart's checkout freezes it (activities.PrepareCheckout, with the
// family and the cart locked).
func QuoteCart(ctx context.Context, q *db.Queries, c db.Cart) (CartQuote, error) {
	lines, err := q.ListCartLines(ctx, c.ID)
	if err != nil {
		return CartQuote{}, fmt.Errorf("lines: %w", err)
	}
	var sum int64
	for _, l := range lines {
		sum += l.PriceCents
	}
	totals, err := Quote(ctx, q, c.FamilyID, &c.ID, sum)
	return CartQuote{Lines: lines, Totals: totals}, err
}

// BalanceView is the family's balances and what paying its balance alone would
// ask now, with the payments of its balance still in progress.
type BalanceView struct {
	OutstandingCents int64 // what the ledger says is owed (0 when nothing is)
	CreditCents      int64
	Quote            booking.Totals // of a payment of the balance alone, now
	InProgress       []db.PaymentAttempt
}

// Balance reads the family's BalanceView.
func (s *Store) Balance(ctx context.Context, f Family) (BalanceView, error) {
	q := db.New(s.Pool)
	bal, err := q.FamilyBalances(ctx, f.ID)
	if err != nil {
		return BalanceView{}, fmt.Errorf("balances: %w", err)
	}
	quote, err := Quote(ctx, q, f.ID, nil, 0)
	if err != nil {
		return BalanceView{}, err
	}
	inProgress, err := q.ListBalancePaymentsInProgress(ctx, db.ListBalancePaymentsInProgressParams{OrgID: f.OrgID, FamilyID: f.ID})
	if err != nil {
		return BalanceView{}, fmt.Errorf("balance payments: %w", err)
	}
	return BalanceView{OutstandingCents: max(bal.OutstandingCents, 0), CreditCents: bal.CreditCents, Quote: quote, InProgress: inProgress}, nil
}
