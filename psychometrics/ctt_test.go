package psychometrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
	"gonum.org/v1/gonum/mat"
)

func TestItemAnalysisNewStatistics(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		rows  int
		data  []float64
		field string
		get   func(ItemStats) float64
		want  []float64
	}{
		// A perfect Guttman scale: the lowest (total 0) and highest (total 3)
		// persons form the 27% groups of one, and every item is as
		// discriminating as its distribution allows.
		{"guttman upper-lower", 4, guttman, "UpperLower", func(s ItemStats) float64 { return s.UpperLower }, []float64{1, 1, 1}},
		{"guttman discriminative efficiency", 4, guttman, "DiscriminativeEfficiency", func(s ItemStats) float64 { return s.DiscriminativeEfficiency }, []float64{1, 1, 1}},
		// Item 0 is 0, 0, 1, 1 against rest 0, 1, 0, 1: covariance 0, so the
		// efficiency is 0 whatever its maximum.
		{"uncorrelated item", 4, []float64{
			0, 0, 0,
			0, 1, 0,
			1, 0, 0,
			1, 1, 0,
		}, "DiscriminativeEfficiency", func(s ItemStats) float64 { return s.DiscriminativeEfficiency }, []float64{0, 0, nan}},
		// Ties at the boundary stay in row order: totals 1, 1, 1, 1 put row
		// 0 in the lower group and row 3 in the upper group.
		{"ties in row order", 4, []float64{
			1, 0,
			0, 1,
			1, 0,
			0, 1,
		}, "UpperLower", func(s ItemStats) float64 { return s.UpperLower }, []float64{-1, 1}},
		// Polytomous item 0 (max 4): groups of two (g = ⌊(27·8+50)/100⌋ = 2)
		// with item means 0.5 and 3.5, so D = 3/4; 0/1 item 1 has p 0 and 1.
		{"polytomous upper-lower", 8, []float64{
			0, 0,
			1, 0,
			2, 1,
			2, 1,
			2, 1,
			2, 1,
			3, 1,
			4, 1,
		}, "UpperLower", func(s ItemStats) float64 { return s.UpperLower }, []float64{0.75, 1}},
		{"biserial NaN for polytomous items", 4, []float64{
			0, 0,
			1, 2,
			2, 1,
			1, 1,
		}, "Biserial", func(s ItemStats) float64 { return s.Biserial }, []float64{nan, nan}},
		{"item SD over administered persons", 4, []float64{
			0, nan,
			2, 1,
			4, nan,
			nan, 1,
		}, "SD", func(s ItemStats) float64 { return s.SD }, []float64{2, 0}},
		{"one complete person", 3, []float64{
			1, nan,
			0, 1,
			nan, 0,
		}, "UpperLower", func(s ItemStats) float64 { return s.UpperLower }, []float64{nan, nan}},
		{"one administered person", 3, []float64{
			1, nan,
			nan, 1,
			nan, 0,
		}, "SD", func(s ItemStats) float64 { return s.SD }, []float64{nan, math.Sqrt(0.5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ItemAnalysis(mat.NewDense(tt.rows, len(tt.data)/tt.rows, tt.data))
			for j, w := range tt.want {
				if g := tt.get(got[j]); !sameFloat(g, w) {
					t.Errorf("item %d: got %s %v, want %v", j, tt.field, g, w)
				}
			}
		})
	}
}

func TestItemAnalysisBiserial(t *testing.T) {
	// With p = 1/2, z_p = 0 and r_bis = r_pb · (1/2) / φ(0) = r_pb·√(π/2).
	x := mat.NewDense(6, 2, []float64{
		0, 0,
		0, 1,
		1, 0,
		0, 1,
		1, 1,
		1, 1,
	})
	got := ItemAnalysis(x)[0]
	if want := got.PointBiserial * math.Sqrt(math.Pi/2); !sameFloat(got.Biserial, want) {
		t.Errorf("got Biserial %v, want %v", got.Biserial, want)
	}
}

