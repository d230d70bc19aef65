-- Invariants the benchmark and the fault-injection tests check after a run.

-- name: CountOverbookedDays :one
SELECT count(*) FROM service_days d
WHERE d.org_id = $1 AND d.capacity IS NOT NULL
  AND (SELECT count(*) FROM reservations r WHERE r.service_day_id = d.id AND r.status = 'confirmed') > d.capacity;

-- name: CountCapacityMismatches :one
-- taken must equal confirmed reservations plus held cart lines, day by day.
SELECT count(*) FROM service_days d
WHERE d.org_id = $1
  AND d.taken <> (SELECT count(*) FROM reservations r WHERE r.service_day_id = d.id AND r.status = 'confirmed')
               + (SELECT count(*) FROM cart_lines l WHERE l.service_day_id = d.id AND l.state = 'held');

-- name: CountStuckCarts :one
SELECT count(*) FROM carts WHERE org_id = $1 AND status NOT IN ('open', 'paid', 'expired');

-- name: CountLedgerViolations :one
-- Per family: one charge per reservation ever made, one payment entry per paid
-- attempt for its exact amount, and never a negative cagnotte.
SELECT count(*) FROM families f
WHERE f.org_id = $1 AND (
    (SELECT COALESCE(sum(outstanding_cents), 0) FROM ledger_entries WHERE family_id = f.id AND kind = 'charge')
        <> (SELECT COALESCE(sum(price_cents), 0) FROM reservations WHERE family_id = f.id)
 OR (SELECT count(*) FROM ledger_entries WHERE family_id = f.id AND kind = 'charge')
        <> (SELECT count(*) FROM reservations WHERE family_id = f.id)
 OR (SELECT COALESCE(-sum(outstanding_cents), 0) FROM ledger_entries WHERE family_id = f.id AND kind = 'payment')
        <> (SELECT COALESCE(sum(amount_cents), 0) FROM payment_attempts WHERE family_id = f.id AND status = 'paid')
 OR (SELECT COALESCE(sum(credit_cents), 0) FROM ledger_entries WHERE family_id = f.id) < 0
);

-- name: CountConfirmedReservations :one
SELECT count(*) FROM reservations WHERE org_id = $1 AND status = 'confirmed';

-- name: CountPaidCartsWithoutReceipt :one
-- A paid cart's receipt has left once its attempt's outbound e-mail is sent.
SELECT count(*) FROM carts c
JOIN payment_attempts a ON a.cart_id = c.id AND a.status IN ('paid', 'settled_without_payfip')
LEFT JOIN outbound_emails e ON e.idempotency_key = 'receipt:' || a.id::text
WHERE c.org_id = $1 AND c.status = 'paid' AND e.sent_at IS NULL;
