package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// TestSecurityHeaders checks every kind of response — a page, an API
// answer, an API refusal, a static file, a missing page — for the headers
// that keep the browser safe: a CSP whose scripts are the deployment's own
// files only (no inline script, no eval), no framing, no sniffing, a
// referrer policy, and HSTS exactly when the deployment is served over
// https.
func TestSecurityHeaders(t *testing.T) {
	f := webtest.New(t, dbtest.SQLite(t))
	candidate := f.Session(t, f.Users.Candidate)
	secure, err := web.New(web.Config{
		Auth: f.Auth, Items: f.Bank, Assess: f.Assess, Proctor: f.Proctoring, Snapshots: f.Snapshots, Blobs: f.Blobs,
		Credentials: f.Credentials, Audit: f.Audit, IssuerID: f.IssuerID, BaseURL: "https://exams.example.org", Now: f.Clock.Now, Live: f.KV,
		Ready: func(context.Context) error { return nil }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	requests := map[string]func() *http.Request{
		"page": func() *http.Request {
			return webtest.WithCookie(webtest.NewRequest("GET", "/exams", nil), candidate, false)
		},
		"sign-in page": func() *http.Request { return webtest.NewRequest("GET", "/login", nil) },
		"API answer": func() *http.Request {
			return webtest.WithCookie(webtest.NewRequest("GET", "/api/v1/exams", nil), candidate, false)
		},
		"API refusal":  func() *http.Request { return webtest.NewRequest("GET", "/api/v1/exams", nil) },
		"static file":  func() *http.Request { return webtest.NewRequest("GET", "/static/app.css", nil) },
		"missing page": func() *http.Request { return webtest.NewRequest("GET", "/no-such-page", nil) },
	}
	for _, deployment := range []struct {
		name  string
		srv   *web.Server
		https bool
	}{{"http", f.Server, false}, {"https", secure, true}} {
		for name, req := range requests {
			resp, err := deployment.srv.App().Test(req(), -1)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			where := deployment.name + " " + name
			csp := directives(h.Get("Content-Security-Policy"))
			if got := csp["script-src"]; got != "'self'" {
				t.Errorf("%s: script-src %q, want only 'self' (no inline scripts, no eval)", where, got)
			}
			for directive, want := range map[string]string{"default-src": "'self'", "frame-ancestors": "'none'", "base-uri": "'self'", "form-action": "'self'"} {
				if csp[directive] != want {
					t.Errorf("%s: %s %q, want %q", where, directive, csp[directive], want)
				}
			}
			for header, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
				if got := h.Get(header); got != want {
					t.Errorf("%s: %s %q, want %q", where, header, got, want)
				}
			}
			hsts := h.Get("Strict-Transport-Security")
			if deployment.https && !strings.HasPrefix(hsts, "max-age=63072000") {
				t.Errorf("%s: Strict-Transport-Security %q, want two years", where, hsts)
			}
			if !deployment.https && hsts != "" {
				t.Errorf("%s: Strict-Transport-Security %q over plain http", where, hsts)
			}
		}
	}
}

// directives splits a Content-Security-Policy into its directives.
func directives(policy string) map[string]string {
	out := map[string]string{}
	for _, d := range strings.Split(policy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if name != "" {
			out[name] = strings.TrimSpace(value)
		}
	}
	return out
}
