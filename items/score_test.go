package items_test

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/items"
)

func TestScore(t *testing.T) {
	tests := []struct {
		name    string
		content items.Content
		answer  items.Answer
		want    float64 // share of the item's points
	}{
		{"single: key", singleChoice(), items.Answer{Choice: "a"}, 1},
		{"single: distractor", singleChoice(), items.Answer{Choice: "b"}, 0},
		{"single: unknown option", singleChoice(), items.Answer{Choice: "zz"}, 0},
		{"single: key given as choices", singleChoice(), items.Answer{Choices: []string{"a"}}, 0},
		{"single: empty", singleChoice(), items.Answer{}, 0},
		{"true/false: right", trueFalse(), items.Answer{Choice: "true"}, 1},
		{"true/false: wrong", trueFalse(), items.Answer{Choice: "false"}, 0},
		{"true/false: not an id", trueFalse(), items.Answer{Choice: "True"}, 0},

		{"multiple all-or-nothing: exactly the keys", multipleResponse(""), items.Answer{Choices: []string{"tree", "pie"}}, 1},
		{"multiple all-or-nothing: duplicates of the keys", multipleResponse(""), items.Answer{Choices: []string{"pie", "tree", "pie"}}, 1},
		{"multiple all-or-nothing: one key", multipleResponse(""), items.Answer{Choices: []string{"pie"}}, 0},
		{"multiple all-or-nothing: keys and a distractor", multipleResponse(""), items.Answer{Choices: []string{"pie", "tree", "bar"}}, 0},
		{"multiple all-or-nothing: keys and an unknown id", multipleResponse(""), items.Answer{Choices: []string{"pie", "tree", "zz"}}, 0},
		{"multiple all-or-nothing: choice field ignored", multipleResponse(""), items.Answer{Choice: "pie"}, 0},
		{"multiple partial: exactly the keys", multipleResponse(items.Partial), items.Answer{Choices: []string{"pie", "tree"}}, 1},
		{"multiple partial: one of two keys", multipleResponse(items.Partial), items.Answer{Choices: []string{"pie"}}, 0.5},
		{"multiple partial: one key repeated", multipleResponse(items.Partial), items.Answer{Choices: []string{"pie", "pie"}}, 0.5},
		{"multiple partial: two keys, one wrong", multipleResponse(items.Partial), items.Answer{Choices: []string{"pie", "tree", "bar"}}, 0.5},
		{"multiple partial: one key, one wrong", multipleResponse(items.Partial), items.Answer{Choices: []string{"pie", "bar"}}, 0},
		{"multiple partial: every option", multipleResponse(items.Partial), items.Answer{Choices: []string{"pie", "bar", "tree", "line"}}, 0},
		{"multiple partial: only wrong, floored", multipleResponse(items.Partial), items.Answer{Choices: []string{"bar", "line"}}, 0},
		{"multiple partial: unknown id is wrong", multipleResponse(items.Partial), items.Answer{Choices: []string{"pie", "tree", "zz"}}, 0.5},
		{"multiple partial: empty", multipleResponse(items.Partial), items.Answer{Choices: []string{}}, 0},

		{"numeric: exact", numeric(3.14, 0.005, false), items.Answer{Text: "3.14"}, 1},
		{"numeric: within", numeric(3.14, 0.005, false), items.Answer{Text: "3.1416"}, 1},
		{"numeric: on the bound above", numeric(3.14, 0.01, false), items.Answer{Text: "3.15"}, 1},
		{"numeric: on the bound below", numeric(3.14, 0.01, false), items.Answer{Text: "3.13"}, 1},
		{"numeric: just outside", numeric(3.14, 0.01, false), items.Answer{Text: "3.1501"}, 0},
		{"numeric: zero tolerance, equal", numeric(0.3, 0, false), items.Answer{Text: "0.3"}, 1},
		{"numeric: zero tolerance, other", numeric(0.3, 0, false), items.Answer{Text: "0.3000001"}, 0},
		{"numeric: decimal comma", numeric(3.14, 0.005, false), items.Answer{Text: " 3,14 "}, 1},
		{"numeric: thousands comma reads as decimal", numeric(1234, 0, false), items.Answer{Text: "1,234"}, 0},
		{"numeric: comma and point", numeric(1234.5, 0, false), items.Answer{Text: "1,234.5"}, 0},
		{"numeric: exponent", numeric(1500, 0, false), items.Answer{Text: "1.5e3"}, 1},
		{"numeric: sign", numeric(-2, 0, false), items.Answer{Text: "-2"}, 1},
		{"numeric: relative within", numeric(1000, 0.01, true), items.Answer{Text: "1010"}, 1},
		{"numeric: relative outside", numeric(1000, 0.01, true), items.Answer{Text: "1010.5"}, 0},
		{"numeric: relative, negative value", numeric(-1000, 0.01, true), items.Answer{Text: "-990"}, 1},
		{"numeric: relative, zero value is exact", numeric(0, 0.5, true), items.Answer{Text: "0.1"}, 0},
		{"numeric: NaN", numeric(3.14, 1e308, false), items.Answer{Text: "NaN"}, 0},
		{"numeric: Inf", numeric(3.14, 1e308, false), items.Answer{Text: "Inf"}, 0},
		{"numeric: overflow", numeric(3.14, 1e308, false), items.Answer{Text: "1e400"}, 0},
		{"numeric: hex", numeric(0.25, 0, false), items.Answer{Text: "0x1p-2"}, 0},
		{"numeric: underscore", numeric(1000, 0, false), items.Answer{Text: "1_000"}, 0},
		{"numeric: words", numeric(3, 0, false), items.Answer{Text: "three"}, 0},
		{"numeric: unit", numeric(3, 0, false), items.Answer{Text: "3 cm"}, 0},
		{"numeric: blank", numeric(0, 1, false), items.Answer{Text: "  "}, 0},
		{"numeric: choice field ignored", numeric(1, 0, false), items.Answer{Choice: "1"}, 0},

		{"text: exact", shortText(false, "VLOOKUP", "XLOOKUP"), items.Answer{Text: "XLOOKUP"}, 1},
		{"text: case ignored", shortText(false, "VLOOKUP"), items.Answer{Text: "vLookUp"}, 1},
		{"text: whitespace trimmed and collapsed", shortText(false, "pivot  table"), items.Answer{Text: " \tpivot \n table  "}, 1},
		{"text: inner space kept", shortText(false, "pivot table"), items.Answer{Text: "pivottable"}, 0},
		{"text: case sensitive, same", shortText(true, "VLOOKUP"), items.Answer{Text: " VLOOKUP"}, 1},
		{"text: case sensitive, other case", shortText(true, "VLOOKUP"), items.Answer{Text: "vlookup"}, 0},
		{"text: Unicode folding", shortText(false, "Straße"), items.Answer{Text: "STRAßE"}, 1},
		{"text: NFD equals NFC", shortText(true, "café"), items.Answer{Text: "cafe\u0301"}, 1},
		{"text: wrong", shortText(false, "VLOOKUP"), items.Answer{Text: "HLOOKUP"}, 0},
		{"text: prefix is wrong", shortText(false, "VLOOKUP"), items.Answer{Text: "VLOOK"}, 0},
		{"text: blank", shortText(false, "VLOOKUP"), items.Answer{Text: " "}, 0},

		{"ordering: right", ordering(""), items.Answer{Choices: []string{"s1", "s2", "s3", "s4"}}, 1},
		{"ordering: two swapped", ordering(""), items.Answer{Choices: []string{"s2", "s1", "s3", "s4"}}, 0},
		{"ordering partial: right", ordering(items.Partial), items.Answer{Choices: []string{"s1", "s2", "s3", "s4"}}, 1},
		{"ordering partial: two swapped", ordering(items.Partial), items.Answer{Choices: []string{"s2", "s1", "s3", "s4"}}, 0.5},
		{"ordering partial: shifted by one", ordering(items.Partial), items.Answer{Choices: []string{"s4", "s1", "s2", "s3"}}, 0},
		{"ordering partial: reversed", ordering(items.Partial), items.Answer{Choices: []string{"s4", "s3", "s2", "s1"}}, 0},
		{"ordering partial: duplicate", ordering(items.Partial), items.Answer{Choices: []string{"s1", "s1", "s3", "s4"}}, 0},
		{"ordering partial: unknown id", ordering(items.Partial), items.Answer{Choices: []string{"s1", "s2", "s3", "s9"}}, 0},
		{"ordering partial: too short", ordering(items.Partial), items.Answer{Choices: []string{"s1", "s2", "s3"}}, 0},
		{"ordering partial: too long", ordering(items.Partial), items.Answer{Choices: []string{"s1", "s2", "s3", "s4", "s1"}}, 0},

		{"matching: right", matching(""), items.Answer{Pairs: map[string]string{"o1": "t1", "o2": "t2", "o3": "t3"}}, 1},
		{"matching: right, extra unknown option ignored", matching(""), items.Answer{Pairs: map[string]string{"o1": "t1", "o2": "t2", "o3": "t3", "o9": "t4"}}, 1},
		{"matching: one wrong", matching(""), items.Answer{Pairs: map[string]string{"o1": "t1", "o2": "t4", "o3": "t3"}}, 0},
		{"matching partial: one wrong", matching(items.Partial), items.Answer{Pairs: map[string]string{"o1": "t1", "o2": "t4", "o3": "t3"}}, 2.0 / 3},
		{"matching partial: one missing", matching(items.Partial), items.Answer{Pairs: map[string]string{"o1": "t1", "o3": "t3"}}, 2.0 / 3},
		{"matching partial: unknown target", matching(items.Partial), items.Answer{Pairs: map[string]string{"o1": "t9"}}, 0},
		{"matching partial: all to one target", matching(items.Partial), items.Answer{Pairs: map[string]string{"o1": "t1", "o2": "t1", "o3": "t1"}}, 1.0 / 3},
		{"matching partial: empty", matching(items.Partial), items.Answer{Pairs: map[string]string{}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.content.Validate(); err != nil {
				t.Fatalf("test content is invalid: %v", err)
			}
			for _, points := range []float64{0, 2.5} {
				c := withPoints(tt.content, points)
				wantMax := points
				if points == 0 {
					wantMax = 1
				}
				score, max := c.Score(tt.answer)
				if max != wantMax {
					t.Errorf("points %v: Score(%+v) max = %v, want %v", points, tt.answer, max, wantMax)
				}
				if want := tt.want * wantMax; math.Abs(score-want) > 1e-12 {
					t.Errorf("points %v: Score(%+v) = %v, want %v", points, tt.answer, score, want)
				}
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		text   string
		want   float64
		wantOK bool
	}{
		{"42", 42, true},
		{" -0.5 ", -0.5, true},
		{"+7", 7, true},
		{".5", 0.5, true},
		{"2,75", 2.75, true},
		{"1e-3", 0.001, true},
		{"1,2,3", 0, false},
		{"1.2,3", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"NaN", 0, false},
		{"-Infinity", 0, false},
		{"1e999", 0, false},
		{"0x10", 0, false},
		{"٣", 0, false}, // an Arabic-Indic digit
		{"1 000", 0, false},
	}
	for _, tt := range tests {
		got, ok := items.ParseNumber(tt.text)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseNumber(%q) = %v, %v, want %v, %v", tt.text, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAnswerJSON(t *testing.T) {
	tests := []struct {
		json string
		want items.Answer
	}{
		{`{"choice":"B"}`, items.Answer{Choice: "B"}},
		{`{"choices":["A","C"]}`, items.Answer{Choices: []string{"A", "C"}}},
		{`{"text":"3.14"}`, items.Answer{Text: "3.14"}},
		{`{"pairs":{"o1":"t2"}}`, items.Answer{Pairs: map[string]string{"o1": "t2"}}},
	}
	for _, tt := range tests {
		var got items.Answer
		if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", tt.json, err)
		}
		out, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != tt.json {
			t.Errorf("round trip of %s = %s, want it unchanged", tt.json, out)
		}
		if got.Empty() {
			t.Errorf("%s: Empty() = true, want false", tt.json)
		}
	}
	if !(items.Answer{Text: " \n"}).Empty() {
		t.Error("Answer{Text: whitespace}.Empty() = false, want true")
	}
}

// FuzzScore checks that Score never panics and stays within [0, max] for
// any answer to an item of any kind.
func FuzzScore(f *testing.F) {
	f.Add("a", "pie\x00tree", "3.14", "o1=t1\x00o2=t2")
	f.Add("true", "s2\x00s1\x00s3\x00s4", "NaN", "o1=t9")
	f.Add("", "\x00\x00", "1e400", "=")
	f.Add("zz", "pie\x00pie\x00bar", " VLOOKUP ", "o3=t3")
	contents := allKinds()
	names := make([]string, 0, len(contents))
	for name := range contents {
		names = append(names, name)
	}
	sort.Strings(names)
	f.Fuzz(func(t *testing.T, choice, choices, text, pairs string) {
		a := items.Answer{Choice: choice, Text: text}
		if choices != "" {
			a.Choices = strings.Split(choices, "\x00")
		}
		if pairs != "" {
			a.Pairs = map[string]string{}
			for _, p := range strings.Split(pairs, "\x00") {
				k, v, _ := strings.Cut(p, "=")
				a.Pairs[k] = v
			}
		}
		for _, name := range names {
			score, max := contents[name].Score(a)
			if !(score >= 0 && score <= max) || max <= 0 {
				t.Errorf("%s: Score(%+v) = %v, %v, want 0 ≤ score ≤ max and max > 0", name, a, score, max)
			}
		}
	})
}
