package jsonbody_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/jsonbody"
	"github.com/porticohq/portico/internal/reply"
)

func TestDecode(t *testing.T) {
	type in struct {
		Email string         `json:"email"`
		Roles []string       `json:"roles"`
		Days  int            `json:"days"`
		Note  *string        `json:"note"`
		Input map[string]any `json:"input"`
	}
	for body, want := range map[string]reply.Field{
		`{"email":1}`:                   {Path: "email", Message: "must be a string"},
		`{"roles":"member"}`:            {Path: "roles", Message: "must be an array"},
		`{"days":"7"}`:                  {Path: "days", Message: "must be an integer"},
		`{"days":1.5}`:                  {Path: "days", Message: "must be an integer"},
		`{"days":1e400}`:                {Path: "days", Message: "is a number out of range"},
		`{"note":[]}`:                   {Path: "note", Message: "must be a string"},
		`{"staff":true}`:                {Path: "staff", Message: "is not a known field"},
		"{\"email\":\"\xe9@x.test\"}":   {Path: "email", Message: "must be valid UTF-8 text"},
		`{"input":{"n":1e400}}`:         {Path: "input.n", Message: "is a number out of range"},
		`{"input":{"tags":["\u0000"]}}`: {Path: "input.tags[0]", Message: "must not contain a NUL character"},
	} {
		var dst in
		e := jsonbody.Decode([]byte(body), &dst)
		require.NotNil(t, e, body)
		require.Equal(t, http.StatusUnprocessableEntity, e.Status, body)
		require.Equal(t, "invalid", e.Code)
		require.Equal(t, []reply.Field{want}, e.Fields, body)
	}
	for _, body := range []string{`{"email":`, `{"email":"a"} {}`, `[1,2]`, `nope`} {
		var dst in
		e := jsonbody.Decode([]byte(body), &dst)
		require.NotNil(t, e, body)
		require.Equal(t, http.StatusBadRequest, e.Status, body)
	}
	var dst in
	require.Nil(t, jsonbody.Decode([]byte(`{"email":"a@x.test","roles":["member"],"days":7,"input":{"n":1.5}}`), &dst))
	require.Equal(t, "a@x.test", dst.Email)
	require.Equal(t, "1.5", fmt.Sprint(dst.Input["n"]), "numbers stay exact")
}

func TestRead(t *testing.T) {
	read := func(contentType, body string) *reply.Error {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		var dst map[string]any
		return jsonbody.Read(httptest.NewRecorder(), r, 16, &dst)
	}
	require.Equal(t, http.StatusUnsupportedMediaType, read("text/plain", `{}`).Status)
	require.Equal(t, http.StatusRequestEntityTooLarge, read("application/json", `{"a":"0123456789abcdef"}`).Status)
	require.Nil(t, read("application/json; charset=utf-8", `{"a":1}`))
}
