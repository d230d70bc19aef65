package workflows

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/waitlist"
)

// Names of the waiting lists' workflow, shared with the API and the operators.
const (
	WaitlistWorkflow = "Waitlist"
	// WaitlistFreedSignal: a place was freed on the day (a cancellation, a line
	// removed, a cart expired, a capacity raised…): offer it.
	WaitlistFreedSignal = "place-freed"
	// WaitlistChangedSignal: a child joined or left the list (ListChanged).
	WaitlistChangedSignal = "list-changed"
	// WaitlistOfferUpdate: staff offer a place by hand (activities.OfferByHandInput).
	WaitlistOfferUpdate = "offer-by-hand"
	WaitlistQuery       = "waitlist"
)

// Search attributes of the lists in the Temporal UI (OrgId besides).
var (
	ServiceIDKey      = temporal.NewSearchAttributeKeyKeyword("ServiceId")
	ServiceDateKey    = temporal.NewSearchAttributeKeyKeyword("ServiceDate")
	WaitlistLengthKey = temporal.NewSearchAttributeKeyInt64("WaitlistLength")
)

// WaitlistWorkflowID is the workflow ID of a service day's list.
func WaitlistWorkflowID(serviceDayID uuid.UUID) string { return "waitlist:" + serviceDayID.String() }

// BusyRetry is how soon a list asks again when the next family's cart is being
// paid (an offer cannot join a cart whose total is frozen), or when an offer's
// cart is being paid as the offer lapses: PayFiP settles a payment within 20
// minutes.
const BusyRetry = 2 * time.Minute

// WaitlistInput starts a day's list.
type WaitlistInput struct {
	ServiceDayID uuid.UUID
	OrgID        uuid.UUID
	ServiceID    uuid.UUID
	Date         string // YYYY-MM-DD
	// BusyRetry replaces the default above (tests shorten it).
	BusyRetry time.Duration `json:",omitzero"`
}

// ListChanged is what a join or a leave tells the list: how many children wait,
// as of the day's waitlist_version (an older count arriving late is ignored).
type ListChanged struct {
	Version int64
	Waiting int32
}

// WaitlistState answers the query, for operators and tests.
type WaitlistState struct {
	Waiting  int32
	Offers   []waitlist.OpenOffer
	Deadline time.Time
	Details  string
}

type list struct {
	in       WaitlistInput
	known    bool // the day's state was read
	waiting  int32
	version  int64
	deadline time.Time
	offers   []pending // by when to look at them
	rev      int       // offers added by hand since the main loop last looked
	freed    bool      // a place may be free: offer it
	busy     time.Time // the next family's cart was being paid: ask again then
	sending  int       // offer e-mails on their way
	counted  bool      // waiting changed since the search attribute was set
	details  string
}

// pending is an offer not settled: when to look at it (its expiry, or later when
// its cart is being paid).
type pending struct {
	entry uuid.UUID
	at    time.Time
}

// Waitlist is one service day's waiting list: `waitlist:<service day id>`. The
// list itself lives in PostgreSQL; this workflow decides when to act on it. Told
// a place was freed, it offers the free places to the children waiting first
// (each offer is a line of the family's cart, e-mailed); it ends each offer when
// its time is up, and the place goes to the next child; staff may offer by hand.
// At the day's booking deadline it closes the list and tells the families still
// waiting. With nobody waiting and no offer open it ends; the next join starts it
// again.
func Waitlist(ctx workflow.Context, in WaitlistInput) error {
	w := &list{in: in, freed: true} // at start: learn the day, offer what is free
	if in.BusyRetry <= 0 {
		w.in.BusyRetry = BusyRetry
	}
	if err := w.listen(ctx); err != nil {
		return err
	}
	w.upsert(ctx, OrgIDKey.ValueSet(in.OrgID.String()), ServiceIDKey.ValueSet(in.ServiceID.String()), ServiceDateKey.ValueSet(in.Date))
	for {
		if err := w.waitForWork(ctx); err != nil {
			return err
		}
		if err := w.lapseDue(ctx); err != nil {
			return err
		}
		now := workflow.Now(ctx)
		if w.known && !now.Before(w.deadline) {
			if len(w.offers) > 0 {
				continue // an offer's cart is being paid: its outcome first
			}
			if err := w.close(ctx); err != nil {
				return err
			}
			return w.drain(ctx)
		}
		if w.freed || (!w.busy.IsZero() && !now.Before(w.busy)) {
			if err := w.offerFree(ctx); err != nil {
				return err
			}
		}
		if w.idle() {
			w.describe(ctx, "nobody waiting, no offer open: ended (the next child to join starts the list again)")
			return w.drain(ctx)
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := w.drain(ctx); err != nil {
				return err
			}
			return workflow.NewContinueAsNewError(ctx, WaitlistWorkflow, in)
		}
	}
}

