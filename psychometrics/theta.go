package psychometrics

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors for ability (θ) estimates that do not exist.
var (
	// ErrExtremeScore is returned when a score is extreme, so that no finite
	// θ reproduces it: a response pattern with every administered item
	// answered correctly or every one incorrectly (ThetaMLE), or a true score
	// at or beyond an asymptote of the test characteristic curve, Σ_j c_j or
	// the number of items (ThetaForTrueScore).
	ErrExtremeScore = errors.New("psychometrics: extreme score")
	// ErrNoFiniteTheta is returned when a score that is not extreme still has
	// no finite estimate: no item was administered, or under the 3PL the
	// likelihood (or Warm's weighted likelihood) keeps increasing toward the
	// end of the search range [−20, 20] — a pattern that looks like guessing
	// can be more likely at θ = −∞ than anywhere else.
	ErrNoFiniteTheta = errors.New("psychometrics: no finite ability estimate")
)

// Estimate is an estimate of a person's ability θ and its standard error. For
// EAP it is the posterior mean and the posterior standard deviation.
type Estimate struct {
	Theta float64
	SE    float64
}

// ThetaEstimator names the estimator that produced a θ, for statistics, such
// as PersonFitLzStar, whose null distribution depends on it.
type ThetaEstimator int

const (
	// MaximumLikelihood is the maximum likelihood estimator (ThetaMLE).
	MaximumLikelihood ThetaEstimator = iota + 1
	// WeightedLikelihood is Warm's (1989) weighted likelihood estimator
	// (ThetaWLE).
	WeightedLikelihood
)

// String returns "ML" or "WL".
func (e ThetaEstimator) String() string {
	switch e {
	case MaximumLikelihood:
		return "ML"
	case WeightedLikelihood:
		return "WL"
	}
	return fmt.Sprintf("ThetaEstimator(%d)", int(e))
}

// The search range and grid of θ for the estimators whose objective may have
// several local maxima (the 3PL likelihood; Warm's weighted likelihood).
const (
	thetaSearchBound = 20
	thetaGridStep    = 0.2
	// thetaStackNodes is the number of quadrature nodes ThetaEAP handles
	// without allocating.
	thetaStackNodes = 128
)

// ThetaMLE returns the maximum likelihood estimate of θ for one person with
// 0/1 responses resp to items (resp[j] is the score on items[j]; NaN means not
// administered, and the item is left out), the θ that maximises
//
//	l(θ) = Σ_j [x_j ln P_j(θ) + (1 − x_j) ln Q_j(θ)],  Q = 1 − P,
//
// that is, the root of the score equation Σ_j (x_j − P_j) P′_j / (P_j Q_j) = 0
// (Lord, 1980, ch. 4; Hambleton, Swaminathan & Rogers, 1991, ch. 3). SE is
// the asymptotic standard error 1/√I(θ̂), with I the test (Fisher)
// information of the administered items (Lord, 1980, eq. 5-6).
//
// The root is found by safeguarded Newton–Raphson (Press et al., 2007, §9.4,
// rtsafe): a Newton step on the score with the observed information, replaced
// by bisection whenever it would leave the current bracket or converge too
// slowly. Under the 2PL and Rasch models (every C zero) the log-likelihood is
// strictly concave, so the bracket is found by stepping out from θ = 0 and
// the root is unique. Under the 3PL the likelihood can have several local
// maxima: the score is tabulated on a grid of step 0.2 (finer for A > 2.5)
// over [−20, 20], every sign change from + to − is refined, and the largest
// local maximum is returned; if the likelihood is higher at an end of the
// range, toward which it is still increasing, there is no finite maximum.
//
// ThetaMLE returns an error wrapping ErrExtremeScore if every administered
// item was answered correctly or every one incorrectly (the likelihood is then
// monotone and θ̂ = ±∞; use ThetaWLE or ThetaEAP), and ErrNoFiniteTheta if no
// item was administered or, under the 3PL, the likelihood has no maximum
// within [−20, 20]. It panics if items is empty, len(resp) ≠ len(items), a
// response is not 0, 1 or NaN, or an item has A not positive and finite, B not
// finite or C outside [0, 1).
func ThetaMLE(items []Item3PL, resp []float64) (Estimate, error) {
	n, correct := thetaCheck(items, resp)
	switch {
	case n == 0:
		return Estimate{}, fmt.Errorf("%w: no item administered", ErrNoFiniteTheta)
	case correct == 0:
		return Estimate{}, fmt.Errorf("%w: all %d administered items answered incorrectly", ErrExtremeScore, n)
	case correct == n:
		return Estimate{}, fmt.Errorf("%w: all %d administered items answered correctly", ErrExtremeScore, n)
	}
	obj := thetaObjective{items: items, resp: resp}
	var theta float64
	var ok bool
	if thetaNoGuessing(items) {
		if theta, ok = obj.concaveMax(); !ok {
			return Estimate{}, fmt.Errorf("%w: the likelihood has no maximum within [−2048, 2048]", ErrNoFiniteTheta)
		}
	} else if theta, ok = obj.globalMax(); !ok {
		return Estimate{}, fmt.Errorf("%w: the likelihood has no maximum within [−%d, %d]", ErrNoFiniteTheta, thetaSearchBound, thetaSearchBound)
	}
	return Estimate{Theta: theta, SE: 1 / math.Sqrt(thetaInformation(items, resp, theta))}, nil
}

