-- A rotated webhook secret keeps signing beside the new one for a while
-- (notify.PreviousSecretOverlap), so the receiving tool can switch over
-- without refusing deliveries: each delivery carries a v1 signature per
-- secret. Stored as the secret is (sealed where a key is configured).
ALTER TABLE notify_webhook
    ADD COLUMN previous_secret text,
    ADD COLUMN previous_secret_until timestamptz;
