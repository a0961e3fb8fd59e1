-- Source events a webhook notice already delivered (internal/hooks): a
-- notice whose events were all seen within the replay window is answered
-- 200 and enqueues nothing. Kept in PostgreSQL so every serve process
-- sees the others' notices; rows older than the window are pruned.
CREATE TABLE webhook_event_seen (
    tenant_id   bigint      NOT NULL REFERENCES tenant (id),
    connection  text        NOT NULL,
    event       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection, event)
);
CREATE INDEX webhook_event_seen_created_idx ON webhook_event_seen (created_at);
