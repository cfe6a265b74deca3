package psychometrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
)

// Linking and equating. The main reference is Kolen, M. J., & Brennan, R. L.
// (2014), Test Equating, Scaling, and Linking: Methods and Practices (3rd
// ed.), Springer: chapter 2 for equipercentile equating under the random
// groups design, chapter 6 for IRT scale linking and true-score equating.

// Sentinel errors of linking and equating.
var (
	// ErrLinkingFailed is returned when the Stocking–Lord criterion could
	// not be minimised.
	ErrLinkingFailed = errors.New("psychometrics: linking failed")
	// ErrInvalidFrequency is returned when a score frequency is negative,
	// NaN or infinite, or a distribution has no observations.
	ErrInvalidFrequency = errors.New("psychometrics: invalid frequency")
)

// Linking holds the constants of a linear IRT scale transformation from a
// source scale to a target scale,
//
//	θ_target = A·θ_source + B,
//
// under which an item's parameters become a/A, A·b + B and c (Kolen &
// Brennan, 2014, ch. 6), so that its response function is unchanged.
type Linking struct {
	A, B float64
}

// Theta returns theta, on the source scale, on the target scale: A·theta + B.
func (l Linking) Theta(theta float64) float64 { return l.A*theta + l.B }

// Item returns the item's parameters, on the source scale, on the target
// scale: {A: it.A/l.A, B: l.A·it.B + l.B, C: it.C}.
func (l Linking) Item(it Item3PL) Item3PL {
	return Item3PL{A: it.A / l.A, B: l.A*it.B + l.B, C: it.C}
}

// Items returns the items transformed by Item, in a new slice.
func (l Linking) Items(items []Item3PL) []Item3PL {
	out := make([]Item3PL, len(items))
	for j, it := range items {
		out[j] = l.Item(it)
	}
	return out
}

// checkCommonItems panics unless source and target are non-empty and of equal
// length.
func checkCommonItems(source, target []Item3PL) {
	if len(source) == 0 {
		panic("psychometrics: no common items")
	}
	if len(source) != len(target) {
		panic(fmt.Sprintf("psychometrics: %d source items, %d target items", len(source), len(target)))
	}
}

// MeanMean returns the mean/mean linking constants (Loyd & Hoover, 1980) of
// the common items, whose parameters were estimated separately on the source
// scale (source) and on the target scale (target); source[j] and target[j]
// are the same item. With μ the mean over common items,
//
//	A = μ(a_source) / μ(a_target),  B = μ(b_target) − A·μ(b_source)
//
// (Kolen & Brennan, 2014, ch. 6). The c parameters are not used. MeanMean
// panics if source is empty or the lengths differ.
func MeanMean(source, target []Item3PL) Linking {
	checkCommonItems(source, target)
	var as, at, bs, bt float64
	for j := range source {
		as += source[j].A
		at += target[j].A
		bs += source[j].B
		bt += target[j].B
	}
	n := float64(len(source))
	a := as / at
	return Linking{A: a, B: bt/n - a*bs/n}
}

// MeanSigma returns the mean/sigma linking constants (Marco, 1977) of the
// common items (see MeanMean for the arguments). With μ and σ the mean and
// standard deviation over common items,
//
//	A = σ(b_target) / σ(b_source),  B = μ(b_target) − A·μ(b_source)
//
// (Kolen & Brennan, 2014, ch. 6); the ratio is the same whichever
// denominator σ uses. A and B are NaN when the source difficulties are all
// equal (a single common item, for instance). MeanSigma panics if source is
// empty or the lengths differ.
func MeanSigma(source, target []Item3PL) Linking {
	checkCommonItems(source, target)
	bs := make([]float64, len(source))
	bt := make([]float64, len(target))
	for j := range source {
		bs[j], bt[j] = source[j].B, target[j].B
	}
	ms, ss := stat.PopMeanStdDev(bs, nil)
	mt, st := stat.PopMeanStdDev(bt, nil)
	if ss == 0 {
		return Linking{A: math.NaN(), B: math.NaN()}
	}
	a := st / ss
	return Linking{A: a, B: mt - a*ms}
}

