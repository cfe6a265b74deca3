package qti

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzImport feeds Import arbitrary bytes. It must never panic, must
// fail only with an *Error, and whatever it accepts must be valid content
// that exports and imports again unchanged.
func FuzzImport(f *testing.F) {
	f.Add(openolatPackage(f))
	f.Add(export(f, QTI21, sampleItems()))
	f.Add(export(f, QTI30, sampleItems()[:3]))
	f.Add(onePackage(f, item21(choiceDecl, "<p>Q?</p>"+choiceBody)))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Import(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if got != nil {
				t.Fatalf("got items and an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %T %v, want an *Error", err, err)
			}
			return
		}
		for _, it := range got {
			if err := it.Content.Validate(); err != nil {
				t.Fatalf("imported invalid content: %v", err)
			}
		}
		var buf bytes.Buffer
		if err := Export(&buf, QTI30, got); err != nil {
			// Foreign identifiers need not be exportable (an option
			// ID that is not a QTI identifier cannot come from a
			// well-formed package, but IDs are trimmed, not checked).
			return
		}
		back, err := Import(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("re-import of an export failed: %v", err)
		}
		if !reflect.DeepEqual(back, got) {
			t.Fatalf("export then import changed the items:\n got %#v\nwant %#v", back, got)
		}
	})
}

// FuzzImportCSV feeds ImportCSV arbitrary text: no panic, only *Error,
// and only valid content.
func FuzzImportCSV(f *testing.F) {
	bank, err := os.ReadFile("testdata/bank.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(bank))
	f.Add("identifier,domain,stem,option_a,option_b,key\na,D,S,1,2,A\n")
	f.Add("identifier,domain,stem,option_a,option_b,option_c,key,scoring\na,D,\"S\nS\",1,2,3,\"A,C\",partial\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ImportCSV(strings.NewReader(s))
		if err != nil {
			if got != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %d items, error %T %v", len(got), err, err)
			}
			return
		}
		for _, it := range got {
			if err := it.Content.Validate(); err != nil {
				t.Fatalf("imported invalid content: %v", err)
			}
		}
	})
}

// FuzzImportItem fuzzes the XML of one item inside a well-formed
// package, which reaches the item interpreter far more often than
// mutating the zip does (most zip mutations fail its checksums).
func FuzzImportItem(f *testing.F) {
	for _, name := range []string{"multiple-choice-score-all-11-2-3.xml", "multiple-choice-per-answer-11-2-3.xml"} {
		b, err := os.ReadFile("testdata/openolat/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(item21(choiceDecl, "<p>Q? <em>x</em></p><ul><li>a</li></ul>"+choiceBody))
	f.Fuzz(func(t *testing.T, item string) {
		pkg := zipOf(t, "imsmanifest.xml", manifest21([]string{"a.xml"}), "a.xml", item)
		got, err := importBytes(pkg)
		if err != nil {
			if got != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %d items, error %T %v", len(got), err, err)
			}
			return
		}
		for _, it := range got {
			if err := it.Content.Validate(); err != nil {
				t.Fatalf("imported invalid content: %v", err)
			}
			if strings.Contains(strings.ReplaceAll(strings.ToLower(it.Content.Stem), `\<`, ""), "<script") {
				t.Fatalf("script survived in the stem %q", it.Content.Stem)
			}
		}
	})
}
