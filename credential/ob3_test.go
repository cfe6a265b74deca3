package credential_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/status"
)

// The -update flag rewrites golden files. It is registered here unless
// another test file of the package has registered it already.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
}

// updateGolden reports whether -update was given.
func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// sharedOpenBadges is the project's shared openbadges folder, beside the
// repository.
const sharedOpenBadges = "../../shared/openbadges"

// requireSharedOB skips the test when the shared openbadges folder is absent.
func requireSharedOB(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(sharedOpenBadges); err != nil {
		tb.Skipf("shared data %s not available (%v): the 1EdTech schema lives beside the repository, not in it", sharedOpenBadges, err)
	}
}

// testSigningKey is the fixed issuer key of the tests.
func testSigningKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(100 + i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

// testSignedAt is the fixed signing time of the tests.
var testSignedAt = time.Date(2025, 3, 1, 9, 30, 5, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// testBoard is the issuer of the test awards.
var testBoard = credential.Profile{
	ID:          "https://touchstone.example/issuers/board",
	Name:        "Touchstone Test Board",
	URL:         "https://touchstone.example",
	Email:       "credentials@touchstone.example",
	Description: "Certifies clinical competence by proctored examination.",
}

// testAward is a badge for a pass, with its standard. Its numbers carry
// floating-point noise on purpose.
func testAward() credential.Award {
	return credential.Award{
		ID:     "https://touchstone.example/credentials/6b1f0d2e-8c1a-4b5e-9a43-2f7d1c0e9b11",
		Name:   "Arterial Blood Gas Interpretation",
		Issuer: testBoard,
		Achievement: credential.Achievement{
			ID:              "https://touchstone.example/achievements/abg-interpretation",
			Name:            "Arterial Blood Gas Interpretation",
			Description:     "Interprets arterial blood gases: acid-base status, oxygenation and compensation.",
			Criteria:        "Pass the proctored **ABG Interpretation** exam (50 items):\n\n- score at or above the approved cut;\n- no integrity flag upheld on review.",
			AchievementType: "Badge",
			ImageURL:        "https://touchstone.example/achievements/abg-interpretation/badge.png",
			Alignments: []credential.Alignment{{
				TargetName:        "Acid-base disorders",
				TargetURL:         "https://touchstone.example/frameworks/critical-care/acid-base",
				TargetDescription: "Recognizes and explains acid-base disorders.",
				TargetFramework:   "Touchstone Critical Care Framework",
				TargetCode:        "CC-2.3",
			}},
			Creator: testBoard,
		},
		RecipientEmail: "ana.souza@example.org",
		RecipientSalt:  "b3f1c9e2",
		Score:          ptr(36.400000000000006),
		Standard: &credential.Standard{
			ID:                     "https://touchstone.example/standards/abg-interpretation/3",
			Version:                3,
			Method:                 "modified-Angoff",
			Panelists:              9,
			ScaleMin:               0,
			ScaleMax:               50,
			Cut:                    32.5,
			CutSE:                  1.2000000000000002,
			Reliability:            0.9123456,
			DecisionConsistency:    0.8799999,
			ClassificationAccuracy: ptr(0.9412),
			CSEMAtCut:              ptr(3.1749),
			FormID:                 "form-b",
			ApprovedBy:             "Dr. Grace Okafor, Program Director",
			ApprovedAt:             time.Date(2025, 2, 3, 16, 0, 0, 0, time.UTC),
		},
		Evidence: []credential.Evidence{{
			ID:          "https://touchstone.example/attempts/41c9/report",
			Name:        "Score report",
			Description: "The candidate's score report for this attempt.",
			Narrative:   "Proctored remotely; no integrity flags.",
		}},
		ValidFrom:  time.Date(2025, 3, 1, 9, 30, 0, 500_000_000, time.UTC),
		ValidUntil: time.Date(2028, 3, 1, 9, 30, 0, 0, time.UTC),
		Status:     status.Entry("https://touchstone.example/status-lists/5d1c/revocation", 94567, status.PurposeRevocation),
		Publisher:  "https://touchstone.example",
	}
}

// testCertificate is a pathway certificate: no score, no standard, the badges
// it stacks as evidence.
func testCertificate() credential.Award {
	return credential.Award{
		ID:     "https://touchstone.example/credentials/0e5a7c44-1d2b-4f60-8e3a-7b9c2d4f6a10",
		Name:   "Critical Care Foundations",
		Issuer: testBoard,
		Achievement: credential.Achievement{
			ID:              "https://touchstone.example/achievements/critical-care-foundations",
			Name:            "Critical Care Foundations",
			Description:     "Completed the critical care foundations pathway.",
			Criteria:        "Earn the three badges of the pathway.",
			AchievementType: "Certificate",
		},
		RecipientEmail: "ana.souza@example.org",
		RecipientSalt:  "77aa01",
		Evidence: []credential.Evidence{
			{ID: "https://touchstone.example/credentials/6b1f0d2e-8c1a-4b5e-9a43-2f7d1c0e9b11", Name: "Arterial Blood Gas Interpretation"},
			{ID: "https://touchstone.example/credentials/1a2b3c4d-0000-4000-8000-000000000002", Name: "Mechanical Ventilation"},
		},
		ValidFrom: time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC),
	}
}

// signAward builds and signs a with the test key, and returns the signed
// credential and its issuer's controller document.
func signAward(tb testing.TB, a credential.Award) (map[string]any, map[string]any) {
	tb.Helper()
	key := testSigningKey()
	pub := key.Public().(ed25519.PublicKey)
	signed, err := proof.Sign(credential.NewAchievementCredential(a), key, proof.VerificationMethodID(a.Issuer.ID, pub), testSignedAt)
	if err != nil {
		tb.Fatal(err)
	}
	return signed, proof.ControllerDocument(a.Issuer.ID, pub)
}

// checkGolden compares v, as indented JSON, with the golden file; -update
// rewrites it.
func checkGolden(tb testing.TB, file string, v any) {
	tb.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	got = append(got, '\n')
	if updateGolden() {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs (run go test -update after checking why):\ngot:\n%s", file, got)
	}
}

func TestAchievementCredentialGolden(t *testing.T) {
	checkGolden(t, "testdata/achievement_credential.golden.json", credential.NewAchievementCredential(testAward()))
	signed, controller := signAward(t, testAward())
	checkGolden(t, "testdata/achievement_credential_signed.golden.json", signed)
	checkGolden(t, "testdata/issuer_controller.golden.json", controller)
	checkGolden(t, "testdata/certificate_credential.golden.json", credential.NewAchievementCredential(testCertificate()))
}

func TestAchievementCredentialVerifies(t *testing.T) {
	for name, a := range map[string]credential.Award{"badge": testAward(), "certificate": testCertificate()} {
		t.Run(name, func(t *testing.T) {
			signed, controller := signAward(t, a)
			err := proof.Verify(signed, func(vm string) (ed25519.PublicKey, error) { return proof.AssertionKey(controller, vm) })
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
		})
	}
}

// TestAchievementCredentialSchema validates signed credentials against
// 1EdTech's Open Badges 3.0 AchievementCredential JSON Schema.
func TestAchievementCredentialSchema(t *testing.T) {
	requireSharedOB(t)
	sch := compileSchema(t, filepath.Join(sharedOpenBadges, "ob_v3p0_achievementcredential_schema.json"))
	for name, a := range map[string]credential.Award{"badge": testAward(), "certificate": testCertificate()} {
		t.Run(name, func(t *testing.T) {
			signed, _ := signAward(t, a)
			if err := sch.Validate(asSchemaInstance(t, signed)); err != nil {
				t.Errorf("signed credential does not validate:\n%v", err)
			}
		})
	}

	// The schema is strict enough to notice a broken credential.
	broken := credential.NewAchievementCredential(testAward())
	delete(broken["credentialSubject"].(map[string]any)["achievement"].(map[string]any), "criteria")
	if err := sch.Validate(asSchemaInstance(t, broken)); err == nil {
		t.Error("a credential whose achievement has no criteria validates")
	}
}

// compileSchema compiles the JSON Schema file at path. Only the schema itself
// and the draft meta-schemas built into the library are available: a remote
// $ref fails the test rather than reaching the network.
func compileSchema(tb testing.TB, path string) *jsonschema.Schema {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	if id == "" {
		tb.Fatalf("%s has no $id", path)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{}) // no scheme: nothing is fetched
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		tb.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		tb.Fatalf("compile %s (a remote $ref cannot be resolved offline): %v", path, err)
	}
	return sch
}

