package booking

import "time"

// PlacesLeft is how many places a family can still book on a day of the given
// capacity (nil: unlimited, and limited is false). While children wait on the
// day's list, a freed place is theirs: none is left for a newcomer.
func PlacesLeft(capacity *int32, taken, waiting int32) (left int32, limited bool) {
	if capacity == nil {
		return 0, false
	}
	if waiting > 0 {
		return 0, true
	}
	return max(*capacity-taken, 0), true
}

// Full reports whether a newcomer finds no place on the day (PlacesLeft is 0).
func Full(capacity *int32, taken, waiting int32) bool {
	left, limited := PlacesLeft(capacity, taken, waiting)
	return limited && left == 0
}

// OfferExpiry is when a place offered from a waiting list at now stops being held:
// after hold, but never past the day's booking deadline (the family could not book
// it any more) nor past the expiry of the cart the offer sits in (the cart releases
// its lines then). An offer whose expiry is not after now cannot be made.
func OfferExpiry(now time.Time, hold time.Duration, bookingDeadline, cartExpiry time.Time) time.Time {
	end := now.Add(hold)
	if bookingDeadline.Before(end) {
		end = bookingDeadline
	}
	if cartExpiry.Before(end) {
		end = cartExpiry
	}
	return end
}

// ReminderAfter is how long after start a cart expiring at expiresAt is reminded
// of, remindBefore its expiry. ok is false when no reminder is due: none is asked
// for (remindBefore ≤ 0), or the cart is younger than that (its whole life is
// shorter than remindBefore).
func ReminderAfter(start, expiresAt time.Time, remindBefore time.Duration) (wait time.Duration, ok bool) {
	if remindBefore <= 0 {
		return 0, false
	}
	wait = expiresAt.Add(-remindBefore).Sub(start)
	return wait, wait > 0
}
