package psychometrics

// References for the Rasch functions (rasch.go, rasch_fit.go):
//
//   - Andersen, E. B. (1970). Asymptotic properties of conditional
//     maximum-likelihood estimators. Journal of the Royal Statistical
//     Society, Series B, 32(2), 283–301.
//   - Fischer, G. H. (1981). On the existence and uniqueness of
//     maximum-likelihood estimates in the Rasch model. Psychometrika, 46(1),
//     59–77.
//   - Fischer, G. H., & Molenaar, I. W. (Eds.) (1995). Rasch Models:
//     Foundations, Recent Developments, and Applications. Springer. Ch. 3:
//     Molenaar, I. W., Estimation of item parameters.
//   - Liou, M. (1994). More on the computation of higher-order derivatives of
//     the elementary symmetric functions in the Rasch model. Applied
//     Psychological Measurement, 18(1), 53–62.
//   - Mair, P., & Hatzinger, R. (2007). Extended Rasch modeling: The eRm
//     package for the application of IRT models in R. Journal of Statistical
//     Software, 20(9).
//   - Verhelst, N. D., Glas, C. A. W., & van der Sluis, A. (1984). Estimation
//     problems in the Rasch model: The basic symmetric functions.
//     Computational Statistics Quarterly, 1(3), 245–262.
//   - Wilson, E. B., & Hilferty, M. M. (1931). The distribution of
//     chi-square. Proceedings of the National Academy of Sciences, 17(12),
//     684–688.
//   - Wright, B. D., & Masters, G. N. (1982). Rating Scale Analysis. MESA
//     Press.
//   - Wright, B. D., & Stone, M. H. (1979). Best Test Design. MESA Press.

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Sentinel errors for Rasch calibration.
var (
	// ErrRaschInvalidResponse is returned when a response is not 0, 1 or
	// NaN (not administered).
	ErrRaschInvalidResponse = errors.New("psychometrics: Rasch response is not 0, 1 or NaN")
	// ErrRaschNoEstimate is returned when the data have no finite
	// conditional maximum likelihood estimate: an item answered correctly
	// by all or by none of the persons used, an item administered to none
	// of them, no person with a non-extreme score, or a design whose
	// booklets do not link all the items.
	ErrRaschNoEstimate = errors.New("psychometrics: no finite Rasch CML estimate")
)

// RaschSettings controls CalibrateRasch. The zero value gives the defaults.
type RaschSettings struct {
	// MaxIter is the maximum number of Newton–Raphson iterations; 0 means
	// 100.
	MaxIter int
	// Tol is the convergence tolerance: the iteration stops when the
	// largest absolute change of a difficulty in a full Newton–Raphson
	// step is below Tol. 0 means 1e-8.
	Tol float64
}

// RaschCalibration is the result of CalibrateRasch.
type RaschCalibration struct {
	// B holds the item difficulties b_j, normalised to sum to zero.
	B []float64
	// SE holds the standard errors of B under the sum-zero normalisation,
	// the square roots of the diagonal of Cov.
	SE []float64
	// Cov is the k × k asymptotic covariance matrix of B under the sum-zero
	// normalisation, the Moore–Penrose inverse of the conditional
	// information matrix.
	Cov *mat.SymDense
	// LogLik is the conditional log-likelihood at B.
	LogLik float64
	// Iterations is the number of Newton–Raphson steps taken.
	Iterations int
	// Converged reports whether a Newton–Raphson step smaller than the
	// tolerance was reached within the iteration limit.
	Converged bool
	// Persons is the number of persons used: those with a non-extreme raw
	// score.
	Persons int
	// Excluded is the number of persons left out because their raw score
	// was zero or perfect on the items administered to them (a person
	// administered fewer than two items always is).
	Excluded int
}

