-- name: WebhookEventsSee :many
-- Records the (distinct) events of a notice and returns those not seen
-- within the window: new ones, and ones last seen before it. A concurrent
-- notice with the same event waits for this one and then finds it seen.
INSERT INTO webhook_event_seen AS s (tenant_id, connection, event, created_at)
SELECT @tenant_id, @connection, e, now() FROM unnest(@events::text[]) AS e
ON CONFLICT (tenant_id, connection, event) DO UPDATE SET created_at = excluded.created_at
    WHERE s.created_at < now() - make_interval(secs => @window_seconds::float8)
RETURNING event;

-- name: WebhookEventsPrune :execrows
DELETE FROM webhook_event_seen WHERE created_at < now() - make_interval(secs => @window_seconds::float8);
