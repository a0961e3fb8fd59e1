-- A resumable upload's content goes where the finished file's content
-- lives, as it arrives: each PATCH part is appended, in its own
-- transaction, to the 8000-byte file_chunk rows of a file row created with
-- the upload (state 'scanning': never listed, served, exported with its
-- content or sent to a source). When the last byte arrives the checks and
-- the scan read those rows, and the file becomes clean, unscanned or
-- quarantined in place, or is deleted with its rows: the content is no
-- longer written twice (1 MiB parts kept out of line in file_upload_part,
-- then read back and written again into file_chunk). The SHA-256 of what
-- arrived so far is kept with the upload (hash_state, the digest's binary
-- state), so the hash is taken while the bytes stream in, not in a second
-- pass.
--
-- Uploads in progress during this migration are dropped (their parts
-- cannot become file rows here: the connection and account of their
-- record are resolved by the API); tus clients start them again after the
-- 404 of their next HEAD or PATCH.
DELETE FROM file_upload;
DROP TABLE file_upload_part;
ALTER TABLE file_upload
    ADD COLUMN file_id    bigint NOT NULL REFERENCES file (id) ON DELETE CASCADE,
    ADD COLUMN hash_state bytea;
CREATE INDEX file_upload_file_idx ON file_upload (file_id);
