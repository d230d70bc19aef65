-- +goose Up
-- Typed states: the states of carts, cart lines, reservations, payment attempts,
-- waiting-list entries, attendances and invoice runs, and the kinds of ledger
-- entries, become
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
CREATE TYPE waitlist_status AS ENUM ('waiting', 'offered', 'expired', 'accepted', 'left');

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

DROP INDEX waitlist_entries_one_live, waitlist_entries_day_idx, waitlist_entries_offers_idx;
ALTER TABLE waitlist_entries DROP CONSTRAINT waitlist_entries_status_check,
    DROP CONSTRAINT waitlist_entries_check, DROP CONSTRAINT waitlist_entries_check1,
    ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN status TYPE waitlist_status USING status::waitlist_status,
    ALTER COLUMN status SET DEFAULT 'waiting',
    ADD CONSTRAINT waitlist_entries_offer_held CHECK (status <> 'offered' OR (offer_line_id IS NOT NULL AND offer_expires_at IS NOT NULL)),
    ADD CONSTRAINT waitlist_entries_closed CHECK ((status IN ('waiting', 'offered')) = (closed_at IS NULL));
CREATE UNIQUE INDEX waitlist_entries_one_live ON waitlist_entries (child_id, service_day_id) WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_entries_day_idx ON waitlist_entries (service_day_id, position) WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_entries_offers_idx ON waitlist_entries (offer_expires_at) WHERE status = 'offered';

-- +goose Down
DROP INDEX waitlist_entries_one_live, waitlist_entries_day_idx, waitlist_entries_offers_idx;
ALTER TABLE waitlist_entries DROP CONSTRAINT waitlist_entries_offer_held, DROP CONSTRAINT waitlist_entries_closed,
    ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN status TYPE text,
    ALTER COLUMN status SET DEFAULT 'waiting',
    ADD CONSTRAINT waitlist_entries_status_check CHECK (status IN ('waiting', 'offered', 'expired', 'accepted', 'left')),
    ADD CONSTRAINT waitlist_entries_check CHECK (status <> 'offered' OR (offer_line_id IS NOT NULL AND offer_expires_at IS NOT NULL)),
    ADD CONSTRAINT waitlist_entries_check1 CHECK ((status IN ('waiting', 'offered')) = (closed_at IS NULL));
CREATE UNIQUE INDEX waitlist_entries_one_live ON waitlist_entries (child_id, service_day_id) WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_entries_day_idx ON waitlist_entries (service_day_id, position) WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_entries_offers_idx ON waitlist_entries (offer_expires_at) WHERE status = 'offered';

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

DROP TYPE waitlist_status, invoice_run_status, attendance_status, ledger_kind, attempt_kind, attempt_status, reservation_source, reservation_status, cart_line_state, cart_status;
