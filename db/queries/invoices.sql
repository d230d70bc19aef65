-- Month-end invoicing. A month's window is [period_start, period_end):
-- midnight on the 1st to midnight on the 1st of the next month, in the org's zone,
-- computed by the invoice package and passed as instants.

-- name: EnsureInvoiceRun :one
-- One row per org and month; asking again returns the existing row untouched.
INSERT INTO invoice_runs (id, org_id, month, status, started_by, workflow_id)
VALUES ($1, $2, $3, 'running', $4, $5)
ON CONFLICT (org_id, month) DO UPDATE SET org_id = EXCLUDED.org_id
RETURNING *;

-- name: LockInvoiceRun :one
SELECT * FROM invoice_runs WHERE id = $1 FOR UPDATE;

-- name: RestartInvoiceRun :exec
-- A run that starts (again) counts from zero: existing invoices are counted anew.
UPDATE invoice_runs
SET status = 'running', families_total = @families_total, families_done = 0, invoices_count = 0,
    emailed_count = 0, charges_cents = 0, paid_cents = 0, due_cents = 0, error = '',
    workflow_id = @workflow_id, finished_at = NULL, updated_at = now()
WHERE id = @id;

-- name: SetInvoiceRunProgress :exec
-- Absolute figures from the workflow, so a replayed write changes nothing.
UPDATE invoice_runs
SET families_done = @families_done, invoices_count = @invoices_count, emailed_count = @emailed_count,
    charges_cents = @charges_cents, paid_cents = @paid_cents, due_cents = @due_cents, updated_at = now()
WHERE id = @id AND status = 'running';

-- name: FinishInvoiceRun :exec
UPDATE invoice_runs
SET status = @status, error = @error, finished_at = now(), updated_at = now()
WHERE id = @id AND status = 'running';

-- name: GetInvoiceRun :one
SELECT * FROM invoice_runs WHERE org_id = $1 AND id = $2;

-- name: GetInvoiceRunByMonth :one
SELECT * FROM invoice_runs WHERE org_id = $1 AND month = $2;

-- name: ListInvoiceRuns :many
SELECT * FROM invoice_runs WHERE org_id = $1 ORDER BY month DESC;

-- name: CountInvoiceFamilies :one
-- Same predicate as ListInvoiceFamilies.
SELECT count(*) FROM families f
WHERE f.org_id = @org_id
  AND (EXISTS (SELECT 1 FROM ledger_entries le WHERE le.family_id = f.id
               AND le.occurred_at >= @period_start AND le.occurred_at < @period_end)
    OR EXISTS (SELECT 1 FROM reservations r WHERE r.family_id = f.id AND r.status = 'confirmed'
               AND r.day BETWEEN @first_day AND @last_day)
    OR EXISTS (SELECT 1 FROM attendances a WHERE a.family_id = f.id AND a.status = 'present'
               AND a.reservation_id IS NULL AND a.day BETWEEN @first_day AND @last_day)
    OR EXISTS (SELECT 1 FROM ledger_entries le WHERE le.family_id = f.id
               AND le.occurred_at >= @horizon AND le.occurred_at < @period_start
               AND NOT EXISTS (SELECT 1 FROM invoice_lines il WHERE il.ledger_entry_id = le.id)));

-- name: ListInvoiceFamilies :many
-- Keyset pagination over the families that may have something to invoice: a ledger
-- movement in the month, a reservation or a presence without one dated in the
-- month, or an earlier movement
-- never itemized (possibly recorded after its own month was invoiced; the activity
-- decides).
SELECT f.id FROM families f
WHERE f.org_id = @org_id AND f.id > @after
  AND (EXISTS (SELECT 1 FROM ledger_entries le WHERE le.family_id = f.id
               AND le.occurred_at >= @period_start AND le.occurred_at < @period_end)
    OR EXISTS (SELECT 1 FROM reservations r WHERE r.family_id = f.id AND r.status = 'confirmed'
               AND r.day BETWEEN @first_day AND @last_day)
    OR EXISTS (SELECT 1 FROM attendances a WHERE a.family_id = f.id AND a.status = 'present'
               AND a.reservation_id IS NULL AND a.day BETWEEN @first_day AND @last_day)
    OR EXISTS (SELECT 1 FROM ledger_entries le WHERE le.family_id = f.id
               AND le.occurred_at >= @horizon AND le.occurred_at < @period_start
               AND NOT EXISTS (SELECT 1 FROM invoice_lines il WHERE il.ledger_entry_id = le.id)))
ORDER BY f.id
LIMIT @page_size;

-- name: GetFamilyInvoiceForMonth :one
SELECT * FROM invoices WHERE family_id = $1 AND month = $2;