// ThetaWLE returns Warm's (1989) weighted likelihood estimate of θ for one
// person with 0/1 responses resp to items (NaN means not administered, and the
// item is left out): the root of Warm's estimating equation
//
//	Σ_j (x_j − P_j) P′_j / (P_j Q_j) + J(θ) / (2 I(θ)) = 0,
//	I(θ) = Σ_j P′_j² / (P_j Q_j),  J(θ) = Σ_j P′_j P″_j / (P_j Q_j)
//
// (Warm, 1989), the maximum of the weighted likelihood L(θ)·w(θ) with
// w′/w = J/(2I). The correction removes the first-order bias of the MLE and
// gives finite estimates for zero and perfect scores. Under the
// Rasch model and the 2PL, w = √I and the WLE is the mode of the posterior
// under Jeffreys' prior; under the 3PL it is not (Magis & Raîche, 2012), and
// ln w = ∫ J/(2I) dθ is computed numerically.
//
// SE is 1/√I(θ̂), the asymptotic standard error of the MLE evaluated at the
// WLE, as in Warm (1989) and most programs (the WLE and MLE share their
// asymptotic variance).
//
// The estimating equation can have several roots, even under the Rasch
// model, so its left side is tabulated on a grid of step 0.2 (finer for
// A > 2.5) over [−20, 20], every sign change from + to − is refined by
// safeguarded Newton–Raphson, and the root with the largest weighted
// likelihood is returned (ln w accumulated along the grid by the cubic
// Hermite rule). The left side is positive as θ → −∞ and negative as θ → +∞
// for every pattern, so a finite WLE always exists, but with small A it can
// lie beyond the search range.
//
// ThetaWLE returns an error wrapping ErrNoFiniteTheta if no item was
// administered or the weighted likelihood has no maximum within [−20, 20]. It
// panics if items is empty, len(resp) ≠ len(items), a response is not 0, 1 or
// NaN, or an item has A not positive and finite, B not finite or C outside
// [0, 1).
func ThetaWLE(items []Item3PL, resp []float64) (Estimate, error) {
	if n, _ := thetaCheck(items, resp); n == 0 {
		return Estimate{}, fmt.Errorf("%w: no item administered", ErrNoFiniteTheta)
	}
	obj := thetaObjective{items: items, resp: resp, weighted: true}
	theta, ok := obj.globalMax()
	if !ok {
		return Estimate{}, fmt.Errorf("%w: the weighted likelihood has no maximum within [−%d, %d]", ErrNoFiniteTheta, thetaSearchBound, thetaSearchBound)
	}
	return Estimate{Theta: theta, SE: 1 / math.Sqrt(thetaInformation(items, resp, theta))}, nil
}

// ThetaEAP returns the expected a posteriori (EAP) estimate of θ for one
// person with 0/1 responses resp to items (NaN means not administered, and the
// item is left out): the mean and standard deviation of the posterior over the
// quadrature q, whose weights w_k at nodes θ_k are the prior,
//
//	π_k   = w_k L(θ_k) / Σ_m w_m L(θ_m),  L(θ) = Π_j P_j(θ)^x_j Q_j(θ)^(1−x_j)
//	Theta = Σ_k π_k θ_k
//	SE    = √(Σ_k π_k (θ_k − Theta)²)
//
// (Bock & Mislevy, 1982). The weights need not sum to 1. The zero Quadrature
// means NormalQuadrature(61, 0, 1), a standard normal prior. The estimate
// exists for every response pattern, including zero and perfect scores and no
// responses at all (the prior mean and SD), and is shrunk toward the prior
// mean. ThetaEAP allocates nothing for up to 128 nodes.
//
// ThetaEAP panics if items is empty, len(resp) ≠ len(items), a response is
// not 0, 1 or NaN, an item has A not positive and finite, B not finite or C
// outside [0, 1), or q has no nodes but is not the zero Quadrature, nodes and
// weights of different lengths, a NaN node, a negative or NaN weight, or no
// positive weight.
func ThetaEAP(items []Item3PL, resp []float64, q Quadrature) Estimate {
	thetaCheck(items, resp)
	k := thetaCheckQuadrature(q)
	var buf [thetaStackNodes]float64
	var lp []float64
	if k <= len(buf) {
		lp = buf[:k]
	} else {
		lp = make([]float64, k)
	}
	for i := range lp {
		// The likelihood as a product, with its binary exponent kept apart
		// so that long tests do not underflow: one exponential per item.
		x, prod := thetaNode(q, i)
		var exp2 int
		for j, it := range items {
			v := resp[j]
			if math.IsNaN(v) {
				continue
			}
			s, t := thetaLogistic(it.A * (x - it.B))
			if v == 1 {
				prod *= it.C + (1-it.C)*s
			} else {
				prod *= (1 - it.C) * t
			}
			if prod < 0x1p-500 {
				var e int
				prod, e = math.Frexp(prod)
				exp2 += e
			}
		}
		lp[i] = math.Log(prod) + float64(exp2)*math.Ln2
	}
	return thetaPosterior(q.Nodes, lp)
}

