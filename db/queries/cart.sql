-- name: GetLiveCart :one
SELECT * FROM carts WHERE org_id = $1 AND family_id = $2 AND status IN ('open', 'checking_out');

-- name: CreateCart :one
INSERT INTO carts (id, org_id, family_id, status, expires_at)
VALUES ($1, $2, $3, 'open', $4)
ON CONFLICT (family_id) WHERE status IN ('open', 'checking_out') DO NOTHING
RETURNING *;

-- name: GetCart :one
SELECT * FROM carts WHERE id = $1;

-- name: LockCart :one
SELECT * FROM carts WHERE id = $1 FOR UPDATE;

-- name: SetCartStatus :exec
UPDATE carts SET status = @status,
    closed_at = CASE WHEN @status::cart_status IN ('paid', 'expired') THEN now() ELSE closed_at END
WHERE id = @id;

-- name: ListCartLines :many
SELECT * FROM cart_lines WHERE cart_id = $1 AND state <> 'released' ORDER BY day, created_at;

-- name: ListHeldLinesForChild :many
SELECT * FROM cart_lines
WHERE family_id = $1 AND child_id = $2 AND service_id = $3 AND state = 'held'
  AND day BETWEEN @first_day AND @last_day;

-- name: InsertCartLine :one
INSERT INTO cart_lines (id, org_id, cart_id, family_id, child_id, service_id, service_day_id, day, price_cents)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (child_id, service_day_id) WHERE state = 'held' DO NOTHING
RETURNING *;

-- name: GetCartLine :one
SELECT * FROM cart_lines WHERE cart_id = $1 AND id = $2 AND state = 'held';

-- name: ReleaseCartLine :one
UPDATE cart_lines SET state = 'released' WHERE id = $1 AND state = 'held' RETURNING service_day_id;

-- name: ReleaseCartLines :many
UPDATE cart_lines SET state = 'released' WHERE cart_id = $1 AND state = 'held' RETURNING service_day_id;

-- name: ConfirmCartLines :exec
UPDATE cart_lines SET state = 'confirmed' WHERE cart_id = $1 AND state = 'held';

-- name: ListOverdueCarts :many
-- Live carts well past their time to live: their workflow should have ended them,
-- so it is missing (Temporal was unreachable when the cart opened, or an operator
-- terminated it). Reconciliation starts it again.
SELECT id, org_id, family_id, expires_at FROM carts
WHERE status IN ('open', 'checking_out') AND expires_at < @before
ORDER BY expires_at
LIMIT @max_carts;

-- name: GetCheckoutFacts :one
-- What the API reads before a checkout, in one query: the live cart, how many
-- lines it holds, and whether the family has an e-mail address. The checkout
-- itself reads everything again under lock.
SELECT sqlc.embed(c),
       (SELECT count(*) FROM cart_lines l WHERE l.cart_id = c.id AND l.state <> 'released')::int AS lines,
       (btrim(f.email) <> '')::bool AS has_email
FROM carts c JOIN families f ON f.id = c.family_id
WHERE c.org_id = $1 AND c.family_id = $2 AND c.status IN ('open', 'checking_out');
