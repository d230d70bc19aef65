-- Contact: a thread is a family's first message (parent_id NULL) and its replies.

-- name: InsertMessage :one
INSERT INTO messages (id, org_id, family_id, parent_id, author_id, from_staff, category, subject, body)
VALUES (@id, @org_id, @family_id, @parent_id, @author_id, @from_staff, @category, @subject, @body)
RETURNING *;

-- name: InsertAttachment :exec
INSERT INTO attachments (id, message_id, position, filename, content_type, size_bytes, content)
VALUES (@id, @message_id, @position, @filename, @content_type, @size_bytes, @content);

-- name: ListFamilyMessages :many
SELECT * FROM messages WHERE org_id = @org_id AND family_id = @family_id ORDER BY created_at, id;

-- name: ListAttachmentMeta :many
-- Everything but the content, which only the download routes read.
SELECT id, message_id, filename, content_type, size_bytes, created_at
FROM attachments WHERE message_id = ANY (@message_ids::uuid[]) ORDER BY message_id, position, id;

-- name: GetFamilyAttachment :one
SELECT a.* FROM attachments a JOIN messages m ON m.id = a.message_id
WHERE m.org_id = @org_id AND m.family_id = @family_id AND m.id = @message_id AND a.id = @id;

-- name: GetOrgAttachment :one
SELECT a.* FROM attachments a JOIN messages m ON m.id = a.message_id
WHERE m.org_id = @org_id AND m.id = @message_id AND a.id = @id;

-- name: ListOrgThreads :many
-- The inbox: threads newest activity first. waiting: the last word is the family's.
SELECT r.id, r.family_id, f.name AS family_name, r.category, r.subject, r.created_at,
       t.last_at::timestamptz AS last_message_at, t.messages::bigint AS messages,
       t.unread::bigint AS unread, t.waiting::boolean AS waiting
FROM messages r
JOIN families f ON f.id = r.family_id
CROSS JOIN LATERAL (
    SELECT max(m.created_at) AS last_at, count(*) AS messages,
           count(*) FILTER (WHERE NOT m.from_staff AND m.read_at IS NULL) AS unread,
           NOT (array_agg(m.from_staff ORDER BY m.created_at DESC, m.id DESC))[1] AS waiting
    FROM messages m WHERE m.id = r.id OR m.parent_id = r.id
) t
WHERE r.org_id = @org_id AND r.parent_id IS NULL
  AND (NOT @waiting_only::boolean OR t.waiting)
ORDER BY t.last_at DESC, r.id DESC
LIMIT @lim OFFSET @off;

-- name: GetOrgThread :one
SELECT m.*, f.name AS family_name, f.email AS family_email
FROM messages m JOIN families f ON f.id = m.family_id
WHERE m.org_id = @org_id AND m.id = @id AND m.parent_id IS NULL;

-- name: ListThreadMessages :many
SELECT m.*, COALESCE(u.login, '') AS author_login
FROM messages m LEFT JOIN users u ON u.id = m.author_id
WHERE m.org_id = @org_id AND (m.id = @thread_id OR m.parent_id = @thread_id)
ORDER BY m.created_at, m.id;

-- name: MarkThreadRead :exec
-- Staff answering a thread have read the family's messages in it.
UPDATE messages SET read_at = @now::timestamptz
WHERE org_id = @org_id AND (id = @thread_id OR parent_id = @thread_id) AND NOT from_staff AND read_at IS NULL;

-- name: GetFamilyThread :one
-- One of the family's threads (its first message), for the family to reply in.
SELECT * FROM messages WHERE org_id = @org_id AND family_id = @family_id AND id = @id AND parent_id IS NULL;

-- name: FamilyAttachmentUsage :one
-- What the family's own messages carried in attachments: the messages of the last
-- 24 hours, and the bytes of the last 30 days.
SELECT count(DISTINCT m.id) FILTER (WHERE m.created_at > now() - interval '24 hours') AS messages_day,
       COALESCE(sum(a.size_bytes), 0)::bigint AS bytes_month
FROM messages m JOIN attachments a ON a.message_id = m.id
WHERE m.org_id = @org_id AND m.family_id = @family_id AND NOT m.from_staff
  AND m.created_at > now() - interval '30 days';
