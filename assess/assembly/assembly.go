// Package assembly builds test forms from an item pool. Its one entry point,
// [Assemble], performs linear-on-the-fly test assembly (LOFT): a fresh form
// for each candidate that meets the blueprint exactly, never puts two enemy
// items together, keeps over-exposed items off the form while it can and,
// where the items carry IRT parameters, matches a target test information
// curve within a tolerance.
//
// The package is pure code: it takes a pool and rules and returns a form. It
// performs no I/O, keeps no state between calls and draws random numbers only
// from the source the caller passes in, so the same inputs and source state
// always give the same form.
package assembly

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

// ErrInfeasible is returned, wrapped with the domain at fault, when a
// blueprint domain cannot be filled with items free of enemy conflicts.
var ErrInfeasible = errors.New("assembly: infeasible")

// Item is an item of the pool as assembly sees it.
type Item struct {
	// ID identifies the item; IDs are unique within a pool.
	ID string
	// Domain is the blueprint content domain of the item.
	Domain string
	// IRT holds the item's calibrated 3PL parameters, or nil if it is not
	// calibrated; an uncalibrated item contributes no information.
	IRT *psychometrics.Item3PL
	// Exposure is the proportion of recent forms the item was on, in [0, 1].
	Exposure float64
	// Enemies lists the IDs of items that must never share a form with this
	// one. The relation is symmetric: listing it on one side is enough. IDs
	// not in the pool are ignored.
	Enemies []string
	// Pretest marks an unscored item being tried out. Pretest items never
	// fill blueprint slots; they are seeded by Rules.Pretest.
	Pretest bool
}

// DomainTarget is the exact number of operational items a form takes from a
// content domain.
type DomainTarget struct {
	Domain string
	Count  int
}

// Blueprint is the content specification of a form: exact item counts per
// domain. A form's operational items are listed domain by domain in this
// order.
type Blueprint struct {
	Domains []DomainTarget
}

// Rules are the statistical and security constraints of assembly. The zero
// value means no exposure limit, no information target and no pretest items.
type Rules struct {
	// MaxExposure, when positive, makes items whose Exposure is at or above
	// it ineligible, unless a domain would otherwise be short: then the least
	// exposed of its ineligible items fill the remaining slots and the form
	// reports the relaxation. Zero means no limit.
	MaxExposure float64
	// TargetTheta and TargetInfo give a target test information curve: the
	// information the form should have at each θ point. Both nil means no
	// target; otherwise they have the same length and every target is
	// positive.
	TargetTheta []float64
	TargetInfo  []float64
	// Tolerance is the largest relative deviation |I(θ_k) − T_k| / T_k of the
	// form's information from the target, at any target point, for the form
	// to meet the target. Zero demands an exact match.
	Tolerance float64
	// Pretest is the number of pretest items seeded on the form in addition
	// to the blueprint's operational items.
	Pretest int
}

// Form is an assembled form.
type Form struct {
	// Items are the IDs of the operational (scored) items, domain by domain
	// in blueprint order.
	Items []string
	// Pretest are the IDs of the seeded pretest items, in the order drawn.
	Pretest []string
	// MeetsTarget reports whether MaxDeviation is within Rules.Tolerance; it
	// is true when Rules give no target.
	MeetsTarget bool
	// MaxDeviation is the largest relative deviation of the operational
	// items' test information from the target over the target points, or 0
	// without a target.
	MaxDeviation float64
	// Relaxed names the rules that had to be relaxed, in this order:
	// "MaxExposure: domain D" for each blueprint domain D that needed
	// over-exposed items, "MaxExposure: pretest" if pretest seeding did, and
	// "Pretest: seeded n of k" if fewer than Rules.Pretest pretest items
	// could be seeded.
	Relaxed []string
}

const (
	// bestFew is the number of best-fitting items among which each slot's
	// item is drawn when there is an information target.
	bestFew = 5
	// restarts bounds the number of times assembly starts over when a
	// domain cannot be filled.
	restarts = 20
	// maxSwaps bounds the number of swaps that repair the information curve.
	maxSwaps = 25
)

