package psychometrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// ErrInvalidRating is returned, wrapped with the panelist and item, when a
// standard-setting rating is missing (NaN) or outside its allowed range.
var ErrInvalidRating = errors.New("psychometrics: invalid rating")

// AngoffResult is the cut score recommended by a modified-Angoff panel, with
// the panel's item ratings summarised.
type AngoffResult struct {
	Cut          float64   // mean over panelists of each panelist's summed ratings, raw-score units
	SE           float64   // standard error of Cut: SD of panelist cuts / √Panelists
	PanelistCuts []float64 // each panelist's summed ratings, in row order
	Panelists    int       // number of panelists (rows)
	Items        int       // number of items (columns)

	CutSD     float64   // SD of the panelist cuts (n − 1 denominator), the spread of the panel
	ItemMeans []float64 // mean rating of each item over panelists, in column order; they sum to Cut

	// ICCAgreement and ICCConsistency summarise how well the panelists agree
	// on the items: the intraclass correlations ICC(2,1) (absolute
	// agreement, panelists a random sample) and ICC(3,1) (consistency) of
	// Shrout & Fleiss (1979), with items as the targets rated and panelists
	// as the raters. See Angoff for the formulas.
	ICCAgreement   float64
	ICCConsistency float64
}

// Angoff returns the modified-Angoff cut score of a panelists × items matrix of
// ratings, each the probability (0 ≤ r ≤ 1) that a minimally competent
// candidate answers the item correctly. Panelist p's cut is the sum of their
// ratings, the expected raw score of the minimally competent candidate; the
// recommended cut is the mean over the P panelists, and its standard error is
// the standard error of that mean:
//
//	c_p = Σ_j r_pj
//	Cut = (1/P) Σ_p c_p
//	SE  = √(Σ_p (c_p − Cut)² / (P − 1)) / √P
//
// (Angoff, 1971; Livingston & Zieky, 1982; Cizek & Bunch, 2007, ch. 6). SE is
// NaN when there is a single panelist. Cut is in raw-score units; a candidate
// with integer raw scores passes at ⌈Cut⌉ or above.
//
// The result also holds each item's mean rating r̄_j = (1/P) Σ_p r_pj, the SD
// of the panelist cuts, and two intraclass correlations of the ratings with
// the k items as targets and the P panelists as raters (Shrout & Fleiss, 1979,
// ICC(2,1) and ICC(3,1)), from the mean squares of the two-way analysis of
// variance without replication — items (MS_I, k − 1 df), panelists (MS_P,
// P − 1 df) and residual (MS_E, (k − 1)(P − 1) df):
//
//	ICCAgreement   = (MS_I − MS_E) / (MS_I + (P − 1) MS_E + P (MS_P − MS_E) / k)
//	ICCConsistency = (MS_I − MS_E) / (MS_I + (P − 1) MS_E)
//
// ICCConsistency is high when the panelists rank the items' difficulty alike;
// ICCAgreement is lowered, in addition, by panelists who are more lenient or
// more severe than the others, the differences that move their cuts apart.
// Both are NaN with fewer than two panelists or two items, or when their
// denominator is zero (every rating equal).
//
// Angoff returns an error wrapping ErrInvalidRating if any rating is NaN (every
// panelist must rate every item) or lies outside [0, 1]. It panics if ratings
// has no rows or no columns.
func Angoff(ratings mat.Matrix) (AngoffResult, error) {
	return angoff(ratings, false)
}

// YesNoAngoff returns the Yes/No Angoff cut score of Impara & Plake (1997): a
// panelists × items matrix of 0/1 judgements, 1 (Yes) when the panelist
// judges that a minimally competent candidate would answer the item correctly.
// Panelist p's cut is their number of Yes judgements and the recommended cut
// is the mean over panelists,
//
//	c_p = Σ_j r_pj,  Cut = (1/P) Σ_p c_p,  SE = SD(c_p) / √P,
//
// with the same summaries as Angoff (item means are the proportions of Yes).
// See also Cizek & Bunch (2007), ch. 6.
//
// YesNoAngoff returns an error wrapping ErrInvalidRating if any rating is
// not exactly 0 or 1 (NaN included). It panics if ratings has no rows or no
// columns.
func YesNoAngoff(ratings mat.Matrix) (AngoffResult, error) {
	return angoff(ratings, true)
}

