package psychometrics

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// perItem returns the number of estimated parameters of each free item in
// the parameter vector (the 1PL's common slope is stored once, first).
func (f *mmlFit) perItem() int {
	switch f.model {
	case ModelRasch, Model1PL:
		return 1
	case Model2PL:
		return 2
	}
	return 3
}

// offset returns the index of the first parameter of free items.
func (f *mmlFit) offset() int {
	if f.model == Model1PL && len(f.free) > 0 {
		return 1
	}
	return 0
}

// nParams returns the number of estimated parameters.
func (f *mmlFit) nParams() int {
	n := f.offset() + f.perItem()*len(f.free)
	if f.freePop {
		n += 2
	}
	return n
}

// pack writes the estimated parameters to psi: [a (1PL)], then per free item
// d (Rasch, 1PL), (a, d) (2PL) or (a, d, γ) (3PL), then μ and σ when the
// population is estimated.
func (f *mmlFit) pack(psi []float64) {
	off, per := f.offset(), f.perItem()
	if off == 1 {
		psi[0] = f.a[f.free[0]]
	}
	for k, j := range f.free {
		i := off + per*k
		switch f.model {
		case ModelRasch, Model1PL:
			psi[i] = f.d[j]
		case Model2PL:
			psi[i], psi[i+1] = f.a[j], f.d[j]
		case Model3PL:
			psi[i], psi[i+1], psi[i+2] = f.a[j], f.d[j], f.g[j]
		}
	}
	if f.freePop {
		n := len(psi)
		psi[n-2], psi[n-1] = f.mu, f.sigma
	}
}

// unpack sets the parameters from psi (the inverse of pack).
func (f *mmlFit) unpack(psi []float64) {
	off, per := f.offset(), f.perItem()
	for k, j := range f.free {
		i := off + per*k
		switch f.model {
		case ModelRasch:
			f.d[j] = psi[i]
		case Model1PL:
			f.a[j], f.d[j] = psi[0], psi[i]
		case Model2PL:
			f.a[j], f.d[j] = psi[i], psi[i+1]
		case Model3PL:
			f.a[j], f.d[j], f.g[j], f.c[j] = psi[i], psi[i+1], psi[i+2], mmlLogistic(psi[i+2])
		}
	}
	if f.freePop {
		n := len(psi)
		f.setPopulation(psi[n-2], psi[n-1])
	}
}

// gradient writes the gradient of the log-posterior in the parameter vector,
// from the expected counts of the last E-step (Fisher's identity: the
// gradient of the marginal log-likelihood is the posterior expectation of the
// complete-data score).
func (f *mmlFit) gradient(dst []float64) {
	clear(dst)
	off, per := f.offset(), f.perItem()
	for k, j := range f.free {
		n := f.counts(j)
		i := off + per*k
		a, d, c := f.a[j], f.d[j], f.c[j]
		switch f.model {
		case ModelRasch, Model1PL, Model2PL:
			ga, gd := f.r1[j], f.pat.nCorrect[j]
			for q, t := range f.theta {
				np := n[q] * mmlLogistic(a*t+d)
				ga -= np * t
				gd -= np
			}
			switch f.model {
			case ModelRasch:
				dst[i] = gd
			case Model1PL:
				dst[0] += ga
				dst[i] = gd
			default:
				dst[i], dst[i+1] = ga, gd
			}
		case Model3PL:
			r := f.rvec(j)
			for q, t := range f.theta {
				l := mmlLogistic(a*t + d)
				p := c + (1-c)*l
				pq := p * (1 - p)
				if !(pq > 0) {
					continue
				}
				res := (r[q] - n[q]*p) / pq
				dl := (1 - c) * l * (1 - l)
				dst[i] += res * dl * t
				dst[i+1] += res * dl
				dst[i+2] += res * c * (1 - c) * (1 - l)
			}
		}
	}
	if p := f.slopePrior; p != nil && len(f.free) > 0 {
		switch f.model {
		case Model1PL:
			d1, _ := p.derivs(f.a[f.free[0]])
			dst[0] += d1
		case Model2PL, Model3PL:
			for k, j := range f.free {
				d1, _ := p.derivs(f.a[j])
				dst[off+per*k] += d1
			}
		}
	}
	if p := f.guessPrior; p != nil {
		for k, j := range f.free {
			c := f.c[j]
			dst[off+per*k+2] += (p.Alpha-1)*(1-c) - (p.Beta-1)*c
		}
	}
	if f.freePop {
		var n, mean, m2 float64
		for q, v := range f.nq {
			n += v
			mean += v * f.theta[q]
			m2 += v * (f.theta[q] - f.mu) * (f.theta[q] - f.mu)
		}
		wm, wm2 := f.weightMoments()
		s := f.sigma
		dst[len(dst)-2] = (mean - n*wm) / (s * s)
		dst[len(dst)-1] = (m2 - n*wm2) / (s * s * s)
	}
}

