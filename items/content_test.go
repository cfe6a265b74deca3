package items_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// Valid items of every kind, shared by the tests of this package.

func singleChoice() items.Content {
	return items.Content{
		Domain: "Formulas", Stem: "Which function adds a range?",
		Options:   []items.Option{{ID: "a", Text: "SUM"}, {ID: "b", Text: "COUNT"}, {ID: "c", Text: "MAX"}},
		Key:       "a",
		Rationale: "SUM adds; COUNT counts.",
	}
}

func trueFalse() items.Content {
	return items.Content{
		Kind: items.TrueFalse, Domain: "Formulas", Stem: "`=A1+A2` adds two cells.",
		Options: items.TrueFalseOptions(), Key: items.OptionTrue, Rationale: "It does.",
	}
}

func multipleResponse(scoring string) items.Content {
	return items.Content{
		Kind: items.MultipleResponse, Domain: "Charts", Stem: "Which charts show parts of a whole?",
		Options: []items.Option{{ID: "pie", Text: "Pie"}, {ID: "bar", Text: "Bar"}, {ID: "tree", Text: "Treemap"}, {ID: "line", Text: "Line"}},
		Keys:    []string{"pie", "tree"}, Scoring: scoring, Rationale: "Pie and treemap divide a whole.",
	}
}

func numeric(value, tolerance float64, relative bool) items.Content {
	return items.Content{
		Kind: items.Numeric, Domain: "Formulas", Stem: "What is =PI() to two places?",
		Numeric: &items.NumericKey{Value: value, Tolerance: tolerance, Relative: relative}, Rationale: "π ≈ 3.14159.",
	}
}

func shortText(caseSensitive bool, accepted ...string) items.Content {
	return items.Content{
		Kind: items.ShortText, Domain: "Formulas", Stem: "Name the function that looks a value up in a column.",
		Accepted: accepted, CaseSensitive: caseSensitive, Rationale: "VLOOKUP, or XLOOKUP in newer versions.",
	}
}

func ordering(scoring string) items.Content {
	return items.Content{
		Kind: items.Ordering, Domain: "Pivot Tables", Stem: "Put the steps in order.",
		Options: []items.Option{{ID: "s1", Text: "Select the data"}, {ID: "s2", Text: "Insert a pivot table"}, {ID: "s3", Text: "Drag fields"}, {ID: "s4", Text: "Format"}},
		Keys:    []string{"s1", "s2", "s3", "s4"}, Scoring: scoring, Rationale: "Data first.",
	}
}

func matching(scoring string) items.Content {
	return items.Content{
		Kind: items.Matching, Domain: "Formulas", Stem: "Match each function with what it does.",
		Options: []items.Option{{ID: "o1", Text: "SUM"}, {ID: "o2", Text: "AVERAGE"}, {ID: "o3", Text: "COUNT"}},
		Targets: []items.Option{{ID: "t1", Text: "adds"}, {ID: "t2", Text: "takes the mean"}, {ID: "t3", Text: "counts numbers"}, {ID: "t4", Text: "finds the largest"}},
		Pairs:   map[string]string{"o1": "t1", "o2": "t2", "o3": "t3"}, Scoring: scoring, Rationale: "By name.",
	}
}

func allKinds() map[string]items.Content {
	return map[string]items.Content{
		"single choice":         singleChoice(),
		"true/false":            trueFalse(),
		"multiple response":     multipleResponse(""),
		"multiple response/pc":  multipleResponse(items.Partial),
		"numeric":               numeric(3.14, 0.005, false),
		"numeric relative":      numeric(1000, 0.01, true),
		"short text":            shortText(false, "VLOOKUP", "XLOOKUP"),
		"short text case":       shortText(true, "VLOOKUP"),
		"ordering":              ordering(items.AllOrNothing),
		"ordering partial":      ordering(items.Partial),
		"matching":              matching(""),
		"matching partial":      matching(items.Partial),
		"single choice, points": withPoints(singleChoice(), 2.5),
	}
}

func withPoints(c items.Content, p float64) items.Content {
	c.Points = p
	return c
}

