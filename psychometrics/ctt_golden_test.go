package psychometrics

import (
	"strings"
	"testing"
)

// The goldens of this file come from testdata/ctt_golden.R (see its header
// for the source of each value); values match within sameFloat's tolerance
// (1e-12 absolute or 1e-9 relative).

var cttDatasets = []string{"responses", "responses_missing", "polytomous", "ctt_fractional", "ctt_scored"}

// cttField is one golden field and the value computed for it.
type cttField struct {
	name string
	got  float64
}

// checkFields reports every field of rec that got does not match.
func checkFields(t *testing.T, what string, rec map[string]string, fields []cttField) {
	t.Helper()
	for _, f := range fields {
		if w := number(t, rec[f.name]); !sameFloat(f.got, w) {
			t.Errorf("%s: got %s %.17g, want %.17g", what, f.name, f.got, w)
		}
	}
}

// joinFlags returns flags as the goldens write them, separated by ";".
func joinFlags(flags []Flag) string {
	s := make([]string, len(flags))
	for i, f := range flags {
		s[i] = string(f)
	}
	return strings.Join(s, ";")
}

// readChoices reads testdata/name, a CSV with a header row and one row of
// strings per person, in column order.
func readChoices(tb testing.TB, name string) [][]string {
	tb.Helper()
	return readRows(tb, name)[1:]
}

func TestCTTItemAnalysisGolden(t *testing.T) {
	want := make(map[string][]map[string]string)
	for _, rec := range readRecords(t, "ctt_items.csv") {
		want[rec["dataset"]] = append(want[rec["dataset"]], rec)
	}
	for _, name := range cttDatasets {
		t.Run(name, func(t *testing.T) {
			got := ItemAnalysis(readMatrix(t, name+".csv"))
			if len(got) != len(want[name]) {
				t.Fatalf("got %d items, want %d", len(got), len(want[name]))
			}
			for _, rec := range want[name] {
				j := integer(t, rec["item"])
				g := got[j]
				what := "item " + rec["item"]
				if w := integer(t, rec["n"]); g.Item != j || g.N != w {
					t.Errorf("%s: got Item %d N %d, want %d %d", what, g.Item, g.N, j, w)
				}
				checkFields(t, what, rec, []cttField{
					{"mean", g.Mean},
					{"sd", g.SD},
					{"point_biserial", g.PointBiserial},
					{"item_rest", g.ItemRest},
					{"alpha_if_deleted", g.AlphaIfDeleted},
					{"biserial", g.Biserial},
					{"upper_lower", g.UpperLower},
					{"discriminative_efficiency", g.DiscriminativeEfficiency},
				})
				if f := joinFlags(g.Flags); f != rec["flags"] {
					t.Errorf("%s: got flags %q, want %q", what, f, rec["flags"])
				}
			}
		})
	}
}

func TestCTTTestAnalysisGolden(t *testing.T) {
	for _, rec := range readRecords(t, "ctt_test.csv") {
		name := rec["dataset"]
		t.Run(name, func(t *testing.T) {
			got := TestAnalysis(readMatrix(t, name+".csv"))
			if n, k := integer(t, rec["n"]), integer(t, rec["items"]); got.N != n || got.Items != k {
				t.Errorf("got N %d Items %d, want %d %d", got.N, got.Items, n, k)
			}
			checkFields(t, name, rec, []cttField{
				{"mean", got.Mean},
				{"sd", got.SD},
				{"alpha", got.Alpha},
				{"sem", got.SEM},
				{"median", got.Median},
				{"min", got.Min},
				{"max", got.Max},
				{"skewness", got.Skewness},
				{"kurtosis", got.Kurtosis},
				{"kr20", got.KR20},
				{"kr21", got.KR21},
				{"odd_even", got.SplitHalf.OddEven},
				{"spearman_brown", got.SplitHalf.SpearmanBrown},
			})
		})
	}
}

