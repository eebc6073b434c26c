-- A company message that is one of the messenger's approved templates, filled in: its name,
-- language and values (JSON), which the delivery sends instead of the text.
ALTER TABLE messages ADD COLUMN template TEXT;
