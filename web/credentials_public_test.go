package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/schema"
	"github.com/touchstone-assess/touchstone/credential/status"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// rsaKey is one RSA key for every test: generating it is slow.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// webtestSeed is the seed of webtest's Ed25519 signing key. Should it
// change, the service below rotates to this key, which the tests survive:
// retired keys still verify what they signed.
var webtestSeed = bytes.Repeat([]byte{0x5e}, ed25519.SeedSize)

// eachCredentialFixture runs fn on a fresh fixture on every test database,
// with a server whose credential service also signs RS256 (as the real
// server's does; webtest's signs EdDSA only).
func eachCredentialFixture(t *testing.T, fn func(t *testing.T, f *webtest.Fixture)) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := webtest.New(t, db)
		creds := credential.NewService(db, f.Clock.Now, webtest.BaseURL, ed25519.NewKeyFromSeed(webtestSeed), credential.WithRSAKey(rsaKey()))
		if _, err := creds.EnsureIssuer(context.Background(), credential.IssuerInput{}); err != nil {
			t.Fatalf("register the RSA key: %v", err)
		}
		srv, err := web.New(web.Config{Auth: f.Auth, Items: f.Bank, Assess: f.Assess, Proctor: f.Proctoring, Credentials: creds,
			Audit: f.Audit, IssuerID: f.IssuerID, BaseURL: webtest.BaseURL, Now: f.Clock.Now, Live: f.KV,
			Ready: func(context.Context) error { return nil }})
		if err != nil {
			t.Fatalf("server: %v", err)
		}
		f.Server, f.Credentials = srv, creds
		fn(t, f)
	})
}

// get sends an anonymous GET, or one with u's bearer token.
func get(t *testing.T, f *webtest.Fixture, target string, u *webtest.User) *webtest.Response {
	t.Helper()
	token := ""
	if u != nil {
		token = f.Token(t, *u)
	}
	return apiCall(t, f, apiReq("GET", target, token, nil))
}

// page fetches a page as a browser would, as u (nil: anonymous).
func page(t *testing.T, f *webtest.Fixture, target string, u *webtest.User) *webtest.Response {
	t.Helper()
	r := apiReq("GET", target, "", nil)
	r.Header.Set("Accept", "text/html")
	if u != nil {
		webtest.WithCookie(r, f.Session(t, *u), false)
	}
	return f.Do(t, r)
}

// postForm submits a page form as u with the session cookie, with the
// session's CSRF token in the form when csrf is true.
func postForm(t *testing.T, f *webtest.Fixture, target string, u webtest.User, form url.Values, csrf bool) *webtest.Response {
	t.Helper()
	sess := f.Session(t, u)
	if csrf {
		form.Set("_csrf", sess.CSRFToken)
	}
	r := webtest.NewRequest("POST", target, form.Encode())
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Accept", "text/html")
	webtest.WithCookie(r, sess, false)
	return f.Do(t, r)
}

func wantHeader(t *testing.T, what string, resp *webtest.Response, header, want string) {
	t.Helper()
	if got := resp.Header.Get(header); got != want {
		t.Errorf("%s: %s got %q, want %q", what, header, got, want)
	}
}

func wantBody(t *testing.T, what string, resp *webtest.Response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !bytes.Contains(resp.Body, []byte(s)) {
			t.Errorf("%s: body does not contain %q", what, s)
		}
	}
}

func wantNotBody(t *testing.T, what string, resp *webtest.Response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if bytes.Contains(resp.Body, []byte(s)) {
			t.Errorf("%s: body contains %q", what, s)
		}
	}
}

// local turns one of the deployment's URLs into a path.
func local(t *testing.T, u string) string {
	t.Helper()
	p, ok := strings.CutPrefix(u, webtest.BaseURL)
	if !ok {
		t.Fatalf("%s is not a URL of the deployment", u)
	}
	return p
}

// jwtKid reads the kid of a compact JWS.
func jwtKid(t *testing.T, token string) (kid, alg string) {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	var h struct{ Kid, Alg string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	return h.Kid, h.Alg
}

type jwk struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	N   string `json:"n"`
	D   string `json:"d"`
}