func TestFlagRules(t *testing.T) {
	defaults := FlagRules{}.withDefaults()
	if want := (FlagRules{0.20, 0.20, 0.95, 0.05}); defaults != want {
		t.Errorf("got defaults %+v, want %+v", defaults, want)
	}
	off := FlagRules{MinDiscrimination: -2, MinP: -1, MaxP: 2, MinOptionProportion: -1}.withDefaults()
	strict := FlagRules{MinDiscrimination: 0.4, MinP: 0.3, MaxP: 0.8}.withDefaults()
	nan := math.NaN()
	tests := []struct {
		name  string
		rules FlagRules
		disc  float64
		p     float64
		dich  bool
		want  []Flag
	}{
		{"good item", defaults, 0.35, 0.6, true, nil},
		{"negative discrimination only", defaults, -0.1, 0.6, true, []Flag{FlagNegativeDiscrimination}},
		{"low discrimination", defaults, 0.1, 0.6, true, []Flag{FlagLowDiscrimination}},
		{"zero discrimination is low", defaults, 0, 0.6, true, []Flag{FlagLowDiscrimination}},
		{"discrimination at the bound", defaults, 0.2, 0.6, true, nil},
		{"undefined discrimination", defaults, nan, 0.6, true, nil},
		{"too hard", defaults, 0.3, 0.1, true, []Flag{FlagTooHard}},
		{"too easy", defaults, 0.3, 0.97, true, []Flag{FlagTooEasy}},
		{"p at the bounds", defaults, 0.3, 0.95, true, nil},
		{"polytomous item has no p flag", defaults, 0.3, 0.1, false, nil},
		{"both kinds", defaults, -0.3, 0.99, true, []Flag{FlagNegativeDiscrimination, FlagTooEasy}},
		{"rules switched off", off, -0.3, 0.99, true, []Flag{FlagNegativeDiscrimination}},
		{"rules switched off, low", off, 0.01, 0.01, true, nil},
		{"strict rules", strict, 0.35, 0.85, true, []Flag{FlagLowDiscrimination, FlagTooEasy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rules.itemFlags(tt.disc, tt.p, tt.dich); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestItemAnalysisWithRules(t *testing.T) {
	x := readMatrix(t, "responses.csv")
	rules := FlagRules{MinDiscrimination: 0.45}
	for _, s := range ItemAnalysisWith(x, rules) {
		low := slices.Contains(s.Flags, FlagLowDiscrimination)
		if want := s.ItemRest >= 0 && s.ItemRest < 0.45; low != want {
			t.Errorf("item %d: item-rest %v, got low_discrimination %v, want %v", s.Item, s.ItemRest, low, want)
		}
	}
}

func TestTestAnalysisGuttman(t *testing.T) {
	// Totals 3, 2, 1, 0: deviations ±1.5, ±0.5, Σd² = 5, Σd⁴ = 10.25.
	// Odd half totals 2, 1, 1, 0 and even 1, 1, 0, 0 correlate 1/√2.
	got := TestAnalysis(mat.NewDense(4, 3, guttman))
	r := 1 / math.Sqrt2
	tests := []struct {
		name      string
		got, want float64
	}{
		{"Mean", got.Mean, 1.5},
		{"Median", got.Median, 1.5},
		{"Min", got.Min, 0},
		{"Max", got.Max, 3},
		{"Skewness", got.Skewness, 0},
		{"Kurtosis", got.Kurtosis, 10.25/4/(25.0/9) - 3},
		{"KR20", got.KR20, 0.75},
		{"KR21", got.KR21, 1.5 * (1 - 0.75/1.25)},
		{"OddEven", got.SplitHalf.OddEven, r},
		{"SpearmanBrown", got.SplitHalf.SpearmanBrown, 2 * r / (1 + r)},
	}
	for _, tt := range tests {
		if !sameFloat(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestTestAnalysisUndefined(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		rows int
		data []float64
		want TestStats
	}{
		{"one complete person", 2, []float64{1, 0, 1, nan}, TestStats{
			N: 1, Items: 2, Mean: 1, SD: nan, Alpha: nan, SEM: nan, Median: 1, Min: 1, Max: 1,
			Skewness: nan, Kurtosis: nan, KR20: nan, KR21: nan, SplitHalf: SplitHalf{nan, nan},
		}},
		{"constant totals", 2, []float64{1, 0, 0, 1}, TestStats{
			N: 2, Items: 2, Mean: 1, SD: 0, Alpha: nan, SEM: nan, Median: 1, Min: 1, Max: 1,
			Skewness: nan, Kurtosis: nan, KR20: nan, KR21: nan, SplitHalf: SplitHalf{-1, nan},
		}},
		{"polytomous: no KR", 3, []float64{0, 1, 2, 2, 1, 2}, TestStats{
			N: 3, Items: 2, Mean: 8.0 / 3, SD: math.Sqrt(7.0 / 3), Alpha: 6.0 / 7,
			SEM:    math.Sqrt(7.0/3) * math.Sqrt(1-6.0/7),
			Median: 3, Min: 1, Max: 4, Skewness: (-125.0 + 1 + 64) / 27 / 3 / math.Pow(7.0/3, 1.5),
			Kurtosis: (625.0+1+256)/81/3/(49.0/9) - 3, KR20: nan, KR21: nan,
			SplitHalf: SplitHalf{math.Sqrt(0.75), 2 * math.Sqrt(0.75) / (1 + math.Sqrt(0.75))},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TestAnalysis(mat.NewDense(tt.rows, len(tt.data)/tt.rows, tt.data))
			w := tt.want
			if got.N != w.N || got.Items != w.Items {
				t.Errorf("got N %d Items %d, want %d %d", got.N, got.Items, w.N, w.Items)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"Mean", got.Mean, w.Mean}, {"SD", got.SD, w.SD}, {"Alpha", got.Alpha, w.Alpha},
				{"SEM", got.SEM, w.SEM}, {"Median", got.Median, w.Median}, {"Min", got.Min, w.Min},
				{"Max", got.Max, w.Max}, {"Skewness", got.Skewness, w.Skewness},
				{"Kurtosis", got.Kurtosis, w.Kurtosis}, {"KR20", got.KR20, w.KR20}, {"KR21", got.KR21, w.KR21},
				{"OddEven", got.SplitHalf.OddEven, w.SplitHalf.OddEven},
				{"SpearmanBrown", got.SplitHalf.SpearmanBrown, w.SplitHalf.SpearmanBrown},
			} {
				if !sameFloat(f.got, f.want) {
					t.Errorf("%s: got %v, want %v", f.name, f.got, f.want)
				}
			}
		})
	}
}

func TestKR21EqualDifficulty(t *testing.T) {
	// Stacking every cyclic rotation of the columns of a random 0/1 matrix
	// gives items of equal difficulty: then KR-21 = KR-20. A random matrix
	// has unequal difficulties: then KR-21 < KR-20.
	rng := rand.New(rand.NewPCG(1, 2))
	const n, k = 40, 6
	base := make([]float64, n*k)
	for i := range base {
		if rng.Float64() < float64(i%k+1)/(k+1) {
			base[i] = 1
		}
	}
	rot := make([]float64, 0, k*n*k)
	for s := range k {
		for i := range n {
			for j := range k {
				rot = append(rot, base[i*k+(j+s)%k])
			}
		}
	}
	eq := TestAnalysis(mat.NewDense(k*n, k, rot))
	if !sameFloat(eq.KR21, eq.KR20) {
		t.Errorf("equal difficulty: got KR21 %v, want KR20 %v", eq.KR21, eq.KR20)
	}
	un := TestAnalysis(mat.NewDense(n, k, base))
	if !(un.KR21 < un.KR20) {
		t.Errorf("unequal difficulty: got KR21 %v, want below KR20 %v", un.KR21, un.KR20)
	}
}

func TestLordCSEM(t *testing.T) {
	tests := []struct {
		x     float64
		items int
		want  float64
	}{
		{0, 10, 0},
		{10, 10, 0},
		{5, 10, 5.0 / 3},
		{2.5, 10, math.Sqrt(2.5 * 7.5 / 9)},
		{1, 2, 1},
		{-1, 10, math.NaN()},
		{10.5, 10, math.NaN()},
		{math.NaN(), 10, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("x %v items %d", tt.x, tt.items), func(t *testing.T) {
			if got := LordCSEM(tt.x, tt.items); !sameFloat(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	table := LordCSEMTable(4)
	want := []float64{0, 1, math.Sqrt(4.0 / 3), 1, 0}
	if len(table) != len(want) {
		t.Fatalf("got table of %d, want %d", len(table), len(want))
	}
	for x := range want {
		if !sameFloat(table[x], want[x]) {
			t.Errorf("table[%d]: got %v, want %v", x, table[x], want[x])
		}
	}
}

func TestApplyMissing(t *testing.T) {
	nan := math.NaN()
	x := mat.NewDense(4, 3, []float64{
		1, 0, 1,
		nan, 1, 0,
		0, 0, 0,
		1, nan, nan,
	})
	tests := []struct {
		name     string
		x        mat.Matrix
		m        Missing
		wantRows int
		want     []float64
		wantKept []int
	}{
		{"zero", x, MissingZero, 4, []float64{1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0}, []int{0, 1, 2, 3}},
		{"listwise", x, MissingListwise, 2, []float64{1, 0, 1, 0, 0, 0}, []int{0, 2}},
		{"listwise, transposed input", mat.DenseCopyOf(x.T()).T(), MissingListwise, 2, []float64{1, 0, 1, 0, 0, 0}, []int{0, 2}},
		{"listwise, nobody complete", mat.NewDense(2, 2, []float64{nan, 1, 0, nan}), MissingListwise, 0, nil, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, kept := ApplyMissing(tt.x, tt.m)
			if !slices.Equal(kept, tt.wantKept) {
				t.Errorf("got kept %v, want %v", kept, tt.wantKept)
			}
			if tt.wantRows == 0 {
				if !out.IsEmpty() {
					t.Errorf("got %v, want an empty matrix", mat.Formatted(out))
				}
				return
			}
			want := mat.NewDense(tt.wantRows, 3, tt.want)
			if !mat.Equal(out, want) {
				t.Errorf("got\n%v\nwant\n%v", mat.Formatted(out), mat.Formatted(want))
			}
		})
	}
	// The copy does not share storage with x.
	out, _ := ApplyMissing(x, MissingZero)
	out.Set(0, 0, 7)
	if x.At(0, 0) != 1 {
		t.Errorf("ApplyMissing changed its input")
	}
}

func TestOptionAnalysisHandComputed(t *testing.T) {
	// Totals 2, 1, 1, 0, 1, so the fifths are persons 3, 1, 2, 4, 0. On
	// item 0 the rest score is 1, 0, 1, 0, 1: choosing A correlates −1/6
	// with it, choosing B or C 0.4/√0.96, so both distractors look like
	// the key.
	choices := [][]string{
		{"A", "B"},
		{"A", "C"},
		{"B", "B"},
		{"", "C"},
		{"C", "B"},
	}
	got := OptionAnalysis(choices, []string{"A", "B"}, FlagRules{})
	r := 0.4 / math.Sqrt(0.96)
	want := ItemOptions{
		Item: 0, Key: "A",
		Options: []OptionStats{
			{"A", true, 2, 0.4, -1.0 / 6, 1.5, [5]float64{0, 1, 0, 0, 1}, nil},
			{"B", false, 1, 0.2, r, 1, [5]float64{0, 0, 1, 0, 0}, []Flag{FlagProbableMiskey}},
			{"C", false, 1, 0.2, r, 1, [5]float64{0, 0, 0, 1, 0}, []Flag{FlagProbableMiskey}},
		},
		Missing: OptionStats{"", false, 1, 0.2, -0.6 / math.Sqrt(0.96), 0, [5]float64{1, 0, 0, 0, 0}, nil},
		Flags:   []Flag{FlagNegativeDiscrimination, FlagProbableMiskey},
	}
	g := got[0]
	if g.Item != want.Item || g.Key != want.Key || !slices.Equal(g.Flags, want.Flags) {
		t.Errorf("got Item %d Key %q Flags %v, want %d %q %v", g.Item, g.Key, g.Flags, want.Item, want.Key, want.Flags)
	}
	if len(g.Options) != len(want.Options) {
		t.Fatalf("got %d options, want %d", len(g.Options), len(want.Options))
	}
	for c, w := range append(want.Options, want.Missing) {
		o := g.Missing
		if c < len(g.Options) {
			o = g.Options[c]
		}
		if o.Option != w.Option || o.IsKey != w.IsKey || o.Count != w.Count || !slices.Equal(o.Flags, w.Flags) {
			t.Errorf("option %q: got %q IsKey %v Count %d Flags %v, want %q %v %d %v", w.Option, o.Option, o.IsKey, o.Count, o.Flags, w.Option, w.IsKey, w.Count, w.Flags)
		}
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"Proportion", o.Proportion, w.Proportion},
			{"PointBiserial", o.PointBiserial, w.PointBiserial},
			{"MeanScore", o.MeanScore, w.MeanScore},
		} {
			if !sameFloat(f.got, f.want) {
				t.Errorf("option %q: got %s %v, want %v", w.Option, f.name, f.got, f.want)
			}
		}
		if o.Groups != w.Groups {
			t.Errorf("option %q: got Groups %v, want %v", w.Option, o.Groups, w.Groups)
		}
	}

	// Item 1: nobody omitted it, so the missing row is empty.
	if m := got[1].Missing; m.Count != 0 || m.Proportion != 0 || !math.IsNaN(m.MeanScore) || !math.IsNaN(m.PointBiserial) {
		t.Errorf("item 1 missing: got %+v, want Count 0 and NaN statistics", m)
	}

	// With fewer than five persons some fifths are empty.
	few := OptionAnalysis([][]string{{"A", "A"}, {"B", "A"}}, []string{"A", "A"}, FlagRules{})
	// Ranks 0 and 1 of 2 fall in groups ⌊5·0/2⌋ = 0 and ⌊5·1/2⌋ = 2.
	if gs := few[0].Options[0].Groups; gs[0] != 0 || gs[2] != 1 || !math.IsNaN(gs[1]) || !math.IsNaN(gs[3]) || !math.IsNaN(gs[4]) {
		t.Errorf("two persons: got Groups %v, want [0 NaN 1 NaN NaN]", gs)
	}
}

func TestOptionAnalysisNonfunctioning(t *testing.T) {
	// D is chosen by 1 person in 30, under the 5% default but not under a
	// 3% bound.
	choices := make([][]string, 30)
	for i := range choices {
		switch {
		case i == 0:
			choices[i] = []string{"D", "A"}
		case i%3 == 0:
			choices[i] = []string{"B", "B"}
		default:
			choices[i] = []string{"A", "A"}
		}
	}
	key := []string{"A", "A"}
	if got := OptionAnalysis(choices, key, FlagRules{})[0]; !slices.Contains(got.Flags, FlagNonfunctioningDistractor) ||
		!slices.Equal(got.Options[2].Flags, []Flag{FlagNonfunctioningDistractor}) || got.Options[1].Flags != nil {
		t.Errorf("default rules: got item flags %v, option flags B %v, D %v", got.Flags, got.Options[1].Flags, got.Options[2].Flags)
	}
	if got := OptionAnalysis(choices, key, FlagRules{MinOptionProportion: 0.03})[0]; slices.Contains(got.Flags, FlagNonfunctioningDistractor) {
		t.Errorf("3%% bound: got flags %v, want no nonfunctioning_distractor", got.Flags)
	}
}

// randomChoices returns n persons' responses to k items with options A–D,
// about 5% missing, from a Rasch-like model with the key "A".
func randomChoices(rng *rand.Rand, n, k int) (choices [][]string, key []string) {
	key = make([]string, k)
	for j := range key {
		key[j] = "A"
	}
	choices = make([][]string, n)
	for i := range choices {
		theta := rng.NormFloat64()
		row := make([]string, k)
		for j := range row {
			b := float64(j)/float64(k)*3 - 1.5
			switch u := rng.Float64(); {
			case u < 0.05:
				row[j] = ""
			case rng.Float64() < 1/(1+math.Exp(-(theta-b))):
				row[j] = "A"
			default:
				row[j] = string(rune('B' + rng.IntN(3)))
			}
		}
		choices[i] = row
	}
	return choices, key
}

func TestOptionAnalysisProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	choices, key := randomChoices(rng, 203, 7)
	opts := OptionAnalysis(choices, key, FlagRules{})
	items := ItemAnalysis(ScoreChoices(choices, key))
	for j, it := range opts {
		var keyStats OptionStats
		sumP := it.Missing.Proportion
		count := it.Missing.Count
		for c, o := range it.Options {
			if c > 0 && it.Options[c-1].Option >= o.Option {
				t.Errorf("item %d: options %q, %q not in ascending order", j, it.Options[c-1].Option, o.Option)
			}
			if o.IsKey {
				keyStats = o
			}
			sumP += o.Proportion
			count += o.Count
			// 203 persons: fifths of 41, 41, 40, 41, 40 (rank p in ⌊5p/203⌋).
			var inGroups float64
			for g, size := range []float64{41, 41, 40, 41, 40} {
				inGroups += o.Groups[g] * size
			}
			if !scalar.EqualWithinAbs(inGroups, float64(o.Count), 1e-9) {
				t.Errorf("item %d option %q: groups hold %v persons, want Count %d", j, o.Option, inGroups, o.Count)
			}
		}
		if !sameFloat(sumP, 1) || count != len(choices) {
			t.Errorf("item %d: proportions add to %v over %d persons, want 1 over %d", j, sumP, count, len(choices))
		}
		if !sameFloat(keyStats.PointBiserial, items[j].ItemRest) || !sameFloat(keyStats.Proportion, items[j].Mean) {
			t.Errorf("item %d: key has point-biserial %v and proportion %v, want item-rest %v and mean %v",
				j, keyStats.PointBiserial, keyStats.Proportion, items[j].ItemRest, items[j].Mean)
		}
	}
}

// randomScores returns an n × k matrix of integer scores in [lo, hi] that
// depend on a common trait, with a fraction missing of the cells NaN.
func randomScores(rng *rand.Rand, n, k, lo, hi int, missing float64) *mat.Dense {
	x := mat.NewDense(n, k, nil)
	for i := range n {
		theta := rng.NormFloat64()
		for j := range k {
			v := math.Round(theta*float64(hi-lo)/4 + rng.NormFloat64() + float64(lo+hi)/2)
			v = max(float64(lo), min(float64(hi), v))
			if rng.Float64() < missing {
				v = math.NaN()
			}
			x.Set(i, j, v)
		}
	}
	return x
}

func TestDiscriminativeEfficiencyPaths(t *testing.T) {
	// The counting path (integer scores) and the sorting path must agree.
	rng := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name   string
		lo, hi int
	}{
		{"dichotomous", 0, 1},
		{"polytomous", 0, 4},
		{"negative marks", -2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := randomScores(rng, 157, 9, tt.lo, tt.hi, 0.02)
			m := newScoreRows(x)
			var complete []int
			var total []float64
			cm, rm := make([]float64, 9), make([]float64, 9)
			lo, hi := make([]float64, 9), make([]float64, 9)
			for j := range lo {
				lo[j], hi[j] = math.Inf(1), math.Inf(-1)
			}
		rows:
			for i := range m.r {
				var t float64
				for _, v := range m.row(i) {
					if math.IsNaN(v) {
						continue rows
					}
					t += v
				}
				complete = append(complete, i)
				total = append(total, t)
				for j, v := range m.row(i) {
					cm[j] += v
					rm[j] += t - v
					lo[j], hi[j] = min(lo[j], v), max(hi[j], v)
				}
			}
			for j := range cm {
				cm[j] /= float64(len(complete))
				rm[j] /= float64(len(complete))
			}
			h := newRankHist(total, lo, hi, make([]bool, 9), len(complete))
			if h == nil {
				t.Fatal("no counting path for integer scores")
			}
			for c, i := range complete {
				h.add(m.row(i), total[c])
			}
			counted := h.sortedCoproducts(cm, rm)
			sorted := sortedCoproducts(m, complete, total, cm, rm)
			for j := range counted {
				if !scalar.EqualWithinAbsOrRel(counted[j], sorted[j], 1e-12, 1e-12) {
					t.Errorf("item %d: counting gives %v, sorting %v", j, counted[j], sorted[j])
				}
			}
			for _, s := range ItemAnalysis(x) {
				if d := s.DiscriminativeEfficiency; !(d >= -1-1e-12 && d <= 1+1e-12) {
					t.Errorf("item %d: got DiscriminativeEfficiency %v, want within [−1, 1]", s.Item, d)
				}
				if d := s.UpperLower; !(d >= -1 && d <= 1) {
					t.Errorf("item %d: got UpperLower %v, want within [−1, 1]", s.Item, d)
				}
			}
		})
	}
}

// rowView is a mat.Matrix that is not a *mat.Dense, to exercise the At path.
type rowView struct{ m *mat.Dense }

func (v rowView) Dims() (int, int)    { return v.m.Dims() }
func (v rowView) At(i, j int) float64 { return v.m.At(i, j) }
func (v rowView) T() mat.Matrix       { return mat.Transpose{Matrix: v} }

func TestItemAnalysisMatrixKinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := randomScores(rng, 60, 5, 0, 1, 0.05)
	// A strided view: x sits in the middle of a wider matrix.
	wide := mat.NewDense(62, 9, nil)
	for i := range wide.RawMatrix().Data {
		wide.RawMatrix().Data[i] = math.NaN()
	}
	view := wide.Slice(1, 61, 2, 7).(*mat.Dense)
	view.Copy(x)
	want := ItemAnalysis(x)
	wantTest := TestAnalysis(x)
	for name, m := range map[string]mat.Matrix{"strided": view, "not dense": rowView{x}} {
		got := ItemAnalysis(m)
		for j := range want {
			g, w := fmt.Sprint(got[j]), fmt.Sprint(want[j])
			if g != w {
				t.Errorf("%s item %d: got %s, want %s", name, j, g, w)
			}
		}
		if g, w := fmt.Sprint(TestAnalysis(m)), fmt.Sprint(wantTest); g != w {
			t.Errorf("%s: got %s, want %s", name, g, w)
		}
	}
}

func TestListwiseAgreesWithApplyMissing(t *testing.T) {
	// ItemAnalysis and TestAnalysis already delete listwise everything but
	// N, Mean and SD.
	x := readMatrix(t, "responses_missing.csv")
	cc, _ := ApplyMissing(x, MissingListwise)
	got, want := ItemAnalysis(x), ItemAnalysis(cc)
	for j := range got {
		g, w := got[j], want[j]
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"PointBiserial", g.PointBiserial, w.PointBiserial},
			{"ItemRest", g.ItemRest, w.ItemRest},
			{"AlphaIfDeleted", g.AlphaIfDeleted, w.AlphaIfDeleted},
			{"Biserial", g.Biserial, w.Biserial},
			{"UpperLower", g.UpperLower, w.UpperLower},
			{"DiscriminativeEfficiency", g.DiscriminativeEfficiency, w.DiscriminativeEfficiency},
		} {
			if !sameFloat(f.got, f.want) {
				t.Errorf("item %d: got %s %v, want %v", j, f.name, f.got, f.want)
			}
		}
	}
	if g, w := TestAnalysis(x), TestAnalysis(cc); fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("TestAnalysis: got %+v, want %+v", g, w)
	}
}

