package assembly_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/assess/assembly"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// checkForm fails the test unless form has exactly the blueprint's count of
// operational items per domain, listed in blueprint order, no pretest item
// among them, no item twice, no enemy pair, and only pretest items among its
// pretest items.
func checkForm(tb testing.TB, pool []assembly.Item, bp assembly.Blueprint, form assembly.Form) {
	tb.Helper()
	byID := make(map[string]assembly.Item, len(pool))
	for _, it := range pool {
		byID[it.ID] = it
	}
	var wantDomains []string
	for _, t := range bp.Domains {
		for range t.Count {
			wantDomains = append(wantDomains, t.Domain)
		}
	}
	var gotDomains []string
	for _, id := range form.Items {
		it, ok := byID[id]
		if !ok {
			tb.Fatalf("form item %q is not in the pool", id)
		}
		if it.Pretest {
			tb.Errorf("pretest item %q is an operational item", id)
		}
		gotDomains = append(gotDomains, it.Domain)
	}
	if !slices.Equal(gotDomains, wantDomains) {
		tb.Errorf("domains of the operational items: got %v, want %v", gotDomains, wantDomains)
	}
	for _, id := range form.Pretest {
		if !byID[id].Pretest {
			tb.Errorf("seeded item %q is not a pretest item", id)
		}
	}
	all := slices.Concat(form.Items, form.Pretest)
	on := make(map[string]bool, len(all))
	for _, id := range all {
		if on[id] {
			tb.Errorf("item %q is on the form twice", id)
		}
		on[id] = true
	}
	for _, id := range all {
		for _, e := range byID[id].Enemies {
			if on[e] {
				tb.Errorf("enemies %q and %q share the form", id, e)
			}
		}
	}
}

// randomPool returns a pool over the given domains with between min and
// min+spread items each, a few pretest items, and enemy chains: runs of
// consecutive items, across domains, each an enemy of the next, listed on one
// side only.
func randomPool(rng *rand.Rand, domains []string, minItems, spread int, calibrated bool) []assembly.Item {
	var pool []assembly.Item
	for _, d := range domains {
		n := minItems + rng.IntN(spread+1)
		for range n {
			it := assembly.Item{ID: fmt.Sprintf("i%03d", len(pool)), Domain: d, Pretest: rng.IntN(10) == 0}
			if calibrated && rng.IntN(8) > 0 {
				it.IRT = &psychometrics.Item3PL{A: 0.6 + rng.Float64(), B: rng.NormFloat64(), C: 0.2 * rng.Float64()}
			}
			pool = append(pool, it)
		}
	}
	perm := rng.Perm(len(pool))
	for start := 0; start < len(perm); {
		length := 1 + rng.IntN(4)
		for j := start; j+1 < min(start+length, len(perm)); j++ {
			a, b := perm[j], perm[j+1]
			if rng.IntN(2) == 0 {
				a, b = b, a
			}
			pool[a].Enemies = append(pool[a].Enemies, pool[b].ID)
		}
		start += length
	}
	return pool
}

func TestAssembleProperties(t *testing.T) {
	domains := []string{"algebra", "geometry", "statistics", "number"}
	for seed := range uint64(400) {
		rng := rand.New(rand.NewPCG(seed, 1))
		calibrated := seed%2 == 0
		pool := randomPool(rng, domains[:2+rng.IntN(3)], 12, 10, calibrated)
		var bp assembly.Blueprint
		for _, d := range domains {
			if rng.IntN(5) > 0 {
				bp.Domains = append(bp.Domains, assembly.DomainTarget{Domain: d, Count: rng.IntN(5)})
			}
		}
		rules := assembly.Rules{Pretest: rng.IntN(3)}
		if calibrated {
			rules.TargetTheta = []float64{-1, 0, 1}
			rules.TargetInfo = []float64{2, 3, 2}
			rules.Tolerance = 0.2
		}
		form, err := assembly.Assemble(pool, bp, rules, rng)
		if err != nil {
			// Domains absent from this pool are rightly infeasible.
			if errors.Is(err, assembly.ErrInfeasible) && strings.Contains(err.Error(), "has 0 operational items") {
				continue
			}
			t.Fatalf("seed %d: %v", seed, err)
		}
		checkForm(t, pool, bp, form)
		if len(form.Pretest) != rules.Pretest && len(form.Relaxed) == 0 {
			t.Errorf("seed %d: got %d pretest items and no relaxation, want %d", seed, len(form.Pretest), rules.Pretest)
		}
	}
}

