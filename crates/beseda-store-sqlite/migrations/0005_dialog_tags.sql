-- The tag filter (F24) and the panel's tag counts read rows kept for them: one per dialog and
-- tag of its client, with the dialog's activity and holder, so a filter walks only its tag's
-- dialogs newest first and a count is a sum over a few counters. Triggers keep both, so every
-- writer (the services, the history import, the bulk generator) keeps them right.
-- holder: the responsible manager's id, 0 for nobody, -1 for a bot (visibility, F33).
CREATE TABLE dialog_tags (
    dialog_id           INTEGER NOT NULL REFERENCES dialogs (id) ON DELETE CASCADE,
    tag_id              INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    pinned              INTEGER NOT NULL,
    holder              INTEGER NOT NULL,
    last_activity_at    INTEGER NOT NULL,
    PRIMARY KEY (dialog_id, tag_id)
);
CREATE INDEX dialog_tags_walk ON dialog_tags (tag_id, last_activity_at DESC, dialog_id DESC, holder, pinned);

-- Dialogs (not deleted) per tag and holder; `pinned` of them with the tag pinned.
CREATE TABLE tag_counters (
    tag_id              INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    holder              INTEGER NOT NULL,
    dialogs             INTEGER NOT NULL,
    pinned              INTEGER NOT NULL,
    PRIMARY KEY (tag_id, holder)
);

CREATE TRIGGER dialog_tags_count_insert AFTER INSERT ON dialog_tags BEGIN
    INSERT INTO tag_counters (tag_id, holder, dialogs, pinned) VALUES (new.tag_id, new.holder, 1, new.pinned)
        ON CONFLICT (tag_id, holder) DO UPDATE SET dialogs = dialogs + 1, pinned = pinned + excluded.pinned;
END;
CREATE TRIGGER dialog_tags_count_delete AFTER DELETE ON dialog_tags BEGIN
    UPDATE tag_counters SET dialogs = dialogs - 1, pinned = pinned - old.pinned
        WHERE tag_id = old.tag_id AND holder = old.holder;
END;
CREATE TRIGGER dialog_tags_count_update AFTER UPDATE OF holder, pinned ON dialog_tags
    WHEN old.holder <> new.holder OR old.pinned <> new.pinned BEGIN
    UPDATE tag_counters SET dialogs = dialogs - 1, pinned = pinned - old.pinned
        WHERE tag_id = old.tag_id AND holder = old.holder;
    INSERT INTO tag_counters (tag_id, holder, dialogs, pinned) VALUES (new.tag_id, new.holder, 1, new.pinned)
        ON CONFLICT (tag_id, holder) DO UPDATE SET dialogs = dialogs + 1, pinned = pinned + excluded.pinned;
END;

-- A client's tags change.
CREATE TRIGGER client_tags_dialogs_insert AFTER INSERT ON client_tags BEGIN
    INSERT INTO dialog_tags (dialog_id, tag_id, pinned, holder, last_activity_at)
        SELECT d.id, new.tag_id, new.pinned,
               COALESCE(d.responsible_manager_id, CASE WHEN d.responsible_bot_id IS NULL THEN 0 ELSE -1 END),
               d.last_activity_at
        FROM dialogs d WHERE d.client_id = new.client_id AND d.deleted_at IS NULL;
END;
CREATE TRIGGER client_tags_dialogs_delete AFTER DELETE ON client_tags BEGIN
    DELETE FROM dialog_tags WHERE tag_id = old.tag_id
        AND dialog_id IN (SELECT id FROM dialogs WHERE client_id = old.client_id);
END;
CREATE TRIGGER client_tags_dialogs_pin AFTER UPDATE OF pinned ON client_tags BEGIN
    UPDATE dialog_tags SET pinned = new.pinned WHERE tag_id = new.tag_id
        AND dialog_id IN (SELECT id FROM dialogs WHERE client_id = new.client_id);
END;

-- A dialog is created, moves on, changes hands, client or is deleted.
CREATE TRIGGER dialogs_tags_insert AFTER INSERT ON dialogs WHEN new.client_id IS NOT NULL AND new.deleted_at IS NULL BEGIN
    INSERT INTO dialog_tags (dialog_id, tag_id, pinned, holder, last_activity_at)
        SELECT new.id, ct.tag_id, ct.pinned,
               COALESCE(new.responsible_manager_id, CASE WHEN new.responsible_bot_id IS NULL THEN 0 ELSE -1 END),
               new.last_activity_at
        FROM client_tags ct WHERE ct.client_id = new.client_id;
END;
CREATE TRIGGER dialogs_tags_activity AFTER UPDATE OF last_activity_at ON dialogs
    WHEN old.last_activity_at <> new.last_activity_at BEGIN
    UPDATE dialog_tags SET last_activity_at = new.last_activity_at WHERE dialog_id = new.id;
END;
CREATE TRIGGER dialogs_tags_holder AFTER UPDATE OF responsible_manager_id, responsible_bot_id ON dialogs
    WHEN old.responsible_manager_id IS NOT new.responsible_manager_id OR old.responsible_bot_id IS NOT new.responsible_bot_id BEGIN
    UPDATE dialog_tags
        SET holder = COALESCE(new.responsible_manager_id, CASE WHEN new.responsible_bot_id IS NULL THEN 0 ELSE -1 END)
        WHERE dialog_id = new.id;
END;
CREATE TRIGGER dialogs_tags_client AFTER UPDATE OF client_id, deleted_at ON dialogs
    WHEN old.client_id IS NOT new.client_id OR old.deleted_at IS NOT new.deleted_at BEGIN
    DELETE FROM dialog_tags WHERE dialog_id = new.id;
    INSERT INTO dialog_tags (dialog_id, tag_id, pinned, holder, last_activity_at)
        SELECT new.id, ct.tag_id, ct.pinned,
               COALESCE(new.responsible_manager_id, CASE WHEN new.responsible_bot_id IS NULL THEN 0 ELSE -1 END),
               new.last_activity_at
        FROM client_tags ct WHERE ct.client_id = new.client_id AND new.deleted_at IS NULL;
END;

-- The dialogs of today.
INSERT INTO dialog_tags (dialog_id, tag_id, pinned, holder, last_activity_at)
    SELECT d.id, ct.tag_id, ct.pinned,
           COALESCE(d.responsible_manager_id, CASE WHEN d.responsible_bot_id IS NULL THEN 0 ELSE -1 END),
           d.last_activity_at
    FROM dialogs d JOIN client_tags ct ON ct.client_id = d.client_id WHERE d.deleted_at IS NULL;
