package psychometrics

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// mmlChunk is the number of response patterns an E-step worker processes
// as one unit. The chunks' sums are reduced in chunk order, so results do not
// depend on the number of workers or on scheduling.
const mmlChunk = 512

// mmlPatterns holds the distinct response patterns of a response matrix.
// Pattern i has count[i] persons, answered the items corr[corrOff[i]:corrOff[i+1]]
// correctly and was not administered miss[missOff[i]:missOff[i+1]]; the other
// items were answered incorrectly.
type mmlPatterns struct {
	items   int
	count   []float64
	corr    []int32
	corrOff []int32
	miss    []int32
	missOff []int32
	persons int

	nCorrect []float64 // per item: persons answering correctly
	nAdmin   []float64 // per item: persons administered the item
	missing  []bool    // per item: some person was not administered it
}

func (p *mmlPatterns) correct(i int) []int32 { return p.corr[p.corrOff[i]:p.corrOff[i+1]] }
func (p *mmlPatterns) missed(i int) []int32  { return p.miss[p.missOff[i]:p.missOff[i+1]] }

// mmlCollapsePatterns validates x and collapses its rows into distinct response
// patterns, numbered in order of first occurrence.
func mmlCollapsePatterns(x mat.Matrix) (*mmlPatterns, error) {
	n, k := x.Dims()
	p := &mmlPatterns{
		items:    k,
		corrOff:  []int32{0},
		missOff:  []int32{0},
		nCorrect: make([]float64, k),
		nAdmin:   make([]float64, k),
		missing:  make([]bool, k),
	}
	index := make(map[string]int32)
	key := make([]byte, k)
	row := make([]float64, k)
	rv, raw := x.(mat.RawRowViewer)
	for i := range n {
		if raw {
			row = rv.RawRowView(i)
		} else {
			for j := range k {
				row[j] = x.At(i, j)
			}
		}
		admin := 0
		for j, v := range row {
			switch {
			case v == 0:
				key[j] = '0'
				admin++
			case v == 1:
				key[j] = '1'
				admin++
			case math.IsNaN(v):
				key[j] = '.'
			default:
				return nil, fmt.Errorf("%w: person %d, item %d: %v", ErrNotDichotomous, i, j, v)
			}
		}
		if admin == 0 {
			continue
		}
		p.persons++
		if idx, ok := index[string(key)]; ok {
			p.count[idx]++
			continue
		}
		index[string(key)] = int32(len(p.count))
		p.count = append(p.count, 1)
		for j, b := range key {
			switch b {
			case '1':
				p.corr = append(p.corr, int32(j))
			case '.':
				p.miss = append(p.miss, int32(j))
			}
		}
		p.corrOff = append(p.corrOff, int32(len(p.corr)))
		p.missOff = append(p.missOff, int32(len(p.miss)))
	}
	for j := range p.nAdmin {
		p.nAdmin[j] = float64(p.persons)
	}
	for i, c := range p.count {
		for _, j := range p.correct(i) {
			p.nCorrect[j] += c
		}
		for _, j := range p.missed(i) {
			p.nAdmin[j] -= c
			p.missing[j] = true
		}
	}
	return p, nil
}

// mmlAcc accumulates the E-step sums of one chunk of patterns.
type mmlAcc struct {
	nq []float64 // Σ count·posterior at each node
	r1 []float64 // per item: Σ over persons answering correctly of E[θ]
	r  []float64 // items × nodes: Σ over persons answering correctly of the posterior
	m  []float64 // items × nodes: Σ over persons not administered the item of the posterior
	ll float64   // Σ count·log marginal likelihood
	lp []float64 // scratch
}

// mmlFit is the state of one calibration.
type mmlFit struct {
	pat        *mmlPatterns
	model      Model
	maxIter    int
	tol        float64
	slopePrior *LogNormalPrior
	guessPrior *BetaPrior
	seMethod   SEMethod
	trace      func(EMCycle)

	theta     []float64 // quadrature nodes
	lw0       []float64 // log of the given quadrature weights
	lw        []float64 // log of the current weights
	m0, s0    float64   // mean and SD of the given quadrature
	mu, sigma float64   // current population mean and SD
	freePop   bool

	a, d, g, c []float64 // slope, intercept, mmlLogit(c), c per item
	fixed      []bool
	free       []int
	given      map[int]Item3PL

	// E-step tables and sums.
	logQ, lr []float64 // items × nodes: log(1 − P), log P − log(1 − P)
	base     []float64 // log w_q + Σ_j log(1 − P_jq)
	linear   bool      // every item has c = 0: log P − log Q = aθ + d
	needR    bool      // the M-step needs r_jq node by node (3PL)
	accs     []*mmlAcc
	nq, r1   []float64
	r, m     []float64
	ll       float64
	nbuf     []float64

	iterations int
	converged  bool
	se         []ItemSE
	meanSE     float64
	sdSE       float64
}

