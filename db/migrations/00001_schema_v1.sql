-- +goose Up
-- Schema v1. Money is bigint cents; business dates are `date` in the org's zone,
-- instants are timestamptz. Every table a family can reach carries org_id so that
-- each query can be scoped to the caller's org.

CREATE TABLE orgs (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    numcli      text NOT NULL CHECK (numcli ~ '^[0-9]{6}$'),
    saisie      text NOT NULL CHECK (saisie IN ('T', 'X', 'W')),
    time_zone   text NOT NULL DEFAULT 'Europe/Paris',
    email       text NOT NULL DEFAULT '',
    address     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE families (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES orgs(id),
    name         text NOT NULL,
    email        text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    phone2       text NOT NULL DEFAULT '',
    address      text NOT NULL DEFAULT '',
    postal_code  text NOT NULL DEFAULT '',
    city         text NOT NULL DEFAULT '',
    qf           integer NOT NULL DEFAULT 0 CHECK (qf >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id)
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES orgs(id),
    login          text NOT NULL,
    password_hash  text NOT NULL DEFAULT '',
    role           text NOT NULL CHECK (role IN ('family', 'agent', 'finance', 'admin')),
    family_id      uuid REFERENCES families(id),
    display_name   text NOT NULL DEFAULT '',
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'family') = (family_id IS NOT NULL))
);
-- Logins are e-mail addresses, unique across the installation so login needs no org.
CREATE UNIQUE INDEX users_login_key ON users (lower(login));

