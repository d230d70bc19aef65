-- +goose Up
-- Waiting lists (issue 18). A full day keeps a list of the children waiting for a
-- place; when one frees, the first of them gets an offer: the day is put in the
-- family's cart (a held cart line, so it counts in service_days.taken like any
-- other hold) for a limited time.

-- How long an offer holds its place, per service (never past the day's booking
-- deadline, nor past the cart's own expiry). Admins set it in hours.
ALTER TABLE services
    ADD COLUMN waitlist_offer_hold interval NOT NULL DEFAULT '24 hours'
        CHECK (waitlist_offer_hold > interval '0' AND waitlist_offer_hold <= interval '14 days');

-- waiting counts the day's entries still waiting. It lives on the day's row so that
-- the guards that depend on it are decided by the same row lock as `taken`: while it
-- is above zero a freed place belongs to the list (families and staff are told
-- "full", only an offer takes it), and a family may join only while the day is
-- full or its list is not empty. waitlist_version grows with every change of the
-- list, so that the list's workflow can tell the latest count from an older one.
ALTER TABLE service_days
    ADD COLUMN waiting integer NOT NULL DEFAULT 0 CHECK (waiting >= 0),
    ADD COLUMN waitlist_version bigint NOT NULL DEFAULT 0;

CREATE TABLE waitlist_entries (
    id                uuid PRIMARY KEY,
    org_id            uuid NOT NULL REFERENCES orgs(id),
    family_id         uuid NOT NULL REFERENCES families(id),
    child_id          uuid NOT NULL REFERENCES members(id),
    service_id        uuid NOT NULL REFERENCES services(id),
    service_day_id    uuid NOT NULL REFERENCES service_days(id),
    day               date NOT NULL,
    -- The order of the list: joining takes the next number; staff reordering gives
    -- the waiting entries new numbers after every existing one. The rank a family
    -- sees is its place among the day's waiting entries.
    position          bigint NOT NULL,
    -- waiting → offered → accepted (paid) or expired (not paid in time); waiting or
    -- offered → left (the family left the list or declined the offer); waiting →
    -- expired when the booking deadline closes the list; waiting → accepted when
    -- staff book the child on the day themselves.
    status            text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'offered', 'expired', 'accepted', 'left')),
    offer_line_id     uuid UNIQUE REFERENCES cart_lines(id),
    offered_at        timestamptz,
    offer_expires_at  timestamptz,
    offered_by        uuid REFERENCES users(id), -- staff who offered by hand; NULL when the list did
    offer_reason      text NOT NULL DEFAULT '',
    created_by        uuid REFERENCES users(id), -- the family's user, or staff
    created_at        timestamptz NOT NULL DEFAULT now(),
    closed_at         timestamptz,
    CHECK (status <> 'offered' OR (offer_line_id IS NOT NULL AND offer_expires_at IS NOT NULL)),
    CHECK ((status IN ('waiting', 'offered')) = (closed_at IS NULL))
);
-- A child is on a day's list once at a time.
CREATE UNIQUE INDEX waitlist_entries_one_live ON waitlist_entries (child_id, service_day_id) WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_entries_day_idx ON waitlist_entries (service_day_id, position) WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_entries_family_idx ON waitlist_entries (family_id, day);
-- Offers that lapse, found by the list's workflow and by reconciliation.
CREATE INDEX waitlist_entries_offers_idx ON waitlist_entries (offer_expires_at) WHERE status = 'offered';

-- The rank a family sees: its place among the day's entries still waiting (1 =
-- the next to be offered a place). One definition for every query that shows it.
-- +goose StatementBegin
CREATE FUNCTION waitlist_rank(service_day uuid, upto bigint) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT count(*)::integer FROM waitlist_entries
    WHERE service_day_id = $1 AND status = 'waiting' AND position <= $2
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION waitlist_rank(uuid, bigint);
DROP TABLE waitlist_entries;
ALTER TABLE service_days DROP COLUMN waiting, DROP COLUMN waitlist_version;
ALTER TABLE services DROP COLUMN waitlist_offer_hold;