func newMMLFit(x mat.Matrix, s MMLSettings) (*mmlFit, error) {
	n, k := x.Dims()
	if n == 0 || k == 0 {
		panic("psychometrics: empty response matrix")
	}
	switch s.Model {
	case Model2PL, Model1PL, Model3PL, ModelRasch:
	default:
		panic("psychometrics: unknown model")
	}
	if s.MaxIter < 0 || s.Tol < 0 || math.IsNaN(s.Tol) {
		panic("psychometrics: negative MaxIter or Tol")
	}
	switch s.SE {
	case SECrossProduct, SEObserved, SENone:
	default:
		panic("psychometrics: unknown standard-error method")
	}
	if p := s.SlopePrior; p != nil && (!(p.Sigma > 0) || math.IsNaN(p.Mu) || math.IsInf(p.Mu, 0) || math.IsInf(p.Sigma, 0)) {
		panic("psychometrics: invalid slope prior")
	}
	if p := s.GuessPrior; p != nil && (!(p.Alpha > 0) || !(p.Beta > 0) || math.IsInf(p.Alpha, 0) || math.IsInf(p.Beta, 0)) {
		panic("psychometrics: invalid guessing prior")
	}
	q := s.Quadrature
	if q.Nodes == nil && q.Weights == nil {
		q = NormalQuadrature(61, 0, 1)
	}
	if len(q.Nodes) < 2 || len(q.Nodes) != len(q.Weights) {
		panic("psychometrics: quadrature needs at least two nodes and one weight per node")
	}
	var wsum float64
	for i, w := range q.Weights {
		if !(w >= 0) || math.IsInf(w, 0) || math.IsNaN(q.Nodes[i]) || math.IsInf(q.Nodes[i], 0) {
			panic("psychometrics: invalid quadrature")
		}
		wsum += w
	}
	if !(wsum > 0) {
		panic("psychometrics: quadrature weights sum to zero")
	}
	for j, it := range s.Fixed {
		if j < 0 || j >= k {
			panic(fmt.Sprintf("psychometrics: anchor item %d out of range [0, %d)", j, k))
		}
		if math.IsNaN(it.A) || math.IsInf(it.A, 0) || math.IsNaN(it.B) || math.IsInf(it.B, 0) || !(it.C >= 0 && it.C < 1) {
			panic(fmt.Sprintf("psychometrics: invalid anchor item %d parameters", j))
		}
	}

	pat, err := mmlCollapsePatterns(x)
	if err != nil {
		return nil, err
	}

	nq := len(q.Nodes)
	f := &mmlFit{
		pat:        pat,
		model:      s.Model,
		maxIter:    s.MaxIter,
		tol:        s.Tol,
		slopePrior: s.SlopePrior,
		guessPrior: s.GuessPrior,
		seMethod:   s.SE,
		trace:      s.Trace,
		theta:      append([]float64(nil), q.Nodes...),
		lw0:        make([]float64, nq),
		lw:         make([]float64, nq),
		a:          make([]float64, k),
		d:          make([]float64, k),
		g:          make([]float64, k),
		c:          make([]float64, k),
		fixed:      make([]bool, k),
		given:      s.Fixed,
		logQ:       make([]float64, k*nq),
		lr:         make([]float64, k*nq),
		base:       make([]float64, nq),
		nq:         make([]float64, nq),
		r1:         make([]float64, k),
		nbuf:       make([]float64, nq),
	}
	if f.maxIter == 0 {
		f.maxIter = 500
	}
	if f.tol == 0 {
		f.tol = 1e-5
	}
	if f.model == ModelRasch || f.model == Model2PL || f.model == Model1PL {
		f.guessPrior = nil
	} else if f.guessPrior == nil {
		f.guessPrior = &BetaPrior{Alpha: 5, Beta: 17}
	}
	if f.model == ModelRasch {
		f.slopePrior = nil
	}
	for i, w := range q.Weights {
		f.lw0[i] = math.Log(w / wsum)
		f.m0 += w / wsum * q.Nodes[i]
	}
	for i, w := range q.Weights {
		dv := q.Nodes[i] - f.m0
		f.s0 += w / wsum * dv * dv
	}
	f.s0 = math.Sqrt(f.s0)
	f.mu, f.sigma = f.m0, f.s0
	copy(f.lw, f.lw0)
	f.freePop = len(s.Fixed) > 0 && !s.FixPopulation

	// Starting values: a = 1 and the intercept that reproduces the item's
	// proportion correct under N(0, 1) by the approximation
	// E[logistic(aθ + d)] ≈ logistic(d / √(1 + πa²/8)).
	c0 := 0.0
	if f.model == Model3PL {
		c0 = 0.2
		if p := f.guessPrior; p.Alpha+p.Beta > 2 && p.Alpha >= 1 && p.Beta >= 1 {
			c0 = math.Max(0.01, math.Min(0.5, (p.Alpha-1)/(p.Alpha+p.Beta-2)))
		}
	}
	for j := range k {
		if it, ok := s.Fixed[j]; ok {
			f.fixed[j] = true
			f.a[j], f.d[j], f.c[j] = it.A, -it.A*it.B, it.C
			f.g[j] = mmlLogit(it.C)
			continue
		}
		f.free = append(f.free, j)
		if pat.nAdmin[j] == 0 || pat.nCorrect[j] == 0 || pat.nCorrect[j] == pat.nAdmin[j] {
			return nil, fmt.Errorf("%w: item %d: %v of %v persons administered answered correctly",
				ErrConstantItem, j, pat.nCorrect[j], pat.nAdmin[j])
		}
		p := pat.nCorrect[j] / pat.nAdmin[j]
		f.a[j] = 1
		if f.model == Model3PL {
			p = math.Max(0.02, math.Min(0.98, (p-c0)/(1-c0)))
			f.c[j] = c0
			f.g[j] = mmlLogit(c0)
		}
		f.d[j] = mmlLogit(p) * math.Sqrt(1+math.Pi/8)
	}
	f.needR = f.model == Model3PL
	anyMissing := false
	for _, j := range f.free {
		anyMissing = anyMissing || pat.missing[j]
	}
	chunks := (len(pat.count) + mmlChunk - 1) / mmlChunk
	f.accs = make([]*mmlAcc, chunks)
	for i := range f.accs {
		acc := &mmlAcc{nq: make([]float64, nq), r1: make([]float64, k), lp: make([]float64, nq)}
		if f.needR {
			acc.r = make([]float64, k*nq)
		}
		if anyMissing {
			acc.m = make([]float64, k*nq)
		}
		f.accs[i] = acc
	}
	if f.needR {
		f.r = make([]float64, k*nq)
	}
	if anyMissing {
		f.m = make([]float64, k*nq)
	}
	return f, nil
}

