DROP TABLE IF EXISTS notification_preference;
