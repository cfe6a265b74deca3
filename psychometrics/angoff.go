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

// AngoffResult is the cut score recommended by a modified-Angoff panel.
type AngoffResult struct {
	Cut          float64   // mean over panelists of each panelist's summed ratings, raw-score units
	SE           float64   // standard error of Cut: SD of panelist cuts / √Panelists
	PanelistCuts []float64 // each panelist's summed ratings, in row order
	Panelists    int       // number of panelists (rows)
	Items        int       // number of items (columns)
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
// Angoff returns an error wrapping ErrInvalidRating if any rating is NaN (every
// panelist must rate every item) or lies outside [0, 1]. It panics if ratings
// has no rows or no columns.
func Angoff(ratings mat.Matrix) (AngoffResult, error) {
	p, k := ratings.Dims()
	if p < 1 {
		panic("psychometrics: no panelists")
	}
	if k < 1 {
		panic("psychometrics: no items")
	}
	cuts := make([]float64, p)
	for i := range p {
		var sum float64
		for j := range k {
			v := ratings.At(i, j)
			if math.IsNaN(v) || v < 0 || v > 1 {
				return AngoffResult{}, fmt.Errorf("%w: panelist %d, item %d: %v not in [0, 1]", ErrInvalidRating, i, j, v)
			}
			sum += v
		}
		cuts[i] = sum
	}
	res := AngoffResult{
		Cut:          stat.Mean(cuts, nil),
		SE:           math.NaN(),
		PanelistCuts: cuts,
		Panelists:    p,
		Items:        k,
	}
	if p > 1 {
		res.SE = stat.StdDev(cuts, nil) / math.Sqrt(float64(p))
	}
	return res, nil
}
