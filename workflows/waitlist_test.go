package workflows_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/waitlist"
	"github.com/enfance/enfance/workflows"
)

// The list's workflow with its activities replaced by a model of the day in
// PostgreSQL (waitlist_test checks the real transactions): a capacity, the places
// taken, the children waiting in order, the offers and their expiry. The model
// refuses what the real guards refuse, so a workflow that lapses an offer twice
// or offers a place that is not free fails here.

// A day whose booking deadline is ten days after the start.
const listDeadline = 10 * 24 * time.Hour

type listModel struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	in  workflows.WaitlistInput

	mu       sync.Mutex
	capacity int
	taken    int
	queue    []string             // children waiting, in order
	offers   map[string]time.Time // open offers: child → expiry
	paid     map[string]bool      // offers paid (their line confirmed)
	paying   map[string]bool      // offers whose cart is being paid
	busy     map[string]bool      // families whose cart is being paid (no offer can join it)
	hold     time.Duration
	version  int64
	calls    []string
	mails    []string // offer e-mails, apart: they go out beside the list's work, in no set order
	lengths  []int64  // WaitlistLength upserts
	carts    []string
}

func newListModel(t *testing.T, capacity, taken int, queue ...string) *listModel {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetTestTimeout(30 * time.Second)
	m := &listModel{
		t: t, env: env, capacity: capacity, taken: taken, queue: queue, hold: 24 * time.Hour,
		offers: map[string]time.Time{}, paid: map[string]bool{}, paying: map[string]bool{}, busy: map[string]bool{},
		in: workflows.WaitlistInput{
			ServiceDayID: uuid.MustParse("0d000000-0000-4000-8000-000000000001"), OrgID: uuid.MustParse("0d000000-0000-4000-8000-0000000000aa"),
			ServiceID: uuid.MustParse("0d000000-0000-4000-8000-0000000000cc"), Date: "2026-12-09",
		},
	}
	env.RegisterWorkflowWithOptions(workflows.Waitlist, workflow.RegisterOptions{Name: workflows.WaitlistWorkflow})
	env.RegisterWorkflowWithOptions(workflows.Cart, workflow.RegisterOptions{Name: workflows.CartWorkflow})
	env.RegisterActivity(&activities.Activities{})
	return m
}

func entryOf(child string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte("entry "+child)) }

func (m *listModel) childOf(id uuid.UUID) string {
	for _, c := range []string{"A", "B", "C", "D", "E"} {
		if entryOf(c) == id {
			return c
		}
	}
	m.t.Fatalf("unknown entry %s", id)
	return ""
}

func (m *listModel) at() string { return m.env.Now().Sub(start).String() }

func (m *listModel) record(s string) { m.calls = append(m.calls, s+"@"+m.at()) }

func (m *listModel) state() waitlist.DayState {
	s := waitlist.DayState{Waiting: int32(len(m.queue)), Version: m.version, Deadline: start.Add(listDeadline), Offers: []waitlist.OpenOffer{}}
	for c, at := range m.offers {
		s.Offers = append(s.Offers, waitlist.OpenOffer{EntryID: entryOf(c), ExpiresAt: at})
	}
	return s
}

// offer gives the next free place to child (nil: the first waiting).
func (m *listModel) offerTo(child string, addPlace bool) (activities.OfferMade, error) {
	now := m.env.Now()
	if !now.Before(start.Add(listDeadline)) {
		return activities.OfferMade{}, temporal.NewNonRetryableApplicationError("deadline", activities.ErrTypeWaitlistDeadline, nil)
	}
	if m.taken >= m.capacity {
		if !addPlace {
			return activities.OfferMade{}, temporal.NewNonRetryableApplicationError("no place", activities.ErrTypeWaitlistNoPlace, nil)
		}
		m.capacity++
	}
	i := slices.Index(m.queue, child)
	m.queue = slices.Delete(m.queue, i, i+1)
	m.taken++
	m.version++
	expires := now.Add(m.hold)
	if d := start.Add(listDeadline); d.Before(expires) {
		expires = d
	}
	m.offers[child] = expires
	m.carts = append(m.carts, child)
	return activities.OfferMade{EntryID: entryOf(child), ExpiresAt: expires,
		NewCart: &activities.NewCart{CartID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("cart "+child)), OrgID: m.in.OrgID, FamilyID: entryOf(child), ExpiresAt: now.Add(48 * time.Hour)}}, nil
}

