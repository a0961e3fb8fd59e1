// Package credentials stores connection credentials in PostgreSQL,
// encrypted with AES-256-GCM under a key from configuration. Save returns
// once the value is committed, which is what lets a connector store a
// rotated refresh token before it uses the new access token. The
// connection name is bound to the ciphertext as additional data, so a
// sealed value copied to another connection does not open.
package credentials

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/store"
)

// Store implements connectors.CredentialStore.
type Store struct {
	pool   *pgxpool.Pool
	tenant int64
	aead   cipher.AEAD
}

// ParseKey decodes a base64 (standard or URL, padded or not) 32-byte key.
func ParseKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != 32 {
				return nil, fmt.Errorf("credentials: key must be 32 bytes, got %d", len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("credentials: key is not base64")
}

// NewStore returns a store for one tenant.
func NewStore(pool *pgxpool.Pool, tenant int64, key []byte) (*Store, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return &Store{pool: pool, tenant: tenant, aead: aead}, nil
}

// Load implements connectors.CredentialStore.
func (s *Store) Load(ctx context.Context, connection string) (connectors.Credentials, error) {
	var c connectors.Credentials
	row, err := store.CredentialGet(ctx, s.pool, store.CredentialGetParams{TenantID: s.tenant, Connection: connection})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return c, connectors.ErrNoCredentials
		}
		return c, fmt.Errorf("credentials: loading %s: %w", connection, err)
	}
	plain, err := s.aead.Open(nil, row.Nonce, row.Sealed, []byte(connection))
	if err != nil {
		return c, fmt.Errorf("credentials: %s does not decrypt (wrong secrets.encryption_key?)", connection)
	}
	if err := json.Unmarshal(plain, &c); err != nil {
		return c, fmt.Errorf("credentials: %s: %w", connection, err)
	}
	return c, nil
}

// Save implements connectors.CredentialStore; it returns after commit.
func (s *Store) Save(ctx context.Context, connection string, c connectors.Credentials) error {
	plain, err := json.Marshal(c)
	if err != nil {
		return err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := s.aead.Seal(nil, nonce, plain, []byte(connection))
	if err := store.CredentialPut(ctx, s.pool, store.CredentialPutParams{
		TenantID: s.tenant, Connection: connection, Nonce: nonce, Sealed: sealed,
	}); err != nil {
		return fmt.Errorf("credentials: saving %s: %w", connection, err)
	}
	return nil
}
