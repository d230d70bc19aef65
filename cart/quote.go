package cart

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
	"github.com/enfance/enfance/ledger"
)

// Quote is what a checkout would freeze now: the lines (none when the balance is
// paid alone), plus the free outstanding balance, less the free cagnotte. The cart
// view, the cart's checkout and the payment of the balance alone all use it.
func Quote(ctx context.Context, q *db.Queries, familyID uuid.UUID, cartID *uuid.UUID, linesCents int64) (booking.Totals, error) {
	free, err := ledger.Owed(ctx, q, familyID, cartID)
	if err != nil {
		return booking.Totals{}, err
	}
	return booking.ComputeTotals(linesCents, free.OutstandingCents, free.CreditCents), nil
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

// Why a payment of the balance alone is refused (problem types of the API).
const (
	BalanceNothingDue    = "nothing-due"
	BalanceInProgress    = "balance-payment-in-progress"
	BalanceUnderMinimum  = "balance-under-minimum"
	minimumOnlinePayment = "Le paiement en ligne est possible à partir de 1 €"
)

// BalanceRefusal says why the balance cannot be paid alone now, with the French
// sentence the family reads ("" when it can be paid): nothing owed, already being
// paid (by a cart's checkout or another payment of the balance), or less than
// PayFiP's 1 € left once the cagnotte is used. The API asks before starting a
// payment, the activity again under the family's lock.
func BalanceRefusal(outstandingCents int64, quote booking.Totals) (code, message string) {
	switch {
	case outstandingCents <= 0:
		return BalanceNothingDue, "Votre compte n'a pas de solde à régler."
	case quote.OutstandingAddedCents <= 0:
		return BalanceInProgress, "Votre solde est déjà en cours de paiement (sur PayFiP, ou avec votre panier) : " +
			"terminez ou abandonnez ce paiement avant d'en commencer un autre."
	case booking.HowToSettle(quote.TotalDueCents) == booking.SettleCarried:
		return BalanceUnderMinimum, minimumOnlinePayment + " : les " + document.Euros(quote.TotalDueCents) +
			" qui restent à régler s'ajouteront à votre prochain panier ; vous pouvez aussi les régler au guichet."
	}
	return "", ""
}