// CalibrateRasch estimates the item difficulties of the dichotomous Rasch
// model,
//
//	P(x_ij = 1 | θ_i) = exp(θ_i − b_j) / (1 + exp(θ_i − b_j)),
//
// by conditional maximum likelihood (CML; Andersen, 1970; Molenaar, 1995, in
// Fischer & Molenaar, 1995, ch. 3). x is a persons × items matrix of 0/1
// responses, NaN marking an item not administered to a person.
//
// Given a person's raw score r on the items administered to them, the
// probability of a response pattern does not depend on θ:
//
//	P(x | r) = Π_j ε_j^{x_j} / γ_r(ε),   ε_j = exp(−b_j),
//
// where γ_r is the elementary symmetric function of order r of the ε of the
// administered items. The conditional log-likelihood is therefore
//
//	log L(b) = −Σ_j s_j b_j − Σ_g Σ_r n_gr log γ_r(ε_g)
//
// with s_j the number of correct answers to item j and n_gr the number of
// persons of booklet g (the set of persons administered the same items, each
// with its own γ) with raw score r. It is maximised by Newton–Raphson over the
// k − 1 free parameters of the sum-zero normalisation Σ_j b_j = 0 (eRm's
// default, sum0 = TRUE), with the analytic gradient and Hessian
//
//	∂ log L / ∂b_j       = Σ_g Σ_r n_gr π_rj − s_j
//	−∂² log L / ∂b_j ∂b_l = Σ_g Σ_r n_gr (π_rjl − π_rj π_rl),  π_rjj = π_rj,
//
// where π_rj = ε_j γ_{r−1}^{(j)} / γ_r and π_rjl = ε_j ε_l γ_{r−2}^{(j,l)} / γ_r
// are the conditional probabilities of answering item j (and l) correctly
// given score r, and γ^{(j)}, γ^{(j,l)} are the functions of the test without
// those items (Fischer & Molenaar, 1995, ch. 3). The iteration starts from the
// centred logits of the proportions incorrect, halves a step while it would
// lower log L (which is concave), and stops when the largest change of a
// difficulty in the full Newton step is below Tol.
//
// The elementary symmetric functions and their derivatives are computed by
// the summation algorithm (Verhelst, Glas & van der Sluis, 1984; Liou, 1994),
// which adds only positive terms and so suffers no cancellation: γ^{(j)} is
// the product of the functions of the items before and after j, and the
// second-order terms are accumulated from those partial products, in O(m³)
// per booklet of m items and iteration. To avoid overflow, each booklet's
// factors (1 + ε_j z) are rescaled to ((1 − p_j) + p_j z) with
// p_j = 1/(1 + exp(b_j − τ)) and τ the booklet's mean difficulty, so that the
// scaled functions are the raw-score probabilities of independent items at
// θ = τ, all in [0, 1]; the scale cancels from π_rj and π_rjl and is added
// back to log L. This handles tests of several hundred items. Only when the
// probability of an observed raw score at θ = τ falls below about 1e−280
// (for example 250 items spread over ±10 logits in one booklet) would terms
// be lost to underflow; CalibrateRasch then returns an error wrapping
// ErrRaschNoEstimate rather than an inaccurate estimate.
//
// Persons whose raw score is zero or perfect on the items administered to
// them contribute nothing to the conditional likelihood; they are dropped and
// counted in Excluded. NaN cells are handled by grouping the persons by their
// pattern of administered items: each pattern is a booklet with its own
// elementary symmetric functions, so a design with many distinct patterns
// costs one O(m³) evaluation per pattern of m items and iteration. Complete
// data depend only on the item totals and the raw-score distribution, so
// after one pass over x every iteration costs O(k³), whatever the number of
// persons.
//
// The standard errors come from the inverse of the information matrix of the
// k − 1 free parameters η (b_j = η_j for j < k, b_k = −Σ η_j), mapped back to
// all k difficulties: Cov = W I_η⁻¹ Wᵀ, which is the Moore–Penrose inverse of
// the k × k conditional information and does not depend on which item is
// eliminated. This is eRm's se.beta for RM(x) with sum0 = TRUE (Mair &
// Hatzinger, 2007; eRm eliminates the first item instead of the last, to the
// same effect): the standard error of each b_j as a deviation from the mean
// difficulty, positive for every item. It differs from the standard errors
// under psychotools' normalisation b_1 = 0, which are those of the contrasts
// b_j − b_1 (zero for item 1, larger for the others).
//
// CalibrateRasch returns an error wrapping ErrRaschInvalidResponse if a cell
// is not 0, 1 or NaN, and one wrapping ErrRaschNoEstimate if an item is
// answered correctly by all or by none of the persons used, or administered to
// none of them (naming the item), if no person has a non-extreme score, if the
// scaled functions underflow as described above, or if the iteration fails
// (the information matrix is not positive definite, or the iteration limit is
// reached) and the items split into two sets S and T such that no person used
// answered an item of S correctly and an item of T incorrectly (naming the
// sets). Such a split, which includes booklets that share no items, leaves
// the difficulties of S infinitely above those of T (Fischer, 1981). If the
// iteration limit is reached otherwise, CalibrateRasch returns the last
// iterate with Converged false and a nil error. It panics if x has no rows or
// fewer than two columns, or if s.MaxIter or s.Tol is negative or NaN.
func CalibrateRasch(x mat.Matrix, s RaschSettings) (RaschCalibration, error) {
	rows, k := x.Dims()
	checkScores(rows, k)
	if s.MaxIter < 0 || s.Tol < 0 || math.IsNaN(s.Tol) {
		panic("psychometrics: negative Rasch settings")
	}
	maxIter := s.MaxIter
	if maxIter == 0 {
		maxIter = 100
	}
	tol := s.Tol
	if tol == 0 {
		tol = 1e-8
	}

	d, err := newRaschData(x)
	if err != nil {
		return RaschCalibration{}, err
	}
	if d.persons == 0 {
		return RaschCalibration{}, fmt.Errorf("%w: no person has a non-extreme score", ErrRaschNoEstimate)
	}
	for j := range k {
		switch {
		case d.n[j] == 0:
			return RaschCalibration{}, fmt.Errorf("%w: item %d administered to none of the %d persons used", ErrRaschNoEstimate, j, d.persons)
		case d.total[j] == 0:
			return RaschCalibration{}, fmt.Errorf("%w: item %d answered correctly by none of the %v persons used it was administered to", ErrRaschNoEstimate, j, d.n[j])
		case d.total[j] == d.n[j]:
			return RaschCalibration{}, fmt.Errorf("%w: item %d answered correctly by all %v persons used it was administered to", ErrRaschNoEstimate, j, d.n[j])
		}
	}

	// Start from the centred logits of the proportions incorrect.
	b := make([]float64, k)
	for j := range b {
		b[j] = math.Log((d.n[j] - d.total[j]) / d.total[j])
	}
	centre(b)

	w := newRaschWork(k)
	ll, err := d.eval(b, w, true)
	if err != nil {
		return RaschCalibration{}, err
	}
	res := RaschCalibration{Persons: d.persons, Excluded: d.excluded}
	step := make([]float64, k)
	trial := make([]float64, k)
	var chol mat.Cholesky
	var stepErr error // an evaluation error met by the last line search
	for res.Iterations < maxIter {
		if !d.newtonStep(&chol, step) {
			return RaschCalibration{}, raschSingular(x, res.Iterations)
		}
		var newton float64 // largest change of the full Newton step
		for _, v := range step {
			newton = math.Max(newton, math.Abs(v))
		}
		// Halve the step while it lowers the (concave) log-likelihood
		// beyond rounding, or leads where it cannot be evaluated.
		accepted := false
		stepErr = nil
		for range 60 {
			for j := range b {
				trial[j] = b[j] + step[j]
			}
			llTrial, err := d.eval(trial, w, false)
			if err != nil {
				stepErr = err
			} else if llTrial >= ll-1e-12*math.Abs(ll) {
				accepted = true
				break
			}
			for j := range step {
				step[j] /= 2
			}
		}
		if !accepted {
			break
		}
		copy(b, trial)
		centre(b)
		res.Iterations++
		ll, err = d.eval(b, w, true)
		if err != nil {
			return RaschCalibration{}, err
		}
		if newton < tol {
			res.Converged = true
			break
		}
	}
	if !res.Converged {
		// An estimate running off to infinity is a property of the data.
		if err := raschUnlinked(x); err != nil {
			return RaschCalibration{}, err
		}
		if stepErr != nil {
			// The iteration was held back by a region it cannot
			// evaluate.
			return RaschCalibration{}, stepErr
		}
	}

	cov, ok := d.covariance(&chol)
	if !ok {
		return RaschCalibration{}, raschSingular(x, res.Iterations)
	}
	res.B = b
	res.Cov = cov
	res.SE = make([]float64, k)
	for j := range res.SE {
		res.SE[j] = math.Sqrt(cov.At(j, j))
	}
	res.LogLik = ll
	return res, nil
}

