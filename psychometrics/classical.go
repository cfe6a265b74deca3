package psychometrics

import (
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat"
)

// ItemStats is the classical analysis of one item.
type ItemStats struct {
	Item           int     // column index
	N              int     // persons administered the item
	Mean           float64 // mean item score; for 0/1 items, the p-value (proportion correct)
	SD             float64 // sample standard deviation (n − 1) of the item score
	PointBiserial  float64 // Pearson correlation of item score with total score (item included)
	ItemRest       float64 // correlation of item score with total minus the item (corrected item-total)
	AlphaIfDeleted float64 // Cronbach's alpha of the test without this item
	Biserial       float64 // biserial correlation of a 0/1 item with the total score; NaN for other items
	UpperLower     float64 // upper–lower 27% discrimination index D
	// DiscriminativeEfficiency is the covariance of the item score with
	// the rest score as a fraction of the largest covariance the two
	// distributions allow (Moodle reports 100 times this, as a percentage).
	DiscriminativeEfficiency float64
	Flags                    []Flag // problems found under the FlagRules, in the order of the Flag constants; nil when none
}

// ItemAnalysis returns the classical statistics of each item (column) of the
// persons × items score matrix x, in column order, flagged under the default
// FlagRules. It is ItemAnalysisWith(x, FlagRules{}); see there.
func ItemAnalysis(x mat.Matrix) []ItemStats {
	return ItemAnalysisWith(x, FlagRules{})
}

