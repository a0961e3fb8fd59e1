-- One call budget per connection, shared by every Portico process: a token
-- bucket per window (a rolling day and a minute), refilled from the time
-- passed since refilled_at, so no process needs to run a clock for it.
-- Every source call takes a token with one UPDATE (SourceBudgetTake), or a
-- process leases a small batch of them at once (sync.quota_lease).
-- Background reads stop at write_share of each bucket: the rest is kept for
-- customer writes. The source's own usage report (Salesforce's
-- Sforce-Limit-Info: api-usage=used/max over its rolling 24 h, counting
-- every client of the org) is the truth when it arrives: it sets what is
-- left of the day (SourceBudgetObserve).
CREATE TABLE source_budget (
    connection     text PRIMARY KEY,
    -- The configured limits (quota.per_day, quota.per_minute; 0: none).
    day_limit      integer NOT NULL CHECK (day_limit >= 0),
    minute_limit   integer NOT NULL CHECK (minute_limit >= 0),
    write_share    float8  NOT NULL CHECK (write_share >= 0 AND write_share < 1),
    -- The bucket sizes in force: day_cap is day_limit, or the source's own
    -- daily maximum when that is lower or no limit is configured; 0: no
    -- bucket.
    day_cap        float8  NOT NULL,
    minute_cap     float8  NOT NULL,
    day_tokens     float8  NOT NULL,
    minute_tokens  float8  NOT NULL,
    refilled_at    timestamptz NOT NULL DEFAULT now(),
    -- The source's last report and when it came.
    source_used    integer,
    source_max     integer,
    source_seen_at timestamptz,
    -- Calls taken by every process since the row was made (a counter for
    -- metrics and /admin/sync), and whether the last take was granted
    -- (read back by the take's RETURNING).
    spent          bigint  NOT NULL DEFAULT 0,
    granted        boolean NOT NULL DEFAULT true,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- A bucket's level after refilling for the time since it was last
-- refilled: a full bucket refills in period_s.
CREATE FUNCTION source_budget_refill(tokens float8, cap float8, period_s float8, since timestamptz)
RETURNS float8 LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN cap <= 0 THEN 0
                ELSE least(cap, tokens + greatest(0, extract(epoch FROM now() - since)) * cap / period_s) END
$$;

-- Whether n tokens fit in a bucket without going below keep (a share of
-- its size). A bucket of size 0 is no limit.
CREATE FUNCTION source_budget_fits(tokens float8, cap float8, n float8, keep float8)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT cap <= 0 OR tokens - n >= cap * keep
$$;

-- How many of n calls a take grants from a budget row: n if they fit in
-- both buckets, refilled to now, above what is kept (write_share of each
-- for reads, nothing for writes), else 0. A take's UPDATE asks it of the
-- row version it locked, so concurrent takes serialise on the row.
CREATE FUNCTION source_budget_grant(b source_budget, n integer, write boolean)
RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN source_budget_fits(source_budget_refill(b.day_tokens, b.day_cap, 86400, b.refilled_at),
                                        b.day_cap, n, CASE WHEN write THEN 0 ELSE b.write_share END)
                 AND source_budget_fits(source_budget_refill(b.minute_tokens, b.minute_cap, 60, b.refilled_at),
                                        b.minute_cap, n, CASE WHEN write THEN 0 ELSE b.write_share END)
                THEN n ELSE 0 END
$$;
