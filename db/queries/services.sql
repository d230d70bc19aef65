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
-- The guard is in the WHERE clause: no row comes back when the day is full or closed,
-- or when children wait on its list (a freed place is theirs: see waitlist.sql).
UPDATE service_days SET taken = taken + 1
WHERE id = $1 AND open AND (capacity IS NULL OR taken < capacity) AND waiting = 0
RETURNING taken;

-- name: ReleasePlace :exec
UPDATE service_days SET taken = taken - 1 WHERE id = $1;

-- name: ListAllServices :many
-- Every service of the org, inactive ones included (for the back office).
SELECT * FROM services WHERE org_id = $1 ORDER BY active DESC, name;

-- name: CreateService :one
INSERT INTO services (id, org_id, code, name, description, weekdays, booking_days_before, booking_time,
    cancel_days_before, cancel_time, working_days_only, eligible_schools, eligible_classes,
    min_age_months, max_age_months, active)
VALUES (@id, @org_id, @code, @name, @description, @weekdays, @booking_days_before, @booking_time,
    @cancel_days_before, @cancel_time, @working_days_only, @eligible_schools, @eligible_classes,
    @min_age_months, @max_age_months, @active)
RETURNING *;

-- name: UpdateService :one
UPDATE services SET code = @code, name = @name, description = @description, weekdays = @weekdays,
    booking_days_before = @booking_days_before, booking_time = @booking_time,
    cancel_days_before = @cancel_days_before, cancel_time = @cancel_time,
    working_days_only = @working_days_only, eligible_schools = @eligible_schools,
    eligible_classes = @eligible_classes, min_age_months = @min_age_months,
    max_age_months = @max_age_months, active = @active
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: LockService :one
SELECT * FROM services WHERE org_id = $1 AND id = $2 FOR UPDATE;

-- name: DeleteServicePrices :exec
-- Prices are frozen on cart lines and reservations, so a new grid changes no booking.
DELETE FROM service_prices WHERE service_id = $1;

-- name: LockServiceDays :many
-- Locks in id order, the order every writer of service_days follows.
SELECT * FROM service_days
WHERE service_id = @service_id AND day = ANY(@days::date[])
ORDER BY id
FOR UPDATE;

-- name: UpsertServiceDay :one
-- The guard refuses a capacity below the places already taken: no row comes back.
INSERT INTO service_days (id, org_id, service_id, day, open, capacity)
VALUES (@id, @org_id, @service_id, @day, @open, sqlc.narg(capacity)::integer)
ON CONFLICT (service_id, day) DO UPDATE SET open = EXCLUDED.open, capacity = EXCLUDED.capacity
WHERE EXCLUDED.capacity IS NULL OR service_days.taken <= EXCLUDED.capacity
RETURNING *;