// ItemAnalysisWith returns the classical statistics of each item (column) of
// the persons × items score matrix x, in column order, with the items flagged
// under rules.
//
// N, Mean and SD use every person administered the item (every non-NaN cell
// of the column); SD is the sample standard deviation, with divisor N − 1.
// The other statistics use listwise deletion, as CronbachAlpha does: only the
// n persons administered every item, so that the total score X = Σ_j x_j
// means the same thing for everyone. For item j with scores x_j and rest score
// R_j = X − x_j,
//
//	PointBiserial  = r(x_j, X)
//	ItemRest       = r(x_j, R_j)
//	AlphaIfDeleted = (k−1)/(k−2) · (1 − (Σ_{i≠j} s_i²) / s²_{R_j})
//
// where r is the Pearson correlation, s² the sample variance and k the number
// of items. For 0/1 items r(x_j, X) is the point-biserial correlation; the same
// formulas serve polytomous items (the item-total correlation). See Crocker &
// Algina (1986), ch. 14, and Cronbach (1951).
//
// An item is 0/1 (dichotomous) when every score it received is 0 or 1. For
// such an item with proportion correct p among the n complete persons, q =
// 1 − p, and z_p the standard normal quantile of p, the biserial correlation
// is
//
//	Biserial = PointBiserial · √(pq) / φ(z_p)
//
// with φ the standard normal density (Lord & Novick, 1968, ch. 15; Crocker &
// Algina, 1986, ch. 14), not clipped to [−1, 1] (it can leave that range
// when the normal model behind it fails); it is NaN for other items.
// psych::biserial in R uses the n − 1 standard deviation in the same formula,
// so its values are √((n−1)/n) times these, and clips them at ±1.
//
// UpperLower is Kelley's (1939) upper–lower discrimination index. The n
// complete persons are ranked by total score, ties in row order (a stable
// sort), and the g = ⌊(27n + 50)/100⌋ lowest ranked form the lower group and
// the g highest the upper group (27% of n, rounded to nearest, halves up).
// Then
//
//	UpperLower = p_U − p_L                    (0/1 items)
//	UpperLower = (x̄_U − x̄_L) / max_j          (other items)
//
// where p_U and p_L are the proportions correct, x̄_U and x̄_L the mean item
// scores in the upper and lower groups, and max_j the item's highest observed
// score among all persons administered it (NaN when it is not positive).
//
// DiscriminativeEfficiency is the statistic of Moodle's quiz statistics
// report (Moodle, "Quiz statistics calculations", docs.moodle.org; the
// calculator in question/classes/statistics/questions/calculator.php):
//
//	DiscriminativeEfficiency = C(x_j, R_j) / C_max(x_j, R_j)
//	C_max(x_j, R_j)          = Σ_i (x_(i) − x̄_j)(R_(i) − R̄_j) / (n − 1)
//
// where C is the sample covariance and x_(i), R_(i) are the item and rest
// scores each sorted in ascending order, so C_max is the largest covariance
// the two marginal distributions allow. It is a fraction in [−1, 1]; Moodle
// reports 100 times it as a percentage. It is NaN when C_max is 0.
//
// Flags are set from ItemRest and, for 0/1 items, Mean as documented at
// FlagRules; the option flags need the raw responses (see OptionAnalysis).
//
// A statistic that is undefined for the data is NaN: Mean when no person was
// administered the item, SD when fewer than two were; the correlations,
// UpperLower and DiscriminativeEfficiency when fewer than two persons are
// complete, and the correlations when a variable is constant (for example an
// item every complete person answered correctly); AlphaIfDeleted when k = 2,
// since alpha of one item is undefined.
//
// ItemAnalysisWith panics if x has no rows or fewer than two columns.
func ItemAnalysisWith(x mat.Matrix, rules FlagRules) []ItemStats {
	r, k := x.Dims()
	checkScores(r, k)
	rules = rules.withDefaults()
	m := newScoreRows(x)
	nan := math.NaN()

	// Pass 1: complete persons and their totals, sums, observed ranges.
	complete := make([]int, 0, r) // rows of the complete persons
	total := make([]float64, 0, r)
	csum := make([]float64, k) // Σ x_j over complete persons
	isum := make([]float64, k) // Σ x_j over incomplete persons administered j
	inc := make([]int, k)      // incomplete persons administered j
	lo := make([]float64, k)   // lowest score of j among persons administered it
	hi := make([]float64, k)   // highest score
	frac := make([]bool, k)    // some score of j is not an integer
	for j := range k {
		lo[j], hi[j] = math.Inf(1), math.Inf(-1)
	}
	var tsum float64
	for i := range r {
		row := m.row(i)
		var t float64
		for _, v := range row {
			t += v
		}
		sum := csum
		if math.IsNaN(t) {
			sum = isum
		} else {
			complete = append(complete, i)
			total = append(total, t)
			tsum += t
		}
		// Re-sliced to the row's length, so that the loop needs no bounds checks.
		sum, lo, hi := sum[:len(row)], lo[:len(row)], hi[:len(row)]
		for j, v := range row {
			if math.IsNaN(v) {
				continue
			}
			sum[j] += v
			if v < lo[j] {
				lo[j] = v
			}
			if v > hi[j] {
				hi[j] = v
			}
			if v != math.Trunc(v) {
				frac[j] = true
			}
		}
		if !math.IsNaN(t) {
			continue
		}
		for j, v := range row {
			if !math.IsNaN(v) {
				inc[j]++
			}
		}
	}
	n := len(complete)
	nf := float64(n)

	out := make([]ItemStats, k)
	dich := make([]bool, k)
	for j := range out {
		nj := n + inc[j]
		out[j] = ItemStats{
			Item: j, N: nj, Mean: nan, SD: nan,
			PointBiserial: nan, ItemRest: nan, AlphaIfDeleted: nan,
			Biserial: nan, UpperLower: nan, DiscriminativeEfficiency: nan,
		}
		if nj > 0 {
			out[j].Mean = (csum[j] + isum[j]) / float64(nj)
		}
		dich[j] = nj > 0 && !frac[j] && lo[j] >= 0 && hi[j] <= 1
	}

	// Pass 2: centred sums of squares and cross-products. For complete
	// persons, with d the deviation from the complete-case mean: Σ dx²,
	// Σ dx·dX, Σ dx·dR and Σ dR² per item, and Σ dX². When some persons are
	// incomplete, also Σ (x − Mean)² over all persons administered the item.
	var cm, rm []float64 // complete-case means of x_j and R_j
	var tm float64
	if n > 0 {
		tm = tsum / nf
		cm = make([]float64, k)
		rm = make([]float64, k)
		for j := range k {
			cm[j] = csum[j] / nf
			rm[j] = (tsum - csum[j]) / nf
		}
	}
	h := newRankHist(total, lo, hi, frac, n)
	xx := make([]float64, k) // Σ dx²
	xt := make([]float64, k) // Σ dx·dX
	xr := make([]float64, k) // Σ dx·dR
	rr := make([]float64, k) // Σ dR²
	var tt float64           // Σ dX²
	var ss []float64         // Σ (x − Mean)², all administered
	if n < r {
		ss = make([]float64, k)
	}
	c := 0
	for i := range r {
		row := m.row(i)
		if c < n && complete[c] == i {
			t := total[c]
			c++
			dt := t - tm
			tt += dt * dt
			for j, v := range row {
				dx := v - cm[j]
				dr := t - v - rm[j]
				xx[j] += dx * dx
				xt[j] += dx * dt
				xr[j] += dx * dr
				rr[j] += dr * dr
			}
			if h != nil {
				h.add(row, t)
			}
		}
		if ss == nil {
			continue
		}
		for j, v := range row {
			if !math.IsNaN(v) {
				d := v - out[j].Mean
				ss[j] += d * d
			}
		}
	}
	if ss == nil {
		ss = xx
	}
	for j := range out {
		if nj := out[j].N; nj > 1 {
			out[j].SD = math.Sqrt(ss[j] / float64(nj-1))
		}
	}

	if n >= 2 {
		var sumVar float64
		for _, v := range xx {
			sumVar += v
		}
		for j := range out {
			s := &out[j]
			s.PointBiserial = xt[j] / math.Sqrt(xx[j]*tt)
			s.ItemRest = xr[j] / math.Sqrt(xx[j]*rr[j])
			if k > 2 {
				s.AlphaIfDeleted = alpha(k-1, sumVar-xx[j], rr[j])
			}
			if p := cm[j]; dich[j] && p > 0 && p < 1 {
				s.Biserial = s.PointBiserial * math.Sqrt(p*(1-p)) / normalDensity(mathext.NormalQuantile(p))
			}
		}
		upperLower(out, m, complete, total, dich, hi)
		var cmax []float64
		if h != nil {
			cmax = h.sortedCoproducts(cm, rm)
		} else {
			cmax = sortedCoproducts(m, complete, total, cm, rm)
		}
		for j := range out {
			if cmax[j] != 0 {
				out[j].DiscriminativeEfficiency = xr[j] / cmax[j]
			}
		}
	}

	for j := range out {
		out[j].Flags = rules.itemFlags(out[j].ItemRest, out[j].Mean, dich[j])
	}
	return out
}

