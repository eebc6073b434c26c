-- Uploads by an integration module belong to its channel until a message takes them; uploads
-- that no message took are swept by housekeeping.
ALTER TABLE attachments ADD COLUMN channel_id BIGINT REFERENCES channels (id);
CREATE INDEX attachments_unsent ON attachments (created_at) WHERE message_id IS NULL;
