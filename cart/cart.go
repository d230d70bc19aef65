// Package cart holds the family-side booking transactions in PostgreSQL: the month
// calendar, adding and removing cart lines with their capacity holds. Every rule is
// re-checked here on every write; the calendar a family saw is never trusted.
package cart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/services"
)

// ErrNotFound means the thing does not exist for this family (or belongs to another).
var ErrNotFound = errors.New("not found")

// ErrNotOpen means the cart is being paid and cannot change.
var ErrNotOpen = errors.New("cart is not open")

// Family is who is asking; every query is scoped by it.
type Family struct{ OrgID, ID uuid.UUID }

// Store runs the transactions.
type Store struct {
	Pool *pgxpool.Pool
	TTL  time.Duration
	Now  db.Clock // nil: the system's
}

func (s *Store) now() time.Time { return s.Now.Time() }

// Reasons an item is refused.
const (
	ReasonClosed          = "closed"
	ReasonFull            = "full"
	ReasonDeadlinePassed  = "deadline_passed"
	ReasonNotEligible     = "not_eligible"
	ReasonAlreadyReserved = "already_reserved"
	ReasonAlreadyInCart   = "already_in_cart"
	ReasonNotYourChild    = "not_your_child"
	ReasonUnknownService  = "unknown_service"
	ReasonNoPrice         = "no_price"
	ReasonInvalidDate     = "invalid_date"
	ReasonWaitlist        = "waitlist" // staff: the day's free places belong to its waiting list
)

// Messages in French for the family.
var reasonText = map[string]string{
	ReasonClosed:          "le service n'est pas ouvert ce jour-là",
	ReasonFull:            "il n'y a plus de place ce jour-là",
	ReasonDeadlinePassed:  "le délai de réservation est dépassé",
	ReasonNotEligible:     "cet enfant ne peut pas être inscrit à ce service",
	ReasonAlreadyReserved: "ce jour est déjà réservé",
	ReasonAlreadyInCart:   "ce jour est déjà dans le panier",
	ReasonNotYourChild:    "cet enfant n'appartient pas à votre famille",
	ReasonUnknownService:  "ce service n'existe pas",
	ReasonNoPrice:         "aucun tarif ne correspond à votre quotient familial",
	ReasonInvalidDate:     "date invalide (format AAAA-MM-JJ attendu)",
	ReasonWaitlist:        "des enfants attendent une place ce jour-là sur la liste d'attente",
}

// Message is the French explanation of a refusal reason.
func Message(reason string) string { return reasonText[reason] }

// Item is one child × service × day asked for.
type Item struct {
	ChildID   uuid.UUID `json:"child_id"`
	ServiceID uuid.UUID `json:"service_id"`
	Date      string    `json:"date"`
}