func (m *listModel) mock() {
	acts := &activities.Activities{}
	m.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		m.mu.Lock()
		defer m.mu.Unlock()
		if n, ok := sa.GetInt64(workflows.WaitlistLengthKey); ok {
			m.lengths = append(m.lengths, n)
		}
	}).Return()
	m.env.OnActivity(acts.OfferFreePlaces, mock.Anything, mock.Anything).Return(
		func(_ context.Context, day uuid.UUID) (activities.WaitlistOffers, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.record("OfferFreePlaces")
			var out activities.WaitlistOffers
			for m.taken < m.capacity && len(m.queue) > 0 && m.env.Now().Before(start.Add(listDeadline)) {
				if m.busy[m.queue[0]] {
					out.Busy = true
					break
				}
				o, err := m.offerTo(m.queue[0], false)
				if err != nil {
					return out, err
				}
				out.Made = append(out.Made, o)
			}
			out.State = m.state()
			return out, nil
		})
	m.env.OnActivity(acts.OfferPlaceByHand, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OfferByHandInput) (activities.OfferMade, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			child := m.childOf(in.EntryID)
			m.record("OfferPlaceByHand(" + child + ")")
			return m.offerTo(child, in.AddPlace)
		})
	m.env.OnActivity(acts.LapseOffer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) (waitlist.LapseResult, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			child := m.childOf(id)
			exp, open := m.offers[child]
			switch {
			case m.paid[child]:
				m.record("LapseOffer(" + child + ")=accepted")
				delete(m.offers, child)
				return waitlist.LapseResult{Outcome: waitlist.LapseAccepted}, nil
			case !open:
				m.t.Errorf("LapseOffer(%s) of an offer that is not open", child)
				return waitlist.LapseResult{Outcome: waitlist.LapseClosed}, nil
			case m.env.Now().Before(exp):
				m.t.Errorf("LapseOffer(%s) at %s, before its expiry", child, m.at())
				return waitlist.LapseResult{Outcome: waitlist.LapseNotDue, ExpiresAt: exp}, nil
			case m.paying[child]:
				m.record("LapseOffer(" + child + ")=busy")
				return waitlist.LapseResult{Outcome: waitlist.LapseBusy}, nil
			}
			m.record("LapseOffer(" + child + ")=expired")
			delete(m.offers, child)
			m.taken--
			return waitlist.LapseResult{Outcome: waitlist.LapseExpired, Freed: &m.in.ServiceDayID}, nil
		})
	m.env.OnActivity(acts.SendWaitlistOffer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.mails = append(m.mails, "SendWaitlistOffer("+m.childOf(id)+")@"+m.at())
			return nil
		})
	m.env.OnActivity(acts.CloseWaitlist, mock.Anything, mock.Anything).Return(
		func(_ context.Context, day uuid.UUID) ([]uuid.UUID, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.record("CloseWaitlist")
			if m.env.Now().Before(start.Add(listDeadline)) {
				m.t.Errorf("list closed at %s, before the deadline", m.at())
			}
			var out []uuid.UUID
			for _, c := range m.queue {
				out = append(out, entryOf(c))
			}
			m.queue = nil
			return out, nil
		})
	m.env.OnActivity(acts.SendWaitlistClosed, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ids []uuid.UUID) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			var cs []string
			for _, id := range ids {
				cs = append(cs, m.childOf(id))
			}
			m.record("SendWaitlistClosed(" + strings.Join(cs, ",") + ")")
			return nil
		})
	// The carts opened for offers live their own lives: here they just end.
	m.env.OnWorkflow(workflows.CartWorkflow, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in workflows.CartInput) (string, error) { return "expired", nil })
}

// at runs fn at offset on the workflow clock, with the model locked.
func (m *listModel) after(offset time.Duration, fn func()) {
	m.env.RegisterDelayedCallback(func() {
		m.mu.Lock()
		fn()
		m.mu.Unlock()
	}, offset)
}

// free is a cancellation: a place freed, then the list woken by its signal.
func (m *listModel) free(offset time.Duration) {
	m.env.RegisterDelayedCallback(func() {
		m.mu.Lock()
		m.taken--
		m.mu.Unlock()
		m.env.SignalWorkflow(workflows.WaitlistFreedSignal, nil)
	}, offset)
}

