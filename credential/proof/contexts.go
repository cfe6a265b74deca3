package proof

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"strings"
	"sync"

	"github.com/piprate/json-gold/ld"
)

// Context URLs that Touchstone's documents name.
const (
	ContextCredentialsV2   = "https://www.w3.org/ns/credentials/v2"
	ContextOpenBadgesV3    = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
	ContextDataIntegrityV2 = "https://w3id.org/security/data-integrity/v2"
	ContextMultikeyV1      = "https://w3id.org/security/multikey/v1"
	ContextDIDV1           = "https://www.w3.org/ns/did/v1"
	ContextOBExtensions    = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
	// ContextTouchstoneV1Path is where every Touchstone deployment
	// publishes its extension context (the PassingStandard a credential's
	// subject met): a credential names <issuer's base URL> + this path.
	ContextTouchstoneV1Path = "/ns/v1/context.jsonld"
	// ContextTouchstoneV1File is the embedded file of that context.
	ContextTouchstoneV1File = "touchstone-v1.jsonld"
)

//go:embed contexts/*.json contexts/*.jsonld contexts/SOURCES.md
var contextFS embed.FS

// contextIndex is the parsed contexts/index.json: context URL → file name.
var contextIndex = sync.OnceValue(func() map[string]string {
	b, err := contextFS.ReadFile("contexts/index.json")
	if err != nil {
		panic("proof: embedded contexts/index.json: " + err.Error())
	}
	var idx struct {
		Contexts []struct{ URL, File string }
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		panic("proof: embedded contexts/index.json: " + err.Error())
	}
	m := make(map[string]string, len(idx.Contexts))
	for _, c := range idx.Contexts {
		m[c.URL] = c.File
	}
	return m
})

// ContextFiles returns the embedded JSON-LD context files, read-only. The root
// holds the context files themselves, index.json (the URL → file map, in the
// form {"contexts": [{"url": …, "file": …}]}) and SOURCES.md (their provenance).
// A server can hand it to http.FS or fs.Sub-style helpers to publish the
// contexts; an offline verifier can copy it to disk.
func ContextFiles() fs.FS {
	sub, err := fs.Sub(contextFS, "contexts")
	if err != nil {
		panic("proof: " + err.Error()) // the path is a constant
	}
	return sub
}

// ContextURLs returns a new map from every context URL served by
// DocumentLoader to the name of its file in ContextFiles.
func ContextURLs() map[string]string {
	return maps.Clone(contextIndex())
}

// TouchstoneContextURL is the URL of the extension context published by the
// deployment at baseURL.
func TouchstoneContextURL(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + ContextTouchstoneV1Path
}

// IsTouchstoneContext reports whether u names Touchstone's v1 extension
// context as some deployment publishes it. Its content is fixed by its
// version, so the embedded copy stands for every deployment's: a verifier
// never fetches it, and a deployment serving something else could not make
// a credential verify that Touchstone's own context would not.
func IsTouchstoneContext(u string) bool {
	rest, ok := strings.CutSuffix(u, ContextTouchstoneV1Path)
	if !ok {
		return false
	}
	parsed, err := url.Parse(rest)
	return err == nil && (parsed.Scheme == "https" || parsed.Scheme == "http") && parsed.Host != "" &&
		parsed.RawQuery == "" && parsed.Fragment == ""
}

// DocumentLoader returns a json-gold document loader that serves the embedded
// contexts and nothing else: it never touches the network. Touchstone's
// extension context is served for any deployment's URL of it
// (IsTouchstoneContext). Loading any other URL returns an error wrapping
// ErrUnknownContext. Each call of LoadDocument
// returns a freshly decoded document, so callers may modify it.
func DocumentLoader() ld.DocumentLoader {
	return offlineLoader{}
}

type offlineLoader struct{}

// LoadDocument implements ld.DocumentLoader.
func (offlineLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	file, ok := contextIndex()[u]
	if !ok && IsTouchstoneContext(u) {
		file, ok = ContextTouchstoneV1File, true
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownContext, u)
	}
	b, err := contextFS.ReadFile("contexts/" + file)
	if err != nil {
		return nil, fmt.Errorf("proof: embedded context %s: %w", file, err)
	}
	doc, err := ld.DocumentFromReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("proof: embedded context %s: %w", file, err)
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
}
