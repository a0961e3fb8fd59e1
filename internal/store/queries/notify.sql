-- name: NotifyEventsClaim :many
-- The oldest unprocessed events, locked so that two dispatchers share
-- them instead of both taking each.
SELECT * FROM notify_event
WHERE processed_at IS NULL AND (not_before IS NULL OR not_before <= clock_timestamp())
ORDER BY id
LIMIT @max_rows
FOR UPDATE SKIP LOCKED;

-- name: NotifyEventsDone :exec
UPDATE notify_event SET processed_at = clock_timestamp() WHERE id = ANY (@ids::bigint[]);

-- name: NotifyEventInsertOnce :execrows
-- A time-based event (due in N days, a reminder): once per key.
INSERT INTO notify_event (tenant_id, kind, connection, object, source_id, once_key)
VALUES (@tenant_id, @kind, @connection, @object, @source_id, @once_key)
ON CONFLICT (tenant_id, once_key) WHERE once_key IS NOT NULL DO NOTHING;

-- name: NotifyRecordOwner :one
-- The account that owns a record the event is about ('' when none yet).
SELECT coalesce(owner_account, '')::text AS owner_account, hidden, (deleted_at IS NOT NULL)::boolean AS deleted
FROM record
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND source_id = @source_id;

-- name: NotifyCandidates :many
-- The active customer users who might see a record of this account: its
-- own users, and users who see child accounts (the access policy decides
-- which of them really do).
SELECT id, email, coalesce(account_id, '')::text AS account_id, coalesce(contact_id, '')::text AS contact_id,
       roles, see_child_accounts, locale
FROM auth_user
WHERE tenant_id = @tenant_id AND status = 'active' AND NOT staff
  AND (account_id = @account_id OR see_child_accounts)
ORDER BY id;

-- name: NotifyUser :one
SELECT id, email, coalesce(account_id, '')::text AS account_id, coalesce(contact_id, '')::text AS contact_id,
       roles, see_child_accounts, locale
FROM auth_user
WHERE tenant_id = @tenant_id AND id = @id AND status = 'active' AND NOT staff;

-- name: NotifyActorOfRecord :one
-- The portal user whose action last changed a record, if it was applied
-- within the window: that user caused the change and is not told of it.
SELECT user_id FROM action
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object
  AND (target = @source_id OR result_id = @source_id)
  AND state = 'applied' AND applied_at >= @since
ORDER BY id DESC
LIMIT 1;

-- name: NotifyPreferences :many
SELECT event, channel, mode FROM notify_preference WHERE user_id = @user_id;

-- name: NotifyPreferencePut :exec
INSERT INTO notify_preference (user_id, tenant_id, event, channel, mode)
VALUES (@user_id, @tenant_id, @event, @channel, @mode)
ON CONFLICT (user_id, event, channel) DO UPDATE SET mode = excluded.mode, updated_at = now();

-- name: NotifySettingGet :one
SELECT * FROM notify_setting WHERE user_id = @user_id;

-- name: NotifySettingPut :exec
INSERT INTO notify_setting (user_id, tenant_id, time_zone, quiet_start, quiet_end)
VALUES (@user_id, @tenant_id, @time_zone, @quiet_start, @quiet_end)
ON CONFLICT (user_id) DO UPDATE SET time_zone = excluded.time_zone, quiet_start = excluded.quiet_start,
    quiet_end = excluded.quiet_end, updated_at = now();

-- name: NotifyEmailsSince :one
-- How many notices a user was (or is about to be) emailed one by one
-- since an instant: the daily cap counts them.
SELECT count(*) FROM notice WHERE user_id = @user_id AND email IN ('pending', 'sent') AND created_at >= @since;

-- name: NotifyGroupLatest :one
-- The newest notice of a user about one record and kind, locked: a new
-- event folds into it while its email has not left.
SELECT * FROM notice
WHERE user_id = @user_id AND kind = @kind AND object = @object AND source_id = @source_id
ORDER BY id DESC
LIMIT 1
FOR UPDATE;

-- name: NoticeInsert :one
INSERT INTO notice (tenant_id, user_id, kind, connection, object, source_id, title, body, link, inbox, email, send_at)
VALUES (@tenant_id, @user_id, @kind, @connection, @object, @source_id, @title, @body, @link, @inbox, @email, sqlc.narg(send_at))
RETURNING id;

-- name: NoticeFold :exec
-- A later event about the same record: the notice shows the final state.
UPDATE notice SET title = @title, body = @body, link = @link, events = events + 1,
    read_at = NULL, updated_at = clock_timestamp()
WHERE id = @id;

