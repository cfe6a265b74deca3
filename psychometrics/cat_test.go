package psychometrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// catBank returns a bank of n items drawn from rng (A in [0.6, 2.2), B
// uniform on [−3, 3), C in [0, 0.25)) and their content areas, cycling
// through areas.
func catBank(rng *rand.Rand, n int, areas ...string) ([]Item3PL, []string) {
	bank := make([]Item3PL, n)
	var labels []string
	if len(areas) > 0 {
		labels = make([]string, n)
	}
	for j := range bank {
		bank[j] = Item3PL{A: 0.6 + 1.6*rng.Float64(), B: -3 + 6*rng.Float64(), C: 0.25 * rng.Float64()}
		if labels != nil {
			labels[j] = areas[j%len(areas)]
		}
	}
	return bank, labels
}

// catRun administers a CAT to a simulee of ability theta, answering from
// answers, until the CAT stops, and calls check (if not nil) before each
// Record with the proposed item.
func catRun(tb testing.TB, c *CAT, bank []Item3PL, theta float64, answers *rand.Rand, check func(item int)) {
	tb.Helper()
	for range len(bank) + 1 {
		item, done := c.Next()
		if done {
			if item != -1 {
				tb.Fatalf("done with item %d, want −1", item)
			}
			return
		}
		if check != nil {
			check(item)
		}
		var score float64
		if answers.Float64() < bank[item].P(theta) {
			score = 1
		}
		c.Record(item, score)
	}
	tb.Fatal("CAT did not stop")
}

func TestCATGolden(t *testing.T) {
	// testdata/cat.R runs the same adaptive tests in base R: every item
	// chosen must be the same, and the EAP and posterior SD after each
	// response must match.
	var bank []Item3PL
	var areas []string
	for _, rec := range readRecords(t, "cat_bank.csv") {
		if integer(t, rec["item"]) != len(bank) {
			t.Fatal("cat_bank.csv: items out of order")
		}
		bank = append(bank, Item3PL{A: number(t, rec["a"]), B: number(t, rec["b"]), C: number(t, rec["c"])})
		areas = append(areas, rec["area"])
	}
	first12 := make([]bool, len(bank))
	for j := range 12 {
		first12[j] = true
	}
	scenarios := map[string]CATSettings{
		"plain": {MinItems: 5, MaxItems: 30, SETarget: 0.3},
		"blueprint": {MaxItems: 20, StartTheta: 0.5, Quadrature: NormalQuadrature(41, 0.2, 1.1),
			Blueprint: map[string]float64{"algebra": 0.5, "geometry": 0.3, "number": 0.2}},
		"short": {MinItems: 1, SETarget: 0.45, StartTheta: -1, Available: first12},
	}
	var c *CAT
	var runs int
	for _, rec := range readRecords(t, "cat_golden.csv") {
		name := rec["scenario"] + "/" + rec["simulee"]
		step := integer(t, rec["step"])
		if step == 0 {
			s, ok := scenarios[rec["scenario"]]
			if !ok {
				t.Fatalf("unknown scenario %q", rec["scenario"])
			}
			c = NewCAT(bank, areas, s, nil)
			runs++
		}
		item, done := c.Next()
		if want := integer(t, rec["item"]); item != want || done != (want == -1) {
			t.Fatalf("%s, step %d: got item %d, done %v; want %d", name, step, item, done, want)
		}
		if done {
			if got := c.Stop().String(); got != rec["stop"] {
				t.Errorf("%s: got stop %q, want %q", name, got, rec["stop"])
			}
		} else {
			c.Record(item, number(t, rec["score"]))
		}
		est := c.Estimate()
		if want := number(t, rec["theta"]); !sameFloat(est.Theta, want) {
			t.Errorf("%s, step %d: got θ %.17g, want %.17g", name, step, est.Theta, want)
		}
		if want := number(t, rec["se"]); !sameFloat(est.SE, want) {
			t.Errorf("%s, step %d: got SE %.17g, want %.17g", name, step, est.SE, want)
		}
	}
	if runs != 12 {
		t.Errorf("got %d runs, want 12", runs)
	}
}

