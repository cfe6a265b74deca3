package psychometrics

import (
	"math"
	"math/rand/v2"
	"slices"
)

// CATSimSettings configures SimulateCAT. The zero value simulates the zero
// CATSettings (a maximum-information CAT that runs until the bank is
// exhausted) without exposure control and compares it with fixed forms of
// every length up to the bank size.
type CATSimSettings struct {
	// CAT configures each simulated session. Its Available mask, if not nil,
	// removes items from the bank for every session and for the fixed forms.
	CAT CATSettings
	// MaxExposure is the largest exposure rate r_max (the share of examinees
	// who see an item) allowed: Sympson–Hetter eligibility keeps rates near
	// it and a count cap keeps every rate at or below it (see SimulateCAT).
	// Zero or 1 means no exposure control.
	MaxExposure float64
	// FixedMaxItems is the length of the longest fixed form compared. Zero
	// means every item of the bank that may be administered.
	FixedMaxItems int
}

// CATSimExaminee is one simulated examinee: the true ability, the adaptive
// test they took and its final EAP estimate.
type CATSimExaminee struct {
	Theta     float64   // true ability
	Estimate  Estimate  // final EAP estimate and posterior SD
	Items     []int     // bank indices administered, in order
	Responses []float64 // 0/1 scores, in the order of Items
	Stop      CATStop   // the rule that ended the test
}

// CATSimStats summarises the precision of one design (the CAT, or a fixed
// form of one length) over the simulated examinees.
type CATSimStats struct {
	// MeanItems, MedianItems and P90Items are the mean, median and 90th
	// percentile of test length; quantiles are nearest-rank (the smallest
	// length that at least that share of examinees do not exceed).
	MeanItems, MedianItems, P90Items float64
	// SETargetRate is the share of examinees whose final posterior SD is at
	// or below the SE target of the CAT settings; NaN without an SE target.
	SETargetRate float64
	// RMSSE is the root mean square posterior SD, √mean(SE²).
	RMSSE float64
	// Reliability is the empirical marginal reliability of the EAP scores,
	//
	//	ρ = var(θ̂) / (var(θ̂) + mean(SE²))
	//
	// (the empirical reliability of R's mirt::empirical_rxx; Chalmers, 2012),
	// variances with divisor n. For
	// EAP under the true model var(θ̂) + E[SE²] = var(θ), so ρ estimates
	// 1 − E[SE²]/var(θ) and the squared correlation of θ̂ with θ.
	Reliability float64
	// Bias is mean(θ̂ − θ) and RMSE is √mean((θ̂ − θ)²), against the true θ.
	Bias, RMSE float64
	// MaxExposure is the largest share of examinees who saw any one item: 1
	// for a fixed form.
	MaxExposure float64
}

// CATSimFixed is the precision of the fixed form of one length.
type CATSimFixed struct {
	Length int
	CATSimStats
}

// CATSimResult is the outcome of SimulateCAT.
type CATSimResult struct {
	Examinees []CATSimExaminee
	// Exposure is, for each item of the bank, the share of examinees whose
	// CAT administered it.
	Exposure []float64
	// CAT summarises the adaptive tests.
	CAT CATSimStats
	// FixedOrder lists bank indices in the order the fixed forms take them:
	// the fixed form of length L is FixedOrder[:L].
	FixedOrder []int
	// Fixed[L−1] summarises the fixed form of length L.
	Fixed []CATSimFixed
	// EqualLength is the length of the shortest fixed form whose reliability
	// is at least the CAT's, or 0 if no fixed form up to the longest
	// compared reaches it.
	EqualLength int
}