// CSEM returns the conditional standard error of measurement of the maximum
// likelihood estimate at theta, 1/√I(θ) with I the test information (Lord,
// 1980, eq. 5-6; Hambleton, Swaminathan & Rogers, 1991, ch. 6). It is +Inf
// where the information is zero.
func CSEM(items []Item3PL, theta float64) float64 {
	return 1 / math.Sqrt(TestInformation(items, theta))
}

// CurvePoint is one point of a test's curves: at Theta, the test information
// I(θ), the test characteristic curve τ(θ) (expected raw score) and the
// conditional standard error of measurement 1/√I(θ).
type CurvePoint struct {
	Theta       float64
	Information float64
	TrueScore   float64
	CSEM        float64
}

// Curves tabulates the test information (TestInformation), the test
// characteristic curve (TrueScore) and the conditional standard error of
// measurement (CSEM) of items at each θ of thetas, in order (Lord, 1980, chs.
// 4–5; Hambleton, Swaminathan & Rogers, 1991, ch. 6).
//
// Curves panics if items or thetas is empty.
func Curves(items []Item3PL, thetas []float64) []CurvePoint {
	if len(items) == 0 {
		panic("psychometrics: no items")
	}
	if len(thetas) == 0 {
		panic("psychometrics: no θ values")
	}
	out := make([]CurvePoint, len(thetas))
	for i, t := range thetas {
		info := TestInformation(items, t)
		out[i] = CurvePoint{Theta: t, Information: info, TrueScore: TrueScore(items, t), CSEM: 1 / math.Sqrt(info)}
	}
	return out
}

// ThetaForTrueScore returns the θ at which the test characteristic curve of
// items equals score, the root of τ(θ) = Σ_j P_j(θ) = score, as used by IRT
// true-score equating and raw-to-θ conversion tables (Lord, 1980, ch. 13;
// Kolen & Brennan, 2014, ch. 6). Since τ increases strictly from Σ_j c_j (as
// θ → −∞) to n = len(items) (as θ → +∞), the root is unique; it is bracketed by
// stepping out from θ = 0 and found by safeguarded Newton–Raphson with
// τ′(θ) = Σ_j P′_j(θ).
//
// ThetaForTrueScore returns an error wrapping ErrExtremeScore if score ≤ Σ_j c_j
// or score ≥ n (no finite θ; Kolen & Brennan discuss extrapolations for such
// scores), or if score is so close to an asymptote that no θ in [−2048, 2048]
// brackets it, and ErrInvalidScore if score is NaN. It panics if items is
// empty or an item has A not positive and finite, B not finite or C outside
// [0, 1).
func ThetaForTrueScore(items []Item3PL, score float64) (float64, error) {
	thetaCheckItems(items)
	if math.IsNaN(score) {
		return math.NaN(), fmt.Errorf("%w: true score is NaN", ErrInvalidScore)
	}
	var guess float64
	for _, it := range items {
		guess += it.C
	}
	n := float64(len(items))
	if score <= guess || score >= n {
		return math.NaN(), fmt.Errorf("%w: true score %v not in (%v, %v)", ErrExtremeScore, score, guess, n)
	}
	f := func(theta float64) (float64, float64) {
		var tau, slope float64
		for _, it := range items {
			p, _, d1, _ := thetaIRF(it, theta)
			tau += p
			slope += d1
		}
		return tau - score, slope
	}
	lo, hi, ok := thetaBracket(f, true)
	if !ok {
		return math.NaN(), fmt.Errorf("%w: true score %v too close to an asymptote (%v, %v)", ErrExtremeScore, score, guess, n)
	}
	return thetaSolve(f, lo, hi), nil
}

