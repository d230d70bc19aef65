-- +goose Up
-- Typed states: the states of carts, cart lines, reservations, payment attempts,
-- attendances and invoice runs, and the kinds of ledger entries, become
-- PostgreSQL enums (they were text with a CHECK), so that sqlc generates a Go type and a constant for each
-- value and no package spells them as strings. The values are the same.
--
-- A column changes type only once the partial indexes and CHECKs that compare it
-- with text are dropped; they are created again, identical, on the enum.

CREATE TYPE cart_status AS ENUM ('open', 'checking_out', 'paid', 'expired');
CREATE TYPE cart_line_state AS ENUM ('held', 'confirmed', 'released');
CREATE TYPE reservation_status AS ENUM ('confirmed', 'cancelled');
CREATE TYPE reservation_source AS ENUM ('online', 'staff');
CREATE TYPE attempt_status AS ENUM ('created', 'pending', 'paid', 'refused', 'abandoned', 'expired', 'error', 'settled_without_payfip');
CREATE TYPE attempt_kind AS ENUM ('cart', 'balance');
CREATE TYPE ledger_kind AS ENUM ('charge', 'payment', 'credit_used', 'cancellation_credit', 'desk_payment', 'adjustment', 'late_payment_credit');
CREATE TYPE attendance_status AS ENUM ('present', 'absent', 'withdrawn');
CREATE TYPE invoice_run_status AS ENUM ('running', 'completed', 'failed');

DROP INDEX carts_one_live_per_family;
ALTER TABLE carts DROP CONSTRAINT carts_status_check,
    ALTER COLUMN status TYPE cart_status USING status::cart_status;
CREATE UNIQUE INDEX carts_one_live_per_family ON carts (family_id) WHERE status IN ('open', 'checking_out');

DROP INDEX cart_lines_one_hold;
ALTER TABLE cart_lines DROP CONSTRAINT cart_lines_state_check,
    ALTER COLUMN state DROP DEFAULT,
    ALTER COLUMN state TYPE cart_line_state USING state::cart_line_state,
    ALTER COLUMN state SET DEFAULT 'held';
CREATE UNIQUE INDEX cart_lines_one_hold ON cart_lines (child_id, service_day_id) WHERE state = 'held';

DROP INDEX reservations_one_confirmed, reservations_day_idx, reservations_org_day_idx;
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check, DROP CONSTRAINT reservations_source_check,
    ALTER COLUMN status TYPE reservation_status USING status::reservation_status,
    ALTER COLUMN source DROP DEFAULT,
    ALTER COLUMN source TYPE reservation_source USING source::reservation_source,
    ALTER COLUMN source SET DEFAULT 'online';
CREATE UNIQUE INDEX reservations_one_confirmed ON reservations (child_id, service_day_id) WHERE status = 'confirmed';
CREATE INDEX reservations_day_idx ON reservations (service_day_id) WHERE status = 'confirmed';
CREATE INDEX reservations_org_day_idx ON reservations (org_id, day) WHERE status = 'confirmed';

DROP INDEX payment_attempts_open_idx, payment_attempts_to_reconcile_idx, payment_attempts_paid_idx;
ALTER TABLE payment_attempts DROP CONSTRAINT payment_attempts_status_check, DROP CONSTRAINT payment_attempts_kind_check,
    DROP CONSTRAINT payment_attempts_kind_cart, DROP CONSTRAINT payment_attempts_balance_alone,
    ALTER COLUMN status TYPE attempt_status USING status::attempt_status,
    ALTER COLUMN kind DROP DEFAULT,
    ALTER COLUMN kind TYPE attempt_kind USING kind::attempt_kind,
    ALTER COLUMN kind SET DEFAULT 'cart',
    ADD CONSTRAINT payment_attempts_kind_cart CHECK ((kind = 'cart') = (cart_id IS NOT NULL)),
    ADD CONSTRAINT payment_attempts_balance_alone CHECK (kind = 'cart' OR lines_cents = 0);
CREATE INDEX payment_attempts_open_idx ON payment_attempts (status, created_at) WHERE status IN ('created', 'pending');
CREATE INDEX payment_attempts_to_reconcile_idx ON payment_attempts (payfip_created_at)
    WHERE reconciled_at IS NULL AND status IN ('created', 'pending', 'expired', 'error');
CREATE INDEX payment_attempts_paid_idx ON payment_attempts (settled_at) WHERE status = 'paid';

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check,
    ALTER COLUMN kind TYPE ledger_kind USING kind::ledger_kind;

DROP INDEX attendances_one_per_child_day;
ALTER TABLE attendances DROP CONSTRAINT attendances_status_check, DROP CONSTRAINT attendances_check,
    ALTER COLUMN status TYPE attendance_status USING status::attendance_status,
    ADD CONSTRAINT attendances_absent_reserved CHECK (reservation_id IS NOT NULL OR status <> 'absent');
