-- name: InsertAudit :exec
-- Who changed what and when, with the record before and after (NULL when created or deleted).
INSERT INTO audit_log (org_id, actor_id, action, entity, entity_id, before, after, occurred_at)
VALUES (@org_id, @actor_id, @action, @entity, @entity_id, @before, @after, @occurred_at);

-- name: ListAudit :many
-- Newest first; before_id pages back (0 = from the newest).
SELECT a.*, COALESCE(u.login, '') AS actor_login
FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
WHERE a.org_id = @org_id
  AND (@entity::text = '' OR a.entity = @entity)
  AND (@entity_id::text = '' OR a.entity_id = @entity_id)
  AND (@before_id::bigint = 0 OR a.id < @before_id)
ORDER BY a.id DESC
LIMIT @lim;
