-- GDPR access, erasure and retention (internal/privacy, migration 101).

-- name: AuditSubjectKeyGet :one
SELECT key FROM audit_subject_key WHERE tenant_id = @tenant_id AND subject = @subject;

-- name: AuditSubjectKeyCreate :many
-- The subject's first key; none when another transaction made it first
-- (this one waits for that one to end, then reads it with Get).
INSERT INTO audit_subject_key (tenant_id, subject, key)
VALUES (@tenant_id, @subject, @key)
ON CONFLICT (tenant_id, subject) DO NOTHING
RETURNING key;

-- name: AuditSubjectKeys :many
SELECT subject, key FROM audit_subject_key WHERE tenant_id = @tenant_id AND subject = ANY(@subjects::text[]);

-- name: AuditSubjectKeyDestroy :execrows
-- Crypto-shredding: the subject's audit fields no longer open.
DELETE FROM audit_subject_key WHERE tenant_id = @tenant_id AND subject = ANY(@subjects::text[]);

-- name: AuditBySubject :many
-- The events about a person: sealed under one of their subjects, or
-- acted by them, or about their user.
SELECT id, seq, occurred_at, actor, actor_kind, account_id, ip, user_agent, action, object, object_id,
       before, after, request_id
FROM audit_event
WHERE tenant_id = @tenant_id
  AND ((after ? 'sealed_v1' OR before ? 'sealed_v1')
        AND coalesce(after -> 'sealed_v1' ->> 'subject', before -> 'sealed_v1' ->> 'subject') = ANY(@subjects::text[])
       OR (actor_kind = 'user' AND actor = @user_id::text)
       OR (object = 'user' AND object_id = @user_id::text))
ORDER BY id;

-- name: PrivacyRecord :one
SELECT connection, object, source_id, source_object, data, raw, synced_at FROM record
WHERE tenant_id = @tenant_id AND object = @object AND source_id = @source_id AND deleted_at IS NULL
LIMIT 1;

-- name: PrivacyRecordsByContact :many
SELECT connection, object, source_id, data, synced_at FROM record
WHERE tenant_id = @tenant_id AND object = @object AND owner_contact = @contact_id AND deleted_at IS NULL
ORDER BY connection, source_id;

-- name: PrivacyRecordsByParent :many
SELECT connection, object, source_id, data, synced_at FROM record
WHERE tenant_id = @tenant_id AND object = @object AND owner_parent_id = ANY(@parent_ids::text[]) AND deleted_at IS NULL
ORDER BY connection, source_id;

-- name: PrivacyRecordsMentioning :many
-- Cached records whose data or raw payload holds one of the needles.
-- A scan of the tenant's cache: erasures are rare.
SELECT connection, object, source_id, owner_account, data, raw FROM record r
WHERE r.tenant_id = @tenant_id
  AND EXISTS (SELECT 1 FROM unnest(@needles::text[]) n
              WHERE strpos(r.data::text, n) > 0 OR strpos(r.raw::text, n) > 0);

-- name: PrivacyRecordRewrite :exec
UPDATE record SET data = @data, raw = @raw
WHERE tenant_id = @tenant_id AND connection = @connection AND object = @object AND source_id = @source_id;

-- name: PrivacyActionsByUser :many
SELECT id, kind, connection, object, op, target, input, state, message, result_id, created_at, updated_at, applied_at
FROM action WHERE tenant_id = @tenant_id AND user_id = @user_id::text ORDER BY id;

-- name: PrivacyActionsErase :execrows
-- The person's input leaves their actions; what was done, when and with
-- what outcome stays. An action not yet sent is withdrawn: there is no
-- input left to send.
UPDATE action SET
    input = jsonb_build_object('erased', @pseudonym::text),
    prior_data = NULL,
    conflict = NULL,
    actor_refs = '{}',
    contact_id = '',
    error_detail = NULL,
    state = CASE WHEN state IN ('pending', 'sending', 'conflict') THEN 'failed' ELSE state END,
    message = CASE WHEN state IN ('pending', 'sending', 'conflict') THEN 'withdrawn: the requester''s data was erased' ELSE message END,
    updated_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id::text;

-- name: PrivacySessionsByUser :many
SELECT id, method, ip, user_agent, created_at FROM auth_session WHERE user_id = @user_id ORDER BY id;