CREATE UNIQUE INDEX attendances_one_per_child_day ON attendances (service_id, day, child_id) WHERE status <> 'withdrawn';

ALTER TABLE invoice_runs DROP CONSTRAINT invoice_runs_status_check,
    ALTER COLUMN status TYPE invoice_run_status USING status::invoice_run_status;

-- +goose Down
ALTER TABLE invoice_runs ALTER COLUMN status TYPE text,
    ADD CONSTRAINT invoice_runs_status_check CHECK (status IN ('running', 'completed', 'failed'));

DROP INDEX attendances_one_per_child_day;
ALTER TABLE attendances DROP CONSTRAINT attendances_absent_reserved,
    ALTER COLUMN status TYPE text,
    ADD CONSTRAINT attendances_status_check CHECK (status IN ('present', 'absent', 'withdrawn')),
    ADD CONSTRAINT attendances_check CHECK (reservation_id IS NOT NULL OR status <> 'absent');
CREATE UNIQUE INDEX attendances_one_per_child_day ON attendances (service_id, day, child_id) WHERE status <> 'withdrawn';

ALTER TABLE ledger_entries ALTER COLUMN kind TYPE text,
    ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
        'charge', 'payment', 'credit_used', 'cancellation_credit', 'desk_payment', 'adjustment', 'late_payment_credit'));

DROP INDEX payment_attempts_open_idx, payment_attempts_to_reconcile_idx, payment_attempts_paid_idx;
ALTER TABLE payment_attempts DROP CONSTRAINT payment_attempts_kind_cart, DROP CONSTRAINT payment_attempts_balance_alone,
    ALTER COLUMN status TYPE text,
    ALTER COLUMN kind DROP DEFAULT,
    ALTER COLUMN kind TYPE text,
    ALTER COLUMN kind SET DEFAULT 'cart',
    ADD CONSTRAINT payment_attempts_status_check CHECK (status IN ('created', 'pending', 'paid', 'refused', 'abandoned', 'expired', 'error', 'settled_without_payfip')),
    ADD CONSTRAINT payment_attempts_kind_check CHECK (kind IN ('cart', 'balance')),
    ADD CONSTRAINT payment_attempts_kind_cart CHECK ((kind = 'cart') = (cart_id IS NOT NULL)),
    ADD CONSTRAINT payment_attempts_balance_alone CHECK (kind = 'cart' OR lines_cents = 0);
CREATE INDEX payment_attempts_open_idx ON payment_attempts (status, created_at) WHERE status IN ('created', 'pending');
CREATE INDEX payment_attempts_to_reconcile_idx ON payment_attempts (payfip_created_at)
    WHERE reconciled_at IS NULL AND status IN ('created', 'pending', 'expired', 'error');
CREATE INDEX payment_attempts_paid_idx ON payment_attempts (settled_at) WHERE status = 'paid';

DROP INDEX reservations_one_confirmed, reservations_day_idx, reservations_org_day_idx;
ALTER TABLE reservations ALTER COLUMN status TYPE text,
    ALTER COLUMN source DROP DEFAULT,
    ALTER COLUMN source TYPE text,
    ALTER COLUMN source SET DEFAULT 'online',
    ADD CONSTRAINT reservations_status_check CHECK (status IN ('confirmed', 'cancelled')),
    ADD CONSTRAINT reservations_source_check CHECK (source IN ('online', 'staff'));
CREATE UNIQUE INDEX reservations_one_confirmed ON reservations (child_id, service_day_id) WHERE status = 'confirmed';
CREATE INDEX reservations_day_idx ON reservations (service_day_id) WHERE status = 'confirmed';
CREATE INDEX reservations_org_day_idx ON reservations (org_id, day) WHERE status = 'confirmed';

DROP INDEX cart_lines_one_hold;
ALTER TABLE cart_lines ALTER COLUMN state DROP DEFAULT,
    ALTER COLUMN state TYPE text,
    ALTER COLUMN state SET DEFAULT 'held',
    ADD CONSTRAINT cart_lines_state_check CHECK (state IN ('held', 'confirmed', 'released'));
CREATE UNIQUE INDEX cart_lines_one_hold ON cart_lines (child_id, service_day_id) WHERE state = 'held';

DROP INDEX carts_one_live_per_family;
ALTER TABLE carts ALTER COLUMN status TYPE text,
    ADD CONSTRAINT carts_status_check CHECK (status IN ('open', 'checking_out', 'paid', 'expired'));
CREATE UNIQUE INDEX carts_one_live_per_family ON carts (family_id) WHERE status IN ('open', 'checking_out');

DROP TYPE invoice_run_status, attendance_status, ledger_kind, attempt_kind, attempt_status, reservation_source, reservation_status, cart_line_state, cart_status;
