package booking_test

import (
	"testing"
	"time"

	"github.com/enfance/enfance/booking"
)

func TestPlacesLeft(t *testing.T) {
	cap10 := int32(10)
	tests := []struct {
		name           string
		capacity       *int32
		taken, waiting int32
		left           int32
		limited, full  bool
	}{
		{"unlimited", nil, 40, 0, 0, false, false},
		{"unlimited with a stray waiting count", nil, 40, 3, 0, false, false},
		{"places left", &cap10, 7, 0, 3, true, false},
		{"full", &cap10, 10, 0, 0, true, true},
		{"a place freed, nobody waiting", &cap10, 9, 0, 1, true, false},
		{"a place freed while children wait: theirs", &cap10, 9, 2, 0, true, true},
		{"over capacity after a capacity cut never goes negative", &cap10, 12, 0, 0, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			left, limited := booking.PlacesLeft(tc.capacity, tc.taken, tc.waiting)
			if left != tc.left || limited != tc.limited {
				t.Errorf("PlacesLeft = %d, %v; want %d, %v", left, limited, tc.left, tc.limited)
			}
			if got := booking.Full(tc.capacity, tc.taken, tc.waiting); got != tc.full {
				t.Errorf("Full = %v, want %v", got, tc.full)
			}
		})
	}
}

func TestOfferExpiry(t *testing.T) {
	now := at(2026, 12, 1, 9, 0)
	deadline := at(2026, 12, 3, 10, 0)
	cart := at(2026, 12, 2, 20, 0)
	tests := []struct {
		name           string
		hold           time.Duration
		deadline, cart time.Time
		want           time.Time
	}{
		{"the service's hold", 24 * time.Hour, deadline, cart.Add(48 * time.Hour), at(2026, 12, 2, 9, 0)},
		{"never past the booking deadline", 72 * time.Hour, deadline, cart.Add(48 * time.Hour), deadline},
		{"never past the cart's expiry", 48 * time.Hour, deadline, cart, cart},
		{"the earliest of the three", 48 * time.Hour, at(2026, 12, 2, 8, 0), cart, at(2026, 12, 2, 8, 0)},
		{"a deadline already passed gives an expiry in the past", 24 * time.Hour, at(2026, 12, 1, 8, 0), cart, at(2026, 12, 1, 8, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := booking.OfferExpiry(now, tc.hold, tc.deadline, tc.cart); !got.Equal(tc.want) {
				t.Errorf("OfferExpiry = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestReminderAfter(t *testing.T) {
	start := at(2026, 12, 1, 9, 0)
	tests := []struct {
		name    string
		expires time.Time
		before  time.Duration
		wait    time.Duration
		ok      bool
	}{
		{"48 h cart, reminded 6 h before", start.Add(48 * time.Hour), 6 * time.Hour, 42 * time.Hour, true},
		{"no reminder asked for", start.Add(48 * time.Hour), 0, 0, false},
		{"a cart younger than the reminder gets none", start.Add(5 * time.Hour), 6 * time.Hour, 0, false},
		{"a cart exactly as old as the reminder gets none", start.Add(6 * time.Hour), 6 * time.Hour, 0, false},
		{"a cart restarted after its reminder time gets none", start.Add(2 * time.Hour), 6 * time.Hour, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, ok := booking.ReminderAfter(start, tc.expires, tc.before)
			if ok != tc.ok || (ok && wait != tc.wait) {
				t.Errorf("ReminderAfter = %s, %v; want %s, %v", wait, ok, tc.wait, tc.ok)
			}
		})
	}
}
