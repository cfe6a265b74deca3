package psychometrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
	"gonum.org/v1/gonum/stat"
)

// Tolerances against the references of testdata/theta.R (see its header).
const (
	// thetaRootTol: estimates against uniroot() with tol 1e-14 of the same
	// estimating equation; both sides are converged to about 1e-15, so the
	// difference is rounding in the score near its root.
	thetaRootTol = 1e-9
	// thetaOptimizeTol: the MLE against optimize(), whose argmax is only
	// accurate to about √ε·|θ| ≈ 1e-8 because the likelihood is flat at its
	// maximum.
	thetaOptimizeTol = 1e-7
	// thetaIntegrateTol: 61-node EAP against integrate() of the continuous
	// posterior; the rectangular rule over ±6 with step 0.2 is off by at most
	// 1.2e-6 for these tests (the zero and perfect Rasch scores, whose
	// posteriors sit in the tail of the prior).
	thetaIntegrateTol = 2e-6
	// thetaERMTol, thetaERMSETol: Rasch MLE and its SE against
	// eRm::person.parameter(), which stops nlm() at its default gradient
	// tolerance and takes the SE from nlm's finite-difference Hessian: its θ
	// are off the score root by up to 2e-5 and its SEs by up to 1e-4 (relative)
	// for these data.
	thetaERMTol   = 1e-4
	thetaERMSETol = 5e-4
)

func thetaClose(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return scalar.EqualWithinAbsOrRel(got, want, tol, tol)
}

// thetaItemSets reads testdata/theta_items.csv.
func thetaItemSets(tb testing.TB) map[string][]Item3PL {
	tb.Helper()
	sets := make(map[string][]Item3PL)
	for _, rec := range readRecords(tb, "theta_items.csv") {
		s := rec["set"]
		if integer(tb, rec["item"]) != len(sets[s]) {
			tb.Fatalf("theta_items.csv: set %s: items out of order", s)
		}
		sets[s] = append(sets[s], Item3PL{A: number(tb, rec["a"]), B: number(tb, rec["b"]), C: number(tb, rec["c"])})
	}
	return sets
}

// thetaPattern parses a response pattern written as 1, 0 and . (not
// administered).
func thetaPattern(tb testing.TB, s string) []float64 {
	tb.Helper()
	out := make([]float64, len(s))
	for i, ch := range s {
		switch ch {
		case '1':
			out[i] = 1
		case '0':
		case '.':
			out[i] = math.NaN()
		default:
			tb.Fatalf("pattern %q: bad character %q", s, ch)
		}
	}
	return out
}

