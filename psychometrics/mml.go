package psychometrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Sentinel errors for item calibration.
var (
	// ErrConstantItem is returned when an item to be estimated was answered
	// correctly by every person administered it, by none, or was administered
	// to nobody: its parameters have no finite maximum-likelihood estimate.
	ErrConstantItem = errors.New("psychometrics: item has no response variance")
	// ErrDiverged is returned when the EM iterations produce a non-finite
	// parameter or log-likelihood.
	ErrDiverged = errors.New("psychometrics: calibration diverged")
)

// Model is an item response model that CalibrateMML can fit. The zero value
// is the 2PL model.
type Model int

const (
	// Model2PL is the two-parameter logistic model: a slope and a difficulty
	// per item, C = 0.
	Model2PL Model = iota
	// Model1PL is the one-parameter logistic model: one slope common to all
	// estimated items, a difficulty per item, C = 0 (R ltm's rasch() with a
	// free discrimination).
	Model1PL
	// Model3PL is the three-parameter logistic model: a slope, a difficulty
	// and a lower asymptote (pseudo-guessing) per item.
	Model3PL
	// ModelRasch is the Rasch model under MML: A = 1 and C = 0 for every item,
	// a difficulty per item, and the ability distribution of the quadrature
	// (N(0, 1) by default). Model1PL is the same model with the ability SD
	// free, carried by its common slope.
	ModelRasch
)

