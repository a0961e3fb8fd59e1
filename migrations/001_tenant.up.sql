-- Tenants: one operator company per tenant. Every cached record, action and
-- audit row carries a tenant id.
CREATE TABLE tenant (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO tenant (slug, name) VALUES ('default', 'Default tenant');
