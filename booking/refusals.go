package booking

import "github.com/enfance/enfance/document"

// Why a payment cannot start, one catalogue for the API (the code is its problem
// type), the cart and balance workflows (their validators refuse on what the API
// read) and the activities (which check again under lock): the same code, the same
// sentence for the family, wherever the refusal is decided.
const (
	EmptyCart           = "cart-empty"                  // nothing in the cart to pay
	NothingToPay        = "nothing-to-pay"              // no line and no balance
	NoEmail             = "no-email"                    // no address for the receipt
	CartClosed          = "cart-closed"                 // paid or expired meanwhile
	NothingDue          = "nothing-due"                 // the balance paid alone: nothing owed
	BalanceInProgress   = "balance-payment-in-progress" // … already being paid
	BalanceUnderMinimum = "balance-under-minimum"       // … under PayFiP's 1 € once the cagnotte is used
)

var refusals = map[string]struct{ title, message string }{
	EmptyCart:    {"Votre panier est vide", "Ajoutez des jours à réserver avant de payer."},
	NothingToPay: {"Rien à payer", "Votre panier est vide et vous n'avez aucun solde à régler."},
	NoEmail: {"Adresse e-mail manquante",
		"Aucune adresse e-mail n'est connue pour votre famille : renseignez-la dans votre fiche famille avant de payer."},
	CartClosed: {"Panier clos", "Ce panier n'est plus ouvert au paiement."},
	NothingDue: {"Aucun solde à régler", "Votre compte n'a pas de solde à régler."},
	BalanceInProgress: {"Paiement déjà en cours", "Votre solde est déjà en cours de paiement (sur PayFiP, ou avec votre panier) : " +
		"terminez ou abandonnez ce paiement avant d'en commencer un autre."},
	BalanceUnderMinimum: {"Paiement en ligne impossible sous 1 €", "Le paiement en ligne est possible à partir de 1 €."},
}

// RefusalTitle is the refusal's title, as a problem shows it.
func RefusalTitle(code string) string { return refusals[code].title }

// RefusalMessage is the sentence the family reads.
func RefusalMessage(code string) string { return refusals[code].message }

// CheckoutRefusal says why a cart's checkout cannot start ("" when it can): no
// line and no outstanding balance to pay, or no e-mail address for the receipt.
func CheckoutRefusal(lines int, outstandingCents int64, hasEmail bool) string {
	switch {
	case lines == 0 && outstandingCents <= 0:
		return NothingToPay
	case !hasEmail:
		return NoEmail
	}
	return ""
}

// BalanceRefusal says why the balance cannot be paid alone now, with the French
// sentence the family reads ("" when it can be paid): nothing owed, already being
// paid (by a cart's checkout or another payment of the balance), or less than
// PayFiP's 1 € left once the cagnotte is used (quote: what paying it would ask).
func BalanceRefusal(outstandingCents int64, quote Totals) (code, message string) {
	switch {
	case outstandingCents <= 0:
		return NothingDue, RefusalMessage(NothingDue)
	case quote.OutstandingAddedCents <= 0:
		return BalanceInProgress, RefusalMessage(BalanceInProgress)
	case HowToSettle(quote.TotalDueCents) == SettleCarried:
		return BalanceUnderMinimum, "Le paiement en ligne est possible à partir de 1 € : les " + document.Euros(quote.TotalDueCents) +
			" qui restent à régler s'ajouteront à votre prochain panier ; vous pouvez aussi les régler au guichet."
	}
	return "", ""
}
