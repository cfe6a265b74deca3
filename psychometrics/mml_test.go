package psychometrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// mmlLSAT6 returns the 1000 × 5 LSAT6 responses expanded from the pattern
// frequencies in testdata/lsat6.csv.
func mmlLSAT6(tb testing.TB) *mat.Dense {
	tb.Helper()
	var data []float64
	for _, rec := range readRecords(tb, "lsat6.csv") {
		for range integer(tb, rec["freq"]) {
			for _, h := range []string{"item1", "item2", "item3", "item4", "item5"} {
				data = append(data, number(tb, rec[h]))
			}
		}
	}
	return mat.NewDense(len(data)/5, 5, data)
}

// mmlItems returns k items with a = exp(N(0, 0.3²))·scale, b ~ N(0, 1) and,
// if guess, c ~ U(0.1, 0.3).
func mmlItems(rng *rand.Rand, k int, scale float64, guess bool) []Item3PL {
	items := make([]Item3PL, k)
	for j := range items {
		items[j] = Item3PL{A: scale * math.Exp(0.3*rng.NormFloat64()), B: rng.NormFloat64()}
		if guess {
			items[j].C = 0.1 + 0.2*rng.Float64()
		}
	}
	return items
}

// mmlSimulate draws persons abilities from N(mean, sd²) and their responses.
func mmlSimulate(rng *rand.Rand, persons int, items []Item3PL, mean, sd float64) (*mat.Dense, []float64) {
	theta := make([]float64, persons)
	for i := range theta {
		theta[i] = mean + sd*rng.NormFloat64()
	}
	return Simulate3PL(rng, theta, items), theta
}

// mmlRMSE returns the root mean square differences of a, b and c between the
// estimated and true items listed in which (all when nil).
func mmlRMSE(got, want []Item3PL, which []int) (a, b, c float64) {
	if which == nil {
		for j := range got {
			which = append(which, j)
		}
	}
	for _, j := range which {
		a += (got[j].A - want[j].A) * (got[j].A - want[j].A)
		b += (got[j].B - want[j].B) * (got[j].B - want[j].B)
		c += (got[j].C - want[j].C) * (got[j].C - want[j].C)
	}
	n := float64(len(which))
	return math.Sqrt(a / n), math.Sqrt(b / n), math.Sqrt(c / n)
}

// mmlQuantity returns a named quantity of a calibration: a, b or c of an
// item, se_obs_* or se_xpd_* (from the calibration given for that method),
// loglik, mean, sd, se_*_mean, se_*_sd.
func mmlQuantity(tb testing.TB, obs, xpd Calibration, item int, q string) float64 {
	tb.Helper()
	cal := obs
	if strings.HasPrefix(q, "se_xpd_") {
		cal = xpd
	}
	switch q {
	case "a":
		return cal.Items[item].A
	case "b":
		return cal.Items[item].B
	case "c":
		return cal.Items[item].C
	case "loglik":
		return cal.LogLik
	case "mean":
		return cal.Mean
	case "sd":
		return cal.SD
	case "se_obs_a", "se_xpd_a":
		return cal.SE[item].A
	case "se_obs_b", "se_xpd_b":
		return cal.SE[item].B
	case "se_obs_c", "se_xpd_c":
		return cal.SE[item].C
	case "se_obs_mean", "se_xpd_mean":
		return cal.MeanSE
	case "se_obs_sd", "se_xpd_sd":
		return cal.SDSE
	}
	tb.Fatalf("unknown quantity %q", q)
	return 0
}

// mmlCalibrateBoth calibrates with observed-information and with
// cross-product standard errors.
func mmlCalibrateBoth(tb testing.TB, x mat.Matrix, s MMLSettings) (obs, xpd Calibration) {
	tb.Helper()
	var err error
	s.SE = SEObserved
	if obs, err = CalibrateMML(x, s); err != nil {
		tb.Fatal(err)
	}
	s.SE = SECrossProduct
	if xpd, err = CalibrateMML(x, s); err != nil {
		tb.Fatal(err)
	}
	if !obs.Converged {
		tb.Fatalf("did not converge in %d cycles", obs.Iterations)
	}
	return obs, xpd
}