// raschSingular returns the error for an information matrix that is not
// positive definite after the given number of iterations.
func raschSingular(x mat.Matrix, iter int) error {
	if err := raschUnlinked(x); err != nil {
		return err
	}
	return fmt.Errorf("%w: information matrix not positive definite after %d iterations", ErrRaschNoEstimate, iter)
}

// raschUnlinked returns an error wrapping ErrRaschNoEstimate if the items of
// x split into two sets S and T such that no person with a non-extreme score
// answered an item of S correctly and an item of T incorrectly. Then moving
// the difficulties of S up never lowers the conditional likelihood, so it
// has no unique finite maximum (Fischer, 1981: for complete data the CML
// estimate exists and is unique exactly when the directed graph with an edge
// j → l whenever some person answered j correctly and l incorrectly is
// strongly connected). Booklets that share no items are a special case. It
// returns nil if the graph is strongly connected.
func raschUnlinked(x mat.Matrix) error {
	rows, k := x.Dims()
	words := (k + 63) / 64
	adj := make([]uint64, k*words) // adj[j]: items l with an edge j → l
	wrong := make([]uint64, words)
	for i := range rows {
		clear(wrong)
		var score, m int
		for j := range k {
			switch x.At(i, j) {
			case 1:
				score++
				m++
			case 0:
				m++
				wrong[j/64] |= 1 << (j % 64)
			}
		}
		if score == 0 || score == m {
			continue
		}
		for j := range k {
			if x.At(i, j) == 1 {
				row := adj[j*words : (j+1)*words]
				for w, v := range wrong {
					row[w] |= v
				}
			}
		}
	}
	edge := func(j, l int) bool { return adj[j*words+l/64]&(1<<(l%64)) != 0 }
	// reach returns the items reachable from item 0 along the edges,
	// forwards or backwards.
	reach := func(forward bool) []bool {
		seen := make([]bool, k)
		seen[0] = true
		stack := []int{0}
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for l := range k {
				e := edge(j, l)
				if !forward {
					e = edge(l, j)
				}
				if e && !seen[l] {
					seen[l] = true
					stack = append(stack, l)
				}
			}
		}
		return seen
	}
	for _, forward := range []bool{true, false} {
		seen := reach(forward)
		var in, out []int
		for j, ok := range seen {
			if ok {
				in = append(in, j)
			} else {
				out = append(out, j)
			}
		}
		if len(out) == 0 {
			continue
		}
		// Forwards, no edge leaves the reached set: no one answered
		// one of its items correctly and an unreached one incorrectly.
		right, wrong := in, out
		if !forward {
			right, wrong = out, in
		}
		return fmt.Errorf("%w: no person with a non-extreme score answered an item of %v correctly and an item of %v incorrectly", ErrRaschNoEstimate, right, wrong)
	}
	return nil
}

