package psychometrics

import (
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// RaschFit holds the residual-based fit statistics of one item or one person
// under the Rasch model. Each is NaN when no response enters it.
type RaschFit struct {
	// N is the number of responses used: for an item, the persons with a
	// non-extreme score who were administered it; for a person, the items
	// administered to them (0 for an excluded person).
	N int
	// ChiSq is the sum of the squared standardised residuals, Σ z².
	ChiSq float64
	// PValue is the upper tail probability of ChiSq under a χ² distribution
	// with N − 1 degrees of freedom, as eRm prints it; NaN if N < 2.
	PValue float64
	// Outfit is the outfit (unweighted) mean square, Σ z² / N.
	Outfit float64
	// Infit is the infit (information-weighted) mean square,
	// Σ (x − P)² / Σ P(1 − P).
	Infit float64
	// OutfitZ and InfitZ are the mean squares standardised by the
	// Wilson–Hilferty cube-root transformation (the "t" or ZSTD values).
	OutfitZ float64
	InfitZ  float64
}

// RaschItemFit returns the outfit and infit statistics of each item (column)
// of the persons × items 0/1 matrix x under the Rasch model with item
// difficulties b and person locations theta (Wright & Masters, 1982, ch. 5;
// Wright & Stone, 1979), with the definitions of eRm's itemfit (Mair &
// Hatzinger, 2007). NaN marks a response not administered; it enters no sum.
//
// Persons whose raw score is zero or perfect on the items administered to them
// are left out (as eRm does: their maximum likelihood θ is infinite), and
// their theta is not used. For every other person i and administered item j,
// with P_ij = 1/(1 + exp(−(θ_i − b_j))), the residual variance
// W_ij = P_ij(1 − P_ij), its fourth central moment
// C_ij = P_ij(1 − P_ij)(P_ij³ + (1 − P_ij)³) and the standardised residual
// z_ij = (x_ij − P_ij)/√W_ij, the statistics of item j over its N persons are
//
//	ChiSq   = Σ_i z_ij²
//	Outfit  = ChiSq / N                       q_o² = Σ_i C_ij/W_ij² / N² − 1/N
//	Infit   = Σ_i W_ij z_ij² / Σ_i W_ij       q_i² = Σ_i (C_ij − W_ij²) / (Σ_i W_ij)²
//	OutfitZ = (Outfit^{1/3} − 1)·3/q_o + q_o/3
//	InfitZ  = (Infit^{1/3} − 1)·3/q_i + q_i/3
//
// (the standardisation is the Wilson & Hilferty, 1931, cube-root
// transformation, as in Winsteps and eRm). PValue uses N − 1 degrees of
// freedom, as eRm's print method does. The statistics are not finite if some
// P_ij rounds to 0 or 1.
//
// RaschItemFit panics if x has no rows or fewer than two columns, if len(b)
// is not the number of columns or len(theta) the number of rows, if a b is
// not finite, if a cell of x is not 0, 1 or NaN, or if the theta of a person
// with a non-extreme score is not finite.
func RaschItemFit(x mat.Matrix, b, theta []float64) []RaschFit {
	items, _ := raschFit(x, b, theta, true, false)
	return items
}

// RaschPersonFit returns the outfit and infit statistics of each person (row)
// of the persons × items 0/1 matrix x under the Rasch model with item
// difficulties b and person locations theta: the statistics of RaschItemFit
// computed over the items administered to the person instead of over persons,
// as eRm's personfit does (Wright & Masters, 1982, ch. 5). NaN marks a
// response not administered; it enters no sum.
//
// A person whose raw score is zero or perfect on the items administered to
// them is left out, as in eRm: their statistics are NaN with N = 0, and their
// theta is not used. RaschPersonFit panics in the same cases as RaschItemFit.
func RaschPersonFit(x mat.Matrix, b, theta []float64) []RaschFit {
	_, persons := raschFit(x, b, theta, false, true)
	return persons
}

// raschFitSums accumulates the sums behind RaschFit.
type raschFitSums struct {
	n       int
	z2      float64 // Σ z²
	res2    float64 // Σ (x − P)²
	w       float64 // Σ W
	cw2     float64 // Σ C/W²
	cMinusW float64 // Σ (C − W²)
}

func (s *raschFitSums) add(x, theta, b float64) {
	e := math.Exp(b - theta)
	p := 1 / (1 + e)
	q := e * p // 1 − p without cancellation
	w := p * q
	m4 := p*p*p + q*q*q // C = W·m4
	inv := 1 / w
	r2 := (x - p) * (x - p)
	s.n++
	s.z2 += r2 * inv
	s.res2 += r2
	s.w += w
	s.cw2 += m4 * inv
	s.cMinusW += w * (m4 - w)
}

func (s *raschFitSums) fit() RaschFit {
	nan := math.NaN()
	if s.n == 0 {
		return RaschFit{ChiSq: nan, PValue: nan, Outfit: nan, Infit: nan, OutfitZ: nan, InfitZ: nan}
	}
	n := float64(s.n)
	f := RaschFit{
		N:      s.n,
		ChiSq:  s.z2,
		PValue: nan,
		Outfit: s.z2 / n,
		Infit:  s.res2 / s.w,
	}
	if s.n > 1 {
		f.PValue = distuv.ChiSquared{K: n - 1}.Survival(s.z2)
	}
	qo := math.Sqrt(s.cw2/(n*n) - 1/n)
	qi := math.Sqrt(s.cMinusW / (s.w * s.w))
	f.OutfitZ = wilsonHilferty(f.Outfit, qo)
	f.InfitZ = wilsonHilferty(f.Infit, qi)
	return f
}

// wilsonHilferty standardises a mean square ms with standard deviation q,
// (ms^{1/3} − 1)·3/q + q/3.
func wilsonHilferty(ms, q float64) float64 {
	return (math.Cbrt(ms)-1)*3/q + q/3
}

// raschFit computes the item and/or person fit statistics.
func raschFit(x mat.Matrix, b, theta []float64, items, persons bool) ([]RaschFit, []RaschFit) {
	rows, k := x.Dims()
	checkScores(rows, k)
	if len(b) != k {
		panic("psychometrics: number of difficulties does not match the items")
	}
	if len(theta) != rows {
		panic("psychometrics: number of abilities does not match the persons")
	}
	for _, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			panic("psychometrics: difficulty is not finite")
		}
	}
	itemSums := make([]raschFitSums, k)
	var personFit []RaschFit
	if persons {
		personFit = make([]RaschFit, rows)
	}
	var raw []float64
	stride := 0
	if rm, ok := x.(mat.RawMatrixer); ok {
		g := rm.RawMatrix()
		raw, stride = g.Data, g.Stride
	}
	buf := make([]float64, k)
	for i := range rows {
		row := buf
		if raw != nil {
			row = raw[i*stride : i*stride+k]
		} else {
			for j := range buf {
				buf[j] = x.At(i, j)
			}
		}
		var score, m int
		for _, v := range row {
			switch {
			case v == 1:
				score++
				m++
			case v == 0:
				m++
			case math.IsNaN(v):
			default:
				panic("psychometrics: Rasch response is not 0, 1 or NaN")
			}
		}
		if score == 0 || score == m {
			if persons {
				personFit[i] = (&raschFitSums{}).fit()
			}
			continue
		}
		t := theta[i]
		if math.IsNaN(t) || math.IsInf(t, 0) {
			panic("psychometrics: ability of a person with a non-extreme score is not finite")
		}
		var ps raschFitSums
		for j, v := range row {
			if math.IsNaN(v) {
				continue
			}
			if items {
				itemSums[j].add(v, t, b[j])
			}
			if persons {
				ps.add(v, t, b[j])
			}
		}
		if persons {
			personFit[i] = ps.fit()
		}
	}
	var itemFit []RaschFit
	if items {
		itemFit = make([]RaschFit, k)
		for j := range itemFit {
			itemFit[j] = itemSums[j].fit()
		}
	}
	return itemFit, personFit
}