// normalDensity returns the standard normal density φ(z).
func normalDensity(z float64) float64 {
	return math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
}

// upperLower sets UpperLower of each item from the complete persons (rows
// complete of m, with totals total); see ItemAnalysisWith. It needs at least
// two complete persons.
func upperLower(out []ItemStats, m scoreRows, complete []int, total []float64, dich []bool, hi []float64) {
	n := len(complete)
	g := (27*n + 50) / 100
	sorted := slices.Clone(total)
	slices.Sort(sorted)
	// In the stable order by total, the lower group is every person below
	// the g-th lowest total tl and the first persons at tl in row order; the
	// upper group every person above the g-th highest total tu and the last
	// persons at tu.
	tl, tu := sorted[g-1], sorted[n-g]
	atLow := g - sort.SearchFloat64s(sorted, tl) // persons at tl in the lower group
	firstTu := sort.SearchFloat64s(sorted, tu)
	aboveTu := sort.SearchFloat64s(sorted, math.Nextafter(tu, math.Inf(1)))
	skipHigh := (aboveTu - firstTu) - (g - (n - aboveTu)) // persons at tu not in the upper group
	low := make([]float64, m.k)
	high := make([]float64, m.k)
	for p, t := range total {
		var sum []float64
		switch {
		case t < tl:
			sum = low
		case t == tl && atLow > 0:
			atLow--
			sum = low
		}
		if sum != nil {
			for j, v := range m.row(complete[p]) {
				sum[j] += v
			}
		}
		sum = nil
		switch {
		case t > tu:
			sum = high
		case t == tu:
			if skipHigh > 0 {
				skipHigh--
			} else {
				sum = high
			}
		}
		if sum != nil {
			for j, v := range m.row(complete[p]) {
				sum[j] += v
			}
		}
	}
	for j := range out {
		d := (high[j] - low[j]) / float64(g)
		switch {
		case dich[j]:
			out[j].UpperLower = d
		case hi[j] > 0:
			out[j].UpperLower = d / hi[j]
		}
	}
}

