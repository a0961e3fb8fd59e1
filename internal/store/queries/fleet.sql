-- name: SourceBudgetEnsure :one
-- Makes or updates a connection's shared budget with the configured
-- limits: every process does at start. A new bucket starts full; an
-- existing one keeps what is left (refilled to now), within its size,
-- which the source's reported maximum still bounds.
INSERT INTO source_budget AS b (connection, day_limit, minute_limit, write_share, day_cap, minute_cap, day_tokens, minute_tokens)
VALUES (@connection, @day_limit::integer, @minute_limit::integer, @write_share::float8,
        @day_limit::integer, @minute_limit::integer, @day_limit::integer, @minute_limit::integer)
ON CONFLICT (connection) DO UPDATE SET
    day_limit = excluded.day_limit, minute_limit = excluded.minute_limit, write_share = excluded.write_share,
    -- The source's own maximum, once reported, bounds the day as before.
    day_cap = CASE WHEN b.source_max IS NOT NULL AND (excluded.day_limit = 0 OR b.source_max < excluded.day_limit)
                   THEN b.source_max ELSE excluded.day_limit END,
    minute_cap = excluded.minute_limit,
    day_tokens = CASE WHEN b.day_cap <= 0
                      THEN CASE WHEN b.source_max IS NOT NULL AND (excluded.day_limit = 0 OR b.source_max < excluded.day_limit)
                                THEN b.source_max - coalesce(b.source_used, 0) ELSE excluded.day_limit END
                      ELSE least(source_budget_refill(b.day_tokens, b.day_cap, 86400, b.refilled_at),
                                 CASE WHEN b.source_max IS NOT NULL AND (excluded.day_limit = 0 OR b.source_max < excluded.day_limit)
                                      THEN b.source_max ELSE excluded.day_limit END) END,
    minute_tokens = CASE WHEN b.minute_cap <= 0 THEN excluded.minute_cap
                         ELSE least(source_budget_refill(b.minute_tokens, b.minute_cap, 60, b.refilled_at), excluded.minute_limit) END,
    refilled_at = greatest(b.refilled_at, now()),
    updated_at = now()
RETURNING *;

-- name: SourceBudgetTake :one
-- Takes n calls from a connection's shared budget, or none, in one
-- statement: both buckets are refilled for the time passed, and n is taken
-- from both if source_budget_grant says it fits. Every SET expression
-- reads the row version this UPDATE locked, so concurrent takes from any
-- number of processes serialise on the row and none is lost. granted says
-- whether n was taken.
UPDATE source_budget AS b SET
    granted = source_budget_grant(b, sqlc.arg(n)::integer, sqlc.arg(write)::boolean) > 0,
    day_tokens = source_budget_refill(b.day_tokens, b.day_cap, 86400, b.refilled_at)
                 - source_budget_grant(b, sqlc.arg(n)::integer, sqlc.arg(write)::boolean),
    minute_tokens = source_budget_refill(b.minute_tokens, b.minute_cap, 60, b.refilled_at)
                    - source_budget_grant(b, sqlc.arg(n)::integer, sqlc.arg(write)::boolean),
    spent = b.spent + source_budget_grant(b, sqlc.arg(n)::integer, sqlc.arg(write)::boolean),
    refilled_at = greatest(b.refilled_at, now()),
    updated_at = now()
WHERE b.connection = @connection
RETURNING b.granted, b.day_tokens, b.minute_tokens, b.day_cap, b.minute_cap, b.write_share, b.spent;

-- name: SourceBudgetGive :exec
-- Gives back calls taken but not spent (a lease's rest when a process
-- stops, a call the breaker refused before it was sent).
UPDATE source_budget AS b SET
    day_tokens = CASE WHEN b.day_cap > 0 THEN least(b.day_cap, b.day_tokens + @n::integer) ELSE b.day_tokens END,
    minute_tokens = CASE WHEN b.minute_cap > 0 THEN least(b.minute_cap, b.minute_tokens + @n::integer) ELSE b.minute_tokens END,
    spent = greatest(0, b.spent - @n::integer),
    updated_at = now()
WHERE b.connection = @connection;

