// Package schema validates Open Badges 3.0 credentials against the 1EdTech
// AchievementCredential JSON Schema and, when a credential carries
// Touchstone's PassingStandard extension, against the extension's own
// schema. Both schemas are embedded: validation never touches the network.
package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schemas, as a credential's credentialSchema names them. Each Touchstone
// deployment publishes the extension's schema at TouchstoneV1Path;
// TouchstoneV1URL is only its $id.
const (
	AchievementCredentialURL = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
	TouchstoneV1URL          = "https://touchstone-assess.github.io/ns/v1/schema.json"
	TouchstoneV1Path         = "/ns/v1/schema.json"
	// ValidatorType is the credentialSchema type Open Badges 3.0 uses.
	ValidatorType = "1EdTechJsonSchemaValidator2019"
)

var (
	//go:embed ob_v3p0_achievementcredential_schema.json
	achievementCredentialJSON []byte
	//go:embed touchstone-v1.schema.json
	touchstoneV1JSON []byte
)

// ErrInvalid wraps every validation failure.
var ErrInvalid = errors.New("schema: the credential does not match its JSON Schema")

// TouchstoneV1 returns the extension's JSON Schema document, to publish.
func TouchstoneV1() []byte { return bytes.Clone(touchstoneV1JSON) }

var compiled = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{}) // no scheme: a remote $ref fails
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for url, b := range map[string][]byte{AchievementCredentialURL: achievementCredentialJSON, TouchstoneV1URL: touchstoneV1JSON} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema: embedded %s: %w", url, err)
		}
		// The 1EdTech schema's $id differs from the URL credentials name;
		// register it under its own $id and look it up by ours.
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			return nil, err
		}
		s, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("schema: compile %s: %w", url, err)
		}
		out[url] = s
	}
	return out, nil
})

// Validate checks credential (a decoded JSON object) against the Open
// Badges 3.0 AchievementCredential schema, and against Touchstone's
// extension schema when the credential names the extension's context.
// The error wraps ErrInvalid and says where the document fails.
func Validate(credential map[string]any) error {
	schemas, err := compiled()
	if err != nil {
		return err
	}
	// The library reads JSON numbers as json.Number: round-trip through
	// its decoder so Go float64 values compare as the schema expects.
	b, err := json.Marshal(credential)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := schemas[AchievementCredentialURL].Validate(inst); err != nil {
		return fmt.Errorf("%w: Open Badges 3.0: %v", ErrInvalid, err)
	}
	if namesTouchstoneContext(credential) {
		if err := schemas[TouchstoneV1URL].Validate(inst); err != nil {
			return fmt.Errorf("%w: Touchstone v1 extension: %v", ErrInvalid, err)
		}
	}
	return nil
}

// namesTouchstoneContext reports whether the credential names the
// extension context of some deployment ("…/ns/v1/context.jsonld").
func namesTouchstoneContext(doc map[string]any) bool {
	list, _ := doc["@context"].([]any)
	for _, c := range list {
		if s, ok := c.(string); ok && strings.HasSuffix(s, "/ns/v1/context.jsonld") {
			return true
		}
	}
	return false
}
