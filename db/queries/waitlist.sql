-- Waiting lists (package waitlist). Locks follow the order of every writer: the
-- family's cart, then waiting-list entries (by id when several), then the service
-- day. The day's row carries `waiting`, so the guards below are decided under its
-- lock like `taken`.

-- name: JoinDayList :one
-- A child may join only a day that is full, or whose list already has someone
-- waiting (a freed place is the list's until it is offered): no row otherwise.
UPDATE service_days SET waiting = waiting + 1, waitlist_version = waitlist_version + 1
WHERE id = $1 AND open AND capacity IS NOT NULL AND (taken >= capacity OR waiting > 0)
RETURNING *;

-- name: NextWaitlistPosition :one
SELECT (COALESCE(max(position), 0) + 1)::bigint AS position FROM waitlist_entries WHERE service_day_id = $1;

-- name: InsertWaitlistEntry :one
-- A child already on the day's list (waiting or offered) makes it a no-op: no row.
INSERT INTO waitlist_entries (id, org_id, family_id, child_id, service_id, service_day_id, day, position, created_by)
VALUES (@id, @org_id, @family_id, @child_id, @service_id, @service_day_id, @day, @position, @created_by)
ON CONFLICT (child_id, service_day_id) WHERE status IN ('waiting', 'offered') DO NOTHING
RETURNING *;

-- name: HasLiveWaitlistEntry :one
SELECT EXISTS (SELECT 1 FROM waitlist_entries WHERE child_id = $1 AND service_day_id = $2 AND status IN ('waiting', 'offered'));

-- name: WaitlistRank :one
-- The entry's place among its day's waiting entries (1 = next to be offered).
SELECT waitlist_rank(@service_day_id::uuid, @position::bigint)::int;

-- name: GetWaitlistEntry :one
SELECT * FROM waitlist_entries WHERE id = $1;

-- name: GetFamilyWaitlistEntry :one
SELECT * FROM waitlist_entries WHERE org_id = $1 AND family_id = $2 AND id = $3;

-- name: LockWaitlistEntry :one
SELECT * FROM waitlist_entries WHERE id = $1 FOR UPDATE;

-- name: FirstWaiting :one
-- The next entry to be offered a place on the day.
SELECT * FROM waitlist_entries WHERE service_day_id = $1 AND status = 'waiting'
ORDER BY position, id LIMIT 1;

-- name: LeaveDayList :one
-- One entry fewer waiting (it left, was offered by hand, or the list closed).
UPDATE service_days SET waiting = waiting - 1, waitlist_version = waitlist_version + 1
WHERE id = $1
RETURNING *;

-- name: TakeOfferPlace :one
-- The place an offer holds: a free one, which only the list may take while
-- someone waits. No row when none is free.
UPDATE service_days SET taken = taken + 1, waiting = waiting - 1, waitlist_version = waitlist_version + 1
WHERE id = $1 AND open AND waiting > 0 AND (capacity IS NULL OR taken < capacity)
RETURNING *;

-- name: AddOfferPlace :one
-- Staff offering a place by hand on a full day: one place more, taken by the offer.
UPDATE service_days SET capacity = capacity + 1, taken = taken + 1, waiting = waiting - 1, waitlist_version = waitlist_version + 1
WHERE id = $1 AND open AND waiting > 0 AND capacity IS NOT NULL AND taken >= capacity
RETURNING *;

-- name: BumpWaitlistVersion :one
UPDATE service_days SET waitlist_version = waitlist_version + 1 WHERE id = $1 RETURNING *;

-- name: SetWaitlistOffered :one
UPDATE waitlist_entries SET status = 'offered', offer_line_id = @offer_line_id, offered_at = @offered_at,
    offer_expires_at = @offer_expires_at, offered_by = @offered_by, offer_reason = @offer_reason
WHERE id = @id AND status = 'waiting'
RETURNING *;

-- name: CloseWaitlistEntry :one
-- waiting or offered → left or expired; accepted is CloseOffersOfCart's.
UPDATE waitlist_entries SET status = @status, closed_at = @closed_at
WHERE id = @id AND status IN ('waiting', 'offered')
RETURNING *;

-- name: EndOffersOfLines :many
-- An offer lives and dies with its cart line: the family removed the line
-- (declined, status left) and its entry closes in the same transaction.
UPDATE waitlist_entries SET status = @status, closed_at = now()
WHERE offer_line_id = ANY(@line_ids::uuid[]) AND status = 'offered'
RETURNING *;

-- name: CloseOffersOfCart :many
-- After a cart's lines changed state: offers whose line was confirmed are accepted,
-- those whose line was released (the cart expired) have expired.
UPDATE waitlist_entries e SET
    status = CASE WHEN l.state = 'confirmed' THEN 'accepted'::waitlist_status ELSE 'expired'::waitlist_status END,
    closed_at = now()
FROM cart_lines l
WHERE l.id = e.offer_line_id AND l.cart_id = $1 AND l.state IN ('confirmed', 'released') AND e.status = 'offered'
RETURNING e.*;

-- name: ListDayOffers :many
-- The day's offers still open, for its workflow's timers.
SELECT id, offer_expires_at FROM waitlist_entries WHERE service_day_id = $1 AND status = 'offered'
ORDER BY offer_expires_at, id;

-- name: LockDayWaitingEntries :many
-- Every waiting entry of the day, locked in id order (reordering, closing the list).
SELECT * FROM waitlist_entries WHERE service_day_id = $1 AND status = 'waiting'
ORDER BY id
FOR UPDATE;

-- name: SetWaitlistPosition :exec
UPDATE waitlist_entries SET position = @position WHERE id = @id AND status = 'waiting';

-- name: CloseDayWaitingList :one
-- The booking deadline closed the list: nobody waits any more.
UPDATE service_days SET waiting = 0, waitlist_version = waitlist_version + 1 WHERE id = $1 RETURNING *;

-- name: GetServiceDayByID :one
SELECT * FROM service_days WHERE id = $1;

-- name: GetOrgServiceDay :one
SELECT * FROM service_days WHERE org_id = $1 AND id = $2;

-- name: ListFamilyWaitlist :many
-- The family's entries from a day on, with their rank among the waiting ones.
SELECT sqlc.embed(e), s.name AS service_name, m.first_name AS child_first_name,
    (CASE WHEN e.status = 'waiting' THEN waitlist_rank(e.service_day_id, e.position) ELSE 0 END)::int AS rank
FROM waitlist_entries e
JOIN services s ON s.id = e.service_id
JOIN members m ON m.id = e.child_id
WHERE e.org_id = @org_id AND e.family_id = @family_id AND e.day >= @from_day
ORDER BY e.day, m.first_name, s.name, e.created_at;

-- name: ListChildWaitlist :many
-- A child's live entries for a service in a month (the booking calendar).
SELECT e.id, e.day, e.status, e.offer_expires_at,
    (CASE WHEN e.status = 'waiting' THEN waitlist_rank(e.service_day_id, e.position) ELSE 0 END)::int AS rank
FROM waitlist_entries e
WHERE e.family_id = @family_id AND e.child_id = @child_id AND e.service_id = @service_id
  AND e.status IN ('waiting', 'offered') AND e.day BETWEEN @first_day AND @last_day;

-- name: ListCartOffers :many
-- The offers held as lines of a cart, with their expiry.
SELECT e.id, e.offer_line_id, e.offer_expires_at
FROM waitlist_entries e JOIN cart_lines l ON l.id = e.offer_line_id
WHERE l.cart_id = $1 AND e.status = 'offered';

-- name: ListDayWaitlist :many
-- A day's list for staff: waiting entries in order, then offers, then the closed ones.
SELECT sqlc.embed(e), m.first_name, m.last_name, m.school, m.class_name, f.name AS family_name,
    f.email AS family_email, f.phone AS family_phone,
    (CASE WHEN e.status = 'waiting' THEN waitlist_rank(e.service_day_id, e.position) ELSE 0 END)::int AS rank
FROM waitlist_entries e
JOIN members m ON m.id = e.child_id
JOIN families f ON f.id = e.family_id
WHERE e.org_id = @org_id AND e.service_day_id = @service_day_id
ORDER BY CASE e.status WHEN 'waiting' THEN 0 WHEN 'offered' THEN 1 ELSE 2 END, e.position, e.created_at;

-- name: ListWaitlistDaysToWake :many
-- Of the days where places were just freed, those whose list has someone waiting.
SELECT * FROM service_days WHERE id = ANY(@ids::uuid[]) AND waiting > 0;

-- name: ListServiceDaysByID :many
SELECT * FROM service_days WHERE id = ANY(@ids::uuid[]);

-- name: ListStarvedWaitlistDays :many
-- Days whose list should be acting and may not know it: a free place while someone
-- waits, or an offer past its expiry by a grace. Reconciliation wakes their workflow.
SELECT d.id FROM service_days d
WHERE d.day >= @from_day AND (
    (d.waiting > 0 AND d.open AND (d.capacity IS NULL OR d.taken < d.capacity))
 OR EXISTS (SELECT 1 FROM waitlist_entries e WHERE e.service_day_id = d.id AND e.status = 'offered' AND e.offer_expires_at < @lapsed_before::timestamptz))
ORDER BY d.day, d.id
LIMIT @max_days;

-- name: GetWaitlistEntryMail :one
-- What the e-mails about an entry tell the family (the offer's price once offered).
SELECT e.id, e.org_id, e.day, e.status, e.offer_expires_at, COALESCE(l.price_cents, 0)::bigint AS price_cents,
    s.name AS service_name, m.first_name AS child_first_name, f.email, o.name AS org_name, o.time_zone
FROM waitlist_entries e
LEFT JOIN cart_lines l ON l.id = e.offer_line_id
JOIN services s ON s.id = e.service_id
JOIN members m ON m.id = e.child_id
JOIN families f ON f.id = e.family_id
JOIN orgs o ON o.id = e.org_id
WHERE e.id = $1;

-- name: TakePlaceOverList :one
-- A staff booking that overrides the day's waiting list (with a reason): the free
-- place is taken although the list would have had it.
UPDATE service_days SET taken = taken + 1
WHERE id = $1 AND open AND (capacity IS NULL OR taken < capacity)
RETURNING taken;

-- name: CountWaitlistMismatches :one
-- Invariants of the lists: each day's waiting counter equals its waiting entries;
-- each open offer is a held cart line of its family for its day; each accepted
-- entry is a confirmed line or a confirmed reservation of the child on the day; no
-- child waits for a day it holds or has.
SELECT (
  (SELECT count(*) FROM service_days d WHERE d.org_id = @org_id
     AND d.waiting <> (SELECT count(*) FROM waitlist_entries e WHERE e.service_day_id = d.id AND e.status = 'waiting'))
+ (SELECT count(*) FROM waitlist_entries e LEFT JOIN cart_lines l ON l.id = e.offer_line_id
   WHERE e.org_id = @org_id AND e.status = 'offered'
     AND (l.id IS NULL OR l.family_id <> e.family_id OR l.child_id <> e.child_id OR l.service_day_id <> e.service_day_id OR l.state <> 'held'))
+ (SELECT count(*) FROM waitlist_entries e WHERE e.org_id = @org_id AND e.status = 'accepted'
     AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.child_id = e.child_id AND r.service_day_id = e.service_day_id AND r.status = 'confirmed')
     AND NOT EXISTS (SELECT 1 FROM cart_lines l WHERE l.id = e.offer_line_id AND l.state = 'confirmed'))
+ (SELECT count(*) FROM waitlist_entries e WHERE e.org_id = @org_id AND e.status = 'waiting'
     AND (EXISTS (SELECT 1 FROM cart_lines l WHERE l.child_id = e.child_id AND l.service_day_id = e.service_day_id AND l.state = 'held')
       OR EXISTS (SELECT 1 FROM reservations r WHERE r.child_id = e.child_id AND r.service_day_id = e.service_day_id AND r.status = 'confirmed'))))::bigint
  AS mismatches;

-- name: LockChildWaitingEntry :one
-- The child's waiting entry for the day, if any, locked before the day's row.
SELECT * FROM waitlist_entries WHERE child_id = $1 AND service_day_id = $2 AND status = 'waiting' FOR UPDATE;

-- name: AcceptWaitingEntry :exec
-- Staff booked the child on the day themselves: its place on the list is no longer needed.
UPDATE waitlist_entries SET status = 'accepted', closed_at = now() WHERE id = $1 AND status = 'waiting';

-- name: GetCartLineByID :one
SELECT * FROM cart_lines WHERE id = $1;

-- name: ListReleasedCartDays :many
-- The days whose places a cart gave back (its released lines).
SELECT DISTINCT service_day_id FROM cart_lines WHERE cart_id = $1 AND state = 'released';

-- name: SetServiceOfferHold :one
UPDATE services SET waitlist_offer_hold = make_interval(hours => @hours::int)
WHERE org_id = @org_id AND id = @id
RETURNING *;
