-- name: GetOrg :one
SELECT * FROM orgs WHERE id = $1;

-- name: GetFamily :one
SELECT * FROM families WHERE org_id = $1 AND id = $2;

-- name: FamilyBalances :one
-- Both balances derive from the ledger, never from a stored total.
SELECT COALESCE(sum(outstanding_cents), 0)::bigint AS outstanding_cents,
       COALESCE(sum(credit_cents), 0)::bigint AS credit_cents
FROM ledger_entries WHERE family_id = $1;

-- name: ListMembers :many
SELECT * FROM members WHERE org_id = $1 AND family_id = $2 ORDER BY kind, birth_date, first_name;

-- name: GetChild :one
SELECT * FROM members WHERE org_id = $1 AND family_id = $2 AND id = $3 AND kind = 'child';

-- name: UpdateOrgSettings :one
UPDATE orgs SET name = @name, numcli = @numcli, saisie = @saisie, email = @email, address = @address
WHERE id = @id
RETURNING *;

-- name: LockOrg :one
SELECT * FROM orgs WHERE id = $1 FOR UPDATE;