// sortedCoproducts returns, for each item j, Σ_i (x_(i) − cm_j)(R_(i) − rm_j)
// over the complete persons (rows complete of m, with totals total), where
// x_(i) and R_(i) are the item and rest scores each sorted ascending.
func sortedCoproducts(m scoreRows, complete []int, total, cm, rm []float64) []float64 {
	n := len(complete)
	xs := make([]float64, n)
	rs := make([]float64, n)
	out := make([]float64, m.k)
	for j := range out {
		for p, i := range complete {
			v := m.row(i)[j]
			xs[p] = v
			rs[p] = total[p] - v
		}
		slices.Sort(xs)
		slices.Sort(rs)
		var s float64
		for p := range xs {
			s += (xs[p] - cm[j]) * (rs[p] - rm[j])
		}
		out[j] = s
	}
	return out
}

// rankHist holds, for integer scores, the distribution of each item's score
// and of its rest score over the complete persons, from which the sorted
// item and rest scores that DiscriminativeEfficiency pairs are read without
// sorting.
type rankHist struct {
	k      int
	v0, nv int   // item scores v0 … v0+nv−1
	r0, nr int   // rest scores r0 … r0+nr−1
	item   []int // k × nv counts of item scores
	rest   []int // k × nr counts of rest scores
}

// maxHistCells bounds the memory a rankHist may take.
const maxHistCells = 1 << 22

// newRankHist returns an empty rankHist for complete persons with the given
// totals and items whose administered scores lie in [lo_j, hi_j], or nil when
// a score is not an integer, there are fewer than two complete persons or
// the ranges are too wide.
func newRankHist(total, lo, hi []float64, frac []bool, n int) *rankHist {
	if n < 2 || slices.Contains(frac, true) {
		return nil
	}
	vlo, vhi := slices.Min(lo), slices.Max(hi)
	tlo, thi := slices.Min(total), slices.Max(total)
	const wide = 1 << 20
	if !(vhi-vlo < wide && thi-tlo < wide && math.Abs(vlo) < wide && math.Abs(vhi) < wide && math.Abs(tlo) < wide*wide && math.Abs(thi) < wide*wide) {
		return nil
	}
	k := len(lo)
	h := &rankHist{
		k:  k,
		v0: int(vlo), nv: int(vhi-vlo) + 1,
		r0: int(tlo - vhi), nr: int(thi-tlo+vhi-vlo) + 1,
	}
	if k*(h.nv+h.nr) > maxHistCells {
		return nil
	}
	h.item = make([]int, k*h.nv)
	h.rest = make([]int, k*h.nr)
	return h
}

// add counts the scores of a complete person with item scores row and total t.
func (h *rankHist) add(row []float64, t float64) {
	ti := int(t) - h.r0
	for j, v := range row {
		vi := int(v)
		h.item[j*h.nv+vi-h.v0]++
		h.rest[j*h.nr+ti-vi]++
	}
}

// sortedCoproducts returns what the function sortedCoproducts returns, from
// the counts.
func (h *rankHist) sortedCoproducts(cm, rm []float64) []float64 {
	out := make([]float64, h.k)
	for j := range out {
		item := h.item[j*h.nv : (j+1)*h.nv]
		rest := h.rest[j*h.nr : (j+1)*h.nr]
		var s float64
		a, b := 0, 0   // next value of item and rest
		ca, cb := 0, 0 // persons left at the current values
		for {
			for ca == 0 && a < len(item) {
				ca = item[a]
				a++
			}
			for cb == 0 && b < len(rest) {
				cb = rest[b]
				b++
			}
			if ca == 0 || cb == 0 {
				break
			}
			c := min(ca, cb)
			s += float64(c) * (float64(h.v0+a-1) - cm[j]) * (float64(h.r0+b-1) - rm[j])
			ca -= c
			cb -= c
		}
		out[j] = s
	}
	return out
}

