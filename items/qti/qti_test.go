package qti

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// sampleItems returns one item of every kind, with every field set
// somewhere, and Markdown that exercises the XHTML conversion.
func sampleItems() []Item {
	abc := []items.Option{{ID: "A", Text: "*Paris*"}, {ID: "B", Text: "Lyon & `Nice`"}, {ID: "C", Text: "Marseille <3"}}
	return []Item{
		{
			Identifier: "3f2a9c1e-0b7d-4c55-9f1a-2d3e4f5a6b7c", Title: "Capital of France", Status: items.StatusApproved, Version: 3,
			Author: "Ada Lovelace", Enemies: []string{"item-2", "item-9"},
			IRT:        &psychometrics.Item3PL{A: 1.25, B: -0.4, C: 0.2},
			Statistics: &Statistics{N: 412, PValue: 0.71, PointBiserial: 0.38},
			Content: items.Content{
				Domain: "Geography", Stem: "What is the **capital** of France?\n\nPick one.",
				Exhibit: "| city | pop |\n| --- | --- |\n| Paris | 2.1M |", Options: abc, Key: "A",
				Rationale: "Paris has been the capital since 987.\r\nSee [Wikipedia](https://en.wikipedia.org/wiki/Paris).",
				Skills:    []string{"geo.capitals"}, References: []string{"Atlas, p. 12"}, Points: 2,
			},
		},
		{
			Identifier: "tf-1", Title: "True or false", Status: items.StatusDraft,
			Content: items.Content{Kind: items.TrueFalse, Domain: "Logic", Stem: "The sky is green.", Options: items.TrueFalseOptions(), Key: items.OptionFalse},
		},
		{
			Identifier: "mr-all", Title: "Pick all",
			Content: items.Content{Kind: items.MultipleResponse, Domain: "Geography", Stem: "Which are French cities?",
				Options: append(abc, items.Option{ID: "D", Text: "Berlin"}), Keys: []string{"A", "C"}},
		},
		{
			Identifier: "mr-partial", Title: "Pick all (partial)",
			Content: items.Content{Kind: items.MultipleResponse, Domain: "Geography", Stem: "Which are French cities?",
				Options: append(abc, items.Option{ID: "D", Text: "Berlin"}), Keys: []string{"A", "B", "C"}, Scoring: items.Partial, Points: 3},
		},
		{
			Identifier: "num-abs", Title: "Pi",
			Content: items.Content{Kind: items.Numeric, Domain: "Maths", Stem: "Give π to two decimals.", Numeric: &items.NumericKey{Value: 3.14, Tolerance: 0.005}},
		},
		{
			Identifier: "num-rel", Title: "Avogadro",
			Content: items.Content{Kind: items.Numeric, Domain: "Chemistry", Stem: "Avogadro's number?", Numeric: &items.NumericKey{Value: 6.02214076e23, Tolerance: 0.07, Relative: true}},
		},
		{
			Identifier: "num-exact", Title: "Answer",
			Content: items.Content{Kind: items.Numeric, Domain: "Maths", Stem: "6 × 7 =", Numeric: &items.NumericKey{Value: 42}},
		},
		{
			Identifier: "short", Title: "Capital (typed)",
			Content: items.Content{Kind: items.ShortText, Domain: "Geography", Stem: "Type the capital of Italy.", Accepted: []string{"Rome", "Roma", " Rom a "}},
		},
		{
			Identifier: "short-cs", Title: "Symbol",
			Content: items.Content{Kind: items.ShortText, Domain: "Chemistry", Stem: "Symbol of sodium?", Accepted: []string{"Na"}, CaseSensitive: true},
		},
		{
			Identifier: "order-all", Title: "Order",
			Content: items.Content{Kind: items.Ordering, Domain: "History", Stem: "Oldest first.",
				Options: []items.Option{{ID: "o1", Text: "Rome"}, {ID: "o2", Text: "Byzantium"}, {ID: "o3", Text: "Venice"}}, Keys: []string{"o1", "o2", "o3"}},
		},
		{
			Identifier: "order-partial", Title: "Order (partial)",
			Content: items.Content{Kind: items.Ordering, Domain: "History", Stem: "Oldest first.",
				Options: []items.Option{{ID: "o1", Text: "Rome"}, {ID: "o2", Text: "Byzantium"}, {ID: "o3", Text: "Venice"}}, Keys: []string{"o2", "o1", "o3"}, Scoring: items.Partial},
		},
		{
			Identifier: "match", Title: "Match",
			Content: items.Content{Kind: items.Matching, Domain: "Geography", Stem: "Match country and capital.", Scoring: items.Partial,
				Options: []items.Option{{ID: "fr", Text: "France"}, {ID: "it", Text: "Italy"}, {ID: "va", Text: "Vatican"}},
				Targets: []items.Option{{ID: "paris", Text: "Paris"}, {ID: "rome", Text: "Rome"}, {ID: "bern", Text: "Bern"}},
				Pairs:   map[string]string{"fr": "paris", "it": "rome", "va": "rome"}},
		},
		{
			Identifier: "match-all", Title: "Match (all)",
			Content: items.Content{Kind: items.Matching, Domain: "Geography", Stem: "Match.",
				Options: []items.Option{{ID: "fr", Text: "France"}, {ID: "it", Text: "Italy"}},
				Targets: []items.Option{{ID: "paris", Text: "Paris"}, {ID: "rome", Text: "Rome"}},
				Pairs:   map[string]string{"fr": "paris", "it": "rome"}},
		},
	}
}

