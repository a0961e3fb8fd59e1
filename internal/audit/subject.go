package audit

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/porticohq/portico/internal/store"
)

// Personal fields are sealed per data subject (DESIGN.md invariant 10,
// doc.go "Personal fields"): Before, After and UserAgent of an event about
// a person are encrypted with AES-256-GCM under that person's key in
// audit_subject_key, and the chain hashes the ciphertext as stored.
// Erasure deletes the key (ShredSubjects): the events stay where they
// are, the chain still verifies, and the fields no longer open.
//
// A sealed Before or After is stored as the JSON object
//
//	{"sealed_v1": {"subject": "user:42", "ct": "<base64 nonce || ciphertext>"}}
//
// and a sealed UserAgent as "sealed_v1:<subject>:<base64 nonce || ciphertext>".
// The additional data binds each ciphertext to its tenant, subject and
// field, so a sealed value moved to another row's field or subject does
// not open.

// sealedKey is the one key of a sealed Before or After.
const sealedKey = "sealed_v1"

// uaPrefix opens a sealed user agent.
const uaPrefix = sealedKey + ":"

var subjectRE = regexp.MustCompile(`^[a-z]+:[A-Za-z0-9_.-]+$`)

// UserSubject names a portal or staff user as a data subject.
func UserSubject(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// UserIDSubject is UserSubject for a user id held as text (action rows),
// or "" when id is not one.
func UserIDSubject(id string) string {
	if !isID(id) {
		return ""
	}
	return "user:" + id
}

// EmailSubject names the person behind an email address that may belong
// to no user (a failed login's address): a hash of the address, so the
// subject itself does not reveal it.
func EmailSubject(email string) string {
	sum := sha256.Sum256([]byte("portico-audit-subject\n" + strings.ToLower(strings.TrimSpace(email))))
	return "email:" + hex.EncodeToString(sum[:16])
}

// subjectOf is who an event is about: the Subject it names, else the user
// it changes (object user), else the portal user who acted.
func subjectOf(e Event) string {
	switch {
	case e.Subject != "":
		return e.Subject
	case e.Object == "user" && isID(e.ObjectID):
		return "user:" + e.ObjectID
	case (e.Actor.Kind == KindUser || e.Actor.Kind == KindStaff) && isID(e.Actor.ID):
		return "user:" + e.Actor.ID
	}
	return ""
}

func isID(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0
}

type sealedValue struct {
	Subject string `json:"subject"`
	CT      string `json:"ct"`
}

// subjectKey returns the subject's key, creating it on first use, in db
// (the writer's transaction: a key and the first event it seals commit
// together). Reading takes no lock, so writers about one person do not
// wait for each other; only two first uses race, and the loser reads the
// winner's key once it commits.
func subjectKey(ctx context.Context, db store.DBTX, tenant int64, subject string) ([]byte, error) {
	key, err := store.AuditSubjectKeyGet(ctx, db, store.AuditSubjectKeyGetParams{TenantID: tenant, Subject: subject})
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("audit: the key of %s: %w", subject, err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	made, err := store.AuditSubjectKeyCreate(ctx, db, store.AuditSubjectKeyCreateParams{TenantID: tenant, Subject: subject, Key: fresh})
	if err != nil {
		return nil, fmt.Errorf("audit: the key of %s: %w", subject, err)
	}
	if len(made) == 1 {
		return made[0], nil
	}
	key, err = store.AuditSubjectKeyGet(ctx, db, store.AuditSubjectKeyGetParams{TenantID: tenant, Subject: subject})
	if err != nil {
		return nil, fmt.Errorf("audit: the key of %s: %w", subject, err)
	}
	return key, nil
}

func aad(tenant int64, subject, field string) []byte {
	return []byte("portico-audit-sealed-v1\x00" + strconv.FormatInt(tenant, 10) + "\x00" + subject + "\x00" + field)
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func encrypt(key []byte, tenant int64, subject, field string, plain []byte) (string, error) {
	a, err := gcm(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(a.Seal(nonce, nonce, plain, aad(tenant, subject, field))), nil
}

func decrypt(key []byte, tenant int64, subject, field, ct string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(ct)
	if err != nil {
		return nil, err
	}
	a, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(raw) < a.NonceSize() {
		return nil, errors.New("sealed value too short")
	}
	return a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], aad(tenant, subject, field))
}

// sealJSON wraps a marshalled Before or After.
func sealJSON(key []byte, tenant int64, subject, field string, plain []byte) ([]byte, error) {
	if plain == nil {
		return nil, nil
	}
	ct, err := encrypt(key, tenant, subject, field, plain)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]sealedValue{sealedKey: {Subject: subject, CT: ct}})
}

