package psychometrics

import (
	"cmp"
	"math"
	"slices"
)

// PoissonBinomialTail returns P(M ≥ m) for M = Σ_j B_j, a sum of independent
// Bernoulli(p[j]) variables (the Poisson-binomial distribution). It is
// computed exactly by the recursive convolution over items, on the
// complement: with U = len(p) − M, the number of failures, P(M ≥ m) =
// P(U ≤ len(p) − m), and the distribution of U is built one item at a time
// and truncated at len(p) − m. Every term is a sum of non-negative products,
// so small tails keep their relative accuracy (no 1 − x cancellation); the
// cost is O(len(p) · (len(p) − m + 1)).
//
// It returns 1 for m ≤ 0 and 0 for m > len(p). It panics if a p[j] is
// outside [0, 1].
func PoissonBinomialTail(p []float64, m int) float64 {
	n := len(p)
	if m <= 0 {
		return 1
	}
	if m > n {
		return 0
	}
	u := n - m
	var buf [64]float64
	f := buf[:0]
	if u+1 > len(buf) {
		f = make([]float64, 0, u+1)
	}
	f = f[:u+1]
	f[0] = 1
	for j, pj := range p {
		if !(pj >= 0 && pj <= 1) {
			panic("psychometrics: probability outside [0, 1]")
		}
		q := 1 - pj
		top := min(j+1, u)
		for k := top; k > 0; k-- {
			f[k] = f[k]*pj + f[k-1]*q
		}
		f[0] *= pj
	}
	var s float64
	for _, v := range f {
		s += v
	}
	return math.Min(1, s)
}

// PairSimilarity is the answer similarity of two candidates.
type PairSimilarity struct {
	A, B     int     // person indices, A < B
	Window   string  // the window both sat in
	Items    int     // items both answered
	Matches  int     // items on which they chose the same option
	Expected float64 // Σ_j p_match_j, the expected number of matches
	P        float64 // GBT p-value P(M ≥ Matches)
	PAdj     float64 // P with the Bonferroni correction over the pairs of every window
}

// SimilaritySettings tune AnswerSimilarity. The zero value selects the
// defaults.
type SimilaritySettings struct {
	// ScoreGroups is the number of total-score groups the choice
	// probabilities are estimated in; default min(10, max(1, persons/50)).
	ScoreGroups int
	// MaxP keeps only the pairs with P ≤ MaxP in the result (all 1,000 × 999
	// / 2 pairs of a large window would be a long list); default 1.
	MaxP float64
}

// AnswerSimilarity tests every pair of candidates who sat in the same window
// for answer copying with the Generalized Binomial Test (GBT; van der Linden
// & Sotaridona, 2006). choices[i][j] is the option person i chose on item j
// ("" for none), scores[i] the person's total score and windows[i] the window
// (session) they sat in; nil windows puts everybody in one.
//
// Choice probabilities. P_ik, the probability that person i chooses option
// k of item j, is the proportion of the persons in i's total-score group
// (persons ranked by score, ties in row order, cut into ScoreGroups groups
// of near-equal size) who chose k — the empirical counterpart of a nominal
// response model, conditional on ability through the total score — computed
// without person i, with ½ added to the count of every option seen on the
// item so that no option has probability zero:
//
//	P_ik = (c_gk − [i chose k] + ½) / (n_g − [i answered] + K_j/2)
//
// over the n_g persons of the group who answered the item, K_j options.
//
// GBT. Over the items both answered, the number of identical answers M is
// a sum of independent Bernoulli(p_j) with p_j = Σ_k P_ak P_bk, and the
// p-value is the exact Poisson-binomial tail P(M ≥ m) (PoissonBinomialTail)
// of the observed matches m. A pair with m ≤ E[M] is not worth the
// convolution: the median of a Poisson-binomial distribution is ⌊E M⌋ or
// ⌈E M⌉ (Jogdeo & Samuels, 1968), so its p-value is at least ½; such
// pairs are counted as tested but not returned.
//
// Multiple comparisons: PAdj = min(1, P × N) with N the number of pairs
// tested over all windows (Bonferroni). Bonferroni rather than
// Benjamini–Hochberg because a flag here accuses two named people: the
// family-wise error rate — the chance that any honest pair is flagged — is
// the guarantee a review board can state, and copying evidence is strong
// enough (p-values of 1e-10 and below) that the loss of power is small.
//
// AnswerSimilarity returns the pairs with more matches than expected and
// P ≤ s.MaxP, by increasing P (then A, B), and N. It panics if choices and
// scores (or windows, when not nil) differ in length or the rows of choices
// differ in length.
func AnswerSimilarity(choices [][]string, scores []float64, windows []string, s SimilaritySettings) ([]PairSimilarity, int) {
	maxP := s.MaxP
	if maxP == 0 {
		maxP = 1
	}
	var pairs []PairSimilarity
	tested := similarityPairs(choices, scores, windows, s, func(p PairSimilarity) {
		if p.P <= maxP {
			pairs = append(pairs, p)
		}
	})
	slices.SortFunc(pairs, func(x, y PairSimilarity) int {
		return cmp.Or(cmp.Compare(x.P, y.P), cmp.Compare(x.A, y.A), cmp.Compare(x.B, y.B))
	})
	return pairs, tested
}