// Assemble returns a form drawn from pool that meets bp, following rules,
// with randomness from rng. It is a randomised greedy heuristic with repair,
// of the kind van der Linden (2005, Linear Models for Optimal Test Design,
// Springer, ch. 4) surveys as the practical alternative to integer
// programming for forms assembled on the fly:
//
//  1. Greedy construction. Domains are filled one after another, the
//     domain with the least slack (items minus count) first. Each slot takes
//     an item of its domain that is not yet on the form, not an enemy of one
//     that is, and whose choice leaves every domain at least as many such
//     items as it still needs (a one-step look-ahead). Without an
//     information target the item is drawn uniformly from the eligible ones.
//     With a target it is drawn uniformly from the bestFew (5) eligible items
//     that best fit the information still needed per remaining slot, the
//     normalised weighted absolute deviation heuristic of Luecht (1998,
//     Applied Psychological Measurement 22, 224–236): with n slots left,
//     current information I_k and target T_k at θ_k, item j scores
//     Σ_k |(T_k − I_k)/n − I_j(θ_k)| / T_k, lower being better; drawing
//     among the best few is the randomesque exposure control of Kingsbury &
//     Zara (1989). Over-exposed items are used only when a domain has no
//     other, least exposed first.
//  2. Restarts. If a domain runs out of items, construction starts over
//     with that domain moved first, up to 20 times.
//  3. Swap repair. If the information misses the tolerance, up to 25
//     swaps replace an operational item by an eligible item of the same
//     domain that keeps the form free of enemies, each time the swap that
//     most reduces Σ_k max(0, r_k − Tolerance)², where r_k is the relative
//     deviation at θ_k (ties: Σ_k r_k²), stopping when none improves it —
//     the improvement phase of Swanson & Stocking (1993, Applied
//     Psychological Measurement 17, 151–166). This is a local search: it can
//     stop short of a target the pool could meet (in the package's tests,
//     about 4 forms in 1,000 on a tolerance of 5%).
//  4. Pretest seeding. Rules.Pretest pretest items are drawn uniformly from
//     those with no enemy on the form, over-exposed ones only when needed.
//
// A form that misses the information target is still returned, with
// MeetsTarget false. Assemble returns an error wrapping ErrInfeasible, naming
// the domain, when a domain has fewer non-pretest items than its count, or
// when after the restarts a domain still cannot be filled with items free of
// enemy conflicts. The second is the verdict of a heuristic on a problem that
// is NP-hard in general (it contains maximum independent set), so it can in
// rare, contrived pools be wrong.
//
// The same pool, blueprint, rules and rng state always give the same form.
// Assemble panics if rng is nil; if item IDs repeat; if an Exposure is NaN or
// negative; if a calibrated item has A not positive and finite, B not finite
// or C outside [0, 1); if a blueprint domain repeats or has a negative count;
// if TargetTheta and TargetInfo differ in length, a θ is not finite or a
// target is not positive and finite; or if MaxExposure or Tolerance is
// negative or NaN, or Pretest is negative.
func Assemble(pool []Item, bp Blueprint, rules Rules, rng *rand.Rand) (Form, error) {
	a := newAssembler(pool, bp, rules, rng)
	for d, t := range bp.Domains {
		if n := len(a.byDomain[d]); n < t.Count {
			return Form{}, fmt.Errorf("%w: domain %q has %d operational items, the blueprint needs %d",
				ErrInfeasible, t.Domain, n, t.Count)
		}
	}
	order := make([]int, len(bp.Domains))
	for d := range order {
		order[d] = d
	}
	slices.SortStableFunc(order, func(x, y int) int {
		return cmp.Compare(len(a.byDomain[x])-bp.Domains[x].Count, len(a.byDomain[y])-bp.Domains[y].Count)
	})
	for attempt := 0; ; attempt++ {
		stuck := a.fill(order)
		if stuck < 0 {
			break
		}
		if attempt == restarts {
			t := bp.Domains[stuck]
			return Form{}, fmt.Errorf("%w: domain %q: cannot find %d items free of enemy conflicts with each other and the rest of the form",
				ErrInfeasible, t.Domain, t.Count)
		}
		i := slices.Index(order, stuck)
		copy(order[1:i+1], order[:i])
		order[0] = stuck
	}

	var f Form
	f.MeetsTarget = true
	if a.k > 0 {
		dev := a.improve()
		f.MaxDeviation = dev.max
		f.MeetsTarget = dev.max <= rules.Tolerance
	}
	f.Items = make([]string, 0, a.total)
	for d, chosen := range a.chosen {
		for _, i := range chosen {
			f.Items = append(f.Items, pool[i].ID)
		}
		if a.relaxed[d] {
			f.Relaxed = append(f.Relaxed, "MaxExposure: domain "+bp.Domains[d].Domain)
		}
	}
	f.Pretest, f.Relaxed = a.seedPretest(f.Relaxed)
	return f, nil
}