func angoff(ratings mat.Matrix, yesNo bool) (AngoffResult, error) {
	p, k := ratings.Dims()
	if p < 1 {
		panic("psychometrics: no panelists")
	}
	if k < 1 {
		panic("psychometrics: no items")
	}
	cuts := make([]float64, p)
	means := make([]float64, k)
	for i := range p {
		var sum float64
		for j := range k {
			v := ratings.At(i, j)
			if yesNo {
				if v != 0 && v != 1 {
					return AngoffResult{}, fmt.Errorf("%w: panelist %d, item %d: %v is not 0 or 1", ErrInvalidRating, i, j, v)
				}
			} else if math.IsNaN(v) || v < 0 || v > 1 {
				return AngoffResult{}, fmt.Errorf("%w: panelist %d, item %d: %v not in [0, 1]", ErrInvalidRating, i, j, v)
			}
			sum += v
			means[j] += v
		}
		cuts[i] = sum
	}
	for j := range means {
		means[j] /= float64(p)
	}
	res := AngoffResult{
		Cut:          stat.Mean(cuts, nil),
		SE:           math.NaN(),
		PanelistCuts: cuts,
		Panelists:    p,
		Items:        k,
		CutSD:        math.NaN(),
		ItemMeans:    means,
	}
	if p > 1 {
		res.CutSD = stat.StdDev(cuts, nil)
		res.SE = res.CutSD / math.Sqrt(float64(p))
	}
	res.ICCAgreement, res.ICCConsistency = ratingICC(ratings, cuts, means)
	return res, nil
}

// ratingICC returns ICC(2,1) and ICC(3,1) of Shrout & Fleiss (1979) for the
// panelists × items ratings, items being the targets and panelists the raters,
// given the panelists' rating sums and the item means.
func ratingICC(ratings mat.Matrix, sums, itemMeans []float64) (agreement, consistency float64) {
	p, k := ratings.Dims()
	if p < 2 || k < 2 {
		return math.NaN(), math.NaN()
	}
	P, K := float64(p), float64(k)
	grand := stat.Mean(itemMeans, nil)
	var ssItems, ssPanel, ssTotal float64
	for _, m := range itemMeans {
		ssItems += (m - grand) * (m - grand)
	}
	ssItems *= P
	for _, s := range sums {
		d := s/K - grand
		ssPanel += d * d
	}
	ssPanel *= K
	for i := range p {
		for j := range k {
			d := ratings.At(i, j) - grand
			ssTotal += d * d
		}
	}
	msItems := ssItems / (K - 1)
	msPanel := ssPanel / (P - 1)
	msErr := math.Max(ssTotal-ssItems-ssPanel, 0) / ((K - 1) * (P - 1))
	agreement, consistency = math.NaN(), math.NaN()
	if d := msItems + (P-1)*msErr + P*(msPanel-msErr)/K; d != 0 {
		agreement = (msItems - msErr) / d
	}
	if d := msItems + (P-1)*msErr; d != 0 {
		consistency = (msItems - msErr) / d
	}
	return agreement, consistency
}

// AngoffStudy is the outcome of an Angoff study run over several rounds, in
// which panelists see feedback (other panelists' ratings, item statistics,
// impact) between rounds and may revise their ratings. The last round's cut is
// the panel's recommendation.
type AngoffStudy struct {
	Rounds []AngoffResult // one result per round, in order
	Cut    float64        // the final round's cut, the recommended standard
	SE     float64        // the final round's standard error
}

// AngoffRounds returns the cut of every round of a multi-round Angoff study
// and, as the recommendation, the final round's cut and standard error
// (Cizek & Bunch, 2007, ch. 6; Hambleton & Pitoniak, 2006). rounds holds one
// panelists × items ratings matrix per round, the same panelists in the same
// rows and the same items in the same columns in every round. method scores a
// round: Angoff (used when method is nil) for probability ratings, or
// YesNoAngoff for 0/1 judgements.
//
// AngoffRounds returns the first error method returns, wrapped with the
// round's index. It panics if rounds is empty or the rounds differ in shape.
func AngoffRounds(rounds []mat.Matrix, method func(mat.Matrix) (AngoffResult, error)) (AngoffStudy, error) {
	if len(rounds) == 0 {
		panic("psychometrics: no rounds")
	}
	if method == nil {
		method = Angoff
	}
	p, k := rounds[0].Dims()
	study := AngoffStudy{Rounds: make([]AngoffResult, len(rounds))}
	for r, x := range rounds {
		if rp, rk := x.Dims(); rp != p || rk != k {
			panic(fmt.Sprintf("psychometrics: round %d is %d×%d, round 0 is %d×%d", r, rp, rk, p, k))
		}
		res, err := method(x)
		if err != nil {
			return AngoffStudy{}, fmt.Errorf("round %d: %w", r, err)
		}
		study.Rounds[r] = res
	}
	last := study.Rounds[len(rounds)-1]
	study.Cut, study.SE = last.Cut, last.SE
	return study, nil
}
