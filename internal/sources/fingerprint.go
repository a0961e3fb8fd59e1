package sources

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/config"
)

const fingerprintKey = "portico_config_fingerprint"

// fingerprinted ties stored credentials to the endpoint and client they
// were issued for. After an operator points a connection at another
// instance (base_url, token_url, client_id or realm), credentials stored
// for the old one (tokens, Salesforce's instance_url) read as absent, so
// the connector authenticates afresh instead of calling the old host.
type fingerprinted struct {
	inner connectors.CredentialStore
	fps   map[string]string // connection -> fingerprint
}

func fingerprint(c config.ConnectionConfig) string {
	h := sha256.Sum256([]byte(c.Type + "\x00" + c.BaseURL + "\x00" + c.TokenURL + "\x00" + c.ClientID + "\x00" + c.Realm))
	return hex.EncodeToString(h[:8])
}

// Fingerprinted wraps a credential store as Open does, so that what is
// saved through it (a connect flow's tokens) is read back by the
// connectors Open builds for the same connections. nil stays nil.
func Fingerprinted(creds connectors.CredentialStore, conns []config.ConnectionConfig) connectors.CredentialStore {
	if creds == nil {
		return nil
	}
	fp := &fingerprinted{inner: creds, fps: map[string]string{}}
	for _, cfg := range conns {
		fp.fps[cfg.Name] = fingerprint(cfg)
	}
	return fp
}

// Load implements connectors.CredentialStore.
func (f *fingerprinted) Load(ctx context.Context, connection string) (connectors.Credentials, error) {
	c, err := f.inner.Load(ctx, connection)
	if err != nil {
		return c, err
	}
	if want, ok := f.fps[connection]; ok && c.Extra[fingerprintKey] != want {
		return connectors.Credentials{}, connectors.ErrNoCredentials
	}
	return c, nil
}

// Save implements connectors.CredentialStore.
func (f *fingerprinted) Save(ctx context.Context, connection string, c connectors.Credentials) error {
	if fp, ok := f.fps[connection]; ok {
		c.Extra = maps.Clone(c.Extra)
		if c.Extra == nil {
			c.Extra = map[string]string{}
		}
		c.Extra[fingerprintKey] = fp
	}
	return f.inner.Save(ctx, connection, c)
}
