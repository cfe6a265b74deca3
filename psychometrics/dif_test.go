package psychometrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// difData reads dif_responses.csv: the focal flags and the item scores.
func difData(tb testing.TB) (*mat.Dense, []bool) {
	tb.Helper()
	all := readMatrix(tb, "dif_responses.csv")
	r, c := all.Dims()
	focal := make([]bool, r)
	for i := range r {
		focal[i] = all.At(i, 0) == 1
	}
	return mat.DenseCopyOf(all.Slice(0, r, 1, c)), focal
}

func TestMantelHaenszelGolden(t *testing.T) {
	x, focal := difData(t)
	anchor := mat.Col(nil, 0, readMatrix(t, "dif_anchor.csv"))
	results := map[string][]DIFResult{}
	for set, s := range map[string]DIFSettings{
		"total":  {},
		"anchor": {Matching: anchor},
	} {
		res, err := MantelHaenszel(x, focal, s)
		if err != nil {
			t.Fatalf("%s: MantelHaenszel: %v", set, err)
		}
		results[set] = res
	}
	for _, rec := range readRecords(t, "dif_golden.csv") {
		t.Run(rec["set"]+" item "+rec["item"], func(t *testing.T) {
			got := results[rec["set"]][integer(t, rec["item"])]
			if got.Item != integer(t, rec["item"]) {
				t.Errorf("got Item %d, want %s", got.Item, rec["item"])
			}
			if w := integer(t, rec["reference"]); got.Reference != w {
				t.Errorf("got Reference %d, want %d", got.Reference, w)
			}
			if w := integer(t, rec["focal"]); got.Focal != w {
				t.Errorf("got Focal %d, want %d", got.Focal, w)
			}
			for _, f := range []struct {
				field string
				got   float64
			}{
				{"alpha", got.AlphaMH},
				{"delta", got.DeltaMH},
				{"se_delta", got.SEDeltaMH},
				{"chi2", got.Chi2MH},
				{"p", got.PValue},
				{"chi2_uncorrected", got.Chi2MHUncorrected},
				{"p_uncorrected", got.PValueUncorrected},
			} {
				if w := number(t, rec[f.field]); !sameFloat(f.got, w) {
					t.Errorf("got %s %.17g, want %.17g", f.field, f.got, w)
				}
			}
			if got.Class.String() != rec["class"] {
				t.Errorf("got class %v, want %s", got.Class, rec["class"])
			}
		})
	}
}