// TestCalibrateMMLGolden compares with the base-R reference of
// testdata/mml_calibrate.R, which maximises the marginal likelihood (or
// posterior) directly with optim over a 101-point Gauss–Hermite rule. EM is
// run to a tight tolerance; the two quadratures differ by less than 1e-8 in
// the log-likelihood. Tolerances: 2e-6 on parameters, the population and the
// log-likelihood; 1e-4 relative on standard errors (both sides use finite
// differences).
func TestCalibrateMMLGolden(t *testing.T) {
	lsat := mmlLSAT6(t)
	missing := readMatrix(t, "mml_missing.csv")
	cases := map[string]struct {
		x mat.Matrix
		s MMLSettings
	}{
		"rasch":       {lsat, MMLSettings{Model: ModelRasch}},
		"1pl":         {lsat, MMLSettings{Model: Model1PL}},
		"2pl":         {lsat, MMLSettings{Model: Model2PL}},
		"2pl_lnprior": {lsat, MMLSettings{Model: Model2PL, SlopePrior: &LogNormalPrior{Mu: 0, Sigma: 0.5}}},
		"3pl":         {lsat, MMLSettings{Model: Model3PL}}, // default Beta(5, 17) prior
		"2pl_anchor": {lsat, MMLSettings{Model: Model2PL, Fixed: map[int]Item3PL{
			0: {A: 0.8, B: -3.4},
			1: {A: 0.7, B: -1.4},
		}}},
		"2pl_missing": {missing, MMLSettings{Model: Model2PL}},
	}
	golden := map[string][]map[string]string{}
	for _, rec := range readRecords(t, "mml_calibrate_golden.csv") {
		golden[rec["case"]] = append(golden[rec["case"]], rec)
	}
	if len(golden) != len(cases) {
		t.Fatalf("got %d golden cases, want %d", len(golden), len(cases))
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.s.Tol = 1e-11
			tc.s.MaxIter = 20000
			obs, xpd := mmlCalibrateBoth(t, tc.x, tc.s)
			for _, rec := range golden[name] {
				item, q := integer(t, rec["item"]), rec["quantity"]
				want := number(t, rec["value"])
				got := mmlQuantity(t, obs, xpd, item, q)
				tol := 2e-6
				if strings.HasPrefix(q, "se_") {
					tol = 1e-4 * math.Abs(want)
				}
				if math.IsNaN(want) != math.IsNaN(got) || math.Abs(got-want) > tol {
					t.Errorf("item %d %s: got %.10g, want %.10g ± %.2g", item, q, got, want, tol)
				}
			}
		})
	}
}

// TestCalibrateMMLLSAT6Published compares LSAT6 calibrations at the default
// settings with the estimates published for R's ltm, irtQ and mirt (see
// testdata/lsat6_published.md): ±0.01 on parameters and ±0.05 on the
// log-likelihood, as the packages integrate differently; standard errors
// within about 1–2% (column tol).
func TestCalibrateMMLLSAT6Published(t *testing.T) {
	lsat := mmlLSAT6(t)
	models := map[string]Model{"Rasch": ModelRasch, "1PL": Model1PL, "2PL": Model2PL}
	cals := map[string][2]Calibration{}
	for name, m := range models {
		obs, xpd := mmlCalibrateBoth(t, lsat, MMLSettings{Model: m})
		cals[name] = [2]Calibration{obs, xpd}
	}
	for _, rec := range readRecords(t, "lsat6_published.csv") {
		c, ok := cals[rec["model"]]
		if !ok {
			t.Fatalf("unknown model %q", rec["model"])
		}
		item, q := integer(t, rec["item"]), rec["quantity"]
		want, tol := number(t, rec["value"]), number(t, rec["tol"])
		if got := mmlQuantity(t, c[0], c[1], item, q); !(math.Abs(got-want) <= tol) {
			t.Errorf("%s (%s) item %d %s: got %.5g, want %.5g ± %g", rec["model"], rec["source"], item, q, got, want, tol)
		}
	}
}

