package psychometrics

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// ErrNotDichotomous is returned, wrapped with the person and item, when a
// method defined for 0/1 item scores meets another value.
var ErrNotDichotomous = errors.New("psychometrics: item score not 0 or 1")

// difDeltaScale is the factor that puts a log odds ratio on the ETS delta
// scale of item difficulty, Δ = −2.35·ln α (Holland & Thayer, 1988): 4/1.7,
// the standard deviation 4 of the delta scale over the logistic-to-normal
// scaling constant 1.7, rounded as ETS does.
const difDeltaScale = 2.35

// difZ95 is the 0.95 quantile of the standard normal distribution, the
// one-sided 5% critical value of the ETS C rule.
const difZ95 = 1.6448536269514722

// DIFClass is the ETS category of the size of an item's differential item
// functioning (Zwick, 2012). The sign of the DIF is that of DIFResult.DeltaMH.
type DIFClass int

// The ETS DIF categories. DIFUnclassified, the zero value, marks an item whose
// Mantel–Haenszel statistics are undefined.
const (
	DIFUnclassified DIFClass = iota
	DIFClassA                // negligible DIF
	DIFClassB                // slight to moderate DIF
	DIFClassC                // moderate to large DIF
)

// String returns "A", "B" or "C", or "NA" for DIFUnclassified.
func (c DIFClass) String() string {
	switch c {
	case DIFClassA:
		return "A"
	case DIFClassB:
		return "B"
	case DIFClassC:
		return "C"
	}
	return "NA"
}

// DIFSettings configures MantelHaenszel. The zero value gives the standard
// analysis: persons are matched on their total score over all items, the
// studied item included.
type DIFSettings struct {
	// Matching, if not nil, holds one matching score per person (row of x)
	// that replaces the total score in forming the strata: each distinct
	// value is a stratum. Use it for a purified criterion (the total over
	// items found free of DIF, plus the studied item) or an external anchor.
	// A person whose matching score is NaN is dropped.
	Matching []float64
}

// DIFResult is the Mantel–Haenszel DIF analysis of one item.
type DIFResult struct {
	Item      int // column index
	Reference int // persons of the reference group analysed
	Focal     int // persons of the focal group analysed

	AlphaMH   float64 // Mantel–Haenszel common odds ratio, reference over focal
	DeltaMH   float64 // MH D-DIF = −2.35·ln AlphaMH; negative favours the reference group
	SEDeltaMH float64 // standard error of DeltaMH, 2.35 × the Robins–Breslow–Greenland SE of ln AlphaMH

	Chi2MH            float64 // MH chi-square with the continuity correction, 1 df
	PValue            float64 // upper-tail χ²₁ probability of Chi2MH
	Chi2MHUncorrected float64 // MH chi-square without the continuity correction
	PValueUncorrected float64 // upper-tail χ²₁ probability of Chi2MHUncorrected

	Class DIFClass // ETS category from DeltaMH, SEDeltaMH and PValue
}

