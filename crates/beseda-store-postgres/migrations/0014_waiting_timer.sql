-- The waiting timer (F13): a waiting dialog is due to be looked at from the moment it started
-- waiting; the timer then records its level and when it changes next.
UPDATE dialogs SET next_waiting_change_at = waiting_since
WHERE waiting_since IS NOT NULL AND deleted_at IS NULL;