// StockingLordSettings adjusts StockingLord. The zero value uses the
// 61-point normal quadrature and the mean/sigma starting values.
type StockingLordSettings struct {
	// Quadrature holds the θ points, on the target scale, at which the test
	// characteristic curves are compared and their weights. A zero
	// Quadrature means NormalQuadrature(61, 0, 1): the points −6..6 by 0.2
	// weighted by the standard normal density.
	Quadrature Quadrature
	// Start is the starting point of the minimisation. nil means the
	// MeanSigma constants, or A = 1, B = 0 when those are not a positive,
	// finite A and a finite B.
	Start *Linking
}

// StockingLord returns the linking constants of the characteristic-curve
// method of Stocking & Lord (1983): the A and B that minimise the weighted
// squared difference between the test characteristic curve of the common
// items on the target scale and that of the source estimates transformed to
// the target scale,
//
//	SL(A, B) = Σ_q w_q [Σ_j P(θ_q; a_Tj, b_Tj, c_Tj) − Σ_j P(θ_q; a_Sj/A, A·b_Sj + B, c_Sj)]²,
//
// over the quadrature points θ_q on the target scale with weights w_q
// (Kolen & Brennan, 2014, ch. 6, the non-symmetric criterion). The
// minimisation is over (ln A, B), which keeps A positive, by BFGS with the
// analytic gradient (gonum/optimize), stopping when the gradient's largest
// component falls below 1e-10 or the criterion stops decreasing; the result
// is accepted when the gradient there is below 1e-7.
//
// settings may be nil for the defaults. StockingLord returns an error
// wrapping ErrLinkingFailed if the minimisation fails. It panics if source is
// empty or the lengths differ, if an item has A ≤ 0, a NaN or infinite A or
// B, or a C outside [0, 1), or if the quadrature is empty or its Nodes and
// Weights differ in length.
func StockingLord(source, target []Item3PL, settings *StockingLordSettings) (Linking, error) {
	checkCommonItems(source, target)
	checkItemParameters(source)
	checkItemParameters(target)
	var s StockingLordSettings
	if settings != nil {
		s = *settings
	}
	q := s.Quadrature
	if q.Nodes == nil && q.Weights == nil {
		q = NormalQuadrature(61, 0, 1)
	}
	if len(q.Nodes) == 0 || len(q.Nodes) != len(q.Weights) {
		panic("psychometrics: quadrature needs as many weights as nodes, at least one")
	}
	start := Linking{A: 1}
	if s.Start != nil {
		start = *s.Start
		if !(start.A > 0) || math.IsInf(start.A, 0) || math.IsNaN(start.B) || math.IsInf(start.B, 0) {
			panic("psychometrics: Stocking–Lord start needs a positive, finite A and a finite B")
		}
	} else if ms := MeanSigma(source, target); ms.A > 0 && !math.IsInf(ms.A, 0) && !math.IsInf(ms.B, 0) {
		start = ms
	}

	tauT := make([]float64, len(q.Nodes))
	for i, th := range q.Nodes {
		tauT[i] = TrueScore(target, th)
	}
	// eval returns SL at x = (ln A, B) and, if grad is not nil, stores the
	// gradient of SL with respect to x there.
	eval := func(x, grad []float64) float64 {
		a, b := math.Exp(x[0]), x[1]
		var f, g0, g1 float64
		for i, th := range q.Nodes {
			var tau, dLogA, dB float64
			for _, it := range source {
				z := it.A*(th-b)/a - it.A*it.B
				sig := 1 / (1 + math.Exp(-z))
				tau += it.C + (1-it.C)*sig
				dp := (1 - it.C) * sig * (1 - sig)
				dLogA += dp * (-it.A * (th - b) / a)
				dB += dp * (-it.A / a)
			}
			diff := tauT[i] - tau
			f += q.Weights[i] * diff * diff
			g0 -= 2 * q.Weights[i] * diff * dLogA
			g1 -= 2 * q.Weights[i] * diff * dB
		}
		if grad != nil {
			grad[0], grad[1] = g0, g1
		}
		return f
	}
	problem := optimize.Problem{
		Func: func(x []float64) float64 { return eval(x, nil) },
		Grad: func(grad, x []float64) { eval(x, grad) },
	}
	opt := &optimize.Settings{
		GradientThreshold: 1e-10,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 50},
		MajorIterations:   1000,
	}
	res, err := optimize.Minimize(problem, []float64{math.Log(start.A), start.B}, opt, &optimize.BFGS{})
	if err != nil && res == nil {
		return Linking{}, fmt.Errorf("%w: %v", ErrLinkingFailed, err)
	}
	// A line search can stall within rounding of the minimum; accept the
	// point when its gradient is negligible.
	g := make([]float64, 2)
	eval(res.X, g)
	if math.Max(math.Abs(g[0]), math.Abs(g[1])) > 1e-7 {
		return Linking{}, fmt.Errorf("%w: %v, gradient %v", ErrLinkingFailed, res.Status, g)
	}
	return Linking{A: math.Exp(res.X[0]), B: res.X[1]}, nil
}