func TestCATDeterministic(t *testing.T) {
	bank, areas := catBank(rand.New(rand.NewPCG(1, 1)), 200, "a", "b", "c")
	s := CATSettings{MaxItems: 25, Randomesque: 5, Blueprint: map[string]float64{"a": 0.5, "b": 0.3, "c": 0.2}}
	run := func(seed uint64) ([]int, Estimate) {
		c := NewCAT(bank, areas, s, rand.New(rand.NewPCG(seed, 3)))
		catRun(t, c, bank, 0.7, rand.New(rand.NewPCG(99, 99)), nil)
		return c.Administered(), c.Estimate()
	}
	a, ea := run(42)
	b, eb := run(42)
	if !slices.Equal(a, b) || ea != eb {
		t.Errorf("same seed: got %v %+v and %v %+v", a, ea, b, eb)
	}
	if c, _ := run(43); slices.Equal(a, c) {
		t.Errorf("different seeds, randomesque 5: got the same items %v", a)
	}
}

func TestCATNeverRepeats(t *testing.T) {
	bank, _ := catBank(rand.New(rand.NewPCG(2, 2)), 40)
	avail := make([]bool, len(bank))
	for j := range avail {
		avail[j] = j%4 != 0
	}
	for _, s := range []CATSettings{
		{},
		{Randomesque: 3, Available: avail},
	} {
		c := NewCAT(bank, nil, s, rand.New(rand.NewPCG(5, 5)))
		catRun(t, c, bank, -0.3, rand.New(rand.NewPCG(6, 6)), nil)
		got := c.Administered()
		want := 0
		seen := make(map[int]bool)
		for j := range bank {
			if s.Available == nil || s.Available[j] {
				want++
			}
		}
		for _, j := range got {
			if seen[j] {
				t.Errorf("item %d administered twice: %v", j, got)
			}
			if s.Available != nil && !s.Available[j] {
				t.Errorf("unavailable item %d administered", j)
			}
			seen[j] = true
		}
		if len(got) != want || c.Stop() != CATExhausted {
			t.Errorf("got %d items, stop %v; want %d, %v", len(got), c.Stop(), want, CATExhausted)
		}
		if r := c.Responses(); len(r) != len(got) {
			t.Errorf("got %d responses for %d items", len(r), len(got))
		}
	}
}

func TestCATStoppingRules(t *testing.T) {
	bank, _ := catBank(rand.New(rand.NewPCG(3, 3)), 150)
	tests := []struct {
		name     string
		s        CATSettings
		wantStop CATStop
		wantLen  func(n int) bool
	}{
		{"max items", CATSettings{MaxItems: 7}, CATMaxItems, func(n int) bool { return n == 7 }},
		{"SE reached at once: min items", CATSettings{MinItems: 5, SETarget: 0.99}, CATSETarget, func(n int) bool { return n == 5 }},
		{"zero min items means one", CATSettings{SETarget: 2}, CATSETarget, func(n int) bool { return n == 1 }},
		{"SE target", CATSettings{MinItems: 3, MaxItems: 100, SETarget: 0.35}, CATSETarget, func(n int) bool { return n >= 3 && n < 100 }},
		{"SE target unreachable", CATSettings{MinItems: 3, MaxItems: 12, SETarget: 0.01}, CATMaxItems, func(n int) bool { return n == 12 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCAT(bank, nil, tt.s, nil)
			var ses []float64
			catRun(t, c, bank, 0.4, rand.New(rand.NewPCG(7, 7)), func(int) { ses = append(ses, c.Estimate().SE) })
			n := len(c.Administered())
			if c.Stop() != tt.wantStop || !tt.wantLen(n) {
				t.Fatalf("got %d items, stop %v; want stop %v", n, c.Stop(), tt.wantStop)
			}
			if tt.wantStop == CATSETarget {
				if se := c.Estimate().SE; se > tt.s.SETarget {
					t.Errorf("stopped by SE with SE %v > target %v", se, tt.s.SETarget)
				}
				// It stops at the first chance: before the last item, either
				// MinItems was not reached or the SE was above target.
				if last := n - 1; last >= max(tt.s.MinItems, 1) && ses[last] <= tt.s.SETarget {
					t.Errorf("SE %v reached the target after %d items, but the test went on", ses[last], last)
				}
			}
			if item, done := c.Next(); !done || item != -1 {
				t.Errorf("Next after the end: got %d, %v", item, done)
			}
		})
	}
}

