-- Back office: an org's families, members, accounts and desk money. Every query
-- takes the staff member's org_id.

-- name: ListOrgFamilies :many
-- Families by name, a page at a time after (after_name, after_id); q matches the
-- family's name, e-mail or logins, a member's name (first, last or both) or a
-- child's school (the caller escapes LIKE wildcards); digits (at least 4, the
-- caller strips spaces and dots) match the phones however they were typed.
SELECT f.*, b.outstanding_cents, b.credit_cents
FROM families f
CROSS JOIN LATERAL (
    SELECT COALESCE(sum(l.outstanding_cents), 0)::bigint AS outstanding_cents,
           COALESCE(sum(l.credit_cents), 0)::bigint AS credit_cents
    FROM ledger_entries l WHERE l.family_id = f.id
) b
WHERE f.org_id = @org_id
  AND (@q::text = '' OR f.name ILIKE '%' || @q || '%' OR f.email ILIKE '%' || @q || '%'
       OR (@digits::text <> '' AND (regexp_replace(f.phone, '[^0-9]', '', 'g') LIKE '%' || @digits || '%'
                                 OR regexp_replace(f.phone2, '[^0-9]', '', 'g') LIKE '%' || @digits || '%'))
       OR EXISTS (SELECT 1 FROM members m WHERE m.family_id = f.id
                  AND (m.first_name || ' ' || m.last_name ILIKE '%' || @q || '%'
                       OR m.last_name || ' ' || m.first_name ILIKE '%' || @q || '%'
                       OR (m.kind = 'child' AND m.school ILIKE '%' || @q || '%')))
       OR EXISTS (SELECT 1 FROM users u WHERE u.family_id = f.id AND u.login ILIKE '%' || @q || '%'))
  AND (NOT @paged::boolean OR (f.name, f.id) > (@after_name::text, @after_id::uuid))
ORDER BY f.name, f.id
LIMIT @lim;

-- name: CreateFamily :one
INSERT INTO families (id, org_id, name, email, phone, phone2, address, postal_code, city, qf)
VALUES (@id, @org_id, @name, @email, @phone, @phone2, @address, @postal_code, @city, @qf)
RETURNING *;

-- name: UpdateFamily :one
UPDATE families
SET name = @name, email = @email, phone = @phone, phone2 = @phone2, address = @address,
    postal_code = @postal_code, city = @city, qf = @qf, updated_at = now()
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: CreateMember :one
INSERT INTO members (id, org_id, family_id, kind, first_name, last_name, birth_date, school, class_name, allergies, notes)
VALUES (@id, @org_id, @family_id, @kind, @first_name, @last_name, @birth_date, @school, @class_name, @allergies, @notes)
RETURNING *;

-- name: LockMember :one
SELECT * FROM members WHERE org_id = @org_id AND family_id = @family_id AND id = @id FOR UPDATE;

-- name: UpdateMember :one
UPDATE members
SET kind = @kind, first_name = @first_name, last_name = @last_name, birth_date = @birth_date,
    school = @school, class_name = @class_name, allergies = @allergies, notes = @notes
WHERE org_id = @org_id AND family_id = @family_id AND id = @id
RETURNING *;

-- name: ListFamilyUsers :many
SELECT id, login, role, disabled, (password_hash <> '')::boolean AS password_set, created_at
FROM users WHERE org_id = @org_id AND family_id = @family_id ORDER BY created_at, id;

-- name: CreateUser :one
INSERT INTO users (id, org_id, login, role, family_id, display_name)
VALUES (@id, @org_id, @login, @role, @family_id, @display_name)
RETURNING *;

-- name: ListStaffUsers :many
SELECT * FROM users WHERE org_id = @org_id AND role <> 'family' ORDER BY login;

-- name: LockStaffUser :one
SELECT * FROM users WHERE org_id = @org_id AND id = @id AND role <> 'family' FOR UPDATE;

-- name: UpdateStaffUser :one
UPDATE users SET role = @role, display_name = @display_name, disabled = @disabled
WHERE org_id = @org_id AND id = @id AND role <> 'family'
RETURNING *;

-- name: LockActiveAdmins :many
SELECT id FROM users WHERE org_id = @org_id AND role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE;

-- name: SetFamilyUserDisabled :one
-- A family login turned off or on again (its sessions are ended by the caller).
UPDATE users SET disabled = @disabled
WHERE org_id = @org_id AND family_id = @family_id AND id = @id AND role = 'family'
RETURNING *;

-- name: GetOrgUser :one
SELECT * FROM users WHERE org_id = @org_id AND id = @id;

-- name: ListStaffFamilyReservations :many
-- A family's reservations between two days, whatever their status, with who
-- booked them (a staff login, or the family online).
SELECT r.*, (m.first_name || ' ' || m.last_name)::text AS child_name, s.name AS service_name,
       COALESCE(u.login, '')::text AS booked_by_login, COALESCE(u.display_name, '')::text AS booked_by_name
FROM reservations r
JOIN members m ON m.id = r.child_id
JOIN services s ON s.id = r.service_id
LEFT JOIN users u ON u.id = r.booked_by
WHERE r.org_id = @org_id AND r.family_id = @family_id AND r.day BETWEEN @first_day AND @last_day
ORDER BY r.day, child_name, s.name, r.created_at;

-- name: CreateClosure :one
INSERT INTO closures (id, org_id, first_day, last_day, label) VALUES (@id, @org_id, @first_day, @last_day, @label)
ON CONFLICT (org_id, first_day, label) DO NOTHING
RETURNING *;

-- name: DeleteClosure :one
DELETE FROM closures WHERE org_id = @org_id AND id = @id RETURNING *;