// TrueScoreEquatingResult is the IRT true-score equating of form X to form
// Y, indexed by the form X raw score x = 0, 1, …, n_X.
type TrueScoreEquatingResult struct {
	// Theta[x] is the θ at which form X's true score is x, τ_X(θ) = x; NaN
	// where no finite θ has that true score (x ≤ Σ_j c_Xj and x = n_X).
	Theta []float64
	// Equated[x] is the form Y equivalent of x.
	Equated []float64
}

// TrueScoreEquating returns the IRT true-score equating of form X raw scores
// to the form Y scale (Lord, 1980, ch. 13; Kolen & Brennan, 2014, ch. 6),
// the items of both forms being on the same θ scale (link them first, with
// StockingLord and Linking.Items for instance). The true score of a form is
// its test characteristic curve τ(θ) = Σ_j P_j(θ) (TrueScore). For each
// integer x with Σ_j c_Xj < x < n_X, the θ with τ_X(θ) = x is found by
// safeguarded Newton–Raphson, to machine precision, and x's equivalent is
// τ_Y(θ). Scores that no θ reaches use the ad hoc procedure Kolen &
// Brennan (2014, ch. 6) give, after Kolen (1981): for 0 ≤ x ≤ Σ_j c_Xj the
// equivalent is linear between 0 ↦ 0 and Σ_j c_Xj ↦ Σ_j c_Yj,
//
//	e_Y(x) = x · Σ_j c_Yj / Σ_j c_Xj,
//
// (e_Y(0) = 0 when every c is zero) and n_X ↦ n_Y.
//
// TrueScoreEquating panics if either form is empty or an item has A ≤ 0, a
// NaN or infinite A or B, or a C outside [0, 1).
func TrueScoreEquating(formX, formY []Item3PL) TrueScoreEquatingResult {
	if len(formX) == 0 || len(formY) == 0 {
		panic("psychometrics: no items")
	}
	checkItemParameters(formX)
	checkItemParameters(formY)
	var cx, cy float64
	for _, it := range formX {
		cx += it.C
	}
	for _, it := range formY {
		cy += it.C
	}
	nx := len(formX)
	res := TrueScoreEquatingResult{
		Theta:   make([]float64, nx+1),
		Equated: make([]float64, nx+1),
	}
	for x := range nx + 1 {
		fx := float64(x)
		switch {
		case x == nx:
			res.Theta[x] = math.NaN()
			res.Equated[x] = float64(len(formY))
		case fx <= cx:
			res.Theta[x] = math.NaN()
			if cx > 0 {
				res.Equated[x] = fx * cy / cx
			}
		default:
			th := trueScoreTheta(formX, fx)
			res.Theta[x] = th
			res.Equated[x] = TrueScore(formY, th)
		}
	}
	return res
}

