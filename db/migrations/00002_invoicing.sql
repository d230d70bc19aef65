-- +goose Up
-- Month-end invoicing (issue 7): the breakdown an invoice prints, the ledger entry
-- behind each invoice line, and the progress of a run.

-- A run finds the month's families and the export the month's payments by org and
-- time; invoices of an org and month are listed for the export and the run totals.
CREATE INDEX ledger_entries_org_time_idx ON ledger_entries (org_id, occurred_at);
CREATE INDEX reservations_org_day_idx ON reservations (org_id, day) WHERE status = 'confirmed';
CREATE INDEX invoices_org_month_idx ON invoices (org_id, month, number);

ALTER TABLE invoice_runs
    ADD COLUMN workflow_id     text NOT NULL DEFAULT '',
    ADD COLUMN invoices_count  integer NOT NULL DEFAULT 0,
    ADD COLUMN emailed_count   integer NOT NULL DEFAULT 0,
    ADD COLUMN charges_cents   bigint NOT NULL DEFAULT 0,
    ADD COLUMN paid_cents      bigint NOT NULL DEFAULT 0,
    ADD COLUMN due_cents       bigint NOT NULL DEFAULT 0,
    ADD COLUMN error           text NOT NULL DEFAULT '',
    ADD COLUMN updated_at      timestamptz NOT NULL DEFAULT now();

-- Every movement of the outstanding balance falls in exactly one column, so the
-- closing balance is the opening one plus the columns (checked below); the same
-- holds for the cagnotte.
ALTER TABLE invoices
    ADD COLUMN cancelled_cents       bigint NOT NULL DEFAULT 0, -- unpaid staff bookings reversed (reduces the balance)
    ADD COLUMN credit_used_cents     bigint NOT NULL DEFAULT 0, -- cagnotte spent on carts (reduces the balance)
    ADD COLUMN adjustments_cents     bigint NOT NULL DEFAULT 0, -- other corrections, signed as they move the balance
    ADD COLUMN opening_credit_cents  bigint NOT NULL DEFAULT 0,
    ADD COLUMN credit_earned_cents   bigint NOT NULL DEFAULT 0, -- cancellations in time, late payments, credit adjustments
    ADD COLUMN credit_spent_cents    bigint NOT NULL DEFAULT 0,
    ADD COLUMN closing_credit_cents  bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT invoices_balance_adds_up CHECK (
        opening_balance_cents + total_cents - cancelled_cents - paid_cents - credit_used_cents + adjustments_cents = closing_balance_cents),
    ADD CONSTRAINT invoices_credit_adds_up CHECK (
        opening_credit_cents + credit_earned_cents - credit_spent_cents = closing_credit_cents),
    ADD CONSTRAINT invoices_due CHECK (due_cents = greatest(closing_balance_cents, 0));

-- A ledger entry is itemized on one invoice at most: the UNIQUE is what keeps two
-- runs (or two months) from invoicing the same movement twice.
ALTER TABLE invoice_lines
    ADD COLUMN ledger_entry_id  bigint UNIQUE REFERENCES ledger_entries(id),
    ADD COLUMN credit_cents     bigint NOT NULL DEFAULT 0,
    ADD COLUMN child_name       text NOT NULL DEFAULT '',
    ADD COLUMN service_name     text NOT NULL DEFAULT '',
    ADD COLUMN occurred_at      timestamptz,
    ADD COLUMN late             boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE invoice_lines
    DROP COLUMN ledger_entry_id, DROP COLUMN credit_cents, DROP COLUMN child_name,
    DROP COLUMN service_name, DROP COLUMN occurred_at, DROP COLUMN late;
ALTER TABLE invoices
    DROP CONSTRAINT invoices_balance_adds_up, DROP CONSTRAINT invoices_credit_adds_up, DROP CONSTRAINT invoices_due,
    DROP COLUMN cancelled_cents, DROP COLUMN credit_used_cents, DROP COLUMN adjustments_cents,
    DROP COLUMN opening_credit_cents, DROP COLUMN credit_earned_cents, DROP COLUMN credit_spent_cents,
    DROP COLUMN closing_credit_cents;
ALTER TABLE invoice_runs
    DROP COLUMN workflow_id, DROP COLUMN invoices_count, DROP COLUMN emailed_count, DROP COLUMN charges_cents,
    DROP COLUMN paid_cents, DROP COLUMN due_cents, DROP COLUMN error, DROP COLUMN updated_at;
DROP INDEX invoices_org_month_idx;
DROP INDEX reservations_org_day_idx;
DROP INDEX ledger_entries_org_time_idx;