-- name: PrivacyAPITokensByUser :many
SELECT id, name, scopes, expires_at, revoked_at, last_used_at, created_at FROM auth_api_token WHERE user_id = @user_id ORDER BY id;

-- name: PrivacyUserErase :exec
-- The user row stays, as the pseudonym that actions, files and audit
-- events name by id; nothing in it says who the person was.
UPDATE auth_user SET email = @pseudonym, password_hash = NULL, contact_id = NULL, status = 'disabled',
    last_login_at = NULL, locale = '', updated_at = now()
WHERE id = @id;

-- name: PrivacyUserTokensErase :execrows
DELETE FROM auth_user_token WHERE user_id = @user_id;

-- name: PrivacyAPITokensErase :execrows
DELETE FROM auth_api_token WHERE user_id = @user_id;

-- name: PrivacyLoginFailuresErase :execrows
-- The throttles' keys that name the address (email:..., reset:...).
DELETE FROM auth_login_failure
WHERE tenant_id = @tenant_id AND substring(key FROM position(':' IN key) + 1) = @email::text;

-- name: PrivacyConsentsErase :execrows
DELETE FROM notification_preference WHERE user_id = @user_id;

-- name: PrivacyFilesByUploader :many
SELECT * FROM file WHERE tenant_id = @tenant_id AND uploaded_by = @user_id::text ORDER BY id;

-- name: PrivacyFilesErase :execrows
DELETE FROM file WHERE tenant_id = @tenant_id AND uploaded_by = @user_id::text;

-- name: PrivacyExportInsert :one
INSERT INTO privacy_export (tenant_id, user_id, requested_by, token_hash, expires_at)
VALUES (@tenant_id, @user_id, @requested_by, @token_hash, @expires_at)
RETURNING id;

-- name: PrivacyExportGet :one
SELECT id, tenant_id, user_id, requested_by, state, size, error, created_at, ready_at, expires_at, downloaded_at
FROM privacy_export WHERE id = @id;

-- name: PrivacyExportReady :exec
UPDATE privacy_export SET state = 'ready', zip = @zip::bytea, size = octet_length(@zip::bytea), ready_at = now()
WHERE id = @id AND state = 'pending';

-- name: PrivacyExportFailed :exec
UPDATE privacy_export SET state = 'failed', error = @error WHERE id = @id AND state = 'pending';

-- name: PrivacyExportTake :one
-- The one download: the archive is handed out once and dropped.
UPDATE privacy_export e SET state = 'downloaded', zip = NULL, downloaded_at = now()
FROM (SELECT x.id, x.zip FROM privacy_export x
      WHERE x.tenant_id = @tenant_id AND x.user_id = @user_id AND x.token_hash = @token_hash
        AND x.state = 'ready' AND x.expires_at > now()
      FOR UPDATE) old
WHERE e.id = old.id
RETURNING e.id, e.user_id, old.zip;

-- name: PrivacyExportsByUser :many
SELECT id, state, size, created_at, ready_at, expires_at, downloaded_at
FROM privacy_export WHERE tenant_id = @tenant_id AND user_id = @user_id ORDER BY id DESC LIMIT 5;

-- name: PrivacyExportsErase :execrows
DELETE FROM privacy_export WHERE tenant_id = @tenant_id AND user_id = @user_id;

-- name: PrivacyErasureInsert :one
INSERT INTO privacy_erasure (tenant_id, user_id, pseudonym, reason, requested_by)
VALUES (@tenant_id, sqlc.narg(user_id), @pseudonym, @reason, @requested_by)
RETURNING id, created_at;

-- name: PrivacyErasureReport :exec
UPDATE privacy_erasure SET report = @report WHERE id = @id;

-- name: PrivacySourceRequestInsert :exec
INSERT INTO privacy_source_request (tenant_id, erasure_id, connection, object, source_id, state, detail)
VALUES (@tenant_id, @erasure_id, @connection, @object, @source_id, @state, sqlc.narg(detail));

-- name: PrivacySourceRequestsOpen :many
SELECT r.id, r.erasure_id, r.connection, r.object, r.source_id, r.state, r.detail, r.created_at, e.pseudonym
FROM privacy_source_request r JOIN privacy_erasure e ON e.id = r.erasure_id
WHERE r.tenant_id = @tenant_id AND r.state <> 'done'
ORDER BY r.id;