// SimulateCAT runs one simulated examinee of each true ability in theta
// through an adaptive test over bank (NewCAT with s.CAT; areas as for NewCAT)
// and, on the same responses, through nested fixed forms of every length, so
// that adaptive and fixed testing can be compared at equal reliability.
//
// Responses follow the 3PL model: for examinee i, one uniform u_ij from rng
// is drawn for every item j of the bank, in bank order, and the examinee
// answers item j correctly when u_ij < P_j(θ_i), whichever design
// administers it (common random numbers, so designs differ only by the items
// they use). Both designs are scored by EAP under the CAT's prior.
//
// Exposure control (MaxExposure = r_max in (0, 1)) is the item-eligibility
// form of the Sympson–Hetter method (Sympson & Hetter, 1985) with
// probabilities that adapt as the simulation runs (van der Linden &
// Veldkamp, 2004): before examinee t + 1, item j is eligible with probability
//
//	P(E_j) = min(1, r_max · ε_j / α_j)
//
// where ε_j is the number of the first t examinees for whom j was eligible and
// α_j the number to whom it was administered (P(E_j) = 1 while α_j = 0): the
// exposure rate P(A_j) = P(A_j | E_j)·P(E_j) is then r_max at most, with
// P(A_j | E_j) estimated by α_j / ε_j. Because that is a rate only in
// expectation, and the largest of many rates drifts above its expectation,
// an item is also ineligible once it has been administered to
// ⌊r_max · len(theta)⌋ examinees, so that every rate in Exposure is at most
// r_max. The cap must be feasible: the rates sum to the mean test length, so
// r_max times the number of items must exceed it with room to spare, or
// sessions end early with CATExhausted. After the response uniforms of an
// examinee, one uniform per item, in bank order, decides eligibility;
// ineligible items are unavailable for that examinee's CAT. Randomesque
// selection (s.CAT.Randomesque) draws from the same rng. The same rng state
// and arguments give the same result.
//
// The fixed forms are those a program would assemble from the bank to
// measure the population well under the same blueprint: one sequence of items
// is built by the CAT's content-balancing rule — item t + 1 comes from the
// area with the largest deficit (t + 1)·π_a − n_a (Kingsbury & Zara, 1989) —
// and within the area the item of greatest expected information over the
// prior, Σ_k w_k I_j(θ_k) (the population as the target of the test
// information function; Birnbaum, 1968), ties to the lower index; the form of
// length L is its first L items.
//
// SimulateCAT panics if theta is empty or holds a value that is not finite,
// if MaxExposure is not in [0, 1], if FixedMaxItems is negative, or in the
// cases NewCAT panics.
func SimulateCAT(rng *rand.Rand, bank []Item3PL, areas []string, theta []float64, s CATSimSettings) CATSimResult {
	switch {
	case len(theta) == 0:
		panic("psychometrics: no examinees")
	case !(s.MaxExposure >= 0 && s.MaxExposure <= 1):
		panic("psychometrics: MaxExposure outside [0, 1]")
	case s.FixedMaxItems < 0:
		panic("psychometrics: negative FixedMaxItems")
	case rng == nil:
		panic("psychometrics: simulation needs a random source")
	}
	for _, t := range theta {
		if math.IsNaN(t) || math.IsInf(t, 0) {
			panic("psychometrics: theta not finite")
		}
	}
	// NewCAT checks the bank, areas and settings.
	NewCAT(bank, areas, s.CAT, rng)

	n, k := len(theta), len(bank)
	base := s.CAT.Available
	control := s.MaxExposure > 0 && s.MaxExposure < 1
	order := catSimFixedOrder(bank, areas, s.CAT)
	if s.FixedMaxItems > 0 && s.FixedMaxItems < len(order) {
		order = order[:s.FixedMaxItems]
	}
	nodes, logPrior := catSimPrior(s.CAT.Quadrature)
	fixed := make([]catSimAcc, len(order))
	lp := make([]float64, len(nodes))
	post := make([]float64, len(nodes))

	res := CATSimResult{Examinees: make([]CATSimExaminee, n), Exposure: make([]float64, k), FixedOrder: order}
	cat := catSimAcc{lengths: make([]int, 0, n)}
	admin := make([]int, k)    // α_j
	eligible := make([]int, k) // ε_j
	u := make([]float64, k)
	avail := make([]bool, k)
	settings := s.CAT
	for i, th := range theta {
		for j := range u {
			u[j] = rng.Float64()
		}
		for j := range avail {
			avail[j] = base == nil || base[j]
			if !control {
				continue
			}
			p := 1.0
			if admin[j] > 0 {
				p = min(1, s.MaxExposure*float64(eligible[j])/float64(admin[j]))
			}
			if rng.Float64() >= p || float64(admin[j]+1) > s.MaxExposure*float64(n) {
				avail[j] = false
			}
			if avail[j] {
				eligible[j]++
			}
		}
		settings.Available = avail
		c := NewCAT(bank, areas, settings, rng)
		for {
			item, done := c.Next()
			if done {
				break
			}
			var score float64
			if u[item] < bank[item].P(th) {
				score = 1
			}
			c.Record(item, score)
			admin[item]++
		}
		est := c.Estimate()
		res.Examinees[i] = CATSimExaminee{Theta: th, Estimate: est, Items: c.Administered(), Responses: c.Responses(), Stop: c.Stop()}
		cat.add(th, est, s.CAT.SETarget)
		cat.lengths = append(cat.lengths, len(res.Examinees[i].Items))

		copy(lp, logPrior)
		for l, j := range order {
			correct := u[j] < bank[j].P(th)
			for q, x := range nodes {
				lp[q] += thetaLogProb(bank[j], x, correct)
			}
			copy(post, lp)
			fixed[l].add(th, thetaPosterior(nodes, post), s.CAT.SETarget)
		}
	}
	for j, a := range admin {
		res.Exposure[j] = float64(a) / float64(n)
	}
	res.CAT = cat.stats(s.CAT.SETarget, 0)
	res.CAT.MaxExposure = slices.Max(res.Exposure)
	res.Fixed = make([]CATSimFixed, len(order))
	for l := range fixed {
		res.Fixed[l] = CATSimFixed{Length: l + 1, CATSimStats: fixed[l].stats(s.CAT.SETarget, l+1)}
		res.Fixed[l].MaxExposure = 1
		if res.EqualLength == 0 && res.Fixed[l].Reliability >= res.CAT.Reliability {
			res.EqualLength = l + 1
		}
	}
	return res
}