func (w *list) idle() bool {
	return w.known && w.waiting == 0 && len(w.offers) == 0 && !w.freed && w.busy.IsZero()
}

// listen installs the query, the staff update and the signals. Signals are taken
// as they come: a freed place raises a flag the main loop acts on, a count of the
// list updates the search attribute at once.
func (w *list) listen(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, WaitlistQuery, func() (WaitlistState, error) {
		s := WaitlistState{Waiting: w.waiting, Deadline: w.deadline, Details: w.details, Offers: []waitlist.OpenOffer{}}
		for _, o := range w.offers {
			s.Offers = append(s.Offers, waitlist.OpenOffer{EntryID: o.entry, ExpiresAt: o.at})
		}
		return s, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, WaitlistOfferUpdate, w.offerByHand,
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, in activities.OfferByHandInput) error {
			if in.EntryID == uuid.Nil || in.Reason == "" {
				return errors.New("an entry and a reason are required")
			}
			return nil
		}}); err != nil {
		return err
	}
	freed := workflow.GetSignalChannel(ctx, WaitlistFreedSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			freed.Receive(ctx, nil)
			w.freed = true
		}
	})
	changed := workflow.GetSignalChannel(ctx, WaitlistChangedSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var c ListChanged
			changed.Receive(ctx, &c)
			w.count(c.Version, c.Waiting)
		}
	})
	// The length's search attribute, set once for all the counts a workflow task
	// brings (a rush of joins is a batch of signals).
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			if err := workflow.Await(ctx, func() bool { return w.counted }); err != nil {
				return
			}
			w.counted = false
			w.upsert(ctx, WaitlistLengthKey.ValueSet(int64(w.waiting)))
		}
	})
	return nil
}

// count records the list's size if it is newer than what the workflow knows.
func (w *list) count(version int64, waiting int32) {
	if version < w.version {
		return
	}
	if version > w.version || !w.known {
		w.version, w.waiting, w.counted = version, waiting, true
	}
}

// waitForWork sleeps until there is something to do: a place freed, an offer to
// look at, the deadline, or a busy family to ask again.
func (w *list) waitForWork(ctx workflow.Context) error {
	if w.freed {
		return nil
	}
	now := workflow.Now(ctx)
	var next time.Time
	why := ""
	consider := func(at time.Time, reason string) {
		if next.IsZero() || at.Before(next) {
			next, why = at, reason
		}
	}
	if w.deadline.After(now) {
		consider(w.deadline, "booking deadline: close the list")
	}
	if len(w.offers) > 0 {
		consider(w.offers[0].at, "offer to entry "+short(w.offers[0].entry)+" ends")
	}
	if !w.busy.IsZero() {
		consider(w.busy, "the next family was paying its cart: ask again")
	}
	rev := w.rev
	cond := func() bool { return w.freed || w.rev != rev || w.idle() }
	if next.IsZero() { // nothing timed: only a signal or an update
		return workflow.Await(ctx, cond)
	}
	wait := next.Sub(now)
	if wait <= 0 {
		return nil
	}
	_, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: why}}, cond)
	return err
}

// lapseDue ends the offers whose time is up, each exactly once (the transaction
// of waitlist.Lapse decides); a place freed that way goes to the next child.
func (w *list) lapseDue(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	var keep []pending
	for _, o := range w.offers {
		if o.at.After(now) {
			keep = append(keep, o)
			continue
		}
		var res waitlist.LapseResult
		if err := workflow.ExecuteActivity(dbCtx(ctx, "end the offer to entry "+short(o.entry)+" if it was not paid"),
			(*activities.Activities).LapseOffer, o.entry).Get(ctx, &res); err != nil {
			return err
		}
		switch res.Outcome {
		case waitlist.LapseExpired:
			w.freed = true
		case waitlist.LapseBusy:
			keep = append(keep, pending{entry: o.entry, at: now.Add(w.in.BusyRetry)})
		case waitlist.LapseNotDue:
			keep = append(keep, pending{entry: o.entry, at: res.ExpiresAt})
		}
	}
	w.setOffers(keep)
	return nil
}

// offerFree offers the free places, follows the offers made and learns the
// day's state from PostgreSQL.
func (w *list) offerFree(ctx workflow.Context) error {
	w.freed, w.busy = false, time.Time{}
	var res activities.WaitlistOffers
	if err := workflow.ExecuteActivity(dbCtx(ctx, "offer the free places to the children waiting first"),
		(*activities.Activities).OfferFreePlaces, w.in.ServiceDayID).Get(ctx, &res); err != nil {
		return err
	}
	for _, m := range res.Made {
		if err := w.follow(ctx, m); err != nil {
			return err
		}
	}
	w.learn(ctx, res.State)
	if res.Busy {
		w.busy = workflow.Now(ctx).Add(w.in.BusyRetry)
	}
	w.describeState(ctx)
	return nil
}