func TestValidateAcceptsEveryKind(t *testing.T) {
	for name, c := range allKinds() {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v, want nil", name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name      string
		content   func() items.Content
		wantField string
	}{
		{"no domain", func() items.Content { c := singleChoice(); c.Domain = " "; return c }, "domain"},
		{"no stem", func() items.Content { c := singleChoice(); c.Stem = ""; return c }, "stem"},
		{"unknown kind", func() items.Content { c := singleChoice(); c.Kind = "essay"; return c }, "kind"},
		{"negative points", func() items.Content { return withPoints(singleChoice(), -1) }, "points"},
		{"NaN points", func() items.Content { return withPoints(singleChoice(), math.NaN()) }, "points"},
		{"infinite points", func() items.Content { return withPoints(singleChoice(), math.Inf(1)) }, "points"},
		{"blank skill", func() items.Content { c := singleChoice(); c.Skills = []string{"SUM", " "}; return c }, "skills[1]"},
		{"blank reference", func() items.Content { c := singleChoice(); c.References = []string{""}; return c }, "references[0]"},

		{"single: one option", func() items.Content { c := singleChoice(); c.Options = c.Options[:1]; return c }, "options"},
		{"single: nine options", func() items.Content {
			c := singleChoice()
			for len(c.Options) < 9 {
				c.Options = append(c.Options, items.Option{ID: string(rune('d' + len(c.Options))), Text: "more"})
			}
			return c
		}, "options"},
		{"single: option without text", func() items.Content { c := singleChoice(); c.Options[1].Text = " "; return c }, "options[1]"},
		{"single: duplicate option id", func() items.Content { c := singleChoice(); c.Options[2].ID = "a"; return c }, "options[2].id"},
		{"single: key not an option", func() items.Content { c := singleChoice(); c.Key = "z"; return c }, "key"},
		{"single: keys set", func() items.Content { c := singleChoice(); c.Keys = []string{"a"}; return c }, "keys"},
		{"single: scoring set", func() items.Content { c := singleChoice(); c.Scoring = items.Partial; return c }, "scoring"},

		{"true/false: three options", func() items.Content {
			c := trueFalse()
			c.Options = append(c.Options, items.Option{ID: "maybe", Text: "Maybe"})
			return c
		}, "options"},
		{"true/false: other id", func() items.Content { c := trueFalse(); c.Options[1].ID = "no"; return c }, "options[1].id"},
		{"true/false: two trues", func() items.Content { c := trueFalse(); c.Options[1].ID = "true"; return c }, "options[1].id"},
		{"true/false: no key", func() items.Content { c := trueFalse(); c.Key = ""; return c }, "key"},

		{"multiple: no keys", func() items.Content { c := multipleResponse(""); c.Keys = nil; return c }, "keys"},
		{"multiple: key not an option", func() items.Content { c := multipleResponse(""); c.Keys = []string{"pie", "donut"}; return c }, "keys[1]"},
		{"multiple: duplicate key", func() items.Content { c := multipleResponse(""); c.Keys = []string{"pie", "pie"}; return c }, "keys[1]"},
		{"multiple: unknown scoring", func() items.Content { return multipleResponse("negative") }, "scoring"},
		{"multiple: key set", func() items.Content { c := multipleResponse(""); c.Key = "pie"; return c }, "key"},

		{"numeric: no key", func() items.Content { c := numeric(1, 0, false); c.Numeric = nil; return c }, "numeric"},
		{"numeric: NaN value", func() items.Content { return numeric(math.NaN(), 0, false) }, "numeric.value"},
		{"numeric: infinite value", func() items.Content { return numeric(math.Inf(-1), 0, false) }, "numeric.value"},
		{"numeric: negative tolerance", func() items.Content { return numeric(1, -0.1, false) }, "numeric.tolerance"},
		{"numeric: NaN tolerance", func() items.Content { return numeric(1, math.NaN(), false) }, "numeric.tolerance"},
		{"numeric: options", func() items.Content { c := numeric(1, 0, false); c.Options = items.TrueFalseOptions(); return c }, "options"},
		{"numeric: accepted", func() items.Content { c := numeric(1, 0, false); c.Accepted = []string{"1"}; return c }, "accepted"},

		{"short text: none accepted", func() items.Content { return shortText(false) }, "accepted"},
		{"short text: blank accepted", func() items.Content { return shortText(false, "VLOOKUP", " \t") }, "accepted[1]"},
		{"short text: numeric key", func() items.Content {
			c := shortText(false, "x")
			c.Numeric = &items.NumericKey{}
			return c
		}, "numeric"},
		{"single: case sensitive", func() items.Content { c := singleChoice(); c.CaseSensitive = true; return c }, "case_sensitive"},

		{"ordering: keys missing an option", func() items.Content { c := ordering(""); c.Keys = c.Keys[:3]; return c }, "keys"},
		{"ordering: keys repeat an option", func() items.Content { c := ordering(""); c.Keys[3] = "s1"; return c }, "keys[3]"},
		{"ordering: keys name no option", func() items.Content { c := ordering(""); c.Keys[0] = "s9"; return c }, "keys[0]"},

		{"matching: too few targets", func() items.Content { c := matching(""); c.Targets = c.Targets[:1]; return c }, "targets"},
		{"matching: duplicate target", func() items.Content { c := matching(""); c.Targets[3].ID = "t1"; return c }, "targets[3].id"},
		{"matching: option unpaired", func() items.Content { c := matching(""); delete(c.Pairs, "o2"); return c }, "pairs"},
		{"matching: pair to unknown target", func() items.Content { c := matching(""); c.Pairs["o2"] = "t9"; return c }, "pairs.o2"},
		{"matching: pair of unknown option", func() items.Content { c := matching(""); c.Pairs["o9"] = "t1"; return c }, "pairs.o9"},
		{"ordering: targets", func() items.Content { c := ordering(""); c.Targets = matching("").Targets; return c }, "targets"},
		{"single: pairs", func() items.Content { c := singleChoice(); c.Pairs = map[string]string{"a": "t"}; return c }, "pairs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.content().Validate()
			var ve *valid.Error
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *valid.Error", err)
			}
			if !errors.Is(err, valid.ErrInvalid) {
				t.Errorf("errors.Is(%v, valid.ErrInvalid) = false, want true", err)
			}
			if ve.Field != tt.wantField {
				t.Errorf("Validate() field = %q (%v), want %q", ve.Field, err, tt.wantField)
			}
		})
	}
}

