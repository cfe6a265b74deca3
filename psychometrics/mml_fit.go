package psychometrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// ItemFit is the S-X² fit statistic of one item.
type ItemFit struct {
	Item   int     // column index
	Chi2   float64 // S-X²
	DF     int     // Groups − params
	P      float64 // upper-tail χ²(DF) probability of Chi2; NaN when DF < 1
	Groups int     // summed-score groups after collapsing
}

// SX2 returns the S-X² item fit statistic of Orlando & Thissen (2000) for
// each item (column) of the persons × items 0/1 matrix x under the calibrated
// items and the ability distribution q (the zero Quadrature means
// NormalQuadrature(61, 0, 1)). params is the number of parameters estimated
// per item (1 for the Rasch model, 2 for the 2PL, 3 for the 3PL; R's mirt
// counts 2 for the 1PL with a common slope), and sets the degrees of freedom.
//
// Persons are grouped by summed score k = 1, …, n−1 (n items; scores 0 and n
// determine every response). For item j, the observed proportion correct O_jk
// in group k is compared with the proportion the model expects given the
// summed score,
//
//	E_jk = ∫ P_j(θ)·S*_{k−1}^{(−j)}(θ) dG(θ) / ∫ S*_k(θ) dG(θ),
//
// where S*_k(θ) is the probability of summed score k at θ and S*^{(−j)} that
// of the test without item j, both from the recursion of Lord & Wingersky
// (1984), and G is q. Then
//
//	S-X²_j = Σ_k N_k·(O_jk − E_jk)² / (E_jk·(1 − E_jk)),
//
// the Pearson statistic of the correct and incorrect counts, approximately
// χ² with (groups − params) degrees of freedom. Groups with no person are
// dropped; then, while a group has an expected count of correct or of
// incorrect answers below 1, the lowest-scoring such group is merged with a
// neighbour: the next one for the first group, the previous one for the last,
// otherwise the neighbour with fewer persons (the lower one on a tie) — the
// rule of R's mirt (Kang & Chen, 2008).
//
// Persons with a NaN (not administered) cell are left out, since their
// summed score is not comparable. SX2 returns an error wrapping
// ErrNotDichotomous if a response is not 0, 1 or NaN. It panics if x has no
// rows or fewer than two columns, if len(items) differs from its columns, if
// an item's parameters are invalid, if params is negative, or if q is
// invalid.
//
// References: Orlando, M., & Thissen, D. (2000). Likelihood-based item-fit
// indices for dichotomous item response theory models. Applied Psychological
// Measurement, 24, 50–64. Lord, F. M., & Wingersky, M. S. (1984). Comparison
// of IRT true-score and equipercentile observed-score "equatings". Applied
// Psychological Measurement, 8, 453–461. Kang, T., & Chen, T. T. (2008).
// Performance of the generalized S-X² item fit index for polytomous IRT
// models. Journal of Educational Measurement, 45, 391–406.
func SX2(x mat.Matrix, items []Item3PL, q Quadrature, params int) ([]ItemFit, error) {
	n, k := x.Dims()
	if n == 0 || k < 2 {
		panic("psychometrics: S-X² needs persons and at least two items")
	}
	if len(items) != k {
		panic("psychometrics: number of items does not match the response matrix")
	}
	if params < 0 {
		panic("psychometrics: negative number of item parameters")
	}
	for _, it := range items {
		if math.IsNaN(it.A) || math.IsInf(it.A, 0) || math.IsNaN(it.B) || math.IsInf(it.B, 0) || !(it.C >= 0 && it.C <= 1) {
			panic("psychometrics: invalid 3PL item parameters")
		}
	}
	if q.Nodes == nil && q.Weights == nil {
		q = NormalQuadrature(61, 0, 1)
	}
	if len(q.Nodes) < 1 || len(q.Nodes) != len(q.Weights) {
		panic("psychometrics: quadrature needs one weight per node")
	}
	for i, w := range q.Weights {
		if !(w >= 0) || math.IsInf(w, 0) || math.IsNaN(q.Nodes[i]) || math.IsInf(q.Nodes[i], 0) {
			panic("psychometrics: invalid quadrature")
		}
	}

	// Observed counts: nk[s] persons with summed score s, ok[j][s] of them
	// answering item j correctly.
	nk := make([]float64, k+1)
	ok := make([][]float64, k)
	for j := range ok {
		ok[j] = make([]float64, k+1)
	}
	row := make([]float64, k)
rows:
	for i := range n {
		s := 0
		for j := range k {
			v := x.At(i, j)
			switch {
			case math.IsNaN(v):
				continue rows
			case v == 1:
				s++
			case v != 0:
				return nil, fmt.Errorf("%w: person %d, item %d: %v", ErrNotDichotomous, i, j, v)
			}
			row[j] = v
		}
		nk[s]++
		for j, v := range row {
			if v == 1 {
				ok[j][s]++
			}
		}
	}

	// Expected proportions by Lord–Wingersky at each node.
	num := make([][]float64, k) // num[j][s] = ∫ P_j S^{(−j)}_{s−1} dG
	for j := range num {
		num[j] = make([]float64, k+1)
	}
	den := make([]float64, k+1) // den[s] = ∫ S_s dG
	p := make([]float64, k)
	sAll := make([]float64, k+1)
	sLoo := make([]float64, k)
	for iq, t := range q.Nodes {
		w := q.Weights[iq]
		if w == 0 {
			continue
		}
		for j, it := range items {
			p[j] = it.P(t)
		}
		mmlLordWingersky(sAll, p, -1)
		for s, v := range sAll {
			den[s] += w * v
		}
		for j := range items {
			mmlLordWingersky(sLoo, p, j)
			for s := 1; s <= k; s++ {
				num[j][s] += w * p[j] * sLoo[s-1]
			}
		}
	}

	out := make([]ItemFit, k)
	groups := make([]mmlGroup, 0, k-1)
	for j := range k {
		groups = groups[:0]
		for s := 1; s < k; s++ {
			if nk[s] == 0 {
				continue
			}
			e := num[j][s] / den[s]
			groups = append(groups, mmlGroup{n: nk[s], o: ok[j][s], e: nk[s] * e})
		}
		groups = mmlCollapse(groups)
		var chi2 float64
		for _, g := range groups {
			chi2 += (g.o-g.e)*(g.o-g.e)/g.e + (g.o-g.e)*(g.o-g.e)/(g.n-g.e)
		}
		df := len(groups) - params
		pv := math.NaN()
		if df >= 1 {
			pv = distuv.ChiSquared{K: float64(df)}.Survival(chi2)
		}
		if len(groups) == 0 {
			chi2 = math.NaN()
		}
		out[j] = ItemFit{Item: j, Chi2: chi2, DF: df, P: pv, Groups: len(groups)}
	}
	return out, nil
}