func export(tb testing.TB, v Version, list []Item) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := Export(&buf, v, list); err != nil {
		tb.Fatalf("Export: %v", err)
	}
	return buf.Bytes()
}

func importBytes(b []byte) ([]Item, error) { return Import(bytes.NewReader(b), int64(len(b))) }

func TestRoundTrip(t *testing.T) {
	for _, v := range []Version{QTI21, QTI30} {
		for _, want := range sampleItems() {
			t.Run(string(v)+"/"+want.Identifier, func(t *testing.T) {
				got, err := importBytes(export(t, v, []Item{want}))
				if err != nil {
					t.Fatalf("Import: %v", err)
				}
				if len(got) != 1 {
					t.Fatalf("got %d items, want 1", len(got))
				}
				if !reflect.DeepEqual(got[0], want) {
					t.Errorf("round trip changed the item:\n got %#v\nwant %#v", got[0], want)
				}
			})
		}
	}
}

func TestRoundTripWholeBank(t *testing.T) {
	want := sampleItems()
	got, err := importBytes(export(t, QTI30, want))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %d items differing from the %d exported", len(got), len(want))
	}
}

// zipOf builds a package from name → content pairs, in order.
func zipOf(tb testing.TB, files ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		f, err := zw.Create(files[i])
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := f.Write([]byte(files[i+1])); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestErrorIsInvalid(t *testing.T) {
	_, err := importBytes([]byte("not a zip"))
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, valid.ErrInvalid) {
		t.Fatalf("got %v, want an error matching ErrInvalid and valid.ErrInvalid", err)
	}
	var qe *Error
	if !errors.As(err, &qe) {
		t.Fatalf("got %T, want *Error", err)
	}
	if !strings.HasPrefix(err.Error(), "not a zip file") {
		t.Errorf("got %q", err)
	}
}

// openolatPackage zips testdata/openolat, a QTI 2.1 package written by
// OpenOLAT (see testdata/SOURCE.md).
func openolatPackage(tb testing.TB) []byte {
	tb.Helper()
	var files []string
	for _, name := range []string{"imsmanifest.xml", "multiple-choice-score-all-11-2-3.xml", "multiple-choice-per-answer-11-2-3.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "openolat", name))
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, name, string(b))
	}
	return zipOf(tb, files...)
}

func TestImportOpenOLAT(t *testing.T) {
	got, err := importBytes(openolatPackage(t))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	opts := func(ids ...string) []items.Option {
		texts := map[string]string{
			"mc1959a495d449f9af65b38695d3aff1": "Correct answer", "mcd39be64a6b4f20a2372cba44340e59": "Wrong answer",
			"mc18648f96a84d479817cb5e81165c80": "Incorrect answer", "mca856e7adb54d3f9af06ecf9c00da69": "Right answer",
			"mc80677ac3f4449ebc689cf60c230a3d": "Correct answer", "mc1b7b8257e2419b880936ea11bff1f1": "Wrong answer",
			"mcaacc51e0ca4027b3adb3107cda4e30": "Missed answer", "mc7e5667abeb415fa05a8c7d8fd3d6bb": "Right answer",
		}
		var out []items.Option
		for _, id := range ids {
			out = append(out, items.Option{ID: id, Text: texts[id]})
		}
		return out
	}
	want := []Item{
		{
			Identifier: "mc14a55b33114bea978c6be8ff8ab7e8", Title: "Multiple choice score",
			Content: items.Content{
				Kind: items.MultipleResponse, Domain: DefaultDomain, Stem: "A question",
				Options: opts("mc1959a495d449f9af65b38695d3aff1", "mcd39be64a6b4f20a2372cba44340e59", "mc18648f96a84d479817cb5e81165c80", "mca856e7adb54d3f9af06ecf9c00da69"),
				Keys:    []string{"mc1959a495d449f9af65b38695d3aff1", "mca856e7adb54d3f9af06ecf9c00da69"},
				Points:  2,
				Rationale: "**All right**\n\nAll answers are correct\n\n**Not right**\n\nYou missed something\n\n" +
					"**Correct solution**\n\nThis is the correct solution",
			},
		},
		{
			Identifier: "mcbe900fffcb49f08698b349e7b832e0", Title: "Multiple choice per answer",
			Content: items.Content{
				Kind: items.MultipleResponse, Domain: DefaultDomain, Stem: "A question",
				Options:   opts("mc80677ac3f4449ebc689cf60c230a3d", "mc1b7b8257e2419b880936ea11bff1f1", "mcaacc51e0ca4027b3adb3107cda4e30", "mc7e5667abeb415fa05a8c7d8fd3d6bb"),
				Keys:      []string{"mc80677ac3f4449ebc689cf60c230a3d", "mc7e5667abeb415fa05a8c7d8fd3d6bb"},
				Scoring:   items.Partial,
				Rationale: "**Correct**\n\nAll answers correct\n\n**Wrong**\n\nSome choices are wrong",
			},
		},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d items, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("item %d:\n got %#v\nwant %#v", i, got[i], want[i])
		}
	}
}

