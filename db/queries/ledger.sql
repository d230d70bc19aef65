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

-- name: ListFamilyLedgerDays :many
-- The day each movement of a family's ledger concerns, for those that concern
-- one: a reservation (its charge, its cancellation, its unpaid charge taken back)
-- or a presence without a reservation — the day, the child and the service.
SELECT l.id AS entry_id, r.day, r.child_id, m.first_name AS child_first_name, r.service_id, s.name AS service_name
FROM ledger_entries l
JOIN reservations r ON r.id = l.reservation_id
JOIN members m ON m.id = r.child_id
JOIN services s ON s.id = r.service_id
WHERE l.org_id = $1 AND l.family_id = $2
UNION ALL
SELECT l.id, a.day, a.child_id, m.first_name, a.service_id, s.name
FROM ledger_entries l
JOIN attendances a ON a.id = l.attendance_id
JOIN members m ON m.id = a.child_id
JOIN services s ON s.id = a.service_id
WHERE l.org_id = $1 AND l.family_id = $2 AND l.reservation_id IS NULL;