// TestLegacyJSON checks that content written before kinds existed reads as
// a single-choice item and is written back with the same JSON.
func TestLegacyJSON(t *testing.T) {
	const legacy = `{"domain":"Formulas","stem":"Which?","exhibit":"","options":[{"id":"a","text":"SUM"},{"id":"b","text":"COUNT"}],"key":"a","rationale":"SUM adds."}`
	var c items.Content
	if err := json.Unmarshal([]byte(legacy), &c); err != nil {
		t.Fatal(err)
	}
	if got := c.ItemKind(); got != items.SingleChoice {
		t.Errorf("ItemKind() = %q, want %q", got, items.SingleChoice)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
	if got, want := c.MaxPoints(), 1.0; got != want {
		t.Errorf("MaxPoints() = %v, want %v", got, want)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != legacy {
		t.Errorf("json.Marshal = %s, want %s", out, legacy)
	}
}

func TestJSONFieldNames(t *testing.T) {
	c := matching(items.Partial)
	c.Points, c.Skills, c.References = 2, []string{"lookup"}, []string{"Walkenbach 2015"}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(out, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kind", "targets", "pairs", "scoring", "points", "skills", "references"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("JSON %s has no field %q", out, f)
		}
	}
	out, err = json.Marshal(numeric(1, 0.5, true))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"numeric":{"value":1,"tolerance":0.5,"relative":true}`; !strings.Contains(string(out), want) {
		t.Errorf("json.Marshal = %s, want it to hold %s", out, want)
	}
	out, err = json.Marshal(shortText(true, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"accepted":["x"],"case_sensitive":true`; !strings.Contains(string(out), want) {
		t.Errorf("json.Marshal = %s, want it to hold %s", out, want)
	}
}
