package psychometrics

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// catSimSetup returns a 240-item bank in four areas of 60 items (A uniform
// on [0.8, 2.0), B ~ N(0, 1), C uniform on [0, 0.2) for every other item),
// a blueprint of equal shares and n abilities drawn from N(0, 1), all from
// seed.
func catSimSetup(seed uint64, n int) ([]Item3PL, []string, map[string]float64, []float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	bank := make([]Item3PL, 240)
	areas := make([]string, len(bank))
	for j := range bank {
		bank[j] = Item3PL{A: 0.8 + 1.2*rng.Float64(), B: rng.NormFloat64()}
		if j%2 == 1 {
			bank[j].C = 0.2 * rng.Float64()
		}
		areas[j] = string(rune('A' + j%4))
	}
	theta := make([]float64, n)
	for i := range theta {
		theta[i] = rng.NormFloat64()
	}
	return bank, areas, map[string]float64{"A": 1, "B": 1, "C": 1, "D": 1}, theta
}

func TestSimulateCATIsDeterministic(t *testing.T) {
	bank, areas, bp, theta := catSimSetup(1, 300)
	s := CATSimSettings{CAT: CATSettings{MinItems: 5, MaxItems: 30, SETarget: 0.3, Blueprint: bp, Randomesque: 3}, MaxExposure: 0.3, FixedMaxItems: 60}
	a := SimulateCAT(rand.New(rand.NewPCG(9, 9)), bank, areas, theta, s)
	b := SimulateCAT(rand.New(rand.NewPCG(9, 9)), bank, areas, theta, s)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs from the same seed differ")
	}
	c := SimulateCAT(rand.New(rand.NewPCG(10, 9)), bank, areas, theta, s)
	if reflect.DeepEqual(a.Examinees, c.Examinees) {
		t.Fatal("runs from different seeds are identical")
	}
}

func TestSimulateCATSessionsFollowTheRules(t *testing.T) {
	bank, areas, bp, theta := catSimSetup(2, 400)
	s := CATSimSettings{CAT: CATSettings{MinItems: 8, MaxItems: 25, SETarget: 0.32, Blueprint: bp}, MaxExposure: 0.3, FixedMaxItems: 40}
	res := SimulateCAT(rand.New(rand.NewPCG(3, 3)), bank, areas, theta, s)
	counts := make([]int, len(bank))
	var reached int
	for i, e := range res.Examinees {
		if e.Theta != theta[i] {
			t.Fatalf("examinee %d: theta %v, want %v", i, e.Theta, theta[i])
		}
		n := len(e.Items)
		switch e.Stop {
		case CATSETarget:
			if n < 8 || e.Estimate.SE > 0.32 {
				t.Errorf("examinee %d: stopped by SE with %d items and SE %.4f", i, n, e.Estimate.SE)
			}
		case CATMaxItems:
			if n != 25 {
				t.Errorf("examinee %d: stopped by length with %d items, want 25", i, n)
			}
		default:
			t.Errorf("examinee %d: stop %v, want SE target or maximum items", i, e.Stop)
		}
		if e.Estimate.SE <= 0.32 {
			reached++
		}
		// The final estimate is the EAP of the administered items, computed
		// afresh by ThetaEAP.
		items := make([]Item3PL, n)
		for k, j := range e.Items {
			items[k] = bank[j]
			counts[j]++
		}
		want := ThetaEAP(items, e.Responses, Quadrature{})
		if math.Abs(e.Estimate.Theta-want.Theta) > 1e-9 || math.Abs(e.Estimate.SE-want.SE) > 1e-9 {
			t.Errorf("examinee %d: estimate %+v, ThetaEAP gives %+v", i, e.Estimate, want)
		}
	}
	for j, c := range counts {
		if got, want := res.Exposure[j], float64(c)/400; got != want {
			t.Errorf("item %d: exposure %v, want %v", j, got, want)
		}
	}
	if got, want := res.CAT.SETargetRate, float64(reached)/400; got != want {
		t.Errorf("SE target rate %v, want %v", got, want)
	}
}

