package workflows

import (
	"context"
	"errors"
	"fmt"
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
func (l *Lists) Changed(ctx context.Context, days ...uuid.UUID) error {
	rows, err := db.New(l.Pool).ListServiceDaysByID(ctx, days)
	if err != nil {
		return fmt.Errorf("days: %w", err)
	}
	var errs []error
	for _, sd := range rows {
		arg := ListChanged{Version: sd.WaitlistVersion, Waiting: sd.Waiting}
		if sd.Waiting > 0 {
			errs = append(errs, l.signal(ctx, []db.ServiceDay{sd}, WaitlistChangedSignal, arg))
			continue
		}
		err := l.Temporal.SignalWorkflow(ctx, WaitlistWorkflowID(sd.ID), "", WaitlistChangedSignal, arg)
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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