// mmlGroup is a summed-score group of S-X²: n persons, o of whom answered the
// item correctly, against e expected.
type mmlGroup struct {
	n, o, e float64
}

// mmlCollapse merges groups until every expected count, correct (e) and
// incorrect (n − e), is at least 1 or one group is left.
func mmlCollapse(g []mmlGroup) []mmlGroup {
	for len(g) > 1 {
		bad := -1
		for i, v := range g {
			if v.e < 1 || v.n-v.e < 1 {
				bad = i
				break
			}
		}
		if bad < 0 {
			break
		}
		into := bad + 1
		switch {
		case bad == len(g)-1:
			into = bad - 1
		case bad > 0 && g[bad-1].n <= g[bad+1].n:
			into = bad - 1
		}
		g[into].n += g[bad].n
		g[into].o += g[bad].o
		g[into].e += g[bad].e
		g = append(g[:bad], g[bad+1:]...)
	}
	return g
}

// mmlLordWingersky fills s[0:m+1] with the probabilities of the summed scores
// 0, …, m of the items with correct-response probabilities p, leaving out
// item skip (skip < 0 keeps all; then m = len(p), else m = len(p) − 1) by the
// recursion of Lord & Wingersky (1984):
//
//	S_r(k) = S_{r−1}(k)·(1 − p_r) + S_{r−1}(k − 1)·p_r.
func mmlLordWingersky(s, p []float64, skip int) {
	clear(s)
	s[0] = 1
	m := 0
	for j, pj := range p {
		if j == skip {
			continue
		}
		m++
		s[m] = s[m-1] * pj
		for r := m - 1; r > 0; r-- {
			s[r] = s[r]*(1-pj) + s[r-1]*pj
		}
		s[0] *= 1 - pj
	}
}