// run iterates EM to convergence and computes the standard errors.
func (f *mmlFit) run() error {
	if err := f.estepChecked(); err != nil {
		return err
	}
	f.emit(0, math.NaN())
	for f.iterations < f.maxIter {
		change := f.mstep()
		f.iterations++
		if err := f.estepChecked(); err != nil {
			return err
		}
		f.emit(f.iterations, change)
		if change < f.tol {
			f.converged = true
			break
		}
	}
	f.standardErrors()
	return nil
}

func (f *mmlFit) estepChecked() error {
	for _, j := range f.free {
		if math.IsNaN(f.a[j]) || math.IsInf(f.a[j], 0) || math.IsNaN(f.d[j]) || math.IsInf(f.d[j], 0) || math.IsNaN(f.c[j]) {
			return fmt.Errorf("%w: item %d after %d cycles: a = %v, d = %v", ErrDiverged, j, f.iterations, f.a[j], f.d[j])
		}
	}
	f.estep()
	if math.IsNaN(f.ll) || math.IsInf(f.ll, 0) {
		return fmt.Errorf("%w: log-likelihood %v after %d cycles", ErrDiverged, f.ll, f.iterations)
	}
	return nil
}

func (f *mmlFit) emit(iter int, change float64) {
	if f.trace == nil {
		return
	}
	f.trace(EMCycle{Iteration: iter, LogLik: f.ll, LogPosterior: f.ll + f.logPrior(), MaxChange: change})
}