func TestIssuerKeyDocuments(t *testing.T) {
	eachCredentialFixture(t, func(t *testing.T, f *webtest.Fixture) {
		credID := *apiPass(t, f, f.Users.Candidate).CredentialID
		cand := f.Users.Candidate
		issuer := "/issuers/" + f.IssuerID

		resp := get(t, f, issuer, nil)
		wantAPIStatus(t, resp, http.StatusOK)
		wantHeader(t, "controller document", resp, "Content-Type", "application/did+ld+json")
		wantBody(t, "controller document", resp, `"verificationMethod"`, `"Multikey"`, `"name":"Touchstone Test Issuer"`)

		resp = get(t, f, issuer+"/jwks.json", nil)
		wantAPIStatus(t, resp, http.StatusOK)
		wantHeader(t, "JWKS", resp, "Content-Type", "application/jwk-set+json")
		wantHeader(t, "JWKS", resp, "Access-Control-Allow-Origin", "*")
		var set struct{ Keys []jwk }
		resp.JSON(t, &set)
		byKid := map[string]jwk{}
		kinds := map[string]bool{}
		for _, k := range set.Keys {
			if k.D != "" {
				t.Errorf("JWKS: key %s carries a private member", k.Kid)
			}
			byKid[k.Kid] = k
			kinds[k.Kty+" "+k.Crv] = true
		}
		if !kinds["OKP Ed25519"] || !kinds["RSA "] {
			t.Errorf("JWKS: got key types %v, want an Ed25519 (OKP) and an RSA key", kinds)
		}

		for _, alg := range []string{"EdDSA", "RS256"} {
			resp := get(t, f, "/credentials/"+credID+"/credential.jwt?alg="+alg, &cand)
			wantAPIStatus(t, resp, http.StatusOK)
			kid, gotAlg := jwtKid(t, string(resp.Body))
			if gotAlg != alg {
				t.Errorf("%s JWT: header alg %q", alg, gotAlg)
			}
			key := get(t, f, local(t, kid), nil)
			wantAPIStatus(t, key, http.StatusOK)
			wantHeader(t, alg+" kid", key, "Content-Type", "application/jwk+json")
			var k jwk
			key.JSON(t, &k)
			if k.Kid != kid || byKid[kid] != k {
				t.Errorf("%s kid %s: got JWK %+v, want the JWKS entry %+v", alg, kid, k, byKid[kid])
			}
		}
		wantAPIError(t, get(t, f, issuer+"/keys/no-such-key", nil), http.StatusNotFound, "not_found", "")
		wantAPIError(t, get(t, f, "/issuers/00000000-0000-4000-8000-000000000000/jwks.json", nil), http.StatusNotFound, "not_found", "")

		resp = get(t, f, "/.well-known/did.json", nil)
		wantAPIStatus(t, resp, http.StatusOK)
		var did struct {
			ID                 string
			VerificationMethod []struct{ ID, Type, Controller, PublicKeyMultibase string }
			AssertionMethod    []string
		}
		resp.JSON(t, &did)
		if did.ID != "did:web:example.test" || len(did.VerificationMethod) == 0 || len(did.AssertionMethod) != len(did.VerificationMethod) {
			t.Fatalf("DID document: got %s, want did:web:example.test with its keys as assertion methods", resp.Body)
		}
		for _, vm := range did.VerificationMethod {
			if vm.Type != "Multikey" || vm.Controller != did.ID || !strings.HasPrefix(vm.ID, did.ID+"#z") || !strings.HasPrefix(vm.PublicKeyMultibase, "z6Mk") {
				t.Errorf("DID verification method: got %+v, want an Ed25519 Multikey of %s", vm, did.ID)
			}
		}
	})
}

func TestExtensionContextAndSchema(t *testing.T) {
	eachCredentialFixture(t, func(t *testing.T, f *webtest.Fixture) {
		resp := get(t, f, "/ns/v1/context.jsonld", nil)
		wantAPIStatus(t, resp, http.StatusOK)
		wantHeader(t, "context", resp, "Content-Type", "application/ld+json")
		want, err := fs.ReadFile(proof.ContextFiles(), proof.ContextTouchstoneV1File)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.Body, want) {
			t.Errorf("context: the served file differs from the embedded one verification uses")
		}
		wantBody(t, "context", resp, `"@context"`, "PassingStandard")
		// Credentials name this deployment's copy of the context and schema.
		cred, err := f.Credentials.Get(context.Background(), *apiPass(t, f, f.Users.Candidate).CredentialID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(cred.Document), `"`+webtest.BaseURL+`/ns/v1/context.jsonld"`) ||
			!strings.Contains(string(cred.Document), `"`+webtest.BaseURL+`/ns/v1/schema.json"`) {
			t.Errorf("the credential does not name this deployment's context and schema")
		}

		resp = get(t, f, "/ns/v1/schema.json", nil)
		wantAPIStatus(t, resp, http.StatusOK)
		wantHeader(t, "schema", resp, "Content-Type", "application/schema+json")
		if !bytes.Equal(resp.Body, schema.TouchstoneV1()) {
			t.Errorf("schema: the served file differs from schema.TouchstoneV1()")
		}
	})
}

