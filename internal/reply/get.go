package reply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Get answers a GET with v and an ETag over it, or 304 when the client
// already holds it.
func (rp Replier) Get(w http.ResponseWriter, r *http.Request, v any) {
	body, etag, err := Encode(v)
	if err != nil {
		rp.Fail(w, r, InternalError(r, err))
		return
	}
	Tagged(w, r, body, etag)
}

// Encode encodes a GET answer and its ETag, for a caller that keeps
// encoded answers (the API's page cache) and sends them with Tagged.
func Encode(v any) (body []byte, etag string, err error) {
	body, err = json.Marshal(v)
	if err != nil {
		return nil, "", fmt.Errorf("reply: encoding the answer: %w", err)
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	return body, `"` + hex.EncodeToString(sum[:16]) + `"`, nil
}

// Tagged answers a GET with a body Encode made (ending in a newline) and
// its ETag. Cache-Control is private: bodies depend on the user.
func Tagged(w http.ResponseWriter, r *http.Request, body []byte, etag string) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Vary", "Cookie, Authorization")
	if matchesETag(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// matchesETag implements If-None-Match's weak comparison.
func matchesETag(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// Document answers a JSON document that is the same for everyone, such
// as the OpenAPI contract, which shared caches may keep for maxAge.
func Document(w http.ResponseWriter, body []byte, maxAge time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge.Seconds())))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
