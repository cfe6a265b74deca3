package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/touchstone-assess/touchstone/"

// allowed maps a package (or a package tree, ending in "/...") to the
// packages of ours it may import directly. The first matching rule wins.
var allowed = []struct {
	pkg     string
	imports []string
}{
	{"psychometrics", nil},
	{"migrations", nil},
	{"internal/dbtest", []string{"migrations"}},
	{"internal/archtest", nil},
	{"internal/kv/kvtest", []string{"internal/kv"}},
	// blob is a leaf: file storage that knows nothing of the product.
	{"internal/blob", nil},
	{"internal/blob/blobtest", []string{"internal/blob"}},
	{"internal/award", []string{"assess", "credential", "web/auth"}},
	{"internal/...", nil},
	{"items", []string{"psychometrics", "internal/..."}},
	{"items/qti", []string{"items", "psychometrics", "internal/..."}},
	{"assess/assembly", []string{"psychometrics"}},
	{"assess/proctor", []string{"internal/..."}},
	{"assess", []string{"assess/assembly", "items", "psychometrics", "internal/..."}},
	// credential's sub-packages are leaves: proofs, VC-JWT, status lists,
	// baked images and schemas, each usable on its own.
	{"credential/proof", nil},
	{"credential/vcjwt", nil},
	{"credential/status", nil},
	{"credential/baked", nil},
	{"credential/schema", nil},
	{"credential", []string{"credential/...", "internal/..."}},
	{"web/auth", []string{"internal/..."}},
	{"web/webtest", []string{"web", "web/...", "items", "items/...", "assess", "assess/...", "credential", "credential/...", "internal/..."}},
	{"web/...", []string{"web/...", "items", "items/...", "assess", "assess/...", "credential", "credential/...", "psychometrics", "internal/..."}},
	{"web", []string{"web/...", "items", "items/...", "assess", "assess/...", "credential", "credential/...", "psychometrics", "internal/..."}},
	{"cmd/...", []string{"..."}},
}

func matches(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return strings.HasPrefix(pkg, tree+"/")
	}
	return pkg == pattern
}

func TestImportDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(p.ImportPath, module)
		rule := -1
		for i, r := range allowed {
			if matches(r.pkg, pkg) {
				rule = i
				break
			}
		}
		if rule < 0 {
			t.Errorf("package %s has no rule in the import table: add one (and to DESIGN.md)", pkg)
			continue
		}
		checked++
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			ok := false
			for _, a := range allowed[rule].imports {
				ok = ok || matches(a, dep)
			}
			if !ok {
				t.Errorf("%s imports %s, which DESIGN.md does not allow", pkg, dep)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages, want the whole module", checked)
	}
}