// centre subtracts the mean from b.
func centre(b []float64) {
	var sum float64
	for _, v := range b {
		sum += v
	}
	mean := sum / float64(len(b))
	for j := range b {
		b[j] -= mean
	}
}

// raschBooklet is a set of persons administered the same items.
type raschBooklet struct {
	items []int     // administered items, in increasing order
	count []float64 // count[r], r = 0..len(items): persons used with raw score r
	size  float64   // persons used, Σ_r count[r]
}

// raschData holds the sufficient statistics of a Rasch data set for CML.
type raschData struct {
	k        int
	booklets []raschBooklet
	total    []float64 // s_j, correct answers to item j by the persons used
	n        []float64 // persons used administered item j
	persons  int
	excluded int
	grad     []float64     // gradient of log L, filled by eval
	info     []float64     // k × k information matrix, row-major, filled by eval
	infoEta  *mat.SymDense // (k−1) × (k−1) information of the free parameters
	gradEta  *mat.VecDense
	stepEta  *mat.VecDense
}

// newRaschData makes one pass over x, validating the responses and grouping
// the persons with a non-extreme score by their pattern of administered items.
func newRaschData(x mat.Matrix) (*raschData, error) {
	rows, k := x.Dims()
	d := &raschData{
		k:     k,
		total: make([]float64, k),
		n:     make([]float64, k),
	}
	var raw []float64
	stride := 0
	if rm, ok := x.(mat.RawMatrixer); ok {
		g := rm.RawMatrix()
		raw, stride = g.Data, g.Stride
	}
	buf := make([]float64, k)
	key := make([]byte, (k+7)/8)
	index := make(map[string]int)
	complete := -1
	for i := range rows {
		row := buf
		if raw != nil {
			row = raw[i*stride : i*stride+k]
		} else {
			for j := range buf {
				buf[j] = x.At(i, j)
			}
		}
		// Fast path for a complete 0/1 row: v·v = v holds for 0, 1 and
		// +Inf only (not for NaN), and +Inf makes the sum exceed k.
		var sum float64
		clean := true
		for _, v := range row {
			sum += v
			if v*v != v {
				clean = false
			}
		}
		score, m := int(sum), k
		if !clean || sum > float64(k) {
			score, m = 0, 0
			for j, v := range row {
				switch {
				case v == 1:
					score++
					m++
				case v == 0:
					m++
				case math.IsNaN(v):
				default:
					return nil, fmt.Errorf("%w: person %d, item %d: %v", ErrRaschInvalidResponse, i, j, v)
				}
			}
		}
		if score == 0 || score == m {
			d.excluded++
			continue
		}
		d.persons++
		var g int
		if m == k {
			if complete < 0 {
				complete = len(d.booklets)
				d.booklets = append(d.booklets, newRaschBooklet(row))
			}
			g = complete
		} else {
			clear(key)
			for j, v := range row {
				if !math.IsNaN(v) {
					key[j/8] |= 1 << (j % 8)
				}
			}
			var ok bool
			g, ok = index[string(key)]
			if !ok {
				g = len(d.booklets)
				index[string(key)] = g
				d.booklets = append(d.booklets, newRaschBooklet(row))
			}
		}
		bk := &d.booklets[g]
		bk.count[score]++
		bk.size++
		if m == k {
			for j, v := range row {
				d.total[j] += v
			}
		} else {
			for j, v := range row {
				if v == 1 {
					d.total[j]++
				}
			}
		}
	}
	for _, bk := range d.booklets {
		for _, j := range bk.items {
			d.n[j] += bk.size
		}
	}
	d.grad = make([]float64, k)
	d.info = make([]float64, k*k)
	d.infoEta = mat.NewSymDense(k-1, nil)
	d.gradEta = mat.NewVecDense(k-1, nil)
	d.stepEta = mat.NewVecDense(k-1, nil)
	return d, nil
}

