-- Personal API tokens expire; the ones made before expiry existed get 90 days from their making.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
UPDATE api_tokens SET expires_at = created_at + 7776000000;