func TestSimulateCATRespectsTheExposureCap(t *testing.T) {
	bank, areas, bp, theta := catSimSetup(4, 600)
	free := SimulateCAT(rand.New(rand.NewPCG(5, 5)), bank, areas, theta,
		CATSimSettings{CAT: CATSettings{MinItems: 10, MaxItems: 30, SETarget: 0.3, Blueprint: bp}, FixedMaxItems: 1})
	if free.CAT.MaxExposure < 0.6 {
		t.Fatalf("without control the largest exposure is %.3f: the test needs a bank whose best items are overexposed", free.CAT.MaxExposure)
	}
	// The cap must be feasible: the exposure rates sum to the mean test
	// length, so r_max · 240 items must exceed it comfortably.
	for _, r := range []float64{0.15, 0.25, 0.4} {
		res := SimulateCAT(rand.New(rand.NewPCG(5, 5)), bank, areas, theta,
			CATSimSettings{CAT: CATSettings{MinItems: 10, MaxItems: 30, SETarget: 0.3, Blueprint: bp}, MaxExposure: r, FixedMaxItems: 1})
		if got := slices.Max(res.Exposure); got > r || got != res.CAT.MaxExposure {
			t.Errorf("r_max %v: largest exposure %v (reported %v), want at most %v", r, got, res.CAT.MaxExposure, r)
		}
		// The cap costs items, not the SE rule, and leaves the bank enough.
		if res.CAT.MeanItems < free.CAT.MeanItems || res.CAT.SETargetRate < 0.95 {
			t.Errorf("r_max %v: mean length %.2f (%.2f without control), %.1f%% reach the SE target", r, res.CAT.MeanItems, free.CAT.MeanItems, 100*res.CAT.SETargetRate)
		}
		for i, e := range res.Examinees {
			if e.Stop == CATExhausted {
				t.Fatalf("r_max %v: examinee %d exhausted the eligible items", r, i)
			}
		}
	}
}

func TestSimulateCATFixedFormsMatchAnIndependentScoring(t *testing.T) {
	// Without exposure control or randomesque selection, examinee i uses
	// exactly len(bank) uniforms, the responses, as documented: redraw them
	// and score the fixed forms with ThetaEAP.
	bank, areas, bp, theta := catSimSetup(6, 250)
	s := CATSimSettings{CAT: CATSettings{MinItems: 5, MaxItems: 30, SETarget: 0.3, Blueprint: bp}, FixedMaxItems: 50}
	res := SimulateCAT(rand.New(rand.NewPCG(7, 7)), bank, areas, theta, s)
	if len(res.Fixed) != 50 || len(res.FixedOrder) != 50 {
		t.Fatalf("got %d fixed forms over %d items, want 50", len(res.Fixed), len(res.FixedOrder))
	}
	rng := rand.New(rand.NewPCG(7, 7))
	u := make([][]float64, len(theta))
	for i := range u {
		u[i] = make([]float64, len(bank))
		for j := range u[i] {
			u[i][j] = rng.Float64()
		}
	}
	for i, e := range res.Examinees {
		for k, j := range e.Items {
			if want := u[i][j] < bank[j].P(theta[i]); (e.Responses[k] == 1) != want {
				t.Fatalf("examinee %d, item %d: response %v does not come from its uniform", i, j, e.Responses[k])
			}
		}
	}
	for _, l := range []int{1, 7, 20, 50} {
		items := make([]Item3PL, l)
		for k, j := range res.FixedOrder[:l] {
			items[k] = bank[j]
		}
		hat, se2, err := make([]float64, len(theta)), 0.0, make([]float64, len(theta))
		for i, th := range theta {
			resp := make([]float64, l)
			for k, j := range res.FixedOrder[:l] {
				if u[i][j] < bank[j].P(th) {
					resp[k] = 1
				}
			}
			est := ThetaEAP(items, resp, Quadrature{})
			hat[i], err[i] = est.Theta, est.Theta-th
			se2 += est.SE * est.SE / float64(len(theta))
		}
		_, v := stat.PopMeanVariance(hat, nil)
		var rmse float64
		for _, d := range err {
			rmse += d * d / float64(len(err))
		}
		got := res.Fixed[l-1]
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"length", float64(got.Length), float64(l)},
			{"reliability", got.Reliability, v / (v + se2)},
			{"RMS SE", got.RMSSE, math.Sqrt(se2)},
			{"bias", got.Bias, stat.Mean(err, nil)},
			{"RMSE", got.RMSE, math.Sqrt(rmse)},
			{"mean items", got.MeanItems, float64(l)},
			{"max exposure", got.MaxExposure, 1},
		} {
			if math.Abs(c.got-c.want) > 1e-9 {
				t.Errorf("fixed form of %d items: %s got %.12g, want %.12g", l, c.name, c.got, c.want)
			}
		}
	}
}