// MantelHaenszel returns the Mantel–Haenszel differential item functioning
// (DIF) statistics of every item (column) of the persons × items matrix x of
// 0/1 scores, comparing the persons with focal[i] true (the focal group) with
// the others (the reference group), in column order.
//
// Persons are matched on their total score over all items, the studied item
// included (Holland & Thayer, 1988; Dorans & Holland, 1993), unless
// s.Matching gives another matching score; each distinct score is a stratum
// k. For each item and stratum, with A_k, B_k the reference persons who
// answered right and wrong, C_k, D_k the focal persons who answered right and
// wrong, n_Rk = A_k + B_k, n_Fk = C_k + D_k, m_1k = A_k + C_k,
// m_0k = B_k + D_k and T_k = n_Rk + n_Fk:
//
//	α_MH = Σ_k (A_k·D_k/T_k) / Σ_k (B_k·C_k/T_k)
//	E(A_k) = n_Rk·m_1k / T_k,  Var(A_k) = n_Rk·n_Fk·m_1k·m_0k / (T_k²(T_k − 1))
//	χ²_MH = (|Σ_k A_k − Σ_k E(A_k)| − ½)² / Σ_k Var(A_k)
//	Δ_MH = −2.35·ln α_MH
//
// (Mantel & Haenszel, 1959; Holland & Thayer, 1988). The continuity
// correction ½ is applied only when |Σ A_k − Σ E(A_k)| ≥ ½, as in R's
// mantelhaen.test; Chi2MHUncorrected omits it. P-values are upper-tail
// probabilities of the χ² distribution with 1 degree of freedom. The standard
// error of ln α_MH is that of Robins, Breslow & Greenland (1986), as in R's mantelhaen.test, with
// R_k = A_k·D_k/T_k, S_k = B_k·C_k/T_k, P_k = (A_k + D_k)/T_k,
// Q_k = (B_k + C_k)/T_k, R = Σ R_k and S = Σ S_k:
//
//	Var(ln α_MH) = Σ P_k·R_k/(2R²) + Σ (P_k·S_k + Q_k·R_k)/(2R·S) + Σ Q_k·S_k/(2S²)
//
// and SEDeltaMH = 2.35·√Var(ln α_MH). α_MH > 1 (Δ_MH < 0) means the item
// is relatively harder for the focal group than for reference-group persons
// of the same total score: negative Δ_MH favours the reference group.
//
// Class applies the ETS rules as stated by Zwick (2012, ETS Research Report RR-12-08):
// A when |Δ_MH| < 1 or Δ_MH is not significantly different from 0 (PValue,
// the continuity-corrected MH test, ≥ .05); C when |Δ_MH| ≥ 1.5 and |Δ_MH| is
// significantly greater than 1, (|Δ_MH| − 1)/SEDeltaMH > z_.95 ≈ 1.645 (a
// one-sided test at the .05 level); B otherwise.
//
// A stratum with fewer than two persons, or with persons of one group only,
// carries no information on the item and contributes nothing to any sum. A
// statistic that is undefined for the data is NaN and the item is then
// DIFUnclassified: AlphaMH, DeltaMH and SEDeltaMH when Σ B_k·C_k/T_k or
// Σ A_k·D_k/T_k is zero (the odds ratio is 0 or infinite), the chi-squares
// and p-values when Σ Var(A_k) is zero (for example an item that every
// matched person answered alike).
//
// Persons administered some items but not others (a NaN score) are dropped
// (listwise deletion), so that the total score means the same thing for
// everyone; so are persons whose s.Matching score is NaN. Reference and Focal
// count the persons kept. The analysis makes one pass over x, building every
// item's stratum tables at once.
//
// MantelHaenszel returns an error wrapping ErrNotDichotomous if a score is
// neither 0, 1 nor NaN. It panics if x has no rows or no columns, or if focal
// or a non-nil s.Matching does not have one entry per row of x.
func MantelHaenszel(x mat.Matrix, focal []bool, s DIFSettings) ([]DIFResult, error) {
	r, k := x.Dims()
	if r == 0 {
		panic("psychometrics: no persons")
	}
	if k == 0 {
		panic("psychometrics: no items")
	}
	if len(focal) != r {
		panic("psychometrics: focal length does not match the number of persons")
	}
	if s.Matching != nil && len(s.Matching) != r {
		panic("psychometrics: matching length does not match the number of persons")
	}

	// Strata: the total score 0..k, or the distinct matching scores.
	strata := k + 1
	var stratumOf []int
	if s.Matching != nil {
		levels := make([]float64, 0, r)
		for _, v := range s.Matching {
			if !math.IsNaN(v) {
				levels = append(levels, v)
			}
		}
		slices.Sort(levels)
		levels = slices.Compact(levels)
		strata = max(len(levels), 1)
		stratumOf = make([]int, r)
		for i, v := range s.Matching {
			stratumOf[i] = -1
			if !math.IsNaN(v) {
				stratumOf[i], _ = slices.BinarySearch(levels, v)
			}
		}
	}

	// size[2s+g] counts the persons of group g (0 reference, 1 focal) in
	// stratum s, and right[(2s+g)·k+j] those of them who answered item j
	// right: a person's items are adjacent, so that counting them is one
	// sequential, branch-free sweep of the row.
	size := make([]int, 2*strata)
	right := make([]int32, 2*strata*k)
	var groupSize [2]int
	var raw []float64
	var stride int
	if rm, ok := x.(mat.RawMatrixer); ok {
		b := rm.RawMatrix()
		raw, stride = b.Data, b.Stride
	}
	row := make([]float64, k)
	for i := range r {
		if raw != nil {
			row = raw[i*stride : i*stride+k]
		} else {
			for j := range k {
				row[j] = x.At(i, j)
			}
		}
		complete := true
		var total float64
		for j, v := range row {
			if v*v != v { // neither 0 nor 1, NaN included
				if math.IsNaN(v) {
					complete = false
					continue
				}
				return nil, fmt.Errorf("%w: person %d, item %d: %v", ErrNotDichotomous, i, j, v)
			}
			total += v
		}
		if total > float64(k) { // only +Inf passes the test above
			j := slices.Index(row, math.Inf(1))
			return nil, fmt.Errorf("%w: person %d, item %d: %v", ErrNotDichotomous, i, j, row[j])
		}
		if !complete {
			continue
		}
		st := int(total)
		if stratumOf != nil {
			if st = stratumOf[i]; st < 0 {
				continue
			}
		}
		g := 0
		if focal[i] {
			g = 1
		}
		groupSize[g]++
		size[2*st+g]++
		counts := right[(2*st+g)*k : (2*st+g+1)*k]
		for j, v := range row {
			counts[j] += int32(v)
		}
	}

	out := make([]DIFResult, k)
	for j := range k {
		out[j] = mhItem(size, right[j:], k)
		out[j].Item = j
		out[j].Reference = groupSize[0]
		out[j].Focal = groupSize[1]
	}
	return out, nil
}

