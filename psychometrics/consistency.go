package psychometrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
)

// Sentinel errors of the classification consistency and accuracy methods.
var (
	// ErrInvalidEstimate is returned when an ability estimate is NaN or
	// infinite, or its standard error is NaN or negative.
	ErrInvalidEstimate = errors.New("psychometrics: invalid ability estimate or standard error")
	// ErrTrueScoreFit is returned when the observed scores admit no
	// true-score distribution under the model: the scores have no variance,
	// the effective test length is below 2, or the estimated true-score
	// variance is not positive or too large for a beta distribution.
	ErrTrueScoreFit = errors.New("psychometrics: no true-score distribution fits the scores")
)

// LivingstonLewisModel is the strong true-score model of Livingston & Lewis
// (1995) fitted to a set of observed scores: a binomial error distribution on
// an effective test length and a beta distribution of the proportion-correct
// true score τ on [Lower, Upper] ⊆ [0, 1] with shapes Alpha and Beta.
type LivingstonLewisModel struct {
	MinScore, MaxScore float64 // possible score range of the test
	Length             int     // effective test length n, rounded to an integer
	Alpha, Beta        float64 // shape parameters of the true-score beta distribution
	Lower, Upper       float64 // range of the true proportion-correct score
	FourParameter      bool    // false when the fit fell back to the two-parameter beta on [0, 1]
}

// LivingstonLewis returns the decision consistency and accuracy of a
// pass/fail decision at cut under the method of Livingston & Lewis (1995): it
// fits the model with FitLivingstonLewis and classifies with its Classify
// method; see them for the formulas, the treatment of the scores and the
// errors returned.
func LivingstonLewis(scores []float64, minScore, maxScore, reliability, cut float64) (DecisionConsistency, error) {
	m, err := FitLivingstonLewis(scores, minScore, maxScore, reliability)
	if err != nil {
		return DecisionConsistency{}, err
	}
	return m.Classify(cut)
}

