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
