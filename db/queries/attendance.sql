-- Attendance (pointage), the day's list and the week's numbers. Every query takes
-- the staff member's org_id.

-- name: GetAttendanceRule :one
SELECT * FROM service_attendance_rules WHERE org_id = @org_id AND service_id = @service_id;

-- name: ListAttendanceRules :many
SELECT * FROM service_attendance_rules WHERE org_id = @org_id;

-- name: UpsertAttendanceRule :one
INSERT INTO service_attendance_rules (service_id, org_id, unbooked, surcharge_cents, updated_by, updated_at)
VALUES (@service_id, @org_id, @unbooked, @surcharge_cents, @updated_by, @updated_at)
ON CONFLICT (service_id) DO UPDATE
SET unbooked = EXCLUDED.unbooked, surcharge_cents = EXCLUDED.surcharge_cents,
    updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
RETURNING *;

-- name: ListDayRoster :many
-- The children expected on a service day (confirmed reservations), with what the
-- list prints about them and how they were ticked, if they were.
SELECT r.id AS reservation_id, r.source, r.price_cents,
       m.id AS child_id, m.first_name, m.last_name, m.school, m.class_name, m.birth_date, m.allergies, m.notes,
       f.id AS family_id, f.name AS family_name, f.phone AS family_phone, f.phone2 AS family_phone2,
       a.id AS attendance_id, a.status AS attendance_status, a.recorded_at AS attendance_recorded_at
FROM reservations r
JOIN members m ON m.id = r.child_id
JOIN families f ON f.id = r.family_id
LEFT JOIN attendances a ON a.service_id = r.service_id AND a.day = r.day AND a.child_id = r.child_id AND a.status <> 'withdrawn'
WHERE r.org_id = @org_id AND r.service_id = @service_id AND r.day = @day AND r.status = 'confirmed'
ORDER BY m.last_name, m.first_name, m.id;

-- name: ListDayUnbooked :many
-- Children ticked present on a service day without a reservation.
SELECT a.id, a.reason, a.rule, a.charged_cents, a.recorded_at,
       m.id AS child_id, m.first_name, m.last_name, m.school, m.class_name, m.birth_date, m.allergies, m.notes,
       f.id AS family_id, f.name AS family_name, f.phone AS family_phone, f.phone2 AS family_phone2
FROM attendances a
JOIN members m ON m.id = a.child_id
JOIN families f ON f.id = a.family_id
WHERE a.org_id = @org_id AND a.service_id = @service_id AND a.day = @day
  AND a.reservation_id IS NULL AND a.status = 'present'
ORDER BY m.last_name, m.first_name, m.id;

-- name: ListFamiliesAuthorizedPersons :many
-- Who may collect the children of these families.
SELECT * FROM authorized_persons
WHERE org_id = @org_id AND family_id = ANY(@family_ids::uuid[])
ORDER BY family_id, last_name, first_name, id;

-- name: GetOrgChild :one
SELECT * FROM members WHERE org_id = @org_id AND id = @id AND kind = 'child';

-- name: LockChildAttendance :one
-- The child's live row for the day (not withdrawn), locked.
SELECT * FROM attendances
WHERE service_id = @service_id AND day = @day AND child_id = @child_id AND status <> 'withdrawn'
FOR UPDATE;

-- name: GetConfirmedReservation :one
SELECT * FROM reservations
WHERE org_id = @org_id AND service_id = @service_id AND day = @day AND child_id = @child_id AND status = 'confirmed';

-- name: InsertAttendance :one
-- The partial UNIQUE index turns a concurrent second tick into no row.
INSERT INTO attendances (id, org_id, service_id, day, child_id, family_id, reservation_id, status, reason,
    rule, charged_cents, recorded_by, recorded_at, updated_at)
VALUES (@id, @org_id, @service_id, @day, @child_id, @family_id, @reservation_id, @status, @reason,
    @rule, @charged_cents, @recorded_by, @recorded_at, @recorded_at)