-- name: SourceBudgetObserve :one
-- Takes the source's own usage report as the truth about the day: with no
-- daily limit of ours, what the source says is left is what is left; with
-- one, the source can only lower it (other clients of the org spend the
-- same calls).
UPDATE source_budget AS b SET
    source_used = sqlc.arg(report_used)::integer, source_max = sqlc.arg(report_max)::integer, source_seen_at = now(),
    day_cap = CASE WHEN b.day_limit > 0 THEN least(b.day_limit, sqlc.arg(report_max)::integer) ELSE sqlc.arg(report_max)::integer END,
    day_tokens = CASE WHEN b.day_limit > 0
                      THEN least(source_budget_refill(b.day_tokens, b.day_cap, 86400, b.refilled_at),
                                 least(b.day_limit, sqlc.arg(report_max)::integer), sqlc.arg(report_max)::integer - sqlc.arg(report_used)::integer)
                      ELSE sqlc.arg(report_max)::integer - sqlc.arg(report_used)::integer END,
    minute_tokens = source_budget_refill(b.minute_tokens, b.minute_cap, 60, b.refilled_at),
    refilled_at = greatest(b.refilled_at, now()),
    updated_at = now()
WHERE b.connection = @connection
RETURNING b.granted, b.day_tokens, b.minute_tokens, b.day_cap, b.minute_cap, b.write_share, b.spent;

-- name: SourceBudgetList :many
-- The fleet's view of every budget, refilled to now.
SELECT connection, day_limit, minute_limit, write_share, day_cap, minute_cap,
       source_budget_refill(day_tokens, day_cap, 86400, refilled_at)::float8 AS day_left,
       source_budget_refill(minute_tokens, minute_cap, 60, refilled_at)::float8 AS minute_left,
       source_used, source_max, source_seen_at, spent
FROM source_budget ORDER BY connection;

-- name: SourceBreakerGet :one
SELECT * FROM source_breaker WHERE connection = @connection;

-- name: SourceBreakerList :many
SELECT * FROM source_breaker ORDER BY connection;

-- name: SourceBreakerTrip :one
-- Records that a process saw the source down: every process stops calling
-- it until open_until. A trip while already open keeps who tripped it
-- first and when, unless it is the failed probe, which opens it anew.
INSERT INTO source_breaker AS s (connection, state, tripped_by, tripped_at, open_until)
VALUES (@connection, 'open', @process::text, now(), now() + make_interval(secs => @open_seconds::float8))
ON CONFLICT (connection) DO UPDATE SET
    state = 'open',
    tripped_by = CASE WHEN s.state = 'open' AND s.probe_by IS DISTINCT FROM @process::text THEN s.tripped_by ELSE excluded.tripped_by END,
    tripped_at = CASE WHEN s.state = 'open' AND s.probe_by IS DISTINCT FROM @process::text THEN s.tripped_at ELSE excluded.tripped_at END,
    open_until = greatest(CASE WHEN s.state = 'open' THEN s.open_until END, excluded.open_until),
    probe_by = NULL, probe_until = NULL, closed_by = NULL, updated_at = now()
RETURNING *;

-- name: SourceBreakerProbe :one
-- Takes the fleet's one probe of an open breaker whose time is up: at most
-- one process holds it at a time, until it reports or probe_until passes.
UPDATE source_breaker AS s SET probe_by = @process::text, probe_until = now() + make_interval(secs => @probe_seconds::float8), updated_at = now()
WHERE s.connection = @connection AND s.state = 'open' AND s.open_until <= now()
  AND (s.probe_until IS NULL OR s.probe_until <= now())
RETURNING *;

-- name: SourceBreakerRelease :exec
-- Gives the probe back unused (the call was never sent).
UPDATE source_breaker AS s SET probe_by = NULL, probe_until = NULL, updated_at = now()
WHERE s.connection = @connection AND s.probe_by = @process::text;

-- name: SourceBreakerClose :one
-- Records that a call succeeded after the breaker opened: every process
-- calls the source again.
UPDATE source_breaker AS s SET state = 'closed', closed_by = @process::text, open_until = NULL, probe_by = NULL, probe_until = NULL, updated_at = now()
WHERE s.connection = @connection AND s.state = 'open'
RETURNING *;