func TestSimulateCATFixedFormsFollowTheBlueprint(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	bank, areas := catBank(rng, 120, "A", "B", "C")
	bp := map[string]float64{"A": 0.5, "B": 0.3, "C": 0.2}
	res := SimulateCAT(rng, bank, areas, []float64{0}, CATSimSettings{CAT: CATSettings{Blueprint: bp}, FixedMaxItems: 100})
	if len(res.FixedOrder) != 100 {
		t.Fatalf("fixed order has %d items, want 100", len(res.FixedOrder))
	}
	value := func(j int) float64 {
		var v float64
		q := NormalQuadrature(61, 0, 1)
		for k, x := range q.Nodes {
			v += q.Weights[k] * bank[j].Info(x)
		}
		return v
	}
	count := map[string]int{}
	last := map[string]float64{}
	seen := map[int]bool{}
	// Areas A, B and C hold 40 items each, so A runs out after 80 items;
	// until then every prefix is within one item of its share.
	for l, j := range res.FixedOrder {
		if seen[j] {
			t.Fatalf("item %d twice in the fixed order", j)
		}
		seen[j] = true
		a := areas[j]
		count[a]++
		if v, ok := last[a]; ok && value(j) > v+1e-12 {
			t.Errorf("position %d: item %d is more informative than the item before it in area %s", l, j, a)
		}
		last[a] = value(j)
		for name, p := range bp {
			if d := float64(count[name]) - float64(l+1)*p; l < 70 && math.Abs(d) >= 1 {
				t.Errorf("first %d items: %d in area %s, want %.1f ± 1", l+1, count[name], name, float64(l+1)*p)
			}
		}
	}
}

func TestSimulateCATBeatsFixedFormsOfEqualReliability(t *testing.T) {
	bank, areas, bp, theta := catSimSetup(11, 1500)
	res := SimulateCAT(rand.New(rand.NewPCG(12, 12)), bank, areas, theta,
		CATSimSettings{CAT: CATSettings{MinItems: 10, MaxItems: 40, SETarget: 0.3, Blueprint: bp}, MaxExposure: 0.25})
	l := res.EqualLength
	if l < 2 {
		t.Fatalf("equal-reliability length %d", l)
	}
	if res.Fixed[l-1].Reliability < res.CAT.Reliability || res.Fixed[l-2].Reliability >= res.CAT.Reliability {
		t.Errorf("fixed reliabilities %.4f (%d items), %.4f (%d items) do not bracket the CAT's %.4f",
			res.Fixed[l-2].Reliability, l-1, res.Fixed[l-1].Reliability, l, res.CAT.Reliability)
	}
	if res.CAT.MeanItems >= float64(l) {
		t.Errorf("CAT mean length %.2f, want fewer than the %d items of the equally reliable fixed form", res.CAT.MeanItems, l)
	}
	// For EAP scores under the true model, var(θ̂) + E[SE²] = var(θ), so the
	// empirical reliability estimates the squared correlation with the true
	// θ: within 0.02 for 1,500 examinees.
	hat := make([]float64, len(theta))
	for i, e := range res.Examinees {
		hat[i] = e.Estimate.Theta
	}
	r := stat.Correlation(hat, theta, nil)
	if d := math.Abs(res.CAT.Reliability - r*r); d > 0.02 {
		t.Errorf("CAT reliability %.4f, squared correlation with θ %.4f", res.CAT.Reliability, r*r)
	}
	if !(res.CAT.MedianItems <= res.CAT.P90Items && res.CAT.P90Items <= 40 && res.CAT.MedianItems >= 10) {
		t.Errorf("median %v, p90 %v: want 10 ≤ median ≤ p90 ≤ 40", res.CAT.MedianItems, res.CAT.P90Items)
	}
}

func TestSimulateCATPanics(t *testing.T) {
	bank, areas, bp, theta := catSimSetup(1, 3)
	ok := CATSimSettings{CAT: CATSettings{Blueprint: bp, MaxItems: 5}}
	for _, c := range []struct {
		name  string
		theta []float64
		s     CATSimSettings
		rng   *rand.Rand
	}{
		{"no examinees", nil, ok, rand.New(rand.NewPCG(1, 1))},
		{"NaN theta", []float64{0, math.NaN()}, ok, rand.New(rand.NewPCG(1, 1))},
		{"exposure above 1", theta, CATSimSettings{CAT: ok.CAT, MaxExposure: 1.5}, rand.New(rand.NewPCG(1, 1))},
		{"negative fixed length", theta, CATSimSettings{CAT: ok.CAT, FixedMaxItems: -1}, rand.New(rand.NewPCG(1, 1))},
		{"no random source", theta, ok, nil},
		{"blueprint without areas", theta, ok, rand.New(rand.NewPCG(1, 1))},
	} {
		a := areas
		if c.name == "blueprint without areas" {
			a = nil
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			SimulateCAT(c.rng, bank, a, c.theta, c.s)
		}()
	}
}