// asSchemaInstance returns v as the JSON Schema library reads JSON.
func asSchemaInstance(tb testing.TB, v any) any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return inst
}

// TestAchievementCredentialCanonicalizes checks that every term of the
// credential is defined by its contexts (canonicalization runs in safe mode),
// and that no value is lost on the way to RDF: every string of the document
// appears in its canonical N-Quads.
func TestAchievementCredentialCanonicalizes(t *testing.T) {
	for name, a := range map[string]credential.Award{"badge": testAward(), "certificate": testCertificate()} {
		t.Run(name, func(t *testing.T) {
			doc := credential.NewAchievementCredential(a)
			nq, err := proof.Canonicalize(doc)
			if err != nil {
				t.Fatalf("Canonicalize = %v", err)
			}
			for _, bad := range []string{"undefined-term#", "issuer-dependent#", "@vocab"} {
				if strings.Contains(nq, bad) {
					t.Errorf("canonical form uses %q:\n%s", bad, nq)
				}
			}
			var missing []string
			walkStrings(doc, "", func(key, s string) {
				if key == "@context" || key == "type" {
					return // contexts are not data; types become IRIs
				}
				if !strings.Contains(nq, `"`+nquadsEscape(s)+`"`) && !strings.Contains(nq, "<"+s+">") {
					missing = append(missing, key+"="+s)
				}
			})
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("values missing from the canonical form: %q\n%s", missing, nq)
			}
		})
	}
}

