-- The reports (internal/reports, docs/reports.md): figures per day (UTC)
-- and per account over what Portico records. Every query takes the
-- tenant, a day range [from_day, until_day) and an account (empty for all
-- accounts) and answers one row per day and account that has any figure.

-- name: PortalEventInsert :exec
-- A batch of portal events in one statement (reports.Recorder).
INSERT INTO portal_event (tenant_id, kind, user_id, account_id, object, subject, at)
SELECT @tenant_id::bigint, unnest(@kinds::text[]), nullif(unnest(@user_ids::bigint[]), 0),
    unnest(@account_ids::text[]), unnest(@objects::text[]), unnest(@subjects::text[]), unnest(@ats::timestamptz[]);

-- name: ReportActivation :many
-- Invited users by the day of their first invitation, and how many of
-- them activated (set a password or signed in with single sign-on).
WITH invited AS (
    SELECT u.id, u.account_id,
        (min(t.created_at) AT TIME ZONE 'UTC')::date AS day,
        bool_or(u.status <> 'invited' AND (u.password_hash IS NOT NULL OR u.last_login_at IS NOT NULL)) AS activated
    FROM auth_user u JOIN auth_user_token t ON t.user_id = u.id AND t.purpose = 'invitation'
    WHERE u.tenant_id = @tenant_id AND NOT u.staff
      AND (@account::text = '' OR u.account_id = @account::text)
    GROUP BY u.id, u.account_id
)
SELECT day, account_id::text AS account_id,
    count(*)::bigint AS invited,
    count(*) FILTER (WHERE activated)::bigint AS activated
FROM invited
WHERE day >= @from_day::date AND day < @until_day::date
GROUP BY day, account_id
ORDER BY day, account_id;

-- name: ReportActiveUsers :many
-- Distinct customer users active on the day, in the 7 days and in the 30
-- days ending with it (the function report_active_users, migration 106).
SELECT r.day::date AS day, r.account_id::text AS account_id, r.daily::bigint AS daily,
    r.weekly::bigint AS weekly, r.monthly::bigint AS monthly
FROM report_active_users(@tenant_id::bigint, @from_day::date, @until_day::date, @account::text) AS r;

-- name: ReportWorkflow :many
-- One workflow (an object, the statuses that end it): its records by the
-- day they started, how many reached an end status, and the median time
-- to it. Start: the record's creation in the source (the mapped
-- created_at or issued_on (a date, taken as UTC midnight), else the source's CreatedDate or
-- MetaData.CreateTime). End: the first status change into an end status
-- in the history (record_status_change), or, for a record first seen
-- already ended, its source modification time.
WITH flow AS (
    SELECT coalesce(r.owner_account, '') AS account_id,
        coalesce((r.data->>'created_at')::timestamptz, (r.data->>'issued_on')::date::timestamp AT TIME ZONE 'UTC',
            (r.raw->>'CreatedDate')::timestamptz, (r.raw#>>'{MetaData,CreateTime}')::timestamptz) AS started,
        coalesce(
            (SELECT min(c.at) FROM record_status_change c
             WHERE c.tenant_id = r.tenant_id AND c.connection = r.connection AND c.object = r.object
               AND c.source_id = r.source_id AND c.status = ANY (@end_statuses::text[])),
            CASE WHEN r.status = ANY (@end_statuses::text[]) THEN r.source_modified END
        ) AS ended
    FROM record r
    WHERE r.tenant_id = @tenant_id AND r.object = @object AND r.deleted_at IS NULL AND NOT r.hidden
      AND (@account::text = '' OR r.owner_account = @account::text)
), days AS (
    SELECT account_id, (started AT TIME ZONE 'UTC')::date AS day, ended - started AS took
    FROM flow WHERE started IS NOT NULL
)
SELECT day, account_id::text AS account_id,
    count(*)::bigint AS started,
    count(took)::bigint AS completed,
    coalesce(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY took)), 0)::float8 AS median_seconds
FROM days
WHERE day >= @from_day::date AND day < @until_day::date
GROUP BY day, account_id
ORDER BY day, account_id;

-- name: ReportSelfService :many
-- Knowledge views and status lookups against cases opened, per day and
-- account (the deflection estimate, docs/reports.md).
WITH ev AS (
    SELECT (e.at AT TIME ZONE 'UTC')::date AS day, e.account_id, e.kind
    FROM portal_event e
    WHERE e.tenant_id = @tenant_id AND e.kind IN ('knowledge_view', 'status_lookup') AND e.account_id <> ''
      AND e.at >= @from_at::timestamptz AND e.at < @until_at::timestamptz
    UNION ALL
    SELECT (coalesce(r.data->>'created_at', r.raw->>'CreatedDate')::timestamptz AT TIME ZONE 'UTC')::date, r.owner_account, 'case_opened'
    FROM record r
    WHERE r.tenant_id = @tenant_id AND r.object = 'case' AND r.deleted_at IS NULL AND NOT r.hidden AND r.owner_account IS NOT NULL
)
SELECT day, account_id::text AS account_id,
    count(*) FILTER (WHERE kind = 'knowledge_view')::bigint AS knowledge_views,
    count(*) FILTER (WHERE kind = 'status_lookup')::bigint AS status_lookups,
    count(*) FILTER (WHERE kind = 'case_opened')::bigint AS cases_opened
FROM ev
WHERE day >= @from_day::date AND day < @until_day::date
  AND (@account::text = '' OR account_id = @account::text)
GROUP BY day, account_id
ORDER BY day, account_id;

-- name: ReportNotifications :many
-- Notices sent, opened and clicked (the notify package emits them as
-- portal events), per day and account; each notice counts once per kind.
SELECT (e.at AT TIME ZONE 'UTC')::date AS day, e.account_id::text AS account_id,
    count(DISTINCT e.subject) FILTER (WHERE e.kind = 'notification_sent')::bigint AS sent,
    count(DISTINCT e.subject) FILTER (WHERE e.kind = 'notification_opened')::bigint AS opened,
    count(DISTINCT e.subject) FILTER (WHERE e.kind = 'notification_clicked')::bigint AS clicked
FROM portal_event e
WHERE e.tenant_id = @tenant_id AND e.kind IN ('notification_sent', 'notification_opened', 'notification_clicked')
  AND e.at >= @from_at::timestamptz AND e.at < @until_at::timestamptz
  AND (@account::text = '' OR e.account_id = @account::text)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: ReportWriteback :many
-- Customer actions by the day they were accepted: how many were applied,
-- are in conflict or failed, and the p50 and p99 time from acceptance to
-- applied.
SELECT (a.created_at AT TIME ZONE 'UTC')::date AS day, a.account_id::text AS account_id,
    count(*)::bigint AS submitted,
    count(*) FILTER (WHERE a.state = 'applied')::bigint AS applied,
    count(*) FILTER (WHERE a.state = 'conflict')::bigint AS conflict,
    count(*) FILTER (WHERE a.state = 'failed')::bigint AS failed,
    coalesce(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY a.applied_at - a.created_at)
        FILTER (WHERE a.state = 'applied' AND a.applied_at IS NOT NULL)), 0)::float8 AS p50_seconds,
    coalesce(extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY a.applied_at - a.created_at)
        FILTER (WHERE a.state = 'applied' AND a.applied_at IS NOT NULL)), 0)::float8 AS p99_seconds
FROM action a
WHERE a.tenant_id = @tenant_id
  AND a.created_at >= @from_at::timestamptz AND a.created_at < @until_at::timestamptz
  AND (@account::text = '' OR a.account_id = @account::text)
GROUP BY 1, 2
ORDER BY 1, 2;