// TestAssembleEnemyChain needs the only feasible choice: three of a chain of
// five enemies, a–b–c–d–e, are mutually free only as a, c, e.
func TestAssembleEnemyChain(t *testing.T) {
	pool := []assembly.Item{
		{ID: "a", Domain: "x", Enemies: []string{"b"}},
		{ID: "b", Domain: "x"},
		{ID: "c", Domain: "x", Enemies: []string{"b", "d"}},
		{ID: "d", Domain: "x", Enemies: []string{"e"}},
		{ID: "e", Domain: "x"},
	}
	bp := assembly.Blueprint{Domains: []assembly.DomainTarget{{Domain: "x", Count: 3}}}
	for seed := range uint64(50) {
		form, err := assembly.Assemble(pool, bp, assembly.Rules{}, rand.New(rand.NewPCG(seed, 2)))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		got := slices.Sorted(slices.Values(form.Items))
		if want := []string{"a", "c", "e"}; !slices.Equal(got, want) {
			t.Errorf("seed %d: got %v, want %v", seed, got, want)
		}
	}
}

func TestAssembleExposure(t *testing.T) {
	// Ten items in one domain; the first five at or above the limit, with
	// exposures 0.9, 0.8, 0.7, 0.6, 0.5; the rest below it.
	var pool []assembly.Item
	for i := range 10 {
		exp := 0.1
		if i < 5 {
			exp = 0.9 - 0.1*float64(i)
		}
		pool = append(pool, assembly.Item{ID: fmt.Sprintf("i%d", i), Domain: "x", Exposure: exp})
	}
	rules := assembly.Rules{MaxExposure: 0.5}
	tests := []struct {
		name        string
		count       int
		wantOver    []string // over-exposed items that must be on the form
		wantRelaxed []string
	}{
		{"feasible", 5, nil, nil},
		{"short by two", 7, []string{"i3", "i4"}, []string{"MaxExposure: domain x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bp := assembly.Blueprint{Domains: []assembly.DomainTarget{{Domain: "x", Count: tt.count}}}
			for seed := range uint64(20) {
				form, err := assembly.Assemble(pool, bp, rules, rand.New(rand.NewPCG(seed, 3)))
				if err != nil {
					t.Fatal(err)
				}
				checkForm(t, pool, bp, form)
				var over []string
				for _, id := range form.Items {
					if id < "i5" {
						over = append(over, id)
					}
				}
				slices.Sort(over)
				if !slices.Equal(over, tt.wantOver) {
					t.Errorf("seed %d: over-exposed items on the form: got %v, want %v", seed, over, tt.wantOver)
				}
				if !slices.Equal(form.Relaxed, tt.wantRelaxed) {
					t.Errorf("seed %d: relaxed: got %q, want %q", seed, form.Relaxed, tt.wantRelaxed)
				}
			}
		})
	}
}

// tif returns the information of the form's operational items at theta.
func tif(pool []assembly.Item, ids []string, theta float64) float64 {
	var sum float64
	for _, it := range pool {
		if it.IRT != nil && slices.Contains(ids, it.ID) {
			sum += it.IRT.Info(theta)
		}
	}
	return sum
}