// assembler holds the state of one call to Assemble.
type assembler struct {
	pool  []Item
	rules Rules
	rng   *rand.Rand

	domain   []int     // blueprint domain of each item; −1 for pretest or unlisted items
	enemies  [][]int   // symmetric enemy lists, by pool index
	byDomain [][]int   // operational items of each domain, in pool order
	pretest  []int     // pretest items, in pool order
	counts   []int     // blueprint count of each domain
	total    int       // operational items on a form
	k        int       // number of target points
	info     []float64 // info[i*k+j]: information of item i at target point j

	// Construction state, reset by fill.
	onForm  []bool
	blocked []int   // enemies of each item on the form
	avail   []int   // items of each domain neither on the form nor blocked
	left    []int   // slots of each domain still to fill
	chosen  [][]int // operational items of each domain on the form
	tif     []float64
	relaxed []bool // domains that needed over-exposed items

	dec  []int // scratch for safe, all zero between calls
	cand []int // scratch: candidates for a uniform draw
	need []float64
}

func newAssembler(pool []Item, bp Blueprint, rules Rules, rng *rand.Rand) *assembler {
	switch {
	case rng == nil:
		panic("assembly: nil random source")
	case len(rules.TargetTheta) != len(rules.TargetInfo):
		panic("assembly: TargetTheta and TargetInfo differ in length")
	case !(rules.MaxExposure >= 0):
		panic("assembly: negative or NaN MaxExposure")
	case !(rules.Tolerance >= 0):
		panic("assembly: negative or NaN Tolerance")
	case rules.Pretest < 0:
		panic("assembly: negative Pretest")
	}
	for j, t := range rules.TargetTheta {
		if math.IsNaN(t) || math.IsInf(t, 0) {
			panic("assembly: target θ not finite")
		}
		if v := rules.TargetInfo[j]; !(v > 0) || math.IsInf(v, 1) {
			panic("assembly: target information not positive and finite")
		}
	}
	nd := len(bp.Domains)
	a := &assembler{
		pool:     pool,
		rules:    rules,
		rng:      rng,
		domain:   make([]int, len(pool)),
		enemies:  make([][]int, len(pool)),
		byDomain: make([][]int, nd),
		counts:   make([]int, nd),
		k:        len(rules.TargetTheta),
		onForm:   make([]bool, len(pool)),
		blocked:  make([]int, len(pool)),
		avail:    make([]int, nd),
		left:     make([]int, nd),
		chosen:   make([][]int, nd),
		relaxed:  make([]bool, nd),
		dec:      make([]int, nd),
		tif:      make([]float64, len(rules.TargetTheta)),
		need:     make([]float64, len(rules.TargetTheta)),
	}
	index := make(map[string]int, nd)
	for d, t := range bp.Domains {
		if t.Count < 0 {
			panic("assembly: negative blueprint count")
		}
		if _, dup := index[t.Domain]; dup {
			panic("assembly: blueprint domain " + t.Domain + " repeats")
		}
		index[t.Domain] = d
		a.counts[d] = t.Count
		a.total += t.Count
		a.chosen[d] = make([]int, 0, t.Count)
	}
	ids := make(map[string]int, len(pool))
	for i, it := range pool {
		if _, dup := ids[it.ID]; dup {
			panic("assembly: item ID " + it.ID + " repeats")
		}
		ids[it.ID] = i
		if !(it.Exposure >= 0) {
			panic("assembly: negative or NaN exposure")
		}
		if p := it.IRT; p != nil && (!(p.A > 0) || math.IsInf(p.A, 1) || math.IsNaN(p.B) || math.IsInf(p.B, 0) || !(p.C >= 0 && p.C < 1)) {
			panic("assembly: invalid 3PL parameters for item " + it.ID)
		}
		a.domain[i] = -1
		if it.Pretest {
			a.pretest = append(a.pretest, i)
		} else if d, ok := index[it.Domain]; ok {
			a.domain[i] = d
			a.byDomain[d] = append(a.byDomain[d], i)
		}
	}
	for i, it := range pool {
		for _, id := range it.Enemies {
			j, ok := ids[id]
			if !ok || j == i || slices.Contains(a.enemies[i], j) {
				continue
			}
			a.enemies[i] = append(a.enemies[i], j)
			a.enemies[j] = append(a.enemies[j], i)
		}
	}
	if a.k > 0 {
		a.info = make([]float64, len(pool)*a.k)
		for i, it := range pool {
			if it.IRT == nil || it.Pretest {
				continue
			}
			for j, t := range rules.TargetTheta {
				a.info[i*a.k+j] = it.IRT.Info(t)
			}
		}
	}
	return a
}

