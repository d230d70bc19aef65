-- name: InsertLedgerEntry :execrows
-- The idempotency key turns a replayed write into a no-op.
INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, credit_cents, idempotency_key,
    reservation_id, payment_attempt_id, cart_id, label, method, created_by, occurred_at, attendance_id, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, sqlc.narg(attendance_id), sqlc.arg(reason))
ON CONFLICT (idempotency_key) DO NOTHING;

-- name: InsertDeskLedgerEntry :one
-- The same insert, answering the row: none back means the key was already used,
-- and the caller reads that entry instead.
INSERT INTO ledger_entries (org_id, family_id, kind, outstanding_cents, credit_cents, idempotency_key,
    reservation_id, payment_attempt_id, cart_id, label, method, created_by, occurred_at, attendance_id, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, sqlc.narg(attendance_id), sqlc.arg(reason))
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING *;

-- name: ListFamilyLedger :many
SELECT * FROM ledger_entries WHERE org_id = $1 AND family_id = $2 ORDER BY occurred_at, id;

-- name: GetLedgerEntryByKey :one
SELECT * FROM ledger_entries WHERE idempotency_key = $1;
