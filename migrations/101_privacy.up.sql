-- GDPR access, erasure and retention (internal/privacy, DESIGN.md
-- invariant 10).
--
-- audit_subject_key holds one AES-256 key per data subject and tenant.
-- internal/audit encrypts an event's personal fields (before, after,
-- user_agent) under the key of the person the event is about, and hashes
-- the ciphertext into the chain. Erasing the person deletes the key: the
-- events stay, still verify, and no longer open. The subject is a
-- pseudonymous name ("user:42", or "email:<sha-256 of the address>" for an
-- address no user holds), never the address itself.
CREATE TABLE audit_subject_key (
    tenant_id  bigint      NOT NULL REFERENCES tenant (id),
    subject    text        NOT NULL CHECK (subject ~ '^[a-z]+:[A-Za-z0-9_.-]+$'),
    key        bytea       NOT NULL CHECK (octet_length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, subject)
);

-- API requests write events (and so create keys) and read their tenant's;
-- only the owner (erasure, retention) deletes.
ALTER TABLE audit_subject_key ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_subject_key_tenant ON audit_subject_key TO portico_api
    USING (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint)
    WITH CHECK (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint);
-- A writer reads the key without locking it (writers about one person
-- must not queue behind each other's transactions), and inserts it only
-- the first time.
GRANT SELECT, INSERT ON audit_subject_key TO portico_api;

-- Finding a subject's events, for export.
CREATE INDEX audit_event_subject ON audit_event ((coalesce(after -> 'sealed_v1' ->> 'subject', before -> 'sealed_v1' ->> 'subject')), id)
    WHERE after ? 'sealed_v1' OR before ? 'sealed_v1';

-- A person's data export (Art. 15 and 20): requested, built in the
-- background by a River job, downloaded once through a link whose token
-- only the requester got (its SHA-256 is kept), then deleted; an export
-- not downloaded expires.
CREATE TABLE privacy_export (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     bigint      NOT NULL REFERENCES tenant (id),
    user_id       bigint      NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
    requested_by  text        NOT NULL, -- audit actor: the user, or staff/CLI
    token_hash    bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    state         text        NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'ready', 'downloaded', 'failed')),
    zip           bytea,      -- the archive while ready; NULL otherwise
    size          bigint      NOT NULL DEFAULT 0,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    ready_at      timestamptz,
    expires_at    timestamptz NOT NULL,
    downloaded_at timestamptz
);
CREATE INDEX privacy_export_user ON privacy_export (tenant_id, user_id, id);
ALTER TABLE privacy_export ALTER COLUMN zip SET STORAGE EXTERNAL;

-- An erasure (Art. 17): who asked, why, and what each part did. The
-- person is named only by the pseudonym left in their place.
CREATE TABLE privacy_erasure (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint      NOT NULL REFERENCES tenant (id),
    user_id      bigint,     -- the pseudonymised user row, if there was one
    pseudonym    text        NOT NULL,
    reason       text        NOT NULL CHECK (reason <> ''),
    requested_by text        NOT NULL,
    report       jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- What an erasure leaves for staff: the source records Portico could not
-- ask the source to erase (the connector has no erasure request), to be
-- erased there by hand, and the records it did ask for.
CREATE TABLE privacy_source_request (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint      NOT NULL REFERENCES tenant (id),
    erasure_id  bigint      NOT NULL REFERENCES privacy_erasure (id),
    connection  text        NOT NULL,
    object      text        NOT NULL, -- portal object
    source_id   text        NOT NULL,
    -- requested: the connector sent an erasure request to the source;
    -- staff_task: staff must erase it at the source; done: staff did.
    state       text        NOT NULL CHECK (state IN ('requested', 'staff_task', 'done')),
    detail      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz
);
CREATE INDEX privacy_source_request_open ON privacy_source_request (tenant_id, state, id);

-- Source records the cache must not take back while the source still
-- holds them: the sync skips a suppressed record, so an erased contact
-- does not return with the next pull.
CREATE TABLE privacy_suppressed_record (
    tenant_id  bigint      NOT NULL REFERENCES tenant (id),
    connection text        NOT NULL,
    object     text        NOT NULL,
    source_id  text        NOT NULL,
    erasure_id bigint      NOT NULL REFERENCES privacy_erasure (id),
    PRIMARY KEY (tenant_id, connection, object, source_id)
);
