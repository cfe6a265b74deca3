package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/credential/schema"
)

func golden(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../testdata/achievement_credential_signed.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestValidate(t *testing.T) {
	if err := schema.Validate(golden(t)); err != nil {
		t.Fatalf("the golden credential: %v", err)
	}
	cases := map[string]struct {
		edit  func(map[string]any)
		where string
	}{
		"status as an array": {func(d map[string]any) { d["credentialStatus"] = []any{d["credentialStatus"]} }, "Open Badges"},
		"contexts out of order": {func(d map[string]any) {
			c := d["@context"].([]any)
			c[0], c[1] = c[1], c[0]
		}, "Open Badges"},
		"proof not an array": {func(d map[string]any) { d["proof"] = d["proof"].([]any)[0] }, "Open Badges"},
		"standard without a cut": {func(d map[string]any) {
			delete(d["credentialSubject"].(map[string]any)["passingStandard"].(map[string]any), "cutScore")
		}, "Touchstone"},
		"standard with a number as string": {func(d map[string]any) {
			d["credentialSubject"].(map[string]any)["passingStandard"].(map[string]any)["reliability"] = "high"
		}, "Touchstone"},
		"standard with an unknown member": {func(d map[string]any) {
			d["credentialSubject"].(map[string]any)["passingStandard"].(map[string]any)["secret"] = "x"
		}, "Touchstone"},
	}
	for name, tc := range cases {
		d := golden(t)
		tc.edit(d)
		err := schema.Validate(d)
		if !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), tc.where) {
			t.Errorf("%s: %v; want ErrInvalid from the %s schema", name, err, tc.where)
		}
	}
}

// TestEmbeddedSchemaIsPublished checks the embedded Open Badges schema
// against the shared copy of 1EdTech's published file, when present.
func TestEmbeddedSchemaIsPublished(t *testing.T) {
	shared, err := os.ReadFile("../../../shared/openbadges/ob_v3p0_achievementcredential_schema.json")
	if err != nil {
		t.Skipf("shared openbadges folder not found: %v", err)
	}
	embedded, err := os.ReadFile("ob_v3p0_achievementcredential_schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, embedded) {
		t.Error("the embedded AchievementCredential schema differs from the published one")
	}
}