ON CONFLICT (service_id, day, child_id) WHERE status <> 'withdrawn' DO NOTHING
RETURNING *;

-- name: SetAttendanceStatus :one
UPDATE attendances SET status = @status, recorded_by = @recorded_by, updated_at = @updated_at
WHERE id = @id
RETURNING *;

-- name: SearchOrgChildren :many
-- Children of the org by name (first, last or both), with their family.
SELECT m.id, m.first_name, m.last_name, m.school, m.class_name, m.birth_date,
       f.id AS family_id, f.name AS family_name
FROM members m JOIN families f ON f.id = m.family_id
WHERE m.org_id = @org_id AND m.kind = 'child'
  AND (m.first_name || ' ' || m.last_name ILIKE '%' || @q::text || '%'
       OR m.last_name || ' ' || m.first_name ILIKE '%' || @q::text || '%'
       OR f.name ILIKE '%' || @q::text || '%')
ORDER BY m.last_name, m.first_name, m.id
LIMIT @lim;

-- name: ListOrgDayCounts :many
-- The numbers of each open service day between two dates, for the kitchen's
-- orders and the accueil: booked (confirmed), held in carts, and once ticked,
-- present, absent and present without a reservation.
SELECT sd.service_id, sd.day, sd.open, sd.capacity, sd.taken,
       count(r.id)::integer AS booked,
       count(r.id) FILTER (WHERE m.allergies <> '')::integer AS booked_with_allergies,
       (SELECT count(*) FROM attendances a WHERE a.service_id = sd.service_id AND a.day = sd.day AND a.status = 'present')::integer AS present,
       (SELECT count(*) FROM attendances a WHERE a.service_id = sd.service_id AND a.day = sd.day AND a.status = 'absent')::integer AS absent,
       (SELECT count(*) FROM attendances a WHERE a.service_id = sd.service_id AND a.day = sd.day AND a.status = 'present'
            AND a.reservation_id IS NULL)::integer AS unbooked
FROM service_days sd
LEFT JOIN reservations r ON r.service_day_id = sd.id AND r.status = 'confirmed'
LEFT JOIN members m ON m.id = r.child_id
WHERE sd.org_id = @org_id AND sd.day BETWEEN @first_day AND @last_day
GROUP BY sd.id
ORDER BY sd.service_id, sd.day;

-- name: ListMonthAttendances :many
-- A family's attendances of the month that its invoice lists: absences without a
-- cancellation (the reservation stays charged) and presences without a
-- reservation, each with whether the ledger charged it.
SELECT a.id, a.day, a.status, a.reason, a.rule, a.charged_cents, a.reservation_id,
       COALESCE(r.price_cents, 0)::bigint AS reservation_price_cents,
       (m.first_name || ' ' || m.last_name)::text AS child_name, s.name AS service_name
FROM attendances a
JOIN members m ON m.id = a.child_id
JOIN services s ON s.id = a.service_id
LEFT JOIN reservations r ON r.id = a.reservation_id
WHERE a.family_id = @family_id AND a.day BETWEEN @first_day AND @last_day
  AND ((a.status = 'absent' AND r.status = 'confirmed') OR (a.status = 'present' AND a.reservation_id IS NULL))
ORDER BY a.day, child_name, s.name;

-- name: ListMonthAttendanceLines :many
-- The absences and presences without a reservation that the month's invoices
-- list, for the finance export.
SELECT il.kind, il.day, il.label, il.child_name, il.service_name, il.unit_cents, il.amount_cents,
       i.number AS invoice_number, i.issued_at, f.id AS family_id, f.name AS family_name
FROM invoice_lines il
JOIN invoices i ON i.id = il.invoice_id
JOIN families f ON f.id = i.family_id
WHERE i.org_id = @org_id AND i.month = @month AND il.attendance_id IS NOT NULL
  AND il.kind IN ('absence', 'unbooked_attendance', 'unbooked_info')
ORDER BY il.day, f.name, il.child_name;