// observedInfo returns the negative Hessian of the log-posterior, by central
// differences of the analytic gradient. It leaves the fit at its parameters
// with its E-step sums recomputed.
func (f *mmlFit) observedInfo() *mat.SymDense {
	np := f.nParams()
	psi0 := make([]float64, np)
	f.pack(psi0)
	psi := make([]float64, np)
	gp := make([]float64, np)
	gm := make([]float64, np)
	h := mat.NewDense(np, np, nil)
	for k := range np {
		step := 1e-4 * math.Max(1, math.Abs(psi0[k]))
		copy(psi, psi0)
		psi[k] = psi0[k] + step
		f.unpack(psi)
		f.estep()
		f.gradient(gp)
		psi[k] = psi0[k] - step
		f.unpack(psi)
		f.estep()
		f.gradient(gm)
		for i := range np {
			h.Set(i, k, (gp[i]-gm[i])/(2*step))
		}
	}
	f.unpack(psi0)
	f.estep()
	info := mat.NewSymDense(np, nil)
	for i := range np {
		for k := i; k < np; k++ {
			info.SetSym(i, k, -(h.At(i, k)+h.At(k, i))/2)
		}
	}
	return info
}

// crossProductInfo returns Σ_i s_i·s_iᵀ over persons of their score vectors
// s_i = E[∂ log f(x_i, θ)/∂ψ | x_i] (the empirical information), plus the
// negative Hessian of the log-priors.
func (f *mmlFit) crossProductInfo() *mat.SymDense {
	np := f.nParams()
	nq := len(f.theta)
	off, per := f.offset(), f.perItem()
	f.tables()
	// v[u][k] holds, for free item k and its parameter u, ∂P/∂ψ_u / (P·Q) at
	// each node; pv the same times P. The person's score for an administered
	// item is Σ_q post_q·(x − P_q)·v_q.
	v := make([][]float64, per)
	pv := make([][]float64, per)
	for u := range per {
		v[u] = make([]float64, len(f.free)*nq)
		pv[u] = make([]float64, len(f.free)*nq)
	}
	for k, j := range f.free {
		a, d, c := f.a[j], f.d[j], f.c[j]
		for q, t := range f.theta {
			l := mmlLogistic(a*t + d)
			p := c + (1-c)*l
			i := k*nq + q
			switch f.model {
			case ModelRasch, Model1PL:
				v[0][i], pv[0][i] = 1, p
			case Model2PL:
				v[0][i], pv[0][i] = t, p*t
				v[1][i], pv[1][i] = 1, p
			case Model3PL:
				pq := p * (1 - p)
				if !(pq > 0) {
					continue
				}
				dl := (1 - c) * l * (1 - l)
				for u, dp := range [3]float64{dl * t, dl, c * (1 - c) * (1 - l)} {
					v[u][i] = dp / pq
					pv[u][i] = p * dp / pq
				}
			}
		}
	}
	slot := make([]int, f.pat.items)
	for j := range slot {
		slot[j] = -1
	}
	for k, j := range f.free {
		slot[j] = k
	}
	wm, wm2 := f.weightMoments()
	npat := len(f.pat.count)
	g := mat.NewDense(npat, np, nil)
	chunks := (npat + mmlChunk - 1) / mmlChunk
	work := func(c int) {
		lp := make([]float64, nq)
		state := make([]int8, f.pat.items) // 0 incorrect, 1 correct, 2 missing
		lo, hi := c*mmlChunk, min((c+1)*mmlChunk, npat)
		for i := lo; i < hi; i++ {
			f.posterior(i, lp)
			row := g.RawRowView(i)
			clear(state)
			for _, j := range f.pat.correct(i) {
				state[j] = 1
			}
			for _, j := range f.pat.missed(i) {
				state[j] = 2
			}
			for j, st := range state {
				k := slot[j]
				if k < 0 || st == 2 {
					continue
				}
				for u := range per {
					s := -floats.Dot(lp, pv[u][k*nq:(k+1)*nq])
					if st == 1 {
						s += floats.Dot(lp, v[u][k*nq:(k+1)*nq])
					}
					row[off+per*k+u] = s
				}
				if f.model == Model1PL {
					// Slope score: Σ_q post_q·(x − P_q)·θ_q.
					var s float64
					for q, t := range f.theta {
						p := pv[0][k*nq+q]
						x := 0.0
						if st == 1 {
							x = 1
						}
						s += lp[q] * (x - p) * t
					}
					row[0] += s
				}
			}
			if f.freePop {
				var mean, m2 float64
				for q, t := range f.theta {
					mean += lp[q] * t
					m2 += lp[q] * (t - f.mu) * (t - f.mu)
				}
				s := f.sigma
				row[np-2] = (mean - wm) / (s * s)
				row[np-1] = (m2 - wm2) / (s * s * s)
			}
			floats.Scale(math.Sqrt(f.pat.count[i]), row)
		}
	}
	mmlParallel(chunks, work)
	info := mat.NewSymDense(np, nil)
	info.SymOuterK(1, g.T())
	// Priors' information.
	if p := f.slopePrior; p != nil && len(f.free) > 0 {
		switch f.model {
		case Model1PL:
			_, d2 := p.derivs(f.a[f.free[0]])
			info.SetSym(0, 0, info.At(0, 0)-d2)
		case Model2PL, Model3PL:
			for k, j := range f.free {
				_, d2 := p.derivs(f.a[j])
				i := off + per*k
				info.SetSym(i, i, info.At(i, i)-d2)
			}
		}
	}
	if p := f.guessPrior; p != nil {
		for k, j := range f.free {
			c := f.c[j]
			i := off + per*k + 2
			info.SetSym(i, i, info.At(i, i)+(p.Alpha+p.Beta-2)*c*(1-c))
		}
	}
	return info
}

