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
