-- A message the client deleted keeps no text: not in quotes, search or the dialog row.
UPDATE messages SET body = '' WHERE deleted_at IS NOT NULL;
UPDATE dialogs SET last_message_preview = ''
WHERE last_message_id IN (SELECT id FROM messages WHERE deleted_at IS NOT NULL);