func TestCalibrateMMLCounts(t *testing.T) {
	lsat := mmlLSAT6(t)
	tests := []struct {
		name   string
		s      MMLSettings
		params int
	}{
		{"Rasch", MMLSettings{Model: ModelRasch}, 5},
		{"1PL", MMLSettings{Model: Model1PL}, 6},
		{"2PL", MMLSettings{Model: Model2PL}, 10},
		{"3PL", MMLSettings{Model: Model3PL}, 15},
		{"2PL with anchors", MMLSettings{Fixed: map[int]Item3PL{0: {A: 1, B: -3}}}, 10},
		{"2PL with anchors, fixed population", MMLSettings{Fixed: map[int]Item3PL{0: {A: 1, B: -3}}, FixPopulation: true}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal, err := CalibrateMML(lsat, tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if cal.Parameters != tt.params {
				t.Errorf("got %d parameters, want %d", cal.Parameters, tt.params)
			}
			if cal.Persons != 1000 {
				t.Errorf("got %d persons, want 1000", cal.Persons)
			}
			if cal.Model != tt.s.Model {
				t.Errorf("got model %v, want %v", cal.Model, tt.s.Model)
			}
			k := float64(tt.params)
			if want := -2*cal.LogLik + 2*k; !sameFloat(cal.AIC, want) {
				t.Errorf("got AIC %v, want %v", cal.AIC, want)
			}
			if want := -2*cal.LogLik + k*math.Log(1000); !sameFloat(cal.BIC, want) {
				t.Errorf("got BIC %v, want %v", cal.BIC, want)
			}
			for j, it := range tt.s.Fixed {
				if cal.Items[j] != it {
					t.Errorf("anchor %d: got %+v, want %+v", j, cal.Items[j], it)
				}
				if se := cal.SE[j]; !math.IsNaN(se.A) || !math.IsNaN(se.B) || !math.IsNaN(se.C) {
					t.Errorf("anchor %d: got SE %+v, want NaN", j, se)
				}
			}
		})
	}
}

// TestCalibrateMMLPublishedAIC checks the information criteria against ltm's
// published 2PL ones (AIC 4953.307, BIC 5002.384) and mirt's 1PL ones
// (4945.875, 4975.322).
func TestCalibrateMMLPublishedAIC(t *testing.T) {
	lsat := mmlLSAT6(t)
	for _, tt := range []struct {
		m        Model
		aic, bic float64
	}{{Model2PL, 4953.307, 5002.384}, {Model1PL, 4945.875, 4975.322}} {
		cal, err := CalibrateMML(lsat, MMLSettings{Model: tt.m, SE: SENone})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(cal.AIC-tt.aic) > 0.1 || math.Abs(cal.BIC-tt.bic) > 0.1 {
			t.Errorf("%v: got AIC %.3f BIC %.3f, want %.3f %.3f", tt.m, cal.AIC, cal.BIC, tt.aic, tt.bic)
		}
	}
}

// TestCalibrateMMLRecovery2PL recovers 40 2PL items (a = exp(N(0, 0.3²)),
// b ~ N(0, 1)) from 20,000 simulated persons; the root mean square error over
// the items must be below 0.05 for a and 0.06 for b.
func TestCalibrateMMLRecovery2PL(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240601, 40))
	items := mmlItems(rng, 40, 1, false)
	x, _ := mmlSimulate(rng, 20000, items, 0, 1)
	cal, err := CalibrateMML(x, MMLSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if !cal.Converged {
		t.Errorf("did not converge in %d cycles", cal.Iterations)
	}
	ra, rb, _ := mmlRMSE(cal.Items, items, nil)
	if ra > 0.05 || rb > 0.06 {
		t.Errorf("got RMSE a %.4f, b %.4f, want below 0.05, 0.06", ra, rb)
	}
	// The standard errors describe the error: the mean squared standardised
	// error is near 1 (χ²(80)/80 has SD 0.16).
	var z2 float64
	for j, it := range cal.Items {
		za := (it.A - items[j].A) / cal.SE[j].A
		zb := (it.B - items[j].B) / cal.SE[j].B
		z2 += za*za + zb*zb
	}
	if z2 /= 80; z2 < 0.5 || z2 > 1.6 {
		t.Errorf("got mean squared standardised error %.3f, want near 1", z2)
	}
}

