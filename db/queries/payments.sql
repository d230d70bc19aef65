-- name: InsertPaymentAttempt :one
INSERT INTO payment_attempts (id, org_id, family_id, cart_id, seq, refdet, numcli, exer, saisie, mel, objet,
    lines_cents, outstanding_cents, credit_used_cents, amount_cents, status)
VALUES (@id, @org_id, @family_id, @cart_id::uuid, @seq, @refdet, @numcli, @exer, @saisie, @mel, @objet,
    @lines_cents, @outstanding_cents, @credit_used_cents, @amount_cents, @status)
ON CONFLICT (cart_id, seq) DO NOTHING
RETURNING *;

-- name: GetPaymentAttemptBySeq :one
SELECT * FROM payment_attempts WHERE cart_id = @cart_id::uuid AND seq = @seq;

-- name: GetPaymentAttempt :one
SELECT * FROM payment_attempts WHERE id = $1;

-- name: LockPaymentAttempt :one
SELECT * FROM payment_attempts WHERE id = $1 FOR UPDATE;

-- name: GetPaymentAttemptByIDOp :one
SELECT * FROM payment_attempts WHERE id_op = $1;

-- name: SetPaymentAttemptIDOp :exec
UPDATE payment_attempts SET id_op = $2, status = 'pending', payfip_created_at = now()
WHERE id = $1 AND status IN ('created', 'pending');

-- name: WakeAttempt :execrows
-- A PayFiP callback (or the family's result page, not a callback: notified_at
-- stays as it is) for the attempt wakes its workflow, unless another wake-up did
-- after woken_before (PAYFIP_NOTIFY_COOLDOWN ago): then nothing is written and
-- nothing is woken. Parallel callbacks queue on the row; one of them wins.
UPDATE payment_attempts
SET notified_at = CASE WHEN @callback::boolean THEN COALESCE(notified_at, @now::timestamptz) ELSE notified_at END,
    woken_at = @now::timestamptz
WHERE id = @id AND (woken_at IS NULL OR woken_at <= @woken_before::timestamptz);

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
SELECT * FROM payment_attempts WHERE cart_id = @cart_id::uuid ORDER BY seq DESC LIMIT 1;

-- name: InsertBalanceAttempt :one
-- A payment of the outstanding balance alone: no cart, no lines. Its ID is its
-- workflow's (balance:<id>), so a replayed preparation finds it.
INSERT INTO payment_attempts (id, org_id, family_id, kind, seq, refdet, numcli, exer, saisie, mel, objet,
    lines_cents, outstanding_cents, credit_used_cents, amount_cents, status)
VALUES (@id, @org_id, @family_id, 'balance', 1, @refdet, @numcli, @exer, @saisie, @mel, @objet,
    0, @outstanding_cents, @credit_used_cents, @amount_cents, @status)
ON CONFLICT (id) DO NOTHING
RETURNING *;

-- name: PendingPayments :one
-- What the family's payments in progress have frozen of its balances: the
-- outstanding balance they are paying and the cagnotte they are spending. A cart's
-- attempt holds them while its cart checks out (settled_without_payfip included:
-- its confirmation is a moment away); a balance payment until its money is in the
-- ledger. The attempts of @except_cart are left out: a cart's own checkout does
-- not count against itself.
SELECT COALESCE(sum(a.outstanding_cents), 0)::bigint AS outstanding_cents,
       COALESCE(sum(a.credit_used_cents), 0)::bigint AS credit_cents
FROM payment_attempts a LEFT JOIN carts c ON c.id = a.cart_id
WHERE a.family_id = @family_id
  AND (sqlc.narg(except_cart)::uuid IS NULL OR a.cart_id IS DISTINCT FROM sqlc.narg(except_cart)::uuid)
  AND a.status IN ('created', 'pending', 'paid', 'settled_without_payfip')
  AND CASE a.kind
        WHEN 'cart' THEN c.status = 'checking_out'
        ELSE NOT EXISTS (SELECT 1 FROM ledger_entries l
                         WHERE l.idempotency_key IN ('payment:' || a.id::text, 'credit_used:' || a.id::text))
      END;

-- name: ListBalancePaymentsInProgress :many
-- The family's payments of its balance not settled yet, newest first.
SELECT * FROM payment_attempts a
WHERE a.org_id = @org_id AND a.family_id = @family_id AND a.kind = 'balance'
  AND a.status IN ('created', 'pending', 'paid')
  AND NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.idempotency_key = 'payment:' || a.id::text)
ORDER BY a.created_at DESC;

-- name: CloseAttempt :execrows
-- An attempt nobody will follow any more — its PayFiP payment could not be
-- created, or the family abandoned it on the portal (by_family) — is closed
-- without a payment. Reconciliation still reads it from PayFiP later: money taken
-- after all is recorded and credited.
UPDATE payment_attempts
SET status = 'error', status_reason = @reason, settled_at = now(),
    abandoned_at = CASE WHEN @by_family::boolean THEN now() ELSE abandoned_at END
WHERE id = @id AND status IN ('created', 'pending');
