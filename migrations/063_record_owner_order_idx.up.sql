-- A user's page of one object in list order, without reading the rest.
--
-- The index serves the list order (newest first, or oldest first scanning
-- backwards) and the cursor, so that a page of 50 of an account's 2,000
-- cases reads 51 index entries instead of all 2,000 rows.
CREATE INDEX record_owner_order_idx ON record
    (tenant_id, object, owner_account, coalesce(source_modified, '-infinity') DESC, source_id DESC)
    WHERE deleted_at IS NULL AND NOT hidden;

-- The row-level security predicate moves into a function the planner
-- does not inline. Written inline, its "owner_account = ANY (the
-- setting)" looked to the planner like a second, very selective filter on
-- top of the query's own account filter: it estimated a handful of rows,
-- read all of an account's rows through a bitmap and sorted them (28 ms a
-- page at a million cached records). Opaque, it is checked on the rows
-- the query's own filter finds, with the same meaning as before.
CREATE FUNCTION record_visible(owner_account text, owner_ref_key text, owner_contact text, object text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN coalesce(
        owner_account = ANY (string_to_array(nullif(current_setting('portico.account_ids', true), ''), ','))
        OR (owner_account IS NULL AND owner_ref_key IS NULL AND owner_contact IS NULL
            AND current_setting('portico.public_objects', true) IS NOT NULL
            AND object = ANY (string_to_array(current_setting('portico.public_objects', true), ','))),
        false);
END
$$;
GRANT EXECUTE ON FUNCTION record_visible(text, text, text, text) TO portico_api;

DROP POLICY record_visible ON record;
CREATE POLICY record_visible ON record FOR SELECT TO portico_api
    USING (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint
           AND record_visible(owner_account, owner_ref_key, owner_contact, object));
