package psychometrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// mmlSX2Items reads the item parameters of one case of
// testdata/mml_sx2_items.csv.
func mmlSX2Items(tb testing.TB, name string) []Item3PL {
	tb.Helper()
	var items []Item3PL
	for _, rec := range readRecords(tb, "mml_sx2_items.csv") {
		if rec["case"] == name {
			items = append(items, Item3PL{A: number(tb, rec["a"]), B: number(tb, rec["b"]), C: number(tb, rec["c"])})
		}
	}
	return items
}

// TestSX2Golden compares with testdata/mml_sx2.R, which computes the expected
// proportions with integrate() over N(0, 1) instead of a quadrature:
// tolerance 1e-6 relative on S-X², 1e-7 on p; groups and df exactly.
func TestSX2Golden(t *testing.T) {
	cases := map[string]struct {
		x      mat.Matrix
		params int
	}{
		"lsat6_2pl": {mmlLSAT6(t), 2},
		"sim":       {readMatrix(t, "mml_sx2_data.csv"), 3},
	}
	got := map[string][]ItemFit{}
	for name, tc := range cases {
		fit, err := SX2(tc.x, mmlSX2Items(t, name), Quadrature{}, tc.params)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = fit
	}
	n := 0
	for _, rec := range readRecords(t, "mml_sx2_golden.csv") {
		fit, ok := got[rec["case"]]
		if !ok {
			t.Fatalf("unknown case %q", rec["case"])
		}
		n++
		j := integer(t, rec["item"])
		g := fit[j]
		chi2, p := number(t, rec["chi2"]), number(t, rec["p"])
		if g.Item != j || g.DF != integer(t, rec["df"]) || g.Groups != integer(t, rec["groups"]) {
			t.Errorf("%s item %d: got item %d, df %d, %d groups; want df %s, %s groups", rec["case"], j, g.Item, g.DF, g.Groups, rec["df"], rec["groups"])
		}
		if math.Abs(g.Chi2-chi2) > 1e-6*chi2 || math.Abs(g.P-p) > 1e-7 {
			t.Errorf("%s item %d: got S-X² %.10g (p %.8g), want %.10g (p %.8g)", rec["case"], j, g.Chi2, g.P, chi2, p)
		}
	}
	if n != 13 {
		t.Errorf("got %d golden rows, want 13", n)
	}
}

// TestSX2LSAT6Published compares with published S-X² of the LSAT6 data (see
// testdata/lsat6_published.md): irtQ's for its 2PL estimates, exactly as
// printed (±0.001), and mirt's for the 1PL, at our own 1PL estimates (±0.02:
// mirt's estimates and quadrature differ slightly).
func TestSX2LSAT6Published(t *testing.T) {
	x := mmlLSAT6(t)
	fits := map[string][]ItemFit{}
	var err error
	if fits["2PL"], err = SX2(x, mmlSX2Items(t, "lsat6_2pl"), Quadrature{}, 2); err != nil {
		t.Fatal(err)
	}
	cal, err := CalibrateMML(x, MMLSettings{Model: Model1PL, SE: SENone})
	if err != nil {
		t.Fatal(err)
	}
	if fits["1PL"], err = SX2(x, cal.Items, Quadrature{}, 2); err != nil {
		t.Fatal(err)
	}
	for _, rec := range readRecords(t, "lsat6_sx2_published.csv") {
		j := integer(t, rec["item"])
		g := fits[rec["model"]][j]
		tol := number(t, rec["tol"])
		chi2, p := number(t, rec["chi2"]), number(t, rec["p"])
		if math.Abs(g.Chi2-chi2) > tol || math.Abs(g.P-p) > tol || g.DF != integer(t, rec["df"]) {
			t.Errorf("%s (%s) item %d: got S-X² %.4f, df %d, p %.4f; want %.3f, %s, %.3f ± %g",
				rec["model"], rec["source"], j, g.Chi2, g.DF, g.P, chi2, rec["df"], p, tol)
		}
	}
}

// TestSX2Calibrated checks S-X² on data simulated from the model it is
// tested against: with 3000 persons and 30 2PL items calibrated by
// CalibrateMML, the p-values should be roughly uniform — mean within
// 0.5 ± 0.15 and at most 10% of them below .05.
func TestSX2Calibrated(t *testing.T) {
	rng := rand.New(rand.NewPCG(314, 15))
	items := mmlItems(rng, 30, 1, false)
	x, _ := mmlSimulate(rng, 3000, items, 0, 1)
	cal, err := CalibrateMML(x, MMLSettings{SE: SENone})
	if err != nil {
		t.Fatal(err)
	}
	for name, its := range map[string][]Item3PL{"true items": items, "calibrated items": cal.Items} {
		fit, err := SX2(x, its, Quadrature{}, 2)
		if err != nil {
			t.Fatal(err)
		}
		var mean float64
		small := 0
		for _, f := range fit {
			mean += f.P
			if f.P < 0.05 {
				small++
			}
			if f.DF < 10 {
				t.Errorf("%s, item %d: got %d df, want most of the 29 score groups kept", name, f.Item, f.DF)
			}
		}
		mean /= float64(len(fit))
		if math.Abs(mean-0.5) > 0.15 || small > 3 {
			t.Errorf("%s: got mean p %.3f and %d of 30 below .05, want about 0.5 and at most 3", name, mean, small)
		}
	}
}