func TestAchievementBadgeImages(t *testing.T) {
	eachCredentialFixture(t, func(t *testing.T, f *webtest.Fixture) {
		base := "/achievements/data-fundamentals/badge"
		svg := get(t, f, base+".svg", nil)
		wantAPIStatus(t, svg, http.StatusOK)
		wantHeader(t, "svg", svg, "Content-Type", "image/svg+xml")
		wantBody(t, "svg", svg, "<svg", "Data Fundamentals")
		etag := svg.Header.Get("ETag")
		if etag == "" || !strings.Contains(svg.Header.Get("Cache-Control"), "max-age") {
			t.Errorf("svg: ETag %q, Cache-Control %q; want both", etag, svg.Header.Get("Cache-Control"))
		}
		r := apiReq("GET", base+".svg", "", nil)
		r.Header.Set("If-None-Match", etag)
		if resp := f.Do(t, r); resp.StatusCode != http.StatusNotModified || len(resp.Body) != 0 {
			t.Errorf("svg with If-None-Match: got %d with %d bytes, want 304 and no body", resp.StatusCode, len(resp.Body))
		}

		for _, tc := range []struct {
			query string
			size  int
		}{{"", 512}, {"?size=64", 64}, {"?size=1024", 1024}} {
			resp := get(t, f, base+".png"+tc.query, nil)
			wantAPIStatus(t, resp, http.StatusOK)
			wantHeader(t, "png"+tc.query, resp, "Content-Type", "image/png")
			cfg, err := png.DecodeConfig(bytes.NewReader(resp.Body))
			if err != nil || cfg.Width != tc.size || cfg.Height != tc.size {
				t.Errorf("png%s: got %dx%d (%v), want %d px square", tc.query, cfg.Width, cfg.Height, err, tc.size)
			}
			if resp.Header.Get("ETag") == etag {
				t.Errorf("png%s: same ETag as the SVG", tc.query)
			}
		}
		for _, q := range []string{"63", "1025", "big"} {
			wantAPIError(t, get(t, f, base+".png?size="+q, nil), http.StatusBadRequest, "bad_request", "size")
		}

		// A redesign changes the ETag.
		rec, err := f.Credentials.AchievementRecordByID(context.Background(), f.AchievementID)
		if err != nil {
			t.Fatal(err)
		}
		in := rec.AchievementInput
		in.Color = "#aa3355"
		if err := f.Credentials.UpdateAchievement(context.Background(), f.Users.Manager.ID, f.AchievementID, in); err != nil {
			t.Fatal(err)
		}
		if got := get(t, f, base+".svg", nil); got.Header.Get("ETag") == etag || !bytes.Contains(got.Body, []byte("aa3355")) {
			t.Errorf("after a new colour: ETag %q (was %q); want a new one and the colour", got.Header.Get("ETag"), etag)
		}
		wantAPIError(t, get(t, f, "/achievements/no-such-badge/badge.svg", nil), http.StatusNotFound, "not_found", "")
	})
}

// statusBit reads the bit of a credential in its revocation or suspension
// list, as a verifier would: from the list the server publishes.
func statusBit(t *testing.T, f *webtest.Fixture, doc []byte, purpose string) bool {
	t.Helper()
	var cred struct {
		CredentialStatus struct {
			StatusListIndex      string `json:"statusListIndex"`
			StatusListCredential string `json:"statusListCredential"`
		} `json:"credentialStatus"`
	}
	if err := json.Unmarshal(doc, &cred); err != nil {
		t.Fatalf("credential: %v", err)
	}
	list := strings.TrimSuffix(local(t, cred.CredentialStatus.StatusListCredential), "/revocation") + "/" + purpose
	resp := get(t, f, list, nil)
	wantAPIStatus(t, resp, http.StatusOK)
	wantHeader(t, "status list", resp, "Cache-Control", "no-cache")
	wantHeader(t, "status list", resp, "Content-Type", "application/vc+ld+json")
	var lc struct {
		ID                string `json:"id"`
		CredentialSubject struct {
			StatusPurpose string `json:"statusPurpose"`
			EncodedList   string `json:"encodedList"`
		} `json:"credentialSubject"`
	}
	resp.JSON(t, &lc)
	if lc.ID != webtest.BaseURL+list || lc.CredentialSubject.StatusPurpose != purpose {
		t.Errorf("status list %s: got id %q, purpose %q", list, lc.ID, lc.CredentialSubject.StatusPurpose)
	}
	bits, err := status.Decode(lc.CredentialSubject.EncodedList)
	if err != nil {
		t.Fatalf("status list %s: %v", list, err)
	}
	i, err := strconv.Atoi(cred.CredentialStatus.StatusListIndex)
	if err != nil {
		t.Fatalf("statusListIndex %q: %v", cred.CredentialStatus.StatusListIndex, err)
	}
	set, err := bits.Get(i)
	if err != nil {
		t.Fatalf("status list %s index %d: %v", list, i, err)
	}
	return set
}

func TestStatusListsFollowDecisions(t *testing.T) {
	eachCredentialFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		admin := f.Users.Admin.ID
		credID := *apiPass(t, f, f.Users.Candidate).CredentialID
		cred, err := f.Credentials.Get(ctx, credID)
		if err != nil {
			t.Fatal(err)
		}
		bits := func() string {
			return fmt.Sprintf("revoked %v, suspended %v", statusBit(t, f, cred.Document, "revocation"), statusBit(t, f, cred.Document, "suspension"))
		}
		for _, step := range []struct {
			name string
			do   func() error
			want string
		}{
			{"issued", func() error { return nil }, "revoked false, suspended false"},
			{"suspended", func() error { return f.Credentials.Suspend(ctx, admin, credID, "review open") }, "revoked false, suspended true"},
			{"reinstated", func() error { return f.Credentials.Reinstate(ctx, admin, credID, "review closed") }, "revoked false, suspended false"},
			{"revoked", func() error { return f.Credentials.Revoke(ctx, admin, credID, "fraud") }, "revoked true, suspended false"},
		} {
			if err := step.do(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if got := bits(); got != step.want {
				t.Errorf("%s: got %s, want %s", step.name, got, step.want)
			}
		}

		var doc struct {
			CredentialStatus struct{ StatusListCredential string } `json:"credentialStatus"`
		}
		if err := json.Unmarshal(cred.Document, &doc); err != nil {
			t.Fatal(err)
		}
		list := local(t, doc.CredentialStatus.StatusListCredential)
		r := apiReq("GET", list, "", nil)
		r.Header.Set("Accept", "application/json")
		wantHeader(t, "status list, Accept: application/json", f.Do(t, r), "Content-Type", "application/json")
		wantAPIError(t, get(t, f, strings.TrimSuffix(list, "revocation")+"refresh", nil), http.StatusNotFound, "not_found", "")
		wantAPIError(t, get(t, f, "/status-lists/00000000-0000-4000-8000-000000000000/revocation", nil), http.StatusNotFound, "not_found", "")
	})
}

