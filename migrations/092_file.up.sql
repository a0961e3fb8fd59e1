-- Uploaded files (internal/files). `file` holds the metadata, `file_chunk`
-- the content in 1 MiB pieces of bytea. Chunked bytea rather than large
-- objects, measured for a 20 MB file on the test server: writing 1 MiB
-- chunks ran at 37-64 MB/s against 10-14 MB/s through the large-object
-- API, reading at 124-162 MB/s against 127-263 MB/s; and chunks are
-- ordinary rows: the tenant is a column, deleting a file deletes its
-- content (no lo_unlink, no vacuumlo for orphans), logical replication
-- and pg_dump of the table carry them, and no large-object permissions
-- are involved. STORAGE EXTERNAL: most uploads (PDF, images, office
-- files) are compressed already, so TOAST does not try again.
--
-- A file row and its chunks are written in one transaction with the scan,
-- so an interrupted upload leaves nothing; an infected file is kept as
-- quarantined (never served, never sent to the source). Neither the
-- content nor anything derived from it besides its size, type and hash
-- enters action, audit or record: an action names the file by id.
CREATE TABLE file (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     bigint      NOT NULL REFERENCES tenant (id),
    -- The generated key the content is stored under (never the file name).
    storage_key   text        NOT NULL UNIQUE,
    -- The record the file belongs to: a portal object of a connection,
    -- by its source id, and the account that owns it.
    connection    text        NOT NULL,
    object        text        NOT NULL,
    record_id     text        NOT NULL,
    owner_account text        NOT NULL,
    uploaded_by   text        NOT NULL, -- portal user id
    file_name     text        NOT NULL,
    content_type  text        NOT NULL, -- as sniffed from the content
    size          bigint      NOT NULL DEFAULT 0,
    sha256        bytea,
    -- scanning while the upload's transaction runs; clean, unscanned (no
    -- scanner configured) or quarantined (scan_result names the finding).
    state         text        NOT NULL DEFAULT 'scanning'
                  CHECK (state IN ('scanning', 'clean', 'unscanned', 'quarantined')),
    scan_result   text,
    -- The write-back that sends the file to the source, and the source's
    -- id and version once it confirmed (synced_at: when).
    action_id     bigint,
    source_id     text,
    source_version text,
    synced_at     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX file_record_idx ON file (tenant_id, connection, object, record_id, id);
CREATE INDEX file_action_idx ON file (action_id) WHERE action_id IS NOT NULL;

CREATE TABLE file_chunk (
    file_id bigint  NOT NULL REFERENCES file (id) ON DELETE CASCADE,
    n       integer NOT NULL,
    data    bytea   NOT NULL,
    PRIMARY KEY (file_id, n)
);
ALTER TABLE file_chunk ALTER COLUMN data SET STORAGE EXTERNAL;
