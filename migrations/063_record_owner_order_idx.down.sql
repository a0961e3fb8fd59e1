DROP POLICY record_visible ON record;
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
DROP FUNCTION IF EXISTS record_visible(text, text, text, text);
DROP INDEX IF EXISTS record_owner_order_idx;