// similarityPairs computes the GBT of AnswerSimilarity, calls visit for
// every pair with more matches than expected (PAdj set), and returns the
// number of pairs tested.
func similarityPairs(choices [][]string, scores []float64, windows []string, s SimilaritySettings, visit func(PairSimilarity)) int {
	n := len(choices)
	if len(scores) != n || (windows != nil && len(windows) != n) {
		panic("psychometrics: choices, scores and windows differ in length")
	}
	if n == 0 {
		return 0
	}
	k := len(choices[0])
	for _, row := range choices {
		if len(row) != k {
			panic("psychometrics: rows of choices differ in length")
		}
	}
	groups := s.ScoreGroups
	if groups <= 0 {
		groups = min(10, max(1, n/50))
	}
	groups = min(groups, n)

	// Code options per item: 0 none, 1.. the sorted options.
	opts := make([]int, k)   // K_j
	offset := make([]int, k) // start of item j in a person's probability row
	code := make([][]int8, n)
	for i := range code {
		code[i] = make([]int8, k)
	}
	width := 0
	for j := range k {
		var seen []string
		for i := range n {
			if c := choices[i][j]; c != "" && !slices.Contains(seen, c) {
				seen = append(seen, c)
			}
		}
		slices.Sort(seen)
		if len(seen) > 120 {
			panic("psychometrics: more than 120 options on an item")
		}
		for i := range n {
			if c := choices[i][j]; c != "" {
				idx, _ := slices.BinarySearch(seen, c)
				code[i][j] = int8(idx + 1)
			}
		}
		opts[j] = len(seen)
		offset[j] = width
		width += len(seen)
	}

	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	group := make([]int, n)
	for rank, i := range order {
		group[i] = rank * groups / n
	}
	counts := make([][]float64, groups) // counts[g][offset_j + k]
	answered := make([][]float64, groups)
	for g := range counts {
		counts[g] = make([]float64, width)
		answered[g] = make([]float64, k)
	}
	for i := range n {
		g := group[i]
		for j := range k {
			if c := code[i][j]; c > 0 {
				counts[g][offset[j]+int(c)-1]++
				answered[g][j]++
			}
		}
	}
	prob := make([][]float64, n)
	for i := range n {
		g := group[i]
		row := make([]float64, width)
		for j := range k {
			own := 0.0
			if code[i][j] > 0 {
				own = 1
			}
			den := answered[g][j] - own + float64(opts[j])/2
			for o := range opts[j] {
				c := counts[g][offset[j]+o]
				if int(code[i][j]) == o+1 {
					c--
				}
				row[offset[j]+o] = (c + 0.5) / den
			}
		}
		prob[i] = row
	}

	byWindow := map[string][]int{}
	var names []string
	for i := range n {
		w := forensicsWindow(windows, i)
		if _, ok := byWindow[w]; !ok {
			names = append(names, w)
		}
		byWindow[w] = append(byWindow[w], i)
	}
	tested := 0
	for _, w := range names {
		m := len(byWindow[w])
		tested += m * (m - 1) / 2
	}
	pm := make([]float64, k)
	for _, w := range names {
		members := byWindow[w]
		for x, a := range members {
			ca, pa := code[a], prob[a]
			for _, b := range members[x+1:] {
				cb, pb := code[b], prob[b]
				var mu float64
				m, items := 0, 0
				for j := range k {
					if ca[j] == 0 || cb[j] == 0 {
						continue
					}
					var p float64
					for o := offset[j]; o < offset[j]+opts[j]; o++ {
						p += pa[o] * pb[o]
					}
					pm[items] = math.Min(1, p)
					items++
					mu += p
					if ca[j] == cb[j] {
						m++
					}
				}
				if float64(m) <= mu {
					continue
				}
				p := PoissonBinomialTail(pm[:items], m)
				visit(PairSimilarity{
					A: a, B: b, Window: w, Items: items, Matches: m, Expected: mu,
					P: p, PAdj: math.Min(1, p*float64(tested)),
				})
			}
		}
	}
	return tested
}
