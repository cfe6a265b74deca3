package psychometrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// Standard-setting methods beyond Angoff. The main references are Cizek &
// Bunch (2007), Standard Setting, Sage; Cizek (Ed.) (2012), Setting
// Performance Standards (2nd ed.), Routledge; and Livingston & Zieky (1982),
// Passing Scores, ETS. Each function cites the original source of its method.

// Sentinel errors of the standard-setting methods.
var (
	// ErrInvalidBookmark is returned when a panelist's bookmark is not a
	// page of the ordered item booklet that has a page before it.
	ErrInvalidBookmark = errors.New("psychometrics: invalid bookmark")
	// ErrUnreachableRP is returned when an item cannot be located at the
	// bookmark's response probability because its lower asymptote C is at
	// or above it.
	ErrUnreachableRP = errors.New("psychometrics: response probability not above guessing")
)

// Impact returns the fail rate at cut: the proportion of scores below cut,
// since a candidate passes when score ≥ cut. NaN scores (candidates not
// tested) are left out; Impact is NaN when no score remains. It panics if
// scores is empty.
func Impact(scores []float64, cut float64) float64 {
	if len(scores) == 0 {
		panic("psychometrics: no scores")
	}
	var n, below int
	for _, s := range scores {
		if math.IsNaN(s) {
			continue
		}
		n++
		if s < cut {
			below++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return float64(below) / float64(n)
}

// candidateScores returns the non-NaN scores sorted, or an error wrapping
// ErrInvalidScore if a score is infinite or none remains.
func candidateScores(scores []float64) ([]float64, error) {
	if len(scores) == 0 {
		panic("psychometrics: no scores")
	}
	out := make([]float64, 0, len(scores))
	for i, s := range scores {
		switch {
		case math.IsNaN(s):
			continue
		case math.IsInf(s, 0):
			return nil, fmt.Errorf("%w: candidate %d: %v", ErrInvalidScore, i, s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: every score is NaN", ErrInvalidScore)
	}
	slices.Sort(out)
	return out, nil
}

// failCurve is the observed cumulative fail-rate curve of a set of scores:
// F(c) = proportion of scores < c at integer c, linear between integers.
type failCurve struct {
	sorted []float64
	lo, hi float64 // F = 0 at and below lo, F = 1 at and above hi (integers)
}

func newFailCurve(sorted []float64) failCurve {
	return failCurve{
		sorted: sorted,
		lo:     math.Floor(sorted[0]),
		hi:     math.Floor(sorted[len(sorted)-1]) + 1,
	}
}

// below returns the proportion of scores strictly below c.
func (f failCurve) below(c float64) float64 {
	return float64(sort.SearchFloat64s(f.sorted, c)) / float64(len(f.sorted))
}

// at returns F(c), linear between the integers either side of c.
func (f failCurve) at(c float64) float64 {
	switch {
	case c <= f.lo:
		return 0
	case c >= f.hi:
		return 1
	}
	k := math.Floor(c)
	fk := f.below(k)
	if c == k {
		return fk
	}
	return fk + (c-k)*(f.below(k+1)-fk)
}

// HofsteeJudgement is one judge's four Hofstee (1983) judgements.
type HofsteeJudgement struct {
	MinCut, MaxCut   float64 // lowest and highest acceptable cut score, raw-score units
	MinFail, MaxFail float64 // lowest and highest acceptable fail rate, proportions in [0, 1]
}

// HofsteeResult is the Hofstee compromise cut score.
type HofsteeResult struct {
	Cut      float64 // the compromise cut score, raw-score units
	FailRate float64 // the observed fail-rate curve F at Cut
	// The panel's mean judgements, the corners of the Hofstee line.
	MinCut, MaxCut, MinFail, MaxFail float64
	// Clamped reports that the line from (MinCut, MaxFail) to (MaxCut,
	// MinFail) does not meet the fail-rate curve, so Cut is the nearer end
	// of the line's cut range: MinCut when even that cut fails more than
	// MaxFail, MaxCut when even that cut fails fewer than MinFail.
	Clamped bool
}

// Hofstee returns the compromise cut score of Hofstee (1983) from the judges'
// acceptable ranges of cut score and fail rate and the candidates' scores
// (Cizek & Bunch, 2007, ch. 9). The judgements are averaged over judges to k_min,
// k_max, f_min and f_max, and the cut is where the line from (k_min, f_max)
// to (k_max, f_min),
//
//	f(c) = f_max − (f_max − f_min)(c − k_min)/(k_max − k_min),  k_min ≤ c ≤ k_max,
//
// meets the observed fail-rate curve F(c), the proportion of scores below c.
// F is a step function of c; Hofstee takes F at the integers and interpolates
// linearly between them, so that the intersection is unique (F is
// non-decreasing and the line decreasing) and found exactly. When the line
// does not meet the curve, Cut is clamped to k_min or k_max and Clamped is
// set (see HofsteeResult). FailRate is F(Cut) on the interpolated curve; the
// fail rate of integer scores at the cut is Impact(scores, Cut).
//
// NaN scores (candidates not tested) are left out. Hofstee returns an error
// wrapping ErrInvalidRating if a judgement is NaN or infinite, a fail rate is
// outside [0, 1], or a judge's minimum exceeds their maximum; and
// ErrInvalidScore if a score is infinite or every score is NaN. It panics if
// judgements or scores is empty.
func Hofstee(judgements []HofsteeJudgement, scores []float64) (HofsteeResult, error) {
	if len(judgements) == 0 {
		panic("psychometrics: no judgements")
	}
	var kMin, kMax, fMin, fMax float64
	for i, j := range judgements {
		for _, v := range [...]float64{j.MinCut, j.MaxCut, j.MinFail, j.MaxFail} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return HofsteeResult{}, fmt.Errorf("%w: judge %d: %v", ErrInvalidRating, i, v)
			}
		}
		if j.MinCut > j.MaxCut || j.MinFail > j.MaxFail || j.MinFail < 0 || j.MaxFail > 1 {
			return HofsteeResult{}, fmt.Errorf("%w: judge %d: cut range [%v, %v], fail range [%v, %v]",
				ErrInvalidRating, i, j.MinCut, j.MaxCut, j.MinFail, j.MaxFail)
		}
		kMin += j.MinCut
		kMax += j.MaxCut
		fMin += j.MinFail
		fMax += j.MaxFail
	}
	n := float64(len(judgements))
	kMin, kMax, fMin, fMax = kMin/n, kMax/n, fMin/n, fMax/n
	sorted, err := candidateScores(scores)
	if err != nil {
		return HofsteeResult{}, err
	}
	curve := newFailCurve(sorted)
	res := HofsteeResult{MinCut: kMin, MaxCut: kMax, MinFail: fMin, MaxFail: fMax}

	// Along the line, t ∈ [0, 1] gives c(t) = k_min + t(k_max − k_min) and
	// f(t) = f_max − t(f_max − f_min); g(t) = F(c(t)) − f(t) is
	// non-decreasing and linear between the t where c(t) is an integer.
	cut := func(t float64) float64 { return kMin + t*(kMax-kMin) }
	g := func(t float64) float64 { return curve.at(cut(t)) - (fMax - t*(fMax-fMin)) }
	ts := []float64{0}
	if kMax > kMin {
		for k := math.Floor(kMin) + 1; k < kMax; k++ {
			ts = append(ts, (k-kMin)/(kMax-kMin))
		}
	}
	ts = append(ts, 1)

	t := math.NaN()
	switch g0 := g(0); {
	case g0 > 0:
		t, res.Clamped = 0, true
	case g0 == 0:
		t = 0
	case g(1) < 0:
		t, res.Clamped = 1, true
	default:
		for i := 1; i < len(ts); i++ {
			gs, ge := g(ts[i-1]), g(ts[i])
			if ge >= 0 {
				t = ts[i-1] + (ts[i]-ts[i-1])*(-gs)/(ge-gs)
				break
			}
		}
	}
	res.Cut = cut(t)
	res.FailRate = curve.at(res.Cut)
	return res, nil
}

// BeukJudgement is one judge's two Beuk (1984) judgements.
type BeukJudgement struct {
	Cut      float64 // the cut score the judge finds right, raw-score units
	PassRate float64 // the pass rate the judge expects at that cut, a proportion in [0, 1]
}

// BeukResult is the Beuk compromise cut score.
type BeukResult struct {
	Cut      float64 // the compromise cut score, raw-score units
	PassRate float64 // the observed pass-rate curve 1 − F at Cut
	// The judges' means and standard deviations (n − 1 denominator).
	MeanCut, MeanPassRate, SDCut, SDPassRate float64
}

// Beuk returns the compromise cut score of Beuk (1984) from the judges'
// expected cut scores k_i and pass rates p_i and the candidates' scores
// (de Gruijter, 1985; Cizek & Bunch, 2007, ch. 9). With means k̄, p̄ and
// standard deviations s_k, s_p over judges, the Beuk line passes through the
// mean judgement (k̄, p̄) with slope −s_p/s_k,
//
//	p(c) = p̄ − (s_p / s_k)(c − k̄),
//
// so that the judgement the judges agree on more moves less: in standard
// units (c − k̄)/s_k = −(p − p̄)/s_p, which makes the result the same whether
// cuts are given as raw scores or percent correct. The cut is where the line
// meets the observed pass-rate curve Q(c) = 1 − F(c), the proportion of
// scores at or above c, with F taken at the integers and interpolated
// linearly between them as in Hofstee. Since both Q and the line decrease,
// they can meet more than once; Beuk returns the intersection nearest k̄
// (the lower one on a tie). When s_k = 0 the line is vertical and Cut = k̄.
// An intersection always exists, as Q falls from 1 to 0 and p̄ is in [0, 1].
//
// NaN scores (candidates not tested) are left out. Beuk returns an error
// wrapping ErrInvalidRating if a judgement is NaN or infinite or a pass rate
// is outside [0, 1]; and ErrInvalidScore if a score is infinite or every
// score is NaN. It panics if there are fewer than two judgements, since the
// standard deviations need two, or if scores is empty.
func Beuk(judgements []BeukJudgement, scores []float64) (BeukResult, error) {
	if len(judgements) < 2 {
		panic("psychometrics: Beuk needs at least two judgements")
	}
	cuts := make([]float64, len(judgements))
	rates := make([]float64, len(judgements))
	for i, j := range judgements {
		if math.IsNaN(j.Cut) || math.IsInf(j.Cut, 0) || math.IsNaN(j.PassRate) || j.PassRate < 0 || j.PassRate > 1 {
			return BeukResult{}, fmt.Errorf("%w: judge %d: cut %v, pass rate %v", ErrInvalidRating, i, j.Cut, j.PassRate)
		}
		cuts[i], rates[i] = j.Cut, j.PassRate
	}
	sorted, err := candidateScores(scores)
	if err != nil {
		return BeukResult{}, err
	}
	curve := newFailCurve(sorted)
	res := BeukResult{}
	res.MeanCut, res.SDCut = stat.MeanStdDev(cuts, nil)
	res.MeanPassRate, res.SDPassRate = stat.MeanStdDev(rates, nil)
	k, p := res.MeanCut, res.MeanPassRate
	if res.SDCut == 0 {
		res.Cut = k
		res.PassRate = 1 - curve.at(k)
		return res, nil
	}
	m := res.SDPassRate / res.SDCut
	// h(c) = Q(c) − p(c) = 1 − F(c) − p̄ + m(c − k̄), linear on each piece.
	h := func(c float64) float64 { return 1 - curve.at(c) - p + m*(c-k) }

	best := math.NaN()
	consider := func(c float64) {
		if math.IsNaN(best) || math.Abs(c-k) < math.Abs(best-k) || (math.Abs(c-k) == math.Abs(best-k) && c < best) {
			best = c
		}
	}
	// nearest returns the point of [a, b] nearest k̄.
	nearest := func(a, b float64) float64 { return math.Min(math.Max(k, a), b) }
	// The rays outside [lo, hi], where Q is 1 and 0.
	for _, ray := range [...]struct{ q, a, b float64 }{
		{1, math.Inf(-1), curve.lo},
		{0, curve.hi, math.Inf(1)},
	} {
		if m == 0 {
			if ray.q == p {
				consider(nearest(ray.a, ray.b))
			}
			continue
		}
		if c := k + (p-ray.q)/m; c >= ray.a && c <= ray.b {
			consider(c)
		}
	}
	for a := curve.lo; a < curve.hi; a++ {
		b := a + 1
		ha, hb := h(a), h(b)
		switch {
		case ha == 0 && hb == 0:
			consider(nearest(a, b))
		case ha == 0:
			consider(a)
		case hb == 0:
			consider(b)
		case (ha < 0) != (hb < 0):
			consider(a + ha/(ha-hb))
		}
	}
	res.Cut = best
	res.PassRate = 1 - curve.at(best)
	return res, nil
}

// BookmarkSettings adjusts Bookmark. The zero value is the usual procedure:
// RP67, the location of the page before the bookmark, and the median over
// panelists.
type BookmarkSettings struct {
	// RP is the response probability that locates an item: item j's
	// location is the θ at which P_j(θ) = RP. Zero means 0.67 (Mitzel et
	// al., 2001); Huynh (2006) argues for 0.67 from the item information.
	RP float64
	// Midpoint places each panelist's cut midway between the locations of
	// the page before the bookmark and the bookmarked page, a variant some
	// programs use, instead of at the location of the page before the
	// bookmark.
	Midpoint bool
	// Mean aggregates the panelists' θ cuts by their mean instead of their
	// median.
	Mean bool
}

// BookmarkResult is the cut score recommended by a Bookmark panel.
type BookmarkResult struct {
	// Order is the ordered item booklet: page p (1-based) holds item
	// Order[p−1], an index into the items passed to Bookmark, in
	// increasing order of location.
	Order []int
	// Locations holds the RP location of each page, in booklet order.
	Locations []float64
	// PanelistTheta holds each panelist's θ cut, in the order of the
	// bookmarks.
	PanelistTheta []float64
	Theta         float64 // the panel's cut on the θ scale: median (or mean) of PanelistTheta
	SE            float64 // SD of PanelistTheta / √panelists; NaN for one panelist
	Cut           float64 // the raw-score cut, the test characteristic curve at Theta: TrueScore(items, Theta)
}

// Bookmark returns the cut score of the Bookmark procedure (Mitzel, Lewis,
// Patz & Green, 2001; Lewis, Mitzel, Mercado & Schulz, 2012; Cizek & Bunch,
// 2007, ch. 10). Items are ordered in a booklet by their response-probability
// location: the θ at which the item's full 3PL probability of success equals
// RP,
//
//	θ_j = b_j + ln((RP − c_j) / (1 − RP)) / a_j,
//
// which for c_j = 0 is the familiar b_j + ln(RP/(1 − RP))/a_j (Huynh, 2006,
// discusses RP with guessing). Ties keep the items' order. Each panelist
// places a bookmark on page k (1-based), the first item a minimally
// competent candidate would not answer correctly with probability RP; their
// θ cut is the location of page k − 1, the last item mastered (Mitzel et
// al., 2001), or, with settings.Midpoint, the midpoint of the locations of
// pages k − 1 and k. The panel's θ cut is the median of the panelists' θ cuts
// (the usual final-round summary, Cizek & Bunch, 2007, ch. 10) or, with
// settings.Mean, their mean; SE is the standard error of the mean,
// SD/√n, in both cases. The raw-score cut is the expected raw score at the θ
// cut, τ(θ) = Σ_j P_j(θ) (TrueScore) over all items.
//
// settings may be nil for the defaults. Bookmark returns an error wrapping
// ErrInvalidBookmark if a bookmark is not in 2..len(items), and one wrapping
// ErrUnreachableRP if an item's C is at or above RP. It panics if items or
// bookmarks is empty, if an item has A ≤ 0, a NaN or infinite A or B, or a
// C outside [0, 1), or if settings.RP is outside [0, 1).
func Bookmark(items []Item3PL, bookmarks []int, settings *BookmarkSettings) (BookmarkResult, error) {
	if len(items) == 0 {
		panic("psychometrics: no items")
	}
	if len(bookmarks) == 0 {
		panic("psychometrics: no bookmarks")
	}
	var s BookmarkSettings
	if settings != nil {
		s = *settings
	}
	if s.RP == 0 {
		s.RP = 0.67
	}
	if !(s.RP > 0 && s.RP < 1) {
		panic("psychometrics: response probability must be in (0, 1)")
	}
	checkItemParameters(items)
	loc := make([]float64, len(items))
	for j, it := range items {
		if it.C >= s.RP {
			return BookmarkResult{}, fmt.Errorf("%w: item %d has C = %v ≥ RP = %v", ErrUnreachableRP, j, it.C, s.RP)
		}
		loc[j] = it.B + math.Log((s.RP-it.C)/(1-s.RP))/it.A
	}
	order := make([]int, len(items))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(loc[i], loc[j]) })
	res := BookmarkResult{
		Order:         order,
		Locations:     make([]float64, len(items)),
		PanelistTheta: make([]float64, len(bookmarks)),
	}
	for p, j := range order {
		res.Locations[p] = loc[j]
	}
	for i, k := range bookmarks {
		if k < 2 || k > len(items) {
			return BookmarkResult{}, fmt.Errorf("%w: panelist %d: page %d not in 2..%d", ErrInvalidBookmark, i, k, len(items))
		}
		theta := res.Locations[k-2]
		if s.Midpoint {
			theta = (theta + res.Locations[k-1]) / 2
		}
		res.PanelistTheta[i] = theta
	}
	if s.Mean {
		res.Theta = stat.Mean(res.PanelistTheta, nil)
	} else {
		res.Theta = standardsMedian(res.PanelistTheta)
	}
	res.SE = math.NaN()
	if n := len(bookmarks); n > 1 {
		res.SE = stat.StdDev(res.PanelistTheta, nil) / math.Sqrt(float64(n))
	}
	res.Cut = TrueScore(items, res.Theta)
	return res, nil
}

