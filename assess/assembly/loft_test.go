package assembly_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/assess/assembly"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// loft is the acceptance scenario for linear-on-the-fly assembly: a
// calibrated pool of 600 items in 5 domains of 120, about 10% of them in
// enemy pairs, a blueprint of 8 items per domain, a target information
// curve a little above that of an average 40-item form, and an exposure
// limit of 0.3 tracked as forms are drawn.
type loft struct {
	pool  []assembly.Item
	bp    assembly.Blueprint
	rules assembly.Rules
	index map[string]int
	count []int // forms each item has been on
	forms int
}

func newLOFT(tb testing.TB) *loft {
	tb.Helper()
	rng := rand.New(rand.NewPCG(2005, 1))
	domains := []string{"formulas", "functions", "pivots", "charts", "data"}
	l := &loft{index: make(map[string]int)}
	for _, d := range domains {
		for range 120 {
			id := fmt.Sprintf("item%03d", len(l.pool))
			l.index[id] = len(l.pool)
			l.pool = append(l.pool, assembly.Item{
				ID:     id,
				Domain: d,
				IRT:    &psychometrics.Item3PL{A: 0.6 + 1.2*rng.Float64(), B: rng.NormFloat64(), C: 0.2 * rng.Float64()},
			})
		}
		l.bp.Domains = append(l.bp.Domains, assembly.DomainTarget{Domain: d, Count: 8})
	}
	perm := rng.Perm(len(l.pool))
	for p := 0; p < 60; p += 2 {
		a, b := perm[p], perm[p+1]
		l.pool[a].Enemies = append(l.pool[a].Enemies, l.pool[b].ID)
	}
	theta := []float64{-1.5, -0.5, 0.5, 1.5}
	target := make([]float64, len(theta))
	for k, th := range theta {
		for _, it := range l.pool {
			target[k] += it.IRT.Info(th)
		}
		target[k] *= 1.1 * 40 / float64(len(l.pool))
	}
	l.rules = assembly.Rules{MaxExposure: 0.3, TargetTheta: theta, TargetInfo: target, Tolerance: 0.1}
	l.count = make([]int, len(l.pool))
	return l
}

// record counts form's items and updates every item's exposure to the
// proportion of forms drawn so far that it was on.
func (l *loft) record(form assembly.Form) {
	for _, id := range form.Items {
		l.count[l.index[id]]++
	}
	l.forms++
	for i := range l.pool {
		l.pool[i].Exposure = float64(l.count[i]) / float64(l.forms)
	}
}

func TestLOFTTenThousandAssemblies(t *testing.T) {
	const n = 10000
	l := newLOFT(t)
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	missed, relaxed := 0, 0
	for range n {
		form, err := assembly.Assemble(l.pool, l.bp, l.rules, rng)
		if err != nil {
			t.Fatal(err)
		}
		checkForm(t, l.pool, l.bp, form)
		for _, id := range form.Items {
			if e := l.pool[l.index[id]].Exposure; e >= l.rules.MaxExposure && len(form.Relaxed) == 0 {
				t.Fatalf("item %s with exposure %.3f is on a form that relaxed no rule", id, e)
			}
		}
		if !form.MeetsTarget {
			missed++
		}
		if len(form.Relaxed) > 0 {
			relaxed++
		}
		l.record(form)
	}
	elapsed := time.Since(start)
	if relaxed > 0 {
		t.Errorf("%d of %d forms relaxed a rule, want none from this pool", relaxed, n)
	}
	if missed > n/100 {
		t.Errorf("%d of %d forms missed the information target, want at most 1%%", missed, n)
	}
	var top float64
	for i := range l.pool {
		top = max(top, l.pool[i].Exposure)
	}
	// An item is drawn only below the limit, so its rate can pass it by at
	// most one form's worth.
	if limit := l.rules.MaxExposure + 1.0/n; top > limit {
		t.Errorf("highest exposure rate: got %.4f, want at most %.4f", top, limit)
	}
	t.Logf("%d forms in %v (%.0f forms/s); %d missed the information target; highest exposure %.3f",
		n, elapsed, n/elapsed.Seconds(), missed, top)
}

func BenchmarkAssembleLOFT(b *testing.B) {
	l := newLOFT(b)
	rng := rand.New(rand.NewPCG(1, 2))
	// Warm the exposure rates up to a steady state, as in operation.
	for range 500 {
		form, err := assembly.Assemble(l.pool, l.bp, l.rules, rng)
		if err != nil {
			b.Fatal(err)
		}
		l.record(form)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := assembly.Assemble(l.pool, l.bp, l.rules, rng); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "forms/s")
}
