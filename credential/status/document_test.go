package status_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/status"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	listURL   = "https://exams.example.org/status/revocation/1"
	issuerURL = "https://exams.example.org/issuers/board"
)

// specEncodedList is the encodedList of the specification's example: 131,072
// entries, none set (testdata/SOURCE.md).
const specEncodedList = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"

var (
	t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(24 * time.Hour)
)

// jsonTree returns v as decoded JSON: what a verifier holds after reading a
// document from the network.
func jsonTree(tb testing.TB, v any) map[string]any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		tb.Fatal(err)
	}
	return tree
}

func readJSON(tb testing.TB, file string) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	return tree
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
	if *update {
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

// mustPanic runs f and fails unless it panics with a message containing want.
func mustPanic(tb testing.TB, want string, f func()) {
	tb.Helper()
	defer func() {
		tb.Helper()
		r := recover()
		if r == nil {
			tb.Fatalf("no panic, want one mentioning %q", want)
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			tb.Fatalf("panic %v, want one mentioning %q", r, want)
		}
	}()
	f()
}

// TestSpecExample decodes the specification's own example list credential
// (testdata/SOURCE.md): 131,072 entries, none set, and checks the
// specification's example entry against it.
func TestSpecExample(t *testing.T) {
	listCred := readJSON(t, "testdata/spec-list-credential.json")
	encoded := listCred["credentialSubject"].(map[string]any)["encodedList"].(string)
	l, err := status.Decode(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 131072 {
		t.Errorf("Len() = %d, want 131072", l.Len())
	}
	if set := setBits(t, l); len(set) != 0 {
		t.Errorf("set bits %v, want none", set)
	}

	entries := status.Entries(readJSON(t, "testdata/spec-credential.json"))
	if len(entries) != 2 {
		t.Fatalf("Entries found %d entries, want 2", len(entries))
	}
	set, err := status.Check(entries[0], listCred)
	if err != nil || set {
		t.Errorf("Check(revocation entry 94567) = %v, %v; want false, nil", set, err)
	}
	// The second entry is a suspension entry of another list.
	if _, err := status.Check(entries[1], listCred); !errors.Is(err, status.ErrMismatch) {
		t.Errorf("Check(entry of list 4 against list 3) = %v, want ErrMismatch", err)
	}
}

func TestEntry(t *testing.T) {
	got := status.Entry(listURL, 94567, status.PurposeSuspension)
	want := map[string]any{
		"id":                   listURL + "#94567",
		"type":                 "BitstringStatusListEntry",
		"statusPurpose":        "suspension",
		"statusListIndex":      "94567",
		"statusListCredential": listURL,
	}
	if g, w := jsonTree(t, got), jsonTree(t, want); !jsonEqual(t, g, w) {
		t.Errorf("Entry = %v, want %v", got, want)
	}
	mustPanic(t, "negative index", func() { status.Entry(listURL, -1, status.PurposeRevocation) })
	mustPanic(t, `purpose "message"`, func() { status.Entry(listURL, 1, "message") })
}

func jsonEqual(tb testing.TB, a, b any) bool {
	tb.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		tb.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.Equal(x, y)
}

func TestListCredential(t *testing.T) {
	enc, err := newList(t, status.MinEntries, 3, 5000).Encode()
	if err != nil {
		t.Fatal(err)
	}
	issuer := map[string]any{"id": issuerURL, "name": "Board of Examiners"}
	// A validFrom with nanoseconds, in another zone: written in UTC, to the second.
	from := t0.Add(700 * time.Millisecond).In(time.FixedZone("CET", 3600))
	// The golden file holds the specification's encodedList rather than
	// Encode's output, which compress/gzip does not promise to keep byte for
	// byte across Go releases.
	golden := status.ListCredential(listURL, issuer, status.PurposeRevocation, specEncodedList, from, t1)
	checkGolden(t, "testdata/list-credential.golden.json", golden)
	doc := status.ListCredential(listURL, issuer, status.PurposeRevocation, enc, from, t1)
	if doc["validFrom"] != "2026-03-01T12:00:00Z" || doc["validUntil"] != "2026-03-02T12:00:00Z" {
		t.Errorf("validFrom, validUntil = %v, %v", doc["validFrom"], doc["validUntil"])
	}

	plain := status.ListCredential(listURL, issuerURL, status.PurposeSuspension, enc, t0, time.Time{})
	if _, ok := plain["validUntil"]; ok {
		t.Errorf("validUntil written for a zero time: %v", plain["validUntil"])
	}
	if plain["issuer"] != issuerURL {
		t.Errorf("issuer = %v, want %q", plain["issuer"], issuerURL)
	}

	// The document reads back with Check, and every term is defined by the
	// VC 2.0 context alone: it canonicalizes in JSON-LD safe mode, so it can
	// be signed.
	for _, d := range []map[string]any{golden, doc, plain} {
		if _, err := proof.Canonicalize(d); err != nil {
			t.Errorf("list credential does not canonicalize: %v", err)
		}
	}
	for i, want := range map[int]bool{3: true, 4: false, 5000: true} {
		set, err := status.Check(status.Entry(listURL, i, status.PurposeRevocation), jsonTree(t, doc))
		if err != nil || set != want {
			t.Errorf("Check(entry %d) = %v, %v; want %v, nil", i, set, err, want)
		}
	}

	// An Open Badges Profile issuer needs the Open Badges context, which a
	// list credential does not carry.
	obIssuer := status.ListCredential(listURL, map[string]any{"id": issuerURL, "type": []any{"Profile"}}, status.PurposeRevocation, enc, t0, t1)
	if _, err := proof.Canonicalize(obIssuer); !errors.Is(err, proof.ErrCanonicalize) {
		t.Errorf("list credential with a typed Profile issuer canonicalizes (%v); the doc comment says it cannot", err)
	}

	mustPanic(t, "purpose", func() { status.ListCredential(listURL, issuerURL, "refresh", enc, t0, t1) })
	mustPanic(t, "is not after validFrom", func() { status.ListCredential(listURL, issuerURL, status.PurposeRevocation, enc, t1, t0) })
	// Equal once truncated to the second.
	mustPanic(t, "is not after validFrom", func() {
		status.ListCredential(listURL, issuerURL, status.PurposeRevocation, enc, t0, t0.Add(500*time.Millisecond))
	})
}

// TestEntryInCredential: an entry placed in a credential's credentialStatus
// canonicalizes with the VC 2.0 context, its index as a string.
func TestEntryInCredential(t *testing.T) {
	cred := map[string]any{
		"@context":          []any{"https://www.w3.org/ns/credentials/v2"},
		"id":                "https://exams.example.org/credentials/1",
		"type":              []any{"VerifiableCredential"},
		"issuer":            issuerURL,
		"validFrom":         "2026-03-01T12:00:00Z",
		"credentialSubject": map[string]any{"id": "did:example:candidate"},
		"credentialStatus":  status.Entry(listURL, 42, status.PurposeRevocation),
	}
	nquads, err := proof.Canonicalize(cred)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<https://www.w3.org/ns/credentials/status#statusListIndex> "42"`,
		`<https://www.w3.org/ns/credentials/status#statusListCredential> <` + listURL + `>`,
		`<https://www.w3.org/ns/credentials/status#statusPurpose> "revocation"`,
	} {
		if !strings.Contains(nquads, want) {
			t.Errorf("canonical N-Quads lack %s:\n%s", want, nquads)
		}
	}
}

func TestEntries(t *testing.T) {
	a := status.Entry(listURL, 1, status.PurposeRevocation)
	b := status.Entry(listURL+"s", 2, status.PurposeSuspension)
	other := map[string]any{"id": "https://example.org/crl", "type": "1EdTechRevocationList"}
	arrayType := map[string]any{"type": []any{"BitstringStatusListEntry"}, "statusListIndex": "3"}
	for _, tc := range []struct {
		name   string
		status any
		want   []map[string]any
	}{
		{"absent", nil, nil},
		{"one object", a, []map[string]any{a}},
		{"array", []any{a, other, b}, []map[string]any{a, b}},
		{"type as an array", []any{arrayType}, []map[string]any{arrayType}},
		{"other method only", other, nil},
		{"not an object", "https://example.org/status", nil},
		{"array of junk", []any{"x", 3.0, nil}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred := map[string]any{"id": "https://example.org/c/1"}
			if tc.status != nil {
				cred["credentialStatus"] = tc.status
			}
			got := status.Entries(cred)
			if len(got) != len(tc.want) || (len(got) > 0 && !jsonEqual(t, got, tc.want)) {
				t.Errorf("Entries = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	n := status.MinEntries
	enc, err := newList(t, n, 5, n-1).Encode()
	if err != nil {
		t.Fatal(err)
	}
	short := encodeRaw(t, make([]byte, 1024))
	// Fresh decoded-JSON documents for each case.
	listCred := func() map[string]any {
		return jsonTree(t, status.ListCredential(listURL, issuerURL, status.PurposeRevocation, enc, t0, t1))
	}
	entry := func(i string) map[string]any {
		e := jsonTree(t, status.Entry(listURL, 0, status.PurposeRevocation))
		e["statusListIndex"] = i
		return e
	}
	subject := func(doc map[string]any) map[string]any { return doc["credentialSubject"].(map[string]any) }
	with := func(doc map[string]any, key string, v any) map[string]any {
		if v == nil {
			delete(doc, key)
		} else {
			doc[key] = v
		}
		return doc
	}
	withSubject := func(key string, v any) map[string]any {
		doc := listCred()
		with(subject(doc), key, v)
		return doc
	}

	for _, tc := range []struct {
		name     string
		entry    map[string]any
		list     map[string]any
		wantSet  bool
		wantErr  error
		errorHas string
	}{
		{name: "set", entry: entry("5"), list: listCred(), wantSet: true},
		{name: "unset", entry: entry("6"), list: listCred()},
		{name: "first", entry: entry("0"), list: listCred()},
		{name: "last, set", entry: entry("131071"), list: listCred(), wantSet: true},
		{name: "leading zeros", entry: entry("005"), list: listCred(), wantSet: true},
		{name: "type as an array", entry: with(entry("5"), "type", []any{"BitstringStatusListEntry"}), list: listCred(), wantSet: true},
		{name: "statusSize 1", entry: with(entry("5"), "statusSize", 1.0), list: listCred(), wantSet: true},
		{name: "list of two purposes", entry: with(entry("5"), "statusPurpose", "suspension"),
			list: withSubject("statusPurpose", []any{"revocation", "suspension"}), wantSet: true},
		{name: "one-bit message", entry: with(with(entry("5"), "statusPurpose", "message"), "statusSize", 1.0),
			list: withSubject("statusPurpose", "message"), wantSet: true},

		{name: "purpose mismatch", entry: with(entry("5"), "statusPurpose", "suspension"), list: listCred(), wantErr: status.ErrMismatch, errorHas: `purpose "suspension"`},
		{name: "other list", entry: with(entry("5"), "statusListCredential", listURL+"0"), list: listCred(), wantErr: status.ErrMismatch, errorHas: listURL + "0"},
		{name: "out of range", entry: entry("131072"), list: listCred(), wantErr: status.ErrRange},
		{name: "far out of range", entry: entry("99999999999999999999999999"), list: listCred(), wantErr: status.ErrRange},

		{name: "index a number", entry: with(entry(""), "statusListIndex", 5.0), list: listCred(), wantErr: status.ErrMalformed, errorHas: "want a string"},
		{name: "index missing", entry: with(entry(""), "statusListIndex", nil), list: listCred(), wantErr: status.ErrMalformed},
		{name: "index empty", entry: entry(""), list: listCred(), wantErr: status.ErrMalformed},
		{name: "index negative", entry: entry("-1"), list: listCred(), wantErr: status.ErrMalformed, errorHas: "base-10"},
		{name: "index signed", entry: entry("+5"), list: listCred(), wantErr: status.ErrMalformed},
		{name: "index spaced", entry: entry(" 5"), list: listCred(), wantErr: status.ErrMalformed},
		{name: "index exponent", entry: entry("5e0"), list: listCred(), wantErr: status.ErrMalformed},
		{name: "index hex", entry: entry("0x5"), list: listCred(), wantErr: status.ErrMalformed},
		{name: "index fraction", entry: entry("5.0"), list: listCred(), wantErr: status.ErrMalformed},
		{name: "index trailing text", entry: entry("5abc"), list: listCred(), wantErr: status.ErrMalformed},
		{name: "index full-width digit", entry: entry("５"), list: listCred(), wantErr: status.ErrMalformed},

		{name: "entry of another method", entry: with(entry("5"), "type", "StatusList2021Entry"), list: listCred(), wantErr: status.ErrMalformed},
		{name: "entry without list URL", entry: with(entry("5"), "statusListCredential", nil), list: listCred(), wantErr: status.ErrMalformed},
		{name: "entry id is the list URL", entry: with(entry("5"), "id", listURL), list: listCred(), wantErr: status.ErrMalformed},
		{name: "entry purpose missing", entry: with(entry("5"), "statusPurpose", nil), list: listCred(), wantErr: status.ErrMalformed},
		{name: "refresh purpose", entry: with(entry("5"), "statusPurpose", "refresh"), list: withSubject("statusPurpose", "refresh"), wantErr: status.ErrUnsupported},
		{name: "two-bit message", entry: with(with(entry("5"), "statusPurpose", "message"), "statusSize", 2.0),
			list: withSubject("statusPurpose", "message"), wantErr: status.ErrUnsupported, errorHas: "statusSize 2"},
		{name: "statusSize a string", entry: with(entry("5"), "statusSize", "1"), list: listCred(), wantErr: status.ErrMalformed},

		{name: "list without id", entry: entry("5"), list: with(listCred(), "id", nil), wantErr: status.ErrMalformed},
		{name: "list of another type", entry: entry("5"), list: with(listCred(), "type", []any{"VerifiableCredential"}), wantErr: status.ErrMalformed},
		{name: "list subjects in an array", entry: entry("5"), list: with(listCred(), "credentialSubject", []any{subject(listCred())}), wantErr: status.ErrMalformed},
		{name: "list subject of another type", entry: entry("5"), list: withSubject("type", "StatusList2021"), wantErr: status.ErrMalformed},
		{name: "list purpose missing", entry: entry("5"), list: withSubject("statusPurpose", nil), wantErr: status.ErrMalformed},
		{name: "list purpose empty array", entry: entry("5"), list: withSubject("statusPurpose", []any{}), wantErr: status.ErrMalformed},
		{name: "list statusSize 2", entry: entry("5"), list: withSubject("statusSize", 2.0), wantErr: status.ErrUnsupported},
		{name: "list without encodedList", entry: entry("5"), list: withSubject("encodedList", nil), wantErr: status.ErrMalformed},
		{name: "encodedList not multibase", entry: entry("5"), list: withSubject("encodedList", enc[1:]), wantErr: status.ErrMalformed},
		{name: "list too short", entry: entry("5"), list: withSubject("encodedList", short), wantErr: status.ErrListLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := status.Check(tc.entry, tc.list)
			if tc.wantErr == nil {
				if err != nil || set != tc.wantSet {
					t.Fatalf("Check = %v, %v; want %v, nil", set, err, tc.wantSet)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || set {
				t.Fatalf("Check = %v, %v; want false and an error wrapping %v", set, err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.errorHas) {
				t.Errorf("error %q does not mention %q", err, tc.errorHas)
			}
		})
	}
}
