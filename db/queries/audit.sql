-- name: InsertAudit :exec
-- Who changed what and when, with the record before and after (NULL when created or deleted).
INSERT INTO audit_log (org_id, actor_id, action, entity, entity_id, before, after, occurred_at)
VALUES (@org_id, @actor_id, @action, @entity, @entity_id, @before, @after, @occurred_at);

-- name: ListAudit :many
-- Newest first; before_id pages back (0 = from the newest). Optional filters: one
-- entity, one staff member (actor), a period [since, until), and one family: the
-- family's own record, every record of its members, logins, authorised persons,
-- reservations, messages and attendances, and any record that names the family
-- (family_id) before or after, a deleted one included.
SELECT a.*, COALESCE(u.login, '') AS actor_login
FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
WHERE a.org_id = @org_id
  AND (@entity::text = '' OR a.entity = @entity)
  AND (@entity_id::text = '' OR a.entity_id = @entity_id)
  AND (@before_id::bigint = 0 OR a.id < @before_id)
  AND (sqlc.narg(actor_id)::uuid IS NULL OR a.actor_id = sqlc.narg(actor_id)::uuid)
  AND (sqlc.narg(since)::timestamptz IS NULL OR a.occurred_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR a.occurred_at < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(family_id)::uuid IS NULL
       OR (a.entity = 'family' AND a.entity_id = sqlc.narg(family_id)::uuid::text)
       OR a.before->>'family_id' = sqlc.narg(family_id)::uuid::text
       OR a.after->>'family_id' = sqlc.narg(family_id)::uuid::text
       OR a.entity_id IN (SELECT x.id::text FROM members x WHERE x.family_id = sqlc.narg(family_id)::uuid
                          UNION ALL SELECT x.id::text FROM users x WHERE x.family_id = sqlc.narg(family_id)::uuid
                          UNION ALL SELECT x.id::text FROM authorized_persons x WHERE x.family_id = sqlc.narg(family_id)::uuid
                          UNION ALL SELECT x.id::text FROM reservations x WHERE x.family_id = sqlc.narg(family_id)::uuid
                          UNION ALL SELECT x.id::text FROM messages x WHERE x.family_id = sqlc.narg(family_id)::uuid
                          UNION ALL SELECT x.id::text FROM attendances x WHERE x.family_id = sqlc.narg(family_id)::uuid))
ORDER BY a.id DESC
LIMIT @lim;

-- name: AuditChildren :many
-- The children a page of entries refers to, for the log to name them: a child_id
-- in the record before or after, or the child of the reservation or waiting-list
-- entry the entry is about. Only the org's entries, reservations, entries and
-- children: a child of another org is never named. A record's value that is not
-- a UUID names nothing (refs keeps only UUIDs before any cast).
WITH refs AS MATERIALIZED (
  SELECT x.audit_id, x.key, x.ref::uuid AS ref
  FROM (SELECT a.id AS audit_id, 'child_id' AS key, a.before->>'child_id' AS ref FROM audit_log a
        WHERE a.org_id = @org_id AND a.id = ANY(@ids::bigint[])
        UNION ALL SELECT a.id, 'child_id', a.after->>'child_id' FROM audit_log a
        WHERE a.org_id = @org_id AND a.id = ANY(@ids::bigint[])
        UNION ALL SELECT a.id, a.entity, a.entity_id FROM audit_log a
        WHERE a.org_id = @org_id AND a.id = ANY(@ids::bigint[]) AND a.entity IN ('reservation', 'waitlist_entry')) x
  WHERE x.ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
)
SELECT DISTINCT r.audit_id, m.id, m.first_name, m.last_name
FROM refs r
LEFT JOIN reservations v ON r.key = 'reservation' AND v.id = r.ref AND v.org_id = @org_id
LEFT JOIN waitlist_entries w ON r.key = 'waitlist_entry' AND w.id = r.ref AND w.org_id = @org_id
JOIN members m ON m.org_id = @org_id
 AND m.id = CASE r.key WHEN 'child_id' THEN r.ref WHEN 'reservation' THEN v.child_id ELSE w.child_id END
ORDER BY r.audit_id, m.last_name, m.first_name, m.id;

-- name: AuditServices :many
-- The services a page of entries refers to: a service_id in the record before or
-- after, the service the entry is about, or the service of its reservation,
-- waiting-list entry or day. Only the org's: another org's service is never named.
WITH refs AS MATERIALIZED (
  SELECT x.audit_id, x.key, x.ref::uuid AS ref
  FROM (SELECT a.id AS audit_id, 'service_id' AS key, a.before->>'service_id' AS ref FROM audit_log a
        WHERE a.org_id = @org_id AND a.id = ANY(@ids::bigint[])
        UNION ALL SELECT a.id, 'service_id', a.after->>'service_id' FROM audit_log a
        WHERE a.org_id = @org_id AND a.id = ANY(@ids::bigint[])
        UNION ALL SELECT a.id, a.entity, a.entity_id FROM audit_log a
        WHERE a.org_id = @org_id AND a.id = ANY(@ids::bigint[])
          AND a.entity IN ('service', 'reservation', 'waitlist_entry', 'service_day')) x
  WHERE x.ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
)
SELECT DISTINCT r.audit_id, s.id, s.name
FROM refs r
LEFT JOIN reservations v ON r.key = 'reservation' AND v.id = r.ref AND v.org_id = @org_id
LEFT JOIN waitlist_entries w ON r.key = 'waitlist_entry' AND w.id = r.ref AND w.org_id = @org_id
LEFT JOIN service_days d ON r.key = 'service_day' AND d.id = r.ref AND d.org_id = @org_id
JOIN services s ON s.org_id = @org_id
 AND s.id = CASE r.key WHEN 'reservation' THEN v.service_id WHEN 'waitlist_entry' THEN w.service_id
                       WHEN 'service_day' THEN d.service_id ELSE r.ref END
ORDER BY r.audit_id, s.name, s.id;
