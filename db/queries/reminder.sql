-- name: ListCartLinesToRemind :many
-- A cart's held lines as its reminder e-mail lists them: the child, the service,
-- and the expiry of an offer from a waiting list.
SELECT l.id, l.day, l.price_cents, m.first_name AS child_first_name, s.name AS service_name,
    e.offer_expires_at
FROM cart_lines l
JOIN members m ON m.id = l.child_id
JOIN services s ON s.id = l.service_id
LEFT JOIN waitlist_entries e ON e.offer_line_id = l.id AND e.status = 'offered'
WHERE l.cart_id = $1 AND l.state = 'held'
ORDER BY l.day, m.first_name, s.name;