// walkStrings calls f with the key and value of every string in v.
func walkStrings(v any, key string, f func(key, s string)) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			walkStrings(e, k, f)
		}
	case []any:
		for _, e := range t {
			walkStrings(e, key, f)
		}
	case string:
		f(key, t)
	}
}

func nquadsEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
}

func TestAchievementCredentialNumbers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		score float64
		want  string
	}{
		{"noise", 16.400000000000002, "16.4"},
		{"integer", 32, "32"},
		{"two decimals", 31.25, "31.25"},
		{"rounded", 31.256, "31.26"},
		{"zero", 0, "0"},
		{"negative zero", -0.001, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testAward()
			a.Score = &tc.score
			doc := credential.NewAchievementCredential(a)
			result := doc["credentialSubject"].(map[string]any)["result"].([]any)[0].(map[string]any)
			if got := result["value"]; got != tc.want {
				t.Errorf("result value for %v = %v, want %s", tc.score, got, tc.want)
			}
		})
	}

	doc := credential.NewAchievementCredential(testAward())
	rd := doc["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["resultDescription"].([]any)[0].(map[string]any)
	for k, want := range map[string]string{"requiredValue": "32.5", "valueMin": "0", "valueMax": "50"} {
		if rd[k] != want {
			t.Errorf("resultDescription.%s = %v, want %s", k, rd[k], want)
		}
	}
	narrative := doc["evidence"].([]any)[0].(map[string]any)["narrative"].(string)
	for _, want := range []string{"pass mark is 32.5 (scores run from 0 to 50 points)", "modified-Angoff", "9 panelists", "standard error of the cut is 1.2", "0.91", "0.88", "Dr. Grace Okafor, Program Director", "2025-02-03", "Version 3"} {
		if !strings.Contains(narrative, want) {
			t.Errorf("standard narrative lacks %q: %s", want, narrative)
		}
	}
}

func TestIdentityHash(t *testing.T) {
	// printf '%s' 'ana.souza@example.orgb3f1c9e2' | sha256sum
	const want = "sha256$7382b4231a7535b678fb91982ecf76cfcaf2a24b2e425b604351628c6edaa29c"
	got := credential.IdentityHash("ana.souza@example.org", "b3f1c9e2")
	if got != want {
		t.Errorf("IdentityHash = %s, want %s", got, want)
	}
}
