// Package receipt assembles what a settled payment attempt gives the family — its
// PDF and the e-mail that carries it — from PostgreSQL, for the worker that sends
// it and the API that serves the download, so both say the same thing. It says
// exactly what moved: an attestation de paiement when money was paid (online or
// with the cagnotte), a confirmation de réservation when the reservations were
// confirmed and an amount under 1 € carried to the balance (nothing paid), and,
// for a payment that arrived after its cart or its payment had ended, that the
// money went to the cagnotte rather than to reservations.
package receipt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
)

// Doc is the document of one attempt and the e-mail that carries it.
type Doc struct {
	Model    document.Receipt
	Subject  string
	Text     string // the e-mail's body
	Filename string
	PDF      []byte
}

// What happened to the money of an attempt, from its row and the ledger.
type outcome int

const (
	paidOnline   outcome = iota // PayFiP took it and it did what it was for
	paidByCredit                // the cagnotte covered everything: no PayFiP
	carried                     // under 1 € left: confirmed, added to the balance, nothing paid
	credited                    // PayFiP took it after its cart or payment had ended: see the ledger
)

// Build assembles the document of a settled attempt (paid, or settled without PayFiP).
func Build(ctx context.Context, q *db.Queries, att db.PaymentAttempt) (Doc, error) {
	if att.Status != db.AttemptStatusPaid && att.Status != db.AttemptStatusSettledWithoutPayfip {
		return Doc{}, fmt.Errorf("attempt %s is %s: no receipt", att.ID, att.Status)
	}
	org, err := q.GetOrg(ctx, att.OrgID)
	if err != nil {
		return Doc{}, fmt.Errorf("read org: %w", err)
	}
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: att.OrgID, ID: att.FamilyID})
	if err != nil {
		return Doc{}, fmt.Errorf("read family: %w", err)
	}
	loc, err := org.Zone()
	if err != nil {
		return Doc{}, fmt.Errorf("org time zone: %w", err)
	}
	// A late payment was recorded with a late_payment_credit entry: what it put on
	// the cagnotte (all of it for a cart, what the balance did not need otherwise).
	var creditedCents int64
	late, err := q.GetLedgerEntryByKey(ctx, "late_payment:"+att.ID.String())
	lateFound := err == nil
	switch {
	case lateFound:
		creditedCents = late.CreditCents
	case !errors.Is(err, pgx.ErrNoRows):
		return Doc{}, fmt.Errorf("read ledger: %w", err)
	}
	how := paidOnline
	switch {
	case att.Status == db.AttemptStatusPaid && lateFound:
		how = credited
	case att.Status == db.AttemptStatusSettledWithoutPayfip && att.AmountCents > 0:
		how = carried
	case att.Status == db.AttemptStatusSettledWithoutPayfip:
		how = paidByCredit
	}
	b := builder{att: att, org: org, loc: loc, creditedCents: creditedCents, how: how}
	b.doc.Model = document.Receipt{
		Org:      document.Party{Name: org.Name, Address: []string{org.Address}},
		Family:   document.Party{Name: "Famille " + fam.Name, Address: []string{fam.Address, fam.PostalCode + " " + fam.City}},
		Location: loc,
	}
	if att.Kind == db.AttemptKindCart && att.CartID != nil && how != credited {
		rows, err := q.ListCartReservationDetails(ctx, *att.CartID)
		if err != nil {
			return Doc{}, fmt.Errorf("read reservations: %w", err)
		}
		for _, r := range rows {
			b.doc.Model.Lines = append(b.doc.Model.Lines, document.ReceiptLine{
				Day: r.Day, Child: r.FirstName + " " + r.LastName, Service: r.ServiceName, PriceCents: r.PriceCents,
			})
		}
	}
	b.words()
	if b.doc.PDF, err = document.RenderReceipt(b.doc.Model); err != nil {
		return Doc{}, err
	}
	return b.doc, nil
}

type builder struct {
	att           db.PaymentAttempt
	org           db.Org
	loc           *time.Location
	creditedCents int64
	how           outcome
	doc           Doc
	mail          strings.Builder
}

