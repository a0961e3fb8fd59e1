-- Customer actions: each request to change a system of record, from
-- acceptance to its outcome. The row is inserted in the same transaction
-- as its River job and its pending projection in the cache, so an
-- accepted action is never lost; the worker moves it along
-- pending -> sending -> applied | conflict | failed, and staff may discard
-- a failed or conflicting one (rejected).
CREATE TABLE action (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        bigint      NOT NULL REFERENCES tenant (id),
    user_id          text        NOT NULL,
    account_id       text        NOT NULL,
    contact_id       text        NOT NULL DEFAULT '',
    -- The account's reference keys for other systems, for write
    -- expressions (actor.accounting_customer_id, ...).
    actor_refs       jsonb       NOT NULL DEFAULT '{}',
    kind             text        NOT NULL,
    connection       text        NOT NULL,
    object           text        NOT NULL, -- portal object
    source_object    text        NOT NULL,
    op               text        NOT NULL CHECK (op IN ('create', 'update')),
    -- The record acted on: its source id, or "pending:<id>" for a create
    -- until the source assigns one. Actions on one target apply in id order.
    target           text        NOT NULL,
    input            jsonb       NOT NULL, -- validated portal input
    -- The client's Idempotency-Key, unique per user.
    client_key       text,
    -- The version the customer's change is based on; the source refuses
    -- the write when its record has moved on.
    expected_version text        NOT NULL DEFAULT '',
    -- The cached record's data before the pending projection, restored
    -- when an update fails or is discarded.
    prior_data       jsonb,
    state            text        NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'applied', 'conflict', 'failed', 'rejected')),
    attempts         integer     NOT NULL DEFAULT 0, -- writes sent to the source
    message          text,  -- safe to show the customer
    error_detail     text,  -- for staff only
    -- On conflict: the current source record (portal fields and version).
    conflict         jsonb,
    result_id        text,
    result_version   text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    applied_at       timestamptz,
    UNIQUE (tenant_id, user_id, client_key)
);

-- Ordering: the earlier open actions on a target.
CREATE INDEX action_target_open_idx ON action (tenant_id, connection, object, target, id)
    WHERE state IN ('pending', 'sending');
-- The admin view of actions needing attention.
CREATE INDEX action_state_idx ON action (tenant_id, state, id);

-- The pending projection: a record changed or created by an action not
-- yet applied names it.
ALTER TABLE record ADD COLUMN pending_action_id bigint;

-- The read API shows a record's pending action (kind and state) and a
-- user's own actions; it never writes them.
ALTER TABLE action ENABLE ROW LEVEL SECURITY;
CREATE POLICY action_visible ON action FOR SELECT TO portico_api
    USING (tenant_id = nullif(current_setting('portico.tenant_id', true), '')::bigint
           AND account_id = ANY (string_to_array(nullif(current_setting('portico.account_ids', true), ''), ',')));
GRANT SELECT (id, tenant_id, account_id, kind, state) ON action TO portico_api;