func TestMantelHaenszelGeneralMatrix(t *testing.T) {
	// A matrix that is not a RawMatrixer takes the At path; the results must
	// be the same.
	x, focal := difData(t)
	want, err := MantelHaenszel(x, focal, DIFSettings{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := MantelHaenszel(difPlainMatrix{x}, focal, DIFSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for j := range want {
		if !sameDIF(got[j], want[j]) {
			t.Errorf("item %d: got %+v, want %+v", j, got[j], want[j])
		}
	}
}

func TestMantelHaenszelMatching(t *testing.T) {
	// Matching on the total score itself reproduces the default analysis;
	// a NaN matching score drops the person.
	x, focal := difData(t)
	r, _ := x.Dims()
	total := make([]float64, r)
	for i := range r {
		total[i] = mat.Sum(x.RowView(i))
	}
	want, err := MantelHaenszel(x, focal, DIFSettings{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := MantelHaenszel(x, focal, DIFSettings{Matching: total})
	if err != nil {
		t.Fatal(err)
	}
	for j := range want {
		if !sameDIF(got[j], want[j]) {
			t.Errorf("item %d: got %+v, want %+v", j, got[j], want[j])
		}
	}
	// Person 0 is complete and in the reference group.
	if math.IsNaN(total[0]) || focal[0] {
		t.Fatal("person 0 must be a complete reference-group person")
	}
	total[0] = math.NaN()
	got, err = MantelHaenszel(x, focal, DIFSettings{Matching: total})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Reference != want[0].Reference-1 || got[0].Focal != want[0].Focal {
		t.Errorf("got %d reference and %d focal persons, want %d and %d",
			got[0].Reference, got[0].Focal, want[0].Reference-1, want[0].Focal)
	}
}

// difPlainMatrix hides the RawMatrixer of its Dense.
type difPlainMatrix struct{ d *mat.Dense }

func (m difPlainMatrix) Dims() (int, int)    { return m.d.Dims() }
func (m difPlainMatrix) At(i, j int) float64 { return m.d.At(i, j) }
func (m difPlainMatrix) T() mat.Matrix       { return m.d.T() }

func sameDIF(a, b DIFResult) bool {
	return a.Item == b.Item && a.Reference == b.Reference && a.Focal == b.Focal &&
		sameFloat(a.AlphaMH, b.AlphaMH) && sameFloat(a.DeltaMH, b.DeltaMH) &&
		sameFloat(a.SEDeltaMH, b.SEDeltaMH) && sameFloat(a.Chi2MH, b.Chi2MH) &&
		sameFloat(a.PValue, b.PValue) && sameFloat(a.Chi2MHUncorrected, b.Chi2MHUncorrected) &&
		sameFloat(a.PValueUncorrected, b.PValueUncorrected) && a.Class == b.Class
}

func TestMantelHaenszelSwapGroups(t *testing.T) {
	// Exchanging the groups inverts the odds ratio and negates delta; the
	// chi-squares, p-values, SE and class do not change.
	x, focal := difData(t)
	swapped := make([]bool, len(focal))
	for i, f := range focal {
		swapped[i] = !f
	}
	a, err := MantelHaenszel(x, focal, DIFSettings{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := MantelHaenszel(x, swapped, DIFSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for j := range a {
		if !sameFloat(b[j].AlphaMH, 1/a[j].AlphaMH) {
			t.Errorf("item %d: got swapped alpha %v, want 1/%v", j, b[j].AlphaMH, a[j].AlphaMH)
		}
		if !sameFloat(b[j].DeltaMH, -a[j].DeltaMH) {
			t.Errorf("item %d: got swapped delta %v, want %v", j, b[j].DeltaMH, -a[j].DeltaMH)
		}
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"SE", b[j].SEDeltaMH, a[j].SEDeltaMH},
			{"chi2", b[j].Chi2MH, a[j].Chi2MH},
			{"chi2 uncorrected", b[j].Chi2MHUncorrected, a[j].Chi2MHUncorrected},
			{"p", b[j].PValue, a[j].PValue},
		} {
			if !sameFloat(f.got, f.want) {
				t.Errorf("item %d: got swapped %s %v, want %v", j, f.name, f.got, f.want)
			}
		}
		if b[j].Class != a[j].Class || b[j].Reference != a[j].Focal || b[j].Focal != a[j].Reference {
			t.Errorf("item %d: got swapped %+v, original %+v", j, b[j], a[j])
		}
	}
}

func TestMantelHaenszelNoDIF(t *testing.T) {
	// Two groups with the same item parameters and the same ability
	// distribution: items fall in class A at the nominal rate, and the
	// uncorrected chi-square is at least the corrected one.
	rng := rand.New(rand.NewPCG(1, 2))
	items := make([]Item3PL, 30)
	for j := range items {
		items[j] = Item3PL{A: 0.8 + 0.04*float64(j), B: -1.5 + 0.1*float64(j)}
	}
	theta := make([]float64, 3000)
	focal := make([]bool, len(theta))
	for i := range theta {
		theta[i] = rng.NormFloat64()
		focal[i] = i%3 == 0
	}
	x := Simulate3PL(rng, theta, items)
	res, err := MantelHaenszel(x, focal, DIFSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Class == DIFClassC {
			t.Errorf("item %d: got class C (delta %v, SE %v) without DIF", r.Item, r.DeltaMH, r.SEDeltaMH)
		}
		if !(r.Chi2MHUncorrected >= r.Chi2MH) {
			t.Errorf("item %d: got uncorrected chi2 %v < corrected %v", r.Item, r.Chi2MHUncorrected, r.Chi2MH)
		}
		if math.Abs(r.DeltaMH) > 1 {
			t.Errorf("item %d: got |delta| %v > 1 without DIF", r.Item, r.DeltaMH)
		}
	}
}

func TestMantelHaenszelHandTable(t *testing.T) {
	// One item and a second item that only forms two strata (totals 1 and
	// 2 of the pair): worked by hand from the formulas.
	//
	// Stratum total 1 (item 1 right, item 2 wrong, or the reverse):
	//   reference: item1 right 2, wrong 1;  focal: right 1, wrong 2.
	// Stratum total 2 (both right): A = 2, C = 1, no wrong answers.
	// Stratum total 0 (both wrong): one reference person only.
	nan := math.NaN()
	rows := [][]float64{
		{1, 0}, {1, 0}, {0, 1}, // reference, total 1
		{1, 0}, {0, 1}, {0, 1}, // focal, total 1
		{1, 1}, {1, 1}, // reference, total 2
		{1, 1},   // focal, total 2
		{0, 0},   // reference, total 0
		{1, nan}, // dropped
	}
	focal := []bool{false, false, false, true, true, true, false, false, true, false, true}
	x := mat.NewDense(len(rows), 2, nil)
	for i, r := range rows {
		x.SetRow(i, r)
	}
	res, err := MantelHaenszel(x, focal, DIFSettings{})
	if err != nil {
		t.Fatal(err)
	}
	// Item 0, stratum 1: A=2 B=1 C=1 D=2 T=6; stratum 2: A=2 B=0 C=1 D=0 T=3.
	// alpha = (2·2/6 + 2·0/3) / (1·1/6 + 0·1/3) = (4/6)/(1/6) = 4.
	// E(A) = 3·3/6 + 2·3/3 = 1.5 + 2 = 3.5; sum A = 4; Var = 3·3·3·3/(36·5) + 0 = 0.45.
	// chi2 = (0.5 − 0.5)²/0.45 = 0; uncorrected 0.25/0.45.
	// RBG: R = 4/6, S = 1/6; P1 = 4/6, Q1 = 2/6 (stratum 2: R = S = 0).
	// Var ln α = (4/6·4/6)/(2·16/36) + (4/6·1/6 + 2/6·4/6)/(2·4/36) + (2/6·1/6)/(2/36)
	//          = 0.5 + 1.5 + 1 = 3.
	r := res[0]
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"alpha", r.AlphaMH, 4},
		{"delta", r.DeltaMH, -2.35 * math.Log(4)},
		{"SE delta", r.SEDeltaMH, 2.35 * math.Sqrt(3)},
		{"chi2", r.Chi2MH, 0},
		{"chi2 uncorrected", r.Chi2MHUncorrected, 0.25 / 0.45},
		{"p", r.PValue, 1},
	} {
		if !sameFloat(f.got, f.want) {
			t.Errorf("item 0: got %s %.17g, want %.17g", f.name, f.got, f.want)
		}
	}
	if r.Class != DIFClassA || r.Reference != 6 || r.Focal != 4 {
		t.Errorf("item 0: got class %v, reference %d, focal %d; want A, 6, 4", r.Class, r.Reference, r.Focal)
	}
}

func TestMantelHaenszelUndefined(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		rows  [][]float64
		focal []bool
		want  DIFResult // NaN fields expected NaN
	}{
		{
			// Every person in the focal group: no stratum holds both groups.
			name:  "one group",
			rows:  [][]float64{{1, 0}, {0, 1}, {1, 1}, {0, 0}},
			focal: []bool{true, true, true, true},
			want:  DIFResult{AlphaMH: nan, DeltaMH: nan, SEDeltaMH: nan, Chi2MH: nan, PValue: nan, Chi2MHUncorrected: nan, PValueUncorrected: nan},
		},
		{
			// Item 0 is right for every reference person and wrong for
			// every focal person within each stratum: B_k·C_k = 0, an
			// infinite odds ratio, while the chi-square is defined.
			name:  "infinite odds ratio",
			rows:  [][]float64{{1, 0}, {0, 1}, {1, 0}, {0, 1}},
			focal: []bool{false, true, false, true},
			want:  DIFResult{AlphaMH: nan, DeltaMH: nan, SEDeltaMH: nan, Chi2MH: 0.75, PValue: math.Erfc(math.Sqrt(0.375)), Chi2MHUncorrected: 3, PValueUncorrected: math.Erfc(math.Sqrt(1.5))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := mat.NewDense(len(tt.rows), len(tt.rows[0]), nil)
			for i, r := range tt.rows {
				x.SetRow(i, r)
			}
			res, err := MantelHaenszel(x, tt.focal, DIFSettings{})
			if err != nil {
				t.Fatal(err)
			}
			got := res[0]
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"alpha", got.AlphaMH, tt.want.AlphaMH},
				{"delta", got.DeltaMH, tt.want.DeltaMH},
				{"SE", got.SEDeltaMH, tt.want.SEDeltaMH},
				{"chi2", got.Chi2MH, tt.want.Chi2MH},
				{"p", got.PValue, tt.want.PValue},
				{"chi2 uncorrected", got.Chi2MHUncorrected, tt.want.Chi2MHUncorrected},
				{"p uncorrected", got.PValueUncorrected, tt.want.PValueUncorrected},
			} {
				if !sameFloat(f.got, f.want) {
					t.Errorf("got %s %v, want %v", f.name, f.got, f.want)
				}
			}
			if got.Class != DIFUnclassified {
				t.Errorf("got class %v, want NA", got.Class)
			}
		})
	}
}

func TestETSClass(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name         string
		delta, se, p float64
		want         DIFClass
	}{
		{"small delta, significant", 0.99, 0.1, 1e-6, DIFClassA},
		{"large delta, not significant", -2.5, 2, 0.05, DIFClassA},
		{"moderate delta", 1.2, 0.1, 1e-4, DIFClassB},
		{"exactly one", -1, 0.1, 1e-4, DIFClassB},
		{"large but not significantly above one", 1.6, 0.4, 1e-4, DIFClassB},
		{"large, significantly above one", -1.6, 0.3, 1e-4, DIFClassC},
		{"at the one-sided boundary", 1.5, 0.5 / difZ95, 1e-4, DIFClassB},
		{"below 1.5 however precise", 1.49, 0.001, 1e-9, DIFClassB},
		{"undefined delta", nan, nan, 1e-4, DIFUnclassified},
		{"undefined p", 1.2, 0.1, nan, DIFUnclassified},
		{"undefined SE", 1.8, nan, 1e-4, DIFClassB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := etsClass(tt.delta, tt.se, tt.p); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDIFClassString(t *testing.T) {
	for c, want := range map[DIFClass]string{DIFUnclassified: "NA", DIFClassA: "A", DIFClassB: "B", DIFClassC: "C", 7: "NA"} {
		if got := c.String(); got != want {
			t.Errorf("DIFClass(%d): got %q, want %q", int(c), got, want)
		}
	}
}

func TestMantelHaenszelErrors(t *testing.T) {
	for _, v := range []float64{2, -1, 0.5, math.Inf(1), math.Inf(-1)} {
		x := mat.NewDense(3, 2, []float64{1, 0, 0, math.NaN(), 1, v})
		_, err := MantelHaenszel(x, []bool{true, false, true}, DIFSettings{})
		if !errors.Is(err, ErrNotDichotomous) {
			t.Errorf("score %v: got error %v, want %v", v, err, ErrNotDichotomous)
		}
	}
}

func TestMantelHaenszelPanics(t *testing.T) {
	x := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	tests := []struct {
		name string
		f    func()
	}{
		{"no persons", func() { _, _ = MantelHaenszel(&mat.Dense{}, nil, DIFSettings{}) }},
		{"focal too short", func() { _, _ = MantelHaenszel(x, []bool{true}, DIFSettings{}) }},
		{"matching too long", func() {
			_, _ = MantelHaenszel(x, []bool{true, false}, DIFSettings{Matching: []float64{1, 2, 3}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

func BenchmarkMantelHaenszel20kx60(b *testing.B) {
	rng := rand.New(rand.NewPCG(20, 60))
	items := make([]Item3PL, 60)
	for j := range items {
		items[j] = Item3PL{A: 0.6 + 0.025*float64(j), B: -2 + 4*float64(j)/59, C: 0.15}
	}
	theta := make([]float64, 20000)
	focal := make([]bool, len(theta))
	for i := range theta {
		focal[i] = i%2 == 1
		theta[i] = rng.NormFloat64()
		if focal[i] {
			theta[i] -= 0.3
		}
	}
	x := Simulate3PL(rng, theta, items)
	b.ResetTimer()
	for b.Loop() {
		if _, err := MantelHaenszel(x, focal, DIFSettings{}); err != nil {
			b.Fatal(err)
		}
	}
}