// logPrior returns the sum of the log-prior densities at the current
// estimates.
func (f *mmlFit) logPrior() float64 {
	var s float64
	if p := f.slopePrior; p != nil {
		if f.model == Model1PL {
			if len(f.free) > 0 {
				s += p.logDensity(f.a[f.free[0]])
			}
		} else {
			for _, j := range f.free {
				s += p.logDensity(f.a[j])
			}
		}
	}
	if p := f.guessPrior; p != nil {
		for _, j := range f.free {
			s += p.logDensity(f.c[j])
		}
	}
	return s
}

// tables fills logQ, lr and base from the current parameters.
func (f *mmlFit) tables() {
	nq := len(f.theta)
	copy(f.base, f.lw)
	f.linear = true
	for j := range f.a {
		a, d, c := f.a[j], f.d[j], f.c[j]
		lq := f.logQ[j*nq : (j+1)*nq]
		lr := f.lr[j*nq : (j+1)*nq]
		if c != 0 {
			f.linear = false
		}
		l1c := math.Log1p(-c)
		for q, t := range f.theta {
			eta := a*t + d
			if c == 0 {
				lq[q] = -mmlSoftplus(eta)
				lr[q] = eta
			} else {
				lq[q] = l1c - mmlSoftplus(eta)
				lr[q] = math.Log(c+(1-c)*mmlLogistic(eta)) - lq[q]
			}
			f.base[q] += lq[q]
		}
	}
}

// mmlParallel calls work(c) for every chunk c in 0..chunks−1 on up to
// GOMAXPROCS goroutines. Each chunk writes only its own buffers, and callers
// reduce them in chunk order, so results do not depend on scheduling.
func mmlParallel(chunks int, work func(c int)) {
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		for c := range chunks {
			work(c)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, chunks)
	for c := range chunks {
		next <- c
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				work(c)
			}
		}()
	}
	wg.Wait()
}

// estep computes the expected counts and the log-likelihood at the current
// parameters.
func (f *mmlFit) estep() {
	f.tables()
	mmlParallel(len(f.accs), f.estepChunk)
	// Reduce in chunk order.
	clear(f.nq)
	clear(f.r1)
	clear(f.r)
	clear(f.m)
	f.ll = 0
	for _, acc := range f.accs {
		floats.Add(f.nq, acc.nq)
		floats.Add(f.r1, acc.r1)
		if f.r != nil {
			floats.Add(f.r, acc.r)
		}
		if f.m != nil {
			floats.Add(f.m, acc.m)
		}
		f.ll += acc.ll
	}
}

// posterior fills lp with the posterior of pattern i over the nodes and
// returns the log of its marginal likelihood; lp is zero outside [lo, hi).
func (f *mmlFit) posterior(i int, lp []float64) (ll float64, lo, hi int) {
	nq := len(f.theta)
	cs := f.pat.correct(i)
	var sd float64
	if f.linear {
		var sa float64
		for _, j := range cs {
			sa += f.a[j]
			sd += f.d[j]
		}
		for q, t := range f.theta {
			lp[q] = f.base[q] + sa*t
		}
	} else {
		copy(lp, f.base)
		for _, j := range cs {
			floats.Add(lp, f.lr[int(j)*nq:int(j+1)*nq])
		}
	}
	for _, j := range f.pat.missed(i) {
		floats.AddScaled(lp, -1, f.logQ[int(j)*nq:int(j+1)*nq])
	}
	mx := lp[0]
	for _, v := range lp[1:] {
		if v > mx {
			mx = v
		}
	}
	// Nodes more than mmlPrune below the mode carry less than e^−mmlPrune of
	// its posterior mass each: below the double-precision rounding of the sum,
	// so their exponential is not computed.
	lim := mx - mmlPrune
	var sum float64
	lo, hi = len(lp), 0
	for q, v := range lp {
		if v < lim {
			lp[q] = 0
			continue
		}
		e := math.Exp(v - mx)
		lp[q] = e
		sum += e
		lo = min(lo, q)
		hi = q + 1
	}
	floats.Scale(1/sum, lp[lo:hi])
	return mx + math.Log(sum) + sd, lo, hi
}

// mmlPrune is the log-posterior distance from the mode beyond which a node's
// posterior is set to zero (e^−50 ≈ 2e−22).
const mmlPrune = 50