// scoreRows gives row-major access to a persons × items matrix, so that hot
// loops need not call At.
type scoreRows struct {
	r, k, stride int
	data         []float64
}

// newScoreRows returns the rows of x: its own storage when x exposes a raw
// row-major matrix (a *mat.Dense), a copy otherwise.
func newScoreRows(x mat.Matrix) scoreRows {
	if rm, ok := x.(mat.RawMatrixer); ok {
		raw := rm.RawMatrix()
		return scoreRows{r: raw.Rows, k: raw.Cols, stride: raw.Stride, data: raw.Data}
	}
	r, k := x.Dims()
	data := make([]float64, r*k)
	for i := range r {
		for j := range k {
			data[i*k+j] = x.At(i, j)
		}
	}
	return scoreRows{r: r, k: k, stride: k, data: data}
}

// row returns the scores of person i.
func (m scoreRows) row(i int) []float64 {
	return m.data[i*m.stride : i*m.stride+m.k : i*m.stride+m.k]
}

// CronbachAlpha returns coefficient alpha of the persons × items score matrix x,
//
//	α = k/(k−1) · (1 − Σ_j s_j² / s_X²)
//
// where k is the number of items, s_j² the sample variance of item j and s_X²
// the sample variance of the total score X = Σ_j x_j (Cronbach, 1951; Crocker &
// Algina, 1986, ch. 7). For 0/1 items alpha equals KR-20.
//
// Persons with any NaN (not administered) cell are dropped before computing
// (listwise deletion), so alpha describes the persons who took the whole test.
// The result is NaN when fewer than two persons are complete or the total
// score is constant. Alpha may be negative when items correlate negatively.
//
// CronbachAlpha panics if x has no rows or fewer than two columns.
func CronbachAlpha(x mat.Matrix) float64 {
	r, k := x.Dims()
	checkScores(r, k)
	cols, total := completeCases(x)
	return alphaOf(cols, total)
}

// SplitHalf is the odd–even split-half reliability of a test.
type SplitHalf struct {
	OddEven       float64 // correlation r of the odd-item and even-item half totals
	SpearmanBrown float64 // 2r/(1 + r), r stepped up to the full test length
}

// TestStats is the classical analysis of a whole test.
type TestStats struct {
	N         int       // persons administered every item (complete cases)
	Items     int       // number of items
	Mean      float64   // mean total score
	SD        float64   // sample standard deviation (n − 1) of total scores
	Alpha     float64   // Cronbach's alpha
	SEM       float64   // standard error of measurement, SD·√(1 − Alpha)
	Median    float64   // median total score
	Min       float64   // lowest total score
	Max       float64   // highest total score
	Skewness  float64   // skewness of total scores, b₁ = m₃/SD³
	Kurtosis  float64   // excess kurtosis of total scores, b₂ = m₄/SD⁴ − 3
	KR20      float64   // Kuder–Richardson formula 20; NaN unless every item is 0/1
	KR21      float64   // Kuder–Richardson formula 21 (total variance with divisor n); NaN unless every item is 0/1
	SplitHalf SplitHalf // odd–even split-half reliability
}

