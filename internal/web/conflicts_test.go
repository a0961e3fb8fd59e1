package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
)

// conflicted makes the newest action of kind by the user with email a
// conflict whose source holds current, and returns its id.
func (e *env) conflicted(t *testing.T, email, kind, yours, current string) string {
	t.Helper()
	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `
		UPDATE action SET state = 'conflict', conflict = jsonb_build_object('yours', $3::jsonb, 'current', $4::jsonb, 'current_version', 'v2')
		WHERE id = (SELECT a.id FROM action a JOIN auth_user u ON u.id::text = a.user_id
		            WHERE a.kind = $2 AND lower(u.email) = $1 ORDER BY a.id DESC LIMIT 1)
		RETURNING id`, email, kind, yours, current).Scan(&id))
	return strconv.FormatInt(id, 10)
}

func (e *env) actionState(t *testing.T, id string) (state, expected string) {
	t.Helper()
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT state, expected_version FROM action WHERE id = $1`, id).Scan(&state, &expected))
	return state, expected
}

// A change that met a newer version is listed, shown field by field
// beside the source's current values, and settled either way: keep mine
// sends it again over the current version, keep theirs withdraws it.
func TestConflictKeepMineAndKeepTheirs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	mark := e.browser()
	mark.signIn("mark@alpha.test")
	alphaCase := e.fx.IDs[apitest.Alpha]["case"][0]
	mark.get("/cases/" + alphaCase)
	require.Equal(t, http.StatusSeeOther, mark.post("/cases/"+alphaCase+"/close", nil).code)
	mark.get("/cases/" + alphaCase)
	require.Equal(t, http.StatusSeeOther, mark.post("/cases/"+alphaCase+"/comments", url.Values{"body": {"my note"}}).code)
	closeID := e.conflicted(t, "mark@alpha.test", "close_case", `{"status": "closed"}`, `{"status": "waiting_on_customer"}`)
	commentID := e.conflicted(t, "mark@alpha.test", "add_case_comment", `{"body": "my note"}`, `{}`)

	hub := mark.get("/")
	require.Contains(t, hub.body, `href="/conflicts/`+closeID+`"`)
	list := mark.get("/conflicts")
	require.Equal(t, http.StatusOK, list.code)
	require.Contains(t, list.body, `href="/conflicts/`+closeID+`"`)
	require.Contains(t, list.body, `href="/conflicts/`+commentID+`"`)
	e.noForeign(t, list.body, apitest.Alpha)

	page := mark.get("/conflicts/" + closeID)
	require.Equal(t, http.StatusOK, page.code, page.body)
	require.Contains(t, page.body, "Closing a case")
	require.Regexp(t, `<tr class="differs">\s*<th scope="row">Status`, page.body)
	require.Regexp(t, `<td class="mine">closed</td>\s*<td class="theirs">waiting_on_customer</td>`, page.body)
	require.Contains(t, page.body, `value="keep_mine"`)
	require.Contains(t, page.body, `value="keep_theirs"`)
	e.noForeign(t, page.body, apitest.Alpha)

	// A choice that is neither is named beside the buttons and changes nothing.
	bad := mark.post("/conflicts/"+closeID+"/resolve", url.Values{"resolution": {"both"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	require.Contains(t, bad.body, `id="f-resolution-error"`)
	require.Contains(t, bad.body, "Choose &#34;Keep mine&#34; or &#34;Keep theirs&#34;.")
	state, _ := e.actionState(t, closeID)
	require.Equal(t, "conflict", state)

	res := mark.post("/conflicts/"+closeID+"/resolve", url.Values{"resolution": {"keep_mine"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/conflicts?resolved=keep_mine", res.location())
	state, expected := e.actionState(t, closeID)
	require.NotEqual(t, "conflict", state)
	require.NotEqual(t, "rejected", state)
	require.Equal(t, "v2", expected, "sent again over the source's current version")
	require.Contains(t, mark.get(res.location()).body, "Your change is being sent again.")

	mark.get("/conflicts/" + commentID)
	res = mark.post("/conflicts/"+commentID+"/resolve", url.Values{"resolution": {"keep_theirs"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	state, _ = e.actionState(t, commentID)
	require.Equal(t, "rejected", state, "withdrawn: the source's version stands")
	done := mark.get(res.location())
	require.Contains(t, done.body, "You withdrew your change; the current version stands.")
	require.Contains(t, done.body, "None of your changes is waiting for a decision.")

	// A settled conflict is no longer a page.
	require.Equal(t, http.StatusNotFound, mark.get("/conflicts/"+closeID).code)
}

// Another account's conflict is the same 404 page as a missing one, to
// see and to settle, and settling it changes nothing.
func TestForeignConflictIsTheSame404(t *testing.T) {
	t.Parallel()
	e, mark, bea := setupMarkAndBea(t)
	betaCase := e.fx.IDs[apitest.Beta]["case"][0]
	bea.get("/cases/" + betaCase)
	require.Equal(t, http.StatusSeeOther, bea.post("/cases/"+betaCase+"/close", nil).code)
	beaID := e.conflicted(t, "bea@beta.test", "close_case", `{"status": "closed"}`, `{"status": "secret-beta-status"}`)
	require.Equal(t, http.StatusOK, bea.get("/conflicts/"+beaID).code)

	missing := mark.get("/conflicts/999999")
	require.Equal(t, http.StatusNotFound, missing.code)
	foreign := mark.get("/conflicts/" + beaID)
	require.Equal(t, http.StatusNotFound, foreign.code)
	require.Equal(t, missing.body, foreign.body)
	require.NotContains(t, foreign.body, "secret-beta-status")
	mark.get("/conflicts")
	for _, choice := range []string{"keep_mine", "keep_theirs"} {
		res := mark.post("/conflicts/"+beaID+"/resolve", url.Values{"resolution": {choice}})
		require.Equal(t, http.StatusNotFound, res.code)
		require.Equal(t, missing.body, res.body)
	}
	state, _ := e.actionState(t, beaID)
	require.Equal(t, "conflict", state)
	list := mark.get("/conflicts")
	require.NotContains(t, list.body, "/conflicts/"+beaID)
	e.noForeign(t, list.body, apitest.Alpha)
}