func (f *mmlFit) estepChunk(c int) {
	acc := f.accs[c]
	clear(acc.nq)
	clear(acc.r1)
	clear(acc.r)
	clear(acc.m)
	acc.ll = 0
	nq := len(f.theta)
	lo, hi := c*mmlChunk, min((c+1)*mmlChunk, len(f.pat.count))
	lp := acc.lp
	for i := lo; i < hi; i++ {
		cnt := f.pat.count[i]
		// The posterior is zero outside nodes [q0, q1).
		ll, q0, q1 := f.posterior(i, lp)
		acc.ll += cnt * ll
		var mean float64
		theta, nqs := f.theta[q0:q1], acc.nq[q0:q1]
		post := lp[q0:q1]
		for q, p := range post {
			p *= cnt
			post[q] = p
			nqs[q] += p
			mean += p * theta[q]
		}
		for _, j := range f.pat.correct(i) {
			if f.fixed[j] {
				continue
			}
			acc.r1[j] += mean
			if acc.r != nil {
				floats.Add(acc.r[int(j)*nq+q0:int(j)*nq+q1], post)
			}
		}
		if acc.m != nil {
			for _, j := range f.pat.missed(i) {
				if !f.fixed[j] {
					floats.Add(acc.m[int(j)*nq+q0:int(j)*nq+q1], post)
				}
			}
		}
	}
}

// counts returns n_jq, the expected number of persons administered item j at
// each node.
func (f *mmlFit) counts(j int) []float64 {
	if !f.pat.missing[j] || f.m == nil {
		return f.nq
	}
	nq := len(f.theta)
	floats.SubTo(f.nbuf, f.nq, f.m[j*nq:(j+1)*nq])
	for q, v := range f.nbuf {
		f.nbuf[q] = math.Max(v, 0)
	}
	return f.nbuf
}

func (f *mmlFit) rvec(j int) []float64 {
	nq := len(f.theta)
	return f.r[j*nq : (j+1)*nq]
}

// mstep updates the free parameters from the expected counts and returns
// the largest absolute change.
func (f *mmlFit) mstep() float64 {
	var change float64
	switch f.model {
	case ModelRasch:
		for _, j := range f.free {
			nd := f.mstepRasch(f.counts(j), f.pat.nCorrect[j], f.d[j])
			change = math.Max(change, math.Abs(nd-f.d[j]))
			f.d[j] = nd
		}
	case Model2PL:
		for _, j := range f.free {
			na, nd := f.mstep2PL(f.counts(j), f.pat.nCorrect[j], f.r1[j], f.a[j], f.d[j])
			change = math.Max(change, math.Max(math.Abs(na-f.a[j]), math.Abs(nd-f.d[j])))
			f.a[j], f.d[j] = na, nd
		}
	case Model1PL:
		change = f.mstep1PL()
	case Model3PL:
		for _, j := range f.free {
			na, nd, ng := f.mstep3PL(f.counts(j), f.rvec(j), f.a[j], f.d[j], f.g[j])
			change = math.Max(change, math.Max(math.Abs(na-f.a[j]), math.Max(math.Abs(nd-f.d[j]), math.Abs(ng-f.g[j]))))
			f.a[j], f.d[j], f.g[j], f.c[j] = na, nd, ng, mmlLogistic(ng)
		}
	}
	if f.freePop {
		mu, sigma := f.mu, f.sigma
		f.updatePopulation()
		change = math.Max(change, math.Max(math.Abs(f.mu-mu), math.Abs(f.sigma-sigma)))
	}
	return change
}

// Newton iterations in an M-step stop when no parameter moves by more than
// mmlNewtonTol, or after mmlNewtonMaxIter iterations.
const (
	mmlNewtonTol     = 1e-10
	mmlNewtonMaxIter = 100
)

// mstepRasch maximises Σ_q r_q(θ_q + d) − n_q·log(1 + exp(θ_q + d)) over d;
// the r term reduces to r0·d plus a constant.
func (f *mmlFit) mstepRasch(n []float64, r0, d float64) float64 {
	obj := func(d float64) float64 {
		s := r0 * d
		for q, t := range f.theta {
			s -= n[q] * mmlSoftplus(t+d)
		}
		return s
	}
	f0 := obj(d)
	for range mmlNewtonMaxIter {
		g, h := r0, 0.0
		for q, t := range f.theta {
			p := mmlLogistic(t + d)
			g -= n[q] * p
			h += n[q] * p * (1 - p)
		}
		if !(h > 0) {
			break
		}
		step, f1, ok := mmlLineSearch(obj, d, g/h, f0)
		if !ok {
			break
		}
		d, f0 = d+step, f1
		if math.Abs(step) < mmlNewtonTol {
			break
		}
	}
	return d
}

