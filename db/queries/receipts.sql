-- name: GetFamilyPaymentAttempt :one
SELECT * FROM payment_attempts WHERE org_id = $1 AND family_id = $2 AND id = $3;

-- name: ListCartReservationDetails :many
SELECT r.day, r.price_cents, m.first_name, m.last_name, s.name AS service_name
FROM reservations r
JOIN cart_lines l ON l.id = r.cart_line_id
JOIN members m ON m.id = r.child_id
JOIN services s ON s.id = r.service_id
WHERE l.cart_id = $1
ORDER BY r.day, m.first_name, s.name;

-- name: ClaimEmail :one
-- The row exists once per key; its sent_at says whether the message already left.
INSERT INTO outbound_emails (id, org_id, idempotency_key, to_address, subject)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
RETURNING *;

-- name: MarkEmailSent :exec
UPDATE outbound_emails SET sent_at = now() WHERE idempotency_key = $1 AND sent_at IS NULL;