// catSimPrior returns the nodes of quadrature q (the default N(0, 1) one if
// zero) and the log of its weights.
func catSimPrior(q Quadrature) (nodes, logw []float64) {
	k := thetaCheckQuadrature(q)
	nodes, logw = make([]float64, k), make([]float64, k)
	for i := range k {
		x, w := thetaNode(q, i)
		nodes[i], logw[i] = x, math.Log(w)
	}
	return nodes, logw
}

// catSimFixedOrder returns the order in which the fixed forms take the items:
// content area by the Kingsbury–Zara deficit, then greatest information
// expected over the prior.
func catSimFixedOrder(bank []Item3PL, areas []string, s CATSettings) []int {
	nodes, logw := catSimPrior(s.Quadrature)
	value := make([]float64, len(bank))
	for j, it := range bank {
		for q, x := range nodes {
			value[j] += math.Exp(logw[q]) * it.Info(x)
		}
	}
	// A CAT over the bank with the same blueprint and availability does the
	// area bookkeeping; the item within the area is chosen here.
	c := NewCAT(bank, areas, CATSettings{Blueprint: s.Blueprint, Available: s.Available}, nil)
	eligible := func(j int) bool {
		return !c.used[j] && c.avail[j] && (c.target == nil || c.area[j] >= 0)
	}
	var order []int
	for {
		best := -1
		areaOrder := []int{-1}
		if c.target != nil {
			areaOrder = c.areasByDeficit()
		}
		for _, a := range areaOrder {
			for j := range bank {
				if eligible(j) && (a < 0 || c.area[j] == a) && (best < 0 || value[j] > value[best]) {
					best = j
				}
			}
			if best >= 0 {
				break
			}
		}
		if best < 0 {
			return order
		}
		order = append(order, best)
		c.used[best] = true
		c.admin = append(c.admin, best)
		if a := c.area[best]; a >= 0 {
			c.count[a]++
		}
	}
}

// areasByDeficit returns the content areas in the order selectItem tries
// them.
func (c *CAT) areasByDeficit() []int {
	next := float64(len(c.admin) + 1)
	var order []int
	for a, p := range c.target {
		if p > 0 {
			order = append(order, a)
		}
	}
	deficit := func(a int) float64 { return next*c.target[a] - float64(c.count[a]) }
	slices.SortStableFunc(order, func(a, b int) int {
		da, db := deficit(a), deficit(b)
		switch {
		case da > db || (da == db && c.target[a] > c.target[b]):
			return -1
		case db > da || (da == db && c.target[b] > c.target[a]):
			return 1
		}
		return 0
	})
	return order
}

// catSimAcc accumulates the statistics of one design over examinees; it
// keeps the test lengths only when they vary (the CAT).
type catSimAcc struct {
	n                       int
	sumHat, sumHat2, sumSE2 float64
	sumErr, sumErr2         float64
	reached                 int
	lengths                 []int
}

func (a *catSimAcc) add(theta float64, est Estimate, target float64) {
	a.n++
	a.sumHat += est.Theta
	a.sumHat2 += est.Theta * est.Theta
	a.sumSE2 += est.SE * est.SE
	d := est.Theta - theta
	a.sumErr += d
	a.sumErr2 += d * d
	if target > 0 && est.SE <= target {
		a.reached++
	}
}

// stats returns the summary; the length statistics are those of a.lengths,
// or all equal to length when a.lengths is nil.
func (a *catSimAcc) stats(target float64, length int) CATSimStats {
	n := float64(a.n)
	mean := a.sumHat / n
	varHat := max(a.sumHat2/n-mean*mean, 0)
	ms := a.sumSE2 / n
	s := CATSimStats{
		RMSSE:        math.Sqrt(ms),
		Reliability:  varHat / (varHat + ms),
		Bias:         a.sumErr / n,
		RMSE:         math.Sqrt(a.sumErr2 / n),
		SETargetRate: math.NaN(),
		MeanItems:    float64(length),
		MedianItems:  float64(length),
		P90Items:     float64(length),
	}
	if target > 0 {
		s.SETargetRate = float64(a.reached) / n
	}
	if a.lengths != nil {
		lengths := slices.Clone(a.lengths)
		slices.Sort(lengths)
		var sum int
		for _, l := range lengths {
			sum += l
		}
		s.MeanItems = float64(sum) / n
		s.MedianItems = float64(catSimNearestRank(lengths, 0.5))
		s.P90Items = float64(catSimNearestRank(lengths, 0.9))
	}
	return s
}

// catSimNearestRank returns the nearest-rank p-quantile of sorted xs: the
// smallest x with at least a share p of xs at or below it.
func catSimNearestRank(xs []int, p float64) int {
	r := int(math.Ceil(p*float64(len(xs)))) - 1
	return xs[max(r, 0)]
}
