-- name: ListServices :many
SELECT * FROM services WHERE org_id = $1 AND active ORDER BY name;

-- name: GetService :one
SELECT * FROM services WHERE org_id = $1 AND id = $2;

-- name: ListServicePrices :many
SELECT * FROM service_prices WHERE service_id = ANY(@service_ids::uuid[]) ORDER BY service_id, qf_min;

-- name: ListServiceDays :many
SELECT * FROM service_days
WHERE service_id = $1 AND day BETWEEN @first_day AND @last_day
ORDER BY day;

-- name: GetServiceDay :one
SELECT * FROM service_days WHERE org_id = $1 AND service_id = $2 AND day = $3;

-- name: ListClosures :many
SELECT * FROM closures
WHERE org_id = $1 AND last_day >= @first_day AND first_day <= @last_day
ORDER BY first_day;

-- name: TakePlace :one
-- The guard is in the WHERE clause: no row comes back when the day is full or closed.
UPDATE service_days SET taken = taken + 1
WHERE id = $1 AND open AND (capacity IS NULL OR taken < capacity)
RETURNING taken;

-- name: ReleasePlace :exec
UPDATE service_days SET taken = taken - 1 WHERE id = $1;