// ThetaForRawScores returns the raw-score-to-θ conversion table of items
// through the test characteristic curve: element x, for x = 0, 1, …, n with
// n = len(items), is ThetaForTrueScore(items, x), or NaN when x ≤ Σ_j c_j or
// x = n, where no finite θ exists (Kolen & Brennan, 2014, ch. 6).
//
// ThetaForRawScores panics if items is empty or an item has A not positive and
// finite, B not finite or C outside [0, 1).
func ThetaForRawScores(items []Item3PL) []float64 {
	thetaCheckItems(items)
	out := make([]float64, len(items)+1)
	for x := range out {
		t, err := ThetaForTrueScore(items, float64(x))
		if err != nil {
			t = math.NaN()
		}
		out[x] = t
	}
	return out
}

// SummedScoreDistribution returns the conditional distribution of the summed
// (number-correct) score X of items at ability theta: element x, for
// x = 0, 1, …, len(items), is P(X = x | θ). It is computed by the recursion of
// Lord & Wingersky (1984): with f_0 = (1), adding item j with P_j = P_j(θ)
// and Q_j = 1 − P_j gives
//
//	f_j(x) = f_{j−1}(x) Q_j + f_{j−1}(x − 1) P_j
//
// (f_{j−1}(−1) = f_{j−1}(j) = 0), in O(n²) operations.
//
// SummedScoreDistribution panics if items is empty, theta is NaN, or an item
// has A not positive and finite, B not finite or C outside [0, 1).
func SummedScoreDistribution(items []Item3PL, theta float64) []float64 {
	thetaCheckItems(items)
	if math.IsNaN(theta) {
		panic("psychometrics: theta is NaN")
	}
	f := make([]float64, len(items)+1)
	thetaLordWingersky(items, theta, f)
	return f
}

// SummedScore is one row of a summed-score conversion table.
type SummedScore struct {
	Score int     // summed (number-correct) score x
	Theta float64 // EAP[θ | X = x], the posterior mean of θ given the score
	SD    float64 // posterior standard deviation of θ given the score
	Prob  float64 // marginal probability P(X = x) under the prior
}

// SummedScoreEAP returns the summed-score EAP table of items, one row for
// each summed score x = 0, 1, …, len(items): the posterior mean and standard
// deviation of θ given only the number-correct score, over the quadrature q
// whose weights w_k at nodes θ_k are the prior (Thissen, Pommerich, Billeaud &
// Williams, 1995; Thissen & Wainer, 2001, ch. 3):
//
//	L_x(θ) = P(X = x | θ)            (Lord & Wingersky, 1984, recursion)
//	Prob   = Σ_k w_k L_x(θ_k) / Σ_k w_k
//	Theta  = Σ_k w_k θ_k L_x(θ_k) / Σ_k w_k L_x(θ_k)
//	SD     = √(Σ_k w_k (θ_k − Theta)² L_x(θ_k) / Σ_k w_k L_x(θ_k))
//
// The zero Quadrature means NormalQuadrature(61, 0, 1). This is the score
// table of operational programs that report θ from number-correct scores: it
// exists for every score, including zero and perfect.
//
// SummedScoreEAP panics if items is empty, an item has A not positive and
// finite, B not finite or C outside [0, 1), or q is invalid as for ThetaEAP.
func SummedScoreEAP(items []Item3PL, q Quadrature) []SummedScore {
	thetaCheckItems(items)
	k := thetaCheckQuadrature(q)
	n1 := len(items) + 1
	dist := make([]float64, k*n1)
	var wsum float64
	for i := range k {
		x, w := thetaNode(q, i)
		thetaLordWingersky(items, x, dist[i*n1:(i+1)*n1])
		wsum += w
	}
	out := make([]SummedScore, n1)
	for s := range n1 {
		var m0, m1 float64
		for i := range k {
			x, w := thetaNode(q, i)
			p := w * dist[i*n1+s]
			m0 += p
			m1 += p * x
		}
		mean := m1 / m0
		var m2 float64
		for i := range k {
			x, w := thetaNode(q, i)
			d := x - mean
			m2 += w * dist[i*n1+s] * d * d
		}
		out[s] = SummedScore{Score: s, Theta: mean, SD: math.Sqrt(m2 / m0), Prob: m0 / wsum}
	}
	return out
}

