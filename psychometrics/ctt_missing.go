package psychometrics

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Missing says how to treat a NaN (not administered, or not answered) cell of
// a persons × items score matrix before analysis.
type Missing int

const (
	// MissingZero scores a NaN cell 0, as an omitted answer is scored on a
	// number-correct test. It is the zero value.
	MissingZero Missing = iota
	// MissingListwise drops every person with a NaN cell (listwise
	// deletion), so the analysis describes the persons who took every item.
	MissingListwise
)

// ApplyMissing returns a copy of the persons × items score matrix x with its
// NaN cells treated as m says, and the row indices in x of the persons kept,
// in order. Under MissingZero every person is kept and NaN becomes 0; under
// MissingListwise the persons with any NaN cell are dropped. When no person
// is kept, out is an empty matrix (out.IsEmpty() is true) and kept is empty.
//
// ItemAnalysis, TestAnalysis and CronbachAlpha keep their own treatment of
// NaN: listwise deletion for every statistic of the whole test, every
// administered person for an item's N, Mean and SD. Applying MissingListwise
// first therefore changes only N, Mean and SD; applying MissingZero first
// keeps every person in every statistic, an omission scoring 0.
//
// ApplyMissing panics if x has no rows or columns, or if m is not one of the
// Missing constants.
func ApplyMissing(x mat.Matrix, m Missing) (out *mat.Dense, kept []int) {
	r, k := x.Dims()
	if r < 1 || k < 1 {
		panic("psychometrics: empty score matrix")
	}
	if m != MissingZero && m != MissingListwise {
		panic("psychometrics: unknown Missing treatment")
	}
	src := newScoreRows(x)
	data := make([]float64, 0, r*k)
	kept = make([]int, 0, r)
rows:
	for i := range r {
		row := src.row(i)
		if m == MissingListwise {
			for _, v := range row {
				if math.IsNaN(v) {
					continue rows
				}
			}
		}
		kept = append(kept, i)
		for _, v := range row {
			if math.IsNaN(v) {
				v = 0
			}
			data = append(data, v)
		}
	}
	if len(kept) == 0 {
		return &mat.Dense{}, kept
	}
	return mat.NewDense(len(kept), k, data), kept
}
