-- Company messages found by their id at the channel: a client's read receipt names one, and a
-- messenger sends back its copy of each message the company wrote.
CREATE INDEX messages_transport_id ON messages (channel_id, transport_id) WHERE transport_id IS NOT NULL;
-- Telegram long polling, one poller per bot across the deployment: the next update to ask
-- for, and which node polls until when.
ALTER TABLE channels ADD COLUMN poll_offset INTEGER;
ALTER TABLE channels ADD COLUMN poll_owner TEXT;
ALTER TABLE channels ADD COLUMN poll_until INTEGER;
-- A client's photo that a messenger gave for the contact, kept in the file store (Telegram's
-- photos are behind the bot's token, so browsers cannot load them from Telegram).
ALTER TABLE contacts ADD COLUMN photo_key TEXT;
