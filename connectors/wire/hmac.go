package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// ValidHMAC checks sig = base64(HMAC-SHA256(key, prefix + body)) in
// constant time: QuickBooks signs the body, Square the notification URL
// followed by the body. An empty key never verifies.
func ValidHMAC(key, prefix string, body []byte, sig string) bool {
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(got) == 0 || key == "" {
		return false
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(prefix))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}
