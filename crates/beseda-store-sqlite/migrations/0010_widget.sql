-- The website widget (F39): its channels' settings, its visitors' sessions, where a visitor is,
-- and what a client typed about themselves.
CREATE TABLE widget_channels (
    channel_id          INTEGER PRIMARY KEY REFERENCES channels (id),
    public_key          TEXT    NOT NULL UNIQUE,
    settings            TEXT    NOT NULL,          -- JSON: WidgetSettings
    identity_secret     TEXT    NOT NULL
);

CREATE TABLE widget_visitors (
    id                  INTEGER PRIMARY KEY,
    channel_id          INTEGER NOT NULL REFERENCES channels (id),
    token_hash          TEXT    NOT NULL UNIQUE,
    external_id         TEXT    NOT NULL,          -- the visitor's contact on the channel
    created_at          INTEGER NOT NULL
);
CREATE INDEX widget_visitors_contact ON widget_visitors (channel_id, external_id);

-- When a widget's visitor left the site; NULL while they are on it (or never left).
ALTER TABLE contacts ADD COLUMN left_site_at INTEGER;
ALTER TABLE clients ADD COLUMN source_referrer TEXT;
-- A card with the phone or email a client typed themselves: possibly the same person.
ALTER TABLE clients ADD COLUMN possibly_same_as INTEGER REFERENCES clients (id) ON DELETE SET NULL;
-- A visitor's upload is theirs until their message takes it.
ALTER TABLE attachments ADD COLUMN visitor_id INTEGER REFERENCES widget_visitors (id);
