-- Bots' messages (F37): quick-reply buttons under a message (their labels, a JSON array), and
-- files a bot uploads into a dialog it holds before sending them.
ALTER TABLE messages ADD COLUMN buttons TEXT;
ALTER TABLE attachments ADD COLUMN uploaded_by_bot BIGINT REFERENCES bots (id) ON DELETE SET NULL;

-- The built-in channels learn which buttons their messenger shows (a module declares its own).
UPDATE channels SET capabilities = (capabilities::jsonb || jsonb_build_object('buttons', (CASE kind
        WHEN 'telegram' THEN '{"max":10,"max_chars":64}'
        WHEN 'vk' THEN '{"max":10,"max_chars":40}'
        WHEN 'whatsapp_business' THEN '{"max":3,"max_chars":20}'
        WHEN 'fb_instagram' THEN '{"max":13,"max_chars":20}'
        ELSE '{"max":10,"max_chars":64}' END)::jsonb))::text
WHERE kind IN ('telegram', 'vk', 'whatsapp_business', 'fb_instagram', 'widget');