func TestCATMaximumInformation(t *testing.T) {
	// With Randomesque 0 (or 1) every item is the eligible item with the
	// largest information at the current θ̂ (StartTheta for the first).
	bank, _ := catBank(rand.New(rand.NewPCG(4, 4)), 120)
	for _, s := range []CATSettings{{MaxItems: 30}, {MaxItems: 30, Randomesque: 1, StartTheta: 2}, {MaxItems: 30, StartTheta: -1.5}} {
		c := NewCAT(bank, nil, s, nil)
		catRun(t, c, bank, 1.1, rand.New(rand.NewPCG(8, 8)), func(item int) {
			theta := c.Estimate().Theta
			if len(c.Administered()) == 0 {
				theta = s.StartTheta
			}
			best, bestInfo := -1, math.Inf(-1)
			for j, it := range bank {
				if !slices.Contains(c.Administered(), j) && it.Info(theta) > bestInfo {
					best, bestInfo = j, it.Info(theta)
				}
			}
			if item != best {
				t.Fatalf("start %v, after %d items at θ̂ %v: got item %d (info %v), want %d (info %v)",
					s.StartTheta, len(c.Administered()), theta, item, bank[item].Info(theta), best, bestInfo)
			}
		})
	}
}

func TestCATRandomesque(t *testing.T) {
	// Each item is one of the n most informative; over many tests the first
	// item takes each of the n values.
	bank, _ := catBank(rand.New(rand.NewPCG(5, 5)), 80)
	const n = 4
	firsts := make(map[int]bool)
	rng := rand.New(rand.NewPCG(9, 9))
	for range 60 {
		c := NewCAT(bank, nil, CATSettings{MaxItems: 10, Randomesque: n}, rng)
		catRun(t, c, bank, 0, rng, func(item int) {
			theta := c.Estimate().Theta
			if len(c.Administered()) == 0 {
				firsts[item] = true
				theta = 0
			}
			better := 0
			for j, it := range bank {
				if !slices.Contains(c.Administered(), j) && it.Info(theta) > bank[item].Info(theta) {
					better++
				}
			}
			if better >= n {
				t.Fatalf("got item %d with %d more informative eligible items, want fewer than %d", item, better, n)
			}
		})
	}
	if len(firsts) != n {
		t.Errorf("first items %v: want %d distinct", firsts, n)
	}
}

func TestCATContentBalancing(t *testing.T) {
	// After every item, each area's count is within one item of its target
	// t·π_a (Kingsbury & Zara, 1989), whatever the simulee.
	bank, areas := catBank(rand.New(rand.NewPCG(6, 6)), 300, "algebra", "geometry", "number", "data", "unused")
	blueprints := []map[string]float64{
		{"algebra": 0.5, "geometry": 0.3, "number": 0.2},
		{"algebra": 4, "geometry": 3, "number": 2, "data": 1}, // normalised
		{"algebra": 0.15, "geometry": 0.15, "number": 0.35, "data": 0.35},
		{"algebra": 0.7, "geometry": 0.1, "number": 0.1, "data": 0.1},
	}
	rng := rand.New(rand.NewPCG(10, 10))
	for i, bp := range blueprints {
		var sum float64
		for _, p := range bp {
			sum += p
		}
		for _, theta := range []float64{-2, -0.5, 0.8, 2.5} {
			c := NewCAT(bank, areas, CATSettings{MaxItems: 30, Blueprint: bp, Randomesque: 2}, rng)
			count := make(map[string]int)
			catRun(t, c, bank, theta, rng, func(item int) {
				if bp[areas[item]] == 0 {
					t.Fatalf("blueprint %d: item %d in area %q outside the blueprint", i, item, areas[item])
				}
				count[areas[item]]++
				n := float64(len(c.Administered()) + 1)
				for a, p := range bp {
					if d := float64(count[a]) - n*p/sum; math.Abs(d) > 1 {
						t.Fatalf("blueprint %d, θ %v, after %v items: area %s has %d items, target %.2f",
							i, theta, n, a, count[a], n*p/sum)
					}
				}
			})
		}
	}
}

func TestCATContentBalancingExhaustedArea(t *testing.T) {
	// When an area runs out of items the CAT passes to the next area, and it
	// stops when no area of the blueprint has items left.
	bank := []Item3PL{{A: 1}, {A: 1, B: 1}, {A: 1, B: -1}, {A: 1.2}, {A: 0.8, B: 0.5}}
	areas := []string{"x", "y", "y", "y", "z"}
	c := NewCAT(bank, areas, CATSettings{Blueprint: map[string]float64{"x": 0.8, "y": 0.2}}, nil)
	catRun(t, c, bank, 0, rand.New(rand.NewPCG(1, 1)), nil)
	got := c.Administered()
	if len(got) != 4 || got[0] != 0 || slices.Contains(got, 4) || c.Stop() != CATExhausted {
		t.Errorf("got %v, stop %v; want item 0 first, then items 1–3, never item 4, stop %v", got, c.Stop(), CATExhausted)
	}
}

