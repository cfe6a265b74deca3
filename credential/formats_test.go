package credential_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/vcjwt"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// downloads returns every format a holder can download c in.
func downloads(t testing.TB, f *fixture, c credential.Credential) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	out := map[string][]byte{"json": c.Document}
	for _, alg := range []string{credential.EdDSA, credential.RS256} {
		jwt, err := f.svc.JWT(ctx, c, alg)
		if err != nil {
			t.Fatal(err)
		}
		out["jwt "+alg] = []byte(jwt)
	}
	for _, img := range []string{credential.PNG, credential.SVG} {
		for _, alg := range []string{"", credential.EdDSA} {
			b, err := f.svc.Baked(ctx, c, img, alg)
			if err != nil {
				t.Fatal(err)
			}
			out[img+" "+alg] = b
		}
	}
	return out
}

func TestEveryFormatVerifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		c := f.issue(t, "attempt:1", f.badge, 612)
		wantFormat := map[string]string{"json": "json", "jwt EdDSA": "jwt", "jwt RS256": "jwt", "png ": "png", "png EdDSA": "png", "svg ": "svg", "svg EdDSA": "svg"}
		for name, b := range downloads(t, f, c) {
			v := f.svc.VerifyInput(context.Background(), b)
			if !v.Valid || v.Format != wantFormat[name] {
				t.Errorf("%s: %v", name, v)
			}
		}
		if err := f.svc.Revoke(context.Background(), "manager", c.ID, "fraud"); err != nil {
			t.Fatal(err)
		}
		for name, b := range downloads(t, f, mustGet(t, f, c.ID)) {
			if v := f.svc.VerifyInput(context.Background(), b); v.State != credential.StateRevoked {
				t.Errorf("%s of a revoked credential: %v", name, v)
			}
		}
	})
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t))
	ctx := context.Background()
	c := f.issue(t, "attempt:1", f.badge, 612)
	jwt, err := f.svc.JWT(ctx, c, credential.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jwt, ".")
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	d := doc(t, c)
	delete(d, "proof")
	selfSigned, err := vcjwt.Sign(d, other, "https://evil.example/keys/1")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		input []byte
		check string
	}{
		"tampered score":           {bytes.Replace(c.Document, []byte(`"value":"612"`), []byte(`"value":"799"`), 1), "proof"},
		"tampered JWT payload":     {[]byte(parts[0] + "." + parts[1][:len(parts[1])-4] + "AAAA." + parts[2]), "proof"},
		"JWT signed by a stranger": {[]byte(selfSigned), "proof"},
		"not a credential":         {[]byte("hello"), "format"},
		"a PNG without credential": {[]byte("\x89PNG\r\n\x1a\n\x00\x00"), "format"},
		"JSON array":               {[]byte("[1,2]"), "format"},
	}
	for name, tc := range cases {
		v := f.svc.VerifyInput(ctx, tc.input)
		if v.Valid || v.State != credential.StateInvalid || !hasCheck(v, tc.check, false) || v.Problem == "" {
			t.Errorf("%s: %v; want invalid with a failing %q check", name, v, tc.check)
		}
	}
	big := make([]byte, credential.MaxVerifyBytes+1)
	if v := f.svc.VerifyInput(ctx, big); v.Valid || !strings.Contains(v.Problem, "larger") {
		t.Errorf("oversize input: %v", v)
	}
}

