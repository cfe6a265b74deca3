package psychometrics

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// sameConsistency reports whether two results match field by field within
// the golden tolerance (NaN matching NaN).
func sameConsistency(a, b DecisionConsistency) bool {
	return sameFloat(a.Agreement, b.Agreement) && sameFloat(a.Kappa, b.Kappa) &&
		sameFloat(a.Chance, b.Chance) && sameFloat(a.Accuracy, b.Accuracy) &&
		sameFloat(a.FalsePass, b.FalsePass) && sameFloat(a.FalseFail, b.FalseFail)
}

// consistencyFields lists the golden columns of a result.
func consistencyFields(d DecisionConsistency) []struct {
	field string
	got   float64
} {
	return []struct {
		field string
		got   float64
	}{
		{"agreement", d.Agreement},
		{"kappa", d.Kappa},
		{"chance", d.Chance},
		{"accuracy", d.Accuracy},
		{"false_pass", d.FalsePass},
		{"false_fail", d.FalseFail},
	}
}

// llSet is one test of consistency_scores.csv.
type llSet struct {
	min, max, reliability float64
	scores                []float64
}

func llSets(tb testing.TB) map[string]*llSet {
	tb.Helper()
	sets := map[string]*llSet{}
	for _, rec := range readRecords(tb, "consistency_sets.csv") {
		sets[rec["set"]] = &llSet{min: number(tb, rec["min"]), max: number(tb, rec["max"]), reliability: number(tb, rec["reliability"])}
	}
	for _, rec := range readRecords(tb, "consistency_scores.csv") {
		s := sets[rec["set"]]
		if s == nil {
			tb.Fatalf("consistency_scores.csv: unknown set %q", rec["set"])
		}
		s.scores = append(s.scores, number(tb, rec["score"]))
	}
	return sets
}

// llTol is the absolute tolerance of the Livingston–Lewis probabilities
// against R: both sides integrate numerically (R's integrate() with rel.tol
// 1e-12 after the probability integral transform; Go's adaptive
// Gauss–Legendre on the density), so they agree to the accuracy of the
// quadratures (observed: within 1e-11), not to the last bits. Kappa's
// tolerance is llTol/(1 − Chance).
const llTol = 1e-10

func TestLivingstonLewisFitGolden(t *testing.T) {
	sets := llSets(t)
	for _, rec := range readRecords(t, "consistency_ll_fit.csv") {
		t.Run(rec["set"], func(t *testing.T) {
			s := sets[rec["set"]]
			got, err := FitLivingstonLewis(s.scores, s.min, s.max, s.reliability)
			if err != nil {
				t.Fatalf("FitLivingstonLewis: %v", err)
			}
			if w := integer(t, rec["length"]); got.Length != w {
				t.Errorf("got length %d, want %d", got.Length, w)
			}
			if w := rec["four"] == "true"; got.FourParameter != w {
				t.Errorf("got four-parameter %v, want %v", got.FourParameter, w)
			}
			for _, f := range []struct {
				field string
				got   float64
			}{
				{"alpha", got.Alpha},
				{"beta", got.Beta},
				{"lower", got.Lower},
				{"upper", got.Upper},
			} {
				if w := number(t, rec[f.field]); !sameFloat(f.got, w) {
					t.Errorf("got %s %.17g, want %.17g", f.field, f.got, w)
				}
			}
			if got.MinScore != s.min || got.MaxScore != s.max {
				t.Errorf("got score range [%v, %v], want [%v, %v]", got.MinScore, got.MaxScore, s.min, s.max)
			}
		})
	}
}

func TestLivingstonLewisGolden(t *testing.T) {
	sets := llSets(t)
	for _, rec := range readRecords(t, "consistency_ll_golden.csv") {
		t.Run(rec["set"]+" cut "+rec["cut"], func(t *testing.T) {
			s := sets[rec["set"]]
			got, err := LivingstonLewis(s.scores, s.min, s.max, s.reliability, number(t, rec["cut"]))
			if err != nil {
				t.Fatalf("LivingstonLewis: %v", err)
			}
			for _, f := range consistencyFields(got) {
				tol := llTol
				if f.field == "kappa" {
					// κ = (p0 − pc)/(1 − pc) magnifies the error of p0 and
					// pc by 1/(1 − pc).
					tol /= 1 - number(t, rec["chance"])
				}
				if w := number(t, rec[f.field]); math.Abs(f.got-w) > tol {
					t.Errorf("got %s %.17g, want %.17g (tolerance %g)", f.field, f.got, w, tol)
				}
			}
		})
	}
}