func TestCredentialVisibility(t *testing.T) {
	eachCredentialFixture(t, func(t *testing.T, f *webtest.Fixture) {
		credID := *apiPass(t, f, f.Users.Candidate).CredentialID
		cand, other := f.Users.Candidate, f.Users.Candidate2
		downloads := []string{"credential.json", "credential.jwt", "badge.png", "badge.svg"}
		viewers := []struct {
			name string
			user *webtest.User
			full bool // sees a private credential in full
		}{
			{"anonymous", nil, false},
			{"recipient", &cand, true},
			{"other candidate", &other, false},
			{"proctor", &f.Users.Proctor, false},
			{"author", &f.Users.Author, false},
			{"psychometrician", &f.Users.Psychometrician, true},
			{"program manager", &f.Users.Manager, true},
			{"admin", &f.Users.Admin, true},
		}
		check := func(t *testing.T, public bool) {
			for _, v := range viewers {
				t.Run(v.name, func(t *testing.T) {
					full := v.full || public
					p := page(t, f, "/credentials/"+credID, v.user)
					wantAPIStatus(t, p, http.StatusOK)
					wantBody(t, "page", p, `data-status="valid"`, "Data Fundamentals", "Touchstone Test Issuer", "Issued", "Does not expire")
					if full {
						wantBody(t, "page", p, `id="credential-score"`, `id="standard-evidence"`, "The pass mark is 3", `id="downloads"`)
					} else {
						wantBody(t, "page", p, `id="private-note"`)
						wantNotBody(t, "page", p, `id="credential-score"`, `id="standard-evidence"`, "The pass mark is", `id="downloads"`)
					}
					if v.name == "recipient" {
						wantBody(t, "page", p, `id="visibility-toggle"`)
					} else {
						wantNotBody(t, "page", p, `id="visibility-toggle"`)
					}
					if got := v.name == "recipient" && public; got != bytes.Contains(p.Body, []byte(`id="linkedin"`)) {
						t.Errorf("LinkedIn link shown: got %v, want %v", !got, got)
					}
					want := http.StatusNotFound
					if full {
						want = http.StatusOK
					}
					for _, target := range append([]string{"/api/v1/credentials/" + credID}, prefix("/credentials/"+credID+"/", downloads)...) {
						if got := get(t, f, target, v.user).StatusCode; got != want {
							t.Errorf("GET %s: got %d, want %d", target, got, want)
						}
					}
					resp := get(t, f, "/api/v1/credentials/"+credID+"/verification", v.user)
					wantAPIStatus(t, resp, http.StatusOK)
					if got := bytes.Contains(resp.Body, []byte(`"credential":`)); got != full {
						t.Errorf("verification includes the document: got %v, want %v", got, full)
					}
				})
			}
		}
		t.Run("private", func(t *testing.T) { check(t, false) })

		visibility := "/api/v1/credentials/" + credID + "/visibility"
		wantAPIError(t, apiCall(t, f, apiReq("PUT", visibility, f.Token(t, other), map[string]bool{"public": true})), http.StatusNotFound, "not_found", "")
		wantAPIError(t, apiCall(t, f, apiReq("PUT", visibility, f.Token(t, f.Users.Admin), map[string]bool{"public": true})), http.StatusNotFound, "not_found", "")
		wantAPIError(t, apiCall(t, f, apiReq("PUT", visibility, f.Token(t, cand), map[string]string{})), http.StatusUnprocessableEntity, "invalid", "public")
		wantAPIError(t, apiCall(t, f, apiReq("PUT", visibility, f.Token(t, cand), `{"public":"yes"}`)), http.StatusBadRequest, "bad_request", "public")
		resp := apiCall(t, f, apiReq("PUT", visibility, f.Token(t, cand), map[string]bool{"public": true}))
		wantAPIStatus(t, resp, http.StatusOK)
		if got, want := string(resp.Body), `{"id":"`+credID+`","public":true}`; got != want {
			t.Errorf("visibility: got %s, want %s", got, want)
		}
		t.Run("public", func(t *testing.T) { check(t, true) })

		p := page(t, f, "/credentials/"+credID, &cand)
		li := linkedInLink(t, p)
		for k, want := range map[string]string{"startTask": "CERTIFICATION_NAME", "name": "Data Fundamentals", "organizationName": "Touchstone Test Issuer",
			"issueYear": "2026", "issueMonth": "11", "certUrl": webtest.BaseURL + "/credentials/" + credID, "certId": credID, "expirationYear": ""} {
			if got := li.Query().Get(k); got != want {
				t.Errorf("LinkedIn link %s: got %q, want %q", k, got, want)
			}
		}
		if li.Host != "www.linkedin.com" || li.Path != "/profile/add" {
			t.Errorf("LinkedIn link: got %s", li)
		}

		// The page's form: CSRF required; back to private.
		form := "/credentials/" + credID + "/visibility"
		if resp := postForm(t, f, form, cand, url.Values{"public": {"false"}}, false); resp.StatusCode != http.StatusForbidden {
			t.Errorf("visibility form without CSRF token: got %d, want 403", resp.StatusCode)
		}
		if resp := postForm(t, f, form, other, url.Values{"public": {"false"}}, true); resp.StatusCode != http.StatusNotFound {
			t.Errorf("visibility form of another candidate: got %d, want 404", resp.StatusCode)
		}
		if resp := postForm(t, f, form, cand, url.Values{"public": {"maybe"}}, true); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("visibility form with public=maybe: got %d, want 422", resp.StatusCode)
		}
		resp = postForm(t, f, form, cand, url.Values{"public": {"false"}, "next": {"/badges"}}, true)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/badges" {
			t.Errorf("visibility form: got %d to %q, want 303 to /badges", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp = postForm(t, f, form, cand, url.Values{"public": {"false"}, "next": {"https://evil.example/"}}, true)
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("visibility form with an outside next: redirected to %q, want /", loc)
		}
		wantAPIStatus(t, get(t, f, "/api/v1/credentials/"+credID, nil), http.StatusNotFound)
	})
}

