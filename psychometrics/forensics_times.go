package psychometrics

import (
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// ErrTooFewTimes is returned by FitResponseTimes when an item has fewer than
// two observed response times or a person has none, so that the item's
// precision or the person's speed cannot be estimated.
var ErrTooFewTimes = errors.New("psychometrics: too few response times")

// ResponseTimeFit is the lognormal response-time model of van der Linden
// (2006) fitted to a persons × items matrix of response times.
type ResponseTimeFit struct {
	Beta     []float64  // item time intensity β_j, in log seconds
	Alpha    []float64  // item time precision α_j: 1 / the SD of log T_ij given τ_i
	Median   []float64  // median observed time of each item, in seconds
	Tau      []float64  // person speed τ_i, centred at zero (larger is faster); NaN for a person left out (Forensics)
	SigmaTau float64    // a robust SD of τ: 1.4826 × the median absolute deviation of Tau
	Residual *mat.Dense // standardized residuals z_ij = α_j (ln t_ij − β_j + τ_i); NaN where no time
}

// FitResponseTimes fits the lognormal response-time model (van der Linden,
// 2006)
//
//	ln T_ij = β_j − τ_i + ε_ij,   ε_ij ~ N(0, α_j⁻²)
//
// to times, a persons × items matrix of response times in seconds (NaN for
// no time). β and τ are the least-squares estimates of the two-way additive
// model (the ML estimates when the α_j are equal), found by alternating
//
//	τ_i = mean_j (β_j − ln t_ij),   β_j = mean_i (ln t_ij + τ_i)
//
// over the observed cells, with τ centred to mean zero after each sweep
// (the model's identification), until no estimate moves by more than 1e-10.
// With complete data one sweep gives the closed form β_j = the item's mean
// log time and τ_i = the grand mean minus the person's mean log time. The
// precision is then the ML (moment) estimate from the residuals,
//
//	α_j = (n_j / Σ_i (ln t_ij − β_j + τ_i)²)^½
//
// over the n_j persons with a time on item j (van der Linden, 2006, sec. 4).
//
// FitResponseTimes returns ErrTooFewTimes if an item has fewer than two
// times or a person has none. It panics if times is empty or holds a time
// that is not positive and finite (other than NaN).
func FitResponseTimes(times *mat.Dense) (ResponseTimeFit, error) {
	n, k := times.Dims()
	y := mat.NewDense(n, k, nil)
	rowN := make([]int, n)
	colN := make([]int, k)
	for i := range n {
		for j := range k {
			t := times.At(i, j)
			switch {
			case math.IsNaN(t):
				y.Set(i, j, math.NaN())
				continue
			case !(t > 0) || math.IsInf(t, 0):
				panic("psychometrics: response time not positive and finite")
			}
			y.Set(i, j, math.Log(t))
			rowN[i]++
			colN[j]++
		}
	}
	for _, c := range colN {
		if c < 2 {
			return ResponseTimeFit{}, ErrTooFewTimes
		}
	}
	for _, c := range rowN {
		if c == 0 {
			return ResponseTimeFit{}, ErrTooFewTimes
		}
	}
	beta := make([]float64, k)
	tau := make([]float64, n)
	for sweep := 0; sweep < 10000; sweep++ {
		moved := 0.0
		for j := range k {
			var s float64
			for i := range n {
				if v := y.At(i, j); !math.IsNaN(v) {
					s += v + tau[i]
				}
			}
			b := s / float64(colN[j])
			moved = math.Max(moved, math.Abs(b-beta[j]))
			beta[j] = b
		}
		var mean float64
		for i := range n {
			var s float64
			row := y.RawRowView(i)
			for j, v := range row {
				if !math.IsNaN(v) {
					s += beta[j] - v
				}
			}
			tau[i] = s / float64(rowN[i])
			mean += tau[i]
		}
		mean /= float64(n)
		for i := range tau {
			tau[i] -= mean
		}
		if moved < 1e-10 && sweep > 0 {
			break
		}
	}
	// Recompute β for the centred τ so both satisfy the normal equations.
	for j := range k {
		var s float64
		for i := range n {
			if v := y.At(i, j); !math.IsNaN(v) {
				s += v + tau[i]
			}
		}
		beta[j] = s / float64(colN[j])
	}
	alpha := make([]float64, k)
	median := make([]float64, k)
	col := make([]float64, 0, n)
	for j := range k {
		var ss float64
		col = col[:0]
		for i := range n {
			v := y.At(i, j)
			if math.IsNaN(v) {
				continue
			}
			r := v - beta[j] + tau[i]
			ss += r * r
			col = append(col, times.At(i, j))
		}
		alpha[j] = math.Sqrt(float64(colN[j]) / ss)
		median[j] = forensicsMedian(col)
	}
	res := mat.NewDense(n, k, nil)
	for i := range n {
		for j := range k {
			v := y.At(i, j)
			if math.IsNaN(v) {
				res.Set(i, j, math.NaN())
				continue
			}
			res.Set(i, j, alpha[j]*(v-beta[j]+tau[i]))
		}
	}
	dev := slices.Clone(tau)
	mt := forensicsMedian(dev)
	for i, t := range tau {
		dev[i] = math.Abs(t - mt)
	}
	return ResponseTimeFit{
		Beta: beta, Alpha: alpha, Median: median, Tau: tau,
		SigmaTau: 1.4826 * forensicsMedian(dev), Residual: res,
	}, nil
}

// forensicsMedian returns the median of xs (reordering them), NaN if empty.
func forensicsMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// TimeIndicators are one person's response-time indicators under a
// ResponseTimeFit.
type TimeIndicators struct {
	Timed int // responses with a time

	// Fast is the number of responses with residual z_ij < −FastZ, and
	// FastShare that number over Timed.
	Fast      int
	FastShare float64

	// Lt is the lognormal person-fit statistic l_t = Σ_j z_ij², χ²(Timed)
	// under the model (van der Linden & Guo, 2008), and LtP its upper-tail
	// p-value.
	Lt  float64
	LtP float64

	// HardCorrect is the number of correct, timed responses to hard items
	// (see TimeIndicatorsFor); PreknowledgeZ compares their mean residual
	// with that of the person's other timed responses and PreknowledgeP is
	// its lower-tail normal p-value. NaN when either set is empty.
	HardCorrect   int
	PreknowledgeZ float64
	PreknowledgeP float64

	// Rapid is the number of responses faster than the item's rapid-guessing
	// threshold, RapidShare that number over Timed, RapidCorrect how many of
	// them were correct, and RapidP the probability of at least Rapid rapid
	// responses for a candidate of typical speed (see TimeIndicatorsFor); 1
	// when Rapid is 0.
	Rapid        int
	RapidShare   float64
	RapidCorrect int
	RapidP       float64
}

// TimeSettings are the thresholds of TimeIndicatorsFor. The zero value
// selects the defaults.
type TimeSettings struct {
	// FastZ is the residual below −FastZ that counts a response as fast;
	// default 1.96.
	FastZ float64
	// RapidFraction sets each item's rapid-guessing threshold as this
	// fraction of its median time (the normative threshold NT10 of Wise &
	// Ma, 2012, at the default 0.10).
	RapidFraction float64
}

func (s TimeSettings) withDefaults() TimeSettings {
	if s.FastZ == 0 {
		s.FastZ = 1.96
	}
	if s.RapidFraction == 0 {
		s.RapidFraction = 0.10
	}
	return s
}

// TimeIndicatorsFor returns the response-time indicators of every person
// under fit, given the persons' 0/1 scores (NaN for not administered; a
// scored matrix of the same shape as the times) and the hard items: those
// whose proportion correct (over persons with a score) is at most the median
// over items — the harder half.
//
// Preknowledge (item compromise): a candidate who knows some items answers
// them correctly and much faster than their own speed predicts, and the
// effect shows most on hard items, which honest candidates of the same speed
// seldom answer correctly at all. With A the person's correct, timed
// responses to hard items and B their other timed responses,
//
//	PreknowledgeZ = (mean_A z − mean_B z) / √(1/|A| + 1/|B|)
//
// is approximately N(0, 1) under the model (the residuals are unit-variance
// and independent given τ), whatever the person's speed; PreknowledgeP =
// Φ(PreknowledgeZ). Comparing within the person keeps the statistic
// valid when a fast preknowledge pattern pulls τ̂ up.
//
// Rapid guessing: a response is rapid when its time is below
// s.RapidFraction × the item's median time (Wise & Ma, 2012). A rapid guess
// is a property of the response, not of a model residual — a person who
// guesses throughout is fitted well by a large τ — so RapidP refers to the
// population: for a person of speed τ the chance of a rapid response to
// item j is p_j(τ) = Φ(α_j (ln c_j − β_j + τ)), c_j the threshold, and
//
//	RapidP = ∫ P(R ≥ r | p(τ)) dN(τ; 0, SigmaTau²)
//
// with P(R ≥ r | p) the Poisson-binomial upper tail (PoissonBinomialTail),
// integrated on 61 rectangular nodes over ±6 SD (NormalQuadrature). Using
// the robust SigmaTau keeps the guessers themselves from widening the
// population of speeds.
//
// A person without a residual (no time) gets zero counts and NaN shares
// and p-values. TimeIndicatorsFor panics if scored and fit.Residual differ
// in shape or a score is not 0, 1 or NaN.
func TimeIndicatorsFor(fit ResponseTimeFit, scored *mat.Dense, s TimeSettings) []TimeIndicators {
	s = s.withDefaults()
	n, k := fit.Residual.Dims()
	if r, c := scored.Dims(); r != n || c != k {
		panic("psychometrics: scores and response times differ in shape")
	}
	pv := make([]float64, k)
	for j := range k {
		var sum, cnt float64
		for i := range n {
			x := scored.At(i, j)
			switch {
			case math.IsNaN(x):
				continue
			case x != 0 && x != 1:
				panic("psychometrics: score not 0, 1 or NaN")
			}
			sum += x
			cnt++
		}
		pv[j] = sum / cnt
	}
	medP := forensicsMedian(slices.DeleteFunc(slices.Clone(pv), math.IsNaN))
	hard := make([]bool, k)
	logThr := make([]float64, k)
	for j := range k {
		hard[j] = pv[j] <= medP
		logThr[j] = math.Log(s.RapidFraction * fit.Median[j])
	}
	q := Quadrature{Nodes: []float64{0}, Weights: []float64{1}}
	if fit.SigmaTau > 0 {
		q = NormalQuadrature(61, 0, fit.SigmaTau)
	}
	std := distuv.UnitNormal
	out := make([]TimeIndicators, n)
	timed := make([]int, 0, k)
	p := make([]float64, k)
	for i := range n {
		var ti TimeIndicators
		var sumA, sumB float64
		var nB int
		timed = timed[:0]
		for j := range k {
			z := fit.Residual.At(i, j)
			if math.IsNaN(z) {
				continue
			}
			ti.Timed++
			ti.Lt += z * z
			if z < -s.FastZ {
				ti.Fast++
			}
			x := scored.At(i, j)
			if x == 1 && hard[j] {
				ti.HardCorrect++
				sumA += z
			} else {
				nB++
				sumB += z
			}
			// The time itself: ln t = z/α + β − τ.
			if z/fit.Alpha[j]+fit.Beta[j]-fit.Tau[i] < logThr[j] {
				ti.Rapid++
				if x == 1 {
					ti.RapidCorrect++
				}
			}
			timed = append(timed, j)
		}
		ti.FastShare = float64(ti.Fast) / float64(ti.Timed)
		ti.RapidShare = float64(ti.Rapid) / float64(ti.Timed)
		ti.PreknowledgeZ, ti.PreknowledgeP = math.NaN(), math.NaN()
		if ti.Timed == 0 {
			ti.LtP, ti.RapidP = math.NaN(), math.NaN()
			out[i] = ti
			continue
		}
		ti.LtP = distuv.ChiSquared{K: float64(ti.Timed)}.Survival(ti.Lt)
		if ti.HardCorrect > 0 && nB > 0 {
			nA := float64(ti.HardCorrect)
			ti.PreknowledgeZ = (sumA/nA - sumB/float64(nB)) / math.Sqrt(1/nA+1/float64(nB))
			ti.PreknowledgeP = std.CDF(ti.PreknowledgeZ)
		}
		ti.RapidP = 1
		if ti.Rapid > 0 {
			var tail float64
			for node, tau := range q.Nodes {
				for m, j := range timed {
					p[m] = std.CDF(fit.Alpha[j] * (logThr[j] - fit.Beta[j] + tau))
				}
				tail += q.Weights[node] * PoissonBinomialTail(p[:len(timed)], ti.Rapid)
			}
			ti.RapidP = math.Min(1, tail)
		}
		out[i] = ti
	}
	return out
}