-- name: PrivacySuppress :exec
INSERT INTO privacy_suppressed_record (tenant_id, connection, object, source_id, erasure_id)
VALUES (@tenant_id, @connection, @object, @source_id, @erasure_id)
ON CONFLICT DO NOTHING;

-- name: PrivacyPurgeSessions :execrows
DELETE FROM auth_session WHERE created_at < @before;

-- name: PrivacyPurgeWebSessions :execrows
DELETE FROM auth_web_session WHERE expiry < @before;

-- name: PrivacyPurgeActions :execrows
-- Settled actions older than the period; open ones stay whatever their age.
DELETE FROM action WHERE updated_at < @before AND state IN ('applied', 'failed', 'rejected');

-- name: PrivacyPurgeFiles :execrows
-- Files the source has held for longer than the period (and quarantined
-- files of that age): the source keeps the copy.
DELETE FROM file WHERE created_at < @before AND (synced_at IS NOT NULL OR state = 'quarantined');

-- name: PrivacyPurgeExports :execrows
DELETE FROM privacy_export WHERE expires_at < now() OR (state IN ('downloaded', 'failed') AND created_at < now() - interval '1 day');

-- name: PrivacyPurgeAuditKeys :execrows
-- Audit retention by crypto-shredding: a subject whose last event is
-- older than the period loses its key, so the events it sealed stay in
-- the chain (which still verifies) and no longer open. A subject with
-- no event at all (a key made in a transaction that rolled back) goes
-- once it is older than the period too.
DELETE FROM audit_subject_key k
WHERE k.created_at < @before
  AND NOT EXISTS (SELECT 1 FROM audit_event e
                  WHERE e.tenant_id = k.tenant_id AND e.occurred_at >= @before
                    AND (e.after ? 'sealed_v1' OR e.before ? 'sealed_v1')
                    AND coalesce(e.after -> 'sealed_v1' ->> 'subject', e.before -> 'sealed_v1' ->> 'subject') = k.subject);

-- name: PrivacyExportPeek :one
-- An export's state by its link, without taking it.
SELECT id, state, expires_at FROM privacy_export
WHERE tenant_id = @tenant_id AND user_id = @user_id AND token_hash = @token_hash;

-- name: PrivacyNoticesByUser :many
-- The person's notices (internal/notify), for an export.
SELECT id, kind, object, source_id, title, body, link, email, created_at, sent_at, read_at
FROM notice WHERE user_id = @user_id ORDER BY id;

-- name: PrivacyNotifyPreferencesByUser :many
SELECT event, channel, mode FROM notify_preference WHERE user_id = @user_id ORDER BY event, channel;

-- name: PrivacyNotifySettingByUser :many
SELECT time_zone, quiet_start, quiet_end FROM notify_setting WHERE user_id = @user_id;

-- name: PrivacyNoticesErase :one
-- An erasure deletes the person's notices (their links to events go with
-- them), digests, preferences and quiet hours; the count is every row.
WITH n AS (DELETE FROM notice WHERE notice.user_id = sqlc.arg(user_id)::bigint RETURNING 1),
     d AS (DELETE FROM notice_digest WHERE notice_digest.user_id = sqlc.arg(user_id)::bigint RETURNING 1),
     p AS (DELETE FROM notify_preference WHERE notify_preference.user_id = sqlc.arg(user_id)::bigint RETURNING 1),
     s AS (DELETE FROM notify_setting WHERE notify_setting.user_id = sqlc.arg(user_id)::bigint RETURNING 1)
SELECT ((SELECT count(*) FROM n) + (SELECT count(*) FROM d) + (SELECT count(*) FROM p) + (SELECT count(*) FROM s))::bigint AS rows;

-- name: PrivacyPurgeNotices :execrows
-- Retention: notices (and the digests they were told in) older than before.
WITH d AS (DELETE FROM notice_digest WHERE day < (@before::timestamptz)::date)
DELETE FROM notice WHERE created_at < @before;

-- name: PrivacyErasureGet :one
-- An erasure's stored report, for the console's result page.
SELECT report FROM privacy_erasure WHERE id = @id AND tenant_id = @tenant_id;