// overExposed reports whether item i is at or above the exposure limit.
func (a *assembler) overExposed(i int) bool {
	return a.rules.MaxExposure > 0 && a.pool[i].Exposure >= a.rules.MaxExposure
}

// available reports whether operational item i could still join the form.
func (a *assembler) available(i int) bool {
	return a.domain[i] >= 0 && !a.onForm[i] && a.blocked[i] == 0
}

// fill builds the operational part of a form from scratch, domain by domain
// in order. It returns −1 on success or the domain it could not fill.
func (a *assembler) fill(order []int) int {
	clear(a.onForm)
	clear(a.blocked)
	clear(a.tif)
	clear(a.relaxed)
	for d := range a.chosen {
		a.chosen[d] = a.chosen[d][:0]
		a.avail[d] = len(a.byDomain[d])
		a.left[d] = a.counts[d]
	}
	slots := a.total
	for _, d := range order {
		for a.left[d] > 0 {
			i := a.pick(d, slots)
			if i < 0 {
				return d
			}
			a.add(i)
			slots--
		}
	}
	return -1
}

// pick returns an item for the next slot of domain d, with slots operational
// slots left on the form, or −1 if the domain has none that keeps every
// domain fillable.
func (a *assembler) pick(d, slots int) int {
	for j := range a.k {
		a.need[j] = (a.rules.TargetInfo[j] - a.tif[j]) / float64(slots)
	}
	var (
		top      [bestFew]int
		topScore [bestFew]float64
		ntop     int
		least    = -1
	)
	a.cand = a.cand[:0]
	for _, i := range a.byDomain[d] {
		if !a.available(i) || !a.safe(i) {
			continue
		}
		if a.overExposed(i) {
			if least < 0 || a.pool[i].Exposure < a.pool[least].Exposure {
				least = i
			}
			continue
		}
		if a.k == 0 {
			a.cand = append(a.cand, i)
			continue
		}
		var s float64
		for j, need := range a.need {
			s += math.Abs(need-a.info[i*a.k+j]) / a.rules.TargetInfo[j]
		}
		if ntop == bestFew && s >= topScore[ntop-1] {
			continue
		}
		p := min(ntop, bestFew-1)
		for p > 0 && topScore[p-1] > s {
			top[p], topScore[p] = top[p-1], topScore[p-1]
			p--
		}
		top[p], topScore[p] = i, s
		ntop = min(ntop+1, bestFew)
	}
	switch {
	case ntop > 0:
		return top[a.rng.IntN(ntop)]
	case len(a.cand) > 0:
		return a.cand[a.rng.IntN(len(a.cand))]
	case least >= 0:
		a.relaxed[d] = true
		return least
	}
	return -1
}

// safe reports whether adding available item i leaves every domain with at
// least as many available items as slots still to fill.
func (a *assembler) safe(i int) bool {
	d := a.domain[i]
	a.dec[d]++
	for _, e := range a.enemies[i] {
		if a.available(e) {
			a.dec[a.domain[e]]++
		}
	}
	ok := a.avail[d]-a.dec[d] >= a.left[d]-1
	for _, e := range a.enemies[i] {
		if ed := a.domain[e]; ed >= 0 && ed != d && a.avail[ed]-a.dec[ed] < a.left[ed] {
			ok = false
		}
	}
	a.dec[d] = 0
	for _, e := range a.enemies[i] {
		if ed := a.domain[e]; ed >= 0 {
			a.dec[ed] = 0
		}
	}
	return ok
}

