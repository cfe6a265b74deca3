package psychometrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// CATStop is the state of an adaptive test: running, or the rule that ended
// it.
type CATStop int

const (
	// CATRunning means the test has not ended.
	CATRunning CATStop = iota
	// CATMaxItems means MaxItems items were administered.
	CATMaxItems
	// CATSETarget means the posterior SD fell to SETarget or below after at
	// least MinItems items.
	CATSETarget
	// CATExhausted means no eligible item was left in the bank.
	CATExhausted
)

// String returns the name of the state.
func (s CATStop) String() string {
	switch s {
	case CATRunning:
		return "running"
	case CATMaxItems:
		return "maximum items"
	case CATSETarget:
		return "SE target"
	case CATExhausted:
		return "bank exhausted"
	}
	return fmt.Sprintf("CATStop(%d)", int(s))
}

// CATSettings configures an adaptive test. The zero value is a
// maximum-information CAT with EAP scoring under a standard normal prior that
// starts at θ = 0, never repeats an item and ends when the bank runs out.
type CATSettings struct {
	// MinItems is the number of items administered before the SE rule may
	// end the test. Zero means 1.
	MinItems int
	// MaxItems ends the test when this many items have been administered.
	// Zero means no limit: the test ends by the SE rule or when the bank runs
	// out.
	MaxItems int
	// SETarget ends the test, once MinItems items have been administered,
	// when the posterior SD of θ is at or below it. Zero means no SE rule.
	SETarget float64
	// Randomesque is the number of most informative eligible items among
	// which the next item is drawn at random, to limit the exposure of the
	// best items (Kingsbury & Zara, 1989). Zero or 1 means the most
	// informative item (ties go to the lowest index).
	Randomesque int
	// Blueprint holds the target proportion of the test for each content
	// area; the proportions are normalised to sum to 1. Nil means no content
	// balancing. With a blueprint, items whose area has no positive target
	// are never administered.
	Blueprint map[string]float64
	// Available marks the items of the bank that may be administered. Nil
	// means all of them.
	Available []bool
	// StartTheta is the ability at which the first item is selected.
	StartTheta float64
	// Quadrature is the prior of θ for EAP scoring, its weights at its
	// nodes. The zero value means NormalQuadrature(61, 0, 1).
	Quadrature Quadrature
}

// CAT is a computerized adaptive test over an item bank: it selects each next
// item by maximum Fisher information at the current ability estimate, with
// optional randomesque exposure control and Kingsbury–Zara content balancing,
// scores by EAP after each response, and ends by a length or precision rule.
// Given the same bank, settings, random source and responses, it selects the
// same items. A CAT is not safe for concurrent use.
type CAT struct {
	bank     []Item3PL
	s        CATSettings
	rng      *rand.Rand
	minItems int
	maxItems int
	nodes    []float64
	// logPost is the log prior weight plus the log-likelihood of the
	// responses so far at each node; post is scratch for the posterior.
	logPost []float64
	post    []float64

	area    []int     // content area of each item: an index into target, or −1
	target  []float64 // normalised blueprint proportion of each area
	count   []int     // items administered in each area
	order   []int     // scratch: areas in order of selection
	topItem []int     // scratch: the most informative eligible items
	topInfo []float64

	avail []bool
	used  []bool
	admin []int
	resp  []float64
	est   Estimate
	stop  CATStop
}

