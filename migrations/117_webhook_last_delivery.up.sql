-- An account's webhook says how its last delivery went (the webhooks page
-- and GET /api/v1/webhooks show it): when, whether the receiver answered
-- 2xx, and if not, why.
ALTER TABLE notify_webhook
    ADD COLUMN last_delivery_at timestamptz,
    ADD COLUMN last_delivery_ok boolean,
    ADD COLUMN last_delivery_error text;
