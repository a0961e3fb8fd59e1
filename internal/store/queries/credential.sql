-- name: CredentialGet :one
SELECT nonce, sealed FROM connection_credential WHERE tenant_id = @tenant_id AND connection = @connection;

-- name: CredentialPut :exec
INSERT INTO connection_credential (tenant_id, connection, nonce, sealed)
VALUES (@tenant_id, @connection, @nonce, @sealed)
ON CONFLICT (tenant_id, connection) DO UPDATE SET nonce = excluded.nonce, sealed = excluded.sealed, updated_at = now();
