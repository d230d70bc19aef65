-- Writes used to set up an org: the demo data and, later, staff tools.

-- name: GetOrgBySlug :one
SELECT * FROM orgs WHERE slug = $1;

-- name: InsertOrg :exec
INSERT INTO orgs (id, slug, name, numcli, saisie, time_zone, email, address)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: InsertFamily :exec
INSERT INTO families (id, org_id, name, email, phone, address, postal_code, city, qf)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: InsertUser :exec
INSERT INTO users (id, org_id, login, password_hash, role, family_id, display_name)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: InsertMember :exec
INSERT INTO members (id, org_id, family_id, kind, first_name, last_name, birth_date, school, class_name)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: InsertService :exec
INSERT INTO services (id, org_id, code, name, description, weekdays, booking_days_before, booking_time,
    cancel_days_before, cancel_time, working_days_only)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: InsertServicePrice :exec
INSERT INTO service_prices (id, service_id, qf_min, qf_max, price_cents) VALUES ($1, $2, $3, $4, $5);

-- name: InsertClosure :exec
INSERT INTO closures (id, org_id, first_day, last_day, label) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (org_id, first_day, label) DO NOTHING;

-- name: GenerateServiceDays :execrows
-- Opens the service on its weekdays between two dates, except on the org's closures.
INSERT INTO service_days (id, org_id, service_id, day, capacity)
SELECT gen_random_uuid(), s.org_id, s.id, d::date, sqlc.narg(capacity)::integer
FROM services s, generate_series(@first_day::date, @last_day::date, interval '1 day') AS d
WHERE s.id = @service_id
  AND extract(isodow FROM d)::smallint = ANY (s.weekdays)
  AND NOT EXISTS (SELECT 1 FROM closures c
                  WHERE c.org_id = s.org_id AND d::date BETWEEN c.first_day AND c.last_day)
ON CONFLICT (service_id, day) DO NOTHING;

-- name: FillFirstServiceDayFrom :one
-- The demo's full day: the first open day of a service from a date on has its
-- capacity brought down to the places taken.
UPDATE service_days SET capacity = taken
WHERE id = (SELECT d.id FROM service_days d JOIN services s ON s.id = d.service_id
            WHERE s.org_id = @org_id AND s.code = @service_code AND d.open AND d.day >= @from_day
            ORDER BY d.day LIMIT 1)
RETURNING day;
