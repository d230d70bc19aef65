package worker

import (
	"context"
	"fmt"
	"os"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
)

// PauseBeforeEnv names an activity type, or a step inside the activities
// (activities.Activities.Pause: "ConfirmCart" once PayFiP has said paid,
// "SendReceipt" in the e-mail queue), this worker process stops in front of,
// after printing "enfance-fault: paused before <name>" to stderr. Fault-injection
// tests set it, wait for the line and SIGKILL the process there: the most precise
// way to die "after PayFiP said paid and before confirmation" without editing the
// business code. Unset, it costs nothing.
const PauseBeforeEnv = "ENFANCE_FAULT_PAUSE_BEFORE"

// faultPause returns the activities' Pause hook for PauseBeforeEnv, or nil.
func faultPause() func(step string) {
	name := os.Getenv(PauseBeforeEnv)
	if name == "" {
		return nil
	}
	return func(step string) {
		if step == name {
			pauseForever(name)
		}
	}
}

func pauseForever(name string) {
	fmt.Fprintf(os.Stderr, "enfance-fault: paused before %s\n", name)
	select {} // until the process is killed
}

func faultInterceptors() []interceptor.WorkerInterceptor {
	name := os.Getenv(PauseBeforeEnv)
	if name == "" {
		return nil
	}
	return []interceptor.WorkerInterceptor{&pauseBefore{name: name}}
}

type pauseBefore struct {
	interceptor.WorkerInterceptorBase
	name string
}

func (p *pauseBefore) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &pauseActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, name: p.name}
}

type pauseActivity struct {
	interceptor.ActivityInboundInterceptorBase
	name string
}

func (p *pauseActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if activity.GetInfo(ctx).ActivityType.Name == p.name {
		fmt.Fprintf(os.Stderr, "enfance-fault: paused before %s\n", p.name)
		<-ctx.Done() // until the process is killed (or the activity times out)
		return nil, ctx.Err()
	}
	return p.Next.ExecuteActivity(ctx, in)
}