func TestCTTOptionAnalysisGolden(t *testing.T) {
	choices := readChoices(t, "ctt_choices.csv")
	key := readChoices(t, "ctt_key.csv")[0]
	got := OptionAnalysis(choices, key, FlagRules{})

	items := readRecords(t, "ctt_option_items.csv")
	if len(got) != len(items) {
		t.Fatalf("got %d items, want %d", len(got), len(items))
	}
	for _, rec := range items {
		j := integer(t, rec["item"])
		g := got[j]
		if g.Item != j || g.Key != rec["key"] {
			t.Errorf("item %d: got Item %d Key %q, want %d %q", j, g.Item, g.Key, j, rec["key"])
		}
		if f := joinFlags(g.Flags); f != rec["flags"] {
			t.Errorf("item %d: got flags %q, want %q", j, f, rec["flags"])
		}
	}

	next := make([]int, len(got)) // next option of each item to compare
	for _, rec := range readRecords(t, "ctt_options.csv") {
		j := integer(t, rec["item"])
		var o OptionStats
		if rec["row"] == "missing" {
			o = got[j].Missing
		} else {
			if next[j] >= len(got[j].Options) {
				t.Errorf("item %d: got %d options, want more", j, len(got[j].Options))
				continue
			}
			o = got[j].Options[next[j]]
			next[j]++
		}
		what := "item " + rec["item"] + " " + rec["row"] + " " + rec["option"]
		if o.Option != rec["option"] || o.IsKey != (rec["is_key"] == "TRUE") || o.Count != integer(t, rec["count"]) {
			t.Errorf("%s: got Option %q IsKey %v Count %d, want %q %s %s", what, o.Option, o.IsKey, o.Count, rec["option"], rec["is_key"], rec["count"])
		}
		checkFields(t, what, rec, []cttField{
			{"proportion", o.Proportion},
			{"point_biserial", o.PointBiserial},
			{"mean_score", o.MeanScore},
			{"g1", o.Groups[0]},
			{"g2", o.Groups[1]},
			{"g3", o.Groups[2]},
			{"g4", o.Groups[3]},
			{"g5", o.Groups[4]},
		})
		if f := joinFlags(o.Flags); f != rec["flags"] {
			t.Errorf("%s: got flags %q, want %q", what, f, rec["flags"])
		}
	}
	for j, n := range next {
		if n != len(got[j].Options) {
			t.Errorf("item %d: got %d options, want %d", j, len(got[j].Options), n)
		}
	}
}

func TestCTTScoreChoicesGolden(t *testing.T) {
	choices := readChoices(t, "ctt_choices.csv")
	key := readChoices(t, "ctt_key.csv")[0]
	got := ScoreChoices(choices, key)
	want := readMatrix(t, "ctt_scored.csv")
	r, k := want.Dims()
	if gr, gk := got.Dims(); gr != r || gk != k {
		t.Fatalf("got %d×%d, want %d×%d", gr, gk, r, k)
	}
	for i := range r {
		for j := range k {
			if g, w := got.At(i, j), want.At(i, j); g != w {
				t.Errorf("person %d item %d: got %v, want %v", i, j, g, w)
			}
		}
	}
}

func TestCTTLordCSEMGolden(t *testing.T) {
	tables := make(map[int][]float64)
	for _, rec := range readRecords(t, "ctt_csem.csv") {
		k, x := integer(t, rec["items"]), integer(t, rec["score"])
		want := number(t, rec["csem"])
		if got := LordCSEM(float64(x), k); !sameFloat(got, want) {
			t.Errorf("LordCSEM(%d, %d): got %.17g, want %.17g", x, k, got, want)
		}
		if tables[k] == nil {
			tables[k] = LordCSEMTable(k)
		}
		if got := tables[k][x]; !sameFloat(got, want) {
			t.Errorf("LordCSEMTable(%d)[%d]: got %.17g, want %.17g", k, x, got, want)
		}
	}
}