// mmlLineSearch halves step until obj(x + step) is not below f0 = obj(x) and
// returns the step taken and obj there; ok is false if no step could be
// taken.
func mmlLineSearch(obj func(float64) float64, x, step, f0 float64) (float64, float64, bool) {
	for range 60 {
		if f1 := obj(x + step); f1 >= f0 {
			return step, f1, true
		}
		step /= 2
	}
	return 0, f0, false
}

// mstep2PL maximises the expected complete-data log-likelihood of a 2PL item,
//
//	Σ_q r_q·η_q − n_q·log(1 + exp(η_q)),  η_q = a·θ_q + d,
//
// plus the log-prior of a, by Newton–Raphson. The r term is a·r1 + d·r0 with
// r0 = Σ_q r_q (persons answering correctly) and r1 = Σ_q r_q·θ_q.
func (f *mmlFit) mstep2PL(n []float64, r0, r1, a, d float64) (float64, float64) {
	prior := f.slopePrior
	obj := func(a, d float64) float64 {
		if prior != nil && !(a > 0) {
			return math.Inf(-1)
		}
		s := a*r1 + d*r0
		for q, t := range f.theta {
			s -= n[q] * mmlSoftplus(a*t+d)
		}
		if prior != nil {
			s += prior.logDensity(a)
		}
		return s
	}
	f0 := obj(a, d)
	for range mmlNewtonMaxIter {
		ga, gd := r1, r0
		var haa, had, hdd float64
		for q, t := range f.theta {
			p := mmlLogistic(a*t + d)
			np := n[q] * p
			w := np * (1 - p)
			ga -= np * t
			gd -= np
			haa += w * t * t
			had += w * t
			hdd += w
		}
		if prior != nil {
			d1, d2 := prior.derivs(a)
			ga += d1
			haa += math.Max(-d2, 0)
		}
		da, dd, ok := mmlSolve2(haa, had, hdd, ga, gd)
		if !ok {
			break
		}
		t := 1.0
		moved := false
		for range 60 {
			if f1 := obj(a+t*da, d+t*dd); f1 >= f0 {
				f0, moved = f1, true
				break
			}
			t /= 2
		}
		if !moved {
			break
		}
		a, d = a+t*da, d+t*dd
		if math.Max(math.Abs(t*da), math.Abs(t*dd)) < mmlNewtonTol {
			break
		}
	}
	return a, d
}

// mmlSolve2 solves [[haa, had], [had, hdd]]·x = (ga, gd) for a positive
// definite matrix, adding a ridge if needed.
func mmlSolve2(haa, had, hdd, ga, gd float64) (float64, float64, bool) {
	det := haa*hdd - had*had
	if !(det > 1e-12*(haa*hdd)) || !(haa > 0) {
		ridge := 1e-6 * (1 + math.Abs(haa) + math.Abs(hdd))
		haa += ridge
		hdd += ridge
		det = haa*hdd - had*had
		if !(det > 0) || !(haa > 0) {
			return 0, 0, false
		}
	}
	return (hdd*ga - had*gd) / det, (haa*gd - had*ga) / det, true
}