func TestAssembleInformationTarget(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	domains := []string{"a", "b", "c"}
	var pool []assembly.Item
	for _, d := range domains {
		for range 60 {
			pool = append(pool, assembly.Item{
				ID:     fmt.Sprintf("i%03d", len(pool)),
				Domain: d,
				IRT:    &psychometrics.Item3PL{A: 0.5 + 1.5*rng.Float64(), B: 1.5 * rng.NormFloat64(), C: 0.15 * rng.Float64()},
			})
		}
	}
	bp := assembly.Blueprint{Domains: []assembly.DomainTarget{{"a", 6}, {"b", 6}, {"c", 6}}}
	theta := []float64{-1.5, -0.5, 0.5, 1.5}
	// A reachable target: a peaked curve a little above the pool average.
	reachable := []float64{3, 5, 5, 3}
	tests := []struct {
		name      string
		target    []float64
		tolerance float64
		reachable bool
	}{
		{"reachable", reachable, 0.05, true},
		{"beyond the pool", []float64{50, 50, 50, 50}, 0.05, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := assembly.Rules{TargetTheta: theta, TargetInfo: tt.target, Tolerance: tt.tolerance}
			const seeds = 200
			met := 0
			for seed := range uint64(seeds) {
				form, err := assembly.Assemble(pool, bp, rules, rand.New(rand.NewPCG(seed, 4)))
				if err != nil {
					t.Fatal(err)
				}
				checkForm(t, pool, bp, form)
				var dev float64
				for k, th := range theta {
					dev = max(dev, math.Abs(tif(pool, form.Items, th)-tt.target[k])/tt.target[k])
				}
				if math.Abs(dev-form.MaxDeviation) > 1e-9 {
					t.Errorf("seed %d: MaxDeviation: got %.12f, want %.12f", seed, form.MaxDeviation, dev)
				}
				if form.MeetsTarget != (dev <= tt.tolerance) {
					t.Errorf("seed %d: MeetsTarget %v with deviation %.3f and tolerance %.3f", seed, form.MeetsTarget, dev, tt.tolerance)
				}
				if form.MeetsTarget {
					met++
				}
			}
			// The swap search is a local search: on a reachable target it may
			// rarely stop just short (about 4 in 1,000 forms here).
			if tt.reachable && met < seeds*98/100 {
				t.Errorf("%d of %d forms met the target, want at least 98%%", met, seeds)
			}
			if !tt.reachable && met > 0 {
				t.Errorf("%d of %d forms met an unreachable target", met, seeds)
			}
		})
	}
}

