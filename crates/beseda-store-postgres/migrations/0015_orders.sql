-- Orders (F05, F40): their lines (JSON), where the client came from when the order was made
-- (JSON, the client card's source), when they last changed, and the dialog that produced them.
ALTER TABLE orders ADD COLUMN items TEXT NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN source TEXT;
ALTER TABLE orders ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE orders SET updated_at = created_at;
ALTER TABLE orders DROP COLUMN source_channel_kind;
ALTER TABLE orders DROP COLUMN source_channel_name;
ALTER TABLE orders DROP COLUMN source_first_contact_at;
CREATE INDEX orders_dialog ON orders (dialog_id) WHERE dialog_id IS NOT NULL;
