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

// Info returns the Fisher information of the item at ability theta,
//
//	I(θ) = a² · (P − c)² / (1 − c)² · (1 − P) / P
//
// (Birnbaum, 1968; Lord, 1980, eq. 5-19, with D = 1). With C = 0 it reduces
// to a²·P·(1 − P). Info is zero where P is 1 or 0 in floating point.
func (it Item3PL) Info(theta float64) float64 {
	p := it.P(theta)
	if p <= 0 || p >= 1 {
		return 0
	}
	d := (p - it.C) / (1 - it.C)
	return it.A * it.A * d * d * (1 - p) / p
}

// TestInformation returns the test information at theta, the sum of the
// items' information, I(θ) = Σ_j I_j(θ) (Lord, 1980, eq. 5-6).
func TestInformation(items []Item3PL, theta float64) float64 {
	var sum float64
	for _, it := range items {
		sum += it.Info(theta)
	}
	return sum
}

// TrueScore returns the test characteristic curve at theta, the expected raw
// score τ(θ) = Σ_j P_j(θ) (Lord, 1980, eq. 4-5).
func TrueScore(items []Item3PL, theta float64) float64 {
	var sum float64
	for _, it := range items {
		sum += it.P(theta)
	}
	return sum
}

// Quadrature is a discrete approximation of an ability distribution: points
// Nodes with probabilities Weights that sum to 1. Marginal maximum likelihood
// and EAP scoring integrate over θ with it.
type Quadrature struct {
	Nodes   []float64
	Weights []float64
}

// NormalQuadrature returns n equally spaced nodes from mean − 6·sd to
// mean + 6·sd with weights proportional to the normal density N(mean, sd²),
// normalised to sum to 1 — the rectangular quadrature of Bock & Aitkin (1981)
// as used by BILOG-MG and R's mirt. With n = 61 and a standard normal the
// nodes are 0.2 apart.
//
// NormalQuadrature panics if n < 2 or sd is not positive.
func NormalQuadrature(n int, mean, sd float64) Quadrature {
	if n < 2 {
		panic("psychometrics: quadrature needs at least two nodes")
	}
	if !(sd > 0) {
		panic("psychometrics: quadrature sd must be positive")
	}
	q := Quadrature{Nodes: make([]float64, n), Weights: make([]float64, n)}
	step := 12 * sd / float64(n-1)
	var sum float64
	for i := range n {
		x := mean - 6*sd + float64(i)*step
		z := (x - mean) / sd
		q.Nodes[i] = x
		q.Weights[i] = math.Exp(-z * z / 2)
		sum += q.Weights[i]
	}
	for i := range q.Weights {
		q.Weights[i] /= sum
	}
	return q
}
