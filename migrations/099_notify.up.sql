-- Notifications (internal/notify). Events are derived, by triggers, from
-- what the cache and the actions already see, in the transaction that
-- changed them: a change the cache commits can never lose its event, and
-- no source is called to find one. notify_event is the outbox; the
-- dispatcher turns each event into notices for the users who may see its
-- record (the access policy decides, as for reads), each notice committed
-- with its River job.
CREATE TABLE notify_event (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint      NOT NULL REFERENCES tenant (id),
    -- case_status, case_comment, order_shipped, invoice_issued,
    -- invoice_due, invoice_overdue, approval_requested, approval_reminder,
    -- action_applied, action_conflict, action_failed, file_ready
    kind        text        NOT NULL,
    connection  text        NOT NULL,
    object      text        NOT NULL, -- the portal object the notice is about
    source_id   text        NOT NULL, -- the record the notice is about
    -- The record that changed when it is a child (a comment under a case).
    child_id    text,
    action_id   bigint,               -- action events: the action
    actor_user  bigint,               -- the portal user who caused it, when known
    -- Time-based events (due in N days, reminders) happen once per key.
    once_key    text,
    -- An event whose cause is not settled yet (a comment whose portal
    -- action has not recorded its outcome) waits until then.
    not_before  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at timestamptz
);
CREATE INDEX notify_event_todo_idx ON notify_event (id) WHERE processed_at IS NULL;
CREATE UNIQUE INDEX notify_event_once_idx ON notify_event (tenant_id, once_key) WHERE once_key IS NOT NULL;

-- A notice: one recipient told about one record, in the inbox and, as the
-- preferences say, by email now, in the daily digest, or not at all.
-- Events about the same record and kind that arrive before the email
-- leaves fold into one notice (de-duplication), which the sender renders
-- in its final state.
CREATE TABLE notice (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint      NOT NULL REFERENCES tenant (id),
    user_id     bigint      NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
    kind        text        NOT NULL,
    connection  text        NOT NULL,
    object      text        NOT NULL,
    source_id   text        NOT NULL,
    title       text        NOT NULL,
    body        text        NOT NULL DEFAULT '',
    link        text        NOT NULL DEFAULT '',
    events      integer     NOT NULL DEFAULT 1,
    inbox       boolean     NOT NULL DEFAULT true,
    -- none: not by email; pending: its send job is queued (send_at);
    -- digest: waits for the daily digest; sent; failed.
    email       text        NOT NULL CHECK (email IN ('none', 'pending', 'digest', 'sent', 'failed')),
    send_at     timestamptz,
    sent_at     timestamptz,
    digest_id   bigint,
    read_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX notice_inbox_idx ON notice (user_id, id DESC) WHERE inbox;
CREATE INDEX notice_unread_idx ON notice (user_id) WHERE inbox AND read_at IS NULL;
CREATE INDEX notice_group_idx ON notice (user_id, kind, object, source_id, id DESC);
CREATE INDEX notice_digest_idx ON notice (user_id) WHERE email = 'digest';
CREATE INDEX notice_day_idx ON notice (user_id, created_at);

-- Exactly once per recipient and event: the key no retry can repeat.
CREATE TABLE notice_event (
    user_id   bigint NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
    event_id  bigint NOT NULL REFERENCES notify_event (id) ON DELETE CASCADE,
    notice_id bigint NOT NULL REFERENCES notice (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, event_id)
);

-- One digest mail per user and local day.
CREATE TABLE notice_digest (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenant (id),
    user_id   bigint NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
    day       date   NOT NULL,
    notices   integer NOT NULL DEFAULT 0,
    sent_at   timestamptz,
    UNIQUE (user_id, day)
);

-- Per user, event and channel: immediate, digest or off. No row: the
-- rule's default.
CREATE TABLE notify_preference (
    user_id   bigint NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
    tenant_id bigint NOT NULL REFERENCES tenant (id),
    event     text   NOT NULL,
    channel   text   NOT NULL CHECK (channel IN ('email', 'inbox')),
    mode      text   NOT NULL CHECK (mode IN ('immediate', 'digest', 'off')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, event, channel)
);

-- Per user: time zone and quiet hours (minutes after local midnight;
-- equal start and end: none).
CREATE TABLE notify_setting (
    user_id     bigint   PRIMARY KEY REFERENCES auth_user (id) ON DELETE CASCADE,
    tenant_id   bigint   NOT NULL REFERENCES tenant (id),
    time_zone   text     NOT NULL DEFAULT 'UTC',
    quiet_start smallint NOT NULL DEFAULT 0 CHECK (quiet_start BETWEEN 0 AND 1439),
    quiet_end   smallint NOT NULL DEFAULT 0 CHECK (quiet_end BETWEEN 0 AND 1439),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Signed outbound webhooks per account.
CREATE TABLE notify_webhook (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenant (id),
    account_id  text   NOT NULL,
    url         text   NOT NULL CHECK (url ~ '^https?://'),
    secret      text   NOT NULL CHECK (length(secret) >= 16),
    failures    integer NOT NULL DEFAULT 0,
    disabled_at timestamptz,
    disabled_reason text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, account_id, url)
);

-- notify_record_insert: a record that arrives after its object's first
-- successful sync (an initial load tells nobody anything).
CREATE FUNCTION notify_synced_before(t bigint, conn text, src_object text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM sync_cursor c WHERE c.tenant_id = t AND c.connection = conn
                   AND c.object = src_object AND c.last_success_at IS NOT NULL)
$$;

CREATE FUNCTION notify_record_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notify_event (tenant_id, kind, connection, object, source_id, child_id)
    SELECT n.tenant_id,
           CASE n.object WHEN 'case_comment' THEN 'case_comment'
                         WHEN 'invoice' THEN 'invoice_issued'
                         WHEN 'approval_request' THEN 'approval_requested' END,
           n.connection,
           CASE WHEN n.object = 'case_comment' THEN 'case' ELSE n.object END,
           CASE WHEN n.object = 'case_comment' THEN n.owner_parent_id ELSE n.source_id END,
           CASE WHEN n.object = 'case_comment' THEN n.source_id END
    FROM notify_added n
    WHERE n.object IN ('case_comment', 'invoice', 'approval_request')
      AND NOT n.hidden AND n.deleted_at IS NULL
      AND n.source_id NOT LIKE 'pending:%'
      AND (n.object <> 'case_comment' OR n.owner_parent_id IS NOT NULL)
      AND (n.object <> 'approval_request' OR n.status = 'pending')
      AND notify_synced_before(n.tenant_id, n.connection, n.source_object);
    RETURN NULL;
END
$$;
CREATE TRIGGER record_notify_insert AFTER INSERT ON record
    REFERENCING NEW TABLE AS notify_added
    FOR EACH STATEMENT EXECUTE FUNCTION notify_record_insert();

-- Updates: a status the source confirmed, a shipment that left, an
-- approval presented (hidden while drafted, then shown).
CREATE FUNCTION notify_record_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind text;
BEGIN
    IF NEW.hidden OR NEW.deleted_at IS NOT NULL OR NEW.source_id LIKE 'pending:%' THEN
        RETURN NULL;
    END IF;
    IF NEW.object = 'case' AND OLD.status IS DISTINCT FROM NEW.status AND OLD.status IS NOT NULL THEN
        kind := 'case_status';
    ELSIF NEW.object = 'approval_request' AND NEW.status = 'pending'
          AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.hidden) THEN
        kind := 'approval_requested';
    ELSIF NEW.object = 'order'
          AND jsonb_array_length(coalesce(jsonb_path_query_array(NEW.data, '$.fields.shipments[*] ? (@.status == "shipped")'), '[]'))
            > jsonb_array_length(coalesce(jsonb_path_query_array(OLD.data, '$.fields.shipments[*] ? (@.status == "shipped")'), '[]')) THEN
        kind := 'order_shipped';
    ELSIF NEW.object = 'invoice' AND OLD.hidden THEN
        kind := 'invoice_issued';
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO notify_event (tenant_id, kind, connection, object, source_id)
    VALUES (NEW.tenant_id, kind, NEW.connection, NEW.object, NEW.source_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER record_notify_update AFTER UPDATE ON record
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.data IS DISTINCT FROM NEW.data
                       OR OLD.hidden IS DISTINCT FROM NEW.hidden)
    EXECUTE FUNCTION notify_record_update();