func (m *listModel) run() {
	m.t.Helper()
	m.mock()
	m.env.ExecuteWorkflow(workflows.WaitlistWorkflow, m.in)
	if !m.env.IsWorkflowCompleted() {
		m.t.Fatal("workflow did not complete")
	}
	if err := m.env.GetWorkflowError(); err != nil {
		m.t.Fatalf("workflow failed: %v", err)
	}
}

// want checks the list's activities in order, and the offer e-mails (in any order).
func (m *listModel) want(seq string, mails ...string) {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if got := strings.Join(m.calls, " "); got != seq {
		m.t.Errorf("activities:\n got %s\nwant %s", got, seq)
	}
	got := slices.Clone(m.mails)
	slices.Sort(got)
	slices.Sort(mails)
	if !slices.Equal(got, mails) {
		m.t.Errorf("offer e-mails %v, want %v", got, mails)
	}
}

// The story on a full day with three children waiting: a place frees,
// the first gets the offer and lets it lapse, the second gets it and pays, the
// third keeps waiting (rank 1) until the deadline closes the list.
func TestWaitlistOffersAFreedPlaceAndPassesItOn(t *testing.T) {
	m := newListModel(t, 1, 1, "A", "B", "C")
	m.free(2 * time.Hour)
	m.after(30*time.Hour, func() { m.paid["B"] = true }) // B pays its cart
	m.run()
	m.want("OfferFreePlaces@0s OfferFreePlaces@2h0m0s LapseOffer(A)=expired@26h0m0s OfferFreePlaces@26h0m0s LapseOffer(B)=accepted@50h0m0s CloseWaitlist@240h0m0s SendWaitlistClosed(C)@240h0m0s", "SendWaitlistOffer(A)@2h0m0s", "SendWaitlistOffer(B)@26h0m0s")
	if strings.Join(m.carts, ",") != "A,B" || m.taken != 1 {
		t.Errorf("carts opened for %v, %d taken", m.carts, m.taken)
	}
	if got := fmt.Sprint(m.lengths); got != "[3 2 1 0]" {
		t.Errorf("WaitlistLength upserts %s", got)
	}
}

// Two places freed at once while an offer is open: each is offered once, in
// order; the open offer keeps its own timer. The second signal, come while the
// first was being acted on, makes the list look once more (and find nothing).
func TestWaitlistTwoPlacesFreedWhileAnOfferIsOpen(t *testing.T) {
	m := newListModel(t, 2, 2, "A", "B", "C", "D")
	m.free(time.Hour)
	m.free(3 * time.Hour)
	m.free(3 * time.Hour)
	m.after(4*time.Hour, func() { m.paid["A"], m.paid["B"], m.paid["C"] = true, true, true })
	m.run()
	m.want("OfferFreePlaces@0s OfferFreePlaces@1h0m0s OfferFreePlaces@3h0m0s OfferFreePlaces@3h0m0s LapseOffer(A)=accepted@25h0m0s LapseOffer(B)=accepted@27h0m0s LapseOffer(C)=accepted@27h0m0s CloseWaitlist@240h0m0s SendWaitlistClosed(D)@240h0m0s", "SendWaitlistOffer(A)@1h0m0s", "SendWaitlistOffer(B)@3h0m0s", "SendWaitlistOffer(C)@3h0m0s")
}

// An offer paid at the second its timer fires: the lapse finds the cart being
// paid, asks again after BusyRetry, and finds it accepted; no place was freed.
func TestWaitlistOfferBeingPaidWhenItLapses(t *testing.T) {
	m := newListModel(t, 1, 1, "A", "B")
	m.free(time.Hour)
	m.after(25*time.Hour, func() { m.paying["A"] = true })
	m.after(25*time.Hour+3*time.Minute, func() { m.paid["A"] = true })
	m.run()
	m.want("OfferFreePlaces@0s OfferFreePlaces@1h0m0s LapseOffer(A)=busy@25h0m0s LapseOffer(A)=busy@25h2m0s LapseOffer(A)=accepted@25h4m0s CloseWaitlist@240h0m0s SendWaitlistClosed(B)@240h0m0s", "SendWaitlistOffer(A)@1h0m0s")
}

