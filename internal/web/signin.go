package web

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/reply"
)

// signInPage is the sign-in form, with what just happened above it (signed
// out, activated, password changed).
type signInPage struct {
	Next       string
	SignOn     bool
	SignOnName string
	SignOnURL  string
}

func (wb *Web) signInView(r *http.Request, next string) *view {
	next = returnPath(next)
	p := signInPage{Next: next, SignOn: wb.d.Auth.SingleSignOn(), SignOnName: wb.d.SignOnName,
		SignOnURL: "/auth/oidc/login?return_to=" + url.QueryEscape(next)}
	v := wb.newView(r, key("signin.title"), p)
	v.Section = "signin"
	return v
}

func (wb *Web) signInPage(w http.ResponseWriter, r *http.Request) {
	if signedIn(r) != nil {
		http.Redirect(w, r, returnPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	v := wb.signInView(r, r.URL.Query().Get("next"))
	switch {
	case r.URL.Query().Get("signed_out") == "everywhere":
		v.Notice = key("signin.signed_out_everywhere")
	case r.URL.Query().Has("signed_out"):
		v.Notice = key("signin.signed_out")
	case r.URL.Query().Has("activated"):
		v.Notice = key("signin.activated")
	case r.URL.Query().Has("reset"):
		v.Notice = key("signin.reset_done")
	}
	wb.render(w, r, http.StatusOK, "signin", v)
}

// signIn logs in through the same service as POST /auth/login: the same
// throttle, audit and session.
func (wb *Web) signIn(w http.ResponseWriter, r *http.Request) {
	email, next := r.PostForm.Get("email"), r.PostForm.Get("next")
	_, _, err := wb.d.Auth.Login(w, r, email, r.PostForm.Get("password"))
	if err == nil {
		http.Redirect(w, r, returnPath(next), http.StatusSeeOther)
		return
	}
	v := wb.signInView(r, next)
	v.Form["email"] = email
	var (
		ve     *auth.ValidationError
		locked *auth.LockedOut
	)
	switch {
	case errors.As(err, &ve):
		v.Fields = fieldErrors(v.L, ve.Fields)
		v.Alert = key("form.fix_fields")
		wb.render(w, r, http.StatusUnprocessableEntity, "signin", v)
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(locked.Wait.Seconds()))))
		v.Alert, v.Problem = lockoutWords(locked.Wait)
		wb.render(w, r, http.StatusTooManyRequests, "signin", v)
	case errors.Is(err, auth.ErrBadCredentials):
		v.Alert = key("signin.bad_credentials")
		wb.render(w, r, http.StatusUnauthorized, "signin", v)
	default:
		wb.internal(w, r, err)
	}
}

// lockoutWords says how long sign-in is paused, in minutes (or seconds
// under a minute): the message key and its argument.
func lockoutWords(wait time.Duration) (string, []any) {
	if wait < time.Minute {
		return key("signin.locked_seconds"), []any{int(math.Ceil(wait.Seconds()))}
	}
	return key("signin.locked_minutes"), []any{int(math.Ceil(wait.Minutes()))}
}

func (wb *Web) signOut(w http.ResponseWriter, r *http.Request) {
	if err := wb.d.Auth.Logout(w, r); err != nil {
		wb.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/sign-in?signed_out=1", http.StatusSeeOther)
}

// signOutEverywhere ends every session of the user, on every device, and
// revokes their API tokens, through the same service as POST
// /auth/logout-all.
func (wb *Web) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	if signedIn(r) == nil {
		http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
		return
	}
	if _, err := wb.d.Auth.LogoutEverywhere(w, r, false); err != nil {
		wb.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/sign-in?signed_out=everywhere", http.StatusSeeOther)
}

// tokenPage is the form that spends an invitation's or a reset's token.
type tokenPage struct {
	Token  string
	Action string // the form's path
	// Request is the reset page without a token: ask for the email.
	Request bool
	Sent    bool
}

func (wb *Web) activatePage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	v := wb.newView(r, key("activate.title"), tokenPage{Token: tok, Action: auth.ActivatePath})
	if tok == "" {
		v.Alert = key("token.missing")
	}
	wb.render(w, r, http.StatusOK, "password", v)
}

