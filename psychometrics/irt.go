package psychometrics

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Item3PL holds the parameters of an item under the three-parameter logistic
// model (Birnbaum, 1968) with D = 1.
type Item3PL struct {
	A float64 // discrimination (slope)
	B float64 // difficulty (location), on the θ scale
	C float64 // pseudo-guessing (lower asymptote), in [0, 1]
}

// P returns the probability that a person of ability theta answers the item
// correctly,
//
//	P(θ) = c + (1 − c) / (1 + exp(−a(θ − b)))
//
// (Birnbaum, 1968, with the scaling constant D = 1). With C = 0 it is the 2PL
// model, and with C = 0 and A = 1 the Rasch model.
func (it Item3PL) P(theta float64) float64 {
	return it.C + (1-it.C)/(1+math.Exp(-it.A*(theta-it.B)))
}

// Simulate3PL returns a len(theta) × len(items) matrix of 0/1 responses drawn
// under the 3PL model: person i answers item j correctly (x_ij = 1) when
// u_ij < items[j].P(theta[i]), with u_ij uniform on [0, 1) from rng. The
// uniforms are drawn person by person and, within a person, item by item, one
// per cell, so the same rng state gives the same matrix.
//
// Simulate3PL panics if theta or items is empty, if a theta is NaN, or if an
// item has a NaN or infinite A or B, or a C outside [0, 1].
func Simulate3PL(rng *rand.Rand, theta []float64, items []Item3PL) *mat.Dense {
	if len(theta) == 0 {
		panic("psychometrics: no persons")
	}
	if len(items) == 0 {
		panic("psychometrics: no items")
	}
	for _, t := range theta {
		if math.IsNaN(t) {
			panic("psychometrics: theta is NaN")
		}
	}
	for _, it := range items {
		if math.IsNaN(it.A) || math.IsInf(it.A, 0) || math.IsNaN(it.B) || math.IsInf(it.B, 0) || !(it.C >= 0 && it.C <= 1) {
			panic("psychometrics: invalid 3PL item parameters")
		}
	}
	k := len(items)
	data := make([]float64, len(theta)*k)
	for i, t := range theta {
		row := data[i*k : (i+1)*k]
		for j, it := range items {
			if rng.Float64() < it.P(t) {
				row[j] = 1
			}
		}
	}
	return mat.NewDense(len(theta), k, data)
}