// String returns the conventional name of the model.
func (m Model) String() string {
	switch m {
	case Model2PL:
		return "2PL"
	case Model1PL:
		return "1PL"
	case Model3PL:
		return "3PL"
	case ModelRasch:
		return "Rasch"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// LogNormalPrior is a log-normal prior on an item slope: log a ~ N(Mu, Sigma²).
// BILOG-MG's default slope prior is LogNormalPrior{Mu: 0, Sigma: 0.5}.
type LogNormalPrior struct {
	Mu, Sigma float64
}

// logDensity returns log p(a), −Inf for a ≤ 0.
func (p *LogNormalPrior) logDensity(a float64) float64 {
	if !(a > 0) {
		return math.Inf(-1)
	}
	z := (math.Log(a) - p.Mu) / p.Sigma
	return -math.Log(a) - math.Log(p.Sigma) - 0.5*math.Log(2*math.Pi) - z*z/2
}

// derivs returns the first and second derivatives of log p(a) in a.
func (p *LogNormalPrior) derivs(a float64) (d1, d2 float64) {
	s2 := p.Sigma * p.Sigma
	u := math.Log(a) - p.Mu
	d1 = -1/a - u/(s2*a)
	d2 = 1/(a*a) - 1/(s2*a*a) + u/(s2*a*a)
	return d1, d2
}

// BetaPrior is a Beta(Alpha, Beta) prior on an item's lower asymptote c. Its
// mode is (Alpha − 1)/(Alpha + Beta − 2); Beta(5, 17), with mode 0.2, is
// customary for five-option multiple-choice items, and Beta(1, 1) is flat (no
// prior).
type BetaPrior struct {
	Alpha, Beta float64
}

// logDensity returns log p(c).
func (p *BetaPrior) logDensity(c float64) float64 {
	lb, _ := math.Lgamma(p.Alpha)
	lb2, _ := math.Lgamma(p.Beta)
	lb3, _ := math.Lgamma(p.Alpha + p.Beta)
	return (p.Alpha-1)*math.Log(c) + (p.Beta-1)*math.Log1p(-c) - (lb + lb2 - lb3)
}

// SEMethod selects how CalibrateMML computes standard errors. Both methods
// estimate the information matrix of the internal parameters (a, d = −a·b,
// logit c, and μ, σ when estimated) at the estimates and invert it; the
// standard error of b comes by the delta method and that of c from logit c.
type SEMethod int

const (
	// SECrossProduct, the zero value, inverts the empirical cross-product
	// information Σ_i s_i·s_iᵀ of the persons' score vectors
	// s_i = E[∂ log f(x_i | θ)/∂ψ | x_i] (the XPD approximation to the observed
	// information; Mislevy & Bock, 1990; used by BILOG-MG and R's irtQ), plus
	// the priors' information. It costs one pass over the data.
	SECrossProduct SEMethod = iota
	// SEObserved inverts the observed information, the negative Hessian of
	// the log-posterior (the marginal log-likelihood plus any log-priors) at
	// the estimates: the central-difference derivative (step 1e-4·max(1, |ψ|))
	// of the analytic gradient given by Fisher's identity. It is what R's ltm
	// reports and is preferable in small samples, but costs two E-steps per
	// estimated parameter.
	SEObserved
	// SENone skips the standard errors; they are NaN.
	SENone
)

// EMCycle reports the state of CalibrateMML after an EM cycle to
// MMLSettings.Trace.
type EMCycle struct {
	// Iteration is the number of M-steps done; 0 is the starting values.
	Iteration int
	// LogLik is the marginal log-likelihood at the current estimates,
	// excluding priors.
	LogLik float64
	// LogPosterior is LogLik plus the log-priors (LogLik without priors).
	// EM never decreases it.
	LogPosterior float64
	// MaxChange is the largest absolute change of a parameter in the last
	// M-step (NaN at iteration 0).
	MaxChange float64
}

// MMLSettings configures CalibrateMML. The zero value fits the 2PL model over
// the N(0, 1) ability distribution with 61 rectangular quadrature points, no
// priors, at most 500 EM cycles to a tolerance of 1e-5, and cross-product
// standard errors.
type MMLSettings struct {
	// Model is the item response model; the zero value is Model2PL.
	Model Model

	// Quadrature is the ability distribution; the zero value is
	// NormalQuadrature(61, 0, 1). The weights are normalised to sum to 1.
	Quadrature Quadrature

	// MaxIter is the maximum number of EM cycles; 0 means 500.
	MaxIter int

	// Tol is the convergence tolerance: EM stops when no parameter changes by
	// more than Tol in an M-step. Parameters are measured on the internal
	// scale: the slope a, the intercept d = −a·b, the logit of c and, when
	// estimated, the population mean and SD. 0 means 1e-5.
	Tol float64

	// SlopePrior, if not nil, is a log-normal prior on the slopes (on the
	// common slope for Model1PL; ignored for ModelRasch). nil means no prior.
	SlopePrior *LogNormalPrior

	// GuessPrior is the prior on the lower asymptotes of Model3PL (ignored by
	// the other models). nil means Beta(5, 17): without a prior the 3PL
	// likelihood is nearly flat in c for easy items and the estimates wander.
	// Use &BetaPrior{Alpha: 1, Beta: 1} for maximum likelihood.
	GuessPrior *BetaPrior

	// Fixed holds anchor items by column index: they keep the given
	// parameters, are not estimated, and put the estimated items on their
	// scale.
	Fixed map[int]Item3PL

	// FixPopulation keeps the ability distribution at Quadrature even when
	// there are anchor items. Without anchors the distribution is always
	// fixed, since it sets the scale.
	FixPopulation bool

	// SE selects the standard errors; the zero value is SECrossProduct.
	SE SEMethod

	// Trace, if not nil, is called after each E-step with the state of the
	// iterations.
	Trace func(EMCycle)
}

// ItemSE holds the standard errors of an item's parameters. A parameter that
// was not estimated (fixed by the model or an anchor) has a NaN standard
// error.
type ItemSE struct {
	A, B, C float64
}

// Calibration is the result of CalibrateMML.
type Calibration struct {
	Model Model
	// Items holds the item parameters, estimated or fixed, in column order.
	Items []Item3PL
	// SE holds the standard errors of Items. For Model1PL, A's is that of
	// the common slope, on every estimated item.
	SE []ItemSE
	// Mean and SD describe the ability distribution: estimated when there are
	// anchor items (and FixPopulation is false), otherwise those of the
	// quadrature.
	Mean, SD float64
	// MeanSE and SDSE are the standard errors of Mean and SD, NaN when they
	// are not estimated.
	MeanSE, SDSE float64
	// LogLik is the marginal log-likelihood of the data at the estimates,
	// excluding the priors.
	LogLik float64
	// AIC = −2·LogLik + 2·Parameters and BIC = −2·LogLik + Parameters·ln(Persons).
	AIC, BIC float64
	// Parameters is the number of estimated parameters, including the
	// population mean and SD when they are estimated.
	Parameters int
	// Persons is the number of persons administered at least one item.
	Persons int
	// Iterations is the number of EM cycles (M-steps) done.
	Iterations int
	// Converged reports whether the tolerance was met within MaxIter cycles.
	Converged bool
}

// CalibrateMML estimates the item parameters of a logistic item response
// model (D = 1) by marginal maximum likelihood with the EM algorithm of Bock
// & Aitkin (1981): the abilities are integrated out over a discrete
// distribution (s.Quadrature, by default N(0, 1) on 61 points) and each cycle
// computes the expected numbers of persons n_jq and of correct answers r_jq
// to item j at node θ_q from the posterior of each response pattern
// (E-step), then maximises for each item
//
//	Σ_q r_jq·log P_j(θ_q) + (n_jq − r_jq)·log(1 − P_j(θ_q))
//
// by Newton–Raphson, or Fisher scoring for the 3PL (M-step), with step
// halving so that it never decreases. For Model1PL the common slope is
// updated jointly with the intercepts in one Newton system. With priors the
// M-step maximises the posterior instead (Mislevy, 1986): BILOG-style
// marginal maximum a posteriori estimation. EM stops when no parameter
// changes by more than s.Tol in a cycle.
//
// Identical response patterns are collapsed first. The E-step runs on up to
// GOMAXPROCS goroutines over fixed chunks of patterns whose sums are added in
// a fixed order, so the results do not depend on scheduling or GOMAXPROCS.
// Nodes where a pattern's posterior is below e^−50 of its mode are skipped,
// which changes nothing at double precision.
//
// x is a persons × items matrix of 0/1 responses; NaN marks an item not
// administered, whose cell is left out of the likelihood (missing at random).
// Persons with no administered item are ignored.
//
// With anchors (s.Fixed) the ability distribution is estimated too, unless
// s.FixPopulation: each cycle its mean μ and SD σ are updated to the
// posterior mean and SD of the abilities, the weights of the quadrature being
// reweighted to N(μ, σ²) on the same nodes (Mislevy & Bock, 1990, BILOG's
// "FREE" option). This is what links new items to the anchors' scale; the
// nodes must span the population.
//
// Internally an item is parameterised by the slope a, the intercept
// d = −a·b and γ = logit(c); the difficulty b = −d/a and c are reported.
// Standard errors come from the information matrix of these parameters (see
// SEMethod), b's by the delta method.
//
// CalibrateMML returns an error wrapping ErrNotDichotomous if a response is
// not 0, 1 or NaN, ErrConstantItem if an item to be estimated has no response
// variance, and ErrDiverged if the iterations produce non-finite values.
// Failure to meet the tolerance is not an error: Converged is false. It
// panics if x is empty, if the quadrature has fewer than two nodes, mismatched
// lengths or invalid weights, if an anchor index is out of range or its
// parameters are invalid, if a prior has non-positive parameters, if MaxIter
// or Tol is negative, or if the model or standard-error method is unknown.
//
// References: Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood
// estimation of item parameters: application of an EM algorithm.
// Psychometrika, 46, 443–459. Mislevy, R. J. (1986). Bayes modal estimation
// in item response models. Psychometrika, 51, 177–195. Baker, F. B., & Kim,
// S.-H. (2004). Item Response Theory: Parameter Estimation Techniques (2nd
// ed.), ch. 6–7. Mislevy, R. J., & Bock, R. D. (1990). BILOG 3. Scientific
// Software.
func CalibrateMML(x mat.Matrix, s MMLSettings) (Calibration, error) {
	f, err := newMMLFit(x, s)
	if err != nil {
		return Calibration{}, err
	}
	if err := f.run(); err != nil {
		return Calibration{}, err
	}
	return f.result(), nil
}
