package proof_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/credential/proof"
)

// sharedDir is the project's shared openbadges folder, beside the repository.
const sharedDir = "../../../shared/openbadges"

// requireShared skips the test when the shared openbadges folder is absent.
func requireShared(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(sharedDir); err != nil {
		tb.Skipf("shared data %s not available (%v): the 1EdTech files live beside the repository, not in it", sharedDir, err)
	}
}

func TestContextFilesMatchShared(t *testing.T) {
	sums, err := os.Open(filepath.Join(sharedDir, "SHA256SUMS"))
	if err != nil {
		t.Skipf("cannot check the embedded contexts against their published hashes: %v", err)
	}
	defer sums.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(sums)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if ok {
			want[name] = sum
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	fsys := proof.ContextFiles()
	for url, file := range proof.ContextURLs() {
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			t.Errorf("%s: %v", url, err)
			continue
		}
		h := sha256.Sum256(b)
		got := hex.EncodeToString(h[:])
		w, ok := want[file]
		switch {
		case !ok:
			t.Errorf("%s: %s is not listed in SHA256SUMS", url, file)
		case got != w:
			t.Errorf("%s: sha256(%s) = %s, want %s", url, file, got, w)
		}
	}
}

// TestTouchstoneContextForAnyDeployment: the extension context is served
// for every deployment's URL of it, and only for such URLs.
func TestTouchstoneContextForAnyDeployment(t *testing.T) {
	loader := proof.DocumentLoader()
	for _, u := range []string{"https://exams.example.org/ns/v1/context.jsonld", "http://127.0.0.1:8080/ns/v1/context.jsonld",
		proof.TouchstoneContextURL("https://board.example/assess/")} {
		if _, err := loader.LoadDocument(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"https://exams.example.org/ns/v2/context.jsonld", "ftp://x.example/ns/v1/context.jsonld",
		"https://x.example/ns/v1/context.jsonld?v=2", "/ns/v1/context.jsonld", "https:///ns/v1/context.jsonld"} {
		if _, err := loader.LoadDocument(u); !errors.Is(err, proof.ErrUnknownContext) {
			t.Errorf("%s: %v, want ErrUnknownContext", u, err)
		}
	}
}

func TestContextFilesIndex(t *testing.T) {
	urls := proof.ContextURLs()
	wantURLs := []string{
		"https://www.w3.org/ns/credentials/v2",
		"https://www.w3.org/ns/credentials/undefined-terms/v2",
		"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
		"https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
		"https://w3id.org/security/data-integrity/v2",
		"https://w3id.org/security/multikey/v1",
		"https://www.w3.org/ns/did/v1",
		"https://w3id.org/security/v1",
		"https://w3id.org/security/v2",
		"https://www.w3.org/ns/cid/v1",
	}
	for _, u := range wantURLs {
		if _, ok := urls[u]; !ok {
			t.Errorf("ContextURLs lacks %s", u)
		}
	}
	if len(urls) != len(wantURLs) {
		t.Errorf("ContextURLs has %d entries, want %d", len(urls), len(wantURLs))
	}

	// Every context file in the embedded folder is served, and no other.
	entries, err := fs.ReadDir(proof.ContextFiles(), ".")
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{proof.ContextTouchstoneV1File: true} // served for any deployment's URL of it
	for _, f := range urls {
		served[f] = true
	}
	var files []string
	for _, e := range entries {
		switch e.Name() {
		case "index.json", "SOURCES.md":
			continue
		}
		files = append(files, e.Name())
		if !served[e.Name()] {
			t.Errorf("contexts/%s is embedded but not in index.json", e.Name())
		}
	}
	sort.Strings(files)
	if len(files) != len(served) {
		t.Errorf("embedded context files %v, index.json names %d", files, len(served))
	}

	// SOURCES.md records the source of every file.
	sources, err := fs.ReadFile(proof.ContextFiles(), "SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.Contains(string(sources), "`"+f+"`") {
			t.Errorf("SOURCES.md does not name %s", f)
		}
	}
}

func TestDocumentLoader(t *testing.T) {
	dl := proof.DocumentLoader()
	for url := range proof.ContextURLs() {
		rd, err := dl.LoadDocument(url)
		if err != nil {
			t.Errorf("LoadDocument(%s): %v", url, err)
			continue
		}
		m, ok := rd.Document.(map[string]any)
		if !ok || m["@context"] == nil {
			t.Errorf("LoadDocument(%s): document has no @context", url)
		}
		if rd.DocumentURL != url {
			t.Errorf("LoadDocument(%s).DocumentURL = %s", url, rd.DocumentURL)
		}
	}
	for _, url := range []string{
		"https://www.w3.org/2018/credentials/v1",
		"https://example.com/context.jsonld",
		"http://www.w3.org/ns/credentials/v2", // http, not https
		"",
	} {
		if _, err := dl.LoadDocument(url); !errors.Is(err, proof.ErrUnknownContext) {
			t.Errorf("LoadDocument(%q) error = %v, want ErrUnknownContext", url, err)
		}
	}
}
