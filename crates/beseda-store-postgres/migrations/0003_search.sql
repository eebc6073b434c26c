-- Substring search (F06): trigram indexes that serve ILIKE, case-insensitive in any script.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX messages_body_trgm ON messages USING gin (body gin_trgm_ops);
CREATE INDEX contacts_search_trgm ON contacts USING gin (
    (COALESCE(name, '') || ' ' || COALESCE(nickname, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(email, '')) gin_trgm_ops
);
CREATE INDEX clients_search_trgm ON clients USING gin (
    (COALESCE(name, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(email, '')) gin_trgm_ops
);

-- The list's filters (F21): open or closed, by who wrote last, newest first.
CREATE INDEX dialogs_status_activity ON dialogs (status, last_activity_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX dialogs_author_activity ON dialogs (last_message_author, last_activity_at DESC, id DESC) WHERE deleted_at IS NULL;

-- Managers' unread counters (F02) walk only the dialogs unread by default: few, since history
-- counts as read.
CREATE INDEX dialogs_unread_by_default ON dialogs (responsible_manager_id, id)
    WHERE deleted_at IS NULL AND client_count > read_baseline_client_count;