// add puts operational item i on the form.
func (a *assembler) add(i int) {
	d := a.domain[i]
	a.onForm[i] = true
	a.avail[d]--
	a.left[d]--
	a.chosen[d] = append(a.chosen[d], i)
	for _, e := range a.enemies[i] {
		if a.available(e) {
			a.avail[a.domain[e]]--
		}
		a.blocked[e]++
	}
	for j := range a.k {
		a.tif[j] += a.info[i*a.k+j]
	}
}

// deviation is the fit of an information curve to the target, from the
// relative deviations r_k = |I(θ_k) − T_k| / T_k.
type deviation struct {
	max    float64 // max_k r_k
	excess float64 // Σ_k max(0, r_k − tolerance)²
	sq     float64 // Σ_k r_k²
}

// less orders fits for the swap search: by excess over the tolerance, then
// by the sum of squares.
func (x deviation) less(y deviation) bool {
	return x.excess < y.excess || (x.excess == y.excess && x.sq < y.sq)
}

// deviation returns the fit of tif, or of tif − info(out) + info(in) when
// out and in are not −1.
func (a *assembler) deviation(out, in int) deviation {
	var dev deviation
	for j, t := range a.rules.TargetInfo {
		v := a.tif[j]
		if out >= 0 {
			v += a.info[in*a.k+j] - a.info[out*a.k+j]
		}
		r := math.Abs(v-t) / t
		dev.max = max(dev.max, r)
		dev.sq += r * r
		if e := r - a.rules.Tolerance; e > 0 {
			dev.excess += e * e
		}
	}
	return dev
}

// improve swaps operational items for better-fitting ones of the same domain
// until the form is within tolerance, no swap improves it or maxSwaps swaps
// have been made, and returns the final fit.
func (a *assembler) improve() deviation {
	cur := a.deviation(-1, -1)
	for range maxSwaps {
		if cur.max <= a.rules.Tolerance {
			break
		}
		best, bd, bp, bin := cur, -1, -1, -1
		for d, chosen := range a.chosen {
			for p, out := range chosen {
				for _, in := range a.byDomain[d] {
					if a.onForm[in] || a.overExposed(in) {
						continue
					}
					if a.blocked[in] > 0 && (a.blocked[in] > 1 || !slices.Contains(a.enemies[in], out)) {
						continue
					}
					if dev := a.deviation(out, in); dev.less(best) {
						best, bd, bp, bin = dev, d, p, in
					}
				}
			}
		}
		if bd < 0 {
			break
		}
		out := a.chosen[bd][bp]
		a.onForm[out] = false
		for _, e := range a.enemies[out] {
			a.blocked[e]--
		}
		a.onForm[bin] = true
		for _, e := range a.enemies[bin] {
			a.blocked[e]++
		}
		for j := range a.k {
			a.tif[j] += a.info[bin*a.k+j] - a.info[out*a.k+j]
		}
		a.chosen[bd][bp] = bin
		cur = best
	}
	return cur
}

// seedPretest draws the pretest items and returns their IDs with relaxed
// extended by any rule it had to relax.
func (a *assembler) seedPretest(relaxed []string) ([]string, []string) {
	want := a.rules.Pretest
	if want == 0 {
		return nil, relaxed
	}
	ids := make([]string, 0, want)
	overExposed := false
	for len(ids) < want {
		a.cand = a.cand[:0]
		least := -1
		for _, i := range a.pretest {
			if a.onForm[i] || a.blocked[i] > 0 {
				continue
			}
			if a.overExposed(i) {
				if least < 0 || a.pool[i].Exposure < a.pool[least].Exposure {
					least = i
				}
				continue
			}
			a.cand = append(a.cand, i)
		}
		i := least
		if len(a.cand) > 0 {
			i = a.cand[a.rng.IntN(len(a.cand))]
		} else if i >= 0 {
			overExposed = true
		} else {
			break
		}
		a.onForm[i] = true
		for _, e := range a.enemies[i] {
			a.blocked[e]++
		}
		ids = append(ids, a.pool[i].ID)
	}
	if overExposed {
		relaxed = append(relaxed, "MaxExposure: pretest")
	}
	if len(ids) < want {
		relaxed = append(relaxed, fmt.Sprintf("Pretest: seeded %d of %d", len(ids), want))
	}
	return ids, relaxed
}