// sealEvent encrypts the personal fields of p under the event's subject.
func sealEvent(ctx context.Context, db store.DBTX, e Event, p *store.AuditInsertParams) error {
	subject := subjectOf(e)
	if subject == "" || (p.Before == nil && p.After == nil && !p.UserAgent.Valid) {
		return nil
	}
	if !subjectRE.MatchString(subject) {
		return fmt.Errorf("%w: subject %q is not a name such as user:42", ErrInvalid, subject)
	}
	key, err := subjectKey(ctx, db, e.TenantID, subject)
	if err != nil {
		return err
	}
	if p.Before, err = sealJSON(key, e.TenantID, subject, "before", p.Before); err != nil {
		return fmt.Errorf("audit: sealing: %w", err)
	}
	if p.After, err = sealJSON(key, e.TenantID, subject, "after", p.After); err != nil {
		return fmt.Errorf("audit: sealing: %w", err)
	}
	if p.UserAgent.Valid {
		ct, err := encrypt(key, e.TenantID, subject, "user_agent", []byte(p.UserAgent.String))
		if err != nil {
			return fmt.Errorf("audit: sealing: %w", err)
		}
		p.UserAgent.String = uaPrefix + subject + ":" + ct
	}
	return nil
}

// ShredSubjects destroys the keys of the subjects in the tenant: every
// field sealed under them is unreadable from then on. It returns how many
// keys existed. Run it in the erasure's transaction.
func ShredSubjects(ctx context.Context, db store.DBTX, tenant int64, subjects ...string) (int64, error) {
	n, err := store.AuditSubjectKeyDestroy(ctx, db, store.AuditSubjectKeyDestroyParams{TenantID: tenant, Subjects: subjects})
	if err != nil {
		return 0, fmt.Errorf("audit: destroying subject keys: %w", err)
	}
	return n, nil
}

// Erased stands for a sealed field whose key was destroyed.
var Erased = json.RawMessage(`{"erased":true}`)

// ErasedText stands for a sealed user agent whose key was destroyed.
const ErasedText = "[erased]"

// Opener opens sealed fields of one tenant's events, fetching each
// subject's key once.
type Opener struct {
	db     store.DBTX
	tenant int64
	keys   map[string][]byte // nil value: no key (erased)
}

// NewOpener returns an opener for the tenant's events, reading keys on db.
func NewOpener(db store.DBTX, tenant int64) *Opener {
	return &Opener{db: db, tenant: tenant, keys: map[string][]byte{}}
}

func (o *Opener) key(ctx context.Context, subject string) ([]byte, error) {
	if k, ok := o.keys[subject]; ok {
		return k, nil
	}
	rows, err := store.AuditSubjectKeys(ctx, o.db, store.AuditSubjectKeysParams{TenantID: o.tenant, Subjects: []string{subject}})
	if err != nil {
		return nil, fmt.Errorf("audit: reading subject keys: %w", err)
	}
	o.keys[subject] = nil
	for _, r := range rows {
		o.keys[r.Subject] = r.Key
	}
	return o.keys[subject], nil
}

// JSON opens a stored Before or After (field "before" or "after"): the
// plain JSON, Erased when its key is gone, or v itself when not sealed.
func (o *Opener) JSON(ctx context.Context, field string, v []byte) (json.RawMessage, error) {
	var env map[string]sealedValue
	if len(v) == 0 || json.Unmarshal(v, &env) != nil || len(env) != 1 {
		return v, nil
	}
	s, ok := env[sealedKey]
	if !ok {
		return v, nil
	}
	key, err := o.key(ctx, s.Subject)
	if err != nil || key == nil {
		return Erased, err
	}
	plain, err := decrypt(key, o.tenant, s.Subject, field, s.CT)
	if err != nil {
		return nil, fmt.Errorf("audit: opening %s sealed for %s: %w", field, s.Subject, err)
	}
	return plain, nil
}

// UserAgent opens a stored user agent, as JSON does a Before or After.
func (o *Opener) UserAgent(ctx context.Context, v string) (string, error) {
	rest, ok := strings.CutPrefix(v, uaPrefix)
	if !ok {
		return v, nil
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return v, nil
	}
	subject, ct := rest[:i], rest[i+1:]
	key, err := o.key(ctx, subject)
	if err != nil || key == nil {
		return ErasedText, err
	}
	plain, err := decrypt(key, o.tenant, subject, "user_agent", ct)
	if err != nil {
		return "", fmt.Errorf("audit: opening user_agent sealed for %s: %w", subject, err)
	}
	return string(plain), nil
}