CREATE TABLE members (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs(id),
    family_id   uuid NOT NULL REFERENCES families(id),
    kind        text NOT NULL CHECK (kind IN ('adult', 'child')),
    first_name  text NOT NULL,
    last_name   text NOT NULL,
    birth_date  date,
    school      text NOT NULL DEFAULT '',
    class_name  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX members_family_idx ON members (family_id);

CREATE TABLE authorized_persons (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES orgs(id),
    family_id     uuid NOT NULL REFERENCES families(id),
    first_name    text NOT NULL,
    last_name     text NOT NULL,
    phone         text NOT NULL DEFAULT '',
    relationship  text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX authorized_persons_family_idx ON authorized_persons (family_id);

-- Deadlines are rules, not dates: "J-<days> at <time>", optionally counting working
-- days only. booking/ computes the instant in the org's zone.
CREATE TABLE services (
    id                       uuid PRIMARY KEY,
    org_id                   uuid NOT NULL REFERENCES orgs(id),
    code                     text NOT NULL,
    name                     text NOT NULL,
    description              text NOT NULL DEFAULT '',
    weekdays                 smallint[] NOT NULL DEFAULT '{}', -- ISO: 1 = Monday … 7 = Sunday
    booking_days_before      integer NOT NULL DEFAULT 2 CHECK (booking_days_before >= 0),
    booking_time             time NOT NULL DEFAULT '10:00',
    cancel_days_before       integer NOT NULL DEFAULT 2 CHECK (cancel_days_before >= 0),
    cancel_time              time NOT NULL DEFAULT '10:00',
    working_days_only        boolean NOT NULL DEFAULT false,
    eligible_schools         text[] NOT NULL DEFAULT '{}', -- empty = any
    eligible_classes         text[] NOT NULL DEFAULT '{}', -- empty = any
    min_age_months           integer,
    max_age_months           integer,
    active                   boolean NOT NULL DEFAULT true,
    created_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, code),
    UNIQUE (org_id, id)
);

-- Price brackets by quotient familial: a family with qf in [qf_min, qf_max] pays price_cents.
CREATE TABLE service_prices (
    id           uuid PRIMARY KEY,
    service_id   uuid NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    qf_min       integer NOT NULL CHECK (qf_min >= 0),
    qf_max       integer, -- NULL = no upper bound
    price_cents  bigint NOT NULL CHECK (price_cents >= 0),
    CHECK (qf_max IS NULL OR qf_max >= qf_min),
    UNIQUE (service_id, qf_min)
);

-- Closures are data: public holidays and school holidays, per org, inclusive ranges.
CREATE TABLE closures (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL REFERENCES orgs(id),
    first_day  date NOT NULL,
    last_day   date NOT NULL,
    label      text NOT NULL,
    CHECK (last_day >= first_day),
    UNIQUE (org_id, first_day, label)
);

-- A date a service runs. `taken` counts the places held by cart lines and confirmed
-- reservations; it only moves through guarded UPDATEs, so capacity holds under
-- concurrency without a read-then-write in Go.
CREATE TABLE service_days (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs(id),
    service_id  uuid NOT NULL REFERENCES services(id),
    day         date NOT NULL,
    open        boolean NOT NULL DEFAULT true,
    capacity    integer CHECK (capacity IS NULL OR capacity >= 0), -- NULL = unlimited
    taken       integer NOT NULL DEFAULT 0 CHECK (taken >= 0),
    note        text NOT NULL DEFAULT '',
    UNIQUE (service_id, day),
    CHECK (capacity IS NULL OR taken <= capacity)
);

CREATE TABLE carts (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs(id),
    family_id   uuid NOT NULL REFERENCES families(id),
    status      text NOT NULL CHECK (status IN ('open', 'checking_out', 'paid', 'expired')),
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz
);
-- One live cart per family.
CREATE UNIQUE INDEX carts_one_live_per_family ON carts (family_id) WHERE status IN ('open', 'checking_out');

CREATE TABLE cart_lines (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES orgs(id),
    cart_id         uuid NOT NULL REFERENCES carts(id),
    family_id       uuid NOT NULL REFERENCES families(id),
    child_id        uuid NOT NULL REFERENCES members(id),
    service_id      uuid NOT NULL REFERENCES services(id),
    service_day_id  uuid NOT NULL REFERENCES service_days(id),
    day             date NOT NULL,
    price_cents     bigint NOT NULL CHECK (price_cents >= 0), -- frozen when added
    state           text NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'confirmed', 'released')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cart_lines_cart_idx ON cart_lines (cart_id);
-- A child holds a day at most once across carts.
CREATE UNIQUE INDEX cart_lines_one_hold ON cart_lines (child_id, service_day_id) WHERE state = 'held';

CREATE TABLE reservations (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES orgs(id),
    family_id       uuid NOT NULL REFERENCES families(id),
    child_id        uuid NOT NULL REFERENCES members(id),
    service_id      uuid NOT NULL REFERENCES services(id),
    service_day_id  uuid NOT NULL REFERENCES service_days(id),
    day             date NOT NULL,
    price_cents     bigint NOT NULL CHECK (price_cents >= 0),
    status          text NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    source          text NOT NULL DEFAULT 'online' CHECK (source IN ('online', 'staff')),
    cart_line_id    uuid UNIQUE REFERENCES cart_lines(id), -- confirmation is idempotent per line
    booked_by       uuid REFERENCES users(id),
    reason          text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    cancelled_at    timestamptz
);
CREATE UNIQUE INDEX reservations_one_confirmed ON reservations (child_id, service_day_id) WHERE status = 'confirmed';
CREATE INDEX reservations_family_day_idx ON reservations (family_id, day);
CREATE INDEX reservations_day_idx ON reservations (service_day_id) WHERE status = 'confirmed';

-- One row per PayFiP attempt. The checkout figures are frozen here so the receipt and
-- the confirmation use exactly what the family was asked to pay.
CREATE TABLE payment_attempts (
    id                 uuid PRIMARY KEY,
    org_id             uuid NOT NULL REFERENCES orgs(id),
    family_id          uuid NOT NULL REFERENCES families(id),
    cart_id            uuid NOT NULL REFERENCES carts(id),
    seq                integer NOT NULL CHECK (seq > 0),
    refdet             text NOT NULL UNIQUE CHECK (refdet ~ '^[A-Za-z0-9]{6,30}$'),
    id_op              text UNIQUE,
    numcli             text NOT NULL,
    exer               integer NOT NULL,
    saisie             text NOT NULL,
    mel                text NOT NULL,
    objet              text NOT NULL DEFAULT '',
    lines_cents        bigint NOT NULL CHECK (lines_cents >= 0),
    outstanding_cents  bigint NOT NULL CHECK (outstanding_cents >= 0),
    credit_used_cents  bigint NOT NULL CHECK (credit_used_cents >= 0),
    amount_cents       bigint NOT NULL CHECK (amount_cents >= 0),
    status             text NOT NULL CHECK (status IN ('created', 'pending', 'paid', 'refused', 'abandoned', 'expired', 'error', 'settled_without_payfip')),
    resultrans         text NOT NULL DEFAULT '',
    numauto            text NOT NULL DEFAULT '',
    status_reason      text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    payfip_created_at  timestamptz,
    notified_at        timestamptz,
    paid_at            timestamptz,
    settled_at         timestamptz,
    UNIQUE (cart_id, seq),
    CHECK (lines_cents + outstanding_cents - credit_used_cents = amount_cents)
);
CREATE INDEX payment_attempts_open_idx ON payment_attempts (status, created_at) WHERE status IN ('created', 'pending');

-- The append-only ledger. Each row moves one or both of a family's two balances:
-- outstanding (what it owes; charges +, payments −) and credit (the cagnotte;
-- cancellations in time +, use −). Both balances are sums over this table.
-- idempotency_key makes every writer exactly-once.
CREATE TABLE ledger_entries (
    id                 bigserial PRIMARY KEY,
    org_id             uuid NOT NULL REFERENCES orgs(id),
    family_id          uuid NOT NULL REFERENCES families(id),
    kind               text NOT NULL CHECK (kind IN (
                         'charge', 'payment', 'credit_used', 'cancellation_credit',
                         'desk_payment', 'adjustment', 'late_payment_credit')),
    outstanding_cents  bigint NOT NULL DEFAULT 0,
    credit_cents       bigint NOT NULL DEFAULT 0,
    idempotency_key    text NOT NULL UNIQUE,
    reservation_id     uuid REFERENCES reservations(id),
    payment_attempt_id uuid REFERENCES payment_attempts(id),
    cart_id            uuid REFERENCES carts(id),
    label              text NOT NULL DEFAULT '',
    method             text NOT NULL DEFAULT '', -- payfip, cash, cheque …
    created_by         uuid REFERENCES users(id),
    occurred_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (outstanding_cents <> 0 OR credit_cents <> 0)
);
CREATE INDEX ledger_entries_family_idx ON ledger_entries (family_id, occurred_at);

-- +goose StatementBegin
CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- Gapless numbering: one counter row per org and year, incremented in the invoice's
-- own transaction.
CREATE TABLE invoice_counters (
    org_id  uuid NOT NULL REFERENCES orgs(id),
    year    integer NOT NULL,
    last    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, year)
);

