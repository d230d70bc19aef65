-- +goose Up
-- The e-mail queue (issue 16). The e-mail of a payment attempt's document (its
-- receipt, the notice of a payment that came late) is queued as a row here by the
-- transaction that makes it due — a cart's confirmation queues its receipt — and
-- the workers send it, retrying until it leaves (activities.SendQueuedEmails).
-- A row without a kind is sent by whoever wrote it (the API's e-mails, invoices)
-- and is never queued.
ALTER TABLE outbound_emails
    ADD COLUMN kind               text CHECK (kind IN ('receipt', 'late_payment')),
    ADD COLUMN payment_attempt_id uuid REFERENCES payment_attempts (id),
    ADD COLUMN tries              integer NOT NULL DEFAULT 0,
    ADD COLUMN next_try_at        timestamptz,
    ADD COLUMN last_error         text NOT NULL DEFAULT '',
    ADD CONSTRAINT outbound_emails_queued_has_attempt CHECK (kind IS NULL OR payment_attempt_id IS NOT NULL);
CREATE INDEX outbound_emails_due_idx ON outbound_emails (next_try_at) WHERE sent_at IS NULL AND kind IS NOT NULL;

-- +goose Down
DROP INDEX outbound_emails_due_idx;
ALTER TABLE outbound_emails
    DROP CONSTRAINT outbound_emails_queued_has_attempt,
    DROP COLUMN last_error, DROP COLUMN next_try_at, DROP COLUMN tries,
    DROP COLUMN payment_attempt_id, DROP COLUMN kind;