// PersonFitLz returns the standardized log-likelihood person-fit statistic lz
// of Drasgow, Levine & Williams (1985) for 0/1 responses resp to items at
// ability theta (NaN responses are left out):
//
//	l0 = Σ_j [x_j ln P_j + (1 − x_j) ln Q_j]
//	E  = Σ_j [P_j ln P_j + Q_j ln Q_j]
//	V  = Σ_j P_j Q_j [ln(P_j / Q_j)]²
//	lz = (l0 − E) / √V
//
// with P_j = P_j(θ). Large negative values flag misfit. With θ known lz is
// asymptotically standard normal; with θ estimated its variance is below 1
// (Snijders, 2001) — use PersonFitLzStar then.
//
// PersonFitLz returns NaN if theta is NaN, no item was administered or V is
// zero. It panics if items is empty, len(resp) ≠ len(items), a response is
// not 0, 1 or NaN, or an item has A not positive and finite, B not finite or
// C outside [0, 1).
func PersonFitLz(items []Item3PL, resp []float64, theta float64) float64 {
	thetaCheck(items, resp)
	if math.IsNaN(theta) {
		return math.NaN()
	}
	var w, v float64
	for j, it := range items {
		x := resp[j]
		if math.IsNaN(x) {
			continue
		}
		p, q, _, _ := thetaIRF(it, theta)
		lr := math.Log(p) - math.Log(q)
		w += (x - p) * lr
		v += p * q * lr * lr
	}
	if !(v > 0) {
		return math.NaN()
	}
	return w / math.Sqrt(v)
}

// PersonFitLzStar returns Snijders' (2001) lz*, the lz statistic corrected
// for an estimated ability, for 0/1 responses resp to items (NaN responses
// are left out) at the estimate theta produced by est from the same
// responses. With P_j, P′_j evaluated at θ̂ and the sums over administered
// items,
//
//	w_j  = ln(P_j / Q_j),  r_j = P′_j / (P_j Q_j)
//	W    = Σ_j (x_j − P_j) w_j                  (= l0 − E of PersonFitLz)
//	c    = Σ_j P′_j w_j / Σ_j P′_j r_j
//	w̃_j  = w_j − c r_j
//	lz*  = (W + c r_0) / √(Σ_j w̃_j² P_j Q_j)
//
// where r_0(θ) is the term the estimator adds to the likelihood equation
// Σ_j (x_j − P_j) r_j + r_0(θ) = 0: r_0 = 0 for MaximumLikelihood and
// r_0 = J(θ)/(2 I(θ)) for WeightedLikelihood (see ThetaWLE) (Snijders, 2001;
// Magis, Raîche & Béland, 2012). lz* is asymptotically standard normal when
// the model holds; large negative values flag misfit.
//
// PersonFitLzStar returns NaN if theta is NaN or infinite, no item was
// administered, or the corrected variance Σ_j w̃_j² P_j Q_j vanishes (below
// 1e-12 of Σ_j w_j² P_j Q_j, where rounding dominates it) — as it does with a
// single item, or when all items are alike, since then w̃ = 0. It panics if
// est is not MaximumLikelihood or WeightedLikelihood, items is empty,
// len(resp) ≠ len(items), a response is not 0, 1 or NaN, or an item has A not
// positive and finite, B not finite or C outside [0, 1).
func PersonFitLzStar(items []Item3PL, resp []float64, theta float64, est ThetaEstimator) float64 {
	if est != MaximumLikelihood && est != WeightedLikelihood {
		panic("psychometrics: unknown θ estimator " + est.String())
	}
	thetaCheck(items, resp)
	if math.IsNaN(theta) || math.IsInf(theta, 0) {
		return math.NaN()
	}
	var w, pw, info, j2 float64
	for j, it := range items {
		x := resp[j]
		if math.IsNaN(x) {
			continue
		}
		p, q, d1, d2 := thetaIRF(it, theta)
		wj := math.Log(p) - math.Log(q)
		rj := d1 / p / q
		w += (x - p) * wj
		pw += d1 * wj
		info += d1 * rj
		j2 += d2 * rj
	}
	c := pw / info
	var v, scale float64
	for j, it := range items {
		if math.IsNaN(resp[j]) {
			continue
		}
		p, q, d1, _ := thetaIRF(it, theta)
		wj := math.Log(p) - math.Log(q)
		wt := wj - c*d1/p/q
		v += wt * wt * p * q
		scale += wj * wj * p * q
	}
	var r0 float64
	if est == WeightedLikelihood {
		r0 = j2 / (2 * info)
	}
	if !(v > 1e-12*scale) {
		return math.NaN()
	}
	return (w + c*r0) / math.Sqrt(v)
}

// thetaCheckItems panics if items is empty or an item's parameters cannot be
// used for scoring.
func thetaCheckItems(items []Item3PL) {
	if len(items) == 0 {
		panic("psychometrics: no items")
	}
	for _, it := range items {
		if !(it.A > 0) || math.IsInf(it.A, 1) || math.IsNaN(it.B) || math.IsInf(it.B, 0) || !(it.C >= 0 && it.C < 1) {
			panic("psychometrics: invalid 3PL item parameters for scoring")
		}
	}
}

