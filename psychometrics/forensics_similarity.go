package psychometrics

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
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
	A, B int // person indices, A < B
	// Copier is A or B, a hint for review rather than proof of who copied:
	// with answer times, the one who answered after the other on more
	// items; otherwise (or on a tie) the direction of the smaller p-value.
	Copier   int
	Window   string  // the window both sat in
	Items    int     // items both answered
	Matches  int     // items on which they chose the same option
	Expected float64 // Σ_j P_copier(source's option on j), the expected number of matches
	P        float64 // GBT p-value: the smallest of the T tests' p-values × T, at most 1 (see AnswerSimilarity)
	PAdj     float64 // P with the Bonferroni correction over the pairs of every window

	// Followed is the number of items on which Copier answered within
	// FollowWithin after the other, FollowedMatches how many of those they
	// answered alike, and FollowedP the timed GBT p-value in that
	// direction; 0, 0 and NaN without answer times to compare.
	Followed        int
	FollowedMatches int
	FollowedP       float64
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
	// FollowWithin is the lag in seconds within which an answer counts as
	// following the partner's answer to the same item, for the timed GBT;
	// default 60.
	FollowWithin float64
}

// AnswerSimilarity tests every pair of candidates who sat in the same window
// for answer copying with the Generalized Binomial Test (GBT; van der Linden
// & Sotaridona, 2006) in its directional form. choices[i][j] is the option
// person i chose on item j ("" for none), scores[i] the person's total score
// and windows[i] the window (session) they sat in; nil windows puts
// everybody in one. answeredAt, when not nil, holds the times the answers
// were given (persons × items, in seconds on a clock common to a window,
// NaN where none was recorded) for the timed test below.
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
// GBT. Given the source s's answers, the number of items on which the
// copier c chose the same option is, for independent work, a sum of
// independent Bernoulli(p_j) with p_j = P_c(s's option on j), and the
// directional p-value is the exact Poisson-binomial tail P(M ≥ m)
// (PoissonBinomialTail). Conditioning on the source's answers, as the GBT
// and Wollack's ω do, rather than on both candidates' probabilities
// (p_j = Σ_k P_ak P_bk) removes the source's own variability from the
// null distribution: on simulated exams it is the more powerful of the two
// (a 60% copier of a random source in a 1,000 × 40 exam is in the top 20
// in 6 of 10 replications instead of 4) at the same false-positive rate.
// Both directions are tested (which of the two copied is unknown) and,
// without answer times, P = min(1, 2 · min(P_a→b, P_b→a)), Bonferroni over
// the directions; Copier names the direction of the smaller (a hint: when
// both p-values are tiny the direction is weakly determined, and in
// simulation it has often named the source, whose score copying has not
// raised).
//
// The copier's ability. Copying raises the copier's total score, so the
// score group overstates the copier's ability and with it the expected
// matches: a weak copier of a strong source looks like an average candidate
// who agrees with a strong one. Where the plug-in p-value is below
// similarityRefineP, the copier's ability is taken instead from the items
// the copier did NOT match — the answers the copier gave alone — through
// their conditional likelihood given that they differ from the source's,
// L(g) = Π_{j unmatched} P_g(x_j) / (1 − P_g(s_j)), over the score groups
// g (uniform prior). The p-value is the posterior mean of the groups'
// exact tails, Σ_g w_g P_g(M ≥ m) with w_g ∝ L(g), not the tail at the
// most likely group: a strong source's unmatched items are mostly ones the
// copier got wrong and carry little information about ability, and a
// plug-in estimate from them would be biased low and flag honest pairs
// (a fifth of honest candidates in simulation), while the posterior mean
// falls back to a spread over the groups when the data say little. On the
// simulated exams it lowers the copier pair's p-value by up to an order
// of magnitude and keeps the honest pairs' p-values calibrated
// (TestForensicsHonestSimilarityCalibrated).
//
// A pair whose matches do not exceed the expected number in either
// direction (nor on F below, with answer times) is not worth the
// convolution: the median of a Poisson-binomial distribution is ⌊E M⌋ or
// ⌈E M⌉ (Jogdeo & Samuels, 1968), so each directional p-value is at least
// ½ and P = 1; such pairs are counted as tested but not returned.
//
// The timed test. A copier in the same window answers a copied item after
// the source has, once the answer reaches them, so with answer times the
// items on which the copier answered within FollowWithin after the source,
// F, hold the copied answers, and the copier's other answers, R, were
// given alone. Under independent work the responses and the response
// times are conditionally independent given the persons' ability and
// speed (the hierarchical model of van der Linden, 2007), so F and R,
// chosen by the clock alone, say nothing about the answers: the matches on
// F are the GBT's sum of independent Bernoulli(P_c(s's option on j)), and
// R is a fair sample of the copier's own work, unlike the unmatched items
// above, which the answers themselves select. The timed p-value is the
// conditional predictive p-value (Bayarri & Berger, 2000)
//
//	Σ_g w_g P_g(M_F ≥ m_F),   w_g ∝ Π_{j∈R} P_g(x_j)
//
// over the score groups g (uniform prior: the groups are the population's
// quantiles), the copier's ability taken from R only; a direction whose
// matches on F do not exceed the expected number at the copier's score
// group is given p = 1 (conservative) to save the convolutions.
//
// With answer times the tests are chosen by the times, which needs no
// correction as they say nothing about the answers under the null: the
// candidate who answered after the other on more items is tested as the
// copier by the timed GBT, and the other one as the copier by the GBT on
// all items — each at an ability copying cannot have raised, the
// follower's from R and the other's from their own score — and P =
// min(1, 2 · the smaller p-value); on a tie all four tests are made and
// P = min(1, 4 · the smallest). A pair with no item both have a time for is
// tested as without times. On the simulated 1,000 × 40 exams of
// TestForensicsPlantedCheaters this puts the copier pair in the top 20 in
// 34 of 40 replications instead of 28, and honest pairs' p-values stay
// below nominal (0.3% below 0.01 with the times, 0.4% without; the timed
// test's own, 0.1%). With items in a fixed order the times are not
// evidence by themselves: honest candidates of like speed answer within a
// minute of each other on many items, and a copier who falls behind
// answers copied items minutes after the source, outside F (the GBT in
// the other direction still counts them). Nor did the correlation of the
// two candidates' log response-time residuals (van der Linden, 2009)
// separate the simulated copiers (r ≈ 0.3 over 40 items): the wait for
// the source's answer blurs the copier's own times.
//
// Identical incorrect answers were considered as the statistic instead
// (the GBT on matching wrong options, conditional or not on the items both
// got wrong): they carry the most evidence per match, but a copier of a
// strong source copies few wrong answers, and in simulation they found
// the copier pair less often than the count of all matches.
//
// Multiple comparisons: PAdj = min(1, P × N) with N the number of pairs
// tested over all windows (Bonferroni). Bonferroni rather than
// Benjamini–Hochberg because a flag here accuses two named people: the
// family-wise error rate — the chance that any honest pair is flagged — is
// the guarantee a review board can state.
//
// AnswerSimilarity returns the pairs with more matches than expected and
// P ≤ s.MaxP, by increasing P (then A, B), and N. It panics if choices and
// scores (or windows, when not nil) differ in length, the rows of choices
// differ in length, or answeredAt is not len(choices) × the items.
func AnswerSimilarity(choices [][]string, scores []float64, windows []string, answeredAt *mat.Dense, s SimilaritySettings) ([]PairSimilarity, int) {
	maxP := s.MaxP
	if maxP == 0 {
		maxP = 1
	}
	var pairs []PairSimilarity
	tested := similarityPairs(choices, scores, windows, answeredAt, s, func(p PairSimilarity) {
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
func similarityPairs(choices [][]string, scores []float64, windows []string, answeredAt *mat.Dense, s SimilaritySettings, visit func(PairSimilarity)) int {
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
	if answeredAt != nil {
		if r, c := answeredAt.Dims(); r != n || c != k {
			panic("psychometrics: answer times and choices differ in shape")
		}
	}
	within := s.FollowWithin
	if within == 0 {
		within = 60
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
	// The groups' option proportions, with everybody counted, for the
	// copier's ability from the unmatched items: T, log T, log(1 − T).
	tab := make([][]float64, groups)
	logT := make([][]float64, groups)
	log1mT := make([][]float64, groups)
	for g := range groups {
		tab[g], logT[g], log1mT[g] = make([]float64, width), make([]float64, width), make([]float64, width)
		for j := range k {
			den := answered[g][j] + float64(opts[j])/2
			for o := range opts[j] {
				v := (counts[g][offset[j]+o] + 0.5) / den
				tab[g][offset[j]+o], logT[g][offset[j]+o], log1mT[g][offset[j]+o] = v, math.Log(v), math.Log1p(-v)
			}
		}
	}
	sim := pairTester{k: k, offset: offset, tab: tab, logT: logT, log1mT: log1mT,
		pm: make([]float64, k), ll: make([]float64, groups)}
	followBA, followAB := make([]bool, k), make([]bool, k) // b answered within `within` after a, and a after b
	for _, w := range names {
		members := byWindow[w]
		for x, a := range members {
			for _, b := range members[x+1:] {
				m, items, muAB, muBA := 0, 0, 0.0, 0.0
				var fBA, fAB, mBA, mAB int // followed items and their matches, by direction
				var eBA, eAB float64       // their expected matches at the copier's score group
				var laterA, laterB int     // items on which a, b answered after the other
				clocked := false           // some item has both answer times
				ca, cb, pa, pb := code[a], code[b], prob[a], prob[b]
				for j := range k {
					followBA[j], followAB[j] = false, false
					if ca[j] == 0 || cb[j] == 0 {
						continue
					}
					items++
					pjBA := pb[offset[j]+int(ca[j])-1] // b copies from a
					pjAB := pa[offset[j]+int(cb[j])-1]
					muBA += pjBA
					muAB += pjAB
					match := ca[j] == cb[j]
					if match {
						m++
					}
					if answeredAt == nil {
						continue
					}
					// d is NaN, and counts nowhere, when a time is missing.
					d := answeredAt.At(b, j) - answeredAt.At(a, j)
					switch {
					case d > 0:
						laterB++
					case d < 0:
						laterA++
					case d == 0:
						clocked = true
					}
					if d >= 0 && d <= within {
						followBA[j] = true
						fBA++
						eBA += pjBA
						if match {
							mBA++
						}
					}
					if d <= 0 && d >= -within {
						followAB[j] = true
						fAB++
						eAB += pjAB
						if match {
							mAB++
						}
					}
				}
				// With answer times, the one who answered after the other on
				// more items is tested as the copier by the timed GBT, the
				// other by the GBT on all items; on a tie, both ways by both.
				clocked = clocked || laterA+laterB > 0
				timedBA := clocked && laterB >= laterA
				timedAB := clocked && laterA >= laterB
				wholeBA := !timedBA || timedAB
				wholeAB := !timedAB || timedBA
				if !(wholeBA && float64(m) > muBA) && !(wholeAB && float64(m) > muAB) &&
					!(timedBA && float64(mBA) > eBA) && !(timedAB && float64(mAB) > eAB) {
					continue
				}
				pBA, pAB, tests := 1.0, 1.0, 0.0
				if wholeBA {
					tests++
					if float64(m) > muBA {
						pBA = sim.directional(cb, ca, pb, m)
					}
				}
				if wholeAB {
					tests++
					if float64(m) > muAB {
						pAB = sim.directional(ca, cb, pa, m)
					}
				}
				qBA, qAB := math.NaN(), math.NaN()
				if timedBA {
					tests++
					qBA = 1
					if float64(mBA) > eBA {
						qBA = sim.timed(cb, ca, followBA, mBA)
					}
					pBA = math.Min(pBA, qBA)
				}
				if timedAB {
					tests++
					qAB = 1
					if float64(mAB) > eAB {
						qAB = sim.timed(ca, cb, followAB, mAB)
					}
					pAB = math.Min(pAB, qAB)
				}
				pr := PairSimilarity{A: a, B: b, Window: w, Items: items, Matches: m, Copier: b, Expected: muBA,
					Followed: fBA, FollowedMatches: mBA, FollowedP: qBA}
				aCopied := pAB < pBA || (pAB == pBA && scores[a] < scores[b])
				if timedAB != timedBA {
					aCopied = timedAB
				}
				if aCopied {
					pr.Copier, pr.Expected = a, muAB
					pr.Followed, pr.FollowedMatches, pr.FollowedP = fAB, mAB, qAB
				}
				pr.P = math.Min(1, tests*math.Min(pAB, pBA))
				pr.PAdj = math.Min(1, pr.P*float64(tested))
				visit(pr)
			}
		}
	}
	return tested
}

// similarityRefineP is the directional p-value below which AnswerSimilarity
// conditions the copier's ability on the unmatched items. Above it the
// pair is nowhere near a flag (a person's similarity p-value is multiplied
// by the n − 1 partners and the indicators), and the refinement, one
// convolution per score group, would dominate the cost.
const similarityRefineP = 0.01

// pairTester holds the tables and scratch space of the directional GBT.
type pairTester struct {
	k                 int
	offset            []int
	tab, logT, log1mT [][]float64 // per score group, by offset_j + option
	pm, ll            []float64   // scratch: match probabilities, log-likelihoods
}

// directional returns the GBT p-value for copier cop (codes, leave-one-out
// choice probabilities prob) copying from src with m matches: the tail at
// the copier's score group, refined by the posterior over the groups given
// the unmatched items when below similarityRefineP.
func (t *pairTester) directional(cop, src []int8, prob []float64, m int) float64 {
	pm := t.pm[:0]
	for j := range t.k {
		if cop[j] != 0 && src[j] != 0 {
			pm = append(pm, prob[t.offset[j]+int(src[j])-1])
		}
	}
	p := PoissonBinomialTail(pm, m)
	if p >= similarityRefineP {
		return p
	}
	ll := t.ll
	clear(ll)
	for j := range t.k {
		if cop[j] == 0 || src[j] == 0 || cop[j] == src[j] {
			continue
		}
		x, y := t.offset[j]+int(cop[j])-1, t.offset[j]+int(src[j])-1
		for g := range ll {
			ll[g] += t.logT[g][x] - t.log1mT[g][y]
		}
	}
	top := slices.Max(ll)
	var sum, wsum float64
	for g := range ll {
		w := math.Exp(ll[g] - top)
		if w < 1e-12 {
			continue // below the tail's own precision
		}
		pm = pm[:0]
		for j := range t.k {
			if cop[j] != 0 && src[j] != 0 {
				pm = append(pm, t.tab[g][t.offset[j]+int(src[j])-1])
			}
		}
		sum += w * PoissonBinomialTail(pm, m)
		wsum += w
	}
	return sum / wsum
}

// timed returns the timed GBT p-value for copier cop copying from src on
// the items follow marks, with m matches among them: the tail at each score
// group, averaged over the posterior of the groups given the copier's
// answers to the other items (the weights below 1e-12 of the largest left
// out, as in directional).
func (t *pairTester) timed(cop, src []int8, follow []bool, m int) float64 {
	ll := t.ll
	clear(ll)
	for j := range t.k {
		if cop[j] == 0 || follow[j] {
			continue
		}
		x := t.offset[j] + int(cop[j]) - 1
		for g := range ll {
			ll[g] += t.logT[g][x]
		}
	}
	top := slices.Max(ll)
	var sum, wsum float64
	for g := range ll {
		w := math.Exp(ll[g] - top)
		if w < 1e-12 {
			continue
		}
		pm := t.pm[:0]
		for j := range t.k {
			if follow[j] {
				pm = append(pm, t.tab[g][t.offset[j]+int(src[j])-1])
			}
		}
		sum += w * PoissonBinomialTail(pm, m)
		wsum += w
	}
	return sum / wsum
}
