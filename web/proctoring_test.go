package web

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// humanDir lays out an installed @vladmandic/human package with the served
// files, plus a model and a demo that must never be served.
func humanDir(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"package.json":          `{"name": "@vladmandic/human", "version": "` + version + `"}`,
		"dist/human.esm.js":     "export class Human {}\n",
		"models/blazeface.json": `{"format": "graph-model"}`,
		"models/blazeface.bin":  "\x00\x01",
		"models/facemesh.json":  `{"format": "graph-model"}`,
		"models/facemesh.bin":   "\x02\x03",
		"models/faceres.json":   `{"format": "graph-model"}`,
		"demo/index.html":       "<p>demo</p>",
		"LICENSE":               "MIT License",
	}
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func proctoringServer(t *testing.T, dir string) *Server {
	t.Helper()
	s, err := New(Config{ProctoringAssets: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func getProctoring(t *testing.T, s *Server, path string) (*http.Response, string) {
	t.Helper()
	resp, err := s.App().Test(httptest.NewRequest(http.MethodGet, path, nil), -1)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestProctoringAssetsServed(t *testing.T) {
	s := proctoringServer(t, humanDir(t, "3.3.6"))

	resp, body := getProctoring(t, s, "/static/proctoring/manifest.json")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("manifest: status %d, %v: %s", resp.StatusCode, err, body)
	}
	want := map[string]any{
		"available":     true,
		"library":       "/static/proctoring/human-3.3.6/human.esm.js",
		"modelBasePath": "/static/proctoring/human-3.3.6/models/",
		"version":       "3.3.6",
		"license":       "/static/proctoring/human-3.3.6/LICENSE",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("manifest %s: got %v, want %v", k, m[k], v)
		}
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("manifest Cache-Control: got %q, want no-cache", got)
	}

	tests := []struct {
		path, contentType, body string
	}{
		{"/static/proctoring/human-3.3.6/human.esm.js", "text/javascript; charset=utf-8", "export class Human {}\n"},
		{"/static/proctoring/human-3.3.6/models/blazeface.json", "application/json", `{"format": "graph-model"}`},
		{"/static/proctoring/human-3.3.6/models/blazeface.bin", "application/octet-stream", "\x00\x01"},
		{"/static/proctoring/human-3.3.6/models/facemesh.json", "application/json", `{"format": "graph-model"}`},
		{"/static/proctoring/human-3.3.6/models/facemesh.bin", "application/octet-stream", "\x02\x03"},
		{"/static/proctoring/human-3.3.6/LICENSE", "text/plain; charset=utf-8", "MIT License"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := getProctoring(t, s, tt.path)
			if resp.StatusCode != http.StatusOK || body != tt.body {
				t.Fatalf("got status %d, body %q; want 200, %q", resp.StatusCode, body, tt.body)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.contentType)
			}
			if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
				t.Errorf("Cache-Control: got %q, want %q", got, want)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
			}
		})
	}

	for _, path := range []string{
		"/static/proctoring/human-3.3.5/human.esm.js",          // another version: its URL must not serve this one
		"/static/proctoring/human-3.3.6/models/faceres.json",   // installed but not used
		"/static/proctoring/human-3.3.6/demo/index.html",       // the package's demo
		"/static/proctoring/human-3.3.6/package.json",          // anything else of the package
		"/static/proctoring/human-3.3.6/../../package.json",    // a path out of it
		"/static/proctoring/human-3.3.6/models%2F..%2FLICENSE", // an escaped one
	} {
		if resp, _ := getProctoring(t, s, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: got status %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestProctoringAssetsMissing(t *testing.T) {
	incomplete := humanDir(t, "3.3.6")
	if err := os.Remove(filepath.Join(incomplete, "models", "facemesh.bin")); err != nil {
		t.Fatal(err)
	}
	other := humanDir(t, "1.0.0")
	if err := os.WriteFile(filepath.Join(other, "package.json"), []byte(`{"name": "left-pad", "version": "1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{
		"not configured":     "",
		"not installed":      filepath.Join(t.TempDir(), "node_modules", "@vladmandic", "human"),
		"a model is missing": incomplete,
		"another package":    other,
	} {
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			s, err := New(Config{ProctoringAssets: dir, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(log.String(), "level=WARN msg=\"face checks of proctoring snapshots are unavailable") {
				t.Errorf("start-up log: got %q, want a warning that face checks are unavailable", log.String())
			}
			resp, body := getProctoring(t, s, "/static/proctoring/manifest.json")
			var m struct {
				Available bool
				Reason    string
			}
			if err := json.Unmarshal([]byte(body), &m); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("manifest: status %d, %v: %s", resp.StatusCode, err, body)
			}
			if m.Available || m.Reason == "" {
				t.Errorf("manifest: got %s, want unavailable with a reason", body)
			}
			if resp, _ := getProctoring(t, s, "/static/proctoring/human-3.3.6/human.esm.js"); resp.StatusCode != http.StatusNotFound {
				t.Errorf("library: got status %d, want 404", resp.StatusCode)
			}
		})
	}
}

// TestFaceCheckModuleEmbedded checks that the browser module ships in the
// binary and loads its models from the manifest's local path only.
func TestFaceCheckModuleEmbedded(t *testing.T) {
	s := proctoringServer(t, "")
	resp, body := getProctoring(t, s, "/static/facecheck.js")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /static/facecheck.js: status %d", resp.StatusCode)
	}
	for _, want := range []string{"export async function loadFaceCheck", "modelBasePath: manifest.modelBasePath", "/static/proctoring/manifest.json"} {
		if !strings.Contains(body, want) {
			t.Errorf("facecheck.js lacks %q", want)
		}
	}
	for _, never := range []string{"http://", "https://"} {
		if strings.Contains(body, never) {
			t.Errorf("facecheck.js names %q: it must load nothing from elsewhere", never)
		}
	}
}
