-- +goose Up
-- Accounts, contact and back office (issue 6).

-- Failed logins live in PostgreSQL, not in a replica's memory, so that N API
-- replicas agree on who is slowed down or locked out: one row per login (whether
-- or not an account has it: a wrong login and a wrong password must behave the same)
-- and one per client address. A row is locked (SELECT … FOR UPDATE) while an attempt
-- is counted, so a burst of parallel attempts cannot slip past the count.
CREATE TABLE login_throttles (
    scope            text NOT NULL CHECK (scope IN ('login', 'address')),
    key              text NOT NULL,
    failures         integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at  timestamptz,
    blocked_until    timestamptz,
    PRIMARY KEY (scope, key)
);
CREATE INDEX login_throttles_last_failure_idx ON login_throttles (last_failure_at);

-- A user's live reset links are revoked together when the password changes.
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

-- The staff inbox lists an org's threads; a thread gathers the replies to its first message.
CREATE INDEX messages_org_idx ON messages (org_id, created_at);
CREATE INDEX messages_parent_idx ON messages (parent_id);
CREATE INDEX attachments_message_idx ON attachments (message_id);
-- Attachments are listed in the order they were sent.
ALTER TABLE attachments ADD COLUMN position smallint NOT NULL DEFAULT 0;

-- Staff search an org's families by name, page by page.
CREATE INDEX families_org_name_idx ON families (org_id, name, id);

-- The audit log is read newest first, per org.
CREATE INDEX audit_log_org_id_idx ON audit_log (org_id, id);

-- +goose Down
DROP INDEX audit_log_org_id_idx;
DROP INDEX families_org_name_idx;
ALTER TABLE attachments DROP COLUMN position;
DROP INDEX attachments_message_idx;
DROP INDEX messages_parent_idx;
DROP INDEX messages_org_idx;
DROP INDEX password_reset_tokens_user_idx;
DROP TABLE login_throttles;