// FitLivingstonLewis fits the true-score model of Livingston & Lewis (1995)
// to observed scores on a test whose possible scores run from minScore to
// maxScore, given the scores' reliability (for example coefficient alpha).
// The scores may be any real numbers in [minScore, maxScore] — weighted or
// polytomous sums included — which is the point of the method.
//
// With the scores' mean μ and variance σ² (divisor N, the number of scores),
// the effective test length is
//
//	n = ((μ − min)(max − μ) − ρσ²) / (σ²(1 − ρ))
//
// (Livingston & Lewis, 1995), rounded to the nearest integer: the
// number of equally difficult, locally independent 0/1 items whose
// number-correct score would have the same reliability ρ. The scores are
// rescaled to that length, x' = n(x − min)/(max − min), and the raw moments
// of the true proportion-correct score τ under the binomial error model are
// the factorial moments of x' over n's falling factorials,
//
//	E τ^k = E[x'(x' − 1)⋯(x' − k + 1)] / (n(n − 1)⋯(n − k + 1)),  k = 1..4
//
// (Lord, 1965, with binomial error; Hanson, 1991). A four-parameter beta
// distribution on [Lower, Upper] is fitted to the mean, variance, skewness γ₁
// and kurtosis β₂ of τ by the method of moments (Hanson, 1991; Johnson, Kotz
// & Balakrishnan, 1995, ch. 25):
//
//	r = α + β = 6(β₂ − γ₁² − 1) / (6 + 3γ₁² − 2β₂)
//	α, β = (r/2)(1 ∓ √(1 − 16(r + 1)/((r + 2)²γ₁² + 16(r + 1))))   (α ≤ β when γ₁ ≥ 0)
//	Upper − Lower = σ_τ·r·√(r + 1)/√(αβ),  Lower = μ_τ − (Upper − Lower)·α/r
//
// When this fit is inadmissible — r not positive or not finite, Lower < 0 or
// Upper > 1 — or the effective length is below 4, the model falls back to the
// two-parameter beta on [0, 1] with the mean and variance of τ,
// α = μ_τ·s, β = (1 − μ_τ)·s with s = μ_τ(1 − μ_τ)/σ²_τ − 1, and
// FourParameter is false. (Hanson's intermediate three-parameter fits are
// not attempted.)
//
// FitLivingstonLewis returns an error wrapping ErrInvalidScore if a score is
// NaN or outside [minScore, maxScore]; ErrInvalidReliability if reliability
// is NaN or not in (0, 1); ErrTrueScoreFit if the scores have no variance,
// the effective length rounds below 2, or σ²_τ is not in (0, μ_τ(1 − μ_τ)).
// It panics if scores is empty or minScore ≥ maxScore (or either is NaN or
// infinite).
func FitLivingstonLewis(scores []float64, minScore, maxScore, reliability float64) (LivingstonLewisModel, error) {
	if len(scores) == 0 {
		panic("psychometrics: no scores")
	}
	if !(minScore < maxScore) || math.IsInf(minScore, 0) || math.IsInf(maxScore, 0) {
		panic("psychometrics: score range must satisfy minScore < maxScore, both finite")
	}
	if math.IsNaN(reliability) || reliability <= 0 || reliability >= 1 {
		return LivingstonLewisModel{}, fmt.Errorf("%w: %v not in (0, 1)", ErrInvalidReliability, reliability)
	}
	var sum float64
	for i, x := range scores {
		if math.IsNaN(x) || x < minScore || x > maxScore {
			return LivingstonLewisModel{}, fmt.Errorf("%w: candidate %d: %v not in [%v, %v]", ErrInvalidScore, i, x, minScore, maxScore)
		}
		sum += x
	}
	count := float64(len(scores))
	mean := sum / count
	var ss float64
	for _, x := range scores {
		ss += (x - mean) * (x - mean)
	}
	variance := ss / count
	if variance == 0 {
		return LivingstonLewisModel{}, fmt.Errorf("%w: the scores have no variance", ErrTrueScoreFit)
	}
	length := math.Round(((mean-minScore)*(maxScore-mean) - reliability*variance) / (variance * (1 - reliability)))
	if !(length >= 2) {
		return LivingstonLewisModel{}, fmt.Errorf("%w: effective test length %v below 2", ErrTrueScoreFit, length)
	}
	m := LivingstonLewisModel{MinScore: minScore, MaxScore: maxScore, Length: int(length)}

	// Raw moments of the rescaled scores, then the factorial moments.
	var m1, m2, m3, m4 float64
	for _, x := range scores {
		v := length * (x - minScore) / (maxScore - minScore)
		v2 := v * v
		m1 += v
		m2 += v2
		m3 += v2 * v
		m4 += v2 * v2
	}
	m1 /= count
	m2 /= count
	m3 /= count
	m4 /= count
	n := length
	t1 := m1 / n
	t2 := (m2 - m1) / (n * (n - 1))
	vt := t2 - t1*t1
	if !(vt > 0 && vt < t1*(1-t1)) {
		return LivingstonLewisModel{}, fmt.Errorf("%w: true-score variance %v not in (0, %v)", ErrTrueScoreFit, vt, t1*(1-t1))
	}
	if n >= 4 {
		t3 := (m3 - 3*m2 + 2*m1) / (n * (n - 1) * (n - 2))
		t4 := (m4 - 6*m3 + 11*m2 - 6*m1) / (n * (n - 1) * (n - 2) * (n - 3))
		sd := math.Sqrt(vt)
		skew := (t3 - 3*t1*t2 + 2*t1*t1*t1) / (vt * sd)
		kurt := (t4 - 4*t1*t3 + 6*t1*t1*t2 - 3*t1*t1*t1*t1) / (vt * vt)
		if a, b, lo, hi, ok := consistencyFitBeta4(t1, sd, skew, kurt); ok {
			m.Alpha, m.Beta, m.Lower, m.Upper, m.FourParameter = a, b, lo, hi, true
			return m, nil
		}
	}
	s := t1*(1-t1)/vt - 1
	m.Alpha, m.Beta, m.Lower, m.Upper = t1*s, (1-t1)*s, 0, 1
	return m, nil
}

