-- The tag filter (F24) and the panel's tag counts read rows kept for them: one per dialog and
-- tag of its client, with the dialog's activity and holder, so a filter walks only its tag's
-- dialogs newest first and a count is a sum over a few counters. Triggers keep both, so every
-- writer (the services, the history import, the bulk generator) keeps them right.
-- holder: the responsible manager's id, 0 for nobody, -1 for a bot (visibility, F33).
CREATE TABLE dialog_tags (
    dialog_id           BIGINT  NOT NULL REFERENCES dialogs (id) ON DELETE CASCADE,
    tag_id              BIGINT  NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    pinned              BOOLEAN NOT NULL,
    holder              BIGINT  NOT NULL,
    last_activity_at    BIGINT  NOT NULL,
    PRIMARY KEY (dialog_id, tag_id)
);
CREATE INDEX dialog_tags_walk ON dialog_tags (tag_id, last_activity_at DESC, dialog_id DESC, holder, pinned);

-- Dialogs (not deleted) per tag and holder; `pinned` of them with the tag pinned.
CREATE TABLE tag_counters (
    tag_id              BIGINT  NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    holder              BIGINT  NOT NULL,
    dialogs             BIGINT  NOT NULL,
    pinned              BIGINT  NOT NULL,
    PRIMARY KEY (tag_id, holder)
);

CREATE FUNCTION dialog_holder(manager BIGINT, bot BIGINT) RETURNS BIGINT
    LANGUAGE sql IMMUTABLE AS $$ SELECT COALESCE(manager, CASE WHEN bot IS NULL THEN 0 ELSE -1 END) $$;

CREATE FUNCTION dialog_tags_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A decrement never inserts: a deleted tag's counters are gone before its rows.
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE tag_counters SET dialogs = dialogs - 1, pinned = pinned - old.pinned::int
            WHERE tag_id = old.tag_id AND holder = old.holder;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO tag_counters (tag_id, holder, dialogs, pinned) VALUES (new.tag_id, new.holder, 1, new.pinned::int)
            ON CONFLICT (tag_id, holder) DO UPDATE
            SET dialogs = tag_counters.dialogs + 1, pinned = tag_counters.pinned + excluded.pinned;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER dialog_tags_count_insert AFTER INSERT OR DELETE ON dialog_tags
    FOR EACH ROW EXECUTE FUNCTION dialog_tags_count();
CREATE TRIGGER dialog_tags_count_update AFTER UPDATE OF holder, pinned ON dialog_tags
    FOR EACH ROW WHEN (old.holder <> new.holder OR old.pinned <> new.pinned) EXECUTE FUNCTION dialog_tags_count();

-- A client's tags change.
CREATE FUNCTION client_tags_dialogs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dialog_tags (dialog_id, tag_id, pinned, holder, last_activity_at)
            SELECT d.id, new.tag_id, new.pinned, dialog_holder(d.responsible_manager_id, d.responsible_bot_id),
                   d.last_activity_at
            FROM dialogs d WHERE d.client_id = new.client_id AND d.deleted_at IS NULL;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM dialog_tags WHERE tag_id = old.tag_id
            AND dialog_id IN (SELECT id FROM dialogs WHERE client_id = old.client_id);
    ELSIF old.pinned IS DISTINCT FROM new.pinned THEN
        UPDATE dialog_tags SET pinned = new.pinned WHERE tag_id = new.tag_id
            AND dialog_id IN (SELECT id FROM dialogs WHERE client_id = new.client_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER client_tags_dialogs AFTER INSERT OR DELETE OR UPDATE OF pinned ON client_tags
    FOR EACH ROW EXECUTE FUNCTION client_tags_dialogs();

-- A dialog is created, moves on, changes hands, client or is deleted.
CREATE FUNCTION dialogs_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND old.client_id IS NOT DISTINCT FROM new.client_id
       AND old.deleted_at IS NOT DISTINCT FROM new.deleted_at THEN
        UPDATE dialog_tags
            SET last_activity_at = new.last_activity_at,
                holder = dialog_holder(new.responsible_manager_id, new.responsible_bot_id)
            WHERE dialog_id = new.id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM dialog_tags WHERE dialog_id = new.id;
    END IF;
    IF new.client_id IS NOT NULL AND new.deleted_at IS NULL THEN
        INSERT INTO dialog_tags (dialog_id, tag_id, pinned, holder, last_activity_at)
            SELECT new.id, ct.tag_id, ct.pinned, dialog_holder(new.responsible_manager_id, new.responsible_bot_id),
                   new.last_activity_at
            FROM client_tags ct WHERE ct.client_id = new.client_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER dialogs_tags_insert AFTER INSERT ON dialogs
    FOR EACH ROW WHEN (new.client_id IS NOT NULL AND new.deleted_at IS NULL) EXECUTE FUNCTION dialogs_tags();
CREATE TRIGGER dialogs_tags_update AFTER UPDATE OF last_activity_at, responsible_manager_id, responsible_bot_id, client_id, deleted_at
    ON dialogs FOR EACH ROW WHEN (
        old.last_activity_at IS DISTINCT FROM new.last_activity_at
        OR old.responsible_manager_id IS DISTINCT FROM new.responsible_manager_id
        OR old.responsible_bot_id IS DISTINCT FROM new.responsible_bot_id
        OR old.client_id IS DISTINCT FROM new.client_id
        OR old.deleted_at IS DISTINCT FROM new.deleted_at)
    EXECUTE FUNCTION dialogs_tags();

-- The dialogs of today.
INSERT INTO dialog_tags (dialog_id, tag_id, pinned, holder, last_activity_at)
    SELECT d.id, ct.tag_id, ct.pinned, dialog_holder(d.responsible_manager_id, d.responsible_bot_id), d.last_activity_at
    FROM dialogs d JOIN client_tags ct ON ct.client_id = d.client_id WHERE d.deleted_at IS NULL;
