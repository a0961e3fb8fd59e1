-- Source credentials (OAuth tokens, API keys), encrypted at rest with
-- AES-256-GCM. The key is not in the database.
CREATE TABLE connection_credential (
    tenant_id  bigint      NOT NULL REFERENCES tenant (id),
    connection text        NOT NULL,
    nonce      bytea       NOT NULL,
    sealed     bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection)
);
-- portico_api gets no grant: request handlers never read credentials.