// consistencyFitBeta4 returns the four-parameter beta distribution with the given mean,
// standard deviation, skewness and (non-excess) kurtosis, and whether it is
// admissible as a distribution of proportions: positive finite shapes and
// 0 ≤ lo < hi ≤ 1.
func consistencyFitBeta4(mean, sd, skew, kurt float64) (alpha, beta, lo, hi float64, ok bool) {
	r := 6 * (kurt - skew*skew - 1) / (6 + 3*skew*skew - 2*kurt)
	if !(r > 0) || math.IsInf(r, 0) {
		return 0, 0, 0, 0, false
	}
	d := math.Sqrt(1 - 16*(r+1)/((r+2)*(r+2)*skew*skew+16*(r+1)))
	alpha, beta = r/2*(1-d), r/2*(1+d)
	if skew < 0 {
		alpha, beta = beta, alpha
	}
	width := sd * r * math.Sqrt(r+1) / math.Sqrt(alpha*beta)
	lo = mean - width*alpha/r
	hi = lo + width
	ok = alpha > 0 && beta > 0 && lo >= 0 && hi <= 1 && lo < hi
	return alpha, beta, lo, hi, ok
}

// Classify returns the decision consistency and accuracy of a pass/fail
// decision at cut (on the raw-score scale, pass when score ≥ cut) under the
// fitted model. The true cut is τ_c = (cut − MinScore)/(MaxScore − MinScore)
// and, on the effective test length n, a candidate passes with
// x' ≥ c = ⌈n·τ_c⌉ (a product n·τ_c within a relative 1e-12 of an integer
// counts as that integer, against rounding). With g the true-score density and
// P(τ) = Pr(X ≥ c | X ~ Binomial(n, τ)) the probability of passing,
//
//	Agreement = ∫ [P(τ)² + (1 − P(τ))²] g(τ) dτ
//	FalsePass = ∫_{τ < τ_c} P(τ) g(τ) dτ,  FalseFail = ∫_{τ ≥ τ_c} (1 − P(τ)) g(τ) dτ
//	Accuracy  = 1 − FalsePass − FalseFail
//	Chance    = P̄² + (1 − P̄)²,  P̄ = ∫ P(τ) g(τ) dτ,  Kappa = (Agreement − Chance)/(1 − Chance)
//
// (Livingston & Lewis, 1995; consistency over two independent replications
// as in Hanson, 1991, and Lee, 2010). The integrals are computed by adaptive
// Gauss–Legendre quadrature, split at τ_c and, where a shape is below 1,
// after the substitution that removes the density's singularity at the end
// of the range, to an absolute accuracy of about 1e-13. Kappa is NaN when
// Chance is 1.
//
// Classify returns an error wrapping ErrInvalidCut if cut is NaN or not in
// (MinScore, MaxScore].
func (m LivingstonLewisModel) Classify(cut float64) (DecisionConsistency, error) {
	if math.IsNaN(cut) || cut <= m.MinScore || cut > m.MaxScore {
		return DecisionConsistency{}, fmt.Errorf("%w: %v not in (%v, %v]", ErrInvalidCut, cut, m.MinScore, m.MaxScore)
	}
	n := m.Length
	tc := (cut - m.MinScore) / (m.MaxScore - m.MinScore)
	c := int(math.Ceil(float64(n) * tc * (1 - 1e-12)))
	c = min(max(c, 1), n)
	pass := func(tau float64) float64 { return binomialUpperTail(n, c, tau) }

	// Integrate over the standard beta variable t = (τ − Lower)/(Upper − Lower).
	w := m.Upper - m.Lower
	split := math.Min(math.Max((tc-m.Lower)/w, 0), 1)
	var sums [2][2]float64 // ∫P·g and ∫P(1−P)·g below and above the cut
	for i, piece := range [][2]float64{{0, split}, {split, 1}} {
		if piece[0] == piece[1] {
			continue
		}
		ip := consistencyBetaIntegral(func(t float64) float64 { return pass(m.Lower + w*t) }, m.Alpha, m.Beta, piece[0], piece[1])
		iq := consistencyBetaIntegral(func(t float64) float64 {
			p := pass(m.Lower + w*t)
			return p * (1 - p)
		}, m.Alpha, m.Beta, piece[0], piece[1])
		sums[i] = [2]float64{ip, iq}
	}
	below, above := sums[0], sums[1]
	massAbove := 1 - mathext.RegIncBeta(m.Alpha, m.Beta, split)
	pbar := below[0] + above[0]
	res := DecisionConsistency{
		Agreement: 1 - 2*(below[1]+above[1]),
		Chance:    pbar*pbar + (1-pbar)*(1-pbar),
		FalsePass: below[0],
		FalseFail: massAbove - above[0],
		Kappa:     math.NaN(),
	}
	res.Accuracy = 1 - res.FalsePass - res.FalseFail
	if res.Chance < 1 {
		res.Kappa = (res.Agreement - res.Chance) / (1 - res.Chance)
	}
	return res, nil
}

