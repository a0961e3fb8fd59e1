-- Portal identity: users, their sessions, one-time tokens (invitations and
-- password resets), API tokens and the failed-login log that throttles
-- password guessing. Every secret is stored as a SHA-256 hash or an
-- argon2id PHC string, never as given.
CREATE TABLE auth_user (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id          bigint NOT NULL REFERENCES tenant (id),
    email              text NOT NULL CHECK (email = lower(email) AND email ~ '^[^@\s]+@[^@\s]+$'),
    -- NULL: no local password yet (invited, or single sign-on only).
    password_hash      text,
    -- The CRM account's source id (Salesforce 001...) and the contact the
    -- user is; both NULL for the operator's staff.
    account_id         text,
    contact_id         text,
    roles              text[] NOT NULL,
    staff              boolean NOT NULL DEFAULT false,
    -- The cache layer widens "my account" to the account's children.
    see_child_accounts boolean NOT NULL DEFAULT false,
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('invited', 'active', 'disabled')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    last_login_at      timestamptz,
    UNIQUE (tenant_id, email),
    CHECK (
        (staff AND account_id IS NULL AND roles <@ ARRAY['operator_admin'] AND cardinality(roles) = 1)
        OR (NOT staff AND account_id IS NOT NULL AND account_id <> ''
            AND roles <@ ARRAY['account_admin', 'member', 'billing', 'purchasing'] AND cardinality(roles) >= 1)
    )
);

CREATE INDEX auth_user_account ON auth_user (tenant_id, account_id);

-- Browser sessions as the session library stores them (token is the
-- SHA-256 of the cookie value; data is opaque to SQL).
CREATE TABLE auth_web_session (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);

CREATE INDEX auth_web_session_expiry ON auth_web_session (expiry);

-- One row per logged-in session, so that "log out everywhere" can find
-- and delete every web session of a user.
CREATE TABLE auth_session (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
    store_token text NOT NULL UNIQUE,
    method      text NOT NULL CHECK (method IN ('password', 'oidc')),
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);

CREATE INDEX auth_session_user ON auth_session (user_id);

-- Invitation and password-reset tokens: single use, expiring.
CREATE TABLE auth_user_token (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL
);

CREATE INDEX auth_user_token_user ON auth_user_token (user_id, purpose);

-- API tokens for integrators and staff tooling, shown once at creation.
CREATE TABLE auth_api_token (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> ''),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    scopes       text[] NOT NULL CHECK (cardinality(scopes) >= 1),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL
);

CREATE INDEX auth_api_token_user ON auth_api_token (user_id);

-- Failed logins, keyed by the submitted email or the client address, so
-- that an unknown email is throttled exactly like a known one.
CREATE TABLE auth_login_failure (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenant (id),
    key       text NOT NULL,
    at        timestamptz NOT NULL
);

CREATE INDEX auth_login_failure_key ON auth_login_failure (tenant_id, key, at);

-- API requests run as portico_api: it may read users and change only what
-- login, activation and reset change; it never deletes a user.
GRANT SELECT, INSERT ON auth_user TO portico_api;
GRANT UPDATE (password_hash, status, last_login_at, updated_at) ON auth_user TO portico_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON auth_web_session TO portico_api;
GRANT SELECT, INSERT, DELETE ON auth_session TO portico_api;
GRANT SELECT, INSERT ON auth_user_token TO portico_api;
GRANT UPDATE (used_at) ON auth_user_token TO portico_api;
GRANT SELECT, INSERT ON auth_api_token TO portico_api;
GRANT UPDATE (revoked_at, last_used_at) ON auth_api_token TO portico_api;
GRANT SELECT, INSERT, DELETE ON auth_login_failure TO portico_api;
