-- Role and setting switches inside a transaction (set_config(..., true)
-- ends with it).

-- name: RoleAsAPITenant :exec
-- The non-owner API role with only the tenant set, for auth's queries
-- (migrations 040 and 041).
SELECT set_config('portico.tenant_id', @tenant_id::text, true), set_config('role', 'portico_api', true);

-- name: RoleSuspend :one
-- Leaves the current role for the owner's and returns the one it left.
SELECT current_setting('role')::text AS role, set_config('role', 'none', true)::text AS none;

-- name: RoleRestore :exec
SELECT set_config('role', @role::text, true);
