package psychometrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// Sentinel errors for decision-consistency input that the model cannot hold.
var (
	// ErrInvalidScore is returned when a raw score is NaN, not an integer, or
	// outside [0, items].
	ErrInvalidScore = errors.New("psychometrics: invalid score")
	// ErrInvalidReliability is returned when a reliability coefficient is
	// NaN or outside the range a method accepts: [0, 1] for Subkoviak,
	// (0, 1) for Livingston–Lewis.
	ErrInvalidReliability = errors.New("psychometrics: invalid reliability")
	// ErrInvalidCut is returned when a cut score is NaN or no score on the
	// test could separate passing from failing (for a raw-score cut,
	// cut ≤ minimum or cut > maximum possible score).
	ErrInvalidCut = errors.New("psychometrics: invalid cut")
)

// DecisionConsistency describes how consistently a test classifies candidates
// as pass or fail over two hypothetical independent administrations
// (consistency) and how often that classification matches the one their true
// scores would give (accuracy). Each method documents how it estimates the
// fields; a field that a method does not define is NaN.
type DecisionConsistency struct {
	Agreement float64 // p0: probability of the same decision on both administrations
	Kappa     float64 // Cohen's kappa, (p0 − pc)/(1 − pc)
	Chance    float64 // pc: agreement expected by chance from the pass rate
	Accuracy  float64 // probability that the decision matches the true-score decision
	FalsePass float64 // probability of passing with a true score below the cut (false positive)
	FalseFail float64 // probability of failing with a true score at or above the cut (false negative)
}

// Subkoviak returns the single-administration decision consistency of a
// pass/fail decision under the binomial error model of Subkoviak (1976).
// scores are the candidates' raw (number-correct) scores on a test of items
// dichotomous items; a candidate passes when score ≥ cut, that is at
// c = ⌈cut⌉ or above, since scores are integers. reliability is the test's
// reliability coefficient (Subkoviak used KR-21; KR-20 or alpha are common).
//
// With n = items, group mean x̄ and reliability ρ, candidate i's true
// proportion correct is estimated by Kelley's regression, and their
// probability of passing by the binomial model:
//
//	p̂_i = ρ·x_i/n + (1 − ρ)·x̄/n
//	P_i = Pr(X ≥ c | X ~ Binomial(n, p̂_i)) = I_{p̂_i}(c, n − c + 1)
//	p0  = (1/N) Σ_i [P_i² + (1 − P_i)²]
//	pc  = P̄² + (1 − P̄)²,  P̄ = (1/N) Σ_i P_i
//	κ   = (p0 − pc) / (1 − pc)
//
// where I is the regularized incomplete beta function. See Subkoviak (1976)
// and Crocker & Algina (1986), ch. 9. Kappa is NaN when Chance is 1, that is
// when every candidate surely passes or surely fails. The method estimates
// consistency only: Accuracy, FalsePass and FalseFail are NaN (see
// LivingstonLewis for accuracy from raw scores).
//
// Subkoviak returns an error wrapping ErrInvalidScore if a score is NaN, not
// an integer or outside [0, items]; ErrInvalidReliability if reliability is
// NaN or outside [0, 1]; ErrInvalidCut if cut is NaN, cut ≤ 0 or cut > items.
// It panics if scores is empty or items < 1.
func Subkoviak(scores []float64, items int, cut float64, reliability float64) (DecisionConsistency, error) {
	if len(scores) == 0 {
		panic("psychometrics: no scores")
	}
	if items < 1 {
		panic("psychometrics: items must be positive")
	}
	n := float64(items)
	if math.IsNaN(reliability) || reliability < 0 || reliability > 1 {
		return DecisionConsistency{}, fmt.Errorf("%w: %v not in [0, 1]", ErrInvalidReliability, reliability)
	}
	if math.IsNaN(cut) || cut <= 0 || cut > n {
		return DecisionConsistency{}, fmt.Errorf("%w: %v not in (0, %d]", ErrInvalidCut, cut, items)
	}
	var sum float64
	for i, x := range scores {
		if math.IsNaN(x) || x < 0 || x > n || x != math.Trunc(x) {
			return DecisionConsistency{}, fmt.Errorf("%w: candidate %d: %v is not an integer in [0, %d]", ErrInvalidScore, i, x, items)
		}
		sum += x
	}
	mean := sum / float64(len(scores))
	c := int(math.Ceil(cut))

	var agree, pass float64
	for _, x := range scores {
		p := reliability*x/n + (1-reliability)*mean/n
		pi := binomialUpperTail(items, c, p)
		agree += pi*pi + (1-pi)*(1-pi)
		pass += pi
	}
	count := float64(len(scores))
	p0 := agree / count
	pbar := pass / count
	pc := pbar*pbar + (1-pbar)*(1-pbar)
	kappa := math.NaN()
	if pc < 1 {
		kappa = (p0 - pc) / (1 - pc)
	}
	nan := math.NaN()
	return DecisionConsistency{Agreement: p0, Kappa: kappa, Chance: pc, Accuracy: nan, FalsePass: nan, FalseFail: nan}, nil
}

// binomialUpperTail returns Pr(X ≥ c) for X ~ Binomial(n, p), 1 ≤ c ≤ n,
// through the identity Pr(X ≥ c) = I_p(c, n − c + 1).
func binomialUpperTail(n, c int, p float64) float64 {
	switch {
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	return mathext.RegIncBeta(float64(c), float64(n-c+1), p)
}
