-- name: InsertPaymentAttempt :one
INSERT INTO payment_attempts (id, org_id, family_id, cart_id, seq, refdet, numcli, exer, saisie, mel, objet,
    lines_cents, outstanding_cents, credit_used_cents, amount_cents, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (cart_id, seq) DO NOTHING
RETURNING *;

-- name: GetPaymentAttemptBySeq :one
SELECT * FROM payment_attempts WHERE cart_id = $1 AND seq = $2;

-- name: GetPaymentAttempt :one
SELECT * FROM payment_attempts WHERE id = $1;

-- name: LockPaymentAttempt :one
SELECT * FROM payment_attempts WHERE id = $1 FOR UPDATE;

-- name: GetPaymentAttemptByIDOp :one
SELECT * FROM payment_attempts WHERE id_op = $1;

-- name: SetPaymentAttemptIDOp :exec
UPDATE payment_attempts SET id_op = $2, status = 'pending', payfip_created_at = now()
WHERE id = $1 AND status IN ('created', 'pending');

-- name: MarkAttemptNotified :exec
UPDATE payment_attempts SET notified_at = COALESCE(notified_at, now()) WHERE id = $1;

-- name: SetPaymentAttemptOutcome :exec
-- A paid attempt never changes again.
UPDATE payment_attempts
SET status = @status, resultrans = @resultrans, numauto = @numauto, status_reason = @status_reason,
    paid_at = @paid_at, settled_at = now()
WHERE id = @id AND status NOT IN ('paid', 'settled_without_payfip');

-- name: ListFamilyPayments :many
SELECT * FROM payment_attempts
WHERE org_id = $1 AND family_id = $2 AND status IN ('paid', 'settled_without_payfip')
ORDER BY settled_at DESC;

-- name: LatestPaymentAttempt :one
SELECT * FROM payment_attempts WHERE cart_id = $1 ORDER BY seq DESC LIMIT 1;