// trueScoreTheta returns the θ at which TrueScore(items, θ) = x, for Σc < x < n.
func trueScoreTheta(items []Item3PL, x float64) float64 {
	f := func(th float64) (float64, float64) {
		var tau, d float64
		for _, it := range items {
			p := it.P(th)
			tau += p
			d += it.A * (p - it.C) * (1 - p) / (1 - it.C)
		}
		return tau - x, d
	}
	// Bracket the root: τ is increasing in θ.
	lo, hi := -1.0, 1.0
	for v, _ := f(lo); v > 0; v, _ = f(lo) {
		lo *= 2
	}
	for v, _ := f(hi); v < 0; v, _ = f(hi) {
		hi *= 2
	}
	th := (lo + hi) / 2
	for range 200 {
		v, d := f(th)
		if v == 0 {
			return th
		}
		if v < 0 {
			lo = th
		} else {
			hi = th
		}
		next := th - v/d
		if !(next > lo && next < hi) {
			next = lo + (hi-lo)/2
		}
		if math.Abs(next-th) <= 1e-15*math.Max(1, math.Abs(th)) {
			return next
		}
		th = next
	}
	return th
}

// Equipercentile returns the random-groups equipercentile equivalents on
// form Y of every form X raw score x = 0, 1, …, n_X, without smoothing
// (Kolen & Brennan, 2014, ch. 2). freqX[x] is the number (or proportion) of
// form X takers with score x, and freqY[y] likewise for form Y; the two
// groups are random samples of one population. With relative frequencies f
// and g and their cumulative distributions F and G, the percentile rank of
// an integer score uses the usual continuization, each score spread
// uniformly over [x − ½, x + ½],
//
//	P(x) = 100 [F(x − 1) + f(x)/2],
//
// and its equivalent is the form Y score with the same percentile rank,
//
//	e_Y(x) = P_Y⁻¹(P(x)) = (P(x)/100 − G(y*_U − 1)) / g(y*_U) + y*_U − ½,
//
// where y*_U is the smallest integer score with G(y*_U) > P(x)/100, and
// e_Y(x) = n_Y + ½ when P(x) = 100. Taking the upper score y*_U keeps the
// inverse defined when form Y has scores nobody obtained (Kolen & Brennan,
// 2014, ch. 2). Equivalents lie in [−½, n_Y + ½].
//
// Equipercentile returns an error wrapping ErrInvalidFrequency if a
// frequency is negative, NaN or infinite, or a form's frequencies sum to
// zero. It panics if freqX or freqY is empty.
func Equipercentile(freqX, freqY []float64) ([]float64, error) {
	if len(freqX) == 0 || len(freqY) == 0 {
		panic("psychometrics: empty score distribution")
	}
	cumX, err := cumulativeFreq(freqX, "X")
	if err != nil {
		return nil, err
	}
	cumY, err := cumulativeFreq(freqY, "Y")
	if err != nil {
		return nil, err
	}
	totX, totY := cumX[len(cumX)-1], cumY[len(cumY)-1]
	kY := len(freqY) - 1
	out := make([]float64, len(freqX))
	for x := range freqX {
		var below float64
		if x > 0 {
			below = cumX[x-1]
		}
		pr := (below + freqX[x]/2) / totX // P(x)/100
		if pr >= 1 {
			out[x] = float64(kY) + 0.5
			continue
		}
		y := 0
		for cumY[y]/totY <= pr {
			y++
		}
		var gBelow float64
		if y > 0 {
			gBelow = cumY[y-1] / totY
		}
		out[x] = (pr-gBelow)/(freqY[y]/totY) + float64(y) - 0.5
	}
	return out, nil
}

// cumulativeFreq returns the running sums of freq, or an error wrapping
// ErrInvalidFrequency.
func cumulativeFreq(freq []float64, form string) ([]float64, error) {
	cum := make([]float64, len(freq))
	var sum float64
	for i, f := range freq {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return nil, fmt.Errorf("%w: form %s, score %d: %v", ErrInvalidFrequency, form, i, f)
		}
		sum += f
		cum[i] = sum
	}
	if sum == 0 {
		return nil, fmt.Errorf("%w: form %s has no observations", ErrInvalidFrequency, form)
	}
	return cum, nil
}