// mhItem returns the Mantel–Haenszel statistics of one item from the group
// sizes of each stratum and the item's right counts, right[(2s+g)·k], laid
// out as in MantelHaenszel.
func mhItem(size []int, right []int32, k int) DIFResult {
	var sumA, sumE, sumVar float64
	var sumR, sumS, sumPR, sumPSQR, sumQS float64
	for st := 0; st < len(size)/2; st++ {
		nR, nF := float64(size[2*st]), float64(size[2*st+1])
		if nR == 0 || nF == 0 {
			continue // T_k < 2, or one group only: no information
		}
		a, c := float64(right[2*st*k]), float64(right[(2*st+1)*k])
		b, d := nR-a, nF-c
		t := nR + nF
		m1, m0 := a+c, b+d
		sumA += a
		sumE += nR * m1 / t
		sumVar += nR * nF * m1 * m0 / (t * t * (t - 1))
		rk, sk := a*d/t, b*c/t
		pk, qk := (a+d)/t, (b+c)/t
		sumR += rk
		sumS += sk
		sumPR += pk * rk
		sumPSQR += pk*sk + qk*rk
		sumQS += qk * sk
	}

	res := DIFResult{
		AlphaMH:           math.NaN(),
		DeltaMH:           math.NaN(),
		SEDeltaMH:         math.NaN(),
		Chi2MH:            math.NaN(),
		PValue:            math.NaN(),
		Chi2MHUncorrected: math.NaN(),
		PValueUncorrected: math.NaN(),
	}
	if sumR > 0 && sumS > 0 {
		res.AlphaMH = sumR / sumS
		res.DeltaMH = -difDeltaScale * math.Log(res.AlphaMH)
		v := sumPR/(2*sumR*sumR) + sumPSQR/(2*sumR*sumS) + sumQS/(2*sumS*sumS)
		res.SEDeltaMH = difDeltaScale * math.Sqrt(v)
	}
	if sumVar > 0 {
		dev := math.Abs(sumA - sumE)
		res.Chi2MHUncorrected = dev * dev / sumVar
		if dev >= 0.5 {
			dev -= 0.5
		}
		res.Chi2MH = dev * dev / sumVar
		res.PValue = difChiSquare1Survival(res.Chi2MH)
		res.PValueUncorrected = difChiSquare1Survival(res.Chi2MHUncorrected)
	}
	res.Class = etsClass(res.DeltaMH, res.SEDeltaMH, res.PValue)
	return res
}

// difChiSquare1Survival returns Pr(X > x) for X ~ χ²₁, erfc(√(x/2)), accurate
// in the far tail.
func difChiSquare1Survival(x float64) float64 {
	return math.Erfc(math.Sqrt(x / 2))
}

// etsClass returns the ETS DIF category of Zwick (2012) for an MH D-DIF
// delta with standard error se and MH chi-square p-value p.
func etsClass(delta, se, p float64) DIFClass {
	if math.IsNaN(delta) || math.IsNaN(p) {
		return DIFUnclassified
	}
	ad := math.Abs(delta)
	switch {
	case ad < 1 || p >= 0.05:
		return DIFClassA
	case ad >= 1.5 && (ad-1)/se > difZ95:
		return DIFClassC
	}
	return DIFClassB
}
