package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/waitlist"
)

// Error types of a staff offer by hand, which the API tells apart; their message
// is French, for the back office.
const (
	ErrTypeWaitlistNotFound   = "WaitlistNotFound"
	ErrTypeWaitlistNotWaiting = "WaitlistNotWaiting"
	ErrTypeWaitlistNoPlace    = "WaitlistNoFreePlace"
	ErrTypeWaitlistCartBusy   = "WaitlistCartBusy"
	ErrTypeWaitlistDeadline   = "WaitlistDeadlinePassed"
	ErrTypeWaitlistReason     = "WaitlistReasonRequired"
)

// NewCart is a cart a waiting list opened for an offer: its workflow must start.
type NewCart struct {
	CartID, OrgID, FamilyID uuid.UUID
	ExpiresAt               time.Time
	RemindBefore            time.Duration
}

// OfferMade is one offer a list made, as its workflow follows it.
type OfferMade struct {
	EntryID   uuid.UUID
	ExpiresAt time.Time
	NewCart   *NewCart `json:",omitempty"`
}

// WaitlistOffers is what OfferFreePlaces did, and the list's state after it.
type WaitlistOffers struct {
	Made  []OfferMade
	State waitlist.DayState
	Busy  bool // the next family's cart is being paid: ask again shortly
}

func (a *Activities) made(o waitlist.Offered) OfferMade {
	m := OfferMade{EntryID: o.EntryID, ExpiresAt: o.ExpiresAt}
	if o.CartCreated {
		m.NewCart = &NewCart{CartID: o.Cart.ID, OrgID: o.Cart.OrgID, FamilyID: o.Cart.FamilyID, ExpiresAt: o.Cart.ExpiresAt, RemindBefore: a.CartReminderBefore}
	}
	return m
}

// OfferFreePlaces offers the day's free places to the children waiting first.
// Each offer is its own transaction: a retry after a crash finds the places
// already offered and offers only what is still free.
func (a *Activities) OfferFreePlaces(ctx context.Context, dayID uuid.UUID) (WaitlistOffers, error) {
	res, err := a.Waitlists.OfferFreePlaces(ctx, dayID)
	if err != nil {
		return WaitlistOffers{}, err
	}
	out := WaitlistOffers{State: res.State, Busy: res.Busy, Made: make([]OfferMade, 0, len(res.Made))}
	for _, o := range res.Made {
		out.Made = append(out.Made, a.made(o))
	}
	return out, nil
}

// OfferByHandInput is staff offering a place to one child of a list.
type OfferByHandInput struct {
	EntryID  uuid.UUID
	Staff    cart.Staff
	Reason   string
	AddPlace bool
}

// OfferPlaceByHand makes a staff member's offer. Refusals are non-retryable, with
// a type and a French message for the back office.
func (a *Activities) OfferPlaceByHand(ctx context.Context, in OfferByHandInput) (OfferMade, error) {
	o, err := a.Waitlists.OfferByHand(ctx, in.Staff, in.EntryID, in.Reason, in.AddPlace)
	refuse := func(typ, msg string) (OfferMade, error) {
		return OfferMade{}, temporal.NewNonRetryableApplicationError(msg, typ, nil)
	}
	switch {
	case errors.Is(err, waitlist.ErrNotFound):
		return refuse(ErrTypeWaitlistNotFound, "Cette inscription sur liste d'attente n'existe pas.")
	case errors.Is(err, waitlist.ErrNotWaiting):
		return refuse(ErrTypeWaitlistNotWaiting, "Cet enfant n'attend plus de place ce jour-là (place déjà proposée, réservée ou liste quittée).")
	case errors.Is(err, waitlist.ErrNoFreePlace):
		return refuse(ErrTypeWaitlistNoPlace, "Aucune place n'est libre ce jour-là : ajoutez une place pour la proposer quand même.")
	case errors.Is(err, waitlist.ErrCartBusy):
		return refuse(ErrTypeWaitlistCartBusy, "La famille est en train de payer son panier : réessayez dans quelques minutes.")
	case errors.Is(err, waitlist.ErrDeadline):
		return refuse(ErrTypeWaitlistDeadline, "Le délai de réservation de ce jour est dépassé : la liste d'attente est close.")
	case errors.Is(err, waitlist.ErrReasonNeeded):
		return refuse(ErrTypeWaitlistReason, "Indiquez le motif de cette proposition.")
	case err != nil:
		return OfferMade{}, err
	}
	return a.made(o), nil
}

// LapseOffer ends an offer whose time is up (see waitlist.Store.Lapse).
func (a *Activities) LapseOffer(ctx context.Context, entryID uuid.UUID) (waitlist.LapseResult, error) {
	return a.Waitlists.Lapse(ctx, entryID)
}

// WaitlistState reads a day's list for its workflow.
func (a *Activities) WaitlistState(ctx context.Context, dayID uuid.UUID) (waitlist.DayState, error) {
	return a.Waitlists.State(ctx, dayID)
}

// CloseWaitlist closes a day's list at its booking deadline and returns the
// entries it closed, whose families are told (SendWaitlistClosed).
func (a *Activities) CloseWaitlist(ctx context.Context, dayID uuid.UUID) ([]uuid.UUID, error) {
	return a.Waitlists.Close(ctx, dayID)
}

// StarvedGrace is how long past its expiry an offer may stay open before
// reconciliation wakes its list: the list's own timer normally ends it at once.
const StarvedGrace = 5 * time.Minute

// WakeStarvedWaitlists wakes the lists that should be acting and may not know it
// (a signal lost with an API process, a workflow terminated by an operator): a
// free place while children wait, or an offer well past its expiry. It returns
// how many it woke, up to limit.
func (a *Activities) WakeStarvedWaitlists(ctx context.Context, limit int) (int, error) {
	if a.Lists == nil {
		return 0, nil
	}
	now := a.now()
	days, err := db.New(a.Pool).ListStarvedWaitlistDays(ctx, db.ListStarvedWaitlistDaysParams{
		FromDay: booking.Day(now).AddDate(0, 0, -1), LapsedBefore: now.Add(-StarvedGrace), MaxDays: int32(limit),
	})
	if err != nil {
		return 0, fmt.Errorf("list starved waiting lists: %w", err)
	}
	if err := a.Lists.Wake(ctx, days); err != nil {
		return 0, fmt.Errorf("wake waiting lists: %w", err)
	}
	return len(days), nil
}