// NewCAT returns an adaptive test over bank with settings s. areas gives the
// content area of each item of the bank; it may be nil when s.Blueprint is
// nil. rng is the source for randomesque selection and may be nil when
// s.Randomesque ≤ 1. NewCAT copies what it keeps of its arguments.
//
// NewCAT panics if bank is empty or an item has A not positive and finite, B
// not finite or C outside [0, 1); if areas is not nil and not of len(bank),
// or nil with a blueprint; if a blueprint proportion is negative, NaN or
// infinite, or none is positive; if s.Available is not nil and not of
// len(bank); if MinItems, MaxItems or Randomesque is negative, or MinItems
// exceeds a non-zero MaxItems; if SETarget is negative or NaN; if StartTheta
// is not finite; if Randomesque > 1 and rng is nil; or if s.Quadrature is
// invalid as for ThetaEAP.
func NewCAT(bank []Item3PL, areas []string, s CATSettings, rng *rand.Rand) *CAT {
	thetaCheckItems(bank)
	k := thetaCheckQuadrature(s.Quadrature)
	switch {
	case areas != nil && len(areas) != len(bank):
		panic("psychometrics: areas and bank differ in length")
	case s.Blueprint != nil && areas == nil:
		panic("psychometrics: blueprint without content areas")
	case s.Available != nil && len(s.Available) != len(bank):
		panic("psychometrics: available mask and bank differ in length")
	case s.MinItems < 0 || s.MaxItems < 0 || s.Randomesque < 0:
		panic("psychometrics: negative CAT setting")
	case s.MaxItems > 0 && s.MinItems > s.MaxItems:
		panic("psychometrics: MinItems exceeds MaxItems")
	case !(s.SETarget >= 0) || math.IsInf(s.SETarget, 1):
		panic("psychometrics: invalid SE target")
	case math.IsNaN(s.StartTheta) || math.IsInf(s.StartTheta, 0):
		panic("psychometrics: start θ not finite")
	case s.Randomesque > 1 && rng == nil:
		panic("psychometrics: randomesque selection needs a random source")
	}
	c := &CAT{
		bank:     slices.Clone(bank),
		s:        s,
		rng:      rng,
		minItems: max(s.MinItems, 1),
		maxItems: s.MaxItems,
		nodes:    make([]float64, k),
		logPost:  make([]float64, k),
		post:     make([]float64, k),
		area:     make([]int, len(bank)),
		topItem:  make([]int, 0, max(s.Randomesque, 1)),
		topInfo:  make([]float64, 0, max(s.Randomesque, 1)),
		avail:    make([]bool, len(bank)),
		used:     make([]bool, len(bank)),
	}
	size := min(len(bank), 128)
	if c.maxItems > 0 {
		size = min(c.maxItems, len(bank))
	}
	c.admin = make([]int, 0, size)
	c.resp = make([]float64, 0, size)
	c.s.Blueprint = nil
	c.s.Available = nil
	c.s.Quadrature = Quadrature{}
	for i := range k {
		x, w := thetaNode(s.Quadrature, i)
		c.nodes[i] = x
		c.logPost[i] = math.Log(w)
	}
	for j := range c.avail {
		c.avail[j] = s.Available == nil || s.Available[j]
	}
	c.setBlueprint(areas, s.Blueprint)
	c.est = c.posterior()
	return c
}

// setBlueprint indexes the content areas of the blueprint, in sorted order of
// their names so that ties break the same way on every run.
func (c *CAT) setBlueprint(areas []string, blueprint map[string]float64) {
	for j := range c.area {
		c.area[j] = -1
	}
	if blueprint == nil {
		return
	}
	names := make([]string, 0, len(blueprint))
	var sum float64
	for name, p := range blueprint {
		if !(p >= 0) || math.IsInf(p, 1) {
			panic("psychometrics: invalid blueprint proportion")
		}
		names = append(names, name)
		sum += p
	}
	if !(sum > 0) {
		panic("psychometrics: blueprint has no positive proportion")
	}
	slices.Sort(names)
	index := make(map[string]int, len(names))
	c.target = make([]float64, len(names))
	for i, name := range names {
		index[name] = i
		c.target[i] = blueprint[name] / sum
	}
	for j, a := range areas {
		if i, ok := index[a]; ok && c.target[i] > 0 {
			c.area[j] = i
		}
	}
	c.count = make([]int, len(names))
	c.order = make([]int, 0, len(names))
}

// Next returns the index in the bank of the next item to administer, or
// done = true and item = −1 when the test has ended; Stop then says why. The
// test ends when MaxItems (if positive) items have been administered; or when
// at least MinItems have been and SETarget is positive and the posterior SD is
// at or below it; or when no eligible item is left (eligible: available, not
// yet administered and, with a blueprint, in an area with a positive target).
//
// Otherwise Next selects by maximum information (Lord, 1980, ch. 10): at the
// current ability θ̂ — StartTheta before the first response, the EAP estimate
// after — it ranks the eligible items by Fisher information I_j(θ̂) and
// returns the most informative, or with Randomesque = n > 1 one drawn
// uniformly from the n most informative (Kingsbury & Zara, 1989). With a
// blueprint it first picks the content area furthest below its target
// (Kingsbury & Zara, 1989): with t items administered, n_a of them in area a
// with target proportion π_a, the area with the largest deficit
// (t + 1)·π_a − n_a, the count it should have after this item minus the count
// it has (ties to the larger target, then to the first name in sorted order),
// passing to the next area when one has no eligible item left; the item is
// then chosen within that area.
//
// Each call selects afresh, drawing from the random source when Randomesque
// > 1; call Record with the response before calling Next again. Next does not
// allocate.
func (c *CAT) Next() (item int, done bool) {
	t := len(c.admin)
	switch {
	case c.maxItems > 0 && t >= c.maxItems:
		c.stop = CATMaxItems
	case c.s.SETarget > 0 && t >= c.minItems && c.est.SE <= c.s.SETarget:
		c.stop = CATSETarget
	default:
		if item = c.selectItem(); item >= 0 {
			c.stop = CATRunning
			return item, false
		}
		c.stop = CATExhausted
	}
	return -1, true
}

