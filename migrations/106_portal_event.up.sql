-- Portal events the reports need and nothing else records: sign-ins,
-- knowledge article views, status lookups (a customer reading a record's
-- status instead of asking staff) and notification engagement. Rows are
-- written in batches off the request path (internal/reports.Recorder);
-- losing a few under overload skews a ratio, never a customer's data.
-- user_id is auth_user's id; NULL once the user is erased (the count of
-- events stays, the person does not).
CREATE TABLE portal_event (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  bigint      NOT NULL REFERENCES tenant (id),
    kind       text        NOT NULL CHECK (kind IN ('sign_in', 'knowledge_view', 'status_lookup',
                                                    'notification_sent', 'notification_opened', 'notification_clicked')),
    user_id    bigint      REFERENCES auth_user (id) ON DELETE SET NULL,
    -- The CRM account the user acted for; '' for staff and anonymous.
    account_id text        NOT NULL DEFAULT '',
    -- What the event is about: the portal object and record id, the
    -- article id, or the notification id.
    object     text        NOT NULL DEFAULT '',
    subject    text        NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT statement_timestamp()
);

CREATE INDEX portal_event_report_idx ON portal_event (tenant_id, kind, at);
CREATE INDEX portal_event_user_idx ON portal_event (user_id) WHERE user_id IS NOT NULL;

-- Active users per day and account in the day, the 7 days and the 30
-- days ending with it (internal/store/queries/report.sql calls it; the
-- query is a function because sqlc cannot type its day-window join).
-- Active: a portal event of the user's (sign-in, view, lookup,
-- notification opened or clicked) or an action they submitted.
CREATE FUNCTION report_active_users(tenant bigint, from_day date, until_day date, account text)
RETURNS TABLE (day date, account_id text, daily bigint, weekly bigint, monthly bigint)
LANGUAGE sql STABLE AS $$
SELECT (from_day + g.n)::date AS day, act.account_id::text AS account_id,
    count(DISTINCT CASE WHEN act.day = from_day + g.n THEN act.user_id END)::bigint AS daily,
    count(DISTINCT CASE WHEN act.day > from_day + g.n - 7 THEN act.user_id END)::bigint AS weekly,
    count(DISTINCT act.user_id)::bigint AS monthly
FROM (
    SELECT e.user_id, e.account_id, (e.at AT TIME ZONE 'UTC')::date AS day
    FROM portal_event e
    WHERE e.tenant_id = tenant AND e.user_id IS NOT NULL AND e.account_id <> '' AND e.kind <> 'notification_sent'
      AND e.at >= (from_day - 29)::timestamp AT TIME ZONE 'UTC' AND e.at < until_day::timestamp AT TIME ZONE 'UTC'
    UNION ALL
    SELECT a.user_id::bigint, a.account_id, (a.created_at AT TIME ZONE 'UTC')::date
    FROM action a
    WHERE a.tenant_id = tenant AND a.user_id ~ '^[0-9]+$'
      AND a.created_at >= (from_day - 29)::timestamp AT TIME ZONE 'UTC' AND a.created_at < until_day::timestamp AT TIME ZONE 'UTC'
) AS act
JOIN generate_series(0, (until_day - from_day) - 1) AS g (n) ON act.day > from_day + g.n - 30 AND act.day <= from_day + g.n
WHERE account = '' OR act.account_id = account
GROUP BY g.n, act.account_id
ORDER BY g.n, act.account_id;
$$;