// learn takes the day's state read from PostgreSQL: the open offers there are the
// truth (an offer this workflow was told of but that already ended is dropped);
// the times already set for known ones are kept.
func (w *list) learn(ctx workflow.Context, s waitlist.DayState) {
	w.count(s.Version, s.Waiting)
	w.known = true
	w.deadline = s.Deadline
	var offers []pending
	for _, o := range s.Offers {
		p := pending{entry: o.EntryID, at: o.ExpiresAt}
		for _, known := range w.offers {
			if known.entry == o.EntryID {
				p.at = known.at
			}
		}
		offers = append(offers, p)
	}
	w.setOffers(offers)
}

func (w *list) setOffers(offers []pending) {
	slices.SortFunc(offers, func(a, b pending) int {
		return cmp.Or(a.at.Compare(b.at), bytes.Compare(a.entry[:], b.entry[:]))
	})
	w.offers = offers
}

// follow starts the workflow of a cart opened for the offer and e-mails the
// family, without holding up the list.
func (w *list) follow(ctx workflow.Context, m activities.OfferMade) error {
	if c := m.NewCart; c != nil {
		start := NewCartStart(c.CartID, c.OrgID, c.FamilyID, c.ExpiresAt, c.RemindBefore)
		start.Summary = "Panier " + c.CartID.String() + " (ouvert par la liste d'attente du " + w.in.Date + ")"
		if _, err := startCart(ctx, start); err != nil {
			return err
		}
	}
	w.sending++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		if err := workflow.ExecuteActivity(noticeCtx(ctx, "e-mail the offer to entry "+short(m.EntryID)),
			(*activities.Activities).SendWaitlistOffer, m.EntryID).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("offer e-mail not sent", "entry", m.EntryID.String(), "error", err)
		}
	})
	return nil
}

// offerByHand is staff's "Proposer la place": the offer is made at once and
// followed like the list's own.
func (w *list) offerByHand(ctx workflow.Context, in activities.OfferByHandInput) (activities.OfferMade, error) {
	var m activities.OfferMade
	if err := workflow.ExecuteActivity(dbCtx(ctx, "offer a place by hand to entry "+short(in.EntryID)),
		(*activities.Activities).OfferPlaceByHand, in).Get(ctx, &m); err != nil {
		return m, err
	}
	w.setOffers(append(slices.Clone(w.offers), pending{entry: m.EntryID, at: m.ExpiresAt}))
	w.rev++
	if w.waiting > 0 {
		w.waiting-- // one fewer waiting; the next count from PostgreSQL confirms it
		w.counted = true
	}
	if err := w.follow(ctx, m); err != nil {
		return m, err
	}
	w.describeState(ctx)
	return m, nil
}

// close ends the list at the day's booking deadline.
func (w *list) close(ctx workflow.Context) error {
	var closed []uuid.UUID
	if err := workflow.ExecuteActivity(dbCtx(ctx, "close the list: the booking deadline has passed"),
		(*activities.Activities).CloseWaitlist, w.in.ServiceDayID).Get(ctx, &closed); err != nil {
		return err
	}
	if len(closed) > 0 {
		if err := workflow.ExecuteActivity(noticeCtx(ctx, fmt.Sprintf("tell the %d families still waiting that the list closed", len(closed))),
			(*activities.Activities).SendWaitlistClosed, closed).Get(ctx, nil); err != nil {
			return err
		}
	}
	w.waiting = 0
	w.upsert(ctx, WaitlistLengthKey.ValueSet(0))
	w.counted = false
	w.describe(ctx, fmt.Sprintf("closed at the booking deadline (%s); %d still waiting told", parisTime(w.deadline), len(closed)))
	return nil
}

// drain waits for the e-mails on their way and the updates in flight.
func (w *list) drain(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return w.sending == 0 && workflow.AllHandlersFinished(ctx) })
}

func (w *list) describeState(ctx workflow.Context) {
	d := fmt.Sprintf("%d waiting, %d offer(s) open", w.waiting, len(w.offers))
	if len(w.offers) > 0 {
		d += ", next ends " + parisTime(w.offers[0].at)
	}
	if !w.busy.IsZero() {
		d += "; the next family is paying its cart, asking again at " + parisClock(w.busy)
	}
	w.describe(ctx, d+"; list closes "+parisTime(w.deadline))
}

func (w *list) describe(ctx workflow.Context, details string) {
	w.details = details
	workflow.SetCurrentDetails(ctx, details)
}

func (w *list) upsert(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

func short(id uuid.UUID) string { return id.String()[:8] }

// noticeCtx: a mail outage only delays an offer's e-mail; the activity retries
// until the message leaves, and its key keeps it to one message.
func noticeCtx(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, // mail.SMTP gives up after 30 s too
		Summary:             summary,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: 10 * time.Minute},
	})
}