// standardErrors fills f.se, f.meanSE and f.sdSE.
func (f *mmlFit) standardErrors() {
	k := f.pat.items
	nan := math.NaN()
	f.se = make([]ItemSE, k)
	for j := range f.se {
		f.se[j] = ItemSE{A: nan, B: nan, C: nan}
	}
	f.meanSE, f.sdSE = nan, nan
	np := f.nParams()
	if f.seMethod == SENone || np == 0 {
		return
	}
	var info *mat.SymDense
	if f.seMethod == SECrossProduct {
		info = f.crossProductInfo()
	} else {
		info = f.observedInfo()
	}
	var chol mat.Cholesky
	if !chol.Factorize(info) {
		return
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		return
	}
	sqrt := func(v float64) float64 {
		if v < 0 {
			return nan
		}
		return math.Sqrt(v)
	}
	off, per := f.offset(), f.perItem()
	for kk, j := range f.free {
		i := off + per*kk
		a, d := f.a[j], f.d[j]
		switch f.model {
		case ModelRasch:
			f.se[j].B = sqrt(cov.At(i, i))
		case Model1PL, Model2PL, Model3PL:
			ia, id := i, i+1
			if f.model == Model1PL {
				ia, id = 0, i
			}
			// b = −d/a: ∂b/∂a = d/a², ∂b/∂d = −1/a.
			ga, gd := d/(a*a), -1/a
			vb := ga*ga*cov.At(ia, ia) + gd*gd*cov.At(id, id) + 2*ga*gd*cov.At(ia, id)
			f.se[j].A = sqrt(cov.At(ia, ia))
			f.se[j].B = sqrt(vb)
			if f.model == Model3PL {
				c := f.c[j]
				f.se[j].C = c * (1 - c) * sqrt(cov.At(i+2, i+2))
			}
		}
	}
	if f.freePop {
		f.meanSE = sqrt(cov.At(np-2, np-2))
		f.sdSE = sqrt(cov.At(np-1, np-1))
	}
}

// result assembles the Calibration.
func (f *mmlFit) result() Calibration {
	k := f.pat.items
	items := make([]Item3PL, k)
	for j := range items {
		if f.fixed[j] {
			items[j] = f.given[j]
			continue
		}
		items[j] = Item3PL{A: f.a[j], B: -f.d[j] / f.a[j], C: f.c[j]}
	}
	np := f.nParams()
	n := float64(f.pat.persons)
	return Calibration{
		Model:      f.model,
		Items:      items,
		SE:         f.se,
		Mean:       f.mu,
		SD:         f.sigma,
		MeanSE:     f.meanSE,
		SDSE:       f.sdSE,
		LogLik:     f.ll,
		AIC:        -2*f.ll + 2*float64(np),
		BIC:        -2*f.ll + float64(np)*math.Log(n),
		Parameters: np,
		Persons:    f.pat.persons,
		Iterations: f.iterations,
		Converged:  f.converged,
	}
}