// TestAnalysis returns the total-score statistics of the persons × items score
// matrix x. Like CronbachAlpha it uses listwise deletion: N counts, and the
// other statistics describe, only the persons administered every item. The
// total score is X = Σ_j x_j. With n = N, k items, deviations d_i = X_i − X̄
// and central moments m_r = Σ_i d_i^r / n,
//
//	SD       = √(Σ_i d_i² / (n − 1))
//	Skewness = m₃ / SD³
//	Kurtosis = m₄ / SD⁴ − 3
//
// which are the type 3 estimates b₁ and b₂ (Joanes & Gill, 1998), the
// default of psych::describe in R. Median is the middle total score, the mean
// of the two middle ones when n is even; Min and Max are the extremes.
//
// Alpha is CronbachAlpha(x) and SEM is SEM(SD, Alpha) (Crocker & Algina, 1986,
// chs. 6–7). When every score is 0 or 1, KR20 equals Alpha (Kuder &
// Richardson, 1937, formula 20) and
//
//	KR21 = k/(k−1) · (1 − X̄(k − X̄) / (k·σ²)),   σ² = (n − 1)/n · SD²
//
// (Kuder & Richardson, 1937, formula 21), which replaces the item variances
// p_j q_j of KR-20 by that of the mean item. The total-score variance σ² has
// divisor n, like p_j q_j, as in Kuder and Richardson's formula: then KR21 =
// KR20 when every item has the same difficulty and KR21 < KR20 otherwise
// (KR20, a ratio of variances, is the same with either divisor; KR-21 with
// the n − 1 variance SD² would be larger by a term of order 1/n and can
// exceed KR-20). Both are NaN when some score is not 0 or 1.
//
// SplitHalf.OddEven is the Pearson correlation r of the half totals over the
// odd items (items 1, 3, 5, … counting from 1, that is columns 0, 2, 4, …)
// and the even items, and SplitHalf.SpearmanBrown = 2r/(1 + r) is that
// correlation stepped up to the full length by the Spearman–Brown formula
// (Spearman, 1910; Brown, 1910; Crocker & Algina, 1986, ch. 7). With an odd
// number of items the odd half has one item more.
//
// Statistics that are undefined for the data are NaN: all of them when N is 0;
// SD, Alpha, SEM, KR20, KR21, the skewness, the kurtosis and the split half
// when N < 2; the ratios when their denominator is 0 (for example Skewness
// when every total is the same).
//
// TestAnalysis panics if x has no rows or fewer than two columns.
func TestAnalysis(x mat.Matrix) TestStats {
	r, k := x.Dims()
	checkScores(r, k)
	m := newScoreRows(x)
	nan := math.NaN()
	ts := TestStats{
		Items:     k,
		Mean:      nan,
		SD:        nan,
		Alpha:     nan,
		SEM:       nan,
		Median:    nan,
		Min:       nan,
		Max:       nan,
		Skewness:  nan,
		Kurtosis:  nan,
		KR20:      nan,
		KR21:      nan,
		SplitHalf: SplitHalf{OddEven: nan, SpearmanBrown: nan},
	}

	// Pass 1: complete persons, their totals and half totals.
	complete := make([]int, 0, r)
	total := make([]float64, 0, r)
	odd := make([]float64, 0, r)
	csum := make([]float64, k)
	var tsum, osum, nonBinary float64
	for i := range r {
		row := m.row(i)
		var o, e float64
		for j := 0; j < k; j += 2 {
			o += row[j]
		}
		for j := 1; j < k; j += 2 {
			e += row[j]
		}
		t := o + e
		if math.IsNaN(t) {
			continue
		}
		complete = append(complete, i)
		total = append(total, t)
		odd = append(odd, o)
		tsum += t
		osum += o
		csum := csum[:len(row)]
		for j, v := range row {
			csum[j] += v
			nonBinary += math.Abs(v * (v - 1)) // 0 exactly when v is 0 or 1
		}
	}
	n := len(complete)
	ts.N = n
	if n == 0 {
		return ts
	}
	nf := float64(n)
	ts.Mean = tsum / nf
	sorted := slices.Clone(total)
	slices.Sort(sorted)
	ts.Min, ts.Max = sorted[0], sorted[n-1]
	if n%2 == 1 {
		ts.Median = sorted[n/2]
	} else {
		ts.Median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	if n < 2 {
		return ts
	}

	// Pass 2: centred sums.
	cm := make([]float64, k)
	for j := range cm {
		cm[j] = csum[j] / nf
	}
	om := osum / nf
	em := (tsum - osum) / nf
	xx := make([]float64, k)
	var t2, t3, t4, oo, ee, oe float64
	for c, i := range complete {
		for j, v := range m.row(i) {
			d := v - cm[j]
			xx[j] += d * d
		}
		d := total[c] - ts.Mean
		d2 := d * d
		t2 += d2
		t3 += d2 * d
		t4 += d2 * d2
		do := odd[c] - om
		de := total[c] - odd[c] - em
		oo += do * do
		ee += de * de
		oe += do * de
	}
	var sumVar float64
	for _, v := range xx {
		sumVar += v
	}
	ts.SD = math.Sqrt(t2 / (nf - 1))
	ts.Alpha = alpha(k, sumVar, t2)
	ts.SEM = SEM(ts.SD, ts.Alpha)
	if t2 > 0 {
		s2 := t2 / (nf - 1)
		ts.Skewness = t3 / nf / (s2 * ts.SD)
		ts.Kurtosis = t4/nf/(s2*s2) - 3
	}
	if nonBinary == 0 {
		ts.KR20 = ts.Alpha
		if t2 > 0 {
			kf := float64(k)
			ts.KR21 = kf / (kf - 1) * (1 - ts.Mean*(kf-ts.Mean)/(kf*t2/nf))
		}
	}
	rh := oe / math.Sqrt(oo*ee)
	ts.SplitHalf.OddEven = rh
	if !math.IsNaN(rh) && rh != -1 {
		ts.SplitHalf.SpearmanBrown = 2 * rh / (1 + rh)
	}
	return ts
}

// SEM returns the standard error of measurement of scores with standard
// deviation sd and reliability coefficient reliability,
//
//	SEM = sd · √(1 − reliability)
//
// in the units of sd (Crocker & Algina, 1986, ch. 6). The result is NaN when
// reliability > 1; a negative reliability (possible for an estimate such as
// alpha) gives an SEM larger than sd.
func SEM(sd, reliability float64) float64 {
	return sd * math.Sqrt(1-reliability)
}

// LordCSEM returns the conditional standard error of measurement of the raw
// score x on a test of items 0/1 items under Lord's binomial error model,
//
//	CSEM(x) = √(x(k − x) / (k − 1))
//
// with k = items (Lord, 1955, 1965; Feldt, Steffen & Gupta, 1985). The model
// treats a person's score as the number of successes in k draws from a domain
// of items, so the error is largest mid-range and zero at 0 and k. The result is NaN when x is NaN or outside [0, k]; x need not be
// an integer.
//
// LordCSEM panics if items < 2.
func LordCSEM(x float64, items int) float64 {
	if items < 2 {
		panic("psychometrics: fewer than two items")
	}
	k := float64(items)
	if !(x >= 0 && x <= k) {
		return math.NaN()
	}
	return math.Sqrt(x * (k - x) / (k - 1))
}

// LordCSEMTable returns LordCSEM(x, items) for the raw scores x = 0, 1, …,
// items, indexed by score.
//
// LordCSEMTable panics if items < 2.
func LordCSEMTable(items int) []float64 {
	if items < 2 {
		panic("psychometrics: fewer than two items")
	}
	out := make([]float64, items+1)
	for x := range out {
		out[x] = LordCSEM(float64(x), items)
	}
	return out
}

// checkScores panics unless a persons × items matrix of r rows and k columns
// has at least one person and two items.
func checkScores(r, k int) {
	if r < 1 {
		panic("psychometrics: no persons")
	}
	if k < 2 {
		panic("psychometrics: fewer than two items")
	}
}

// completeCases returns the columns of x restricted to the rows without NaN,
// and the row totals of those rows.
func completeCases(x mat.Matrix) (cols [][]float64, total []float64) {
	r, k := x.Dims()
	cols = make([][]float64, k)
	row := make([]float64, k)
rows:
	for i := range r {
		for j := range k {
			v := x.At(i, j)
			if math.IsNaN(v) {
				continue rows
			}
			row[j] = v
		}
		var t float64
		for j, v := range row {
			cols[j] = append(cols[j], v)
			t += v
		}
		total = append(total, t)
	}
	return cols, total
}

// alphaOf returns coefficient alpha of complete-case columns with the given
// row totals.
func alphaOf(cols [][]float64, total []float64) float64 {
	if len(total) < 2 {
		return math.NaN()
	}
	var sumVar float64
	for _, col := range cols {
		sumVar += stat.Variance(col, nil)
	}
	return alpha(len(cols), sumVar, stat.Variance(total, nil))
}

// alpha returns k/(k−1) · (1 − sumVar/totalVar), NaN when totalVar is 0.
func alpha(k int, sumVar, totalVar float64) float64 {
	if totalVar == 0 {
		return math.NaN()
	}
	kf := float64(k)
	return kf / (kf - 1) * (1 - sumVar/totalVar)
}
