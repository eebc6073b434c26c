-- The whole domain of DESIGN.md §2. Timestamps are epoch milliseconds (INTEGER) so that the
-- Rust types and the keyset cursors are the same on both backends. Ids are integers; the
-- PostgreSQL schema mirrors this file table for table, index for index.

CREATE TABLE managers (
    id                  INTEGER PRIMARY KEY,
    email               TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,
    locale              TEXT    CHECK (locale IN ('en', 'ru')),
    is_system_admin     INTEGER NOT NULL DEFAULT 0,
    online              INTEGER NOT NULL DEFAULT 0,
    status              TEXT    NOT NULL DEFAULT 'free' CHECK (status IN ('free', 'busy', 'lunch', 'break')),
    disabled_at         INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE user_groups (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    chats_admin         INTEGER NOT NULL DEFAULT 0,
    view_all_dialogs    INTEGER NOT NULL DEFAULT 0,
    delete_dialogs      INTEGER NOT NULL DEFAULT 0,
    manage_settings     INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id            INTEGER NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    manager_id          INTEGER NOT NULL REFERENCES managers (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, manager_id)
);
CREATE INDEX group_members_manager ON group_members (manager_id);

-- Browser sessions and personal API tokens keep only a keyed hash of the secret.
CREATE TABLE sessions (
    token_hash          TEXT    PRIMARY KEY,
    manager_id          INTEGER NOT NULL REFERENCES managers (id) ON DELETE CASCADE,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    ip                  TEXT,
    user_agent          TEXT
);
CREATE INDEX sessions_manager ON sessions (manager_id);

CREATE TABLE api_tokens (
    id                  INTEGER PRIMARY KEY,
    manager_id          INTEGER NOT NULL REFERENCES managers (id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    token_hash          TEXT    NOT NULL UNIQUE,
    created_at          INTEGER NOT NULL,
    last_used_at        INTEGER
);
CREATE INDEX api_tokens_manager ON api_tokens (manager_id);

-- One row: the company's chat settings (F34 default time limits, in seconds).
CREATE TABLE chat_settings (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    warning_secs        INTEGER,
    danger_secs         INTEGER
);
INSERT INTO chat_settings (id) VALUES (1);

-- An integration module ("transport") that connects messengers through the transport API (F38).
CREATE TABLE transport_modules (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL,
    token_hash          TEXT    NOT NULL UNIQUE,
    webhook_url         TEXT    NOT NULL,
    webhook_secret      TEXT    NOT NULL,
    active              INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL
);

CREATE TABLE channels (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL CHECK (kind IN ('telegram', 'whatsapp_qr', 'whatsapp_business', 'vk', 'fb_instagram', 'widget', 'custom')),
    name                TEXT    NOT NULL,
    avatar_url          TEXT,
    capabilities        TEXT    NOT NULL,          -- JSON: what the channel supports and its limits (F16, F26)
    transport_token_hash TEXT   UNIQUE,
    webhook_url         TEXT,
    webhook_secret      TEXT,
    credentials         TEXT,                      -- JSON, connector-specific
    module_id           INTEGER REFERENCES transport_modules (id),
    external_id         TEXT,                      -- the module's own id of the channel
    warning_secs        INTEGER,                   -- per-channel overrides of chat_settings (F34)
    danger_secs         INTEGER,
    active              INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE INDEX channels_module ON channels (module_id);

CREATE TABLE clients (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL,
    phone               TEXT,
    email               TEXT,
    photo_url           TEXT,
    source_channel_kind TEXT,
    source_channel_id   INTEGER REFERENCES channels (id) ON DELETE SET NULL,
    source_channel_name TEXT,
    source_first_contact_at INTEGER,
    source_page         TEXT,
    source_utm          TEXT,                      -- JSON object of utm_* tags
    blocked_at          INTEGER,
    blocked_by          INTEGER REFERENCES managers (id) ON DELETE SET NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX clients_phone ON clients (phone) WHERE phone IS NOT NULL;
CREATE INDEX clients_email ON clients (email) WHERE email IS NOT NULL;

-- A client's identity on one channel.
CREATE TABLE contacts (
    id                  INTEGER PRIMARY KEY,
    channel_id          INTEGER NOT NULL REFERENCES channels (id),
    external_id         TEXT    NOT NULL,
    client_id           INTEGER REFERENCES clients (id) ON DELETE SET NULL,
    nickname            TEXT,
    name                TEXT,
    avatar_url          TEXT,
    phone               TEXT,
    email               TEXT,
    profile_url         TEXT,
    language            TEXT,
    created_at          INTEGER NOT NULL,
    UNIQUE (channel_id, external_id)
);
CREATE INDEX contacts_client ON contacts (client_id);

CREATE TABLE bots (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL CHECK (kind IN ('distribution', 'external')),
    name                TEXT    NOT NULL,
    token_hash          TEXT    UNIQUE,
    webhook_url         TEXT,
    config              TEXT    NOT NULL DEFAULT '{}',
    active              INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL
);

-- One row of the inbox: one contact on one channel. Sort keys and the preview are
-- denormalized here so that the list never joins messages.
CREATE TABLE dialogs (
    id                  INTEGER PRIMARY KEY,
    channel_id          INTEGER NOT NULL REFERENCES channels (id),
    contact_id          INTEGER NOT NULL UNIQUE REFERENCES contacts (id),
    client_id           INTEGER REFERENCES clients (id) ON DELETE SET NULL,
    status              TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
    responsible_manager_id INTEGER REFERENCES managers (id) ON DELETE SET NULL,
    responsible_bot_id  INTEGER REFERENCES bots (id) ON DELETE SET NULL,
    last_seq            INTEGER NOT NULL DEFAULT 0,
    last_client_seq     INTEGER NOT NULL DEFAULT 0,
    client_count        INTEGER NOT NULL DEFAULT 0,     -- client messages in the dialog
    -- Everything up to here counts as read by everyone (imported history): unread is measured
    -- from max(a manager's read state, this baseline).
    read_baseline_client_count INTEGER NOT NULL DEFAULT 0,
    last_message_id     INTEGER,
    last_message_author TEXT    CHECK (last_message_author IN ('client', 'manager', 'bot', 'system')),
    last_message_preview TEXT,
    last_activity_at    INTEGER NOT NULL,
    waiting_since       INTEGER,
    waiting_level       INTEGER NOT NULL DEFAULT 0,
    next_waiting_change_at INTEGER,
    opened_at           INTEGER NOT NULL,
    closed_at           INTEGER,
    deleted_at          INTEGER,
    deleted_by          INTEGER REFERENCES managers (id) ON DELETE SET NULL,
    created_at          INTEGER NOT NULL,
    CHECK (responsible_manager_id IS NULL OR responsible_bot_id IS NULL)
);
CREATE INDEX dialogs_activity ON dialogs (last_activity_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX dialogs_manager_activity ON dialogs (responsible_manager_id, last_activity_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX dialogs_bot_activity ON dialogs (responsible_bot_id, last_activity_at DESC, id DESC) WHERE deleted_at IS NULL AND responsible_bot_id IS NOT NULL;
CREATE INDEX dialogs_channel_activity ON dialogs (channel_id, last_activity_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX dialogs_waiting ON dialogs (waiting_since, id) WHERE deleted_at IS NULL AND waiting_since IS NOT NULL;
CREATE INDEX dialogs_next_waiting_change ON dialogs (next_waiting_change_at) WHERE next_waiting_change_at IS NOT NULL;
CREATE INDEX dialogs_client ON dialogs (client_id);

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    dialog_id           INTEGER NOT NULL REFERENCES dialogs (id),
    channel_id          INTEGER NOT NULL REFERENCES channels (id),
    seq                 INTEGER NOT NULL,
    author_kind         TEXT    NOT NULL CHECK (author_kind IN ('client', 'manager', 'bot', 'system')),
    author_manager_id   INTEGER REFERENCES managers (id) ON DELETE SET NULL,
    author_bot_id       INTEGER REFERENCES bots (id) ON DELETE SET NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'file', 'audio', 'video', 'event')),
    body                TEXT    NOT NULL DEFAULT '',
    event               TEXT,                      -- JSON for system events (F17)
    quote_message_id    INTEGER REFERENCES messages (id),
    external_id         TEXT,
    transport_id        TEXT,                      -- the module's id of an outgoing message
    status              TEXT    CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed')),
    failure_code        TEXT,
    failure_reason      TEXT,
    created_at          INTEGER NOT NULL,
    edited_at           INTEGER,
    deleted_at          INTEGER,
    UNIQUE (dialog_id, seq)
);
CREATE UNIQUE INDEX messages_external ON messages (channel_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_dialog_time ON messages (dialog_id, created_at);

CREATE TABLE attachments (
    id                  INTEGER PRIMARY KEY,
    object_key          TEXT    NOT NULL UNIQUE,   -- unguessable
    message_id          INTEGER REFERENCES messages (id),
    dialog_id           INTEGER REFERENCES dialogs (id),
    kind                TEXT    NOT NULL CHECK (kind IN ('image', 'file', 'audio', 'video')),
    file_name           TEXT    NOT NULL,
    mime                TEXT    NOT NULL,
    size_bytes          INTEGER NOT NULL,
    sha256              TEXT    NOT NULL,
    width               INTEGER,
    height              INTEGER,
    thumb_key           TEXT,
    uploaded_by         INTEGER REFERENCES managers (id) ON DELETE SET NULL,
    created_at          INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_dialog_kind ON attachments (dialog_id, kind, id DESC);

-- Per manager per dialog (F09, F02, F03): never shared between managers.
CREATE TABLE read_states (
    manager_id          INTEGER NOT NULL REFERENCES managers (id) ON DELETE CASCADE,
    dialog_id           INTEGER NOT NULL REFERENCES dialogs (id),
    read_client_count   INTEGER NOT NULL DEFAULT 0,     -- client messages this manager has read
    marked_unread       INTEGER NOT NULL DEFAULT 0,
    -- Whether this row is counted in manager_counters.caught_up (the dialog has unread client
    -- messages for a manager without a read state, and this manager has read them all).
    counted             INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (manager_id, dialog_id)
);
CREATE INDEX read_states_dialog ON read_states (dialog_id) WHERE counted;
CREATE INDEX read_states_marked ON read_states (manager_id) WHERE marked_unread;

-- Unread counters for administrators (DESIGN.md §4a): dialogs unread by default, and per
-- manager how many of those they have caught up on.
CREATE TABLE counters (
    name                TEXT    PRIMARY KEY,
    value               INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('dialogs_unread_by_default', 0);

CREATE TABLE manager_counters (
    manager_id          INTEGER PRIMARY KEY REFERENCES managers (id) ON DELETE CASCADE,
    caught_up           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE drafts (
    manager_id          INTEGER NOT NULL REFERENCES managers (id) ON DELETE CASCADE,
    dialog_id           INTEGER NOT NULL REFERENCES dialogs (id),
    body                TEXT    NOT NULL,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (manager_id, dialog_id)
);

CREATE TABLE tags (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    color               TEXT    NOT NULL,
    created_at          INTEGER NOT NULL
);

CREATE TABLE client_tags (
    client_id           INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    tag_id              INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    pinned              INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    PRIMARY KEY (client_id, tag_id)
);
CREATE INDEX client_tags_tag ON client_tags (tag_id, client_id);

CREATE TABLE quick_replies (
    id                  INTEGER PRIMARY KEY,
    owner_manager_id    INTEGER REFERENCES managers (id) ON DELETE CASCADE,  -- NULL: shared
    title               TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX quick_replies_owner ON quick_replies (owner_manager_id);

CREATE TABLE quick_reply_attachments (
    quick_reply_id      INTEGER NOT NULL REFERENCES quick_replies (id) ON DELETE CASCADE,
    attachment_id       INTEGER NOT NULL REFERENCES attachments (id),
    PRIMARY KEY (quick_reply_id, attachment_id)
);

CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    number              TEXT    NOT NULL UNIQUE,
    client_id           INTEGER NOT NULL REFERENCES clients (id),
    dialog_id           INTEGER REFERENCES dialogs (id),
    manager_id          INTEGER REFERENCES managers (id) ON DELETE SET NULL,
    status              TEXT    NOT NULL,
    total_minor         INTEGER NOT NULL DEFAULT 0,  -- in minor units (kopecks, cents)
    currency            TEXT    NOT NULL DEFAULT 'RUB',
    source_channel_kind TEXT,
    source_channel_name TEXT,
    source_first_contact_at INTEGER,
    created_at          INTEGER NOT NULL
);
CREATE INDEX orders_client ON orders (client_id, created_at DESC);

-- The ordered log of every change a screen or a bot must learn of, appended in the same
-- transaction as the change (DESIGN.md §2).
CREATE TABLE events (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL,
    dialog_id           INTEGER,
    -- Who may receive it: 'manager' (audience_manager_id only: read state, draft, "dialog gone"),
    -- 'dialog' (whoever may see the dialog), 'left' (whoever saw it before and no longer does),
    -- 'everyone', or 'audit' (recorded, never sent).
    audience            TEXT    NOT NULL CHECK (audience IN ('manager', 'dialog', 'left', 'everyone', 'audit')),
    audience_manager_id INTEGER,
    -- For dialog events: the dialog's responsible when it happened (visibility, F33).
    responsible_manager_id INTEGER,
    responsible_bot_id  INTEGER,
    -- For 'left' events (a dialog taken from those who saw it): the responsible before.
    previous_manager_id INTEGER,
    previous_bot_id     INTEGER,
    payload             TEXT    NOT NULL,
    created_at          INTEGER NOT NULL
);
CREATE INDEX events_dialog ON events (dialog_id, id);

CREATE TABLE delivery_jobs (
    id                  INTEGER PRIMARY KEY,
    message_id          INTEGER NOT NULL UNIQUE REFERENCES messages (id),
    dialog_id           INTEGER NOT NULL REFERENCES dialogs (id),
    channel_id          INTEGER NOT NULL REFERENCES channels (id),
    state               TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    lease_owner         TEXT,
    lease_until         INTEGER,
    last_error          TEXT,
    created_at          INTEGER NOT NULL
);
CREATE INDEX delivery_jobs_due ON delivery_jobs (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX delivery_jobs_dialog ON delivery_jobs (dialog_id, id) WHERE state = 'pending';