// TestCalibrateMMLRecovery3PL recovers 30 3PL items (a = 1.2·exp(N(0, 0.3²)),
// b ~ N(0, 1), c ~ U(0.1, 0.3)) from 10,000 persons with the default Beta(5,
// 17) prior on c — smaller than the 2PL's 20,000 × 40 to keep the test fast.
// The 3PL is much less well determined than the 2PL, so the bounds on the
// root mean square error over the items are looser: 0.2 for a, 0.15 for b
// and 0.05 for c (over six seeds the RMSE ranged 0.09–0.20, 0.08–0.14 and
// 0.03–0.045).
func TestCalibrateMMLRecovery3PL(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240602, 30))
	items := mmlItems(rng, 30, 1.2, true)
	x, _ := mmlSimulate(rng, 10000, items, 0, 1)
	cal, err := CalibrateMML(x, MMLSettings{Model: Model3PL, SE: SENone})
	if err != nil {
		t.Fatal(err)
	}
	if !cal.Converged {
		t.Errorf("did not converge in %d cycles", cal.Iterations)
	}
	ra, rb, rc := mmlRMSE(cal.Items, items, nil)
	if ra > 0.2 || rb > 0.15 || rc > 0.05 {
		t.Errorf("got RMSE a %.4f, b %.4f, c %.4f, want below 0.2, 0.15, 0.05", ra, rb, rc)
	}
}

// TestCalibrateMMLAnchors calibrates 30 2PL items on 10,000 persons from
// N(0.5, 1.2²) with 15 anchors fixed at their true values: the free items
// must land on the anchors' scale (RMSE below 0.06 for a and b), and the
// estimated population match the sample's mean and SD within 0.03 (and the
// generating 0.5 and 1.2 within 0.06).
func TestCalibrateMMLAnchors(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240603, 30))
	items := mmlItems(rng, 30, 1, false)
	x, theta := mmlSimulate(rng, 10000, items, 0.5, 1.2)
	fixed := map[int]Item3PL{}
	var free []int
	for j, it := range items {
		if j%2 == 0 {
			fixed[j] = it
		} else {
			free = append(free, j)
		}
	}
	cal, err := CalibrateMML(x, MMLSettings{Fixed: fixed})
	if err != nil {
		t.Fatal(err)
	}
	if !cal.Converged {
		t.Errorf("did not converge in %d cycles", cal.Iterations)
	}
	ra, rb, _ := mmlRMSE(cal.Items, items, free)
	if ra > 0.06 || rb > 0.06 {
		t.Errorf("free items: got RMSE a %.4f, b %.4f, want below 0.06", ra, rb)
	}
	var mean, sd float64
	for _, v := range theta {
		mean += v
	}
	mean /= float64(len(theta))
	for _, v := range theta {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(len(theta)))
	if math.Abs(cal.Mean-mean) > 0.03 || math.Abs(cal.SD-sd) > 0.03 || math.Abs(cal.Mean-0.5) > 0.06 || math.Abs(cal.SD-1.2) > 0.06 {
		t.Errorf("got population N(%.4f, %.4f²), want N(%.4f, %.4f²) (generated N(0.5, 1.2²))", cal.Mean, cal.SD, mean, sd)
	}
	if !(cal.MeanSE > 0 && cal.MeanSE < 0.05 && cal.SDSE > 0 && cal.SDSE < 0.05) {
		t.Errorf("got population SEs %v, %v, want in (0, 0.05)", cal.MeanSE, cal.SDSE)
	}

	// Keeping the population at N(0, 1) instead (the moments of the
	// discrete quadrature, within 1e-6) fits much worse and leaves the free
	// items off the anchors' scale.
	fix, err := CalibrateMML(x, MMLSettings{Fixed: fixed, FixPopulation: true, SE: SENone})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(fix.Mean) > 1e-12 || math.Abs(fix.SD-1) > 1e-6 || !math.IsNaN(fix.MeanSE) {
		t.Errorf("fixed population: got N(%v, %v²) with SE %v, want N(0, 1) and NaN", fix.Mean, fix.SD, fix.MeanSE)
	}
	if lr := 2 * (cal.LogLik - fix.LogLik); lr < 100 {
		t.Errorf("fixed population: got likelihood-ratio statistic %.1f on 2 df, want a much worse fit (> 100)", lr)
	}
	if _, rbFix, _ := mmlRMSE(fix.Items, items, free); rbFix < 2*rb {
		t.Errorf("fixed population: got RMSE b %.4f, want well above the free population's %.4f", rbFix, rb)
	}
}