-- name: ListInvoiceableEntries :many
-- A family's movements from the horizon to the end of the month, each with whether
-- an invoice already itemizes it and what it was for.
SELECT le.id, le.kind, le.outstanding_cents, le.credit_cents, le.occurred_at, le.label, le.method,
       le.reservation_id, (il.id IS NOT NULL)::boolean AS itemized,
       r.day AS reservation_day, r.price_cents AS reservation_price_cents,
       COALESCE(r.source::text, '') AS reservation_source,
       le.attendance_id, at.day AS attendance_day, COALESCE(at.reason, '')::text AS attendance_reason,
       COALESCE(at.rule, '')::text AS attendance_rule,
       COALESCE(m.first_name || ' ' || m.last_name, '')::text AS child_name,
       COALESCE(s.name, '')::text AS service_name
FROM ledger_entries le
LEFT JOIN invoice_lines il ON il.ledger_entry_id = le.id
LEFT JOIN reservations r ON r.id = le.reservation_id
LEFT JOIN attendances at ON at.id = le.attendance_id
LEFT JOIN members m ON m.id = COALESCE(r.child_id, at.child_id)
LEFT JOIN services s ON s.id = COALESCE(r.service_id, at.service_id)
WHERE le.family_id = @family_id AND le.occurred_at >= @horizon AND le.occurred_at < @period_end
ORDER BY le.occurred_at, le.id;

-- name: FamilyBalancesBefore :one
SELECT COALESCE(sum(outstanding_cents), 0)::bigint AS outstanding_cents,
       COALESCE(sum(credit_cents), 0)::bigint AS credit_cents
FROM ledger_entries WHERE family_id = @family_id AND occurred_at < @before;

-- name: ListMonthReservationDetails :many
SELECT r.id, r.day, r.price_cents, r.source,
       (m.first_name || ' ' || m.last_name)::text AS child_name, s.name AS service_name
FROM reservations r
JOIN members m ON m.id = r.child_id
JOIN services s ON s.id = r.service_id
WHERE r.family_id = @family_id AND r.status = 'confirmed' AND r.day BETWEEN @first_day AND @last_day
ORDER BY r.day, child_name, s.name;

-- name: ClosedInvoiceMonths :many
-- Months whose invoicing is over for this family: it has that month's invoice, or
-- the org's run for that month completed.
SELECT i.month FROM invoices i WHERE i.family_id = @family_id
UNION
SELECT ir.month FROM invoice_runs ir WHERE ir.org_id = @org_id AND ir.status = 'completed';

-- name: NextInvoiceNumber :one
-- Takes the org's counter row lock until the invoice's transaction ends: numbers
-- are handed out one transaction at a time, and a rollback gives the number back.
INSERT INTO invoice_counters (org_id, year, last) VALUES ($1, $2, 1)
ON CONFLICT (org_id, year) DO UPDATE SET last = invoice_counters.last + 1
RETURNING last;

-- name: InsertInvoice :one
INSERT INTO invoices (id, org_id, family_id, run_id, month, number, opening_balance_cents, total_cents,
    cancelled_cents, paid_cents, credit_used_cents, adjustments_cents, closing_balance_cents, due_cents,
    opening_credit_cents, credit_earned_cents, credit_spent_cents, closing_credit_cents, issued_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (family_id, month) DO NOTHING
RETURNING *;

-- name: InsertInvoiceLines :copyfrom
INSERT INTO invoice_lines (id, invoice_id, position, kind, label, day, quantity, unit_cents, amount_cents,
    credit_cents, ledger_entry_id, child_name, service_name, occurred_at, late, attendance_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16);

-- name: GetInvoice :one
SELECT * FROM invoices WHERE org_id = $1 AND id = $2;

-- name: GetFamilyInvoice :one
SELECT * FROM invoices WHERE org_id = $1 AND family_id = $2 AND id = $3;

-- name: ListFamilyInvoices :many
SELECT * FROM invoices WHERE org_id = $1 AND family_id = $2 ORDER BY month DESC, number DESC;

-- name: ListInvoiceLines :many
SELECT * FROM invoice_lines WHERE invoice_id = $1 ORDER BY position;

-- name: ListMonthInvoices :many
SELECT i.*, f.name AS family_name FROM invoices i JOIN families f ON f.id = i.family_id
WHERE i.org_id = $1 AND i.month = $2
ORDER BY i.number;

-- name: ListMonthPayments :many
-- Money received in the month (online and at the desk), with the invoice that
-- itemizes it when there is one. received_cents is all the money: what it paid of
-- the balance and what went beyond, to the cagnotte (a desk payment above what
-- the family owed).
SELECT le.id, le.family_id, f.name AS family_name, le.kind, le.outstanding_cents,
       (le.credit_cents - le.outstanding_cents)::bigint AS received_cents, le.occurred_at,
       le.label, le.method, COALESCE(pa.refdet, '')::text AS refdet, COALESCE(i.number, '')::text AS invoice_number
FROM ledger_entries le
JOIN families f ON f.id = le.family_id
LEFT JOIN payment_attempts pa ON pa.id = le.payment_attempt_id
LEFT JOIN invoice_lines il ON il.ledger_entry_id = le.id
LEFT JOIN invoices i ON i.id = il.invoice_id
WHERE le.org_id = @org_id AND le.kind IN ('payment', 'desk_payment')
  AND le.occurred_at >= @period_start AND le.occurred_at < @period_end
ORDER BY le.occurred_at, le.id;