func TestCTTPanics(t *testing.T) {
	key := []string{"A", "B"}
	tests := []struct {
		name string
		f    func()
	}{
		{"ItemAnalysisWith empty", func() { ItemAnalysisWith(&mat.Dense{}, FlagRules{}) }},
		{"ItemAnalysisWith one item", func() { ItemAnalysisWith(mat.NewDense(2, 1, []float64{0, 1}), FlagRules{}) }},
		{"OptionAnalysis no persons", func() { OptionAnalysis(nil, key, FlagRules{}) }},
		{"OptionAnalysis one item", func() { OptionAnalysis([][]string{{"A"}}, []string{"A"}, FlagRules{}) }},
		{"OptionAnalysis short row", func() { OptionAnalysis([][]string{{"A", "B"}, {"A"}}, key, FlagRules{}) }},
		{"OptionAnalysis empty key", func() { OptionAnalysis([][]string{{"A", "B"}}, []string{"A", ""}, FlagRules{}) }},
		{"ScoreChoices no persons", func() { ScoreChoices([][]string{}, key) }},
		{"ScoreChoices long row", func() { ScoreChoices([][]string{{"A", "B", "C"}}, key) }},
		{"ScoreChoices empty key", func() { ScoreChoices([][]string{{"A", "B"}}, []string{"", "B"}) }},
		{"LordCSEM one item", func() { LordCSEM(0, 1) }},
		{"LordCSEMTable no items", func() { LordCSEMTable(0) }},
		{"ApplyMissing empty", func() { ApplyMissing(&mat.Dense{}, MissingZero) }},
		{"ApplyMissing unknown treatment", func() { ApplyMissing(mat.NewDense(1, 1, nil), Missing(7)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

// BenchmarkItemAnalysis100kx100 runs what psych::alpha computes — item and
// test analysis — on 100,000 persons × 100 items simulated under the 3PL.
func BenchmarkItemAnalysis100kx100(b *testing.B) {
	rng := rand.New(rand.NewPCG(2024, 100))
	const n, k = 100_000, 100
	items := make([]Item3PL, k)
	for j := range items {
		items[j] = Item3PL{A: 0.6 + 1.4*rng.Float64(), B: rng.NormFloat64(), C: 0.25 * rng.Float64()}
	}
	theta := make([]float64, n)
	for i := range theta {
		theta[i] = rng.NormFloat64()
	}
	x := Simulate3PL(rng, theta, items)
	b.ResetTimer()
	for b.Loop() {
		ItemAnalysis(x)
		TestAnalysis(x)
	}
}

// BenchmarkOptionAnalysis runs the option analysis of 10,000 persons × 50
// four-option items.
func BenchmarkOptionAnalysis(b *testing.B) {
	rng := rand.New(rand.NewPCG(2024, 50))
	choices, key := randomChoices(rng, 10_000, 50)
	b.ResetTimer()
	for b.Loop() {
		OptionAnalysis(choices, key, FlagRules{})
	}
}