func TestKeyRotationKeepsEarlierCredentialsValid(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		before := f.issue(t, "attempt:1", f.badge, 612)
		oldJWT, err := f.svc.JWT(ctx, before, credential.EdDSA)
		if err != nil {
			t.Fatal(err)
		}
		// The operator rotates the key: a new service signs with a new one.
		newKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, 32))
		rotated := credential.NewService(db, f.clock.Now, testBaseURL, newKey, credential.WithRSAKey(testRSAKey()))
		if _, err := rotated.EnsureIssuer(ctx, credential.IssuerInput{Name: "ignored"}); err != nil {
			t.Fatal(err)
		}
		after, err := rotated.Issue(ctx, credential.IssueRequest{Key: "attempt:2", AchievementID: f.others[0], RecipientID: f.candidate,
			RecipientEmail: f.email, Actor: "system:test"})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(before.Document, after.Document) || !strings.Contains(string(after.Document), "#z6Mk") {
			t.Fatal("no credential after the rotation")
		}
		for name, input := range map[string][]byte{"old JSON": before.Document, "old JWT": []byte(oldJWT), "new JSON": after.Document} {
			if v := rotated.VerifyInput(ctx, input); !v.Valid {
				t.Errorf("%s after rotation: %v", name, v)
			}
		}
		jwks, err := rotated.JWKS(ctx, f.issuerID)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(jwks["keys"].([]any)); n != 3 {
			t.Errorf("JWKS has %d keys, want both Ed25519 keys and the RSA key", n)
		}
		did, err := rotated.DIDDocument(ctx, f.issuerID)
		if err != nil {
			t.Fatal(err)
		}
		if did["id"] != "did:web:touchstone.example" || len(did["assertionMethod"].([]any)) != 2 {
			t.Errorf("DID document: %v", did)
		}
		// A compromised old key: re-issue what it signed.
		oldKeyID := strings.SplitN(doc(t, before)["proof"].([]any)[0].(map[string]any)["verificationMethod"].(string), "#", 2)[1]
		reissued, err := rotated.ReissueSignedBy(ctx, "admin", oldKeyID, "key compromised")
		if err != nil {
			t.Fatal(err)
		}
		if len(reissued) != 1 || reissued[0].Supersedes != before.ID {
			t.Fatalf("re-issued %v", reissued)
		}
		if v := rotated.VerifyInput(ctx, reissued[0].Document); !v.Valid || !strings.Contains(string(reissued[0].Document), "#"+credentialKeyID(newKey)) {
			t.Errorf("re-issued credential: %v", v)
		}
	})
}

func credentialKeyID(k ed25519.PrivateKey) string {
	return proof.EncodeMultikey(k.Public().(ed25519.PublicKey))
}

// An achievement or issuer name is text that its author wrote: in a baked
// SVG it must stay text, however much it looks like markup.
func TestBakedSVGShowsNamesAsText(t *testing.T) {
	const name, issuer = `<script>alert(1)</script> & "x"`, `Board" onload="alert(2)`
	ctx := context.Background()
	f := &fixture{db: dbtest.SQLite(t), clock: &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}, email: "ana@example.org"}
	f.svc = credential.NewService(f.db, f.clock.Now, testBaseURL, testSigningKey())
	var err error
	if f.issuerID, err = f.svc.EnsureIssuer(ctx, credential.IssuerInput{Name: issuer, URL: "https://board.example"}); err != nil {
		t.Fatal(err)
	}
	f.candidate = f.user(t, f.email)
	badge, err := f.svc.CreateAchievementAs(ctx, "manager", f.issuerID, credential.AchievementInput{
		Slug: "markup", Name: name, Description: "Shows <b>markup</b>.", Criteria: "Pass the exam.", AchievementType: "Badge", Level: "<i>1</i>",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := f.issue(t, "attempt:1", badge, 612)
	for _, alg := range []string{"", credential.EdDSA} {
		b, err := f.svc.Baked(ctx, c, credential.SVG, alg)
		if err != nil {
			t.Fatal(err)
		}
		title, label := svgText(t, b)
		if title != name {
			t.Errorf("alg %q: <title> = %q, want %q", alg, title, name)
		}
		if !strings.Contains(label, issuer) {
			t.Errorf("alg %q: aria-label %q lacks the issuer %q", alg, label, issuer)
		}
		if v := f.svc.VerifyInput(ctx, b); !v.Valid {
			t.Errorf("alg %q: the baked SVG does not verify: %v", alg, v)
		}
	}
}

// svgText parses a baked badge with encoding/xml, failing t on malformed
// XML or on an element the badge does not draw (a <script>, say), and
// returns its <title> text and its aria-label.
func svgText(t *testing.T, svg []byte) (title, label string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var in string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return title, label
		}
		if err != nil {
			t.Fatalf("the SVG does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch in = tok.Name.Local; in {
			case "svg":
				for _, a := range tok.Attr {
					if a.Name.Local == "aria-label" {
						label = a.Value
					}
				}
			case "title", "desc", "path", "g", "text", "credential":
			default:
				t.Errorf("unexpected element <%s>", tok.Name.Local)
			}
		case xml.CharData:
			if in == "title" {
				title += string(tok)
			}
		case xml.EndElement:
			in = ""
		}
	}
}
