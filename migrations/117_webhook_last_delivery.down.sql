ALTER TABLE notify_webhook
    DROP COLUMN last_delivery_at,
    DROP COLUMN last_delivery_ok,
    DROP COLUMN last_delivery_error;
