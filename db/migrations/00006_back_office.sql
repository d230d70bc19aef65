-- +goose Up
-- The back office in the browser: attendance (pointage), the rule for a child
-- present without a reservation, what staff record about a child for the day's
-- list, and the indexes of the family search and the audit log's filters.

-- Shown on the day's list (canteen, accueil): staff write them, the family's
-- pages do not change them.
ALTER TABLE members
    ADD COLUMN allergies  text NOT NULL DEFAULT '',
    ADD COLUMN notes      text NOT NULL DEFAULT '';

-- What a child present without a reservation costs, per service, decided by
-- finance: the family's price ('charge'), the price plus a surcharge
-- ('surcharge'), or nothing ('free'). A service without a row charges the price.
CREATE TABLE service_attendance_rules (
    service_id       uuid PRIMARY KEY REFERENCES services(id),
    org_id           uuid NOT NULL REFERENCES orgs(id),
    unbooked         text NOT NULL DEFAULT 'charge' CHECK (unbooked IN ('charge', 'surcharge', 'free')),
    surcharge_cents  bigint NOT NULL DEFAULT 0 CHECK (surcharge_cents >= 0 AND surcharge_cents <= 10000),
    updated_by       uuid REFERENCES users(id),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((unbooked = 'surcharge') = (surcharge_cents > 0))
);

-- One row per child ticked on a service day. With a reservation: present or
-- absent (an absent child without a cancellation stays charged; nothing moves).
-- Without one: present, an "unbooked attendance" charged by the service's rule
-- through the ledger (key attendance:<id>), with the reason staff gave; taking it
-- back marks it withdrawn and gives the charge back (key attendance:<id>:withdrawn).
-- A withdrawn row is kept for the record; the child may be ticked again (new row).
CREATE TABLE attendances (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES orgs(id),
    service_id      uuid NOT NULL REFERENCES services(id),
    day             date NOT NULL,
    child_id        uuid NOT NULL REFERENCES members(id),
    family_id       uuid NOT NULL REFERENCES families(id),
    reservation_id  uuid REFERENCES reservations(id),
    status          text NOT NULL CHECK (status IN ('present', 'absent', 'withdrawn')),
    reason          text NOT NULL DEFAULT '',
    rule            text NOT NULL DEFAULT '' CHECK (rule IN ('', 'charge', 'surcharge', 'free')),
    charged_cents   bigint NOT NULL DEFAULT 0 CHECK (charged_cents >= 0),
    recorded_by     uuid REFERENCES users(id),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (reservation_id IS NOT NULL OR status <> 'absent'),
    CHECK (reservation_id IS NULL OR (charged_cents = 0 AND rule = '')),
    CHECK (reservation_id IS NOT NULL OR reason <> '')
);
CREATE UNIQUE INDEX attendances_one_per_child_day ON attendances (service_id, day, child_id) WHERE status <> 'withdrawn';
CREATE INDEX attendances_family_day_idx ON attendances (family_id, day);
CREATE INDEX attendances_org_day_idx ON attendances (org_id, day, service_id);

-- The money of an unbooked attendance names it, as a reservation's names the
-- reservation; the invoice line that lists an attendance names it too.
ALTER TABLE ledger_entries ADD COLUMN attendance_id uuid REFERENCES attendances(id);
ALTER TABLE invoice_lines ADD COLUMN attendance_id uuid REFERENCES attendances(id);

-- The audit log filtered by staff member and by period.
CREATE INDEX audit_log_org_actor_idx ON audit_log (org_id, actor_id, id);
CREATE INDEX audit_log_org_time_idx ON audit_log (org_id, occurred_at);

-- The family search also looks at a child's school and at the family's logins.
CREATE INDEX members_org_idx ON members (org_id);
CREATE INDEX users_family_idx ON users (family_id) WHERE family_id IS NOT NULL;

-- +goose Down
DROP INDEX users_family_idx;
DROP INDEX members_org_idx;
DROP INDEX audit_log_org_time_idx;
DROP INDEX audit_log_org_actor_idx;
ALTER TABLE invoice_lines DROP COLUMN attendance_id;
ALTER TABLE ledger_entries DROP COLUMN attendance_id;
DROP TABLE attendances;
DROP TABLE service_attendance_rules;
ALTER TABLE members DROP COLUMN allergies, DROP COLUMN notes;
