-- A feed's system line records its dialog event in the one vocabulary the event log and the
-- socket use: {"kind": "dialog_closed", "data": {"by": 3}} instead of {"event": "closed", "by": 3}.
UPDATE messages
SET event = json_object(
    'kind',
    CASE json_extract(event, '$.event')
        WHEN 'opened' THEN 'dialog_reopened'
        WHEN 'closed' THEN 'dialog_closed'
        WHEN 'reassigned' THEN 'dialog_assigned'
        ELSE json_extract(event, '$.event')
    END,
    'data',
    json(json_remove(event, '$.event'))
)
WHERE event IS NOT NULL AND json_extract(event, '$.event') IS NOT NULL;

-- The log's events take the same names, so a screen that resumes after the upgrade replays them.
UPDATE events
SET kind = CASE WHEN json_extract(payload, '$.marked_unread') THEN 'dialog_unread' ELSE 'dialog_read' END,
    payload = CASE WHEN json_extract(payload, '$.marked_unread') THEN '{}' ELSE '{"unread_messages":0}' END
WHERE kind = 'read_state';
UPDATE events SET kind = 'draft_changed' WHERE kind = 'draft_saved';
UPDATE events SET kind = 'client_tagged' WHERE kind = 'client_updated';
UPDATE events
SET payload = json_set(
    payload,
    '$.message.event',
    json_object(
        'kind',
        CASE json_extract(payload, '$.message.event.event')
            WHEN 'opened' THEN 'dialog_reopened'
            WHEN 'closed' THEN 'dialog_closed'
            WHEN 'reassigned' THEN 'dialog_assigned'
            ELSE json_extract(payload, '$.message.event.event')
        END,
        'data',
        json(json_remove(json_extract(payload, '$.message.event'), '$.event'))
    )
)
WHERE kind LIKE 'message_%' AND json_extract(payload, '$.message.event.event') IS NOT NULL;