-- name: NoticeEventInsert :execrows
-- The exactly-once key: one notice per recipient and event.
INSERT INTO notice_event (user_id, event_id, notice_id) VALUES (@user_id, @event_id, @notice_id)
ON CONFLICT DO NOTHING;

-- name: NoticeForSend :one
-- The notice a send job delivers, locked for the send: a second attempt
-- waits, then finds it sent.
SELECT n.*, u.email AS user_email, u.locale AS user_locale
FROM notice n JOIN auth_user u ON u.id = n.user_id
WHERE n.id = @id
FOR UPDATE OF n;

-- name: NoticeSent :exec
UPDATE notice SET email = 'sent', sent_at = @sent_at WHERE id = @id;

-- name: NoticeEmailFailed :exec
UPDATE notice SET email = 'failed' WHERE id = @id;

-- name: NoticeInbox :many
SELECT id, kind, object, source_id, title, body, link, events, read_at, created_at, updated_at
FROM notice
WHERE tenant_id = @tenant_id AND user_id = @user_id AND inbox
ORDER BY id DESC
LIMIT @max_rows;

-- name: NoticeUnread :one
SELECT count(*) FROM notice WHERE tenant_id = @tenant_id AND user_id = @user_id AND inbox AND read_at IS NULL;

-- name: NoticeMarkRead :many
-- The notices it marked read (for the reports' opened figure).
UPDATE notice SET read_at = clock_timestamp()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND read_at IS NULL AND inbox
  AND (sqlc.narg(id)::bigint IS NULL OR id = sqlc.narg(id))
RETURNING id;

-- name: NoticeInInbox :one
-- Whether the notice is in the user's inbox (read or not).
SELECT EXISTS (SELECT 1 FROM notice WHERE tenant_id = @tenant_id AND user_id = @user_id AND id = @id AND inbox)::bool;

-- name: NoticeDigestUsers :many
-- Users with notices waiting for their digest.
SELECT DISTINCT n.user_id, n.tenant_id, coalesce(s.time_zone, 'UTC')::text AS time_zone
FROM notice n LEFT JOIN notify_setting s ON s.user_id = n.user_id
WHERE n.email = 'digest';

-- name: NoticeDigestInsert :one
INSERT INTO notice_digest (tenant_id, user_id, day) VALUES (@tenant_id, @user_id, @day)
ON CONFLICT (user_id, day) DO NOTHING
RETURNING id;

-- name: NoticeDigestLock :one
SELECT d.*, u.email AS user_email, u.locale AS user_locale
FROM notice_digest d JOIN auth_user u ON u.id = d.user_id
WHERE d.id = @id
FOR UPDATE OF d;

-- name: NoticeDigestPending :many
SELECT * FROM notice WHERE user_id = @user_id AND email = 'digest' ORDER BY kind, id FOR UPDATE;

-- name: NoticeDigestSent :exec
WITH d AS (
    UPDATE notice_digest SET sent_at = @sent_at, notices = cardinality(@ids::bigint[]) WHERE notice_digest.id = @id RETURNING notice_digest.id
)
UPDATE notice SET email = 'sent', sent_at = @sent_at, digest_id = (SELECT d.id FROM d)
WHERE notice.id = ANY (@ids::bigint[]);

-- name: NotifyWebhooks :many
SELECT * FROM notify_webhook WHERE tenant_id = @tenant_id AND account_id = @account_id AND disabled_at IS NULL ORDER BY id;

-- name: NotifyWebhookGet :one
SELECT * FROM notify_webhook WHERE id = @id;

-- name: NotifyWebhookCreate :one
INSERT INTO notify_webhook (tenant_id, account_id, url, secret) VALUES (@tenant_id, @account_id, @url, @secret)
RETURNING *;

-- name: NotifyWebhookResult :one
-- A delivery's outcome: success resets the failures, a failure counts,
-- and the limit disables the hook with the reason.
UPDATE notify_webhook SET
    failures = CASE WHEN @ok::boolean THEN 0 ELSE failures + 1 END,
    disabled_at = CASE WHEN NOT @ok::boolean AND failures + 1 >= @max_failures::integer THEN clock_timestamp() ELSE disabled_at END,
    disabled_reason = CASE WHEN NOT @ok::boolean AND failures + 1 >= @max_failures::integer THEN @reason::text ELSE disabled_reason END,
    last_delivery_at = clock_timestamp(),
    last_delivery_ok = @ok::boolean,
    last_delivery_error = CASE WHEN @ok::boolean THEN NULL ELSE @reason::text END
WHERE id = @id
RETURNING *;

-- name: NotifyWebhooksOfAccount :many
SELECT * FROM notify_webhook WHERE tenant_id = @tenant_id AND account_id = @account_id ORDER BY id;

-- name: NotifyWebhookDelete :execrows
-- An account's webhook removed by its admin (another account's is no row).
DELETE FROM notify_webhook WHERE tenant_id = @tenant_id AND account_id = @account_id AND id = @id;