// consistencyBetaIntegral returns ∫_a^b f(t)·t^(α−1)(1−t)^(β−1)/B(α, β) dt for
// 0 ≤ a < b ≤ 1. A piece that touches 0 (or 1) where α < 1 (or β < 1) is
// integrated after the substitution t = b·v^(1/α) (or 1 − t = (1 − a)·v^(1/β)),
// which turns the integrable singularity of the density into a constant; a
// piece that touches both ends is split at ½ first.
func consistencyBetaIntegral(f func(float64) float64, alpha, beta, a, b float64) float64 {
	if a == 0 && b == 1 {
		return consistencyBetaIntegral(f, alpha, beta, 0, 0.5) + consistencyBetaIntegral(f, alpha, beta, 0.5, 1)
	}
	lnB := consistencyLnBeta(alpha, beta)
	density := func(t float64) float64 {
		return math.Exp((alpha-1)*math.Log(t) + (beta-1)*math.Log1p(-t) - lnB)
	}
	switch {
	case a == 0 && alpha < 1:
		// t^(α−1) dt = (b^α/α) dv with t = b·v^(1/α).
		scale := math.Exp(alpha*math.Log(b) - math.Log(alpha) - lnB)
		return scale * consistencyIntegrate(func(v float64) float64 {
			t := b * math.Pow(v, 1/alpha)
			return f(t) * math.Exp((beta-1)*math.Log1p(-t))
		}, 0, 1)
	case b == 1 && beta < 1:
		// (1−t)^(β−1) dt = ((1−a)^β/β) dv with 1 − t = (1−a)·v^(1/β).
		scale := math.Exp(beta*math.Log1p(-a) - math.Log(beta) - lnB)
		return scale * consistencyIntegrate(func(v float64) float64 {
			s := (1 - a) * math.Pow(v, 1/beta)
			t := 1 - s
			return f(t) * math.Exp((alpha-1)*math.Log(t))
		}, 0, 1)
	}
	return consistencyIntegrate(func(t float64) float64 {
		if t <= 0 || t >= 1 {
			return 0 // the density's zero at an end where its shape exceeds 1
		}
		return f(t) * density(t)
	}, a, b)
}

func consistencyLnBeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// consistencyGaussOrder is the number of Gauss–Legendre nodes per panel of
// consistencyIntegrate, and consistencyGaussPanels the most panels it splits a range into.
const (
	consistencyGaussOrder  = 15
	consistencyGaussPanels = 2000
)

// consistencyIntegrate returns ∫_a^b f by globally adaptive Gauss–Legendre
// quadrature (in the manner of QUADPACK's QAG; Piessens et al., 1983): each
// panel's error is estimated as the difference between the consistencyGaussOrder-point
// rule on it and the sum of the rule on its halves, and the panel with the
// largest estimate is bisected until the estimates add up to at most 1e-14
// (absolute) or consistencyGaussPanels panels are in use.
func consistencyIntegrate(f func(float64) float64, a, b float64) float64 {
	x := make([]float64, consistencyGaussOrder)
	wt := make([]float64, consistencyGaussOrder)
	quad.Legendre{}.FixedLocations(x, wt, -1, 1)
	rule := func(lo, hi float64) float64 {
		mid, half := (lo+hi)/2, (hi-lo)/2
		var s float64
		for i, xi := range x {
			s += wt[i] * f(mid+half*xi)
		}
		return s * half
	}
	type panel struct{ lo, hi, left, right, err float64 }
	split := func(lo, hi, whole float64) panel {
		mid := (lo + hi) / 2
		l, r := rule(lo, mid), rule(mid, hi)
		return panel{lo, hi, l, r, math.Abs(l + r - whole)}
	}
	panels := []panel{split(a, b, rule(a, b))}
	const tol = 1e-14
	for len(panels) < consistencyGaussPanels {
		var total float64
		worst := 0
		for i, p := range panels {
			total += p.err
			if p.err > panels[worst].err {
				worst = i
			}
		}
		if total <= tol {
			break
		}
		p := panels[worst]
		mid := (p.lo + p.hi) / 2
		panels[worst] = split(p.lo, mid, p.left)
		panels = append(panels, split(mid, p.hi, p.right))
	}
	var sum float64
	for _, p := range panels {
		sum += p.left + p.right
	}
	return sum
}