// newRaschBooklet returns an empty booklet of the items administered in row.
func newRaschBooklet(row []float64) raschBooklet {
	var items []int
	for j, v := range row {
		if !math.IsNaN(v) {
			items = append(items, j)
		}
	}
	return raschBooklet{items: items, count: make([]float64, len(items)+1)}
}

// raschWork holds the scratch space of one evaluation of a booklet of up to k
// items; the (m+1)-long rows of its matrices are indexed by raw score.
type raschWork struct {
	p, q  []float64 // p_t = ε'_t/(1+ε'_t) and 1 − p_t for the booklet's items
	pre   []float64 // pre[t]: scaled ESF of items 0..t−1 (rows of length k+1)
	suf   []float64 // suf[t]: scaled ESF of items t+1..m−1
	v     []float64 // v[l]_u = Σ_c suf[l]_c w_{u+c}
	pi    []float64 // pi[t]_r = π_rt
	w     []float64 // w_r = n_r / γ̃_r
	q2    []float64 // running product for the second-order terms
	conv  []float64 // pre[t] * suf[t]
	width int       // k + 1
}

func newRaschWork(k int) *raschWork {
	n := k + 1
	return &raschWork{
		p:     make([]float64, k),
		q:     make([]float64, k),
		pre:   make([]float64, n*n),
		suf:   make([]float64, n*n),
		v:     make([]float64, n*(n+1)),
		pi:    make([]float64, k*n),
		w:     make([]float64, n+1),
		q2:    make([]float64, n),
		conv:  make([]float64, n),
		width: n,
	}
}

// softplus returns log(1 + exp(x)) without overflow.
func softplus(x float64) float64 {
	return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
}

