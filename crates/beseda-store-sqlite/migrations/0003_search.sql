-- Substring search (F06): trigram full-text indexes, case-insensitive in any script.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content = 'messages', content_rowid = 'id', tokenize = 'trigram case_sensitive 0'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

-- A contact's and a client card's searchable text, kept by triggers (rowid = their id).
CREATE VIRTUAL TABLE contacts_fts USING fts5(doc, tokenize = 'trigram case_sensitive 0');
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, doc) VALUES (new.id,
        COALESCE(new.name, '') || ' ' || COALESCE(new.nickname, '') || ' ' || COALESCE(new.phone, '') || ' ' || COALESCE(new.email, ''));
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, nickname, phone, email ON contacts BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.id;
    INSERT INTO contacts_fts (rowid, doc) VALUES (new.id,
        COALESCE(new.name, '') || ' ' || COALESCE(new.nickname, '') || ' ' || COALESCE(new.phone, '') || ' ' || COALESCE(new.email, ''));
END;
INSERT INTO contacts_fts (rowid, doc)
    SELECT id, COALESCE(name, '') || ' ' || COALESCE(nickname, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(email, '') FROM contacts;

CREATE VIRTUAL TABLE clients_fts USING fts5(doc, tokenize = 'trigram case_sensitive 0');
CREATE TRIGGER clients_fts_insert AFTER INSERT ON clients BEGIN
    INSERT INTO clients_fts (rowid, doc) VALUES (new.id,
        COALESCE(new.name, '') || ' ' || COALESCE(new.phone, '') || ' ' || COALESCE(new.email, ''));
END;
CREATE TRIGGER clients_fts_update AFTER UPDATE OF name, phone, email ON clients BEGIN
    DELETE FROM clients_fts WHERE rowid = old.id;
    INSERT INTO clients_fts (rowid, doc) VALUES (new.id,
        COALESCE(new.name, '') || ' ' || COALESCE(new.phone, '') || ' ' || COALESCE(new.email, ''));
END;
CREATE TRIGGER clients_fts_delete AFTER DELETE ON clients BEGIN
    DELETE FROM clients_fts WHERE rowid = old.id;
END;
INSERT INTO clients_fts (rowid, doc)
    SELECT id, COALESCE(name, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(email, '') FROM clients;

-- The list's filters (F21): open or closed, by who wrote last, newest first.
CREATE INDEX dialogs_status_activity ON dialogs (status, last_activity_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX dialogs_author_activity ON dialogs (last_message_author, last_activity_at DESC, id DESC) WHERE deleted_at IS NULL;

-- Managers' unread counters (F02) walk only the dialogs unread by default: few, since history
-- counts as read.
CREATE INDEX dialogs_unread_by_default ON dialogs (responsible_manager_id, id)
    WHERE deleted_at IS NULL AND client_count > read_baseline_client_count;
