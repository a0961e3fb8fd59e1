-- name: AuthUserCreate :one
INSERT INTO auth_user (tenant_id, email, password_hash, account_id, contact_id, roles, staff, see_child_accounts, status, created_at, updated_at)
VALUES (@tenant_id, @email, sqlc.narg(password_hash), sqlc.narg(account_id), sqlc.narg(contact_id), @roles::text[], @staff, @see_child_accounts, @status, @now, @now)
RETURNING *;

-- name: AuthUserByEmail :one
SELECT * FROM auth_user WHERE tenant_id = @tenant_id AND email = @email;

-- name: AuthUserByID :one
SELECT * FROM auth_user WHERE id = @id;

-- name: AuthUserList :many
SELECT * FROM auth_user
WHERE tenant_id = @tenant_id AND (sqlc.narg(account_id)::text IS NULL OR account_id = sqlc.narg(account_id))
ORDER BY email;

-- name: AuthUserSetPassword :exec
UPDATE auth_user SET password_hash = @password_hash, status = 'active', updated_at = @now
WHERE id = @id;

-- name: AuthUserSetLocale :exec
-- The language a user chose for the portal's pages ('' follows the browser).
UPDATE auth_user SET locale = @locale, updated_at = @now
WHERE id = @id AND tenant_id = @tenant_id;

-- name: AuthUserSetStatus :one
UPDATE auth_user SET status = @status, updated_at = @now
WHERE tenant_id = @tenant_id AND email = @email
RETURNING *;

-- name: AuthUserSetRoles :one
UPDATE auth_user SET roles = @roles::text[], updated_at = @now
WHERE id = @id AND tenant_id = @tenant_id
RETURNING *;

-- name: AuthAccountAdminsLock :many
-- The active account admins of an account, locked so that two admins
-- taking the role from each other at once cannot leave it without one.
SELECT id FROM auth_user
WHERE tenant_id = @tenant_id AND account_id = @account_id AND status = 'active' AND 'account_admin' = ANY (roles)
ORDER BY id
FOR UPDATE;

-- name: AuthUserLoggedIn :exec
UPDATE auth_user SET last_login_at = @now WHERE id = @id;

-- name: AuthSessionCreate :one
INSERT INTO auth_session (user_id, store_token, method, ip, user_agent, created_at)
VALUES (@user_id, @store_token, @method, @ip, @user_agent, @now)
RETURNING id;

-- name: AuthSessionUser :one
-- The user behind a live session; no row when the session was logged out
-- elsewhere or the user is no longer active.
SELECT u.* FROM auth_session s JOIN auth_user u ON u.id = s.user_id
WHERE s.id = @id AND u.tenant_id = @tenant_id AND u.status = 'active';

-- name: AuthSessionDelete :exec
DELETE FROM auth_session WHERE id = @id;

-- name: AuthWebSessionsDeleteForUser :exec
DELETE FROM auth_web_session WHERE token IN (SELECT store_token FROM auth_session WHERE user_id = @user_id);

-- name: AuthSessionsDeleteForUser :execrows
DELETE FROM auth_session WHERE user_id = @user_id;

-- name: AuthUserTokenCreate :exec
INSERT INTO auth_user_token (user_id, purpose, token_hash, expires_at, created_at)
VALUES (@user_id, @purpose, @token_hash, @expires_at, @now);

-- name: AuthUserTokenUse :one
-- Spends a token: only one caller ever gets the row back.
UPDATE auth_user_token SET used_at = @now
WHERE token_hash = @token_hash AND purpose = @purpose AND used_at IS NULL AND expires_at > @now
RETURNING user_id;

-- name: AuthUserTokensSpend :exec
-- Spends every outstanding token of a purpose, so that an older reset link
-- stops working once the password changed.
UPDATE auth_user_token SET used_at = @now
WHERE user_id = @user_id AND purpose = @purpose AND used_at IS NULL;

-- name: AuthAPITokenCreate :one
INSERT INTO auth_api_token (user_id, name, token_hash, scopes, expires_at, created_at)
VALUES (@user_id, @name, @token_hash, @scopes::text[], @expires_at, @now)
RETURNING *;

-- name: AuthAPITokenLookup :one
-- The live token and its active user. last_used_at is written at most
-- once a minute per token to keep authenticated reads cheap.
SELECT sqlc.embed(t), sqlc.embed(u) FROM auth_api_token t JOIN auth_user u ON u.id = t.user_id
WHERE t.token_hash = @token_hash AND t.revoked_at IS NULL AND t.expires_at > @now
  AND u.tenant_id = @tenant_id AND u.status = 'active';

-- name: AuthAPITokenTouch :exec
UPDATE auth_api_token SET last_used_at = @now
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @stale_before);

-- name: AuthAPITokenList :many
SELECT * FROM auth_api_token WHERE user_id = @user_id ORDER BY id;

-- name: AuthAPITokenRevoke :one
-- Revokes a token the caller may manage: their own, or any of the tenant's
-- for staff.
UPDATE auth_api_token t SET revoked_at = @now
FROM auth_user u
WHERE t.id = @id AND u.id = t.user_id AND u.tenant_id = @tenant_id
  AND (t.user_id = @user_id OR @staff::boolean)
  AND t.revoked_at IS NULL
RETURNING t.id;

-- name: AuthAPITokensRevokeForUser :many
-- Revokes every live token of a user: a password reset, logging out
-- everywhere. The cache trigger (migration 066) announces each.
UPDATE auth_api_token SET revoked_at = @now
WHERE user_id = @user_id AND revoked_at IS NULL
RETURNING id;

-- name: AuthLoginFailureRecord :exec
INSERT INTO auth_login_failure (tenant_id, key, at) VALUES (@tenant_id, @key, @now);

-- name: AuthLoginFailureCount :one
SELECT count(*) FROM auth_login_failure WHERE tenant_id = @tenant_id AND key = @key AND at > @since;

-- name: AuthLoginFailureOldest :one
-- The oldest failure still in the window: the lockout ends when it leaves.
SELECT coalesce(min(at), @since)::timestamptz FROM auth_login_failure
WHERE tenant_id = @tenant_id AND key = @key AND at > @since;

-- name: AuthLoginFailureClear :exec
DELETE FROM auth_login_failure WHERE tenant_id = @tenant_id AND (key = @key OR at < @before);

-- name: AuthWebSessionsPrune :execrows
-- Expired browser sessions (their expiry is set by the session library in
-- server time), and session records whose browser session is gone and
-- that are old enough not to be a login still being committed.
DELETE FROM auth_web_session WHERE expiry < now();

-- name: AuthSessionsPrune :execrows
DELETE FROM auth_session s
WHERE s.created_at < @before
  AND NOT EXISTS (SELECT 1 FROM auth_web_session w WHERE w.token = s.store_token);