// eval returns the conditional log-likelihood at b (which sums to zero) and,
// if derivs is true, fills d.grad and d.info.
func (d *raschData) eval(b []float64, w *raschWork, derivs bool) (float64, error) {
	var ll float64
	for j, bj := range b {
		ll -= d.total[j] * bj
	}
	if derivs {
		clear(d.grad)
		clear(d.info)
	}
	for g := range d.booklets {
		bll, err := d.evalBooklet(&d.booklets[g], b, w, derivs)
		if err != nil {
			return 0, err
		}
		ll += bll
	}
	if derivs {
		for j := range d.grad {
			d.grad[j] -= d.total[j]
		}
	}
	return ll, nil
}

// evalBooklet returns the booklet's term −Σ_r n_r log γ_r of the conditional
// log-likelihood and, if derivs is true, adds Σ_r n_r π_rj to d.grad and the
// booklet's information to d.info.
func (d *raschData) evalBooklet(bk *raschBooklet, b []float64, w *raschWork, derivs bool) (float64, error) {
	m := len(bk.items)
	n := w.width
	p, q := w.p[:m], w.q[:m]
	// Scale at the booklet's mean difficulty τ: with ε'_t = ε_t e^τ,
	// p_t = ε'_t/(1 + ε'_t) and log γ_r = log γ̃_r + Σ_t log(1 + ε'_t) − rτ.
	var tau float64
	for _, j := range bk.items {
		tau += b[j]
	}
	tau /= float64(m)
	var logScale float64
	for t, j := range bk.items {
		p[t] = 1 / (1 + math.Exp(b[j]-tau))
		q[t] = 1 / (1 + math.Exp(tau-b[j]))
		logScale += softplus(tau - b[j])
	}

	// Prefix products: pre[t] holds the t+1 scaled ESFs of items 0..t−1.
	pre := w.pre
	pre[0] = 1
	for t := range m {
		prev := pre[t*n : t*n+t+1]
		next := pre[(t+1)*n : (t+1)*n+t+2]
		next[0] = q[t] * prev[0]
		for r := 1; r <= t; r++ {
			next[r] = q[t]*prev[r] + p[t]*prev[r-1]
		}
		next[t+1] = p[t] * prev[t]
	}
	gamma := pre[m*n : m*n+m+1]

	var ll float64
	for r, c := range bk.count {
		if c == 0 {
			w.w[r] = 0
			continue
		}
		// Below about 1e-280 the terms lost to underflow in the sums
		// behind γ̃_r could matter.
		g := gamma[r]
		if !(g >= 1e-280) || c/g > 1e290 {
			return 0, fmt.Errorf("%w: the probability of raw score %d on a booklet of %d items underflows", ErrRaschNoEstimate, r, m)
		}
		ll -= c * (math.Log(g) + logScale - float64(r)*tau)
		w.w[r] = c / g
	}
	if !derivs {
		return ll, nil
	}

	// Suffix products: suf[t] holds the m−t scaled ESFs of items t+1..m−1.
	suf := w.suf
	suf[(m-1)*n] = 1
	for t := m - 1; t > 0; t-- {
		prev := suf[t*n : t*n+m-t]
		next := suf[(t-1)*n : (t-1)*n+m-t+1]
		next[0] = q[t] * prev[0]
		for r := 1; r < m-t; r++ {
			next[r] = q[t]*prev[r] + p[t]*prev[r-1]
		}
		next[m-t] = p[t] * prev[m-t-1]
	}

	// π_rt = p_t γ̃^{(t)}_{r−1} / γ̃_r with γ̃^{(t)} = pre[t] * suf[t].
	pi := w.pi
	conv := w.conv[:m]
	for t := range m {
		clear(conv)
		a := pre[t*n : t*n+t+1]
		s := suf[t*n : t*n+m-t]
		for i, av := range a {
			if av == 0 {
				continue
			}
			out := conv[i : i+len(s)]
			for c, sv := range s {
				out[c] += av * sv
			}
		}
		row := pi[t*n : t*n+m+1]
		for r := range row {
			// Only the observed scores are needed; γ̃_r of the
			// others may underflow.
			row[r] = 0
			if bk.count[r] != 0 {
				row[r] = p[t] * conv[r-1] / gamma[r]
			}
		}
	}

	// v[l]_u = Σ_c suf[l]_c w_{u+c}, u = 0..m+1, by the backward recursion
	// v[l−1]_u = q_l v[l]_u + p_l v[l]_{u+1}.
	vw := n + 1
	v := w.v
	last := v[(m-1)*vw : (m-1)*vw+m+2]
	copy(last, w.w[:m+1])
	last[m+1] = 0
	for l := m - 1; l > 0; l-- {
		cur := v[l*vw : l*vw+m+2]
		next := v[(l-1)*vw : (l-1)*vw+m+2]
		for u := 0; u <= m; u++ {
			next[u] = q[l]*cur[u] + p[l]*cur[u+1]
		}
		next[m+1] = 0
	}

	// Gradient and information.
	k := d.k
	count := bk.count
	for t, j := range bk.items {
		rt := pi[t*n : t*n+m+1]
		var e, e2 float64
		for r := 1; r < m; r++ {
			c := count[r] * rt[r]
			e += c
			e2 += c * rt[r]
		}
		d.grad[j] += e
		d.info[j*k+j] += e - e2
	}
	q2 := w.q2
	for t := 0; t < m-1; t++ {
		j := bk.items[t]
		// q2 = pre[t] * Π_{t<i<l} (q_i + p_i z), of length l.
		copy(q2, pre[t*n:t*n+t+1])
		qlen := t + 1
		rt := pi[t*n : t*n+m+1]
		for l := t + 1; l < m; l++ {
			vl := v[l*vw : l*vw+m+2]
			var a float64
			for u, qv := range q2[:qlen] {
				a += qv * vl[u+2]
			}
			a *= p[t] * p[l]
			rl := pi[l*n : l*n+m+1]
			var cov float64
			for r := 1; r < m; r++ {
				cov += count[r] * rt[r] * rl[r]
			}
			jl := bk.items[l]
			val := a - cov
			d.info[j*k+jl] += val
			d.info[jl*k+j] += val
			// Multiply q2 by (q_l + p_l z).
			q2[qlen] = p[l] * q2[qlen-1]
			for u := qlen - 1; u > 0; u-- {
				q2[u] = q[l]*q2[u] + p[l]*q2[u-1]
			}
			q2[0] *= q[l]
			qlen++
		}
	}
	return ll, nil
}