// mstep1PL maximises the expected complete-data log-likelihood of the free
// items jointly over their common slope a and their intercepts d_j by Newton–
// Raphson; the Hessian is an arrow matrix solved through the Schur complement
// of the intercepts' diagonal block.
func (f *mmlFit) mstep1PL() float64 {
	free := f.free
	if len(free) == 0 {
		return 0
	}
	prior := f.slopePrior
	// n_jq for every free item.
	ns := make([][]float64, len(free))
	for k, j := range free {
		ns[k] = append([]float64(nil), f.counts(j)...)
	}
	a := f.a[free[0]]
	d := make([]float64, len(free))
	for k, j := range free {
		d[k] = f.d[j]
	}
	a0, d0 := a, append([]float64(nil), d...)
	obj := func(a float64, d []float64) float64 {
		if prior != nil && !(a > 0) {
			return math.Inf(-1)
		}
		var s float64
		for k, j := range free {
			s += a*f.r1[j] + d[k]*f.pat.nCorrect[j]
			for q, t := range f.theta {
				s -= ns[k][q] * mmlSoftplus(a*t+d[k])
			}
		}
		if prior != nil {
			s += prior.logDensity(a)
		}
		return s
	}
	gd := make([]float64, len(free))
	had := make([]float64, len(free))
	hdd := make([]float64, len(free))
	dd := make([]float64, len(free))
	nd := make([]float64, len(free))
	f0 := obj(a, d)
	for range mmlNewtonMaxIter {
		var ga, haa float64
		for k, j := range free {
			ga += f.r1[j]
			gd[k] = f.pat.nCorrect[j]
			had[k], hdd[k] = 0, 0
			for q, t := range f.theta {
				p := mmlLogistic(a*t + d[k])
				np := ns[k][q] * p
				w := np * (1 - p)
				ga -= np * t
				gd[k] -= np
				haa += w * t * t
				had[k] += w * t
				hdd[k] += w
			}
		}
		if prior != nil {
			d1, d2 := prior.derivs(a)
			ga += d1
			haa += math.Max(-d2, 0)
		}
		// Schur complement: (haa − Σ had²/hdd)·δa = ga − Σ had·gd/hdd.
		sa, sg := haa, ga
		ok := true
		for k := range free {
			if !(hdd[k] > 0) {
				ok = false
				break
			}
			sa -= had[k] * had[k] / hdd[k]
			sg -= had[k] * gd[k] / hdd[k]
		}
		if !ok || !(sa > 0) {
			break
		}
		da := sg / sa
		for k := range free {
			dd[k] = (gd[k] - had[k]*da) / hdd[k]
		}
		t := 1.0
		moved := false
		for range 60 {
			for k := range d {
				nd[k] = d[k] + t*dd[k]
			}
			if f1 := obj(a+t*da, nd); f1 >= f0 {
				f0, moved = f1, true
				break
			}
			t /= 2
		}
		if !moved {
			break
		}
		a += t * da
		copy(d, nd)
		if t*math.Max(math.Abs(da), floats.Norm(dd, math.Inf(1))) < mmlNewtonTol {
			break
		}
	}
	change := math.Abs(a - a0)
	for k, j := range free {
		change = math.Max(change, math.Abs(d[k]-d0[k]))
		f.a[j], f.d[j] = a, d[k]
	}
	return change
}

// mstep3PL maximises, by Fisher scoring, the expected complete-data
// log-posterior of a 3PL item in (a, d, γ = logit c):
//
//	Σ_q r_q·log P_q + (n_q − r_q)·log(1 − P_q) + log p(a) + log p(c).
func (f *mmlFit) mstep3PL(n, r []float64, a, d, g float64) (float64, float64, float64) {
	sp, gp := f.slopePrior, f.guessPrior
	obj := func(a, d, g float64) float64 {
		if sp != nil && !(a > 0) {
			return math.Inf(-1)
		}
		c := mmlLogistic(g)
		if !(c > 0 && c < 1) {
			return math.Inf(-1)
		}
		var s float64
		l1c := math.Log1p(-c)
		for q, t := range f.theta {
			eta := a*t + d
			lq := l1c - mmlSoftplus(eta)
			lp := math.Log(c + (1-c)*mmlLogistic(eta))
			s += r[q]*lp + (n[q]-r[q])*lq
		}
		if sp != nil {
			s += sp.logDensity(a)
		}
		if gp != nil {
			s += gp.logDensity(c)
		}
		return s
	}
	var grad [3]float64
	var info, chol [3][3]float64
	f0 := obj(a, d, g)
	for range mmlNewtonMaxIter {
		c := mmlLogistic(g)
		grad = [3]float64{}
		info = [3][3]float64{}
		for q, t := range f.theta {
			l := mmlLogistic(a*t + d)
			p := c + (1-c)*l
			pq := p * (1 - p)
			if !(pq > 0) {
				continue
			}
			dl := (1 - c) * l * (1 - l)
			v := [3]float64{dl * t, dl, c * (1 - c) * (1 - l)}
			res := (r[q] - n[q]*p) / pq
			wt := n[q] / pq
			for u := range 3 {
				grad[u] += res * v[u]
				for w := range u + 1 {
					info[u][w] += wt * v[u] * v[w]
				}
			}
		}
		if sp != nil {
			d1, d2 := sp.derivs(a)
			grad[0] += d1
			info[0][0] += math.Max(-d2, 0)
		}
		if gp != nil {
			grad[2] += (gp.Alpha-1)*(1-c) - (gp.Beta-1)*c
			info[2][2] += math.Max((gp.Alpha+gp.Beta-2)*c*(1-c), 0)
		}
		for u := range 3 {
			info[u][u] *= 1 + 1e-10
			info[u][u] += 1e-12
			for w := range u {
				info[w][u] = info[u][w]
			}
		}
		step, ok := mmlCholSolve3(info, &chol, grad)
		if !ok {
			break
		}
		t := 1.0
		moved := false
		for range 60 {
			if f1 := obj(a+t*step[0], d+t*step[1], g+t*step[2]); f1 >= f0 {
				f0, moved = f1, true
				break
			}
			t /= 2
		}
		if !moved {
			break
		}
		a, d, g = a+t*step[0], d+t*step[1], g+t*step[2]
		if t*math.Max(math.Abs(step[0]), math.Max(math.Abs(step[1]), math.Abs(step[2]))) < mmlNewtonTol {
			break
		}
	}
	return a, d, g
}

