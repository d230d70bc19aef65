package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/db"
)

// Lists starts and wakes the waiting lists' workflows from outside them: the API
// after a join, a leave or a place freed, and the activities after a cart expired.
// A list's workflow is started by the first signal that needs it
// (SignalWithStart), so nothing is lost when it ended or never ran.
type Lists struct {
	Temporal  client.Client
	TaskQueue string
	Pool      *pgxpool.Pool

	changes followUps // one list-changed signal per day at a time (Changed)
}

// Freed tells the lists of these days that places were freed there; only the
// days with children waiting are signalled.
func (l *Lists) Freed(ctx context.Context, days []uuid.UUID) error {
	if len(days) == 0 {
		return nil
	}
	rows, err := db.New(l.Pool).ListWaitlistDaysToWake(ctx, days)
	if err != nil {
		return fmt.Errorf("days to wake: %w", err)
	}
	return l.signal(ctx, rows, WaitlistFreedSignal, nil)
}

// Wake tells the lists of these days to look at their day again.
func (l *Lists) Wake(ctx context.Context, days []uuid.UUID) error {
	if len(days) == 0 {
		return nil
	}
	rows, err := db.New(l.Pool).ListServiceDaysByID(ctx, days)
	if err != nil {
		return fmt.Errorf("days to wake: %w", err)
	}
	return l.signal(ctx, rows, WaitlistFreedSignal, nil)
}

// Changed tells the lists of these days how many children wait now (after a
// join or a leave). A list nobody waits on is not started for it.
//
// Temporal applies the signals of one workflow one after the other, each a
// write of its history: when the families that found a day full all join its
// list at once, a signal each would queue them behind one another (1.6 s for
// 200 families on the production shape, docs/performance.md). So a day has one
// signal on its way at a time; the changes made meanwhile are told together by
// the next one, which reads the count PostgreSQL holds when it leaves. Every
// caller still returns once a signal sent after its change has arrived.
func (l *Lists) Changed(ctx context.Context, days ...uuid.UUID) error {
	var errs []error
	for _, day := range days {
		errs = append(errs, l.changes.do(ctx, day, func(ctx context.Context) error { return l.changed(ctx, day) }))
	}
	return errors.Join(errs...)
}

// changed sends one day's list-changed signal with what PostgreSQL holds now.
func (l *Lists) changed(ctx context.Context, day uuid.UUID) error {
	rows, err := db.New(l.Pool).ListServiceDaysByID(ctx, []uuid.UUID{day})
	if err != nil {
		return fmt.Errorf("days: %w", err)
	}
	for _, sd := range rows {
		arg := ListChanged{Version: sd.WaitlistVersion, Waiting: sd.Waiting}
		if sd.Waiting > 0 {
			return l.signal(ctx, []db.ServiceDay{sd}, WaitlistChangedSignal, arg)
		}
		err := l.Temporal.SignalWorkflow(ctx, WaitlistWorkflowID(sd.ID), "", WaitlistChangedSignal, arg)
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			return err
		}
	}
	return nil
}

// followUps runs one call per key at a time. A caller that finds a call of its
// key on its way waits for the next one, which starts once that call is over
// and serves every caller that queued meanwhile: the first of them makes it
// (with its own context), the others wait for its result. No call outlives the
// requests it serves.
//
// Written here because golang.org/x/sync/singleflight shares the call in
// flight, whose result may predate the late caller's change; what is needed is
// the call after it.
type followUps struct {
	mu   sync.Mutex
	keys map[uuid.UUID]*followUp
}

// followUp is the state of one key while a call of it is on its way: the
// callers queued for the next call, each to be told to make it or its result.
type followUp struct {
	next []chan followUpTurn
}

type followUpTurn struct {
	lead bool
	err  error
}

// do calls fn for key, or waits for the call that follows the one on its way.
func (f *followUps) do(ctx context.Context, key uuid.UUID, fn func(context.Context) error) error {
	f.mu.Lock()
	if f.keys == nil {
		f.keys = map[uuid.UUID]*followUp{}
	}
	st, busy := f.keys[key]
	if !busy {
		f.keys[key] = &followUp{}
		f.mu.Unlock()
		return f.lead(ctx, key, fn)
	}
	turn := make(chan followUpTurn, 1)
	st.next = append(st.next, turn)
	f.mu.Unlock()
	t := <-turn // the followers are always served: the leader's call is bounded by its context
	if !t.lead {
		return t.err
	}
	return f.lead(ctx, key, fn)
}

// lead makes the call, tells its result to the callers it serves, and hands the
// next call to the first caller queued meanwhile (or forgets the key).
func (f *followUps) lead(ctx context.Context, key uuid.UUID, fn func(context.Context) error) error {
	f.mu.Lock()
	st := f.keys[key]
	served := st.next // queued before this call starts: it covers their changes
	st.next = nil
	f.mu.Unlock()
	err := fn(ctx)
	for _, w := range served {
		w <- followUpTurn{err: err}
	}
	f.mu.Lock()
	if len(st.next) == 0 {
		delete(f.keys, key)
	} else {
		first := st.next[0]
		st.next = st.next[1:]
		first <- followUpTurn{lead: true}
	}
	f.mu.Unlock()
	return err
}

// OfferByHand sends staff's offer to the day's list, starting it if need be, and
// waits for the answer: the offer made, or a refusal (a
// *temporal.ApplicationError of an activities.ErrTypeWaitlist… type, French).
func (l *Lists) OfferByHand(ctx context.Context, sd db.ServiceDay, in activities.OfferByHandInput) (activities.OfferMade, error) {
	start := l.Temporal.NewWithStartWorkflowOperation(l.startOptions(sd), WaitlistWorkflow, inputOf(sd))
	h, err := l.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID: "offer:" + in.EntryID.String() + ":" + uuid.NewString(), UpdateName: WaitlistOfferUpdate,
			WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{in},
		},
	})
	var out activities.OfferMade
	if err == nil {
		err = h.Get(ctx, &out)
	}
	return out, err
}

func (l *Lists) signal(ctx context.Context, days []db.ServiceDay, name string, arg any) error {
	var errs []error
	for _, sd := range days {
		if _, err := l.Temporal.SignalWithStartWorkflow(ctx, WaitlistWorkflowID(sd.ID), name, arg, l.startOptions(sd), WaitlistWorkflow, inputOf(sd)); err != nil {
			errs = append(errs, fmt.Errorf("waiting list %s: %w", sd.ID, err))
		}
	}
	return errors.Join(errs...)
}

func inputOf(sd db.ServiceDay) WaitlistInput {
	return WaitlistInput{ServiceDayID: sd.ID, OrgID: sd.OrgID, ServiceID: sd.ServiceID, Date: sd.Day.Format(time.DateOnly)}
}

func (l *Lists) startOptions(sd db.ServiceDay) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       WaitlistWorkflowID(sd.ID),
		TaskQueue:                l.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            "Liste d'attente du " + sd.Day.Format("02/01/2006"),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			OrgIDKey.ValueSet(sd.OrgID.String()), ServiceIDKey.ValueSet(sd.ServiceID.String()),
			ServiceDateKey.ValueSet(sd.Day.Format(time.DateOnly)), WaitlistLengthKey.ValueSet(int64(sd.Waiting)),
		),
	}
}