// Refusal explains why one item was refused.
type Refusal struct {
	Index   int    `json:"index"`
	Item    Item   `json:"item"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// RefusedError is returned when any item is refused; nothing was added.
type RefusedError struct{ Refusals []Refusal }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%d item(s) refused", len(e.Refusals))
}

// AllAlreadyInCart reports whether each of the n items asked for was refused for
// being held in the family's cart already: what the same request finds once it
// has gone through.
func (e *RefusedError) AllAlreadyInCart(n int) bool {
	if len(e.Refusals) != n || n == 0 {
		return false
	}
	for _, r := range e.Refusals {
		if r.Reason != ReasonAlreadyInCart {
			return false
		}
	}
	return true
}

// Added is the outcome of a successful AddItems.
type Added struct {
	Cart    db.Cart
	Created bool // a new cart was opened: its workflow must be started
	Lines   []db.CartLine
}

// rules caches what a transaction learns about a family, its children and services.
type rules struct {
	q        *db.Queries
	fam      db.Family
	loc      *time.Location
	children map[uuid.UUID]*db.Member
	services map[uuid.UUID]*service
}

type service struct {
	db.Service
	prices []booking.PriceBracket
}

func newRules(ctx context.Context, q *db.Queries, f Family) (*rules, error) {
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: f.OrgID, ID: f.ID})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("read family: %w", err)
	}
	org, err := q.GetOrg(ctx, f.OrgID)
	if err != nil {
		return nil, fmt.Errorf("read org: %w", err)
	}
	loc, err := org.Zone()
	if err != nil {
		return nil, fmt.Errorf("org time zone: %w", err)
	}
	return &rules{q: q, fam: fam, loc: loc, children: map[uuid.UUID]*db.Member{}, services: map[uuid.UUID]*service{}}, nil
}

func (r *rules) child(ctx context.Context, id uuid.UUID) (*db.Member, error) {
	if c, ok := r.children[id]; ok {
		return c, nil
	}
	c, err := r.q.GetChild(ctx, db.GetChildParams{OrgID: r.fam.OrgID, FamilyID: r.fam.ID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		r.children[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read child: %w", err)
	}
	r.children[id] = &c
	return &c, nil
}

func (r *rules) service(ctx context.Context, id uuid.UUID) (*service, error) {
	if s, ok := r.services[id]; ok {
		return s, nil
	}
	s, err := r.q.GetService(ctx, db.GetServiceParams{OrgID: r.fam.OrgID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !s.Active) {
		r.services[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read service: %w", err)
	}
	prices, err := r.q.ListServicePrices(context.WithoutCancel(ctx), []uuid.UUID{id})
	if err != nil {
		return nil, fmt.Errorf("read prices: %w", err)
	}
	svc := &service{Service: s, prices: services.Brackets(prices)}
	r.services[id] = svc
	return svc, nil
}

func childOf(m *db.Member) booking.Child {
	return booking.Child{School: m.School, Class: m.ClassName, BirthDate: m.BirthDate}
}

// AddItems adds every item to the family's open cart, or none: each item is checked
// (child, service, eligibility, open day, deadline, not already reserved or held)
// and takes a place with a guarded UPDATE, so capacity holds under any concurrency.
func (s *Store) AddItems(ctx context.Context, f Family, items []Item) (Added, error) {
	var out Added
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		cart, created, r, err := s.openCart(ctx, q, f)
		if err != nil {
			return err
		}
		lines, refusals, err := place(ctx, tx, r, items, s.now(), checkOptions{}, allOrNothing, holdLine(r, cart))
		if err != nil {
			return err
		}
		if len(refusals) > 0 {
			return &RefusedError{Refusals: refusals}
		}
		out = Added{Cart: cart, Created: created, Lines: lines}
		return nil
	})
	return out, err
}

// openCart returns the family's live cart, locked and open for changes, with the
// rules of the family: the start of every transaction that adds lines.
func (s *Store) openCart(ctx context.Context, q *db.Queries, f Family) (db.Cart, bool, *rules, error) {
	c, created, err := s.liveCart(ctx, q, f)
	if err != nil {
		return db.Cart{}, false, nil, err
	}
	if c.Status != db.CartStatusOpen {
		return db.Cart{}, false, nil, ErrNotOpen
	}
	r, err := newRules(ctx, q, f)
	if err != nil {
		return db.Cart{}, false, nil, err
	}
	return c, created, r, nil
}

// LockLiveCart is liveCart for another package's transaction (a waiting list's
// offer going into the family's cart).
func (s *Store) LockLiveCart(ctx context.Context, q *db.Queries, f Family) (db.Cart, bool, error) {
	return s.liveCart(ctx, q, f)
}

// liveCart returns the family's open or checking-out cart, opening one if none,
// locked for the rest of the transaction.
func (s *Store) liveCart(ctx context.Context, q *db.Queries, f Family) (db.Cart, bool, error) {
	created := false
	c, err := q.GetLiveCart(ctx, db.GetLiveCartParams{OrgID: f.OrgID, FamilyID: f.ID})
	if errors.Is(err, pgx.ErrNoRows) {
		c, err = q.CreateCart(ctx, db.CreateCartParams{ID: uuid.New(), OrgID: f.OrgID, FamilyID: f.ID, ExpiresAt: s.now().Add(s.TTL)})
		created = err == nil
		if errors.Is(err, pgx.ErrNoRows) { // another request opened it meanwhile
			c, err = q.GetLiveCart(ctx, db.GetLiveCartParams{OrgID: f.OrgID, FamilyID: f.ID})
		}
	}
	if err != nil {
		return db.Cart{}, false, fmt.Errorf("live cart: %w", err)
	}
	c, err = q.LockCart(ctx, c.ID)
	if err != nil {
		return db.Cart{}, false, fmt.Errorf("lock cart: %w", err)
	}
	return c, created, nil
}

// RemoveItem drops one held line from the family's open cart and frees its place;
// it returns the service day freed. A line offered from the day's waiting list is
// the offer declined: its entry leaves the list in the same transaction.
func (s *Store) RemoveItem(ctx context.Context, f Family, lineID uuid.UUID) (uuid.UUID, error) {
	var freed uuid.UUID
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		c, err := lockOpenCart(ctx, q, f)
		if err != nil {
			return err
		}
		if _, err := q.GetCartLine(ctx, db.GetCartLineParams{CartID: c.ID, ID: lineID}); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("read line: %w", err)
		}
		if freed, err = q.ReleaseCartLine(ctx, lineID); err != nil {
			return fmt.Errorf("release line: %w", err)
		}
		if err := declineOffers(ctx, q, lineID); err != nil {
			return err
		}
		return q.ReleasePlace(ctx, freed)
	})
	return freed, err
}

// declineOffers closes the waiting-list offers held by lines the family removed
// (status left): an offer lives and dies with its line.
func declineOffers(ctx context.Context, q *db.Queries, lineIDs ...uuid.UUID) error {
	if _, err := q.EndOffersOfLines(ctx, db.EndOffersOfLinesParams{Status: db.WaitlistStatusLeft, LineIds: lineIDs}); err != nil {
		return fmt.Errorf("decline offers: %w", err)
	}
	return nil
}

// lockOpenCart locks the family's live cart, to change its lines: ErrNotFound
// without one, ErrNotOpen while it is being paid.
func lockOpenCart(ctx context.Context, q *db.Queries, f Family) (db.Cart, error) {
	c, err := q.GetLiveCart(ctx, db.GetLiveCartParams{OrgID: f.OrgID, FamilyID: f.ID})
	if db.NotFound(err) {
		return c, ErrNotFound
	} else if err != nil {
		return c, fmt.Errorf("live cart: %w", err)
	}
	if c, err = q.LockCart(ctx, c.ID); err != nil {
		return c, fmt.Errorf("lock cart: %w", err)
	}
	if c.Status != db.CartStatusOpen {
		return c, ErrNotOpen
	}
	return c, nil
}

// View is the cart as the family sees it, with its totals.
type View struct {
	Cart    *db.Cart
	Lines   []db.CartLine
	Totals  booking.Totals
	Attempt *db.PaymentAttempt // the payment in progress, while the cart checks out
}

// Get returns the family's live cart (nil if none) with its totals as they would
// be at checkout now.
func (s *Store) Get(ctx context.Context, f Family) (View, error) {
	q := db.New(s.Pool)
	var v View
	c, err := q.GetLiveCart(ctx, db.GetLiveCartParams{OrgID: f.OrgID, FamilyID: f.ID})
	if errors.Is(err, pgx.ErrNoRows) {
		v.Totals, err = Quote(ctx, q, f.ID, nil, 0) // no cart: the balance alone
		return v, err
	} else if err != nil {
		return v, fmt.Errorf("live cart: %w", err)
	}
	v.Cart = &c
	quote, err := QuoteCart(ctx, q, c)
	if err != nil {
		return v, err
	}
	v.Lines, v.Totals = quote.Lines, quote.Totals
	if c.Status == db.CartStatusCheckingOut {
		att, err := q.LatestPaymentAttempt(ctx, c.ID)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return v, fmt.Errorf("payment attempt: %w", err)
		}
		if err == nil {
			v.Attempt = &att
		}
	}
	return v, nil
}

// CheckoutFacts is what the API checks before sending a checkout to the cart's
// workflow: the live cart (nil if none), how many lines it holds, and whether the
// family has an e-mail address to send the receipt to.
type CheckoutFacts struct {
	Cart     *db.Cart
	Lines    int
	HasEmail bool
}

// ForCheckout reads CheckoutFacts in one query.
func (s *Store) ForCheckout(ctx context.Context, f Family) (CheckoutFacts, error) {
	row, err := db.New(s.Pool).GetCheckoutFacts(ctx, db.GetCheckoutFactsParams{OrgID: f.OrgID, FamilyID: f.ID})
	if errors.Is(err, pgx.ErrNoRows) {
		return CheckoutFacts{}, nil
	}
	if err != nil {
		return CheckoutFacts{}, fmt.Errorf("live cart: %w", err)
	}
	return CheckoutFacts{Cart: &row.Cart, Lines: int(row.Lines), HasEmail: row.HasEmail}, nil
}

// CalendarDay is one day of a child's month for a service.
type CalendarDay struct {
	Date             string     `json:"date"`
	State            string     `json:"state"`
	PriceCents       int64      `json:"price_cents"`
	CancellableUntil *time.Time `json:"cancellable_until"`
	// CancellationDeadline is a reservation's last instant to cancel, passed or not
	// (the calendar's tooltip on a day that can no longer be cancelled).
	CancellationDeadline *time.Time `json:"cancellation_deadline,omitempty"`
	BookableUntil        *time.Time `json:"bookable_until,omitempty"`
	PlacesLeft           *int32     `json:"places_left,omitempty"`
	ReservationID        *uuid.UUID `json:"reservation_id,omitempty"`
	// Source of a reservation: online (paid at booking) or staff (booked by the
	// service, charged to the balance: cancelling it first reverses what is unpaid).
	Source     db.ReservationSource `json:"source,omitempty"`
	CartItemID *uuid.UUID           `json:"cart_item_id,omitempty"`
	// Waitlist is the child's place on the day's waiting list, while it waits or
	// holds an offer (the offer is also the cart line of CartItemID).
	Waitlist *WaitlistMark `json:"waitlist,omitempty"`
}

// WaitlistMark is a child's live entry on a day's waiting list.
type WaitlistMark struct {
	ID             uuid.UUID         `json:"id"`
	Status         db.WaitlistStatus `json:"status"`           // waiting or offered
	Rank           *int32            `json:"rank"`             // among the waiting, 1 = next; null once offered
	OfferExpiresAt *time.Time        `json:"offer_expires_at"` // when the offer stops holding the place
}

// Calendar returns every day of month for one child and service.
func (s *Store) Calendar(ctx context.Context, f Family, childID, serviceID uuid.UUID, month string) ([]CalendarDay, error) {
	first, last, err := booking.ParseMonth(month)
	if err != nil {
		return nil, err
	}
	q := db.New(s.Pool)
	r, err := newRules(ctx, q, f)
	if err != nil {
		return nil, err
	}
	child, err := r.child(ctx, childID)
	if err != nil {
		return nil, err
	}
	svc, err := r.service(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	if child == nil || svc == nil {
		return nil, ErrNotFound
	}
	price, priceErr := booking.Price(svc.prices, int(r.fam.Qf))
	days, err := q.ListServiceDays(ctx, db.ListServiceDaysParams{ServiceID: svc.ID, FirstDay: first, LastDay: last})
	if err != nil {
		return nil, fmt.Errorf("service days: %w", err)
	}
	reservations, err := q.ListChildReservations(ctx, db.ListChildReservationsParams{FamilyID: f.ID, ChildID: childID, ServiceID: serviceID, FirstDay: first, LastDay: last})
	if err != nil {
		return nil, fmt.Errorf("reservations: %w", err)
	}
	held, err := q.ListHeldLinesForChild(ctx, db.ListHeldLinesForChildParams{FamilyID: f.ID, ChildID: childID, ServiceID: serviceID, FirstDay: first, LastDay: last})
	if err != nil {
		return nil, fmt.Errorf("cart lines: %w", err)
	}
	byDay := map[time.Time]db.ServiceDay{}
	for _, d := range days {
		byDay[d.Day] = d
	}
	resByDay := map[time.Time]db.Reservation{}
	for _, res := range reservations {
		resByDay[res.Day] = res
	}
	heldByDay := map[time.Time]db.CartLine{}
	for _, l := range held {
		heldByDay[l.Day] = l
	}
	waits, err := q.ListChildWaitlist(ctx, db.ListChildWaitlistParams{FamilyID: f.ID, ChildID: childID, ServiceID: serviceID, FirstDay: first, LastDay: last})
	if err != nil {
		return nil, fmt.Errorf("waiting lists: %w", err)
	}
	waitByDay := map[time.Time]*WaitlistMark{}
	for _, w := range waits {
		m := &WaitlistMark{ID: w.ID, Status: w.Status, OfferExpiresAt: w.OfferExpiresAt}
		if w.Status == db.WaitlistStatusWaiting {
			m.Rank = &w.Rank
		}
		waitByDay[w.Day] = m
	}
	now := s.now()
	eligible := services.EligibilityRule(svc.Service)
	out := make([]CalendarDay, 0, 31)
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		sd, open := byDay[d]
		res, reserved := resByDay[d]
		line, inCart := heldByDay[d]
		open = open && sd.Open && eligible.Eligible(childOf(child), d) && priceErr == nil
		bookBy := services.BookingRule(svc.Service).Deadline(d, r.loc)
		facts := booking.DayFacts{
			Open: open, Reserved: reserved, InCart: inCart, BookingAllowed: now.Before(bookBy),
			Full: open && booking.Full(sd.Capacity, sd.Taken, sd.Waiting),
		}
		cd := CalendarDay{Date: d.Format(time.DateOnly), State: string(booking.State(facts)), Waitlist: waitByDay[d]}
		switch {
		case reserved:
			cd.PriceCents, cd.ReservationID, cd.Source = res.PriceCents, &res.ID, res.Source
			until := services.CancelRule(svc.Service).Deadline(d, r.loc)
			cd.CancellationDeadline = &until
			if now.Before(until) {
				cd.CancellableUntil = &until
			}
		case inCart:
			cd.PriceCents, cd.CartItemID = line.PriceCents, &line.ID
		case open:
			cd.PriceCents = price
			cd.BookableUntil = &bookBy
			if left, limited := booking.PlacesLeft(sd.Capacity, sd.Taken, sd.Waiting); limited {
				cd.PlacesLeft = &left
			}
		}
		out = append(out, cd)
	}
	return out, nil
}