// thetaCheck panics on invalid items or responses and returns the number of
// administered items and the number answered correctly.
func thetaCheck(items []Item3PL, resp []float64) (n, correct int) {
	thetaCheckItems(items)
	if len(resp) != len(items) {
		panic("psychometrics: responses and items differ in length")
	}
	for _, v := range resp {
		switch {
		case math.IsNaN(v):
		case v == 1:
			n++
			correct++
		case v == 0:
			n++
		default:
			panic("psychometrics: response not 0, 1 or NaN")
		}
	}
	return n, correct
}

// thetaCheckQuadrature panics if q is invalid and returns its number of
// nodes; the zero Quadrature has the 61 nodes of NormalQuadrature(61, 0, 1).
func thetaCheckQuadrature(q Quadrature) int {
	if q.Nodes == nil && q.Weights == nil {
		return 61
	}
	if len(q.Nodes) == 0 || len(q.Nodes) != len(q.Weights) {
		panic("psychometrics: quadrature nodes and weights must be non-empty and of equal length")
	}
	var pos bool
	for i, x := range q.Nodes {
		w := q.Weights[i]
		if math.IsNaN(x) || math.IsInf(x, 0) || !(w >= 0) || math.IsInf(w, 1) {
			panic("psychometrics: invalid quadrature node or weight")
		}
		pos = pos || w > 0
	}
	if !pos {
		panic("psychometrics: quadrature has no positive weight")
	}
	return len(q.Nodes)
}

// thetaNode returns node i of q and its weight; for the zero Quadrature, the
// node of NormalQuadrature(61, 0, 1) and its unnormalised weight.
func thetaNode(q Quadrature, i int) (x, w float64) {
	if q.Nodes == nil {
		x = thetaNodeAt(nil, i)
		return x, math.Exp(-x * x / 2)
	}
	return q.Nodes[i], q.Weights[i]
}

// thetaNodeAt returns nodes[i], or node i of NormalQuadrature(61, 0, 1) if
// nodes is nil.
func thetaNodeAt(nodes []float64, i int) float64 {
	if nodes == nil {
		return -6 + float64(i)*(12.0/60)
	}
	return nodes[i]
}

// thetaPosterior returns the posterior mean and SD given the log-posterior
// (up to a constant) lp at each node of nodes, or of the default quadrature if
// nodes is nil; it overwrites lp.
func thetaPosterior(nodes []float64, lp []float64) Estimate {
	m := math.Inf(-1)
	for _, v := range lp {
		m = math.Max(m, v)
	}
	var s0, s1 float64
	for i, v := range lp {
		x := thetaNodeAt(nodes, i)
		e := math.Exp(v - m)
		lp[i] = e
		s0 += e
		s1 += e * x
	}
	mean := s1 / s0
	var s2 float64
	for i, e := range lp {
		d := thetaNodeAt(nodes, i) - mean
		s2 += e * d * d
	}
	return Estimate{Theta: mean, SE: math.Sqrt(s2 / s0)}
}

// thetaLordWingersky writes P(X = x | θ), x = 0…len(items), into f, which
// must have length len(items)+1.
func thetaLordWingersky(items []Item3PL, theta float64, f []float64) {
	clear(f)
	f[0] = 1
	for j, it := range items {
		p, q, _, _ := thetaIRF(it, theta)
		f[j+1] = f[j] * p
		for x := j; x > 0; x-- {
			f[x] = f[x]*q + f[x-1]*p
		}
		f[0] *= q
	}
}

// thetaNoGuessing reports whether every item has C = 0 (2PL or Rasch).
func thetaNoGuessing(items []Item3PL) bool {
	for _, it := range items {
		if it.C != 0 {
			return false
		}
	}
	return true
}

// thetaIRF returns, for it at theta, P, Q = 1 − P computed without
// cancellation, and the derivatives P′ and P″ with respect to θ. With
// ψ(z) = 1/(1 + e^−z), z = a(θ − b):
//
//	P = c + (1 − c) ψ,  Q = (1 − c)(1 − ψ)
//	P′ = a (1 − c) ψ (1 − ψ),  P″ = a P′ (1 − 2ψ)
func thetaIRF(it Item3PL, theta float64) (p, q, d1, d2 float64) {
	s, t := thetaLogistic(it.A * (theta - it.B))
	p = it.C + (1-it.C)*s
	q = (1 - it.C) * t
	d1 = it.A * (1 - it.C) * s * t
	d2 = it.A * d1 * (t - s)
	return p, q, d1, d2
}