// The next family's cart is being paid: the place waits for it, asked again
// every BusyRetry, and nobody else is offered it meanwhile.
func TestWaitlistWaitsForTheFirstFamilysPayment(t *testing.T) {
	m := newListModel(t, 1, 1, "A", "B")
	m.busy["A"] = true
	m.free(time.Hour)
	m.after(time.Hour+3*time.Minute, func() { m.busy["A"] = false })
	m.after(2*time.Hour, func() { m.paid["A"] = true })
	m.run()
	m.want("OfferFreePlaces@0s OfferFreePlaces@1h0m0s OfferFreePlaces@1h2m0s OfferFreePlaces@1h4m0s LapseOffer(A)=accepted@25h4m0s CloseWaitlist@240h0m0s SendWaitlistClosed(B)@240h0m0s", "SendWaitlistOffer(A)@1h4m0s")
}

// Staff offer by hand to the second child, adding a place; the offer is followed
// like the list's own (e-mail, its cart started, its lapse).
func TestWaitlistOfferByHand(t *testing.T) {
	m := newListModel(t, 1, 1, "A", "B")
	var res activities.OfferMade
	var updErr error
	m.env.RegisterDelayedCallback(func() {
		m.env.UpdateWorkflow(workflows.WaitlistOfferUpdate, "offer-1", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { updErr = err },
			OnComplete: func(r any, err error) {
				updErr = err
				if o, ok := r.(activities.OfferMade); ok {
					res = o
				}
			},
		}, activities.OfferByHandInput{EntryID: entryOf("B"), Reason: "urgence", AddPlace: true})
	}, 5*time.Hour)
	m.run()
	if updErr != nil || res.EntryID != entryOf("B") {
		t.Fatalf("update: %+v %v", res, updErr)
	}
	m.want("OfferFreePlaces@0s OfferPlaceByHand(B)@5h0m0s LapseOffer(B)=expired@29h0m0s OfferFreePlaces@29h0m0s LapseOffer(A)=expired@53h0m0s OfferFreePlaces@53h0m0s", "SendWaitlistOffer(B)@5h0m0s", "SendWaitlistOffer(A)@29h0m0s")
	if m.capacity != 2 || m.taken != 1 {
		t.Errorf("capacity %d taken %d", m.capacity, m.taken)
	}
}

// With nobody waiting and no offer open, the list's workflow ends; the next join
// starts it again (SignalWithStart).
func TestWaitlistEndsWhenNobodyWaits(t *testing.T) {
	m := newListModel(t, 1, 1)
	m.run()
	m.want("OfferFreePlaces@0s")
}

// Offers never run past the booking deadline: one made just before it ends at
// it, and then the list closes.
func TestWaitlistOfferEndsAtTheDeadline(t *testing.T) {
	m := newListModel(t, 1, 1, "A", "B")
	m.free(listDeadline - 3*time.Hour)
	m.run()
	m.want("OfferFreePlaces@0s OfferFreePlaces@237h0m0s LapseOffer(A)=expired@240h0m0s CloseWaitlist@240h0m0s SendWaitlistClosed(B)@240h0m0s", "SendWaitlistOffer(A)@237h0m0s")
}

// Joins and leaves tell the list its length; an older count arriving late is
// ignored; the last child leaving ends the run.
func TestWaitlistCountsFromJoinsAndLeaves(t *testing.T) {
	m := newListModel(t, 1, 1, "A")
	m.version = 4
	signal := func(at time.Duration, c workflows.ListChanged) {
		m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(workflows.WaitlistChangedSignal, c) }, at)
	}
	signal(time.Hour, workflows.ListChanged{Version: 6, Waiting: 2})
	signal(2*time.Hour, workflows.ListChanged{Version: 5, Waiting: 1})
	signal(3*time.Hour, workflows.ListChanged{Version: 7, Waiting: 0})
	m.run()
	m.want("OfferFreePlaces@0s")
	if got := fmt.Sprint(m.lengths); got != "[1 2 0]" {
		t.Errorf("WaitlistLength upserts %s, want [1 2 0]", got)
	}
	if d := m.env.Now().Sub(start); d != 3*time.Hour {
		t.Errorf("ended at %s, want 3h", d)
	}
}
