-- Accounts: login throttling, password links, passwords, the family's own record.

-- name: LockLoginThrottle :one
-- Creates the row on first use and locks it until the transaction ends: attempts on
-- the same login, or failures from the same address, are counted one after the other. inserted tells a new
-- row (xmax = 0) from an existing one.
INSERT INTO login_throttles (scope, key) VALUES (@scope, @key)
ON CONFLICT (scope, key) DO UPDATE SET key = EXCLUDED.key
RETURNING scope, key, failures, last_failure_at, blocked_until, (xmax = 0)::boolean AS inserted;

-- name: SetLoginThrottle :exec
UPDATE login_throttles
SET failures = @failures, last_failure_at = @last_failure_at, blocked_until = @blocked_until
WHERE scope = @scope AND key = @key;

-- name: ClearLoginThrottle :exec
-- A successful login clears its login's count.
DELETE FROM login_throttles WHERE scope = @scope AND key = @key;

-- name: LoginBlockedUntil :one
-- Read without a lock: an address's row is only written on failures, so a rush of
-- good logins from one address (a town hall, a mobile carrier's NAT) never queues on it.
SELECT blocked_until FROM login_throttles WHERE scope = @scope AND key = @key;

-- name: PurgeStaleLoginThrottles :execrows
-- Bounded clean-up, run when a new row is created, so the table holds only recent
-- failures whatever an attacker sends.
DELETE FROM login_throttles
WHERE ctid IN (SELECT ctid FROM login_throttles t
               WHERE t.last_failure_at < @before::timestamptz AND (t.blocked_until IS NULL OR t.blocked_until < @now::timestamptz)
               LIMIT 100);

-- name: GetUser :one
SELECT * FROM users WHERE id = $1;

-- name: CreatePasswordToken :exec
INSERT INTO password_reset_tokens (token_hash, user_id, purpose, expires_at, created_at)
VALUES (@token_hash, @user_id, @purpose, @expires_at, @created_at);

-- name: ClaimResetMail :execrows
-- One "forgot password" e-mail per account and quiet period, even under parallel
-- requests: they queue on the row, and only the first finds it unclaimed.
UPDATE users SET reset_mail_at = @now::timestamptz
WHERE id = @id AND (reset_mail_at IS NULL OR reset_mail_at <= @since::timestamptz);

-- name: GetPasswordToken :one
-- A usable link and its account.
SELECT t.purpose, t.expires_at, u.id AS user_id, u.org_id, u.login, u.role
FROM password_reset_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = @token_hash AND t.used_at IS NULL AND t.expires_at > @now AND NOT u.disabled;

-- name: ConsumePasswordToken :one
-- Single use: of two concurrent resets with one link, one gets the row.
UPDATE password_reset_tokens SET used_at = @now::timestamptz
WHERE token_hash = @token_hash AND used_at IS NULL AND expires_at > @now
RETURNING user_id;

-- name: RevokePasswordTokens :exec
UPDATE password_reset_tokens SET used_at = @now::timestamptz WHERE user_id = @user_id AND used_at IS NULL;

-- name: SetUserPassword :exec
UPDATE users SET password_hash = @password_hash WHERE id = @id;

-- name: DeleteUserSessions :exec
DELETE FROM sessions WHERE user_id = $1;

-- name: DeleteOtherSessions :exec
DELETE FROM sessions WHERE user_id = @user_id AND token_hash <> @keep;

-- name: LockFamily :one
SELECT * FROM families WHERE org_id = $1 AND id = $2 FOR UPDATE;

-- name: UpdateFamilyContact :one
UPDATE families
SET email = @email, phone = @phone, phone2 = @phone2, address = @address,
    postal_code = @postal_code, city = @city, updated_at = now()
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: ListAuthorizedPersons :many
SELECT * FROM authorized_persons WHERE org_id = $1 AND family_id = $2 ORDER BY last_name, first_name, id;

-- name: InsertAuthorizedPerson :one
INSERT INTO authorized_persons (id, org_id, family_id, first_name, last_name, phone, relationship)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: DeleteAuthorizedPerson :one
DELETE FROM authorized_persons WHERE org_id = $1 AND family_id = $2 AND id = $3
RETURNING *;

