-- PayFiP reconciliation (workflows/reconcile.go, activities/reconcile.go).

-- name: ClaimAttemptsToReconcile :many
-- The attempts whose money may be unaccounted for, stamped as looked at so the
-- next run begins with others: still created/pending past @stale_before; closed
-- without a payment (expired, error) and not yet given up on — PayFiP may still
-- answer paid; paid since @paid_since but never written to the ledger (the cart's
-- workflow ended between reading the result and confirming). Refused and abandoned
-- are PayFiP's own final answers and are not read again. SKIP LOCKED keeps a
-- concurrent claim (an operator's manual trigger) from waiting on this one; what
-- both pick is settled once anyway, every write being keyed.
WITH picked AS (
    SELECT a.id FROM payment_attempts a
    WHERE a.id_op IS NOT NULL AND a.reconciled_at IS NULL AND a.payfip_created_at < @stale_before
      AND (a.status IN ('created', 'pending', 'expired', 'error')
           OR (a.status = 'paid' AND a.settled_at >= @paid_since
               AND NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.idempotency_key = 'payment:' || a.id::text)))
    ORDER BY a.reconcile_checked_at NULLS FIRST, a.payfip_created_at
    LIMIT @batch
    FOR UPDATE SKIP LOCKED
)
UPDATE payment_attempts p SET reconcile_checked_at = @checked_at
FROM picked WHERE p.id = picked.id
RETURNING p.id, p.kind, p.cart_id, p.family_id, p.id_op, p.status, p.amount_cents, p.payfip_created_at, p.notified_at;

-- name: MarkAttemptReconciled :exec
UPDATE payment_attempts SET reconciled_at = @reconciled_at WHERE id = @id AND reconciled_at IS NULL;

-- name: ReopenAttemptReconciliation :execrows
-- A notification for an attempt closed without a payment: PayFiP may have taken
-- the money after all, so reconciliation reads it once more.
UPDATE payment_attempts SET reconciled_at = NULL
WHERE id = $1 AND status IN ('expired', 'error') AND reconciled_at IS NOT NULL;

-- name: LedgerKeyExists :one
SELECT EXISTS (SELECT 1 FROM ledger_entries WHERE idempotency_key = $1);
