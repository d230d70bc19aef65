-- +goose Up
-- Hardening (issue 14).
-- woken_at: when a PayFiP callback last woke the attempt's workflow. Callbacks
-- within PAYFIP_NOTIFY_COOLDOWN of it change nothing, so a flood of notifications
-- for one idOp asks PayFiP a handful of times, not once each.
ALTER TABLE payment_attempts ADD COLUMN woken_at timestamptz;
-- reset_mail_at: when a "forgot password" e-mail was last sent to the account;
-- one per quiet period, claimed by a single guarded UPDATE (parallel requests
-- cannot both send).
ALTER TABLE users ADD COLUMN reset_mail_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN reset_mail_at;
ALTER TABLE payment_attempts DROP COLUMN woken_at;
