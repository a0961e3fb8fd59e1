-- Back to parts kept apart (migration 098's layout). Uploads in progress
-- are dropped with their pending files.
DELETE FROM file WHERE id IN (SELECT file_id FROM file_upload) AND state = 'scanning';
DELETE FROM file_upload;
DROP INDEX file_upload_file_idx;
ALTER TABLE file_upload DROP COLUMN file_id, DROP COLUMN hash_state;
CREATE TABLE file_upload_part (
    upload_id text   NOT NULL REFERENCES file_upload (id) ON DELETE CASCADE,
    start     bigint NOT NULL,
    data      bytea  NOT NULL,
    PRIMARY KEY (upload_id, start)
);
ALTER TABLE file_upload_part ALTER COLUMN data SET STORAGE EXTERNAL;
