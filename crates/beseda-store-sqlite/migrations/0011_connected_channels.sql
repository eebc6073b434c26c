-- Channels Beseda connects to a messenger itself: the key in their webhook's address. Their
-- credentials (sealed) live in `channels.credentials`.
ALTER TABLE channels ADD COLUMN hook_key TEXT;
CREATE UNIQUE INDEX channels_hook_key ON channels (hook_key) WHERE hook_key IS NOT NULL;
