-- The distribution bot (F36). A manager is present while one of their sockets answers
-- (`seen_at`, renewed at each ping) and their status is "free" (`status_since`: since when
-- it is what it is); `last_assigned_at` makes round robin fair.
ALTER TABLE managers ADD COLUMN seen_at INTEGER;
ALTER TABLE managers ADD COLUMN status_since INTEGER NOT NULL DEFAULT 0;
-- When the dialog was last given to whoever holds it: no answer counts from then too.
ALTER TABLE dialogs ADD COLUMN assigned_at INTEGER;
ALTER TABLE managers ADD COLUMN last_assigned_at INTEGER NOT NULL DEFAULT 0;

-- Per channel: who receives its new dialogs and how (JSON), and since when: only dialogs
-- that came after are greeted and get an order.
CREATE TABLE distribution_rules (
    channel_id          INTEGER NOT NULL PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    config              TEXT NOT NULL,
    since               INTEGER NOT NULL
);

-- What the bot did once for a dialog: greeted it, said all were busy, made its order.
CREATE TABLE distribution_marks (
    dialog_id           INTEGER NOT NULL REFERENCES dialogs (id),
    mark                TEXT NOT NULL,
    PRIMARY KEY (dialog_id, mark)
);

-- The queue: unassigned open dialogs, longest waiting first; and each manager's open dialogs.
CREATE INDEX dialogs_queue ON dialogs (channel_id, waiting_since, id)
    WHERE responsible_manager_id IS NULL AND responsible_bot_id IS NULL AND status = 'open' AND deleted_at IS NULL;
CREATE INDEX dialogs_open_by_manager ON dialogs (responsible_manager_id)
    WHERE responsible_manager_id IS NOT NULL AND status = 'open' AND deleted_at IS NULL;
