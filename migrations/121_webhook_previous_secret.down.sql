ALTER TABLE notify_webhook DROP COLUMN previous_secret, DROP COLUMN previous_secret_until;
