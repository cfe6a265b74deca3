package psychometrics

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var classicalDatasets = []string{"responses", "responses_missing", "polytomous"}

func TestItemAnalysisGolden(t *testing.T) {
	want := make(map[string][]map[string]string)
	for _, rec := range readRecords(t, "classical_items.csv") {
		want[rec["dataset"]] = append(want[rec["dataset"]], rec)
	}
	for _, name := range classicalDatasets {
		t.Run(name, func(t *testing.T) {
			x := readMatrix(t, name+".csv")
			got := ItemAnalysis(x)
			if len(got) != len(want[name]) {
				t.Fatalf("got %d items, want %d", len(got), len(want[name]))
			}
			for _, rec := range want[name] {
				j := integer(t, rec["item"])
				g := got[j]
				if g.Item != j {
					t.Errorf("item %d: got Item %d, want %d", j, g.Item, j)
				}
				if w := integer(t, rec["n"]); g.N != w {
					t.Errorf("item %d: got N %d, want %d", j, g.N, w)
				}
				for _, f := range []struct {
					field string
					got   float64
				}{
					{"mean", g.Mean},
					{"point_biserial", g.PointBiserial},
					{"item_rest", g.ItemRest},
					{"alpha_if_deleted", g.AlphaIfDeleted},
				} {
					if w := number(t, rec[f.field]); !sameFloat(f.got, w) {
						t.Errorf("item %d: got %s %.17g, want %.17g", j, f.field, f.got, w)
					}
				}
			}
		})
	}
}

func TestTestAnalysisGolden(t *testing.T) {
	for _, rec := range readRecords(t, "classical_test.csv") {
		name := rec["dataset"]
		t.Run(name, func(t *testing.T) {
			x := readMatrix(t, name+".csv")
			got := TestAnalysis(x)
			if w := integer(t, rec["n"]); got.N != w {
				t.Errorf("got N %d, want %d", got.N, w)
			}
			if w := integer(t, rec["items"]); got.Items != w {
				t.Errorf("got Items %d, want %d", got.Items, w)
			}
			for _, f := range []struct {
				field string
				got   float64
			}{
				{"mean", got.Mean},
				{"sd", got.SD},
				{"alpha", got.Alpha},
				{"sem", got.SEM},
			} {
				if w := number(t, rec[f.field]); !sameFloat(f.got, w) {
					t.Errorf("got %s %.17g, want %.17g", f.field, f.got, w)
				}
			}
			if a, w := CronbachAlpha(x), number(t, rec["alpha"]); !sameFloat(a, w) {
				t.Errorf("CronbachAlpha: got %.17g, want %.17g", a, w)
			}
		})
	}
}

// guttman is a perfect Guttman scale: item variances 1/4, 1/3, 1/4 and total
// variance 5/3, so alpha = 3/2 · (1 − (5/6)/(5/3)) = 3/4.
var guttman = []float64{
	1, 1, 1,
	1, 1, 0,
	1, 0, 0,
	0, 0, 0,
}