func (wb *Web) activate(w http.ResponseWriter, r *http.Request) {
	wb.setPassword(w, r, key("activate.title"), auth.ActivatePath, func(tok, pw string) error {
		_, err := wb.d.Auth.Activate(r, tok, pw)
		return err
	}, "/sign-in?activated=1")
}

func (wb *Web) resetPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	p := tokenPage{Token: tok, Action: auth.ResetPath, Request: tok == "", Sent: r.URL.Query().Has("sent")}
	title := key("reset.title")
	if p.Request {
		title = key("reset.request_title")
	}
	wb.render(w, r, http.StatusOK, "password", wb.newView(r, title, p))
}

func (wb *Web) reset(w http.ResponseWriter, r *http.Request) {
	wb.setPassword(w, r, key("reset.title"), auth.ResetPath, func(tok, pw string) error {
		_, _, err := wb.d.Auth.ResetPassword(r, tok, pw, false)
		return err
	}, "/sign-in?reset=1")
}

// setPassword checks the two passwords agree, then spends the token
// through set; field errors come back inline beside their fields.
func (wb *Web) setPassword(w http.ResponseWriter, r *http.Request, title, action string, set func(tok, pw string) error, done string) {
	tok, pw := r.PostForm.Get("token"), r.PostForm.Get("password")
	var err error
	if pw != "" && pw != r.PostForm.Get("password_confirm") {
		err = &auth.ValidationError{Fields: []reply.Field{{Path: "password_confirm", Message: key("field.passwords_differ")}}}
	} else {
		err = set(tok, pw)
	}
	if err == nil {
		http.Redirect(w, r, done, http.StatusSeeOther)
		return
	}
	var ve *auth.ValidationError
	if !errors.As(err, &ve) {
		wb.internal(w, r, err)
		return
	}
	v := wb.newView(r, title, tokenPage{Token: tok, Action: action})
	v.Fields = fieldErrors(v.L, ve.Fields)
	v.Alert = key("form.fix_fields")
	if _, bad := v.Fields["token"]; bad {
		v.Alert = key("token.bad")
	}
	wb.render(w, r, http.StatusUnprocessableEntity, "password", v)
}

// resetRequest asks for a reset mail; the answer never tells whether the
// email has a user.
func (wb *Web) resetRequest(w http.ResponseWriter, r *http.Request) {
	email := r.PostForm.Get("email")
	var ve *auth.ValidationError
	if err := wb.d.Auth.RequestPasswordReset(r.Context(), email); errors.As(err, &ve) {
		v := wb.newView(r, key("reset.request_title"), tokenPage{Request: true, Action: auth.ResetPath})
		v.Fields = fieldErrors(v.L, ve.Fields)
		v.Alert = key("form.fix_fields")
		wb.render(w, r, http.StatusUnprocessableEntity, "password", v)
		return
	}
	http.Redirect(w, r, auth.ResetPath+"?sent=1", http.StatusSeeOther)
}

// setLanguage keeps the choice of language: in the user's settings when
// signed in, and in a cookie for a year (the sign-in pages before), then
// goes back to the page it was chosen on.
func (wb *Web) setLanguage(w http.ResponseWriter, r *http.Request) {
	tag, ok := supported(r.PostForm.Get("lang"))
	if !ok {
		wb.fail(w, r, reply.Invalid(reply.Field{Path: "lang", Message: "is not a language of the portal"}))
		return
	}
	if p := signedIn(r); p != nil {
		if err := wb.d.Auth.SetLocale(r.Context(), p.UserID, tag.String()); err != nil {
			wb.internal(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: tag.String(), Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, HttpOnly: true, Secure: r.TLS != nil})
	http.Redirect(w, r, returnPath(r.PostForm.Get("next")), http.StatusSeeOther)
}
