-- What a portal user wants to be told about. A user without a row gets
-- the defaults: everything, by email.
CREATE TABLE notification_preference (
    user_id        bigint      PRIMARY KEY REFERENCES auth_user (id) ON DELETE CASCADE,
    tenant_id      bigint      NOT NULL REFERENCES tenant (id),
    email          boolean     NOT NULL DEFAULT true,
    case_updates   boolean     NOT NULL DEFAULT true,
    order_updates  boolean     NOT NULL DEFAULT true,
    invoice_issued boolean     NOT NULL DEFAULT true,
    approvals      boolean     NOT NULL DEFAULT true,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