// Rudner returns the classification accuracy and consistency of pass/fail
// decisions made by comparing IRT ability estimates theta with a cut on the θ
// scale (pass when θ̂ ≥ cut), given each estimate's standard error se
// (Rudner, 2001). Candidate i's true ability is taken as normal about the
// estimate, θ ~ N(θ̂_i, se_i²), so the probability that it lies at or above
// the cut — equally, that an independent replication would pass them — is
//
//	p_i = Φ((θ̂_i − cut) / se_i)
//
// and, over the N candidates,
//
//	Accuracy  = (1/N) Σ_i [θ̂_i ≥ cut ? p_i : 1 − p_i]
//	FalsePass = (1/N) Σ_{θ̂_i ≥ cut} (1 − p_i),  FalseFail = (1/N) Σ_{θ̂_i < cut} p_i
//	Agreement = (1/N) Σ_i [p_i² + (1 − p_i)²]
//	Chance    = P̄² + (1 − P̄)²,  P̄ = (1/N) Σ_i p_i,  Kappa = (Agreement − Chance)/(1 − Chance)
//
// (Rudner, 2001, 2005; the consistency and kappa as in Lee, 2010). A zero
// standard error makes p_i 1 or 0 by the side of the cut; an infinite one
// makes it ½. Kappa is NaN when Chance is 1.
//
// Rudner returns an error wrapping ErrInvalidEstimate if an estimate is NaN
// or infinite or a standard error is NaN or negative, and ErrInvalidCut if
// cut is NaN or infinite. It panics if theta is empty or se has a different
// length.
func Rudner(theta, se []float64, cut float64) (DecisionConsistency, error) {
	if len(theta) == 0 {
		panic("psychometrics: no ability estimates")
	}
	if len(se) != len(theta) {
		panic("psychometrics: se length does not match theta")
	}
	if math.IsNaN(cut) || math.IsInf(cut, 0) {
		return DecisionConsistency{}, fmt.Errorf("%w: %v", ErrInvalidCut, cut)
	}
	var acc rudnerSums
	w := 1 / float64(len(theta))
	for i, t := range theta {
		if math.IsNaN(t) || math.IsInf(t, 0) || math.IsNaN(se[i]) || se[i] < 0 {
			return DecisionConsistency{}, fmt.Errorf("%w: candidate %d: theta %v, se %v", ErrInvalidEstimate, i, t, se[i])
		}
		// p is the probability that the true ability is at or above the cut.
		p := consistencyNormalAbove(t, se[i], cut)
		if t >= cut {
			acc.add(w, p, 1-p, 0)
		} else {
			acc.add(w, p, 0, p)
		}
	}
	return acc.result(), nil
}

