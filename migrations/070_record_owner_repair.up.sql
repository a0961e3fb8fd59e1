-- Records stored while their parent or cross-reference was being stored by
-- a concurrent transaction could miss their owner for good (issue 11);
-- resolution is now serialised by owner locks (store.LockDerived). This repairs
-- what the old code left: cross-references first, then parents, one
-- generation of children at a time.
UPDATE record r SET owner_account = x.account_id
FROM account_xref x
WHERE x.tenant_id = r.tenant_id AND x.key = r.owner_ref_key AND x.value = r.owner_ref_value
  AND r.owner_account IS DISTINCT FROM x.account_id;

DO $$
DECLARE
    moved bigint;
BEGIN
    FOR depth IN 1..8 LOOP
        UPDATE record c SET owner_account = p.owner_account, owner_contact = p.owner_contact
        FROM record p
        WHERE p.tenant_id = c.tenant_id AND p.connection = c.connection
          AND p.object = c.owner_parent_object AND p.source_id = c.owner_parent_id
          AND (c.owner_account IS DISTINCT FROM p.owner_account OR c.owner_contact IS DISTINCT FROM p.owner_contact);
        GET DIAGNOSTICS moved = ROW_COUNT;
        EXIT WHEN moved = 0;
    END LOOP;
END $$;