// TestCalibrateMMLMonotone checks the defining property of EM: the
// log-posterior (the log-likelihood without priors) never decreases from one
// cycle to the next.
func TestCalibrateMMLMonotone(t *testing.T) {
	lsat := mmlLSAT6(t)
	rng := rand.New(rand.NewPCG(7, 7))
	items := mmlItems(rng, 12, 1, true)
	sim, _ := mmlSimulate(rng, 800, items, 0.3, 1.1)
	for i := range 800 {
		sim.Set(i, (3*i)%12, math.NaN())
	}
	tests := []struct {
		name string
		x    mat.Matrix
		s    MMLSettings
	}{
		{"Rasch", lsat, MMLSettings{Model: ModelRasch}},
		{"1PL", lsat, MMLSettings{Model: Model1PL}},
		{"2PL", lsat, MMLSettings{}},
		{"3PL", lsat, MMLSettings{Model: Model3PL}},
		{"2PL missing, slope prior", sim, MMLSettings{SlopePrior: &LogNormalPrior{Sigma: 0.5}}},
		{"3PL missing", sim, MMLSettings{Model: Model3PL}},
		{"1PL missing, anchors", sim, MMLSettings{Model: Model1PL, Fixed: map[int]Item3PL{0: items[0], 5: items[5]}}},
		{"3PL missing, anchors", sim, MMLSettings{Model: Model3PL, Fixed: map[int]Item3PL{0: items[0], 1: items[1], 2: items[2]}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hist []EMCycle
			tt.s.Trace = func(c EMCycle) { hist = append(hist, c) }
			tt.s.SE = SENone
			cal, err := CalibrateMML(tt.x, tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != cal.Iterations+1 || len(hist) < 5 {
				t.Fatalf("got %d trace calls for %d iterations", len(hist), cal.Iterations)
			}
			for k, c := range hist {
				if c.Iteration != k {
					t.Fatalf("call %d: got iteration %d", k, c.Iteration)
				}
				if k == 0 {
					continue
				}
				prev := hist[k-1].LogPosterior
				if c.LogPosterior < prev-1e-10*math.Abs(prev) {
					t.Errorf("iteration %d: log-posterior fell from %.12g to %.12g", k, prev, c.LogPosterior)
				}
			}
			if last := hist[len(hist)-1]; last.LogLik != cal.LogLik {
				t.Errorf("got LogLik %v, last traced %v", cal.LogLik, last.LogLik)
			}
			if tt.s.SlopePrior == nil && tt.s.Model != Model3PL && hist[1].LogPosterior != hist[1].LogLik {
				t.Errorf("no prior: got log-posterior %v ≠ log-likelihood %v", hist[1].LogPosterior, hist[1].LogLik)
			}
		})
	}
}

// TestCalibrateMMLDeterministic checks that the result does not depend on the
// number of E-step workers (bitwise) nor, beyond rounding, on the order of
// the persons.
func TestCalibrateMMLDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	items := mmlItems(rng, 20, 1, false)
	x, _ := mmlSimulate(rng, 3000, items, 0, 1) // > mmlChunk distinct patterns
	run := func(x mat.Matrix, procs int) Calibration {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		cal, err := CalibrateMML(x, MMLSettings{})
		if err != nil {
			t.Fatal(err)
		}
		return cal
	}
	one, two := run(x, 1), run(x, 2)
	if one.LogLik != two.LogLik || one.Iterations != two.Iterations {
		t.Errorf("1 vs 2 workers: got log-likelihood %v, %v", one.LogLik, two.LogLik)
	}
	same := func(u, v float64) bool { return math.Float64bits(u) == math.Float64bits(v) }
	for j := range one.Items {
		a, b := one.SE[j], two.SE[j]
		if one.Items[j] != two.Items[j] || !same(a.A, b.A) || !same(a.B, b.B) || !same(a.C, b.C) {
			t.Errorf("item %d: 1 worker %+v %+v, 2 workers %+v %+v", j, one.Items[j], one.SE[j], two.Items[j], two.SE[j])
		}
	}
	r, k := x.Dims()
	rev := mat.NewDense(r, k, nil)
	for i := range r {
		rev.SetRow(i, x.RawRowView(r-1-i))
	}
	back := run(rev, 2)
	if math.Abs(back.LogLik-one.LogLik) > 1e-8 {
		t.Errorf("reversed rows: got log-likelihood %v, want %v", back.LogLik, one.LogLik)
	}
	for j := range one.Items {
		if math.Abs(back.Items[j].A-one.Items[j].A) > 1e-7 || math.Abs(back.Items[j].B-one.Items[j].B) > 1e-7 {
			t.Errorf("reversed rows, item %d: got %+v, want %+v", j, back.Items[j], one.Items[j])
		}
	}
}

