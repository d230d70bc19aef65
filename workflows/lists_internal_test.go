package workflows

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Ten callers that arrive while a day's signal is on its way are served by one
// more signal, made after it, whose result each of them gets; the caller of
// the first gets the first's. Another day is not held up meanwhile, and nothing
// is left behind.
func TestFollowUpsServeTheLateCallersWithOneCallAfterTheirs(t *testing.T) {
	var f followUps
	day, other := uuid.New(), uuid.New()
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	fn := func(context.Context) error {
		n := calls.Add(1)
		if n == 1 {
			close(started)
			<-release
		}
		return fmt.Errorf("call %d", n)
	}
	first := make(chan error, 1)
	go func() { first <- f.do(context.Background(), day, fn) }()
	<-started

	late := make(chan error, 10)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); late <- f.do(context.Background(), day, fn) }()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		queued := len(f.keys[day].next)
		f.mu.Unlock()
		if queued == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers queued, want 10", queued)
		}
	}
	if err := f.do(context.Background(), other, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("another day: %v", err)
	}

	close(release)
	wg.Wait()
	close(late)
	if err := <-first; err == nil || err.Error() != "call 1" {
		t.Errorf("the first caller got %v", err)
	}
	for err := range late {
		if err == nil || err.Error() != "call 2" {
			t.Errorf("a late caller got %v, want the call after the first", err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls of the day, want 2", n)
	}
	if len(f.keys) != 0 {
		t.Errorf("keys left: %v", f.keys)
	}
}
