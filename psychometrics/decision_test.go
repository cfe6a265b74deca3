package psychometrics

import (
	"errors"
	"math"
	"testing"
)

func TestSubkoviakGolden(t *testing.T) {
	scores := make(map[string][]float64)
	for _, rec := range readRecords(t, "subkoviak_scores.csv") {
		scores[rec["set"]] = append(scores[rec["set"]], number(t, rec["score"]))
	}
	for _, rec := range readRecords(t, "subkoviak_golden.csv") {
		t.Run(rec["name"], func(t *testing.T) {
			got, err := Subkoviak(scores[rec["set"]], integer(t, rec["items"]), number(t, rec["cut"]), number(t, rec["reliability"]))
			if err != nil {
				t.Fatalf("Subkoviak: %v", err)
			}
			for _, f := range []struct {
				field string
				got   float64
			}{
				{"agreement", got.Agreement},
				{"kappa", got.Kappa},
				{"chance", got.Chance},
			} {
				if w := number(t, rec[f.field]); !sameFloat(f.got, w) {
					t.Errorf("got %s %.17g, want %.17g", f.field, f.got, w)
				}
			}
		})
	}
}

func TestSubkoviakCertainDecisions(t *testing.T) {
	// Every candidate has a perfect score, so each surely passes at any cut:
	// agreement and chance are 1 and kappa is undefined.
	got, err := Subkoviak([]float64{10, 10, 10}, 10, 7, 0.8)
	if err != nil {
		t.Fatalf("Subkoviak: %v", err)
	}
	if got.Agreement != 1 || got.Chance != 1 || !math.IsNaN(got.Kappa) {
		t.Errorf("got %+v, want Agreement 1, Chance 1, Kappa NaN", got)
	}
	// Subkoviak's method does not estimate accuracy.
	if !math.IsNaN(got.Accuracy) || !math.IsNaN(got.FalsePass) || !math.IsNaN(got.FalseFail) {
		t.Errorf("got %+v, want Accuracy, FalsePass and FalseFail NaN", got)
	}
}

func TestSubkoviakCutRounding(t *testing.T) {
	// Integer scores pass at ⌈cut⌉, so any cut in (6, 7] gives the same result.
	scores := []float64{3, 5, 6, 6, 7, 8, 9, 10, 11, 12}
	want, err := Subkoviak(scores, 12, 7, 0.7)
	if err != nil {
		t.Fatalf("Subkoviak: %v", err)
	}
	for _, cut := range []float64{6.01, 6.5, 6.99} {
		got, err := Subkoviak(scores, 12, cut, 0.7)
		if err != nil {
			t.Fatalf("Subkoviak cut %v: %v", cut, err)
		}
		if !sameConsistency(got, want) {
			t.Errorf("cut %v: got %+v, want %+v (cut 7)", cut, got, want)
		}
	}
}

func TestSubkoviakErrors(t *testing.T) {
	valid := []float64{4, 6, 8, 9}
	tests := []struct {
		name        string
		scores      []float64
		cut         float64
		reliability float64
		want        error
	}{
		{"missing score", []float64{4, math.NaN(), 8}, 6, 0.8, ErrInvalidScore},
		{"score above items", []float64{4, 11, 8}, 6, 0.8, ErrInvalidScore},
		{"negative score", []float64{4, -1, 8}, 6, 0.8, ErrInvalidScore},
		{"fractional score", []float64{4, 6.5, 8}, 6, 0.8, ErrInvalidScore},
		{"reliability above one", valid, 6, 1.1, ErrInvalidReliability},
		{"negative reliability", valid, 6, -0.1, ErrInvalidReliability},
		{"missing reliability", valid, 6, math.NaN(), ErrInvalidReliability},
		{"cut zero", valid, 0, 0.8, ErrInvalidCut},
		{"cut above items", valid, 10.5, 0.8, ErrInvalidCut},
		{"missing cut", valid, math.NaN(), 0.8, ErrInvalidCut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Subkoviak(tt.scores, 10, tt.cut, tt.reliability)
			if !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSubkoviakPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"no scores", func() { _, _ = Subkoviak(nil, 10, 5, 0.8) }},
		{"no items", func() { _, _ = Subkoviak([]float64{0}, 0, 5, 0.8) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

func TestBinomialUpperTail(t *testing.T) {
	// Check the incomplete-beta identity against the summed binomial
	// probabilities.
	for _, n := range []int{1, 2, 7, 40} {
		for c := 1; c <= n; c++ {
			for _, p := range []float64{0, 1e-6, 0.13, 0.5, 0.77, 1 - 1e-6, 1} {
				var want float64
				for x := c; x <= n; x++ {
					want += binomialPMF(n, x, p)
				}
				if got := binomialUpperTail(n, c, p); !sameFloat(got, want) {
					t.Errorf("n %d, c %d, p %v: got %.17g, want %.17g", n, c, p, got, want)
				}
			}
		}
	}
}

func binomialPMF(n, x int, p float64) float64 {
	if p == 0 || p == 1 {
		if (p == 0 && x == 0) || (p == 1 && x == n) {
			return 1
		}
		return 0
	}
	lg := func(v int) float64 { r, _ := math.Lgamma(float64(v) + 1); return r }
	return math.Exp(lg(n) - lg(x) - lg(n-x) + float64(x)*math.Log(p) + float64(n-x)*math.Log1p(-p))
}
