package psychometrics

import (
	"math"
	"testing"
)

// irtModels are items of every model the package fits, so that the
// properties every logistic item must have are checked on each.
var irtModels = []struct {
	name  string
	items []Item3PL
}{
	{"Rasch", []Item3PL{{A: 1, B: -1.5}, {A: 1, B: 0}, {A: 1, B: 2.2}}},
	{"1PL", []Item3PL{{A: 0.755, B: -3.6}, {A: 0.755, B: -0.3}, {A: 0.755, B: 1}}},
	{"2PL", []Item3PL{{A: 0.4, B: -2}, {A: 1.7, B: 0.3}, {A: 2.8, B: 1.5}}},
	{"3PL", []Item3PL{{A: 0.8, B: -1, C: 0.25}, {A: 1.9, B: 0.5, C: 0.12}, {A: 2.4, B: 2, C: 0.3}}},
}

func TestIRTModelProperties(t *testing.T) {
	grid := make([]float64, 0, 161)
	for i := -80; i <= 80; i++ {
		grid = append(grid, float64(i)/10)
	}
	for _, m := range irtModels {
		t.Run(m.name, func(t *testing.T) {
			for _, it := range m.items {
				// P(θ = b) = (1 + c)/2: the difficulty is the point halfway
				// between the lower asymptote and 1.
				if got, want := it.P(it.B), (1+it.C)/2; math.Abs(got-want) > 1e-15 {
					t.Errorf("%+v: P(b) = %v, want %v", it, got, want)
				}
				prevP, prevTau := -1.0, -1.0
				for _, theta := range grid {
					p := it.P(theta)
					// The ICC is monotone increasing and lies in [c, 1].
					if p < prevP || p < it.C || p > 1 {
						t.Errorf("%+v at θ %v: P %v not increasing within [c, 1] (previous %v)", it, theta, p, prevP)
					}
					prevP = p
					// Information is never negative.
					if info := it.Info(theta); info < 0 || math.IsNaN(info) {
						t.Errorf("%+v at θ %v: information %v", it, theta, info)
					}
					tau := TrueScore(m.items, theta)
					if tau < prevTau {
						t.Errorf("θ %v: TCC %v decreases (previous %v)", theta, tau, prevTau)
					}
					prevTau = tau
				}
			}
			for _, theta := range grid {
				// Test information is the sum of the item information, and
				// the CSEM is its inverse square root.
				var sum float64
				for _, it := range m.items {
					sum += it.Info(theta)
				}
				if got := TestInformation(m.items, theta); math.Abs(got-sum) > 1e-12*math.Max(1, sum) {
					t.Errorf("θ %v: test information %v, sum of items %v", theta, got, sum)
				}
				if sum > 0 {
					if got, want := CSEM(m.items, theta), 1/math.Sqrt(sum); math.Abs(got-want) > 1e-12*want {
						t.Errorf("θ %v: CSEM %v, want %v", theta, got, want)
					}
				}
			}
			// Without guessing, information peaks at b with value a²/4.
			for _, it := range m.items {
				if it.C == 0 {
					if got, want := it.Info(it.B), it.A*it.A/4; math.Abs(got-want) > 1e-15 {
						t.Errorf("%+v: information at b %v, want a²/4 = %v", it, got, want)
					}
				}
			}
		})
	}
}
