-- name: GetUserByLogin :one
SELECT * FROM users WHERE lower(login) = lower(@login) AND NOT disabled;

-- name: CreateSession :exec
INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, ip, user_agent)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: GetSession :one
-- The session and its user; idle expiry is checked by the caller against last_seen_at.
SELECT s.token_hash, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at,
       u.id AS user_id, u.org_id, u.role, u.family_id, u.login, u.display_name
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT u.disabled;

-- name: TouchSession :exec
UPDATE sessions SET last_seen_at = now() WHERE token_hash = $1;

-- name: DeleteSession :exec
DELETE FROM sessions WHERE token_hash = $1;