// mmlCholSolve3 solves m·x = b for a symmetric positive definite 3 × 3 m.
func mmlCholSolve3(m [3][3]float64, l *[3][3]float64, b [3]float64) ([3]float64, bool) {
	*l = [3][3]float64{}
	for i := range 3 {
		for j := range i + 1 {
			s := m[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if !(s > 0) {
					return [3]float64{}, false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	var y, x [3]float64
	for i := range 3 {
		s := b[i]
		for k := range i {
			s -= l[i][k] * y[k]
		}
		y[i] = s / l[i][i]
	}
	for i := 2; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < 3; k++ {
			s -= l[k][i] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x, true
}

// setPopulation sets the quadrature weights to the given ones reweighted from
// N(m0, s0²) to N(mu, sigma²): w_q ∝ w0_q·φ((θ_q − mu)/sigma)/φ((θ_q − m0)/s0).
func (f *mmlFit) setPopulation(mu, sigma float64) {
	f.mu, f.sigma = mu, sigma
	mx := math.Inf(-1)
	for q, t := range f.theta {
		z0 := (t - f.m0) / f.s0
		z := (t - mu) / sigma
		f.lw[q] = f.lw0[q] + z0*z0/2 - z*z/2
		mx = math.Max(mx, f.lw[q])
	}
	var sum float64
	for _, v := range f.lw {
		sum += math.Exp(v - mx)
	}
	lz := mx + math.Log(sum)
	for q := range f.lw {
		f.lw[q] -= lz
	}
}

// weightMoments returns the mean of the current weights and their second
// moment about mu.
func (f *mmlFit) weightMoments() (mean, m2 float64) {
	for q, t := range f.theta {
		w := math.Exp(f.lw[q])
		mean += w * t
		m2 += w * (t - f.mu) * (t - f.mu)
	}
	return mean, m2
}

// updatePopulation is the M-step of the population mean and SD: it sets the
// weights, reweighted normal on the nodes, so that their mean and variance
// equal those of the expected counts n_q — the maximum of Σ_q n_q·log w_q in
// this exponential family.
func (f *mmlFit) updatePopulation() {
	var n, mean float64
	for q, v := range f.nq {
		n += v
		mean += v * f.theta[q]
	}
	mean /= n
	var vr float64
	for q, v := range f.nq {
		dv := f.theta[q] - mean
		vr += v * dv * dv
	}
	vr /= n
	mu, sigma := mean, math.Sqrt(vr)
	for range 100 {
		f.setPopulation(mu, sigma)
		wm, _ := f.weightMoments()
		var wv float64
		for q, t := range f.theta {
			wv += math.Exp(f.lw[q]) * (t - wm) * (t - wm)
		}
		if math.Abs(wm-mean) < 1e-13*(1+math.Abs(mean)) && math.Abs(wv-vr) < 1e-13*vr {
			break
		}
		mu += mean - wm
		sigma *= math.Sqrt(vr / wv)
	}
}

// mmlLogistic returns 1/(1 + exp(−x)) without overflow.
func mmlLogistic(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// mmlSoftplus returns log(1 + exp(x)) without overflow.
func mmlSoftplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// mmlLogit returns log(p/(1 − p)).
func mmlLogit(p float64) float64 { return math.Log(p / (1 - p)) }