func TestCATEstimateMatchesThetaEAP(t *testing.T) {
	// The cached per-node log-likelihood gives the same EAP as scoring the
	// responses from scratch.
	bank, _ := catBank(rand.New(rand.NewPCG(7, 7)), 100)
	q := NormalQuadrature(41, 0.2, 1.1)
	c := NewCAT(bank, nil, CATSettings{MaxItems: 20, Quadrature: q}, nil)
	rng := rand.New(rand.NewPCG(11, 11))
	catRun(t, c, bank, -0.8, rng, func(int) {
		resp := make([]float64, len(bank))
		for j := range resp {
			resp[j] = math.NaN()
		}
		for i, j := range c.Administered() {
			resp[j] = c.Responses()[i]
		}
		got, want := c.Estimate(), ThetaEAP(bank, resp, q)
		if !thetaClose(got.Theta, want.Theta, 1e-12) || !thetaClose(got.SE, want.SE, 1e-12) {
			t.Fatalf("after %d items: got %+v, want %+v", len(c.Administered()), got, want)
		}
	})
}

func TestCATRecovery(t *testing.T) {
	// 500 simulees, θ ~ N(0, 1), 300-item bank, SE target 0.3 after 5 items,
	// at most 60: the final EAP correlates above 0.9 with θ and the mean
	// final SE is at most the target.
	rng := rand.New(rand.NewPCG(8, 8))
	bank, areas := catBank(rng, 300, "a", "b")
	const n, target = 500, 0.3
	s := CATSettings{MinItems: 5, MaxItems: 60, SETarget: target, Randomesque: 3, Blueprint: map[string]float64{"a": 0.6, "b": 0.4}}
	truth := make([]float64, n)
	est := make([]float64, n)
	var seSum, lenSum float64
	for i := range n {
		truth[i] = rng.NormFloat64()
		c := NewCAT(bank, areas, s, rng)
		catRun(t, c, bank, truth[i], rng, nil)
		est[i] = c.Estimate().Theta
		seSum += c.Estimate().SE
		lenSum += float64(len(c.Administered()))
	}
	r := stat.Correlation(truth, est, nil)
	meanSE := seSum / n
	t.Logf("correlation %.3f, mean SE %.3f, mean length %.1f", r, meanSE, lenSum/n)
	if r <= 0.9 {
		t.Errorf("got correlation %.3f, want > 0.9", r)
	}
	if meanSE > target {
		t.Errorf("got mean final SE %.3f, want ≤ %v", meanSE, target)
	}
}

func TestCATRecordPanics(t *testing.T) {
	bank := []Item3PL{{A: 1}, {A: 1, B: 1}, {A: 1, B: -1}}
	newCAT := func() *CAT {
		c := NewCAT(bank, nil, CATSettings{Available: []bool{true, true, false}}, nil)
		c.Record(0, 1)
		return c
	}
	for _, tt := range []struct {
		name string
		f    func(c *CAT)
	}{
		{"negative index", func(c *CAT) { c.Record(-1, 1) }},
		{"index past the bank", func(c *CAT) { c.Record(3, 1) }},
		{"repeated item", func(c *CAT) { c.Record(0, 0) }},
		{"unavailable item", func(c *CAT) { c.Record(2, 0) }},
		{"score 2", func(c *CAT) { c.Record(1, 2) }},
		{"score NaN", func(c *CAT) { c.Record(1, math.NaN()) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCAT()
			mustPanic(t, func() { tt.f(c) })
		})
	}
}

