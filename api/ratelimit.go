package api

import (
	"net/netip"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// keyedLimiter gives each key (a client address, an idOp) its own token bucket
// from golang.org/x/time/rate. The buckets of the most recently seen keys are kept
// in a bounded LRU (hashicorp/golang-lru), so a flood of new keys cannot grow
// memory: a forgotten key simply starts again with a full bucket.
//
// It is per process: it sheds load. What must hold across API replicas lives in
// PostgreSQL (WakeAttempt for PayFiP callbacks, login_throttles for passwords).
type keyedLimiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets *lru.Cache[string, *rate.Limiter]
}

// keyedLimiterSize is how many keys a keyedLimiter remembers.
const keyedLimiterSize = 50_000

func newKeyedLimiter(limit rate.Limit, burst int) *keyedLimiter {
	buckets, err := lru.New[string, *rate.Limiter](keyedLimiterSize)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return &keyedLimiter{limit: limit, burst: burst, buckets: buckets}
}

// allow takes a token from key's bucket at now, if there is one.
func (k *keyedLimiter) allow(key string, now time.Time) bool {
	k.mu.Lock()
	b, ok := k.buckets.Get(key)
	if !ok {
		b = rate.NewLimiter(k.limit, k.burst)
		k.buckets.Add(key, b)
	}
	k.mu.Unlock()
	return b.AllowN(now, 1)
}

// forget drops key's bucket: its next request is allowed again.
func (k *keyedLimiter) forget(key string) {
	k.mu.Lock()
	k.buckets.Remove(key)
	k.mu.Unlock()
}

// addressKey is how a client address is counted: an IPv4 address alone, an IPv6
// address by its /64 — the block one subscriber, one household or one server gets,
// and rotates its addresses within for free.
func addressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return truncate(addr, 100)
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}