// newtonStep computes the Newton–Raphson step of the k difficulties under the
// sum-zero normalisation from d.grad and d.info, eliminating the last item:
// b = W η with W = [I; −1ᵀ]. It reports false if the information of η is not
// positive definite.
func (d *raschData) newtonStep(chol *mat.Cholesky, step []float64) bool {
	if !d.factorize(chol) {
		return false
	}
	k := d.k
	last := k - 1
	for a := range last {
		d.gradEta.SetVec(a, d.grad[a]-d.grad[last])
	}
	if err := chol.SolveVecTo(d.stepEta, d.gradEta); err != nil {
		return false
	}
	var sum float64
	for a := range last {
		step[a] = d.stepEta.AtVec(a)
		sum += step[a]
	}
	step[last] = -sum
	return true
}

// factorize forms the information of the k − 1 free parameters,
// I_η = Wᵀ I W, from d.info and factorizes it.
func (d *raschData) factorize(chol *mat.Cholesky) bool {
	k := d.k
	last := k - 1
	info := d.info
	ll := info[last*k+last]
	for a := range last {
		for c := a; c < last; c++ {
			d.infoEta.SetSym(a, c, info[a*k+c]-info[a*k+last]-info[last*k+c]+ll)
		}
	}
	return chol.Factorize(d.infoEta)
}

// covariance returns W I_η⁻¹ Wᵀ at the last evaluation.
func (d *raschData) covariance(chol *mat.Cholesky) (*mat.SymDense, bool) {
	if !d.factorize(chol) {
		return nil, false
	}
	k := d.k
	last := k - 1
	var inv mat.SymDense
	if err := chol.InverseTo(&inv); err != nil {
		return nil, false
	}
	cov := mat.NewSymDense(k, nil)
	var all float64
	for a := range last {
		var row float64
		for c := range last {
			v := inv.At(a, c)
			row += v
			if c >= a {
				cov.SetSym(a, c, v)
			}
		}
		cov.SetSym(a, last, -row)
		all += row
	}
	cov.SetSym(last, last, all)
	return cov, true
}
