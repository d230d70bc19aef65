-- name: ListChildReservations :many
SELECT * FROM reservations
WHERE family_id = $1 AND child_id = $2 AND service_id = $3 AND status = 'confirmed'
  AND day BETWEEN @first_day AND @last_day;

-- name: HasConfirmedReservation :one
SELECT EXISTS (SELECT 1 FROM reservations WHERE child_id = $1 AND service_day_id = $2 AND status = 'confirmed');

-- name: ListFamilyReservations :many
SELECT * FROM reservations
WHERE org_id = $1 AND family_id = $2 AND day BETWEEN @first_day AND @last_day
ORDER BY day, child_id, service_id;

-- name: ConfirmCartLineReservations :many
-- One reservation per held line; cart_line_id UNIQUE makes a replay a no-op.
INSERT INTO reservations (id, org_id, family_id, child_id, service_id, service_day_id, day, price_cents, status, source, cart_line_id)
SELECT gen_random_uuid(), l.org_id, l.family_id, l.child_id, l.service_id, l.service_day_id, l.day, l.price_cents, 'confirmed', 'online', l.id
FROM cart_lines l
WHERE l.cart_id = $1 AND l.state = 'held'
ON CONFLICT (cart_line_id) DO NOTHING
RETURNING *;

-- name: ListFamilyReservationsByStatus :many
-- The family calendar; status NULL means every status.
SELECT * FROM reservations
WHERE org_id = @org_id AND family_id = @family_id AND day BETWEEN @first_day AND @last_day
  AND (sqlc.narg(status)::reservation_status IS NULL OR status = sqlc.narg(status)::reservation_status)
ORDER BY day, child_id, service_id;

-- name: HasHeldLine :one
SELECT EXISTS (SELECT 1 FROM cart_lines WHERE child_id = $1 AND service_day_id = $2 AND state = 'held');

-- name: LockFamilyReservation :one
SELECT * FROM reservations WHERE org_id = $1 AND family_id = $2 AND id = $3 FOR UPDATE;

-- name: LockOrgReservation :one
SELECT * FROM reservations WHERE org_id = $1 AND id = $2 FOR UPDATE;

-- name: CancelReservation :one
-- The status guard makes a second cancellation find nothing.
UPDATE reservations SET status = 'cancelled', cancelled_at = @cancelled_at
WHERE id = @id AND status = 'confirmed'
RETURNING *;

-- name: InsertStaffReservation :one
-- A booking made by staff on a family's behalf; a confirmed one for the same child
-- and day makes it a no-op (no row).
INSERT INTO reservations (id, org_id, family_id, child_id, service_id, service_day_id, day, price_cents,
    status, source, booked_by, reason)
VALUES (@id, @org_id, @family_id, @child_id, @service_id, @service_day_id, @day, @price_cents,
    'confirmed', 'staff', @booked_by, @reason)
ON CONFLICT (child_id, service_day_id) WHERE status = 'confirmed' DO NOTHING
RETURNING *;

-- name: LockFamilyForMoney :exec
-- Serialises the writers that read a family's balances before writing the ledger.
SELECT id FROM families WHERE id = $1 FOR UPDATE;

-- name: ListDayChildren :many
-- Who comes on a service day: the confirmed reservations with child and family.
SELECT r.id AS reservation_id, r.source, r.price_cents, r.created_at,
       m.id AS child_id, m.first_name, m.last_name, m.school, m.class_name, m.birth_date,
       f.id AS family_id, f.name AS family_name, f.phone AS family_phone
FROM reservations r
JOIN members m ON m.id = r.child_id
JOIN families f ON f.id = r.family_id
WHERE r.org_id = @org_id AND r.service_id = @service_id AND r.day = @day AND r.status = 'confirmed'
ORDER BY m.last_name, m.first_name, m.id;

-- name: CountDayLines :one
-- Places a day's counter should show: held lines plus confirmed reservations.
SELECT ((SELECT count(*) FROM cart_lines l WHERE l.service_day_id = @service_day_id AND l.state = 'held')
     + (SELECT count(*) FROM reservations r WHERE r.service_day_id = @service_day_id AND r.status = 'confirmed'))::bigint AS places;

-- name: AuditReservationChange :exec
INSERT INTO audit_log (org_id, actor_id, action, entity, entity_id, before, after)
VALUES (@org_id, @actor_id, @action, 'reservation', @entity_id, @before, @after);

-- name: ReleaseMonthLines :many
-- Unticks a month: the cart's held lines of one child and service between two days.
UPDATE cart_lines SET state = 'released'
WHERE cart_id = @cart_id AND child_id = @child_id AND service_id = @service_id AND state = 'held'
  AND day BETWEEN @first_day AND @last_day
RETURNING *;