func TestRudnerGolden(t *testing.T) {
	var theta, se []float64
	for _, rec := range readRecords(t, "consistency_theta.csv") {
		theta = append(theta, number(t, rec["theta"]))
		se = append(se, number(t, rec["se"]))
	}
	var items []Item3PL
	for _, rec := range readRecords(t, "consistency_items.csv") {
		items = append(items, Item3PL{A: number(t, rec["a"]), B: number(t, rec["b"]), C: number(t, rec["c"])})
	}
	q := NormalQuadrature(61, 0, 1)
	csem := make([]float64, len(q.Nodes))
	for k, node := range q.Nodes {
		csem[k] = 1 / math.Sqrt(TestInformation(items, node))
	}
	for _, rec := range readRecords(t, "consistency_rudner.csv") {
		t.Run(rec["method"]+" cut "+rec["cut"], func(t *testing.T) {
			cut := number(t, rec["cut"])
			var got DecisionConsistency
			var err error
			switch rec["method"] {
			case "person":
				got, err = Rudner(theta, se, cut)
			case "quadrature":
				got, err = RudnerQuadrature(q, csem, cut)
			default:
				t.Fatalf("unknown method %q", rec["method"])
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range consistencyFields(got) {
				if w := number(t, rec[f.field]); !sameFloat(f.got, w) {
					t.Errorf("got %s %.17g, want %.17g", f.field, f.got, w)
				}
			}
		})
	}
}

func TestLivingstonLewisProperties(t *testing.T) {
	sets := llSets(t)
	for name, s := range sets {
		m, err := FitLivingstonLewis(s.scores, s.min, s.max, s.reliability)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		prevPass := math.Inf(1)
		for i := 1; i <= 20; i++ {
			cut := s.min + (s.max-s.min)*float64(i)/20
			got, err := m.Classify(cut)
			if err != nil {
				t.Fatalf("%s cut %v: %v", name, cut, err)
			}
			// Probabilities, and the pieces of accuracy adding up.
			for _, f := range consistencyFields(got) {
				if f.field != "kappa" && !(f.got >= -1e-14 && f.got <= 1+1e-14) {
					t.Errorf("%s cut %v: got %s %v outside [0, 1]", name, cut, f.field, f.got)
				}
			}
			if d := got.Accuracy + got.FalsePass + got.FalseFail - 1; math.Abs(d) > 1e-14 {
				t.Errorf("%s cut %v: accuracy + false pass + false fail − 1 = %v", name, cut, d)
			}
			// Agreement is at least chance's lower bound ½ and at least
			// the chance agreement of the model's own marginals.
			if got.Agreement < got.Chance-1e-12 || got.Agreement < 0.5 {
				t.Errorf("%s cut %v: got agreement %v below chance %v", name, cut, got.Agreement, got.Chance)
			}
			// The observed pass rate P̄ is the true pass rate plus false
			// passes minus false fails, and Chance is P̄² + (1 − P̄)²; P̄
			// falls as the cut rises.
			tc := (cut - m.MinScore) / (m.MaxScore - m.MinScore)
			split := math.Min(math.Max((tc-m.Lower)/(m.Upper-m.Lower), 0), 1)
			pbar := 1 - mathext.RegIncBeta(m.Alpha, m.Beta, split) + got.FalsePass - got.FalseFail
			if want := pbar*pbar + (1-pbar)*(1-pbar); math.Abs(got.Chance-want) > 1e-12 {
				t.Errorf("%s cut %v: got chance %v, want %v from the pass rate %v", name, cut, got.Chance, want, pbar)
			}
			if pbar > prevPass+1e-12 {
				t.Errorf("%s cut %v: got pass rate %v above %v at the lower cut", name, cut, pbar, prevPass)
			}
			prevPass = pbar
		}
	}
}

func TestLivingstonLewisClassicalLimit(t *testing.T) {
	// Scores drawn exactly from a beta-binomial with a known two-parameter
	// true-score distribution: with reliability near 1 the decisions are
	// nearly always consistent and accurate.
	scores := make([]float64, 0, 2000)
	for i := range 2000 {
		// A deterministic spread of scores on 0..100.
		scores = append(scores, float64((i*37)%101))
	}
	got, err := LivingstonLewis(scores, 0, 100, 0.999, 50)
	if err != nil {
		t.Fatal(err)
	}
	if got.Accuracy < 0.97 || got.Agreement < 0.96 {
		t.Errorf("reliability 0.999: got accuracy %v, agreement %v; want both near 1", got.Accuracy, got.Agreement)
	}
	low, err := LivingstonLewis(scores, 0, 100, 0.5, 50)
	if err != nil {
		t.Fatal(err)
	}
	if !(low.Accuracy < got.Accuracy && low.Agreement < got.Agreement) {
		t.Errorf("reliability 0.5: got accuracy %v, agreement %v; want below %v, %v", low.Accuracy, low.Agreement, got.Accuracy, got.Agreement)
	}
}

func TestLivingstonLewisCutRounding(t *testing.T) {
	// On a 40-item test fitted with an effective length of 40 the cut 24.5
	// and the cut 25 must agree (a candidate passes at x' ≥ 25 in both).
	m := LivingstonLewisModel{MinScore: 0, MaxScore: 40, Length: 40, Alpha: 3, Beta: 2, Lower: 0, Upper: 1}
	want, err := m.Classify(25)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := m.Classify(24.5)
	if err != nil {
		t.Fatal(err)
	}
	// The observed decision is the same, so consistency is the same; the
	// true cut differs, so accuracy may not be.
	if !sameFloat(obs.Agreement, want.Agreement) || !sameFloat(obs.Chance, want.Chance) {
		t.Errorf("cut 24.5: got %+v, want the consistency of cut 25 %+v", obs, want)
	}
	// A cut whose scaled value is an integer up to rounding: 0.1·30 = 3.0000000000000004.
	m = LivingstonLewisModel{MinScore: 0, MaxScore: 1, Length: 30, Alpha: 2, Beta: 2, Lower: 0, Upper: 1}
	a, err := m.Classify(0.1)
	if err != nil {
		t.Fatal(err)
	}
	m.MaxScore = 30
	b, err := m.Classify(3)
	if err != nil {
		t.Fatal(err)
	}
	if !sameConsistency(a, b) {
		t.Errorf("cut 0.1 of 1: got %+v, want cut 3 of 30 %+v", a, b)
	}
}

func TestConsistencyBetaIntegral(t *testing.T) {
	// ∫ t^k over beta densities, singular or not, against the closed form
	// E t^k = Π_{i<k} (α + i)/(α + β + i), and the mass of a piece against
	// the incomplete beta function.
	tests := []struct {
		name        string
		alpha, beta float64
	}{
		{"smooth", 3, 2.5},
		{"singular at 0", 0.3, 4},
		{"singular at 1", 5, 0.4},
		{"singular at both", 0.5, 0.7},
		{"uniform", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k := range 4 {
				want := 1.0
				for i := range k {
					want *= (tt.alpha + float64(i)) / (tt.alpha + tt.beta + float64(i))
				}
				got := consistencyBetaIntegral(func(x float64) float64 { return math.Pow(x, float64(k)) }, tt.alpha, tt.beta, 0, 1)
				if math.Abs(got-want) > 1e-13 {
					t.Errorf("E t^%d: got %.17g, want %.17g", k, got, want)
				}
			}
			one := func(float64) float64 { return 1 }
			for _, cut := range []float64{1e-6, 0.2, 0.5, 0.9, 1 - 1e-6} {
				lo := consistencyBetaIntegral(one, tt.alpha, tt.beta, 0, cut)
				hi := consistencyBetaIntegral(one, tt.alpha, tt.beta, cut, 1)
				want := mathext.RegIncBeta(tt.alpha, tt.beta, cut)
				if math.Abs(lo-want) > 1e-13 || math.Abs(hi-(1-want)) > 1e-13 {
					t.Errorf("cut %v: got masses %.17g, %.17g; want %.17g, %.17g", cut, lo, hi, want, 1-want)
				}
			}
		})
	}
}