func (b *builder) at() time.Time {
	switch {
	case b.att.PaidAt != nil:
		return *b.att.PaidAt
	case b.att.SettledAt != nil:
		return *b.att.SettledAt
	}
	return b.att.CreatedAt
}

func (b *builder) total(label string, cents int64, bold bool) {
	b.doc.Model.Totals = append(b.doc.Model.Totals, document.ReceiptTotal{Label: label, Cents: cents, Bold: bold})
}

func (b *builder) line(format string, args ...any) { fmt.Fprintf(&b.mail, format+"\n", args...) }

// words writes the document's title, facts and totals, and the e-mail, for each
// outcome.
func (b *builder) words() {
	att, m := b.att, &b.doc.Model
	when := document.DateTime(b.at(), b.loc)
	online := "Paiement en ligne PayFiP – référence " + att.Refdet + " – autorisation n° " + att.Numauto
	balance := att.Kind == db.AttemptKindBalance
	b.doc.Filename = "attestation-" + att.Refdet + ".pdf"
	b.doc.Subject = "Votre justificatif de paiement"
	m.Title = "Attestation de paiement"
	b.line("Bonjour,\n")

	switch b.how {
	case carried:
		m.Title = "Confirmation de réservation"
		b.doc.Subject = "Confirmation de vos réservations"
		b.doc.Filename = "confirmation-" + att.Refdet + ".pdf"
		m.Facts = []string{
			"Réservations confirmées le " + when + " – référence " + att.Refdet,
			"Aucun paiement n'a été effectué : le paiement en ligne est possible à partir de 1 €. " +
				"Le montant restant, " + document.Euros(att.AmountCents) + ", a été ajouté à votre solde.",
		}
		b.cartTotals()
		b.total("Ajouté à votre solde (non payé)", att.AmountCents, true)
		m.Note = "Ce document confirme les réservations ci-dessus. Il n'atteste d'aucun paiement : le montant ajouté à votre solde " +
			"s'ajoutera à votre prochain panier ; vous pouvez aussi le régler au guichet."
		b.line("Vos réservations auprès de %s sont confirmées.\n", b.org.Name)
		b.line("Le paiement en ligne est possible à partir de 1 € : le montant restant, %s, a été ajouté à votre solde. "+
			"Il s'ajoutera à votre prochain panier ; vous pouvez aussi le régler au guichet.", document.Euros(att.AmountCents))
		if att.CreditUsedCents > 0 {
			b.line("Cagnotte utilisée : %s", document.Euros(att.CreditUsedCents))
		}
		b.line("Référence : %s\n\nVous trouverez en pièce jointe la confirmation de vos réservations.", att.Refdet)

	case credited:
		b.doc.Subject = "Votre paiement a été versé sur votre cagnotte"
		why := "après la fin de votre panier"
		switch {
		case att.AbandonedAt != nil && balance:
			why = "après que vous avez abandonné ce paiement de votre solde"
		case att.AbandonedAt != nil:
			why = "après que vous avez abandonné ce paiement pour modifier votre panier"
		case balance:
			why = "après la clôture de ce paiement de votre solde"
		}
		settled := att.AmountCents - b.creditedCents
		m.Facts = []string{"Paiement du " + when, online}
		if balance {
			m.Facts = append(m.Facts, "Ce paiement nous est parvenu "+why+". Il a été enregistré : "+
				settledAndCredited(settled, b.creditedCents)+".")
			if settled > 0 {
				b.total("Solde réglé", settled, false)
			}
		} else {
			m.Facts = append(m.Facts, "Ce paiement nous est parvenu "+why+" : il n'a confirmé aucune réservation. "+
				"La somme a été versée sur votre cagnotte, déduite automatiquement de vos prochains paiements.")
		}
		b.total("Versé sur votre cagnotte", b.creditedCents, false)
		b.total("Montant payé en ligne", att.AmountCents, true)
		m.Note = "Ce document atteste du paiement ci-dessus et de ce qu'il est devenu. Il vaut justificatif de paiement."
		b.line("Votre paiement en ligne de %s (référence %s) auprès de %s nous est parvenu %s, le %s.\n",
			document.Euros(att.AmountCents), att.Refdet, b.org.Name, why, when)
		if balance {
			b.line("Il a été enregistré : %s.", settledAndCredited(settled, b.creditedCents))
		} else {
			b.line("Les réservations de ce paiement n'ont donc pas été confirmées par lui, mais votre argent n'est pas perdu : " +
				"la somme a été versée sur votre cagnotte. Elle sera déduite automatiquement de votre prochain panier.")
		}
		b.line("\nVous trouverez en pièce jointe l'attestation de ce paiement. Pour toute question, répondez à ce message ou contactez le service Enfance.")

	case paidByCredit:
		what := "Réservations réglées"
		if balance {
			what = "Solde réglé"
		}
		m.Facts = []string{what + " le " + when + " avec votre cagnotte, sans paiement en ligne – référence " + att.Refdet}
		if balance {
			b.total("Solde réglé", att.OutstandingCents, false)
		} else {
			b.cartTotals()
		}
		b.total("Payé en ligne", 0, true)
		m.Note = "Ce document atteste du règlement ci-dessus par votre cagnotte. Il vaut justificatif de paiement."
		if balance {
			b.line("Votre solde auprès de %s a été réglé avec votre cagnotte (%s utilisés), sans paiement en ligne.",
				b.org.Name, document.Euros(att.CreditUsedCents))
		} else {
			b.line("Vos réservations auprès de %s sont confirmées et réglées avec votre cagnotte (%s utilisés), sans paiement en ligne.",
				b.org.Name, document.Euros(att.CreditUsedCents))
		}
		b.line("Référence : %s\n\nVous trouverez en pièce jointe votre attestation de paiement (justificatif).", att.Refdet)

	default: // paid online
		m.Facts = []string{"Paiement du " + when, online}
		if balance {
			b.total("Solde réglé", att.OutstandingCents, false)
			if att.CreditUsedCents > 0 {
				b.total("Cagnotte utilisée", -att.CreditUsedCents, false)
			}
			m.Note = "Ce document atteste du paiement de votre solde. Il vaut justificatif de paiement."
			b.line("Nous vous confirmons le paiement de votre solde auprès de %s.\n", b.org.Name)
		} else {
			b.cartTotals()
			m.Note = "Ce document atteste du paiement des prestations ci-dessus. Il vaut justificatif de paiement."
			b.line("Nous vous confirmons le paiement de vos réservations auprès de %s.\n", b.org.Name)
		}
		b.total("Montant payé en ligne", att.AmountCents, true)
		b.line("Montant payé : %s\nRéférence : %s\nN° d'autorisation : %s\nDate : %s", document.Euros(att.AmountCents), att.Refdet, att.Numauto, when)
		if att.CreditUsedCents > 0 {
			b.line("Cagnotte utilisée : %s", document.Euros(att.CreditUsedCents))
		}
		b.line("\nVous trouverez en pièce jointe votre attestation de paiement (justificatif).")
	}
	b.line("\nCordialement,\nLe service Enfance")
	b.doc.Text = b.mail.String()
}

// cartTotals are a cart's figures as frozen at its checkout.
func (b *builder) cartTotals() {
	b.total("Réservations", b.att.LinesCents, false)
	if b.att.OutstandingCents > 0 {
		b.total("Solde antérieur réglé", b.att.OutstandingCents, false)
	}
	if b.att.CreditUsedCents > 0 {
		b.total("Cagnotte utilisée", -b.att.CreditUsedCents, false)
	}
}

func settledAndCredited(settled, credited int64) string {
	switch {
	case credited == 0:
		return document.Euros(settled) + " ont réglé votre solde"
	case settled == 0:
		return document.Euros(credited) + " ont été versés sur votre cagnotte (votre solde était déjà réglé)"
	}
	return document.Euros(settled) + " ont réglé votre solde et " + document.Euros(credited) + " ont été versés sur votre cagnotte"
}