func TestAssembleInfeasible(t *testing.T) {
	tests := []struct {
		name       string
		pool       []assembly.Item
		bp         []assembly.DomainTarget
		wantDomain string
	}{
		{
			name:       "too few items",
			pool:       []assembly.Item{{ID: "a", Domain: "x"}, {ID: "b", Domain: "y"}, {ID: "c", Domain: "y"}},
			bp:         []assembly.DomainTarget{{"x", 1}, {"y", 3}},
			wantDomain: `"y"`,
		},
		{
			name:       "pretest items do not count",
			pool:       []assembly.Item{{ID: "a", Domain: "x"}, {ID: "b", Domain: "x", Pretest: true}},
			bp:         []assembly.DomainTarget{{"x", 2}},
			wantDomain: `"x"`,
		},
		{
			name:       "domain missing from the pool",
			pool:       []assembly.Item{{ID: "a", Domain: "x"}},
			bp:         []assembly.DomainTarget{{"x", 1}, {"z", 1}},
			wantDomain: `"z"`,
		},
		{
			name: "mutual enemies",
			pool: []assembly.Item{
				{ID: "a", Domain: "x", Enemies: []string{"b", "c"}},
				{ID: "b", Domain: "x", Enemies: []string{"c"}},
				{ID: "c", Domain: "x"},
				{ID: "d", Domain: "y"},
			},
			bp:         []assembly.DomainTarget{{"y", 1}, {"x", 2}},
			wantDomain: `"x"`,
		},
		{
			name: "enemies across domains",
			pool: []assembly.Item{
				{ID: "a", Domain: "x", Enemies: []string{"c"}},
				{ID: "b", Domain: "x", Enemies: []string{"d"}},
				{ID: "c", Domain: "y"},
				{ID: "d", Domain: "y"},
			},
			bp:         []assembly.DomainTarget{{"x", 2}, {"y", 1}},
			wantDomain: `"x"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := assembly.Assemble(tt.pool, assembly.Blueprint{Domains: tt.bp}, assembly.Rules{}, rand.New(rand.NewPCG(1, 1)))
			if !errors.Is(err, assembly.ErrInfeasible) {
				t.Fatalf("got error %v, want ErrInfeasible", err)
			}
			if !strings.Contains(err.Error(), tt.wantDomain) {
				t.Errorf("got message %q, want it to name %s", err, tt.wantDomain)
			}
		})
	}
}

func TestAssemblePretest(t *testing.T) {
	pool := []assembly.Item{
		{ID: "o1", Domain: "x", Enemies: []string{"p1"}},
		{ID: "p1", Domain: "x", Pretest: true},
		{ID: "p2", Domain: "x", Pretest: true, Exposure: 0.9},
		{ID: "p3", Domain: "y", Pretest: true},
	}
	bp := assembly.Blueprint{Domains: []assembly.DomainTarget{{"x", 1}}}
	tests := []struct {
		pretest     int
		wantPretest []string
		wantRelaxed []string
	}{
		{0, nil, nil},
		{1, []string{"p3"}, nil},
		{2, []string{"p2", "p3"}, []string{"MaxExposure: pretest"}},
		{3, []string{"p2", "p3"}, []string{"MaxExposure: pretest", "Pretest: seeded 2 of 3"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.pretest), func(t *testing.T) {
			rules := assembly.Rules{MaxExposure: 0.5, Pretest: tt.pretest}
			form, err := assembly.Assemble(pool, bp, rules, rand.New(rand.NewPCG(5, 5)))
			if err != nil {
				t.Fatal(err)
			}
			checkForm(t, pool, bp, form)
			got := slices.Sorted(slices.Values(form.Pretest))
			if !slices.Equal(got, tt.wantPretest) {
				t.Errorf("pretest: got %v, want %v", got, tt.wantPretest)
			}
			if !slices.Equal(form.Relaxed, tt.wantRelaxed) {
				t.Errorf("relaxed: got %q, want %q", form.Relaxed, tt.wantRelaxed)
			}
		})
	}
}

func TestAssembleDeterministic(t *testing.T) {
	pool := randomPool(rand.New(rand.NewPCG(9, 9)), []string{"a", "b", "c"}, 30, 0, true)
	bp := assembly.Blueprint{Domains: []assembly.DomainTarget{{"a", 5}, {"b", 5}, {"c", 5}}}
	for _, rules := range []assembly.Rules{
		{Pretest: 2},
		{TargetTheta: []float64{-1, 0, 1}, TargetInfo: []float64{3, 4, 3}, Tolerance: 0.1, Pretest: 2},
	} {
		first, err := assembly.Assemble(pool, bp, rules, rand.New(rand.NewPCG(42, 0)))
		if err != nil {
			t.Fatal(err)
		}
		again, err := assembly.Assemble(pool, bp, rules, rand.New(rand.NewPCG(42, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Errorf("same seed: got %+v, then %+v", first, again)
		}
		other, err := assembly.Assemble(pool, bp, rules, rand.New(rand.NewPCG(43, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(first.Items, other.Items) {
			t.Errorf("seeds 42 and 43 gave the same form %v", first.Items)
		}
	}
}

func TestAssemblePanics(t *testing.T) {
	pool := []assembly.Item{{ID: "a", Domain: "x"}, {ID: "b", Domain: "x"}}
	bp := assembly.Blueprint{Domains: []assembly.DomainTarget{{"x", 1}}}
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		name string
		pool []assembly.Item
		bp   assembly.Blueprint
		r    assembly.Rules
		rng  *rand.Rand
	}{
		{"nil rng", pool, bp, assembly.Rules{}, nil},
		{"repeated ID", []assembly.Item{{ID: "a"}, {ID: "a"}}, bp, assembly.Rules{}, rng},
		{"repeated domain", pool, assembly.Blueprint{Domains: []assembly.DomainTarget{{"x", 1}, {"x", 1}}}, assembly.Rules{}, rng},
		{"negative count", pool, assembly.Blueprint{Domains: []assembly.DomainTarget{{"x", -1}}}, assembly.Rules{}, rng},
		{"target lengths", pool, bp, assembly.Rules{TargetTheta: []float64{0}}, rng},
		{"zero target", pool, bp, assembly.Rules{TargetTheta: []float64{0}, TargetInfo: []float64{0}}, rng},
		{"negative tolerance", pool, bp, assembly.Rules{Tolerance: -1}, rng},
		{"NaN exposure limit", pool, bp, assembly.Rules{MaxExposure: math.NaN()}, rng},
		{"negative pretest", pool, bp, assembly.Rules{Pretest: -1}, rng},
		{"bad IRT", []assembly.Item{{ID: "a", Domain: "x", IRT: &psychometrics.Item3PL{A: 0}}}, bp, assembly.Rules{}, rng},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Assemble did not panic")
				}
			}()
			_, _ = assembly.Assemble(tt.pool, tt.bp, tt.r, tt.rng)
		})
	}
}
