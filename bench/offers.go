package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/enfance/enfance/db"
)

// offersPhase frees places on the limited day once the rush is over: the first
// o.Cancellations families holding it cancel, each freed place is offered by the
// day's waiting list (its workflow, woken by the cancellation) to the next family
// in line, and that family pays its offer. It returns how many offers were paid;
// the invariants checked afterwards cover the list too.
func offersPhase(ctx context.Context, fx *fixture, o Options, holders, waiters []*parent) (int, error) {
	day := fx.serviceDays[0].Format(time.DateOnly)
	n := min(o.Cancellations, len(holders), len(waiters))
	for _, h := range holders[:n] {
		var res []struct{ ID, Status string }
		if st, err := h.call(ctx, "reservations", http.MethodGet, "/api/v1/reservations?from="+day+"&to="+day, nil, &res); err != nil || st != http.StatusOK {
			return 0, fmt.Errorf("reservations: %d %w", st, errOr(err))
		}
		for _, r := range res {
			if st, err := h.call(ctx, "cancel", http.MethodPost, "/api/v1/reservations/"+r.ID+"/cancel", nil, nil); err != nil || st != http.StatusOK {
				return 0, fmt.Errorf("cancel: %d %w", st, errOr(err))
			}
		}
	}
	// Every family on the list watches its entry; those offered pay.
	var mu sync.Mutex
	paid := 0
	var errs []error
	var wg sync.WaitGroup
	deadline := time.Now().Add(o.Timeout)
	for _, w := range waiters {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				mu.Lock()
				done := paid == n
				mu.Unlock()
				if done {
					return
				}
				var entries []struct{ ID, Status string }
				if st, err := w.call(ctx, "get_waitlist", http.MethodGet, "/api/v1/waitlist", nil, &entries); err != nil || st != http.StatusOK {
					mu.Lock()
					errs = append(errs, fmt.Errorf("waitlist: %d %w", st, errOr(err)))
					mu.Unlock()
					return
				}
				for _, e := range entries {
					if e.ID != w.waiting || e.Status != string(db.WaitlistStatusOffered) {
						continue
					}
					_, kind, err := w.pay(ctx, o)
					mu.Lock()
					if err != nil {
						errs = append(errs, fmt.Errorf("paying an offer: %s: %w", kind, err))
					} else {
						paid++
					}
					mu.Unlock()
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	if paid != n {
		errs = append(errs, fmt.Errorf("%d offers paid, want %d", paid, n))
	}
	return paid, errors.Join(errs...)
}
