package sim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"
)

// notifyAttempts is how many times one notification is tried before giving up.
const notifyAttempts = 5

// notifyBackoff is the wait before the second attempt; it doubles each time.
var notifyBackoff = 200 * time.Millisecond

// notify calls p.URLNotif in the background (GET urlnotif?idop=…), once, or
// f.DuplicateNotifications times concurrently, or not at all when
// f.LoseNotifications is set.
func (s *Simulator) notify(p SimPayment, f Faults) {
	if f.LoseNotifications {
		s.log.Info("payfip sim: notification lost on purpose", zap.String("idop", p.IDOp))
		return
	}
	target, err := notifyURL(p.URLNotif, p.IDOp)
	if err != nil {
		s.log.Warn("payfip sim: bad urlnotif", zap.String("idop", p.IDOp), zap.Error(err))
		return
	}
	n := max(f.DuplicateNotifications, 1)
	for range n {
		s.spawn(func() { s.deliver(p.IDOp, target) })
	}
}

func notifyURL(base, idOp string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("idop", idOp)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// deliver makes one notification, retrying on transport errors and non-2xx.
func (s *Simulator) deliver(idOp, target string) {
	wait := notifyBackoff
	for attempt := 1; attempt <= notifyAttempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
			wait *= 2
		}
		ok := s.callOnce(idOp, target)
		s.mu.Lock()
		if p := s.payments[idOp]; p != nil {
			p.NotifyAttempts++
			if ok {
				p.Notified++
			}
		}
		s.mu.Unlock()
		if ok {
			return
		}
	}
	s.log.Warn("payfip sim: notification given up", zap.String("idop", idOp), zap.Int("attempts", notifyAttempts))
}

func (s *Simulator) callOnce(idOp, target string) bool {
	// Not bound to s.ctx: Close lets an attempt in flight finish (HTTPClient's
	// timeout bounds it) and only cancels the waits between attempts.
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "PayFiP-simulator")
	resp, err := s.hc.Do(req)
	if err != nil {
		s.log.Info("payfip sim: notification failed", zap.String("idop", idOp), zap.Error(err))
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		s.log.Info("payfip sim: notification refused", zap.String("idop", idOp), zap.Int("status", resp.StatusCode))
		return false
	}
	s.log.Info("payfip sim: notification delivered", zap.String("idop", idOp))
	return true
}
