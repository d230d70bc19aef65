package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
	"github.com/enfance/enfance/mail"
)

// sendOnce e-mails one message per key (mail.Once): compose writes its text,
// only when it is due.
func (a *Activities) sendOnce(ctx context.Context, q *db.Queries, orgID uuid.UUID, key, to, subject string, compose func() (string, error)) error {
	_, err := mail.Once(ctx, q, a.Mail, orgID, key, to, subject, func() (mail.Message, error) {
		text, err := compose()
		return mail.Message{To: []string{to}, Subject: subject, Text: text}, err
	})
	return err
}

// whenIn is « jeudi 3 décembre 2026 à 14h02 » in loc.
func whenIn(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return fmt.Sprintf("%s à %02dh%02d", document.WeekdayDate(t), t.Hour(), t.Minute())
}

func zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

const signature = "\nCordialement,\nLe service Enfance\n"

// SendWaitlistOffer tells the family a place freed for its child: it is in the
// cart, held until the offer's expiry. An offer already settled (declined at once,
// say) is not announced.
func (a *Activities) SendWaitlistOffer(ctx context.Context, entryID uuid.UUID) error {
	q := db.New(a.Pool)
	e, err := q.GetWaitlistEntryMail(ctx, entryID)
	if err != nil {
		return fmt.Errorf("read entry: %w", err)
	}
	if e.Status != db.WaitlistStatusOffered || strings.TrimSpace(e.Email) == "" {
		return nil
	}
	loc := zone(e.TimeZone)
	day := document.WeekdayDate(e.Day)
	subject := "Une place s'est libérée : " + e.ServiceName + " du " + day
	return a.sendOnce(ctx, q, e.OrgID, "waitlist-offer:"+e.ID.String(), e.Email, subject, func() (string, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "Bonjour,\n\nUne place s'est libérée pour %s au service « %s » le %s : %s était sur la liste d'attente de ce jour.\n\n",
			e.ChildFirstName, e.ServiceName, day, e.ChildFirstName)
		fmt.Fprintf(&b, "Cette place vous est réservée dans votre panier jusqu'au %s (%s). Pour confirmer l'inscription, payez votre panier avant cette heure :\n%s/#/panier\n\n",
			whenIn(*e.OfferExpiresAt, loc), document.Euros(e.PriceCents), a.PublicURL)
		b.WriteString("Sans paiement d'ici là, la place sera proposée à la famille suivante sur la liste. " +
			"Si vous n'en avez plus besoin, retirez-la de votre panier : elle ira tout de suite à la famille suivante.\n")
		b.WriteString(signature)
		return b.String(), nil
	})
}

// SendWaitlistClosed tells each family whose child was still waiting when the
// day's booking deadline closed the list that no place freed in time.
func (a *Activities) SendWaitlistClosed(ctx context.Context, entryIDs []uuid.UUID) error {
	q := db.New(a.Pool)
	for _, id := range entryIDs {
		e, err := q.GetWaitlistEntryMail(ctx, id)
		if err != nil {
			return fmt.Errorf("read entry: %w", err)
		}
		if strings.TrimSpace(e.Email) == "" {
			continue
		}
		day := document.WeekdayDate(e.Day)
		subject := "Liste d'attente close : " + e.ServiceName + " du " + day
		if err := a.sendOnce(ctx, q, e.OrgID, "waitlist-closed:"+e.ID.String(), e.Email, subject, func() (string, error) {
			return fmt.Sprintf("Bonjour,\n\nAucune place ne s'est libérée pour %s au service « %s » le %s avant la fin du délai de réservation de ce jour. "+
				"La liste d'attente de ce jour est donc close ; rien ne vous est facturé.\n"+signature, e.ChildFirstName, e.ServiceName, day), nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// SendCartReminder e-mails the family, once, that its cart will expire: what it
// holds, the amount due and a link to the cart. Nothing is sent for a cart that is
// no longer open (paid, expired, or being paid) or holds nothing.
func (a *Activities) SendCartReminder(ctx context.Context, cartID uuid.UUID) error {
	q := db.New(a.Pool)
	c, err := q.GetCart(ctx, cartID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read cart: %w", err)
	}
	if c.Status != db.CartStatusOpen {
		return nil
	}
	lines, err := q.ListCartLinesToRemind(ctx, cartID)
	if err != nil {
		return fmt.Errorf("read lines: %w", err)
	}
	if len(lines) == 0 {
		return nil
	}
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: c.OrgID, ID: c.FamilyID})
	if err != nil {
		return fmt.Errorf("read family: %w", err)
	}
	if strings.TrimSpace(fam.Email) == "" {
		return nil
	}
	org, err := q.GetOrg(ctx, c.OrgID)
	if err != nil {
		return fmt.Errorf("read org: %w", err)
	}
	loc := zone(org.TimeZone)
	subject := "Votre panier expire le " + whenIn(c.ExpiresAt, loc)
	return a.sendOnce(ctx, q, c.OrgID, "cart-reminder:"+c.ID.String(), fam.Email, subject, func() (string, error) {
		v, err := a.cartStore().Get(ctx, cart.Family{OrgID: c.OrgID, ID: c.FamilyID})
		if err != nil {
			return "", err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Bonjour,\n\nVotre panier sur le portail famille de %s contient des réservations qui ne sont pas encore payées. "+
			"Sans paiement, il sera vidé le %s et ces places seront libérées pour d'autres familles.\n\nDans votre panier :\n", org.Name, whenIn(c.ExpiresAt, loc))
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s, %s, %s : %s", l.ChildFirstName, l.ServiceName, document.WeekdayDate(l.Day), document.Euros(l.PriceCents))
			if l.OfferExpiresAt != nil {
				fmt.Fprintf(&b, " (place de la liste d'attente, réservée jusqu'au %s)", whenIn(*l.OfferExpiresAt, loc))
			}
			b.WriteString("\n")
		}
		t := v.Totals
		fmt.Fprintf(&b, "\nRéservations : %s\n", document.Euros(t.SubtotalCents))
		if t.OutstandingAddedCents > 0 {
			fmt.Fprintf(&b, "Solde antérieur à régler : %s\n", document.Euros(t.OutstandingAddedCents))
		}
		if t.CreditAppliedCents > 0 {
			fmt.Fprintf(&b, "Cagnotte utilisée : -%s\n", document.Euros(t.CreditAppliedCents))
		}
		fmt.Fprintf(&b, "Montant à payer : %s\n\nPour payer votre panier : %s/#/panier\n", document.Euros(t.TotalDueCents), a.PublicURL)
		b.WriteString(signature)
		return b.String(), nil
	})
}

// cartStore reads carts as the family sees them (totals included).
func (a *Activities) cartStore() *cart.Store {
	if a.Waitlists != nil && a.Waitlists.Carts != nil {
		return a.Waitlists.Carts
	}
	return &cart.Store{Pool: a.Pool, Now: a.Now}
}
