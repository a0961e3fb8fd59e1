-- Back to 1 MiB chunks kept out of line (migration 092's layout).
CREATE TABLE file_chunk_toast (
    file_id bigint  NOT NULL REFERENCES file (id) ON DELETE CASCADE,
    n       integer NOT NULL,
    data    bytea   NOT NULL,
    PRIMARY KEY (file_id, n)
);
ALTER TABLE file_chunk_toast ALTER COLUMN data SET STORAGE EXTERNAL;

DO $$
DECLARE
    f   bigint;
    c   bytea;
    buf bytea;
    pos integer;
    k   integer;
BEGIN
    FOR f IN SELECT DISTINCT file_id FROM file_chunk ORDER BY 1 LOOP
        buf := ''::bytea;
        k := 0;
        FOR c IN SELECT data FROM file_chunk WHERE file_id = f ORDER BY n LOOP
            buf := buf || c;
            pos := 1;
            WHILE length(buf) - pos + 1 >= 1048576 LOOP
                INSERT INTO file_chunk_toast (file_id, n, data) VALUES (f, k, substring(buf FROM pos FOR 1048576));
                pos := pos + 1048576;
                k := k + 1;
            END LOOP;
            buf := substring(buf FROM pos);
        END LOOP;
        IF length(buf) > 0 THEN
            INSERT INTO file_chunk_toast (file_id, n, data) VALUES (f, k, buf);
        END IF;
    END LOOP;
END $$;

DROP TABLE file_chunk;
ALTER TABLE file_chunk_toast RENAME TO file_chunk;
ALTER TABLE file_chunk RENAME CONSTRAINT file_chunk_toast_pkey TO file_chunk_pkey;
ALTER TABLE file_chunk RENAME CONSTRAINT file_chunk_toast_file_id_fkey TO file_chunk_file_id_fkey;