// thetaLogistic returns ψ(z) = 1/(1 + e^−z) and 1 − ψ(z), each to full
// relative precision, with one exponential.
func thetaLogistic(z float64) (s, t float64) {
	e := math.Exp(-math.Abs(z))
	if z >= 0 {
		return 1 / (1 + e), e / (1 + e)
	}
	return e / (1 + e), 1 / (1 + e)
}

// thetaLogProb returns ln P(θ) if correct, else ln Q(θ), accurately in both
// tails.
func thetaLogProb(it Item3PL, theta float64, correct bool) float64 {
	z := it.A * (theta - it.B)
	if correct {
		if it.C == 0 {
			return -thetaSoftplus(-z)
		}
		s, _ := thetaLogistic(z)
		return math.Log(it.C + (1-it.C)*s)
	}
	return math.Log1p(-it.C) - thetaSoftplus(z)
}

// thetaSoftplus returns ln(1 + e^z) without overflow.
func thetaSoftplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// thetaInformation returns the test information at theta of the administered
// items.
func thetaInformation(items []Item3PL, resp []float64, theta float64) float64 {
	var info float64
	for j, it := range items {
		if math.IsNaN(resp[j]) {
			continue
		}
		p, q, d1, _ := thetaIRF(it, theta)
		if p > 0 && q > 0 {
			info += d1 / p * d1 / q
		}
	}
	return info
}

// thetaObjective is the log-likelihood l(θ) of one person's responses, or
// with weighted set Warm's (1989) weighted log-likelihood l(θ) + Φ(θ), whose
// derivative is l′(θ) + J(θ)/(2 I(θ)).
type thetaObjective struct {
	items    []Item3PL
	resp     []float64
	weighted bool
}

// loglik returns l(θ).
func (o thetaObjective) loglik(theta float64) float64 {
	var l float64
	for k, it := range o.items {
		if x := o.resp[k]; !math.IsNaN(x) {
			l += thetaLogProb(it, theta, x == 1)
		}
	}
	return l
}

// eval returns the derivative g of the objective at theta and its own
// derivative h, and for the weighted objective Warm's correction φ = J/(2I)
// (included in g) and its derivative φ′ (included in h). With I and J as in
// ThetaWLE,
//
//	g = l′ + J/(2I),  h = l″ + (J′ I − J I′)/(2 I²)
//	I′ = Σ [2 P′ P″ − P′³ (Q − P)/(P Q)] / (P Q)
//	J′ = Σ [P″² + P′ P‴ − P′² P″ (Q − P)/(P Q)] / (P Q)
func (o thetaObjective) eval(theta float64) (g, h, phi, dphi float64) {
	var info, dinfo, j, dj float64
	for k, it := range o.items {
		x := o.resp[k]
		if math.IsNaN(x) {
			continue
		}
		s, t := thetaLogistic(it.A * (theta - it.B))
		p := it.C + (1-it.C)*s
		q := (1 - it.C) * t
		d1 := it.A * (1 - it.C) * s * t
		d2 := it.A * d1 * (t - s)
		if x == 1 {
			g += d1 / p
			h += d2/p - (d1/p)*(d1/p)
		} else {
			g -= d1 / q
			h -= d2/q + (d1/q)*(d1/q)
		}
		if !o.weighted || p == 0 || q == 0 {
			continue
		}
		d3 := it.A * it.A * d1 * ((t-s)*(t-s) - 2*s*t)
		r := d1 / p / q
		info += d1 * r
		dinfo += 2*d2*r - r*r*d1*(q-p)
		j += d2 * r
		dj += (d2*d2+d1*d3)/p/q - r*r*d2*(q-p)
	}
	if o.weighted {
		phi = j / (2 * info)
		dphi = (dj*info - j*dinfo) / (2 * info * info)
		g += phi
		h += dphi
	}
	return g, h, phi, dphi
}

// score returns the derivative of the objective and its own derivative.
func (o thetaObjective) score(theta float64) (g, h float64) {
	g, h, _, _ = o.eval(theta)
	return g, h
}

// concaveMax returns the maximum of a strictly concave objective that has
// one (the 2PL log-likelihood of a pattern that is not extreme). It reports
// false if the maximum is beyond ±2048 (tiny A).
func (o thetaObjective) concaveMax() (float64, bool) {
	lo, hi, ok := thetaBracket(o.score, false)
	if !ok {
		return math.NaN(), false
	}
	return thetaSolve(o.score, lo, hi), true
}

