-- A feed's system line records its dialog event in the one vocabulary the event log and the
-- socket use: {"kind": "dialog_closed", "data": {"by": 3}} instead of {"event": "closed", "by": 3}.
UPDATE messages
SET event = jsonb_build_object(
    'kind',
    CASE event::jsonb ->> 'event'
        WHEN 'opened' THEN 'dialog_reopened'
        WHEN 'closed' THEN 'dialog_closed'
        WHEN 'reassigned' THEN 'dialog_assigned'
        ELSE event::jsonb ->> 'event'
    END,
    'data',
    event::jsonb - 'event'
)::text
WHERE event IS NOT NULL AND event::jsonb ? 'event';

-- The log's events take the same names, so a screen that resumes after the upgrade replays them.
UPDATE events
SET kind = CASE WHEN (payload::jsonb ->> 'marked_unread') = 'true' THEN 'dialog_unread' ELSE 'dialog_read' END,
    payload = CASE WHEN (payload::jsonb ->> 'marked_unread') = 'true' THEN '{}' ELSE '{"unread_messages":0}' END
WHERE kind = 'read_state';
UPDATE events SET kind = 'draft_changed' WHERE kind = 'draft_saved';
UPDATE events SET kind = 'client_tagged' WHERE kind = 'client_updated';
UPDATE events
SET payload = jsonb_set(
    payload::jsonb,
    '{message,event}',
    jsonb_build_object(
        'kind',
        CASE payload::jsonb #>> '{message,event,event}'
            WHEN 'opened' THEN 'dialog_reopened'
            WHEN 'closed' THEN 'dialog_closed'
            WHEN 'reassigned' THEN 'dialog_assigned'
            ELSE payload::jsonb #>> '{message,event,event}'
        END,
        'data',
        (payload::jsonb #> '{message,event}') - 'event'
    )
)::text
WHERE kind LIKE 'message_%' AND payload::jsonb #> '{message,event,event}' IS NOT NULL;