// linkedInLink finds the "Add to profile" link of a credential page.
func linkedInLink(t *testing.T, p *webtest.Response) *url.URL {
	t.Helper()
	_, rest, ok := bytes.Cut(p.Body, []byte(`id="linkedin" href="`))
	if !ok {
		t.Fatal("no LinkedIn link on the page")
	}
	href, _, _ := bytes.Cut(rest, []byte(`"`))
	u, err := url.Parse(html.UnescapeString(string(href)))
	if err != nil {
		t.Fatalf("LinkedIn link %s: %v", href, err)
	}
	return u
}

func prefix(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

// verifyUpload posts b to POST /api/v1/verify as an anonymous client with
// no cookie, the way curl would.
func verifyUpload(t *testing.T, f *webtest.Fixture, b []byte) verification {
	t.Helper()
	r := webtest.NewRequest("POST", "/api/v1/verify", b)
	r.Header.Set("Content-Type", "application/octet-stream")
	resp := apiCall(t, f, r)
	wantAPIStatus(t, resp, http.StatusOK)
	var v verification
	resp.JSON(t, &v)
	return v
}

type verification struct {
	Valid   bool   `json:"valid"`
	State   string `json:"state"`
	Format  string `json:"format"`
	Problem string `json:"problem"`
	Checks  []struct {
		Name   string `json:"name"`
		Passed bool   `json:"passed"`
		Detail string `json:"detail"`
	} `json:"checks"`
	Credential map[string]any `json:"credential"`
}

// failed returns the name of the failed checks.
func (v verification) failed() []string {
	var out []string
	for _, c := range v.Checks {
		if !c.Passed {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestDownloadsVerify(t *testing.T) {
	eachCredentialFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		cand := f.Users.Candidate
		credID := *apiPass(t, f, cand).CredentialID
		name := "data-fundamentals-" + strings.Split(credID, "-")[0]
		downloads := []struct {
			path, contentType, filename, format string
		}{
			{"credential.json", "application/vc+ld+json", name + ".json", "json"},
			{"credential.jwt", "application/jwt", name + ".jwt", "jwt"},
			{"credential.jwt?alg=RS256", "application/jwt", name + ".jwt", "jwt"},
			{"badge.png", "image/png", name + ".png", "png"},
			{"badge.svg", "image/svg+xml", name + ".svg", "svg"},
			{"badge.png?proof=jwt", "image/png", name + ".png", "png"},
			{"badge.svg?proof=jwt&alg=RS256", "image/svg+xml", name + ".svg", "svg"},
		}
		files := map[string][]byte{}
		for _, d := range downloads {
			resp := get(t, f, "/credentials/"+credID+"/"+d.path, &cand)
			wantAPIStatus(t, resp, http.StatusOK)
			wantHeader(t, d.path, resp, "Content-Type", d.contentType)
			wantHeader(t, d.path, resp, "Content-Disposition", `attachment; filename="`+d.filename+`"`)
			files[d.path] = resp.Body
			v := verifyUpload(t, f, resp.Body)
			if !v.Valid || v.State != "valid" || v.Format != d.format || len(v.failed()) > 0 {
				t.Errorf("%s: got %+v, want valid, read as %s", d.path, v, d.format)
			}
			if id, _ := v.Credential["id"].(string); id != webtest.BaseURL+"/credentials/"+credID {
				t.Errorf("%s: the answer's credential has id %q", d.path, id)
			}
		}
		if bytes.Contains(files["badge.png?proof=jwt"], []byte(`"proof"`)) || !bytes.Contains(files["badge.png"], []byte("DataIntegrityProof")) {
			t.Errorf("badge.png?proof=jwt should carry a VC-JWT and badge.png the JSON credential")
		}
		wantAPIError(t, get(t, f, "/credentials/"+credID+"/credential.jwt?alg=HS256", &cand), http.StatusBadRequest, "bad_request", "alg")
		wantAPIError(t, get(t, f, "/credentials/"+credID+"/badge.png?proof=xml", &cand), http.StatusBadRequest, "bad_request", "proof")

		// The multipart field "file" works as well as a raw body.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("file", "badge.png")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(files["badge.png"])
		mw.Close()
		r := webtest.NewRequest("POST", "/api/v1/verify", body.Bytes())
		r.Header.Set("Content-Type", mw.FormDataContentType())
		resp := apiCall(t, f, r)
		wantAPIStatus(t, resp, http.StatusOK)
		var mv verification
		resp.JSON(t, &mv)
		if !mv.Valid || mv.Format != "png" {
			t.Errorf("multipart upload: got %s, want a valid png", resp.Body)
		}

		// Tampered uploads fail their proof.
		tampered := bytes.Replace(files["credential.json"], []byte("Data Fundamentals"), []byte("Data Mastery"), 1)
		if v := verifyUpload(t, f, tampered); v.Valid || v.State != "invalid" || !contains(v.failed(), "proof") {
			t.Errorf("tampered JSON: got %+v, want invalid with a failed proof", v)
		}
		jwt := files["credential.jwt"]
		forged := append(bytes.Clone(jwt[:len(jwt)-4]), []byte("AAAA")...)
		if bytes.Equal(forged, jwt) {
			forged[len(forged)-1] = 'B'
		}
		if v := verifyUpload(t, f, forged); v.Valid || v.State != "invalid" || !contains(v.failed(), "proof") {
			t.Errorf("tampered JWT: got %+v, want invalid with a failed proof", v)
		}
		if v := verifyUpload(t, f, []byte("hello")); v.Valid || v.State != "invalid" || !contains(v.failed(), "format") {
			t.Errorf("not a credential: got %+v, want invalid with a failed format check", v)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/verify", "", "")), http.StatusBadRequest, "bad_request", "file")

		// Decisions show in every format at once.
		admin := f.Users.Admin.ID
		for _, step := range []struct {
			name, state, check string
			do                 func() error
		}{
			{"suspended", "suspended", "status", func() error { return f.Credentials.Suspend(ctx, admin, credID, "review open") }},
			{"reinstated", "valid", "", func() error { return f.Credentials.Reinstate(ctx, admin, credID, "review closed") }},
			{"revoked", "revoked", "status", func() error { return f.Credentials.Revoke(ctx, admin, credID, "fraud") }},
		} {
			if err := step.do(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			for _, d := range []string{"credential.json", "credential.jwt?alg=RS256", "badge.png", "badge.svg?proof=jwt&alg=RS256"} {
				v := verifyUpload(t, f, files[d])
				if v.State != step.state || (step.check == "") != (len(v.failed()) == 0) || (step.check != "" && !contains(v.failed(), step.check)) {
					t.Errorf("%s, %s: got state %s, failed %v; want %s, failing %q", step.name, d, v.State, v.failed(), step.state, step.check)
				}
			}
		}

		// Expiry: an achievement valid for 30 days, 31 days on.
		rec, err := f.Credentials.AchievementRecordByID(ctx, f.AchievementID)
		if err != nil {
			t.Fatal(err)
		}
		in := rec.AchievementInput
		in.ValidityDays = 30
		if err := f.Credentials.UpdateAchievement(ctx, f.Users.Manager.ID, f.AchievementID, in); err != nil {
			t.Fatal(err)
		}
		c2 := f.Users.Candidate2
		expiring := *apiPass(t, f, c2).CredentialID
		png := get(t, f, "/credentials/"+expiring+"/badge.png", &c2)
		wantAPIStatus(t, png, http.StatusOK)
		if v := verifyUpload(t, f, png.Body); !v.Valid {
			t.Fatalf("before expiry: got %+v, want valid", v)
		}
		f.Clock.Advance(31 * 24 * time.Hour)
		if v := verifyUpload(t, f, png.Body); v.State != "expired" || !contains(v.failed(), "dates") {
			t.Errorf("after expiry: got %+v, want expired with a failed dates check", v)
		}
		p := page(t, f, "/credentials/"+expiring, nil)
		wantBody(t, "expired page", p, `data-status="expired"`, "Expired credential", "expired on 23 December 2026")
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestVerifyUploadBounds(t *testing.T) {
	eachCredentialFixture(t, func(t *testing.T, f *webtest.Fixture) {
		big := bytes.Repeat([]byte("x"), credential.MaxVerifyBytes+1)
		r := webtest.NewRequest("POST", "/api/v1/verify", big)
		r.Header.Set("Content-Type", "image/png")
		wantAPIError(t, apiCall(t, f, r), http.StatusRequestEntityTooLarge, "request_entity_too_large", "file")

		huge := bytes.Repeat([]byte("x"), credential.MaxVerifyBytes+(1<<20))
		r = webtest.NewRequest("POST", "/api/v1/verify", huge)
		r.Header.Set("Content-Type", "application/octet-stream")
		wantAPIError(t, apiCall(t, f, r), http.StatusRequestEntityTooLarge, "request_entity_too_large", "file")

		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "big.png")
		fw.Write(big)
		mw.Close()
		r = webtest.NewRequest("POST", "/api/v1/verify", body.Bytes())
		r.Header.Set("Content-Type", mw.FormDataContentType())
		wantAPIError(t, apiCall(t, f, r), http.StatusRequestEntityTooLarge, "request_entity_too_large", "file")
	})
}

func TestStaffDecisions(t *testing.T) {
	eachCredentialFixture(t, func(t *testing.T, f *webtest.Fixture) {
		credID := *apiPass(t, f, f.Users.Candidate).CredentialID
		admin, manager := f.Token(t, f.Users.Admin), f.Token(t, f.Users.Manager)
		api := func(decision string) string { return "/api/v1/credentials/" + credID + "/" + decision }

		for _, decision := range []string{"revoke", "suspend", "reinstate"} {
			for _, u := range []webtest.User{f.Users.Candidate, f.Users.Psychometrician, f.Users.Proctor} {
				wantAPIError(t, apiCall(t, f, apiReq("POST", api(decision), f.Token(t, u), map[string]string{"reason": "x"})), http.StatusForbidden, "forbidden", "")
			}
			wantAPIError(t, apiCall(t, f, apiReq("POST", api(decision), admin, map[string]string{"reason": " "})), http.StatusUnprocessableEntity, "invalid", "reason")
			wantAPIError(t, apiCall(t, f, apiReq("POST", api(decision), admin, map[string]string{})), http.StatusUnprocessableEntity, "invalid", "reason")
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", api("reinstate"), admin, map[string]string{"reason": "x"})), http.StatusConflict, "not_suspended", "")

		resp := apiCall(t, f, apiReq("POST", api("suspend"), manager, map[string]string{"reason": "Proctoring review opened."}))
		wantAPIStatus(t, resp, http.StatusOK)
		if got, want := string(resp.Body), `{"id":"`+credID+`","state":"suspended"}`; got != want {
			t.Errorf("suspend: got %s, want %s", got, want)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", api("suspend"), admin, map[string]string{"reason": "again"})), http.StatusUnprocessableEntity, "invalid", "id")
		p := page(t, f, "/credentials/"+credID, nil)
		wantBody(t, "suspended page", p, `data-status="suspended"`, "Suspended credential", "Proctoring review opened.")
		resp = apiCall(t, f, apiReq("POST", api("reinstate"), admin, map[string]string{"reason": "Review closed."}))
		wantAPIStatus(t, resp, http.StatusOK)
		if got, want := string(resp.Body), `{"id":"`+credID+`","state":"active"}`; got != want {
			t.Errorf("reinstate: got %s, want %s", got, want)
		}

		// The page's forms.
		form := func(decision string) string { return "/credentials/" + credID + "/" + decision }
		mgr := f.Users.Manager
		staffPage := page(t, f, "/credentials/"+credID, &mgr)
		wantBody(t, "page for a revoker", staffPage, `id="decisions"`, `action="/credentials/`+credID+`/suspend#decisions"`, `action="/credentials/`+credID+`/revoke#decisions"`)
		wantNotBody(t, "page for a revoker", staffPage, `/reinstate#decisions"`)
		for _, u := range []*webtest.User{nil, &f.Users.Candidate, &f.Users.Psychometrician} {
			wantNotBody(t, "page for a non-revoker", page(t, f, "/credentials/"+credID, u), `id="decisions"`)
		}
		if resp := postForm(t, f, form("suspend"), f.Users.Candidate, url.Values{"reason": {"mine"}}, true); resp.StatusCode != http.StatusForbidden {
			t.Errorf("suspend form as the candidate: got %d, want 403", resp.StatusCode)
		}
		if resp := postForm(t, f, form("suspend"), mgr, url.Values{"reason": {"x"}}, false); resp.StatusCode != http.StatusForbidden {
			t.Errorf("suspend form without CSRF token: got %d, want 403", resp.StatusCode)
		}
		resp = postForm(t, f, form("suspend"), mgr, url.Values{"reason": {""}}, true)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("suspend form without a reason: got %d, want 422", resp.StatusCode)
		}
		wantBody(t, "suspend form without a reason", resp, `id="reason-suspend-error"`, "Reason is required", `aria-invalid="true"`)
		resp = postForm(t, f, form("suspend"), mgr, url.Values{"reason": {"Second look at the recording."}}, true)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/credentials/"+credID+"#verification" {
			t.Errorf("suspend form: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		staffPage = page(t, f, "/credentials/"+credID, &mgr)
		wantBody(t, "suspended, for a revoker", staffPage, "Suspended credential", "Second look at the recording.", `/reinstate#decisions"`)
		resp = postForm(t, f, form("revoke"), mgr, url.Values{"reason": {"Impersonation confirmed."}}, true)
		wantAPIStatus(t, resp, http.StatusSeeOther)
		staffPage = page(t, f, "/credentials/"+credID, &mgr)
		wantBody(t, "revoked", staffPage, `data-status="revoked"`, "Revoked credential", "Impersonation confirmed.")
		wantNotBody(t, "revoked", staffPage, `id="decisions"`)
		wantAPIError(t, apiCall(t, f, apiReq("POST", api("suspend"), admin, map[string]string{"reason": "x"})), http.StatusConflict, "revoked", "")

		resp = apiCall(t, f, apiReq("GET", "/api/v1/audit?subject=credential:"+credID, admin, nil))
		var log apiAudit
		resp.JSON(t, &log)
		var actions []string
		for _, e := range log.Entries {
			actions = append(actions, e.Action)
		}
		if got, want := strings.Join(actions, " "), "credential.revoke credential.suspend credential.reinstate credential.suspend credential.issue"; got != want {
			t.Errorf("audit: got %s, want %s", got, want)
		}
	})
}

func TestVerifyPage(t *testing.T) {
	eachCredentialFixture(t, func(t *testing.T, f *webtest.Fixture) {
		cand := f.Users.Candidate
		credID := *apiPass(t, f, cand).CredentialID
		png := get(t, f, "/credentials/"+credID+"/badge.png", &cand).Body

		p := page(t, f, "/verify", nil)
		wantAPIStatus(t, p, http.StatusOK)
		wantBody(t, "verify page", p, `enctype="multipart/form-data"`, `name="file"`, `name="text"`, `name="_csrf"`, `href="/verify" aria-current="page"`)
		var csrf string
		for _, c := range p.Cookies() {
			if c.Name == "ts_csrf" {
				csrf = c.Value
			}
		}
		if csrf == "" {
			t.Fatal("the verify page set no CSRF cookie for its form")
		}
		submit := func(field, filename string, content []byte, token string) *webtest.Response {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("_csrf", token)
			if filename != "" {
				fw, _ := mw.CreateFormFile(field, filename)
				fw.Write(content)
			} else {
				mw.WriteField(field, string(content))
			}
			mw.Close()
			r := webtest.NewRequest("POST", "/verify", body.Bytes())
			r.Header.Set("Content-Type", mw.FormDataContentType())
			r.Header.Set("Accept", "text/html")
			r.AddCookie(&http.Cookie{Name: "ts_csrf", Value: csrf})
			return f.Do(t, r)
		}
		resp := submit("file", "badge.png", png, csrf)
		wantAPIStatus(t, resp, http.StatusOK)
		wantBody(t, "report", resp, `data-status="valid"`, "Valid credential", `id="report-achievement">Data Fundamentals`,
			`id="report-issuer">Touchstone Test Issuer`, "PNG badge image", `data-check="proof" data-passed="true"`,
			`data-check="status" data-passed="true"`, `href="/credentials/`+credID+`"`)
		wantNotBody(t, "report", resp, `data-passed="false"`)

		jsonDoc := get(t, f, "/credentials/"+credID+"/credential.json", &cand).Body
		resp = submit("text", "", bytes.Replace(jsonDoc, []byte("Data Fundamentals"), []byte("Data Mastery"), 1), csrf)
		wantBody(t, "tampered report", resp, `data-status="invalid"`, "Invalid credential", `data-check="proof" data-passed="false"`)

		if resp := submit("file", "badge.png", png, "wrong"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("verify form with a wrong CSRF token: got %d, want 403", resp.StatusCode)
		}
		resp = submit("text", "", nil, csrf)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("empty verify form: got %d, want 422", resp.StatusCode)
		}
		wantBody(t, "empty verify form", resp, `id="verify-error"`)

		// The navigation offers verification to everyone.
		for _, u := range []*webtest.User{nil, &cand, &f.Users.Admin} {
			wantBody(t, "home navigation", page(t, f, "/", u), `href="/verify"`)
		}
		wantBody(t, "manager navigation", page(t, f, "/", &f.Users.Manager), `href="/manage/achievements"`)
		wantNotBody(t, "candidate navigation", page(t, f, "/", &cand), `href="/manage/achievements"`)
	})
}

func TestVerifyRateLimited(t *testing.T) {
	f := webtest.New(t, dbtest.SQLite(t))
	const limit = 120 // web.verifyLimit
	for i := range limit {
		r := webtest.NewRequest("POST", "/api/v1/verify", []byte("not a credential"))
		if resp := apiCall(t, f, r); resp.StatusCode != http.StatusOK {
			t.Fatalf("verification %d: status %d, want 200 (an invalid credential is a valid question)", i+1, resp.StatusCode)
		}
	}
	wantAPIError(t, apiCall(t, f, webtest.NewRequest("POST", "/api/v1/verify", []byte("again"))), http.StatusTooManyRequests, "rate_limited", "")
}