// TestSX2Misfit checks that S-X² detects misfitting items: the data (6000
// persons) hold a 3PL item with strong guessing (c = 0.35) and an item whose
// probability of success falls at high ability, among 2PL items; a 2PL
// calibration must give both a p-value below 1e-6, and at most 2 of the 18
// fitting items a p-value below .01.
func TestSX2Misfit(t *testing.T) {
	rng := rand.New(rand.NewPCG(2718, 28))
	items := mmlItems(rng, 20, 1, false)
	items[0] = Item3PL{A: 2, B: 1, C: 0.35}
	x, theta := mmlSimulate(rng, 6000, items, 0, 1)
	const bump = 7 // non-monotone: P = 0.8·exp(−(θ − 0.5)²/2)
	for i, t := range theta {
		p := 0.8 * math.Exp(-(t-0.5)*(t-0.5)/2)
		v := 0.0
		if rng.Float64() < p {
			v = 1
		}
		x.Set(i, bump, v)
	}
	cal, err := CalibrateMML(x, MMLSettings{SE: SENone})
	if err != nil {
		t.Fatal(err)
	}
	fit, err := SX2(x, cal.Items, Quadrature{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []int{0, bump} {
		if !(fit[j].P < 1e-6) {
			t.Errorf("item %d: got S-X² %.2f on %d df, p %.3g; want p < 1e-6", j, fit[j].Chi2, fit[j].DF, fit[j].P)
		}
	}
	small := 0
	for j, f := range fit {
		if j != 0 && j != bump && f.P < 0.01 {
			small++
		}
	}
	if small > 2 {
		t.Errorf("got %d of the 18 fitting items with p < .01, want at most 2", small)
	}
}

func TestSX2MissingAndErrors(t *testing.T) {
	x := mmlLSAT6(t)
	items := mmlSX2Items(t, "lsat6_2pl")
	want, err := SX2(x, items, Quadrature{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// A person with a NaN is left out, as if absent.
	r, k := x.Dims()
	withNaN := mat.NewDense(r+1, k, nil)
	withNaN.Copy(x)
	withNaN.SetRow(r, []float64{1, math.NaN(), 0, 1, 1})
	got, err := SX2(withNaN, items, Quadrature{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for j := range got {
		if got[j] != want[j] {
			t.Errorf("item %d: got %+v with a NaN row, want %+v", j, got[j], want[j])
		}
	}
	// params sets the degrees of freedom; none left gives p = NaN.
	three, err := SX2(x, items, Quadrature{}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if three[2].DF != -1 || !math.IsNaN(three[2].P) || three[0].DF != 0 || !math.IsNaN(three[0].P) {
		t.Errorf("params 4: got df %d (p %v) and %d (p %v), want −1 and 0 with NaN p", three[2].DF, three[2].P, three[0].DF, three[0].P)
	}

	bad := mat.DenseCopyOf(x)
	bad.Set(3, 2, 2)
	if _, err := SX2(bad, items, Quadrature{}, 2); !errors.Is(err, ErrNotDichotomous) || !strings.Contains(err.Error(), "item 2") {
		t.Errorf("got error %v, want ErrNotDichotomous naming item 2", err)
	}

	for _, tt := range []struct {
		name   string
		x      mat.Matrix
		items  []Item3PL
		q      Quadrature
		params int
	}{
		{"one item", x.Slice(0, 10, 0, 1), items[:1], Quadrature{}, 2},
		{"item count", x, items[:4], Quadrature{}, 2},
		{"negative params", x, items, Quadrature{}, -1},
		{"invalid item", x, append([]Item3PL{{A: math.NaN()}}, items[1:]...), Quadrature{}, 2},
		{"quadrature", x, items, Quadrature{Nodes: []float64{0}}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, func() { _, _ = SX2(tt.x, tt.items, tt.q, tt.params) })
		})
	}
}

// TestLordWingersky checks the recursion against enumeration of all response
// patterns.
func TestLordWingersky(t *testing.T) {
	p := []float64{0.9, 0.3, 0.55, 0.7}
	for skip := -1; skip < len(p); skip++ {
		m := len(p)
		if skip >= 0 {
			m--
		}
		want := make([]float64, m+1)
		for pat := range 1 << len(p) {
			if skip >= 0 && pat>>skip&1 == 1 {
				continue
			}
			prob, score := 1.0, 0
			for j, pj := range p {
				if j == skip {
					continue
				}
				if pat>>j&1 == 1 {
					prob *= pj
					score++
				} else {
					prob *= 1 - pj
				}
			}
			want[score] += prob
		}
		got := make([]float64, m+1)
		mmlLordWingersky(got, p, skip)
		for s := range want {
			if !sameFloat(got[s], want[s]) {
				t.Errorf("skip %d, score %d: got %v, want %v", skip, s, got[s], want[s])
			}
		}
	}
}