-- name: NotifyWebhookEnable :execrows
-- A disabled webhook turned on again by its account's admin, its
-- failures forgotten.
UPDATE notify_webhook SET disabled_at = NULL, disabled_reason = NULL, failures = 0
WHERE tenant_id = @tenant_id AND account_id = @account_id AND id = @id;

-- name: NotifyWebhookOfAccount :one
-- One of an account's webhooks (another account's is no row).
SELECT * FROM notify_webhook WHERE tenant_id = @tenant_id AND account_id = @account_id AND id = @id;

-- name: NotifyWebhookRotate :one
-- A new secret for one of an account's webhooks; deliveries signed from
-- now on use it, and the one it replaces beside it until previous_until.
UPDATE notify_webhook SET secret = @secret, previous_secret = secret, previous_secret_until = @previous_until
WHERE tenant_id = @tenant_id AND account_id = @account_id AND id = @id
RETURNING *;

-- name: NotifyWebhookForgetPrevious :exec
-- A replaced secret whose overlap ended is dropped.
UPDATE notify_webhook SET previous_secret = NULL, previous_secret_until = NULL
WHERE id = @id AND previous_secret_until <= @now;

-- name: NotifyActionMessage :one
-- What the source said about an action, safe to show its customer.
SELECT coalesce(message, '')::text FROM action WHERE id = @id;

-- name: NotifyDueInvoices :many
-- Open invoices due on a day, for "due in N days".
SELECT tenant_id, connection, source_id FROM record
WHERE object = 'invoice' AND deleted_at IS NULL AND NOT hidden AND owner_account IS NOT NULL
  AND status IS DISTINCT FROM 'paid' AND (data->'fields'->>'due_on') = @day::text;

-- name: NotifyOverdueInvoices :many
-- Open invoices that fell due between two days (overdue, told once).
SELECT tenant_id, connection, source_id FROM record
WHERE object = 'invoice' AND deleted_at IS NULL AND NOT hidden AND owner_account IS NOT NULL
  AND status IS DISTINCT FROM 'paid' AND (data->'fields'->>'due_on') >= @from_day::text AND (data->'fields'->>'due_on') < @to_day::text;

-- name: NotifyExpiringApprovals :many
-- Approvals awaiting a decision that expire on a day.
SELECT tenant_id, connection, source_id FROM record
WHERE object = 'approval_request' AND deleted_at IS NULL AND NOT hidden AND owner_account IS NOT NULL
  AND status = 'pending' AND (data->'fields'->>'expires_on') = @day::text;

-- name: NotifyUserTenant :one
SELECT tenant_id FROM auth_user WHERE id = @id;

-- name: NotifyEventPostpone :exec
UPDATE notify_event SET not_before = clock_timestamp() + make_interval(secs => @seconds::double precision) WHERE id = @id;

-- name: NotifyOpenCommentAction :one
-- Whether a portal user's comment on a case is still on its way: a
-- comment arriving meanwhile may be that one, whose author is then known
-- only once the action records its outcome.
SELECT EXISTS (
    SELECT 1 FROM action
    WHERE tenant_id = @tenant_id AND connection = @connection AND object = 'case_comment'
      AND state IN ('pending', 'sending') AND input->>'case_id' = @case_id::text
)::boolean;

-- name: NotifyTryLockUser :one
-- Serialises the dispatchers' work for one recipient until the
-- transaction ends: the daily cap counts, and a record's repeats fold,
-- as if one dispatcher ran. It never waits: false when another
-- dispatcher holds the recipient, whose event then waits for a later
-- pass. (Waiting here deadlocked two dispatchers whose batches share
-- recipients in a different order.)
SELECT pg_try_advisory_xact_lock(hashtext('portico_notify_user'), mod(@user_id::bigint, 2147483647)::int)::boolean;

-- name: NoticeClickTarget :one
-- A notice's link, its user and tenant, for a click on its mail's link.
SELECT n.id, n.tenant_id, n.user_id, n.link FROM notice n WHERE n.id = @id;

-- name: NotifyWebhooksInClear :many
-- Webhooks whose secret is not sealed yet (added before
-- secrets.encryption_key was set, or before secrets were sealed).
SELECT id, tenant_id, account_id, secret FROM notify_webhook WHERE secret NOT LIKE 'sealed:%' ORDER BY id;

-- name: NotifyWebhookSealSecret :execrows
-- A webhook's secret replaced by its sealed form, unless it changed since
-- it was read (a rotation, another process sealing it).
UPDATE notify_webhook SET secret = @sealed WHERE id = @id AND secret = @clear;
