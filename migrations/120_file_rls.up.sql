-- Row-level security on uploaded files, the second wall under the access
-- policy (DESIGN.md invariant 3), as record_status_change has it: an API
-- request reads a file's row as portico_api, and sees it only when it sees
-- the file's record (record's own policy applies inside this one). The
-- workers and the file service's writes run as the owner, which RLS does
-- not narrow.
ALTER TABLE file ENABLE ROW LEVEL SECURITY;
CREATE POLICY file_visible ON file FOR SELECT TO portico_api
    USING (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint
           AND EXISTS (SELECT 1 FROM record r
                       WHERE r.tenant_id = file.tenant_id AND r.connection = file.connection
                         AND r.object = file.object AND r.source_id = file.record_id
                         AND r.deleted_at IS NULL));
GRANT SELECT ON file TO portico_api;
