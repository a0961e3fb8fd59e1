package notify

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/porticohq/portico/internal/store"
)

// sealedPrefix marks a webhook secret kept sealed: AES-256-GCM under a key
// derived from secrets.encryption_key, bound to the webhook's tenant and
// account, so a database dump or a copied row does not give away the key
// a receiver trusts. A secret without the prefix is in clear: one kept
// before secrets were sealed (sealed when a worker starts), or on a
// development portal without an encryption key.
const sealedPrefix = "sealed:v1:"

// secretBox seals and opens webhook secrets; without a key it keeps them
// as they are.
type secretBox struct{ aead cipher.AEAD }

func newSecretBox(key []byte) (secretBox, error) {
	if key == nil {
		return secretBox{}, nil
	}
	if len(key) != 32 {
		return secretBox{}, fmt.Errorf("notify: the webhook key must be 32 bytes, got %d", len(key))
	}
	// A key of its own: the same encryption key seals the connections'
	// credentials (internal/credentials).
	sub, err := hkdf.Key(sha256.New, key, nil, "portico webhook secrets", 32)
	if err != nil {
		return secretBox{}, err
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return secretBox{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return secretBox{}, err
	}
	return secretBox{aead: aead}, nil
}

func boundTo(tenant int64, account string) []byte {
	return []byte(strconv.FormatInt(tenant, 10) + "\x00" + account)
}

// seal returns the secret as it is stored.
func (b secretBox) seal(tenant int64, account, secret string) (string, error) {
	if b.aead == nil {
		return secret, nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := b.aead.Seal(nonce, nonce, []byte(secret), boundTo(tenant, account))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// errSecretSealed is a sealed secret that cannot be opened: no key, or
// another one than it was sealed under.
var errSecretSealed = errors.New("the webhook's secret does not decrypt (is secrets.encryption_key the one it was sealed under?)")

// open returns the secret a delivery is signed with.
func (b secretBox) open(tenant int64, account, stored string) (string, error) {
	raw, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, nil
	}
	if b.aead == nil {
		return "", errSecretSealed
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", errSecretSealed
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], boundTo(tenant, account))
	if err != nil {
		return "", errSecretSealed
	}
	return string(plain), nil
}

// SealWebhookSecrets seals the webhook secrets kept in clear, once an
// encryption key is configured; it answers how many it sealed. Workers
// call it as they start: processes doing it at once seal each secret
// once, and a secret rotated meanwhile is left to its rotation.
func (s *Service) SealWebhookSecrets(ctx context.Context) (int, error) {
	if s.box.aead == nil {
		return 0, nil
	}
	rows, err := store.NotifyWebhooksInClear(ctx, s.opts.Pool)
	if err != nil {
		return 0, fmt.Errorf("notify: reading webhook secrets: %w", err)
	}
	sealed := 0
	for _, r := range rows {
		v, err := s.box.seal(r.TenantID, r.AccountID, r.Secret)
		if err != nil {
			return sealed, err
		}
		n, err := store.NotifyWebhookSealSecret(ctx, s.opts.Pool, store.NotifyWebhookSealSecretParams{ID: r.ID, Sealed: v, Clear: r.Secret})
		if err != nil {
			return sealed, fmt.Errorf("notify: sealing a webhook secret: %w", err)
		}
		sealed += int(n)
	}
	return sealed, nil
}
