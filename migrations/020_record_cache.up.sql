-- The read cache: one generic table for every portal object from every
-- connection. `data` is the mapped portal record, `raw` the source payload
-- as received, so a changed mapping re-maps without fetching again.
CREATE TABLE record (
    tenant_id        bigint      NOT NULL REFERENCES tenant (id),
    connection       text        NOT NULL,
    object           text        NOT NULL, -- portal object: case, order, invoice, ...
    source_id        text        NOT NULL,
    source_object    text        NOT NULL, -- vendor object: Case, Invoice, order, ...
    -- Ownership ("my records"): the owning portal account (the CRM account
    -- id) once known, the cross-reference it was resolved from, and the
    -- owning contact.
    owner_account    text,
    owner_ref_key    text,
    owner_ref_value  text,
    owner_contact    text,
    hidden           boolean     NOT NULL DEFAULT false,
    status           text,
    data             jsonb       NOT NULL,
    raw              jsonb       NOT NULL,
    source_version   text        NOT NULL DEFAULT '',
    source_modified  timestamptz,
    synced_at        timestamptz NOT NULL DEFAULT now(),
    mapping_hash     text        NOT NULL,
    deleted_at       timestamptz, -- tombstone; purged after the retention period
    PRIMARY KEY (tenant_id, connection, object, source_id)
);

-- The API's access paths: a user's records of one object, newest first.
CREATE INDEX record_owner_idx ON record (tenant_id, object, owner_account, source_modified DESC, source_id)
    WHERE deleted_at IS NULL AND NOT hidden;
CREATE INDEX record_contact_idx ON record (tenant_id, object, owner_contact)
    WHERE deleted_at IS NULL AND NOT hidden;
-- Unresolved cross-references, re-resolved when an account arrives.
CREATE INDEX record_owner_ref_idx ON record (tenant_id, owner_ref_key, owner_ref_value)
    WHERE owner_ref_key IS NOT NULL;
-- Re-mapping after a mapping change finds the records of an old hash.
CREATE INDEX record_mapping_idx ON record (tenant_id, connection, object, mapping_hash);
CREATE INDEX record_tombstone_idx ON record (deleted_at) WHERE deleted_at IS NOT NULL;

-- Account cross-references: which portal account a key's value names,
-- e.g. (accounting_customer_id, 58) -> 001xx0000012345AAA. Maintained from
-- the account records' mapped fields.
CREATE TABLE account_xref (
    tenant_id  bigint NOT NULL REFERENCES tenant (id),
    key        text   NOT NULL,
    value      text   NOT NULL,
    account_id text   NOT NULL,
    PRIMARY KEY (tenant_id, key, value)
);

-- Row-level security, the second wall under the access policy: API
-- requests run as portico_api with the tenant and visible account ids set
-- per transaction (SET LOCAL portico.tenant_id / portico.account_ids).
ALTER TABLE record ENABLE ROW LEVEL SECURITY;
CREATE POLICY record_visible ON record FOR SELECT TO portico_api
    USING (
        tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint
        AND (
            owner_account = ANY (string_to_array(nullif(current_setting('portico.account_ids', true), ''), ','))
            OR (owner_account IS NULL AND owner_ref_key IS NULL AND owner_contact IS NULL
                AND current_setting('portico.public_objects', true) IS NOT NULL
                AND object = ANY (string_to_array(current_setting('portico.public_objects', true), ',')))
        )
    );
GRANT SELECT ON record TO portico_api;

ALTER TABLE account_xref ENABLE ROW LEVEL SECURITY;
CREATE POLICY account_xref_visible ON account_xref FOR SELECT TO portico_api
    USING (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint
           AND account_id = ANY (string_to_array(nullif(current_setting('portico.account_ids', true), ''), ',')));
GRANT SELECT ON account_xref TO portico_api;

-- Sync state: one cursor per connection and object, advanced in the same
-- transaction as the page it covers.
CREATE TABLE sync_cursor (
    tenant_id    bigint      NOT NULL REFERENCES tenant (id),
    connection   text        NOT NULL,
    object       text        NOT NULL, -- vendor object
    cursor       text        NOT NULL DEFAULT '',
    -- Every change made before this instant is in the cache: the start of
    -- the last successful incremental run, less the overlap window. A
    -- record's freshness is the later of this and its own synced_at.
    synced_through timestamptz,
    last_success_at timestamptz,
    last_error   text,
    last_error_at timestamptz,
    -- Set by the first failure after a success, cleared by a success:
    -- records show "source unavailable since" from it.
    failing_since timestamptz,
    -- A full resync in progress resumes from here.
    full_page    text,
    full_run_id  bigint,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection, object)
);

-- Every sync run, so that status shows real results: a failed run is
-- recorded as failed, with its error.
CREATE TABLE sync_run (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint      NOT NULL REFERENCES tenant (id),
    connection   text        NOT NULL,
    object       text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('incremental', 'full', 'reconcile', 'refresh')),
    state        text        NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'failed')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    pages        integer     NOT NULL DEFAULT 0,
    records      integer     NOT NULL DEFAULT 0,
    deleted      integer     NOT NULL DEFAULT 0,
    differences  integer, -- reconcile: differences found
    error        text
);
CREATE INDEX sync_run_latest_idx ON sync_run (tenant_id, connection, object, started_at DESC);

-- The API reads freshness from the cursors: those columns, its tenant only.
ALTER TABLE sync_cursor ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_cursor_tenant ON sync_cursor FOR SELECT TO portico_api
    USING (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint);
GRANT SELECT (tenant_id, connection, object, synced_through, failing_since) ON sync_cursor TO portico_api;