// TestCalibrateMMLStandardErrors checks the standard errors by simulation:
// over 25 replications of 1000 persons × 8 2PL items, the mean reported
// standard error of each parameter is compared with the standard deviation of
// its estimates, pooled over the 16 parameters (root mean square ratio within
// 15% of 1; the SD of 25 draws alone is uncertain by about 14%, the pooled
// ratio by about 4%).
func TestCalibrateMMLStandardErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(99, 1))
	items := []Item3PL{{1, -1.5, 0}, {1.4, -1, 0}, {0.8, -0.5, 0}, {1.2, 0, 0}, {2, 0.3, 0}, {0.7, 0.6, 0}, {1.1, 1, 0}, {1.5, 1.6, 0}}
	const reps = 25
	for _, method := range []SEMethod{SECrossProduct, SEObserved} {
		t.Run(fmt.Sprintf("method %d", method), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(99, uint64(method)))
			var sum, sum2, se [16]float64
			for range reps {
				x, _ := mmlSimulate(rng, 1000, items, 0, 1)
				cal, err := CalibrateMML(x, MMLSettings{SE: method})
				if err != nil {
					t.Fatal(err)
				}
				for j, it := range cal.Items {
					for u, v := range [2]float64{it.A, it.B} {
						sum[2*j+u] += v
						sum2[2*j+u] += v * v
					}
					se[2*j] += cal.SE[j].A
					se[2*j+1] += cal.SE[j].B
				}
			}
			var r2 float64
			for u := range sum {
				mean := sum[u] / reps
				sd := math.Sqrt((sum2[u] - reps*mean*mean) / (reps - 1))
				r := (se[u] / reps) / sd
				r2 += r * r
			}
			if r := math.Sqrt(r2 / 16); r < 0.85 || r > 1.15 {
				t.Errorf("got RMS ratio of mean SE to SD of estimates %.3f, want 1 ± 0.15", r)
			}
		})
	}
	_ = rng
}

func TestCalibrateMMLQuadrature(t *testing.T) {
	lsat := mmlLSAT6(t)
	def, err := CalibrateMML(lsat, MMLSettings{Tol: 1e-9, SE: SENone})
	if err != nil {
		t.Fatal(err)
	}
	// A coarser grid over the same distribution barely changes the fit; a
	// custom quadrature is used as given.
	q41 := NormalQuadrature(41, 0, 1)
	for i := range q41.Weights {
		q41.Weights[i] *= 3 // normalised internally
	}
	c41, err := CalibrateMML(lsat, MMLSettings{Quadrature: q41, Tol: 1e-9, SE: SENone})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c41.LogLik-def.LogLik) > 1e-5 {
		t.Errorf("41 nodes: got log-likelihood %v, want %v", c41.LogLik, def.LogLik)
	}
	wide, err := CalibrateMML(lsat, MMLSettings{Quadrature: NormalQuadrature(61, 0, 2), SE: SENone})
	if err != nil {
		t.Fatal(err)
	}
	// With θ ~ N(0, 2²) the slopes halve and the difficulties double.
	for j := range def.Items {
		if math.Abs(wide.Items[j].A-def.Items[j].A/2) > 1e-3 || math.Abs(wide.Items[j].B-2*def.Items[j].B) > 1e-2 {
			t.Errorf("N(0, 4), item %d: got %+v, want a/2, 2b of %+v", j, wide.Items[j], def.Items[j])
		}
	}
	if math.Abs(wide.Mean) > 1e-12 || math.Abs(wide.SD-2) > 1e-6 {
		t.Errorf("got population N(%v, %v²), want N(0, 2²)", wide.Mean, wide.SD)
	}
}

