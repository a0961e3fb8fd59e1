DROP TABLE webhook_event_seen;