// selectItem returns the next item, or −1 if none is eligible.
func (c *CAT) selectItem() int {
	theta := c.est.Theta
	if len(c.admin) == 0 {
		theta = c.s.StartTheta
	}
	if c.target == nil {
		return c.mostInformative(theta, -1)
	}
	next := float64(len(c.admin) + 1)
	c.order = c.order[:0]
	for a, p := range c.target {
		if p > 0 {
			c.order = append(c.order, a)
		}
	}
	deficit := func(a int) float64 { return next*c.target[a] - float64(c.count[a]) }
	// Insertion sort: few areas, and no allocation.
	for i := 1; i < len(c.order); i++ {
		for j := i; j > 0; j-- {
			a, b := c.order[j-1], c.order[j]
			da, db := deficit(a), deficit(b)
			if db > da || (db == da && c.target[b] > c.target[a]) {
				c.order[j-1], c.order[j] = b, a
				continue
			}
			break
		}
	}
	for _, a := range c.order {
		if item := c.mostInformative(theta, a); item >= 0 {
			return item
		}
	}
	return -1
}

// mostInformative returns the most informative eligible item at theta in
// area (any area if area < 0), or with randomesque selection one of the most
// informative; −1 if no item is eligible.
func (c *CAT) mostInformative(theta float64, area int) int {
	n := max(c.s.Randomesque, 1)
	top, info := c.topItem[:0], c.topInfo[:0]
	for j, it := range c.bank {
		if c.used[j] || !c.avail[j] || (area >= 0 && c.area[j] != area) || (c.target != nil && c.area[j] < 0) {
			continue
		}
		v := it.Info(theta)
		if len(top) == n && !(v > info[n-1]) {
			continue
		}
		if len(top) < n {
			top, info = append(top, j), append(info, v)
		}
		i := len(top) - 1
		for ; i > 0 && v > info[i-1]; i-- {
			top[i], info[i] = top[i-1], info[i-1]
		}
		top[i], info[i] = j, v
	}
	c.topItem, c.topInfo = top, info
	switch len(top) {
	case 0:
		return -1
	case 1:
		return top[0]
	}
	return top[c.rng.IntN(len(top))]
}

// Record records the 0/1 score of the person on bank item item and updates
// the EAP estimate, in O(nodes) time: the log-likelihood of the responses so
// far is kept at each quadrature node. The item need not be the one Next
// proposed, but must be available and not yet administered.
//
// Record panics if item is out of range, unavailable or already
// administered, or score is not 0 or 1.
func (c *CAT) Record(item int, score float64) {
	switch {
	case item < 0 || item >= len(c.bank):
		panic("psychometrics: item index out of range")
	case c.used[item]:
		panic("psychometrics: item already administered")
	case !c.avail[item]:
		panic("psychometrics: item not available")
	case score != 0 && score != 1:
		panic("psychometrics: score not 0 or 1")
	}
	c.used[item] = true
	c.admin = append(c.admin, item)
	c.resp = append(c.resp, score)
	if a := c.area[item]; a >= 0 {
		c.count[a]++
	}
	it := c.bank[item]
	for k, x := range c.nodes {
		c.logPost[k] += thetaLogProb(it, x, score == 1)
	}
	c.est = c.posterior()
}

// posterior returns the EAP estimate from logPost.
func (c *CAT) posterior() Estimate {
	copy(c.post, c.logPost)
	return thetaPosterior(c.nodes, c.post)
}

// Estimate returns the current EAP estimate of θ and its posterior SD (the
// prior mean and SD before any response).
func (c *CAT) Estimate() Estimate { return c.est }

// Administered returns the indices of the administered items, in order.
func (c *CAT) Administered() []int { return slices.Clone(c.admin) }

// Responses returns the recorded scores, in the order of Administered.
func (c *CAT) Responses() []float64 { return slices.Clone(c.resp) }

// Stop returns CATRunning, or the rule that ended the test at the last call
// of Next.
func (c *CAT) Stop() CATStop { return c.stop }