func TestThetaGolden(t *testing.T) {
	sets := thetaItemSets(t)
	for _, rec := range readRecords(t, "theta_golden.csv") {
		items := sets[rec["set"]]
		resp := thetaPattern(t, rec["resp"])
		if len(resp) != len(items) {
			t.Fatalf("set %s pattern %s: %d responses for %d items", rec["set"], rec["id"], len(resp), len(items))
		}
		t.Run(fmt.Sprintf("%s/%s/%s", rec["set"], rec["id"], rec["resp"]), func(t *testing.T) {
			t.Run("MLE", func(t *testing.T) {
				est, err := ThetaMLE(items, resp)
				switch rec["mle_status"] {
				case "extreme":
					if !errors.Is(err, ErrExtremeScore) {
						t.Fatalf("got %+v, %v; want ErrExtremeScore", est, err)
					}
					return
				case "none":
					if !errors.Is(err, ErrNoFiniteTheta) {
						t.Fatalf("got %+v, %v; want ErrNoFiniteTheta", est, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := number(t, rec["mle_root"]); !thetaClose(est.Theta, want, thetaRootTol) {
					t.Errorf("got θ %.17g, want %.17g (uniroot)", est.Theta, want)
				}
				if want := number(t, rec["mle"]); !thetaClose(est.Theta, want, thetaOptimizeTol) {
					t.Errorf("got θ %.17g, want %.17g (optimize)", est.Theta, want)
				}
				if want := number(t, rec["mle_se"]); !thetaClose(est.SE, want, thetaRootTol) {
					t.Errorf("got SE %.17g, want %.17g", est.SE, want)
				}
			})
			t.Run("WLE", func(t *testing.T) {
				est, err := ThetaWLE(items, resp)
				if rec["wle_status"] == "none" {
					if !errors.Is(err, ErrNoFiniteTheta) {
						t.Fatalf("got %+v, %v; want ErrNoFiniteTheta", est, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := number(t, rec["wle"]); !thetaClose(est.Theta, want, thetaRootTol) {
					t.Errorf("got θ %.17g, want %.17g", est.Theta, want)
				}
				if want := number(t, rec["wle_se"]); !thetaClose(est.SE, want, thetaRootTol) {
					t.Errorf("got SE %.17g, want %.17g", est.SE, want)
				}
			})
			t.Run("EAP", func(t *testing.T) {
				for _, q := range []struct {
					name string
					q    Quadrature
				}{{"zero quadrature", Quadrature{}}, {"NormalQuadrature(61, 0, 1)", NormalQuadrature(61, 0, 1)}} {
					est := ThetaEAP(items, resp, q.q)
					if want := number(t, rec["eap"]); !sameFloat(est.Theta, want) {
						t.Errorf("%s: got θ %.17g, want %.17g", q.name, est.Theta, want)
					}
					if want := number(t, rec["eap_sd"]); !sameFloat(est.SE, want) {
						t.Errorf("%s: got SD %.17g, want %.17g", q.name, est.SE, want)
					}
					if want := number(t, rec["eap_int"]); !thetaClose(est.Theta, want, thetaIntegrateTol) {
						t.Errorf("%s: got θ %.17g, want %.17g (integrate)", q.name, est.Theta, want)
					}
					if want := number(t, rec["eap_sd_int"]); !thetaClose(est.SE, want, thetaIntegrateTol) {
						t.Errorf("%s: got SD %.17g, want %.17g (integrate)", q.name, est.SE, want)
					}
				}
			})
			t.Run("person fit", func(t *testing.T) {
				check := func(name string, got float64, col string) {
					t.Helper()
					if want := number(t, rec[col]); !sameFloat(got, want) {
						t.Errorf("%s: got %.17g, want %.17g", name, got, want)
					}
				}
				check("lz at θ = 0.5", PersonFitLz(items, resp, 0.5), "lz_fixed")
				mle, wle := number(t, rec["mle_root"]), number(t, rec["wle"])
				check("lz at MLE", PersonFitLz(items, resp, mle), "lz_mle")
				check("lz* at MLE", PersonFitLzStar(items, resp, mle, MaximumLikelihood), "lzstar_mle")
				check("lz at WLE", PersonFitLz(items, resp, wle), "lz_wle")
				check("lz* at WLE", PersonFitLzStar(items, resp, wle, WeightedLikelihood), "lzstar_wle")
			})
		})
	}
}

func TestThetaMLEMatchesERM(t *testing.T) {
	// eRm::person.parameter() of a CML Rasch fit: θ for each non-extreme raw
	// score, with the item difficulties of that fit. Under the Rasch model the
	// MLE depends on the pattern only through the raw score.
	items := thetaItemSets(t)["rasch"]
	for _, rec := range readRecords(t, "theta_rasch_erm.csv") {
		score := integer(t, rec["score"])
		resp := make([]float64, len(items))
		for j := range score {
			resp[len(items)-1-j] = 1 // the hardest items, to be unlike eRm's data
		}
		est, err := ThetaMLE(items, resp)
		if err != nil {
			t.Fatalf("score %d: %v", score, err)
		}
		if want := number(t, rec["theta"]); !thetaClose(est.Theta, want, thetaERMTol) {
			t.Errorf("score %d: got θ %.10g, want %.10g (eRm)", score, est.Theta, want)
		}
		if want := number(t, rec["se"]); !thetaClose(est.SE, want, thetaERMSETol) {
			t.Errorf("score %d: got SE %.10g, want %.10g (eRm)", score, est.SE, want)
		}
	}
}

func TestThetaForTrueScoreGolden(t *testing.T) {
	sets := thetaItemSets(t)
	for _, rec := range readRecords(t, "theta_tcc.csv") {
		items := sets[rec["set"]]
		score := number(t, rec["score"])
		want := number(t, rec["theta"])
		got, err := ThetaForTrueScore(items, score)
		if math.IsNaN(want) {
			if !errors.Is(err, ErrExtremeScore) || !math.IsNaN(got) {
				t.Errorf("set %s, score %v: got %v, %v; want NaN, ErrExtremeScore", rec["set"], score, got, err)
			}
			continue
		}
		if err != nil || !thetaClose(got, want, thetaRootTol) {
			t.Errorf("set %s, score %v: got %.17g, %v; want %.17g", rec["set"], score, got, err, want)
		}
		if score == math.Trunc(score) {
			if table := ThetaForRawScores(items); !thetaClose(table[int(score)], want, thetaRootTol) {
				t.Errorf("set %s: ThetaForRawScores[%v] = %.17g, want %.17g", rec["set"], score, table[int(score)], want)
			}
		}
	}
}

func TestThetaForRawScoresUndefined(t *testing.T) {
	items := []Item3PL{{A: 1, B: 0, C: 0.3}, {A: 1, B: 1, C: 0.3}, {A: 1.5, B: -1, C: 0.3}, {A: 1, B: 0}}
	got := ThetaForRawScores(items)
	if len(got) != 5 {
		t.Fatalf("got %d entries, want 5", len(got))
	}
	// Σc = 0.9: scores 0 and 4 (= n) have no θ; 1, 2, 3 do.
	for x, th := range got {
		if undefined := x == 0 || x == 4; undefined != math.IsNaN(th) {
			t.Errorf("score %d: got θ %v", x, th)
		}
	}
}

func TestCurvesGolden(t *testing.T) {
	sets := thetaItemSets(t)
	for _, rec := range readRecords(t, "theta_curves.csv") {
		items := sets[rec["set"]]
		theta := number(t, rec["theta"])
		pt := Curves(items, []float64{theta})[0]
		if pt.Theta != theta {
			t.Errorf("got θ %v, want %v", pt.Theta, theta)
		}
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"information", pt.Information, number(t, rec["info"])},
			{"true score", pt.TrueScore, number(t, rec["tcc"])},
			{"CSEM", pt.CSEM, number(t, rec["csem"])},
			{"CSEM()", CSEM(items, theta), number(t, rec["csem"])},
		} {
			if !sameFloat(c.got, c.want) {
				t.Errorf("set %s at θ %v: got %s %.17g, want %.17g", rec["set"], theta, c.name, c.got, c.want)
			}
		}
	}
}

func TestSummedScoreDistributionGolden(t *testing.T) {
	sets := thetaItemSets(t)
	dists := make(map[string][]float64)
	for _, rec := range readRecords(t, "theta_lw.csv") {
		key := rec["set"] + "@" + rec["theta"]
		d, ok := dists[key]
		if !ok {
			d = SummedScoreDistribution(sets[rec["set"]], number(t, rec["theta"]))
			dists[key] = d
		}
		x := integer(t, rec["score"])
		if want := number(t, rec["prob"]); !sameFloat(d[x], want) {
			t.Errorf("set %s at θ %s: got P(X = %d) %.17g, want %.17g (enumeration)", rec["set"], rec["theta"], x, d[x], want)
		}
	}
	if len(dists) == 0 {
		t.Fatal("no golden rows")
	}
}

func TestSummedScoreEAPGolden(t *testing.T) {
	sets := thetaItemSets(t)
	tables := make(map[string][]SummedScore)
	for _, rec := range readRecords(t, "theta_sseap.csv") {
		tab, ok := tables[rec["set"]]
		if !ok {
			tab = SummedScoreEAP(sets[rec["set"]], Quadrature{})
			tables[rec["set"]] = tab
		}
		x := integer(t, rec["score"])
		row := tab[x]
		if row.Score != x {
			t.Errorf("row %d: got score %d", x, row.Score)
		}
		for _, c := range []struct {
			name      string
			got, want float64
			tol       float64
		}{
			{"EAP", row.Theta, number(t, rec["eap"]), 0},
			{"SD", row.SD, number(t, rec["sd"]), 0},
			{"P(X = x)", row.Prob, number(t, rec["prob"]), 0},
			{"EAP (integrate)", row.Theta, number(t, rec["eap_int"]), thetaIntegrateTol},
			{"SD (integrate)", row.SD, number(t, rec["sd_int"]), thetaIntegrateTol},
		} {
			ok := sameFloat(c.got, c.want)
			if c.tol > 0 {
				ok = thetaClose(c.got, c.want, c.tol)
			}
			if !ok {
				t.Errorf("set %s, score %d: got %s %.17g, want %.17g", rec["set"], x, c.name, c.got, c.want)
			}
		}
	}
}

// thetaRandomItems returns n items drawn from rng: A in [0.5, 2.5), B
// normal, C in [0, maxC).
func thetaRandomItems(rng *rand.Rand, n int, maxC float64) []Item3PL {
	items := make([]Item3PL, n)
	for j := range items {
		items[j] = Item3PL{A: 0.5 + 2*rng.Float64(), B: rng.NormFloat64(), C: maxC * rng.Float64()}
	}
	return items
}

// thetaRandomPattern returns responses simulated at theta, with each item
// left out with probability missing.
func thetaRandomPattern(rng *rand.Rand, items []Item3PL, theta, missing float64) []float64 {
	resp := make([]float64, len(items))
	for j, it := range items {
		switch {
		case rng.Float64() < missing:
			resp[j] = math.NaN()
		case rng.Float64() < it.P(theta):
			resp[j] = 1
		}
	}
	return resp
}

func thetaLogLik(items []Item3PL, resp []float64, theta float64) float64 {
	var l float64
	for j, it := range items {
		if !math.IsNaN(resp[j]) {
			l += thetaLogProb(it, theta, resp[j] == 1)
		}
	}
	return l
}

func TestThetaMLEIsGlobalMaximum(t *testing.T) {
	// Property: for random 3PL tests and patterns, the MLE is a root of the
	// score and no θ on a fine grid over [−20, 20] has a higher likelihood.
	rng := rand.New(rand.NewPCG(11, 12))
	var checked int
	for trial := range 120 {
		items := thetaRandomItems(rng, 5+rng.IntN(20), 0.35)
		resp := thetaRandomPattern(rng, items, 2*rng.NormFloat64(), 0.2)
		est, err := ThetaMLE(items, resp)
		if err != nil {
			if !errors.Is(err, ErrExtremeScore) && !errors.Is(err, ErrNoFiniteTheta) {
				t.Fatalf("trial %d: unexpected error %v", trial, err)
			}
			continue
		}
		checked++
		o := thetaObjective{items: items, resp: resp}
		if g, h := o.score(est.Theta); math.Abs(g) > 1e-9*math.Max(1, math.Abs(h)) {
			t.Errorf("trial %d: score at θ̂ %v is %v", trial, est.Theta, g)
		}
		best := thetaLogLik(items, resp, est.Theta)
		for x := -20.0; x <= 20; x += 0.01 {
			if l := thetaLogLik(items, resp, x); l > best+1e-12 {
				t.Errorf("trial %d: l(%v) = %v above l(θ̂ = %v) = %v", trial, x, l, est.Theta, best)
				break
			}
		}
	}
	if checked < 60 {
		t.Errorf("only %d of 120 trials had a finite MLE", checked)
	}
}

func TestThetaWLEIsJeffreysMode(t *testing.T) {
	// Property: under the 2PL the WLE maximises l(θ) + ½ ln I(θ) (Warm's
	// weight is √I), on a fine grid, for random tests and patterns including
	// zero and perfect scores.
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := range 60 {
		items := thetaRandomItems(rng, 3+rng.IntN(20), 0)
		resp := thetaRandomPattern(rng, items, 2*rng.NormFloat64(), 0.1)
		est, err := ThetaWLE(items, resp)
		if err != nil {
			if !errors.Is(err, ErrNoFiniteTheta) {
				t.Fatalf("trial %d: unexpected error %v", trial, err)
			}
			continue
		}
		f := func(x float64) float64 {
			return thetaLogLik(items, resp, x) + 0.5*math.Log(thetaInformation(items, resp, x))
		}
		best := f(est.Theta)
		for x := -20.0; x <= 20; x += 0.01 {
			if v := f(x); v > best+1e-12 {
				t.Errorf("trial %d: f(%v) = %v above f(θ̂ = %v) = %v", trial, x, v, est.Theta, best)
				break
			}
		}
	}
}

func TestThetaObjectiveDerivatives(t *testing.T) {
	// The analytic derivatives used by Newton–Raphson against central
	// differences: g = dl/dθ (+ J/(2I)) and h = dg/dθ.
	rng := rand.New(rand.NewPCG(15, 16))
	const step = 1e-5
	for trial := range 50 {
		items := thetaRandomItems(rng, 8, 0.3)
		resp := thetaRandomPattern(rng, items, rng.NormFloat64(), 0.2)
		for _, weighted := range []bool{false, true} {
			o := thetaObjective{items: items, resp: resp, weighted: weighted}
			for _, x := range []float64{-3, -0.7, 0, 0.4, 2.5} {
				g, h, phi, dphi := o.eval(x)
				gp, _, phip, _ := o.eval(x + step)
				gm, _, phim, _ := o.eval(x - step)
				dl := (o.loglik(x+step) - o.loglik(x-step)) / (2 * step)
				if want := dl + phi; math.Abs(g-want) > 1e-6*math.Max(1, math.Abs(want)) {
					t.Errorf("trial %d, weighted %v, θ %v: got g %v, want %v", trial, weighted, x, g, want)
				}
				if want := (gp - gm) / (2 * step); math.Abs(h-want) > 1e-5*math.Max(1, math.Abs(want)) {
					t.Errorf("trial %d, weighted %v, θ %v: got h %v, want %v", trial, weighted, x, h, want)
				}
				if want := (phip - phim) / (2 * step); math.Abs(dphi-want) > 1e-5*math.Max(1, math.Abs(want)) {
					t.Errorf("trial %d, weighted %v, θ %v: got φ′ %v, want %v", trial, weighted, x, dphi, want)
				}
				if weighted {
					// φ is Warm's J/(2I), computed directly.
					var info, j float64
					for k, it := range items {
						if math.IsNaN(resp[k]) {
							continue
						}
						p, q, d1, d2 := thetaIRF(it, x)
						info += d1 * d1 / (p * q)
						j += d1 * d2 / (p * q)
					}
					if want := j / (2 * info); math.Abs(phi-want) > 1e-12*math.Max(1, math.Abs(want)) {
						t.Errorf("trial %d, θ %v: got φ %v, want J/(2I) %v", trial, x, phi, want)
					}
				}
			}
		}
	}
}

func TestThetaRaschSufficiency(t *testing.T) {
	// Under the Rasch model the raw score is sufficient: every pattern with
	// the same score has the same MLE and WLE.
	items := []Item3PL{{A: 1, B: -1.5}, {A: 1, B: -0.5}, {A: 1, B: 0}, {A: 1, B: 0.8}, {A: 1, B: 1.9}}
	a := []float64{1, 1, 0, 0, 0}
	b := []float64{0, 0, 0, 1, 1}
	for _, f := range []struct {
		name string
		fn   func([]Item3PL, []float64) (Estimate, error)
	}{{"MLE", ThetaMLE}, {"WLE", ThetaWLE}} {
		ea, err1 := f.fn(items, a)
		eb, err2 := f.fn(items, b)
		if err1 != nil || err2 != nil || !thetaClose(ea.Theta, eb.Theta, 1e-12) || !thetaClose(ea.SE, eb.SE, 1e-12) {
			t.Errorf("%s: got %+v, %v and %+v, %v; want equal", f.name, ea, err1, eb, err2)
		}
	}
}

func TestThetaEstimatorsOrdering(t *testing.T) {
	// Warm's correction pulls the MLE toward the centre of the test, and the
	// EAP under a N(0, 1) prior shrinks further: for a Rasch test centred at
	// 0, |EAP| < |WLE| < |MLE| for every non-extreme, non-central score.
	items := make([]Item3PL, 15)
	for j := range items {
		items[j] = Item3PL{A: 1, B: -2.1 + 0.3*float64(j)}
	}
	for score := 1; score < len(items); score++ {
		if 2*score == len(items) {
			continue
		}
		resp := make([]float64, len(items))
		for j := range score {
			resp[j] = 1
		}
		mle, err := ThetaMLE(items, resp)
		if err != nil {
			t.Fatal(err)
		}
		wle, err := ThetaWLE(items, resp)
		if err != nil {
			t.Fatal(err)
		}
		eap := ThetaEAP(items, resp, Quadrature{})
		if !(math.Abs(eap.Theta) < math.Abs(wle.Theta) && math.Abs(wle.Theta) < math.Abs(mle.Theta)) {
			t.Errorf("score %d: got EAP %v, WLE %v, MLE %v; want increasing magnitudes", score, eap.Theta, wle.Theta, mle.Theta)
		}
		if mle.Theta*wle.Theta <= 0 || wle.Theta*eap.Theta <= 0 {
			t.Errorf("score %d: estimates differ in sign: %v %v %v", score, mle.Theta, wle.Theta, eap.Theta)
		}
	}
}

func TestThetaMLEErrors(t *testing.T) {
	nan := math.NaN()
	rasch := []Item3PL{{A: 1, B: -1}, {A: 1}, {A: 1, B: 1}}
	guess := []Item3PL{{A: 1.5, B: -1, C: 0.25}, {A: 1.5, B: 0, C: 0.25}, {A: 1.5, B: 1, C: 0.25}, {A: 1.5, B: 2, C: 0.25}}
	tests := []struct {
		name  string
		items []Item3PL
		resp  []float64
		want  error
	}{
		{"all correct", rasch, []float64{1, 1, 1}, ErrExtremeScore},
		{"all incorrect", rasch, []float64{0, 0, 0}, ErrExtremeScore},
		{"all correct of those administered", rasch, []float64{1, nan, 1}, ErrExtremeScore},
		{"nothing administered", rasch, []float64{nan, nan, nan}, ErrNoFiniteTheta},
		{"guessing pattern, 3PL", guess, []float64{0, 0, 0, 1}, ErrNoFiniteTheta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if est, err := ThetaMLE(tt.items, tt.resp); !errors.Is(err, tt.want) {
				t.Errorf("got %+v, %v; want %v", est, err, tt.want)
			}
		})
	}
	if est, err := ThetaWLE(rasch, []float64{nan, nan, nan}); !errors.Is(err, ErrNoFiniteTheta) {
		t.Errorf("WLE, nothing administered: got %+v, %v; want ErrNoFiniteTheta", est, err)
	}
	// Warm's WLE is finite for the extreme scores, under the 2PL and 3PL.
	for _, items := range [][]Item3PL{rasch, guess[:3]} {
		for _, resp := range [][]float64{{0, 0, 0}, {1, 1, 1}} {
			if est, err := ThetaWLE(items, resp); err != nil || math.IsNaN(est.Theta) || math.IsInf(est.Theta, 0) {
				t.Errorf("WLE %v on %v: got %+v, %v; want finite", resp, items, est, err)
			}
		}
	}
	// A WLE beyond the search range: tiny discriminations.
	flat := []Item3PL{{A: 0.05}, {A: 0.05, B: 1}}
	if est, err := ThetaWLE(flat, []float64{1, 1}); !errors.Is(err, ErrNoFiniteTheta) {
		t.Errorf("WLE with A = 0.05: got %+v, %v; want ErrNoFiniteTheta", est, err)
	}
}

func TestThetaForTrueScoreErrors(t *testing.T) {
	items := []Item3PL{{A: 1, C: 0.2}, {A: 1.2, B: 1, C: 0.2}}
	for _, tt := range []struct {
		score float64
		want  error
	}{
		{0.4, ErrExtremeScore},
		{0.1, ErrExtremeScore},
		{2, ErrExtremeScore},
		{2.5, ErrExtremeScore},
		{math.Inf(1), ErrExtremeScore},
		{math.NaN(), ErrInvalidScore},
		{0.4 + 1e-300, ErrExtremeScore},
	} {
		if got, err := ThetaForTrueScore(items, tt.score); !errors.Is(err, tt.want) || !math.IsNaN(got) {
			t.Errorf("score %v: got %v, %v; want NaN, %v", tt.score, got, err, tt.want)
		}
	}
}

func TestThetaForTrueScoreRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	items := thetaRandomItems(rng, 30, 0.3)
	for _, theta := range []float64{-6, -3, -1.2, 0, 0.5, 2, 4, 8} {
		tau := TrueScore(items, theta)
		got, err := ThetaForTrueScore(items, tau)
		if err != nil {
			t.Fatalf("θ %v: %v", theta, err)
		}
		if back := TrueScore(items, got); !thetaClose(back, tau, 1e-12) {
			t.Errorf("θ %v: τ(θ̂) = %.17g, want %.17g (θ̂ = %v)", theta, back, tau, got)
		}
	}
}

func TestSummedScoreDistributionProperties(t *testing.T) {
	// It is a distribution, and its mean is the true score τ(θ) and its
	// variance Σ P_j Q_j (Lord, 1980, ch. 4).
	rng := rand.New(rand.NewPCG(19, 20))
	items := thetaRandomItems(rng, 40, 0.25)
	for _, theta := range []float64{-3, -0.5, 0, 1.7, 4} {
		d := SummedScoreDistribution(items, theta)
		var sum, mean, sq float64
		for x, p := range d {
			if p < 0 {
				t.Errorf("θ %v: P(X = %d) = %v", theta, x, p)
			}
			sum += p
			mean += float64(x) * p
			sq += float64(x) * float64(x) * p
		}
		var variance float64
		for _, it := range items {
			p := it.P(theta)
			variance += p * (1 - p)
		}
		if !thetaClose(sum, 1, 1e-13) {
			t.Errorf("θ %v: probabilities sum to %v", theta, sum)
		}
		if want := TrueScore(items, theta); !thetaClose(mean, want, 1e-12) {
			t.Errorf("θ %v: got mean %v, want τ(θ) %v", theta, mean, want)
		}
		if got := sq - mean*mean; !thetaClose(got, variance, 1e-10) {
			t.Errorf("θ %v: got variance %v, want %v", theta, got, variance)
		}
	}
}

func TestSummedScoreEAPProperties(t *testing.T) {
	// The marginal probabilities sum to 1, E[EAP(X)] is the prior mean (0),
	// and the EAP increases with the score.
	rng := rand.New(rand.NewPCG(21, 22))
	items := thetaRandomItems(rng, 25, 0.2)
	tab := SummedScoreEAP(items, Quadrature{})
	if len(tab) != len(items)+1 {
		t.Fatalf("got %d rows, want %d", len(tab), len(items)+1)
	}
	var sum, mean float64
	for x, row := range tab {
		sum += row.Prob
		mean += row.Prob * row.Theta
		if x > 0 && !(row.Theta > tab[x-1].Theta) {
			t.Errorf("EAP not increasing at score %d: %v after %v", x, row.Theta, tab[x-1].Theta)
		}
		if !(row.SD > 0 && row.SD < 1) {
			t.Errorf("score %d: posterior SD %v not in (0, 1)", x, row.SD)
		}
	}
	if !thetaClose(sum, 1, 1e-13) {
		t.Errorf("marginal probabilities sum to %v", sum)
	}
	if math.Abs(mean) > 1e-12 {
		t.Errorf("E[EAP(X)] = %v, want the prior mean 0", mean)
	}
}

func TestThetaEAPQuadrature(t *testing.T) {
	items := []Item3PL{{A: 1.2, B: -0.3, C: 0.1}, {A: 0.8, B: 0.9}, {A: 1.6, B: 0.2, C: 0.2}}
	resp := []float64{1, 0, 1}
	// Weights need not be normalised, and more nodes converge on the same
	// posterior (checked against a 2001-node rule).
	q := NormalQuadrature(41, 0, 1)
	scaled := Quadrature{Nodes: q.Nodes, Weights: make([]float64, len(q.Weights))}
	for i, w := range q.Weights {
		scaled.Weights[i] = 7 * w
	}
	a, b := ThetaEAP(items, resp, q), ThetaEAP(items, resp, scaled)
	if !thetaClose(a.Theta, b.Theta, 1e-14) || !thetaClose(a.SE, b.SE, 1e-14) {
		t.Errorf("scaled weights: got %+v, want %+v", b, a)
	}
	fine := ThetaEAP(items, resp, NormalQuadrature(2001, 0, 1))
	def := ThetaEAP(items, resp, Quadrature{})
	if !thetaClose(def.Theta, fine.Theta, 1e-6) || !thetaClose(def.SE, fine.SE, 1e-6) {
		t.Errorf("61 nodes: got %+v, 2001 nodes %+v", def, fine)
	}
	// A prior N(1, 0.5²) moves the estimate up and narrows it.
	shifted := ThetaEAP(items, resp, NormalQuadrature(61, 1, 0.5))
	if !(shifted.Theta > def.Theta && shifted.SE < def.SE) {
		t.Errorf("N(1, 0.25) prior: got %+v, N(0, 1) prior %+v", shifted, def)
	}
	// Nothing administered: the prior.
	nan := math.NaN()
	prior := ThetaEAP(items, []float64{nan, nan, nan}, NormalQuadrature(61, 1, 0.5))
	if !thetaClose(prior.Theta, 1, 1e-12) || !thetaClose(prior.SE, 0.5, 1e-6) {
		t.Errorf("no responses: got %+v, want the prior N(1, 0.25)", prior)
	}
}

func TestThetaEAPAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	items := thetaRandomItems(rng, 30, 0.2)
	resp := thetaRandomPattern(rng, items, 0.3, 0.1)
	q := NormalQuadrature(81, 0, 1)
	for _, c := range []struct {
		name string
		q    Quadrature
	}{{"zero quadrature", Quadrature{}}, {"81 nodes", q}} {
		if n := testing.AllocsPerRun(20, func() { ThetaEAP(items, resp, c.q) }); n != 0 {
			t.Errorf("%s: got %v allocations, want 0", c.name, n)
		}
	}
}

func TestPersonFitNullDistribution(t *testing.T) {
	// Under the model, lz at the true θ and lz* at the estimate are
	// approximately standard normal, while lz at the estimate has variance
	// below 1 (Snijders, 2001). 500 simulees, 2PL test of 40 items; the
	// sampling SD of a variance is then about 0.06. (Observed: 1.04, 1.04,
	// 1.02 and 0.73.)
	rng := rand.New(rand.NewPCG(25, 26))
	items := thetaRandomItems(rng, 40, 0)
	const n = 500
	var lzTrue, lzHat, lzStar, lzStarWL []float64
	for range n {
		theta := rng.NormFloat64()
		resp := thetaRandomPattern(rng, items, theta, 0)
		lzTrue = append(lzTrue, PersonFitLz(items, resp, theta))
		if est, err := ThetaMLE(items, resp); err == nil {
			lzHat = append(lzHat, PersonFitLz(items, resp, est.Theta))
			lzStar = append(lzStar, PersonFitLzStar(items, resp, est.Theta, MaximumLikelihood))
		}
		if est, err := ThetaWLE(items, resp); err == nil {
			lzStarWL = append(lzStarWL, PersonFitLzStar(items, resp, est.Theta, WeightedLikelihood))
		}
	}
	for _, c := range []struct {
		name       string
		x          []float64
		minV, maxV float64
	}{
		{"lz at true θ", lzTrue, 0.85, 1.15},
		{"lz* at MLE", lzStar, 0.85, 1.15},
		{"lz* at WLE", lzStarWL, 0.85, 1.15},
		{"lz at MLE", lzHat, 0, 0.85},
	} {
		mean, sd := stat.MeanStdDev(c.x, nil)
		if math.Abs(mean) > 0.15 || sd*sd < c.minV || sd*sd > c.maxV {
			t.Errorf("%s: got mean %.3f, variance %.3f; want |mean| ≤ 0.15, variance in [%v, %v]", c.name, mean, sd*sd, c.minV, c.maxV)
		}
	}
}

func TestPersonFitUndefined(t *testing.T) {
	nan := math.NaN()
	items := []Item3PL{{A: 1}, {A: 1, B: 1}}
	for _, c := range []struct {
		name string
		got  float64
	}{
		{"lz, NaN θ", PersonFitLz(items, []float64{1, 0}, nan)},
		{"lz, nothing administered", PersonFitLz(items, []float64{nan, nan}, 0)},
		{"lz, P = 0.5 everywhere", PersonFitLz([]Item3PL{{A: 1}}, []float64{1}, 0)},
		{"lz*, infinite θ", PersonFitLzStar(items, []float64{1, 1}, math.Inf(1), MaximumLikelihood)},
		{"lz*, nothing administered", PersonFitLzStar(items, []float64{nan, nan}, 0, WeightedLikelihood)},
		{"lz*, one item", PersonFitLzStar(items, []float64{nan, 1}, 0.3, WeightedLikelihood)},
		{"lz*, identical items", PersonFitLzStar([]Item3PL{{A: 1, B: 1}, {A: 1, B: 1}}, []float64{0, 1}, 1.3, MaximumLikelihood)},
	} {
		if !math.IsNaN(c.got) {
			t.Errorf("%s: got %v, want NaN", c.name, c.got)
		}
	}
}

func TestThetaPanics(t *testing.T) {
	good := []Item3PL{{A: 1}, {A: 1.5, B: 0.5, C: 0.2}}
	resp := []float64{1, 0}
	tests := []struct {
		name string
		f    func()
	}{
		{"MLE, no items", func() { ThetaMLE(nil, nil) }},
		{"MLE, length mismatch", func() { ThetaMLE(good, []float64{1}) }},
		{"MLE, response 2", func() { ThetaMLE(good, []float64{2, 0}) }},
		{"MLE, response 0.5", func() { ThetaMLE(good, []float64{0.5, 0}) }},
		{"MLE, A zero", func() { ThetaMLE([]Item3PL{{A: 0}}, []float64{1}) }},
		{"MLE, A negative", func() { ThetaMLE([]Item3PL{{A: -1}}, []float64{1}) }},
		{"MLE, A infinite", func() { ThetaMLE([]Item3PL{{A: math.Inf(1)}}, []float64{1}) }},
		{"MLE, B NaN", func() { ThetaMLE([]Item3PL{{A: 1, B: math.NaN()}}, []float64{1}) }},
		{"MLE, C one", func() { ThetaMLE([]Item3PL{{A: 1, C: 1}}, []float64{1}) }},
		{"WLE, length mismatch", func() { ThetaWLE(good, []float64{1, 0, 1}) }},
		{"EAP, response -1", func() { ThetaEAP(good, []float64{-1, 0}, Quadrature{}) }},
		{"EAP, nodes without weights", func() { ThetaEAP(good, resp, Quadrature{Nodes: []float64{0}}) }},
		{"EAP, empty nodes", func() { ThetaEAP(good, resp, Quadrature{Nodes: []float64{}, Weights: []float64{}}) }},
		{"EAP, negative weight", func() { ThetaEAP(good, resp, Quadrature{Nodes: []float64{0, 1}, Weights: []float64{1, -1}}) }},
		{"EAP, zero weights", func() { ThetaEAP(good, resp, Quadrature{Nodes: []float64{0, 1}, Weights: []float64{0, 0}}) }},
		{"EAP, NaN node", func() { ThetaEAP(good, resp, Quadrature{Nodes: []float64{math.NaN()}, Weights: []float64{1}}) }},
		{"Curves, no items", func() { Curves(nil, []float64{0}) }},
		{"Curves, no θ", func() { Curves(good, nil) }},
		{"ThetaForTrueScore, no items", func() { ThetaForTrueScore(nil, 1) }},
		{"ThetaForRawScores, bad item", func() { ThetaForRawScores([]Item3PL{{A: 1, C: -0.1}}) }},
		{"SummedScoreDistribution, NaN θ", func() { SummedScoreDistribution(good, math.NaN()) }},
		{"SummedScoreEAP, no items", func() { SummedScoreEAP(nil, Quadrature{}) }},
		{"lz, length mismatch", func() { PersonFitLz(good, []float64{1}, 0) }},
		{"lz*, unknown estimator", func() { PersonFitLzStar(good, resp, 0, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

func TestThetaEstimatorString(t *testing.T) {
	for _, c := range []struct {
		e    ThetaEstimator
		want string
	}{{MaximumLikelihood, "ML"}, {WeightedLikelihood, "WL"}, {7, "ThetaEstimator(7)"}} {
		if got := c.e.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func thetaBenchItems() ([]Item3PL, []float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	items := thetaRandomItems(rng, 40, 0.25)
	return items, thetaRandomPattern(rng, items, 0.4, 0)
}

func BenchmarkThetaEAP(b *testing.B) {
	items, resp := thetaBenchItems()
	b.ReportAllocs()
	for b.Loop() {
		ThetaEAP(items, resp, Quadrature{})
	}
}

func BenchmarkThetaMLE(b *testing.B) {
	items, resp := thetaBenchItems()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ThetaMLE(items, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkThetaWLE(b *testing.B) {
	items, resp := thetaBenchItems()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ThetaWLE(items, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSummedScoreEAP(b *testing.B) {
	items, _ := thetaBenchItems()
	b.ReportAllocs()
	for b.Loop() {
		SummedScoreEAP(items, Quadrature{})
	}
}