// thetaHermite returns ∫ f over [a, b] by the cubic Hermite (corrected
// trapezoidal) rule from f and f′ at the ends, exact for cubics:
// (b − a)(fa + fb)/2 + (b − a)²(f′a − f′b)/12.
func thetaHermite(a, b, fa, fb, da, db float64) float64 {
	w := b - a
	return w*(fa+fb)/2 + w*w*(da-db)/12
}

// globalMax returns the largest local maximum of the objective within
// [−thetaSearchBound, thetaSearchBound], and false if the objective is larger
// at an end of the range toward which it increases, or has no maximum. It
// tabulates the derivative on a grid, refines each sign change from + to −,
// and compares the objective at the roots; for the weighted objective the
// integral Φ of Warm's correction (under the 2PL ½ ln I + const; under the
// 3PL without closed form) is accumulated along the grid by the cubic
// Hermite rule.
func (o thetaObjective) globalMax() (float64, bool) {
	step := thetaGridStep
	for _, it := range o.items {
		step = math.Min(step, 0.5/it.A)
	}
	n := int(math.Ceil(2 * thetaSearchBound / step))
	step = 2 * thetaSearchBound / float64(n)
	best, bestF := math.NaN(), math.Inf(-1)
	prevX := -float64(thetaSearchBound)
	prevG, _, prevPhi, prevDphi := o.eval(prevX)
	var cum float64 // Φ(prevX) − Φ(−thetaSearchBound)
	if prevG < 0 {
		bestF = o.loglik(prevX) // increasing toward the lower end
	}
	for i := 1; i <= n; i++ {
		x := -thetaSearchBound + float64(i)*step
		g, _, phi, dphi := o.eval(x)
		if prevG > 0 && g <= 0 {
			root, rphi, rdphi := x, phi, dphi
			if g < 0 {
				root = thetaSolve(o.score, prevX, x)
				_, _, rphi, rdphi = o.eval(root)
			}
			f := o.loglik(root) + cum + thetaHermite(prevX, root, prevPhi, rphi, prevDphi, rdphi)
			if f > bestF {
				best, bestF = root, f
			}
		}
		cum += thetaHermite(prevX, x, prevPhi, phi, prevDphi, dphi)
		if i == n && g > 0 && o.loglik(x)+cum > bestF {
			best = math.NaN() // increasing toward the upper end
		}
		prevX, prevG, prevPhi, prevDphi = x, g, phi, dphi
	}
	return best, !math.IsNaN(best)
}

// thetaBracket steps out from θ = 0 by doubling until f changes sign, for a
// monotone f (increasing if increasing is set), and returns the bracket.
func thetaBracket(f func(float64) (float64, float64), increasing bool) (lo, hi float64, ok bool) {
	g0, _ := f(0)
	if g0 == 0 {
		return 0, 0, true
	}
	dir := 1.0 // search upward when f(0) is below the root
	if (g0 > 0) == increasing {
		dir = -1
	}
	prev := 0.0
	for d := 1.0; d <= 2048; d *= 2 {
		x := dir * d
		g, _ := f(x)
		if g == 0 || (g > 0) != (g0 > 0) {
			return math.Min(prev, x), math.Max(prev, x), true
		}
		prev = x
	}
	return 0, 0, false
}

// thetaSolve returns the root of f in [lo, hi], where f(lo) and f(hi) differ
// in sign (or one is zero), by Newton–Raphson safeguarded by bisection (Press
// et al., 2007, §9.4, rtsafe); f returns the function and its derivative.
func thetaSolve(f func(float64) (float64, float64), lo, hi float64) float64 {
	if lo == hi {
		return lo
	}
	flo, _ := f(lo)
	fhi, _ := f(hi)
	switch {
	case flo == 0:
		return lo
	case fhi == 0:
		return hi
	}
	// Orient the bracket so that f(xl) < 0 < f(xh).
	xl, xh := lo, hi
	if flo > 0 {
		xl, xh = hi, lo
	}
	x := 0.5 * (lo + hi)
	dxold := math.Abs(hi - lo)
	dx := dxold
	fx, dfx := f(x)
	for range 200 {
		if ((x-xh)*dfx-fx)*((x-xl)*dfx-fx) > 0 || math.Abs(2*fx) > math.Abs(dxold*dfx) {
			dxold = dx
			dx = 0.5 * (xh - xl)
			x = xl + dx
			if x == xl {
				return x
			}
		} else {
			dxold = dx
			dx = fx / dfx
			prev := x
			x -= dx
			if x == prev {
				return x
			}
		}
		if math.Abs(dx) <= 4e-16*math.Max(1, math.Abs(x)) {
			return x
		}
		fx, dfx = f(x)
		switch {
		case fx == 0:
			return x
		case fx < 0:
			xl = x
		default:
			xh = x
		}
	}
	return x
}
