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

-- name: QueueAttemptEmail :exec
-- Queues the e-mail of a payment attempt's document, once per key; a row its
-- sender claimed without queueing it (ClaimEmail) and never sent joins the queue.
-- to_address and subject are written when it leaves.
INSERT INTO outbound_emails (id, org_id, idempotency_key, to_address, subject, kind, payment_attempt_id, next_try_at)
VALUES ($1, $2, $3, $4, '', $5, $6, now())
ON CONFLICT (idempotency_key) DO UPDATE
SET kind = EXCLUDED.kind, payment_attempt_id = EXCLUDED.payment_attempt_id,
    next_try_at = COALESCE(outbound_emails.next_try_at, EXCLUDED.next_try_at)
WHERE outbound_emails.sent_at IS NULL AND outbound_emails.kind IS NULL;

-- name: LeaseDueEmails :many
-- Takes up to max_rows queued e-mails due now, each for lease_seconds: a worker
-- that dies while sending leaves them to another once the lease is over.
UPDATE outbound_emails SET next_try_at = now() + make_interval(secs => sqlc.arg(lease_seconds)::float8), tries = tries + 1
WHERE id IN (
    SELECT id FROM outbound_emails
    WHERE sent_at IS NULL AND kind IS NOT NULL AND next_try_at <= now()
    ORDER BY next_try_at
    LIMIT sqlc.arg(max_rows)
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: LeaseEmail :one
-- Takes one queued e-mail for lease_seconds, unless it has left or another
-- sender holds it.
UPDATE outbound_emails SET next_try_at = now() + make_interval(secs => sqlc.arg(lease_seconds)::float8), tries = tries + 1
WHERE idempotency_key = sqlc.arg(idempotency_key) AND sent_at IS NULL AND kind IS NOT NULL
  AND (next_try_at IS NULL OR next_try_at <= now())
RETURNING *;

-- name: GetEmailByKey :one
SELECT * FROM outbound_emails WHERE idempotency_key = $1;

-- name: MarkQueuedEmailSent :exec
UPDATE outbound_emails SET sent_at = now(), to_address = $2, subject = $3, last_error = ''
WHERE id = $1 AND sent_at IS NULL;

-- name: RetryEmailLater :exec
UPDATE outbound_emails SET next_try_at = now() + make_interval(secs => sqlc.arg(after_seconds)::float8), last_error = sqlc.arg(last_error)
WHERE id = sqlc.arg(id) AND sent_at IS NULL;
