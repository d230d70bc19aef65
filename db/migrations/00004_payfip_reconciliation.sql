-- +goose Up
-- PayFiP reconciliation (issue 3): a Temporal Schedule re-reads every attempt whose
-- money may be unaccounted for. reconcile_checked_at rotates the batches (the
-- attempts looked at longest ago come first, so a few stuck ones never starve the
-- rest); reconciled_at closes an attempt for good once reconciliation has read a
-- final answer (paid and recorded, refused, abandoned, or dead long enough).
ALTER TABLE payment_attempts
    ADD COLUMN reconcile_checked_at  timestamptz,
    ADD COLUMN reconciled_at         timestamptz;

CREATE INDEX payment_attempts_to_reconcile_idx ON payment_attempts (payfip_created_at)
    WHERE reconciled_at IS NULL AND status IN ('created', 'pending', 'expired', 'error');
-- Paid attempts are looked at for a few days after their payment, in case their
-- confirmation never ran (the cart's workflow ended in between).
CREATE INDEX payment_attempts_paid_idx ON payment_attempts (settled_at) WHERE status = 'paid';

-- +goose Down
DROP INDEX payment_attempts_paid_idx;
DROP INDEX payment_attempts_to_reconcile_idx;
ALTER TABLE payment_attempts DROP COLUMN reconcile_checked_at, DROP COLUMN reconciled_at;