// stripExtension removes the Touchstone extension from a package's
// manifest, as a tool that does not know it might.
func stripExtension(tb testing.TB, pkg []byte) []byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		tb.Fatal(err)
	}
	var files []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		s := string(b)
		if f.Name == manifestName {
			s = regexp.MustCompile(`(?s)<ts:item .*?</ts:item>`).ReplaceAllString(s, "")
			if strings.Contains(s, "ts:") {
				tb.Fatal("extension left in the manifest")
			}
		}
		files = append(files, f.Name, s)
	}
	return zipOf(tb, files...)
}

// TestImportWithoutExtension reads Export's packages as another tool's
// would be read, from the QTI alone: the structure and key of every kind
// must survive, and the Markdown converted from the XHTML must render as
// the original does.
func TestImportWithoutExtension(t *testing.T) {
	r := items.NewRenderer()
	for _, v := range []Version{QTI21, QTI30} {
		want := sampleItems()
		got, err := importBytes(stripExtension(t, export(t, v, want)))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %d items, want %d", v, len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			gc, wc := g.Content, w.Content
			name := string(v) + "/" + w.Identifier
			if g.Identifier != w.Identifier && g.Identifier != "ts-"+w.Identifier {
				t.Errorf("%s: identifier %q", name, g.Identifier)
			}
			if g.Title != w.Title || gc.ItemKind() != wc.ItemKind() || gc.Key != wc.Key || gc.CaseSensitive != wc.CaseSensitive || gc.MaxPoints() != wc.MaxPoints() {
				t.Errorf("%s: got title %q kind %s key %q case %v points %v, want %q %s %q %v %v", name,
					g.Title, gc.ItemKind(), gc.Key, gc.CaseSensitive, gc.MaxPoints(), w.Title, wc.ItemKind(), wc.Key, wc.CaseSensitive, wc.MaxPoints())
			}
			if !reflect.DeepEqual(gc.Keys, wc.Keys) || !reflect.DeepEqual(gc.Numeric, wc.Numeric) || !reflect.DeepEqual(gc.Pairs, wc.Pairs) {
				t.Errorf("%s: got keys %v numeric %+v pairs %v, want %v %+v %v", name, gc.Keys, gc.Numeric, gc.Pairs, wc.Keys, wc.Numeric, wc.Pairs)
			}
			if len(gc.Accepted) != len(wc.Accepted) {
				t.Errorf("%s: got accepted %q, want %q", name, gc.Accepted, wc.Accepted)
			}
			wantScoring := wc.Scoring
			if wc.ItemKind() == items.Ordering {
				wantScoring = "" // another tool's ordering item is read as all or nothing
			}
			if gc.Scoring != wantScoring {
				t.Errorf("%s: got scoring %q, want %q", name, gc.Scoring, wantScoring)
			}
			if gc.Domain != DefaultDomain {
				t.Errorf("%s: got domain %q, want %q", name, gc.Domain, DefaultDomain)
			}
			stem := strings.TrimSuffix(gc.Stem, "\n\n"+`\_\_\_\_\_`)
			if got, want := r.Render(stem), r.Render(wc.Stem); got != want {
				t.Errorf("%s: stem renders as\n%s\nwant\n%s", name, got, want)
			}
			if got, want := r.Render(gc.Exhibit), r.Render(wc.Exhibit); got != want {
				t.Errorf("%s: exhibit renders as\n%s\nwant\n%s", name, got, want)
			}
			for j, o := range wc.Options {
				if gc.Options[j].ID != o.ID || r.Render(gc.Options[j].Text) != r.Render(o.Text) {
					t.Errorf("%s: option %d is %+v, want %+v", name, j, gc.Options[j], o)
				}
			}
		}
	}
}