// RudnerQuadrature returns the expected classification accuracy and
// consistency of pass/fail decisions at a cut on the θ scale for a population
// with ability distribution q (Rudner, 2005): at each node θ_k, with weight
// w_k, the estimate is taken as normal, θ̂ ~ N(θ_k, csem_k²), where csem_k is
// the test's conditional standard error of measurement at θ_k — for an IRT
// test 1/√I(θ_k), e.g. 1/√TestInformation(items, θ_k). With
// p_k = Pr(θ̂ ≥ cut | θ_k) = Φ((θ_k − cut)/csem_k),
//
//	Accuracy  = Σ_k w_k [θ_k ≥ cut ? p_k : 1 − p_k]
//	FalsePass = Σ_{θ_k < cut} w_k p_k,  FalseFail = Σ_{θ_k ≥ cut} w_k (1 − p_k)
//	Agreement = Σ_k w_k [p_k² + (1 − p_k)²]
//	Chance    = P̄² + (1 − P̄)²,  P̄ = Σ_k w_k p_k,  Kappa = (Agreement − Chance)/(1 − Chance)
//
// with the weights normalised to sum to 1. A zero csem makes p_k 1 or 0 by the
// side of the cut; an infinite one (no information at θ_k) makes it ½. Kappa
// is NaN when Chance is 1. The result approximates the integral over the
// ability distribution; NormalQuadrature(61, 0, 1) is a common choice.
//
// RudnerQuadrature returns an error wrapping ErrInvalidEstimate if a csem is
// NaN or negative, and ErrInvalidCut if cut is NaN or infinite. It panics if
// q has no nodes, if its weights or csem do not match its nodes in length, or
// if a node is NaN or infinite or a weight is NaN or negative or all are zero.
func RudnerQuadrature(q Quadrature, csem []float64, cut float64) (DecisionConsistency, error) {
	if len(q.Nodes) == 0 {
		panic("psychometrics: quadrature has no nodes")
	}
	if len(q.Weights) != len(q.Nodes) || len(csem) != len(q.Nodes) {
		panic("psychometrics: quadrature weights or csem do not match the nodes")
	}
	var total float64
	for i, w := range q.Weights {
		if math.IsNaN(w) || w < 0 || math.IsNaN(q.Nodes[i]) || math.IsInf(q.Nodes[i], 0) {
			panic("psychometrics: invalid quadrature node or weight")
		}
		total += w
	}
	if !(total > 0) || math.IsInf(total, 0) {
		panic("psychometrics: quadrature weights do not sum to a positive number")
	}
	if math.IsNaN(cut) || math.IsInf(cut, 0) {
		return DecisionConsistency{}, fmt.Errorf("%w: %v", ErrInvalidCut, cut)
	}
	var acc rudnerSums
	for k, node := range q.Nodes {
		if math.IsNaN(csem[k]) || csem[k] < 0 {
			return DecisionConsistency{}, fmt.Errorf("%w: node %d: csem %v", ErrInvalidEstimate, k, csem[k])
		}
		// p is the probability that the estimate is at or above the cut.
		w, p := q.Weights[k]/total, consistencyNormalAbove(node, csem[k], cut)
		if node >= cut {
			acc.add(w, p, 0, 1-p)
		} else {
			acc.add(w, p, p, 0)
		}
	}
	return acc.result(), nil
}

// consistencyNormalAbove returns Pr(Y ≥ cut) for Y ~ N(mean, sd²), sd ≥ 0, as
// ½·erfc((cut − mean)/(sd·√2)), accurate in both tails.
func consistencyNormalAbove(mean, sd, cut float64) float64 {
	switch {
	case sd == 0:
		if mean >= cut {
			return 1
		}
		return 0
	case math.IsInf(sd, 1):
		return 0.5
	}
	return 0.5 * math.Erfc((cut-mean)/(sd*math.Sqrt2))
}

// rudnerSums accumulates the weighted sums of Rudner's indices.
type rudnerSums struct {
	agree, pass, falsePass, falseFail float64
}

// add adds a candidate or node of weight w with pass probability p and
// probabilities falsePass and falseFail of a wrong decision.
func (s *rudnerSums) add(w, p, falsePass, falseFail float64) {
	s.agree += w * (p*p + (1-p)*(1-p))
	s.pass += w * p
	s.falsePass += w * falsePass
	s.falseFail += w * falseFail
}

func (s *rudnerSums) result() DecisionConsistency {
	pc := s.pass*s.pass + (1-s.pass)*(1-s.pass)
	res := DecisionConsistency{
		Agreement: s.agree,
		Chance:    pc,
		Kappa:     math.NaN(),
		Accuracy:  1 - s.falsePass - s.falseFail,
		FalsePass: s.falsePass,
		FalseFail: s.falseFail,
	}
	if pc < 1 {
		res.Kappa = (s.agree - pc) / (1 - pc)
	}
	return res
}
