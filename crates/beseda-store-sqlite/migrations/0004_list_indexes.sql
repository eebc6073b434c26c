-- F22 and processing order per manager (F20): each walks its own rows in the order shown. The
-- index by bot came first in SQLite's choice for "any bot" and made it sort every bot's rows.
DROP INDEX dialogs_bot_activity;
CREATE INDEX dialogs_any_bot_activity ON dialogs (last_activity_at DESC, id DESC)
    WHERE deleted_at IS NULL AND responsible_bot_id IS NOT NULL;
CREATE INDEX dialogs_manager_waiting ON dialogs (responsible_manager_id, waiting_since, id)
    WHERE deleted_at IS NULL AND waiting_since IS NOT NULL;