CREATE TABLE invoice_runs (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES orgs(id),
    month           text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    status          text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    families_total  integer NOT NULL DEFAULT 0,
    families_done   integer NOT NULL DEFAULT 0,
    started_by      uuid REFERENCES users(id),
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (org_id, month)
);

CREATE TABLE invoices (
    id                      uuid PRIMARY KEY,
    org_id                  uuid NOT NULL REFERENCES orgs(id),
    family_id               uuid NOT NULL REFERENCES families(id),
    run_id                  uuid REFERENCES invoice_runs(id),
    month                   text NOT NULL,
    number                  text NOT NULL,
    opening_balance_cents   bigint NOT NULL DEFAULT 0,
    total_cents             bigint NOT NULL DEFAULT 0,
    paid_cents              bigint NOT NULL DEFAULT 0,
    closing_balance_cents   bigint NOT NULL DEFAULT 0,
    due_cents               bigint NOT NULL DEFAULT 0,
    issued_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, number),
    UNIQUE (family_id, month)
);

CREATE TABLE invoice_lines (
    id            uuid PRIMARY KEY,
    invoice_id    uuid NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position      integer NOT NULL,
    kind          text NOT NULL,
    label         text NOT NULL,
    day           date,
    quantity      integer NOT NULL DEFAULT 1,
    unit_cents    bigint NOT NULL DEFAULT 0,
    amount_cents  bigint NOT NULL,
    UNIQUE (invoice_id, position)
);

CREATE TABLE messages (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs(id),
    family_id   uuid NOT NULL REFERENCES families(id),
    parent_id   uuid REFERENCES messages(id),
    author_id   uuid REFERENCES users(id),
    from_staff  boolean NOT NULL DEFAULT false,
    category    text NOT NULL CHECK (category IN ('question', 'document', 'situation_change')),
    subject     text NOT NULL,
    body        text NOT NULL,
    read_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_family_idx ON messages (family_id, created_at);

CREATE TABLE attachments (
    id            uuid PRIMARY KEY,
    message_id    uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    filename      text NOT NULL,
    content_type  text NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size_bytes    integer NOT NULL CHECK (size_bytes > 0 AND size_bytes <= 10485760),
    content       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Session tokens are random; only their SHA-256 is stored.
CREATE TABLE sessions (
    token_hash    bytea PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE password_reset_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     text NOT NULL DEFAULT 'reset' CHECK (purpose IN ('reset', 'set')),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Outgoing mail, one row per message to send; the key makes a send exactly-once.
CREATE TABLE outbound_emails (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES orgs(id),
    idempotency_key  text NOT NULL UNIQUE,
    to_address       text NOT NULL,
    subject          text NOT NULL,
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES orgs(id),
    actor_id     uuid REFERENCES users(id),
    action       text NOT NULL,
    entity       text NOT NULL,
    entity_id    text NOT NULL,
    before       jsonb,
    after        jsonb,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_idx ON audit_log (org_id, entity, entity_id);

-- +goose Down
DROP TABLE audit_log, outbound_emails, password_reset_tokens, sessions, attachments,
    messages, invoice_lines, invoices, invoice_runs, invoice_counters, ledger_entries,
    payment_attempts, reservations, cart_lines, carts, service_days, closures, service_prices,
    services, authorized_persons, members, users, families, orgs;
DROP FUNCTION ledger_entries_append_only();