func TestRudnerEdgeCases(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name      string
		theta, se []float64
		cut       float64
		want      DecisionConsistency
	}{
		{
			name: "exact estimates", theta: []float64{-1, 0, 2}, se: []float64{0, 0, 0}, cut: 0,
			// Every decision certain and right; two of three pass.
			want: DecisionConsistency{Agreement: 1, Chance: 5.0 / 9, Kappa: 1, Accuracy: 1},
		},
		{
			name: "at the cut", theta: []float64{0.5}, se: []float64{0.3}, cut: 0.5,
			want: DecisionConsistency{Agreement: 0.5, Chance: 0.5, Kappa: 0, Accuracy: 0.5, FalsePass: 0.5},
		},
		{
			name: "no information", theta: []float64{-1, 1}, se: []float64{inf, inf}, cut: 0,
			want: DecisionConsistency{Agreement: 0.5, Chance: 0.5, Kappa: 0, Accuracy: 0.5, FalsePass: 0.25, FalseFail: 0.25},
		},
		{
			name: "everyone surely passes", theta: []float64{1, 2}, se: []float64{0, 0}, cut: 0,
			want: DecisionConsistency{Agreement: 1, Chance: 1, Kappa: math.NaN(), Accuracy: 1},
		},
		{
			name: "one standard error above", theta: []float64{1}, se: []float64{1}, cut: 0,
			want: func() DecisionConsistency {
				p := 0.5 * math.Erfc(-1/math.Sqrt2)
				a := p*p + (1-p)*(1-p)
				// One candidate: agreement is chance agreement, kappa 0.
				return DecisionConsistency{Agreement: a, Chance: a, Kappa: 0, Accuracy: p, FalsePass: 1 - p}
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Rudner(tt.theta, tt.se, tt.cut)
			if err != nil {
				t.Fatal(err)
			}
			if !sameConsistency(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRudnerQuadratureMatchesPersons(t *testing.T) {
	// A quadrature is a weighted set of persons whose estimates are the
	// nodes — with the roles of true and estimated ability exchanged, so
	// consistency (symmetric in them) is the same, and false passes of one
	// are the false fails of the other with the cut side reversed.
	q := Quadrature{Nodes: []float64{-1, 0.2, 0.7, 1.5}, Weights: []float64{1, 1, 1, 1}}
	csem := []float64{0.4, 0.3, 0.35, 0.5}
	got, err := RudnerQuadrature(q, csem, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Rudner(q.Nodes, csem, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFloat(got.Agreement, want.Agreement) || !sameFloat(got.Kappa, want.Kappa) || !sameFloat(got.Accuracy, want.Accuracy) {
		t.Errorf("got %+v, want the consistency and accuracy of %+v", got, want)
	}
	if !sameFloat(got.FalsePass, want.FalseFail) || !sameFloat(got.FalseFail, want.FalsePass) {
		t.Errorf("got false pass %v and fail %v, want %v and %v", got.FalsePass, got.FalseFail, want.FalseFail, want.FalsePass)
	}
	// Weights are normalised.
	q.Weights = []float64{0.25, 0.25, 0.25, 0.25}
	norm, err := RudnerQuadrature(q, csem, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if !sameConsistency(norm, got) {
		t.Errorf("weights summing to 1: got %+v, want %+v", norm, got)
	}
}

func TestConsistencyErrors(t *testing.T) {
	scores := []float64{3, 5, 6, 8, 9, 11, 12, 14, 15, 18}
	q := NormalQuadrature(11, 0, 1)
	csem := make([]float64, 11)
	for i := range csem {
		csem[i] = 0.3
	}
	bad := func(i int, v float64) []float64 {
		c := append([]float64(nil), csem...)
		c[i] = v
		return c
	}
	tests := []struct {
		name string
		f    func() error
		want error
	}{
		{"LL score above max", func() error { _, err := LivingstonLewis([]float64{3, 21}, 0, 20, 0.8, 10); return err }, ErrInvalidScore},
		{"LL score below min", func() error { _, err := LivingstonLewis([]float64{-1, 3}, 0, 20, 0.8, 10); return err }, ErrInvalidScore},
		{"LL missing score", func() error { _, err := LivingstonLewis([]float64{math.NaN(), 3}, 0, 20, 0.8, 10); return err }, ErrInvalidScore},
		{"LL reliability 1", func() error { _, err := LivingstonLewis(scores, 0, 20, 1, 10); return err }, ErrInvalidReliability},
		{"LL reliability 0", func() error { _, err := LivingstonLewis(scores, 0, 20, 0, 10); return err }, ErrInvalidReliability},
		{"LL reliability NaN", func() error { _, err := LivingstonLewis(scores, 0, 20, math.NaN(), 10); return err }, ErrInvalidReliability},
		{"LL cut at min", func() error { _, err := LivingstonLewis(scores, 0, 20, 0.8, 0); return err }, ErrInvalidCut},
		{"LL cut above max", func() error { _, err := LivingstonLewis(scores, 0, 20, 0.8, 20.5); return err }, ErrInvalidCut},
		{"LL cut NaN", func() error { _, err := LivingstonLewis(scores, 0, 20, 0.8, math.NaN()); return err }, ErrInvalidCut},
		{"LL no variance", func() error { _, err := LivingstonLewis([]float64{7, 7, 7}, 0, 20, 0.8, 10); return err }, ErrTrueScoreFit},
		{"LL effective length below 2", func() error {
			// Scores at the two ends: the observed variance is the
			// largest possible, so the effective length is about 1.
			_, err := LivingstonLewis([]float64{0, 20, 0, 20}, 0, 20, 0.5, 10)
			return err
		}, ErrTrueScoreFit},
		{"Rudner NaN theta", func() error { _, err := Rudner([]float64{0, math.NaN()}, []float64{1, 1}, 0); return err }, ErrInvalidEstimate},
		{"Rudner infinite theta", func() error { _, err := Rudner([]float64{math.Inf(1)}, []float64{1}, 0); return err }, ErrInvalidEstimate},
		{"Rudner negative se", func() error { _, err := Rudner([]float64{0}, []float64{-0.1}, 0); return err }, ErrInvalidEstimate},
		{"Rudner NaN se", func() error { _, err := Rudner([]float64{0}, []float64{math.NaN()}, 0); return err }, ErrInvalidEstimate},
		{"Rudner NaN cut", func() error { _, err := Rudner([]float64{0}, []float64{1}, math.NaN()); return err }, ErrInvalidCut},
		{"quadrature NaN csem", func() error { _, err := RudnerQuadrature(q, bad(3, math.NaN()), 0); return err }, ErrInvalidEstimate},
		{"quadrature negative csem", func() error { _, err := RudnerQuadrature(q, bad(3, -1), 0); return err }, ErrInvalidEstimate},
		{"quadrature infinite cut", func() error { _, err := RudnerQuadrature(q, csem, math.Inf(-1)); return err }, ErrInvalidCut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f(); !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestConsistencyPanics(t *testing.T) {
	q := NormalQuadrature(5, 0, 1)
	tests := []struct {
		name string
		f    func()
	}{
		{"LL no scores", func() { _, _ = LivingstonLewis(nil, 0, 10, 0.8, 5) }},
		{"LL empty range", func() { _, _ = LivingstonLewis([]float64{1}, 10, 10, 0.8, 5) }},
		{"LL NaN range", func() { _, _ = FitLivingstonLewis([]float64{1}, math.NaN(), 10, 0.8) }},
		{"Rudner no estimates", func() { _, _ = Rudner(nil, nil, 0) }},
		{"Rudner se length", func() { _, _ = Rudner([]float64{1, 2}, []float64{1}, 0) }},
		{"quadrature no nodes", func() { _, _ = RudnerQuadrature(Quadrature{}, nil, 0) }},
		{"quadrature csem length", func() { _, _ = RudnerQuadrature(q, []float64{1}, 0) }},
		{"quadrature negative weight", func() {
			_, _ = RudnerQuadrature(Quadrature{Nodes: []float64{0, 1}, Weights: []float64{1, -1}}, []float64{1, 1}, 0)
		}},
		{"quadrature zero weights", func() {
			_, _ = RudnerQuadrature(Quadrature{Nodes: []float64{0, 1}, Weights: []float64{0, 0}}, []float64{1, 1}, 0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

func BenchmarkLivingstonLewis(b *testing.B) {
	sets := llSets(b)
	s := sets["beta4"]
	for b.Loop() {
		if _, err := LivingstonLewis(s.scores, s.min, s.max, s.reliability, 33.3); err != nil {
			b.Fatal(err)
		}
	}
}
