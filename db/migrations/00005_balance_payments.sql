-- +goose Up
-- The family's journey: paying the outstanding balance alone, abandoning a
-- payment to change the cart, and a money history that says who did what and why.

-- A payment attempt pays a cart (kind 'cart': its lines, plus the outstanding
-- balance, minus the cagnotte) or the outstanding balance alone (kind 'balance':
-- no cart, no lines; its own workflow balance:<attempt id>). abandoned_at is set
-- when the family gave the attempt up on the portal to change its cart: PayFiP may
-- still take the money afterwards, which reconciliation then credits.
ALTER TABLE payment_attempts
    ADD COLUMN kind text NOT NULL DEFAULT 'cart' CHECK (kind IN ('cart', 'balance')),
    ALTER COLUMN cart_id DROP NOT NULL,
    ADD CONSTRAINT payment_attempts_kind_cart CHECK ((kind = 'cart') = (cart_id IS NOT NULL)),
    ADD CONSTRAINT payment_attempts_balance_alone CHECK (kind = 'cart' OR lines_cents = 0),
    ADD COLUMN abandoned_at timestamptz;

-- The payments a family has in progress (what they froze of its balances is read
-- on every checkout, desk payment and cancellation), and its history of payments.
CREATE INDEX payment_attempts_family_idx ON payment_attempts (family_id, created_at);

-- The reason staff gave for a movement they made (a booking on the family's
-- behalf, a cancellation, an adjustment), shown to the family with the movement.
ALTER TABLE ledger_entries ADD COLUMN reason text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE ledger_entries DROP COLUMN reason;
DROP INDEX payment_attempts_family_idx;
-- Balance payments have no cart: going down fails while any exist (money is not deleted).
ALTER TABLE payment_attempts
    DROP CONSTRAINT payment_attempts_balance_alone,
    DROP CONSTRAINT payment_attempts_kind_cart,
    DROP COLUMN abandoned_at,
    DROP COLUMN kind,
    ALTER COLUMN cart_id SET NOT NULL;