func TestCalibrateMMLMaxIter(t *testing.T) {
	var calls int
	cal, err := CalibrateMML(mmlLSAT6(t), MMLSettings{MaxIter: 3, Trace: func(EMCycle) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if cal.Converged || cal.Iterations != 3 || calls != 4 {
		t.Errorf("got converged %v after %d iterations, %d trace calls; want false, 3, 4", cal.Converged, cal.Iterations, calls)
	}
}

func TestCalibrateMMLErrors(t *testing.T) {
	base := func() *mat.Dense { return mat.DenseCopyOf(mmlLSAT6(t).Slice(0, 300, 0, 5)) }
	setCol := func(x *mat.Dense, j int, v float64) *mat.Dense {
		for i := range 300 {
			x.Set(i, j, v)
		}
		return x
	}
	tests := []struct {
		name string
		x    *mat.Dense
		s    MMLSettings
		want error
		item string
	}{
		{"all correct", setCol(base(), 3, 1), MMLSettings{}, ErrConstantItem, "item 3"},
		{"all incorrect", setCol(base(), 2, 0), MMLSettings{Model: Model3PL}, ErrConstantItem, "item 2"},
		{"not administered", setCol(base(), 4, math.NaN()), MMLSettings{Model: ModelRasch}, ErrConstantItem, "item 4"},
		{"score 2", func() *mat.Dense { x := base(); x.Set(7, 1, 2); return x }(), MMLSettings{}, ErrNotDichotomous, "item 1"},
		{"score 0.5", func() *mat.Dense { x := base(); x.Set(9, 0, 0.5); return x }(), MMLSettings{}, ErrNotDichotomous, "item 0"},
		{"score −Inf", func() *mat.Dense { x := base(); x.Set(9, 4, math.Inf(-1)); return x }(), MMLSettings{}, ErrNotDichotomous, "item 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CalibrateMML(tt.x, tt.s)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.item) {
				t.Errorf("got error %q, want it to name %s", err, tt.item)
			}
		})
	}
	// A constant anchor is fine: it is not estimated.
	if _, err := CalibrateMML(setCol(base(), 3, 1), MMLSettings{Fixed: map[int]Item3PL{3: {A: 1, B: -3}}}); err != nil {
		t.Errorf("constant anchor: got error %v", err)
	}
	// A person with no administered item is ignored.
	x := base()
	x.SetRow(0, []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()})
	if cal, err := CalibrateMML(x, MMLSettings{}); err != nil || cal.Persons != 299 {
		t.Errorf("empty row: got %d persons, error %v; want 299, nil", cal.Persons, err)
	}
}

func TestCalibrateMMLPanics(t *testing.T) {
	x := mmlLSAT6(t)
	tests := []struct {
		name string
		x    mat.Matrix
		s    MMLSettings
	}{
		{"empty matrix", &mat.Dense{}, MMLSettings{}},
		{"unknown model", x, MMLSettings{Model: Model(9)}},
		{"unknown SE method", x, MMLSettings{SE: SEMethod(9)}},
		{"negative MaxIter", x, MMLSettings{MaxIter: -1}},
		{"negative Tol", x, MMLSettings{Tol: -1e-3}},
		{"one node", x, MMLSettings{Quadrature: Quadrature{Nodes: []float64{0}, Weights: []float64{1}}}},
		{"mismatched quadrature", x, MMLSettings{Quadrature: Quadrature{Nodes: []float64{0, 1}, Weights: []float64{1}}}},
		{"negative weight", x, MMLSettings{Quadrature: Quadrature{Nodes: []float64{0, 1}, Weights: []float64{1, -1}}}},
		{"anchor out of range", x, MMLSettings{Fixed: map[int]Item3PL{5: {A: 1}}}},
		{"anchor with NaN", x, MMLSettings{Fixed: map[int]Item3PL{0: {A: math.NaN()}}}},
		{"anchor with c = 1", x, MMLSettings{Fixed: map[int]Item3PL{0: {A: 1, C: 1}}}},
		{"slope prior sigma 0", x, MMLSettings{SlopePrior: &LogNormalPrior{}}},
		{"guess prior alpha 0", x, MMLSettings{Model: Model3PL, GuessPrior: &BetaPrior{Beta: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, func() { _, _ = CalibrateMML(tt.x, tt.s) })
		})
	}
}

func TestModelString(t *testing.T) {
	for m, want := range map[Model]string{Model2PL: "2PL", Model1PL: "1PL", Model3PL: "3PL", ModelRasch: "Rasch", Model(7): "Model(7)"} {
		if got := m.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
