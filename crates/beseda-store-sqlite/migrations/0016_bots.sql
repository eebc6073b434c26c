-- Bots (F37): a picture, the channels whose new dialogs each sees, its webhook's secret, and
-- where its webhook stands: the last event it took, the tries since, and who is delivering.
ALTER TABLE bots ADD COLUMN avatar_url TEXT;
ALTER TABLE bots ADD COLUMN webhook_secret TEXT;
ALTER TABLE bots ADD COLUMN delivered_up_to INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bots ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bots ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bots ADD COLUMN failing_since INTEGER;
ALTER TABLE bots ADD COLUMN last_error TEXT;
ALTER TABLE bots ADD COLUMN lease_owner TEXT;
ALTER TABLE bots ADD COLUMN lease_until INTEGER;

CREATE TABLE bot_channels (
    bot_id              INTEGER NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    channel_id          INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    PRIMARY KEY (bot_id, channel_id)
);
CREATE INDEX bot_channels_channel ON bot_channels (channel_id);
