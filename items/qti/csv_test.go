package qti

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

func TestImportCSV(t *testing.T) {
	f, err := os.Open("testdata/bank.csv") // starts with a byte order mark
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ImportCSV(f)
	if err != nil {
		t.Fatalf("ImportCSV: %v", err)
	}
	want := []Item{
		{Identifier: "geo-1", Title: "Capital", Content: items.Content{
			Domain: "Geography", Stem: "What is the **capital** of France?",
			Options: []items.Option{{ID: "A", Text: "Paris"}, {ID: "B", Text: "Lyon"}, {ID: "C", Text: "Marseille"}},
			Key:     "A", Rationale: "Paris, since 987.", Skills: []string{"geo.capitals", "geo.europe"}, References: []string{"Atlas p. 12"},
		}},
		{Identifier: "geo-2", Title: "Cities", Content: items.Content{
			Kind: items.MultipleResponse, Domain: "Geography", Stem: "Which are French cities?\n(Pick all.)",
			Options: []items.Option{{ID: "A", Text: "Paris"}, {ID: "B", Text: "Berlin"}, {ID: "C", Text: "Lyon"}, {ID: "D", Text: "Rome"}},
			Keys:    []string{"A", "C"}, Scoring: items.Partial, Points: 2,
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	// A CSV bank exports like any other.
	back, err := importBytes(export(t, QTI21, got))
	if err != nil || !reflect.DeepEqual(back, want) {
		t.Errorf("CSV items did not survive a QTI round trip: %v", err)
	}
}

func TestImportCSVErrors(t *testing.T) {
	const header = "identifier,domain,stem,option_a,option_b,option_c,option_d,key\n"
	tests := []struct {
		name, csv, want string
	}{
		{"key not an option", header + "a,D,S,1,2,3,4,A\n\nb,D,S,1,2,3,4,B\nc,D,S,1,2,3,4,E\n", `line 5: key: "E" is not an option`},
		{"key not a letter", header + "a,D,S,1,2,,,1\n", `line 2: key: "1" is not an option letter`},
		{"key twice", header + "a,D,S,1,2,,,\"A,a\"\n", `line 2: key: names "A" twice`},
		{"no key", header + "a,D,S,1,2,,,\n", `line 2: key: is required`},
		{"gap", header + "a,D,S,1,2,,4,A\n", `line 2: option_c: is empty but option_d is not; fill the options without a gap`},
		{"one option", header + "a,D,S,1,,,,A\n", `line 2: options: must hold 2 to 8 options, has 1`},
		{"no stem", header + "a,D, ,1,2,,,A\n", `line 2: stem: is required`},
		{"no identifier", header + ",D,S,1,2,,,A\n", `line 2: identifier: is required`},
		{"duplicate identifier", header + "a,D,S,1,2,,,A\na,D,S,1,2,,,B\n", `line 3: identifier: "a" is also the identifier on line 2`},
		{"unknown column", "identifier,domian,stem,option_a,option_b,key\n", `line 1: domian: is not a column ImportCSV knows`},
		{"missing column", "identifier,stem,option_a,option_b,key\n", `line 1: domain: the header lacks this required column`},
		{"field count", header + "a,D,S,1,2,,,A,extra\n", `line 2: wrong number of fields`},
		{"not UTF-8", header + "a,D,S,1,2,,,A\nb,D,Qu\xe9?,1,2,,,A\n", `line 3: stem: is not valid UTF-8; save the file as UTF-8`},
		{"header not UTF-8", "identifier,domain,st\xe9m,option_a,option_b,key\n", `line 1: column 3: is not valid UTF-8; save the file as UTF-8`},
		{"bare quote", header + "a,D,S\"x,1,2,,,A\n", `line 2: bare " in non-quoted-field`},
		{"scoring single", "identifier,domain,stem,option_a,option_b,key,scoring\na,D,S,1,2,A,partial\n", `line 2: scoring: applies only to items with several keys`},
		{"bad scoring", "identifier,domain,stem,option_a,option_b,key,scoring\na,D,S,1,2,AB,some\n", `line 2: scoring: must be "all_or_nothing" or "partial", is "some"`},
		{"bad points", "identifier,domain,stem,option_a,option_b,key,points\na,D,S,1,2,A,lots\n", `line 2: points: "lots" is not a number`},
		{"negative points", "identifier,domain,stem,option_a,option_b,key,points\na,D,S,1,2,A,-1\n", `line 2: points: must be a finite number ≥ 0`},
		{"multi-line cell", header + "a,D,\"line\none\",1,2,,,A\nb,D,S,1,2,,,Z\n", `line 4: key: "Z" is not an option`},
		{"empty", "", `line 1: the file is empty; it needs a header row`},
		{"header only", header, `line 2: the file holds no items`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ImportCSV(strings.NewReader(tt.csv))
			if err == nil {
				t.Fatalf("got %d items, no error; want %q", len(got), tt.want)
			}
			if got != nil {
				t.Errorf("got %d items with the error, want none", len(got))
			}
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, valid.ErrInvalid) {
				t.Errorf("got %T, want an *Error", err)
			}
			if err.Error() != tt.want {
				t.Errorf("got  %q\nwant %q", err, tt.want)
			}
		})
	}
}
