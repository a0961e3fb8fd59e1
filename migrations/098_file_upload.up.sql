-- Resumable uploads (tus, internal/files/tus.go): an upload in progress
-- and the parts it has received so far. They live in PostgreSQL, like the
-- files they become, so that any `portico serve` instance can take the
-- next PATCH of an upload another one began, and none keeps a file in
-- memory or on its own disk. When the last byte arrives the parts are
-- read back in order through the same checks and scan as a plain upload
-- into `file` / `file_chunk`, and the upload's rows are deleted, refused
-- or not; an upload left unfinished is deleted by the sweep once it has
-- not moved for files.resumable.expire (nothing of it reaches `file`).
CREATE TABLE file_upload (
    id          text        PRIMARY KEY, -- random, the tus upload id
    tenant_id   bigint      NOT NULL REFERENCES tenant (id),
    user_id     bigint      NOT NULL, -- the only user who may continue it
    size        bigint      NOT NULL,
    "offset"    bigint      NOT NULL DEFAULT 0,
    -- the tus upload's metadata (file name, type, the record it is for)
    info        jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX file_upload_updated_idx ON file_upload (updated_at);

-- One part per stored piece (at most 1 MiB), named by the offset of its
-- first byte: the parts of an upload are contiguous from 0 to "offset".
CREATE TABLE file_upload_part (
    upload_id text   NOT NULL REFERENCES file_upload (id) ON DELETE CASCADE,
    start     bigint NOT NULL,
    data      bytea  NOT NULL,
    PRIMARY KEY (upload_id, start)
);
ALTER TABLE file_upload_part ALTER COLUMN data SET STORAGE EXTERNAL;