// checkItemParameters panics unless every item has a positive, finite A, a finite B
// and a C in [0, 1).
func checkItemParameters(items []Item3PL) {
	for j, it := range items {
		if !(it.A > 0) || math.IsInf(it.A, 0) || math.IsNaN(it.B) || math.IsInf(it.B, 0) || !(it.C >= 0 && it.C < 1) {
			panic(fmt.Sprintf("psychometrics: item %d: invalid 3PL parameters %+v", j, it))
		}
	}
}

// standardsMedian returns the sample median of x, the mean of the two middle values
// when len(x) is even. x is not modified.
func standardsMedian(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// BorderlineResult is the cut score of the borderline-group method.
type BorderlineResult struct {
	Cut  float64 // median score of the borderline group
	Mean float64 // mean score of the borderline group
	SE   float64 // standard error of the median: √(π/2) · SD / √N; NaN when N = 1
	N    int     // candidates in the borderline group with a score
}

// BorderlineGroup returns the cut score of the borderline-group method
// (Livingston & Zieky, 1982; Cizek & Bunch, 2007, ch. 8): the median score of
// the candidates that judges classified as borderline, those just at the
// standard. The median (the mean of the two middle scores when N is even) is
// preferred to the mean because the group is small and its distribution often
// skewed; the mean is returned too. The standard error of the median is its
// large-sample value for a normal distribution,
//
//	SE = √(π/2) · s / √N ≈ 1.2533 · s / √N,
//
// from the variance 1/(4N f(m)²) of a sample median with density f at the
// median m (Stuart & Ord, 1994, Kendall's Advanced Theory of Statistics,
// vol. 1, on the standard errors of quantiles), s being the SD of the
// scores (N − 1 denominator).
//
// NaN scores (candidates not tested) are left out. BorderlineGroup returns
// an error wrapping ErrInvalidScore if a score is infinite or every score is
// NaN. It panics if scores is empty.
func BorderlineGroup(scores []float64) (BorderlineResult, error) {
	sorted, err := candidateScores(scores)
	if err != nil {
		return BorderlineResult{}, err
	}
	n := len(sorted)
	res := BorderlineResult{Cut: standardsMedian(sorted), N: n, SE: math.NaN()}
	var sd float64
	res.Mean, sd = stat.MeanStdDev(sorted, nil)
	if n > 1 {
		res.SE = math.Sqrt(math.Pi/2) * sd / math.Sqrt(float64(n))
	}
	return res, nil
}

// ContrastingGroupsSettings adjusts ContrastingGroups. The zero value weighs
// both kinds of misclassification equally.
type ContrastingGroupsSettings struct {
	// FalsePassWeight is the cost of passing a non-master relative to the
	// cost of failing a master. Zero means 1.
	FalsePassWeight float64
}

// ContrastingGroupsResult is the cut score of the contrasting-groups method.
type ContrastingGroupsResult struct {
	// Cut is the score at which the fitted probability of mastery equals
	// w/(1 + w), w the false-pass weight (0.5 by default); SE is its
	// delta-method standard error. Both are NaN when the logistic
	// regression has no finite maximum (the groups do not overlap) or its
	// slope is not positive.
	Cut, SE float64
	// Intercept and Slope are the logistic regression of mastery on score,
	// logit P(master | x) = Intercept + Slope·x; NaN when the groups do not
	// overlap.
	Intercept, Slope float64
	// MinErrorCut is the integer cut c that minimises the weighted number of
	// misclassifications w·FalsePasses + FalseFails, the lowest one on a
	// tie, where FalsePasses counts non-masters scoring ≥ c and FalseFails
	// masters scoring < c.
	MinErrorCut             float64
	FalsePasses, FalseFails int
	Masters, NonMasters     int // candidates with a score in each group
}

// ContrastingGroups returns the cut score of the contrasting-groups method
// (Livingston & Zieky, 1982; Clauser & Clyman, 1994; Cizek & Bunch, 2007,
// ch. 8) from the scores of candidates whom judges classified, independently
// of their scores, as masters and as non-masters. The cut is where the
// fitted probability of mastery from the logistic regression
//
//	logit P(master | x) = β0 + β1·x
//
// reaches w/(1 + w), the point past which passing a candidate costs less in
// expectation than failing them when a false pass costs w times a false
// fail; with the default w = 1 that is P = 0.5 and
//
//	Cut = (ln w − β0) / β1.
//
// The regression is fitted by maximum likelihood with iteratively reweighted
// least squares (Newton–Raphson, with step halving; McCullagh & Nelder, 1989,
// ch. 2 and 4), and SE is the delta-method standard error from the inverse
// information matrix V,
//
//	SE² = (V_00 + 2·Cut·V_01 + Cut²·V_11) / β1².
//
// The result also holds the integer cut that minimises the weighted count of
// misclassified candidates directly (Livingston & Zieky, 1982), with the
// counts of false passes and false fails at it.
//
// settings may be nil for the defaults. NaN scores are left out.
// ContrastingGroups returns an error wrapping ErrInvalidScore if a score is
// infinite or a group has no score left. It panics if either group is empty
// or settings.FalsePassWeight is negative, NaN or infinite.
func ContrastingGroups(masters, nonMasters []float64, settings *ContrastingGroupsSettings) (ContrastingGroupsResult, error) {
	if len(masters) == 0 || len(nonMasters) == 0 {
		panic("psychometrics: contrasting groups need masters and non-masters")
	}
	w := 1.0
	if settings != nil && settings.FalsePassWeight != 0 {
		w = settings.FalsePassWeight
	}
	if !(w > 0) || math.IsInf(w, 0) {
		panic("psychometrics: false-pass weight must be positive and finite")
	}
	mas, err := candidateScores(masters)
	if err != nil {
		return ContrastingGroupsResult{}, fmt.Errorf("masters: %w", err)
	}
	non, err := candidateScores(nonMasters)
	if err != nil {
		return ContrastingGroupsResult{}, fmt.Errorf("non-masters: %w", err)
	}
	res := ContrastingGroupsResult{Masters: len(mas), NonMasters: len(non)}

	// Misclassification-minimising integer cut.
	lo := math.Floor(math.Min(mas[0], non[0]))
	hi := math.Floor(math.Max(mas[len(mas)-1], non[len(non)-1])) + 1
	bestLoss := math.Inf(1)
	for c := lo; c <= hi; c++ {
		ff := sort.SearchFloat64s(mas, c)
		fp := len(non) - sort.SearchFloat64s(non, c)
		if loss := w*float64(fp) + float64(ff); loss < bestLoss {
			bestLoss = loss
			res.MinErrorCut, res.FalsePasses, res.FalseFails = c, fp, ff
		}
	}

	res.Cut, res.SE, res.Intercept, res.Slope = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	// The maximum likelihood estimate exists only when the groups overlap
	// (Albert & Anderson, 1984).
	if mas[0] >= non[len(non)-1] || non[0] >= mas[len(mas)-1] {
		return res, nil
	}
	x := make([]float64, 0, len(mas)+len(non))
	y := make([]float64, 0, len(mas)+len(non))
	for _, s := range mas {
		x, y = append(x, s), append(y, 1)
	}
	for _, s := range non {
		x, y = append(x, s), append(y, 0)
	}
	b0, b1, v, ok := fitLogistic1(x, y)
	if !ok {
		return res, nil
	}
	res.Intercept, res.Slope = b0, b1
	if b1 > 0 {
		res.Cut = (math.Log(w) - b0) / b1
		c := res.Cut
		res.SE = math.Sqrt(v[0]+2*c*v[1]+c*c*v[2]) / b1
	}
	return res, nil
}

// fitLogistic1 fits logit P(y = 1 | x) = b0 + b1·x by maximum likelihood with
// Newton–Raphson (IRLS) and step halving, on x centred at its mean for
// conditioning. It returns the estimates and the inverse information matrix
// of (b0, b1) as {V00, V01, V11}; ok is false if it did not converge.
func fitLogistic1(x, y []float64) (b0, b1 float64, v [3]float64, ok bool) {
	mean := stat.Mean(x, nil)
	z := make([]float64, len(x))
	var ybar float64
	for i := range x {
		z[i] = x[i] - mean
		ybar += y[i]
	}
	ybar /= float64(len(y))
	loglik := func(a, b float64) float64 {
		var ll float64
		for i := range z {
			eta := a + b*z[i]
			// y·η − log(1 + e^η), without overflow.
			if eta > 0 {
				ll += y[i]*eta - eta - math.Log1p(math.Exp(-eta))
			} else {
				ll += y[i]*eta - math.Log1p(math.Exp(eta))
			}
		}
		return ll
	}
	// info returns the score vector and information matrix at (a, b).
	info := func(a, b float64) (g0, g1, h00, h01, h11 float64) {
		for i := range z {
			p := 1 / (1 + math.Exp(-(a + b*z[i])))
			r := y[i] - p
			w := p * (1 - p)
			g0 += r
			g1 += r * z[i]
			h00 += w
			h01 += w * z[i]
			h11 += w * z[i] * z[i]
		}
		return
	}
	a, b := math.Log(ybar/(1-ybar)), 0.0
	ll := loglik(a, b)
	for range 100 {
		g0, g1, h00, h01, h11 := info(a, b)
		det := h00*h11 - h01*h01
		if !(det > 0) {
			return 0, 0, v, false
		}
		da := (h11*g0 - h01*g1) / det
		db := (h00*g1 - h01*g0) / det
		step := 1.0
		na, nb := a+da, b+db
		nll := loglik(na, nb)
		for halvings := 0; nll < ll && halvings < 60; halvings++ {
			step /= 2
			na, nb = a+step*da, b+step*db
			nll = loglik(na, nb)
		}
		a, b, ll = na, nb, math.Max(nll, ll)
		if math.Abs(step*da) <= 1e-12*(1+math.Abs(a)) && math.Abs(step*db) <= 1e-12*(1+math.Abs(b)) {
			ok = true
			break
		}
	}
	if !ok {
		return 0, 0, v, false
	}
	_, _, h00, h01, h11 := info(a, b)
	det := h00*h11 - h01*h01
	// Inverse information on the centred scale, then back to x: b0 = a − b·x̄.
	va, vab, vb := h11/det, -h01/det, h00/det
	v = [3]float64{
		va - 2*mean*vab + mean*mean*vb,
		vab - mean*vb,
		vb,
	}
	return a - b*mean, b, v, true
}