func TestCronbachAlpha(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		rows int
		data []float64
		want float64
	}{
		{"guttman scale", 4, guttman, 0.75},
		{"guttman scale with incomplete persons dropped", 6, append(append([]float64{}, guttman...),
			nan, 1, 1,
			0, nan, 1), 0.75},
		{"identical items", 3, []float64{0, 0, 1, 1, 2, 2}, 1},
		{"perfectly opposed items", 3, []float64{0, 2, 1, 1, 2, 0}, nan},
		{"one complete person", 2, []float64{1, 0, nan, 1}, nan},
		{"no complete person", 2, []float64{nan, 0, 1, nan}, nan},
		{"constant totals", 2, []float64{1, 1, 1, 1}, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := mat.NewDense(tt.rows, len(tt.data)/tt.rows, tt.data)
			if got := CronbachAlpha(x); !sameFloat(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestItemAnalysisNotAdministered(t *testing.T) {
	nan := math.NaN()
	// Four complete persons (the Guttman scale) and two who each missed
	// one item: N and Mean count them, the correlations and alpha-if-deleted
	// do not.
	x := mat.NewDense(6, 3, append(append([]float64{}, guttman...),
		nan, 1, 1,
		0, nan, 1,
	))
	got := ItemAnalysis(x)
	complete := ItemAnalysis(mat.NewDense(4, 3, guttman))
	wantN := []int{5, 5, 6}
	wantMean := []float64{3.0 / 5, 3.0 / 5, 3.0 / 6}
	for j, g := range got {
		if g.N != wantN[j] {
			t.Errorf("item %d: got N %d, want %d", j, g.N, wantN[j])
		}
		if !sameFloat(g.Mean, wantMean[j]) {
			t.Errorf("item %d: got Mean %v, want %v", j, g.Mean, wantMean[j])
		}
		c := complete[j]
		if !sameFloat(g.PointBiserial, c.PointBiserial) || !sameFloat(g.ItemRest, c.ItemRest) || !sameFloat(g.AlphaIfDeleted, c.AlphaIfDeleted) {
			t.Errorf("item %d: got correlations %+v, want those of the complete cases %+v", j, g, c)
		}
	}

	// An item nobody took leaves no complete person.
	x = mat.NewDense(3, 3, []float64{
		1, 0, nan,
		0, 1, nan,
		1, 1, nan,
	})
	for _, g := range ItemAnalysis(x) {
		if g.Item == 2 && (g.N != 0 || !math.IsNaN(g.Mean)) {
			t.Errorf("item 2: got N %d, Mean %v, want 0, NaN", g.N, g.Mean)
		}
		if !math.IsNaN(g.PointBiserial) || !math.IsNaN(g.ItemRest) || !math.IsNaN(g.AlphaIfDeleted) {
			t.Errorf("item %d: got %+v, want NaN correlations and alpha", g.Item, g)
		}
	}
	ts := TestAnalysis(x)
	if ts.N != 0 || ts.Items != 3 || !math.IsNaN(ts.Mean) || !math.IsNaN(ts.SD) || !math.IsNaN(ts.Alpha) || !math.IsNaN(ts.SEM) {
		t.Errorf("TestAnalysis: got %+v, want N 0, Items 3 and NaN statistics", ts)
	}
}

func TestItemAnalysisUndefined(t *testing.T) {
	// Item 0 is answered correctly by everyone: its correlations are
	// undefined. With only two items alpha-if-deleted is undefined.
	x := mat.NewDense(4, 2, []float64{
		1, 0,
		1, 1,
		1, 0,
		1, 1,
	})
	got := ItemAnalysis(x)
	if g := got[0]; g.Mean != 1 || !math.IsNaN(g.PointBiserial) || !math.IsNaN(g.ItemRest) {
		t.Errorf("constant item: got %+v, want Mean 1 and NaN correlations", g)
	}
	if g := got[1]; !sameFloat(g.PointBiserial, 1) || !math.IsNaN(g.ItemRest) {
		t.Errorf("item 1: got PointBiserial %v, ItemRest %v, want 1, NaN", g.PointBiserial, g.ItemRest)
	}
	for _, g := range got {
		if !math.IsNaN(g.AlphaIfDeleted) {
			t.Errorf("item %d: got AlphaIfDeleted %v, want NaN", g.Item, g.AlphaIfDeleted)
		}
	}
}

func TestClassicalPanics(t *testing.T) {
	oneItem := mat.NewDense(3, 1, []float64{0, 1, 1})
	empty := &mat.Dense{}
	tests := []struct {
		name string
		f    func()
	}{
		{"ItemAnalysis one item", func() { ItemAnalysis(oneItem) }},
		{"ItemAnalysis empty", func() { ItemAnalysis(empty) }},
		{"CronbachAlpha one item", func() { CronbachAlpha(oneItem) }},
		{"CronbachAlpha empty", func() { CronbachAlpha(empty) }},
		{"TestAnalysis one item", func() { TestAnalysis(oneItem) }},
		{"TestAnalysis empty", func() { TestAnalysis(empty) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

func TestSEM(t *testing.T) {
	tests := []struct {
		sd, reliability, want float64
	}{
		{10, 0.91, 3},
		{4, 0.75, 2},
		{2.5, 1, 0},
		{1.5, 0, 1.5},
		{2, -0.21, 2.2},
		{1, 1.5, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("sd %v reliability %v", tt.sd, tt.reliability), func(t *testing.T) {
			if got := SEM(tt.sd, tt.reliability); !sameFloat(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