-- A customer's action reached its outcome.
CREATE FUNCTION notify_action_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notify_event (tenant_id, kind, connection, object, source_id, action_id, actor_user)
    VALUES (NEW.tenant_id, 'action_' || NEW.state, NEW.connection, NEW.object,
            coalesce(NEW.result_id, NEW.target), NEW.id,
            CASE WHEN NEW.user_id ~ '^[0-9]{1,18}$' THEN NEW.user_id::bigint END);
    RETURN NULL;
END
$$;
CREATE TRIGGER action_notify AFTER UPDATE OF state ON action
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state AND NEW.state IN ('applied', 'conflict', 'failed'))
    EXECUTE FUNCTION notify_action_update();

-- A file finished its scan and may be downloaded.
CREATE FUNCTION notify_file_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notify_event (tenant_id, kind, connection, object, source_id, child_id, actor_user)
    VALUES (NEW.tenant_id, 'file_ready', NEW.connection, NEW.object, NEW.record_id, NEW.id::text,
            CASE WHEN NEW.uploaded_by ~ '^[0-9]{1,18}$' THEN NEW.uploaded_by::bigint END);
    RETURN NULL;
END
$$;
CREATE TRIGGER file_notify AFTER UPDATE OF state ON file
    FOR EACH ROW WHEN (OLD.state = 'scanning' AND NEW.state IN ('clean', 'unscanned'))
    EXECUTE FUNCTION notify_file_update();
CREATE TRIGGER file_notify_insert AFTER INSERT ON file
    FOR EACH ROW WHEN (NEW.state IN ('clean', 'unscanned'))
    EXECUTE FUNCTION notify_file_update();

-- The dispatcher wakes on new events.
CREATE FUNCTION notify_event_wake() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('portico_notify', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER notify_event_wake AFTER INSERT ON notify_event
    FOR EACH STATEMENT EXECUTE FUNCTION notify_event_wake();
