package psychometrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Tolerances against the R goldens (see testdata/rasch.R). b_cml is
// psychotools' estimate polished by Newton steps, the CML maximum to about
// 1e-10; the raw psychotools (BFGS) estimate is within about 3e-6 of it on 100
// items; eRm's nlm uses numerical derivatives and agrees with the exact
// solution only to about 1e-5 in b and 1e-4 (relative) in se.
const (
	raschBTol       = 1e-6 // absolute, difficulties vs b_cml
	raschPTBTol     = 1e-5 // absolute, difficulties vs raw psychotools
	raschSERelTol   = 1e-5 // relative, standard errors vs psychotools
	raschLogLikTol  = 1e-6 // absolute, conditional log-likelihood
	raschERmBTol    = 5e-5 // absolute, difficulties vs eRm
	raschERmSERel   = 2e-4 // relative, standard errors vs eRm
	raschFitTol     = 1e-6 // absolute, fit statistics vs eRm
	raschPValueTol  = 1e-6 // absolute
	raschFitRelTol  = 1e-9 // relative, for large chi-squares
	raschDataPrefix = "rasch_"
)

var raschDatasets = []string{"complete", "missing", "long"}

// raschGolden returns the golden rows of file for one data set.
func raschGolden(t *testing.T, file, dataset string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, rec := range readRecords(t, file) {
		if rec["dataset"] == dataset {
			out = append(out, rec)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rows for %s", file, dataset)
	}
	return out
}

func closeAbs(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol
}

func closeRel(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol*math.Abs(want)
}

func TestCalibrateRaschGolden(t *testing.T) {
	for _, name := range raschDatasets {
		t.Run(name, func(t *testing.T) {
			x := readMatrix(t, raschDataPrefix+name+".csv")
			res, err := CalibrateRasch(x, RaschSettings{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Converged {
				t.Errorf("not converged after %d iterations", res.Iterations)
			}
			sum := raschGolden(t, "rasch_summary_golden.csv", name)[0]
			if got, want := res.Persons, integer(t, sum["persons"]); got != want {
				t.Errorf("got %d persons used, want %d", got, want)
			}
			if got, want := res.Excluded, integer(t, sum["excluded"]); got != want {
				t.Errorf("got %d persons excluded, want %d", got, want)
			}
			if got, want := res.LogLik, number(t, sum["loglik_psychotools"]); !closeAbs(got, want, raschLogLikTol) {
				t.Errorf("got log-likelihood %.12g, want %.12g (psychotools)", got, want)
			}
			if want := number(t, sum["loglik_erm"]); !math.IsNaN(want) && !closeAbs(res.LogLik, want, raschLogLikTol) {
				t.Errorf("got log-likelihood %.12g, want %.12g (eRm)", res.LogLik, want)
			}
			items := raschGolden(t, "rasch_items_golden.csv", name)
			if len(items) != len(res.B) || len(items) != len(res.SE) {
				t.Fatalf("got %d difficulties and %d SEs, want %d", len(res.B), len(res.SE), len(items))
			}
			var maxB, maxSE float64
			for j, rec := range items {
				b, se := res.B[j], res.SE[j]
				if want := number(t, rec["b_cml"]); !closeAbs(b, want, raschBTol) {
					t.Errorf("item %d: got b %.10g, want %.10g (psychotools, polished)", j, b, want)
				} else {
					maxB = math.Max(maxB, math.Abs(b-want))
				}
				if want := number(t, rec["b_psychotools"]); !closeAbs(b, want, raschPTBTol) {
					t.Errorf("item %d: got b %.10g, want %.10g (psychotools)", j, b, want)
				}
				if want := number(t, rec["se_psychotools"]); !closeRel(se, want, raschSERelTol) {
					t.Errorf("item %d: got se %.10g, want %.10g (psychotools)", j, se, want)
				} else {
					maxSE = math.Max(maxSE, math.Abs(se/want-1))
				}
				if want := number(t, rec["b_erm"]); !math.IsNaN(want) && !closeAbs(b, want, raschERmBTol) {
					t.Errorf("item %d: got b %.10g, want %.10g (eRm)", j, b, want)
				}
				if want := number(t, rec["se_erm"]); !math.IsNaN(want) && !closeRel(se, want, raschERmSERel) {
					t.Errorf("item %d: got se %.10g, want %.10g (eRm)", j, se, want)
				}
			}
			t.Logf("%d iterations; max |b − b_cml| %.2g, max se relative difference %.2g", res.Iterations, maxB, maxSE)
			var sumB float64
			for _, b := range res.B {
				sumB += b
			}
			if math.Abs(sumB) > 1e-10 {
				t.Errorf("got Σ b = %g, want 0", sumB)
			}
		})
	}
}

func TestRaschFitGolden(t *testing.T) {
	check := func(t *testing.T, what string, i int, got RaschFit, rec map[string]string) {
		t.Helper()
		if want := rec["n"]; want != "NA" && got.N != integer(t, want) {
			t.Errorf("%s %d: got N %d, want %s", what, i, got.N, want)
		}
		for _, c := range []struct {
			col string
			got float64
			tol float64
		}{
			{"chisq", got.ChiSq, raschFitTol},
			{"pvalue", got.PValue, raschPValueTol},
			{"outfit", got.Outfit, raschFitTol},
			{"infit", got.Infit, raschFitTol},
			{"outfit_z", got.OutfitZ, raschFitTol},
			{"infit_z", got.InfitZ, raschFitTol},
		} {
			want := number(t, rec[c.col])
			if !closeAbs(c.got, want, c.tol) && !closeRel(c.got, want, raschFitRelTol) {
				t.Errorf("%s %d: got %s %.12g, want %.12g", what, i, c.col, c.got, want)
			}
		}
	}
	for _, name := range []string{"complete", "missing"} {
		t.Run(name, func(t *testing.T) {
			x := readMatrix(t, raschDataPrefix+name+".csv")
			items := raschGolden(t, "rasch_items_golden.csv", name)
			persons := raschGolden(t, "rasch_persons_golden.csv", name)
			b := make([]float64, len(items))
			for j, rec := range items {
				b[j] = number(t, rec["b_erm"])
			}
			theta := make([]float64, len(persons))
			for i, rec := range persons {
				// NaN for the persons eRm excludes; their θ is not used.
				theta[i] = number(t, rec["theta_erm"])
			}
			itemFit := RaschItemFit(x, b, theta)
			if len(itemFit) != len(items) {
				t.Fatalf("got %d item fits, want %d", len(itemFit), len(items))
			}
			for j, rec := range items {
				check(t, "item", j, itemFit[j], rec)
			}
			personFit := RaschPersonFit(x, b, theta)
			if len(personFit) != len(persons) {
				t.Fatalf("got %d person fits, want %d", len(personFit), len(persons))
			}
			for i, rec := range persons {
				check(t, "person", i, personFit[i], rec)
			}
		})
	}
}

func TestRaschFitHandComputed(t *testing.T) {
	// Person A at θ = ln 3, person B at −ln 3, both items at b = 0, so
	// P = 3/4 for A and 1/4 for B, W = 3/16, C/W² = (P³ + Q³)/(PQ) = 7/3,
	// C − W² = 3/128. Item 0 is answered as expected (A right, B wrong):
	// z² = 1/3 each; item 1 the other way round: z² = 3 each.
	ln3 := math.Log(3)
	x := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	b := []float64{0, 0}
	theta := []float64{ln3, -ln3}
	q := math.Sqrt(2.0 / 3) // q_o² = 2·(7/3)/4 − 1/2 = 2/3; q_i² = (3/64)/(3/8)² = 2/3
	wh := func(ms float64) float64 { return (math.Cbrt(ms)-1)*3/q + q/3 }
	tests := []struct {
		name string
		got  RaschFit
		want RaschFit
	}{
		{"expected item", RaschItemFit(x, b, theta)[0], RaschFit{N: 2, ChiSq: 2.0 / 3, Outfit: 1.0 / 3, Infit: 1.0 / 3, OutfitZ: wh(1.0 / 3), InfitZ: wh(1.0 / 3)}},
		{"surprising item", RaschItemFit(x, b, theta)[1], RaschFit{N: 2, ChiSq: 6, Outfit: 3, Infit: 3, OutfitZ: wh(3), InfitZ: wh(3)}},
		// Person A: z² = 1/3 on item 0 and 3 on item 1.
		{"person", RaschPersonFit(x, b, theta)[0], RaschFit{N: 2, ChiSq: 10.0 / 3, Outfit: 5.0 / 3, Infit: 5.0 / 3, OutfitZ: wh(5.0 / 3), InfitZ: wh(5.0 / 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, w := tt.got, tt.want
			if g.N != w.N {
				t.Errorf("got N %d, want %d", g.N, w.N)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"ChiSq", g.ChiSq, w.ChiSq}, {"Outfit", g.Outfit, w.Outfit}, {"Infit", g.Infit, w.Infit},
				{"OutfitZ", g.OutfitZ, w.OutfitZ}, {"InfitZ", g.InfitZ, w.InfitZ},
				// χ² with 1 df: P(X > c) = erfc(√(c/2)).
				{"PValue", g.PValue, math.Erfc(math.Sqrt(w.ChiSq / 2))},
			} {
				if !sameFloat(c.got, c.want) {
					t.Errorf("got %s %.17g, want %.17g", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestRaschFitExtremePersons(t *testing.T) {
	// Persons with a zero or perfect score on their administered items are
	// left out, whatever their θ; NaN cells enter no sum.
	nan := math.NaN()
	x := mat.NewDense(5, 3, []float64{
		1, 0, 1,
		0, 0, 0, // zero
		1, 1, nan, // perfect on the administered items
		nan, nan, nan, // nothing administered
		0, 1, nan,
	})
	b := []float64{-0.5, 0, 0.5}
	theta := []float64{0.3, math.Inf(-1), nan, nan, -0.2}
	pf := RaschPersonFit(x, b, theta)
	for _, i := range []int{1, 2, 3} {
		if pf[i].N != 0 || !math.IsNaN(pf[i].Outfit) || !math.IsNaN(pf[i].InfitZ) {
			t.Errorf("person %d: got %+v, want N 0 and NaN statistics", i, pf[i])
		}
	}
	if pf[0].N != 3 || pf[4].N != 2 {
		t.Errorf("got N %d and %d, want 3 and 2", pf[0].N, pf[4].N)
	}
	itf := RaschItemFit(x, b, theta)
	for j, want := range []int{2, 2, 1} {
		if itf[j].N != want {
			t.Errorf("item %d: got N %d, want %d", j, itf[j].N, want)
		}
	}
	if !math.IsNaN(itf[2].PValue) {
		t.Errorf("item 2: got p-value %v with one response, want NaN", itf[2].PValue)
	}
	// Only persons 0 and 4 count: item 2's outfit is person 0's z².
	p := 1 / (1 + math.Exp(-(0.3 - 0.5)))
	if want := (1 - p) * (1 - p) / (p * (1 - p)); !sameFloat(itf[2].Outfit, want) {
		t.Errorf("item 2: got outfit %v, want %v", itf[2].Outfit, want)
	}
}

func TestRaschFitPanics(t *testing.T) {
	x := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	good := []float64{0, 0}
	tests := []struct {
		name     string
		x        mat.Matrix
		b, theta []float64
	}{
		{"short b", x, []float64{0}, good},
		{"short theta", x, good, []float64{0}},
		{"NaN b", x, []float64{math.NaN(), 0}, good},
		{"NaN theta of a used person", x, good, []float64{0, math.NaN()}},
		{"infinite theta of a used person", x, good, []float64{math.Inf(1), 0}},
		{"response 2", mat.NewDense(2, 2, []float64{2, 0, 0, 1}), good, good},
		{"one item", mat.NewDense(2, 1, []float64{1, 0}), []float64{0}, good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, func() { RaschItemFit(tt.x, tt.b, tt.theta) })
			mustPanic(t, func() { RaschPersonFit(tt.x, tt.b, tt.theta) })
		})
	}
}

// raschSimulate returns persons × len(b) Rasch data with θ ~ N(0, sd²).
func raschSimulate(seed uint64, persons int, sd float64, b []float64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 1))
	theta := make([]float64, persons)
	for i := range theta {
		theta[i] = sd * rng.NormFloat64()
	}
	items := make([]Item3PL, len(b))
	for j, bj := range b {
		items[j] = Item3PL{A: 1, B: bj}
	}
	return Simulate3PL(rng, theta, items)
}

func linspace(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return out
}

// raschBruteLogLik returns the conditional log-likelihood of the complete
// 0/1 data x at b by enumerating all 2^k response patterns for γ_r,
// independently of the summation algorithm.
func raschBruteLogLik(x *mat.Dense, b []float64) float64 {
	k := len(b)
	gamma := make([]float64, k+1)
	for pat := range 1 << k {
		var r int
		prod := 1.0
		for j := range k {
			if pat&(1<<j) != 0 {
				r++
				prod *= math.Exp(-b[j])
			}
		}
		gamma[r] += prod
	}
	rows, _ := x.Dims()
	var ll float64
	for i := range rows {
		var r int
		for j := range k {
			if x.At(i, j) == 1 {
				r++
				ll -= b[j]
			}
		}
		ll -= math.Log(gamma[r])
	}
	return ll
}

func TestCalibrateRaschBruteForce(t *testing.T) {
	// On a 6-item test, the estimate maximises the enumerated conditional
	// log-likelihood, and Cov is the inverse of its numerical Hessian in the
	// sum-zero parameterisation.
	b0 := []float64{-1.2, -0.6, 0, 0.3, 0.8, 1.4}
	x := raschSimulate(11, 300, 1, b0)
	res, err := CalibrateRasch(x, RaschSettings{})
	if err != nil {
		t.Fatal(err)
	}
	k := len(b0)
	ll := raschBruteLogLik(x, res.B)
	if !sameFloat(res.LogLik, ll) {
		t.Errorf("got log-likelihood %.15g, want %.15g by enumeration", res.LogLik, ll)
	}
	// Directions e_a − e_k keep Σ b = 0.
	const h = 1e-4
	at := func(da, db float64, a, c int) float64 {
		b := slices.Clone(res.B)
		b[a] += da
		b[k-1] -= da
		b[c] += db
		b[k-1] -= db
		return raschBruteLogLik(x, b)
	}
	hess := mat.NewSymDense(k-1, nil)
	for a := range k - 1 {
		grad := (at(h, 0, a, a) - at(-h, 0, a, a)) / (2 * h)
		if math.Abs(grad) > 1e-6 {
			t.Errorf("item %d: got gradient %g at the estimate, want 0", a, grad)
		}
		for c := a; c < k-1; c++ {
			v := (at(h, h, a, c) - at(h, -h, a, c) - at(-h, h, a, c) + at(-h, -h, a, c)) / (4 * h * h)
			hess.SetSym(a, c, -v)
		}
	}
	var inv mat.Dense
	if err := inv.Inverse(hess); err != nil {
		t.Fatal(err)
	}
	for a := range k - 1 {
		for c := range k - 1 {
			if got, want := res.Cov.At(a, c), inv.At(a, c); math.Abs(got-want) > 1e-5*math.Abs(inv.At(a, a)) {
				t.Errorf("Cov[%d, %d]: got %.8g, want %.8g", a, c, got, want)
			}
		}
	}
	// Rows and columns of Cov sum to zero (the normalisation).
	for a := range k {
		var s float64
		for c := range k {
			s += res.Cov.At(a, c)
		}
		if math.Abs(s) > 1e-12 {
			t.Errorf("row %d of Cov: got sum %g, want 0", a, s)
		}
	}
}

// raschLogESF returns log γ_r(exp(−b)), r = 0..len(b), computed in log space
// (an independent, slower algorithm that cannot overflow).
func raschLogESF(b []float64) []float64 {
	lg := []float64{0}
	for _, bj := range b {
		next := make([]float64, len(lg)+1)
		for r := range next {
			u, v := math.Inf(-1), math.Inf(-1)
			if r < len(lg) {
				u = lg[r]
			}
			if r > 0 {
				v = lg[r-1] - bj
			}
			m := math.Max(u, v)
			next[r] = m + math.Log(math.Exp(u-m)+math.Exp(v-m))
		}
		lg = next
	}
	return lg
}

func TestCalibrateRaschLongBooklets(t *testing.T) {
	// 300 items spread over ±10 logits in two booklets of 180 items linked
	// by 60 common items: an easy booklet (items 0..179) for persons around
	// θ = −3 and a hard one (items 120..299) around θ = 3. The elementary
	// symmetric functions of exp(−b) of the easy booklet overflow float64
	// (checked below). The estimate must satisfy the likelihood equations
	// Σ_g Σ_r n_gr π_grj = s_j, checked with log-space functions, and
	// recover the generating difficulties.
	const k, persons, m = 300, 2000, 180
	b0 := linspace(-10, 10, k)
	rng := rand.New(rand.NewPCG(5, 1))
	theta := make([]float64, persons)
	for i := range theta {
		theta[i] = 2*rng.NormFloat64() - 3 + 6*float64(i%2)
	}
	items := make([]Item3PL, k)
	for j, bj := range b0 {
		items[j] = Item3PL{A: 1, B: bj}
	}
	x := Simulate3PL(rng, theta, items)
	first := [2]int{0, k - m} // booklet g holds items first[g]..first[g]+m−1
	for i := range persons {
		lo := first[i%2]
		for j := range k {
			if j < lo || j >= lo+m {
				x.Set(i, j, math.NaN())
			}
		}
	}
	res, err := CalibrateRasch(x, RaschSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Converged {
		t.Fatalf("not converged after %d iterations", res.Iterations)
	}
	if lg := raschLogESF(res.B[:m]); slices.Max(lg) < 710 {
		t.Fatalf("got max log γ_r %.1f in the easy booklet, want it to overflow float64 (> 709.8)", slices.Max(lg))
	}
	expected := make([]float64, k)
	observed := make([]float64, k)
	for g, lo := range first {
		b := res.B[lo : lo+m]
		count := make([]float64, m+1)
		for i := g; i < persons; i += 2 {
			var r float64
			for j := lo; j < lo+m; j++ {
				r += x.At(i, j)
			}
			if r == 0 || r == m {
				continue
			}
			count[int(r)]++
			for j := lo; j < lo+m; j++ {
				observed[j] += x.At(i, j)
			}
		}
		lg := raschLogESF(b)
		for c := range m {
			if (lo+c)%7 != 0 {
				continue // check every 7th item
			}
			lgj := raschLogESF(slices.Concat(b[:c], b[c+1:]))
			for r := 1; r < m; r++ {
				if count[r] > 0 {
					expected[lo+c] += count[r] * math.Exp(-b[c]+lgj[r-1]-lg[r])
				}
			}
		}
	}
	var maxRes, maxErr float64
	for j := 0; j < k; j += 7 {
		maxRes = math.Max(maxRes, math.Abs(expected[j]-observed[j]))
	}
	for j := range k {
		maxErr = math.Max(maxErr, math.Abs(res.B[j]-b0[j])/res.SE[j])
	}
	t.Logf("%d iterations; max |expected − observed| %.2g, max |b − b_true|/se %.2f", res.Iterations, maxRes, maxErr)
	if maxRes > 1e-6 {
		t.Errorf("got max |expected − observed item total| %g, want < 1e-6", maxRes)
	}
	if maxErr > 4.5 {
		t.Errorf("got max |b − b_true|/se %g, want < 4.5", maxErr)
	}
}

func TestCalibrateRaschInvariance(t *testing.T) {
	b0 := linspace(-1.5, 1.5, 8)
	x := raschSimulate(3, 400, 1, b0)
	base, err := CalibrateRasch(x, RaschSettings{})
	if err != nil {
		t.Fatal(err)
	}
	rows, k := x.Dims()
	tests := []struct {
		name    string
		x       mat.Matrix
		perm    []int   // item j of the variant is item perm[j] of the base
		seScale float64 // variant SE = base SE · seScale
		extra   int     // more excluded persons
	}{
		{"items reversed", func() mat.Matrix {
			var d mat.Dense
			d.CloneFrom(x)
			for i := range rows {
				row := d.RawRowView(i)
				slices.Reverse(row)
			}
			return &d
		}(), []int{7, 6, 5, 4, 3, 2, 1, 0}, 1, 0},
		{"persons doubled", func() mat.Matrix {
			var d mat.Dense
			d.Stack(x, x)
			return &d
		}(), nil, 1 / math.Sqrt2, base.Excluded},
		{"extreme persons added", func() mat.Matrix {
			ext := mat.NewDense(3, k, nil)
			for j := range k {
				ext.Set(1, j, 1)
				ext.Set(2, j, math.NaN())
			}
			ext.Set(2, 0, 1)
			var d mat.Dense
			d.Stack(x, ext)
			return &d
		}(), nil, 1, 3},
		{"not a Dense", func() mat.Matrix {
			var xt mat.Dense
			xt.CloneFrom(x.T())
			return mat.Transpose{Matrix: &xt}
		}(), nil, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := CalibrateRasch(tt.x, RaschSettings{})
			if err != nil {
				t.Fatal(err)
			}
			for j := range k {
				bj := j
				if tt.perm != nil {
					bj = tt.perm[j]
				}
				if got, want := res.B[j], base.B[bj]; math.Abs(got-want) > 1e-9 {
					t.Errorf("item %d: got b %.12g, want %.12g", j, got, want)
				}
				if got, want := res.SE[j], base.SE[bj]*tt.seScale; math.Abs(got-want) > 1e-9 {
					t.Errorf("item %d: got se %.12g, want %.12g", j, got, want)
				}
			}
			if got, want := res.Excluded, base.Excluded+tt.extra; got != want {
				t.Errorf("got %d excluded, want %d", got, want)
			}
		})
	}
}

func TestCalibrateRaschIncompleteMatchesComplete(t *testing.T) {
	// A booklet design split from complete data: persons who took items
	// 0..5 and persons who took 3..8. The CML estimate of the split data
	// equals the one computed from the two booklets' own γ functions, which
	// we check against brute-force enumeration per booklet.
	b0 := linspace(-1.2, 1.2, 9)
	x := raschSimulate(21, 300, 1, b0)
	rows, k := x.Dims()
	for i := range rows {
		lo, hi := 6, 9
		if i%2 == 1 {
			lo, hi = 0, 3
		}
		for j := lo; j < hi; j++ {
			x.Set(i, j, math.NaN())
		}
	}
	res, err := CalibrateRasch(x, RaschSettings{})
	if err != nil {
		t.Fatal(err)
	}
	ll := func(b []float64) float64 {
		var sum float64
		for parity, items := range [][]int{{0, 1, 2, 3, 4, 5}, {3, 4, 5, 6, 7, 8}} {
			var sub mat.Dense
			var persons []int
			for i := parity; i < rows; i += 2 {
				persons = append(persons, i)
			}
			sub.ReuseAs(len(persons), len(items))
			bb := make([]float64, len(items))
			for c, j := range items {
				bb[c] = b[j]
				for r, i := range persons {
					sub.Set(r, c, x.At(i, j))
				}
			}
			sum += raschBruteLogLik(&sub, bb)
		}
		return sum
	}
	if got, want := res.LogLik, ll(res.B); !sameFloat(got, want) {
		t.Errorf("got log-likelihood %.15g, want %.15g by enumeration", got, want)
	}
	const h = 1e-5
	for a := range k - 1 {
		up, down := slices.Clone(res.B), slices.Clone(res.B)
		up[a] += h
		up[k-1] -= h
		down[a] -= h
		down[k-1] += h
		if grad := (ll(up) - ll(down)) / (2 * h); math.Abs(grad) > 1e-5 {
			t.Errorf("item %d: got gradient %g at the estimate, want 0", a, grad)
		}
	}
}

func TestCalibrateRaschSettings(t *testing.T) {
	x := raschSimulate(3, 300, 1, linspace(-1, 1, 6))
	res, err := CalibrateRasch(x, RaschSettings{MaxIter: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Converged || res.Iterations != 1 {
		t.Errorf("MaxIter 1: got Converged %v after %d iterations, want false after 1", res.Converged, res.Iterations)
	}
	loose, err := CalibrateRasch(x, RaschSettings{Tol: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	tight, err := CalibrateRasch(x, RaschSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if !loose.Converged || !tight.Converged || loose.Iterations > tight.Iterations {
		t.Errorf("got %d iterations at Tol 1e-2 and %d at the default, want fewer or equal and both converged",
			loose.Iterations, tight.Iterations)
	}
}

func TestCalibrateRaschErrors(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		x    *mat.Dense
		want error
	}{
		{"response 2", mat.NewDense(3, 3, []float64{1, 0, 2, 0, 1, 0, 1, 1, 0}), ErrRaschInvalidResponse},
		{"negative response", mat.NewDense(3, 3, []float64{1, 0, -1, 0, 1, 0, 1, 1, 0}), ErrRaschInvalidResponse},
		{"infinite response", mat.NewDense(3, 3, []float64{1, 0, math.Inf(1), 0, 1, 0, 1, 1, 0}), ErrRaschInvalidResponse},
		{"item always right", mat.NewDense(3, 3, []float64{1, 0, 1, 1, 1, 0, 1, 0, 0}), ErrRaschNoEstimate},
		{"item never right", mat.NewDense(3, 3, []float64{1, 0, 0, 0, 1, 0, 1, 1, 0}), ErrRaschNoEstimate},
		{"all persons extreme", mat.NewDense(2, 3, []float64{1, 1, 1, 0, 0, 0}), ErrRaschNoEstimate},
		{"item administered only to extreme persons", mat.NewDense(3, 3, []float64{1, 0, nan, 0, 1, nan, 1, 1, 1}), ErrRaschNoEstimate},
		{"Guttman split", mat.NewDense(4, 4, []float64{
			1, 0, 0, 0,
			0, 1, 0, 0,
			1, 1, 1, 0,
			1, 1, 0, 1,
		}), ErrRaschNoEstimate},
		{"unlinked booklets", mat.NewDense(4, 4, []float64{
			1, 0, nan, nan,
			0, 1, nan, nan,
			nan, nan, 1, 0,
			nan, nan, 0, 1,
		}), ErrRaschNoEstimate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CalibrateRasch(tt.x, RaschSettings{})
			if !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCalibrateRaschErrorMessages(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		x    *mat.Dense
		want string
	}{
		{"item always right", mat.NewDense(3, 3, []float64{1, 0, 1, 1, 1, 0, 1, 0, 0}),
			"item 0 answered correctly by all 3 persons"},
		{"invalid response", mat.NewDense(2, 2, []float64{1, 0, 0, 0.5}),
			"person 1, item 1: 0.5"},
		// Items 2 and 3 are only answered correctly by persons who
		// answered 0 and 1 correctly.
		{"Guttman split", mat.NewDense(4, 4, []float64{
			1, 0, 0, 0,
			0, 1, 0, 0,
			1, 1, 1, 0,
			1, 1, 0, 1,
		}), "answered an item of [2 3] correctly and an item of [0 1] incorrectly"},
		{"unlinked booklets", mat.NewDense(4, 4, []float64{
			1, 0, nan, nan,
			0, 1, nan, nan,
			nan, nan, 1, 0,
			nan, nan, 0, 1,
		}), "answered an item of [0 1] correctly and an item of [2 3] incorrectly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CalibrateRasch(tt.x, RaschSettings{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRaschUnderflowGuard(t *testing.T) {
	// Difficulties spread over ±40 logits: the scaled probability of a raw
	// score of 1 is about e^{−800}, so evaluation must fail rather than
	// lose terms to underflow.
	const k = 100
	row := make([]float64, k)
	row[0] = 1
	d := &raschData{k: k, booklets: []raschBooklet{newRaschBooklet(row)}, total: make([]float64, k)}
	d.booklets[0].count[1] = 1
	d.total[0] = 1
	_, err := d.eval(linspace(-40, 40, k), newRaschWork(k), false)
	if !errors.Is(err, ErrRaschNoEstimate) {
		t.Errorf("got error %v, want %v", err, ErrRaschNoEstimate)
	}
	if _, err := d.eval(linspace(-4, 4, k), newRaschWork(k), false); err != nil {
		t.Errorf("over ±4 logits: got error %v, want nil", err)
	}
}

func TestCalibrateRaschPanics(t *testing.T) {
	x := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	tests := []struct {
		name string
		f    func()
	}{
		{"one item", func() { CalibrateRasch(mat.NewDense(2, 1, []float64{1, 0}), RaschSettings{}) }},
		{"negative MaxIter", func() { CalibrateRasch(x, RaschSettings{MaxIter: -1}) }},
		{"negative Tol", func() { CalibrateRasch(x, RaschSettings{Tol: -1}) }},
		{"NaN Tol", func() { CalibrateRasch(x, RaschSettings{Tol: math.NaN()}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

func BenchmarkCalibrateRasch20kx60(b *testing.B) {
	x := raschSimulate(20240611, 20000, 1, linspace(-2.5, 2.5, 60))
	for b.Loop() {
		if _, err := CalibrateRasch(x, RaschSettings{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRaschItemFit20kx60(b *testing.B) {
	x := raschSimulate(20240611, 20000, 1, linspace(-2.5, 2.5, 60))
	res, err := CalibrateRasch(x, RaschSettings{})
	if err != nil {
		b.Fatal(err)
	}
	// Person locations: the logit of the proportion correct, a stand-in
	// for the person MLE.
	rows, k := x.Dims()
	theta := make([]float64, rows)
	for i := range theta {
		s := mat.Sum(x.RowView(i)) / float64(k)
		theta[i] = math.Log(s / (1 - s))
	}
	for b.Loop() {
		RaschItemFit(x, res.B, theta)
	}
}