func TestNewCATPanics(t *testing.T) {
	bank := []Item3PL{{A: 1}, {A: 1, B: 1}}
	areas := []string{"a", "b"}
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		name  string
		bank  []Item3PL
		areas []string
		s     CATSettings
		rng   *rand.Rand
	}{
		{"empty bank", nil, nil, CATSettings{}, rng},
		{"invalid item", []Item3PL{{A: -1}}, nil, CATSettings{}, rng},
		{"areas length", bank, []string{"a"}, CATSettings{}, rng},
		{"blueprint without areas", bank, nil, CATSettings{Blueprint: map[string]float64{"a": 1}}, rng},
		{"negative proportion", bank, areas, CATSettings{Blueprint: map[string]float64{"a": 1, "b": -0.1}}, rng},
		{"NaN proportion", bank, areas, CATSettings{Blueprint: map[string]float64{"a": math.NaN()}}, rng},
		{"no positive proportion", bank, areas, CATSettings{Blueprint: map[string]float64{"a": 0}}, rng},
		{"available length", bank, nil, CATSettings{Available: []bool{true}}, rng},
		{"negative min items", bank, nil, CATSettings{MinItems: -1}, rng},
		{"negative max items", bank, nil, CATSettings{MaxItems: -1}, rng},
		{"min above max", bank, nil, CATSettings{MinItems: 3, MaxItems: 2}, rng},
		{"negative randomesque", bank, nil, CATSettings{Randomesque: -2}, rng},
		{"negative SE target", bank, nil, CATSettings{SETarget: -0.1}, rng},
		{"NaN SE target", bank, nil, CATSettings{SETarget: math.NaN()}, rng},
		{"infinite start", bank, nil, CATSettings{StartTheta: math.Inf(-1)}, rng},
		{"randomesque without source", bank, nil, CATSettings{Randomesque: 2}, nil},
		{"bad quadrature", bank, nil, CATSettings{Quadrature: Quadrature{Nodes: []float64{0}}}, rng},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, func() { NewCAT(tt.bank, tt.areas, tt.s, tt.rng) })
		})
	}
}

func TestCATCopiesArguments(t *testing.T) {
	bank := []Item3PL{{A: 1}, {A: 1, B: 1}, {A: 1, B: -1}}
	avail := []bool{true, true, true}
	c := NewCAT(bank, nil, CATSettings{Available: avail}, nil)
	bank[0].B, avail[0] = 10, false
	if item, _ := c.Next(); item != 0 {
		t.Errorf("got item %d, want 0 (the bank as given to NewCAT)", item)
	}
	c.Record(0, 1)
	adm := c.Administered()
	adm[0] = 2
	if got := c.Administered(); got[0] != 0 {
		t.Errorf("Administered shares its slice: got %v", got)
	}
}

func TestCATStopString(t *testing.T) {
	for _, c := range []struct {
		s    CATStop
		want string
	}{{CATRunning, "running"}, {CATMaxItems, "maximum items"}, {CATSETarget, "SE target"}, {CATExhausted, "bank exhausted"}, {9, "CATStop(9)"}} {
		if got := c.s.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestCATNextAllocations(t *testing.T) {
	bank, areas := catBank(rand.New(rand.NewPCG(9, 9)), 500, "a", "b", "c")
	c := NewCAT(bank, areas, CATSettings{Randomesque: 5, Blueprint: map[string]float64{"a": 1, "b": 1, "c": 1}}, rand.New(rand.NewPCG(1, 1)))
	for range 5 {
		item, _ := c.Next()
		c.Record(item, 1)
	}
	if n := testing.AllocsPerRun(20, func() { c.Next() }); n != 0 {
		t.Errorf("Next: got %v allocations, want 0", n)
	}
}

// BenchmarkCATNextItem2000 times one item selection from a 2,000-item bank
// after 10 responses, with randomesque 5 and three content areas.
func BenchmarkCATNextItem2000(b *testing.B) {
	rng := rand.New(rand.NewPCG(12, 12))
	bank, areas := catBank(rng, 2000, "a", "b", "c")
	c := NewCAT(bank, areas, CATSettings{Randomesque: 5, Blueprint: map[string]float64{"a": 0.5, "b": 0.3, "c": 0.2}}, rng)
	for range 10 {
		item, _ := c.Next()
		var score float64
		if rng.Float64() < bank[item].P(0.5) {
			score = 1
		}
		c.Record(item, score)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Next()
	}
}

// BenchmarkCATRecord times recording a response and updating the EAP
// estimate (61 nodes).
func BenchmarkCATRecord(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 13))
	bank, _ := catBank(rng, 2000)
	b.ReportAllocs()
	var c *CAT
	for i := 0; b.Loop(); i++ {
		if i%len(bank) == 0 {
			b.StopTimer()
			c = NewCAT(bank, nil, CATSettings{}, nil)
			b.StartTimer()
		}
		c.Record(i%len(bank), float64(i%2))
	}
}
