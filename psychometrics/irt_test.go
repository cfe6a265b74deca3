package psychometrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestItem3PLGolden(t *testing.T) {
	for _, rec := range readRecords(t, "irt_golden.csv") {
		it := Item3PL{A: number(t, rec["a"]), B: number(t, rec["b"]), C: number(t, rec["c"])}
		theta := number(t, rec["theta"])
		if got, want := it.P(theta), number(t, rec["p"]); !sameFloat(got, want) {
			t.Errorf("%+v at θ %v: got P %.17g, want %.17g", it, theta, got, want)
		}
	}
}

func TestItem3PL(t *testing.T) {
	tests := []struct {
		name  string
		item  Item3PL
		theta float64
		want  float64
	}{
		{"at difficulty, no guessing", Item3PL{A: 1.3, B: 0.4}, 0.4, 0.5},
		{"at difficulty, guessing", Item3PL{A: 0.7, B: -1, C: 0.2}, -1, 0.6},
		{"far below", Item3PL{A: 1, B: 0, C: 0.25}, -1000, 0.25},
		{"far above", Item3PL{A: 1, B: 0, C: 0.25}, 1000, 1},
		{"rasch, one logit above", Item3PL{A: 1}, 1, 1 / (1 + math.Exp(-1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.item.P(tt.theta); !sameFloat(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

var simItems = []Item3PL{
	{A: 1, B: 0, C: 0},
	{A: 1.8, B: -1.5, C: 0.2},
	{A: 0.6, B: 1, C: 0.25},
	{A: 2.5, B: 2, C: 0.1},
	{A: 1.2, B: -3, C: 0},
}

func TestSimulate3PLProportions(t *testing.T) {
	// With a seeded source, each item's proportion correct must lie within
	// four standard errors of its expectation over the θ sample,
	// (1/N) Σ_i P_j(θ_i), whose standard error is √(Σ_i P(1−P)) / N.
	const persons = 20000
	rng := rand.New(rand.NewPCG(20240601, 1))
	theta := make([]float64, persons)
	for i := range theta {
		theta[i] = rng.NormFloat64()
	}
	x := Simulate3PL(rng, theta, simItems)
	if r, c := x.Dims(); r != persons || c != len(simItems) {
		t.Fatalf("got %d × %d matrix, want %d × %d", r, c, persons, len(simItems))
	}
	for j, it := range simItems {
		t.Run(fmt.Sprintf("item %d", j), func(t *testing.T) {
			var sum, want, variance float64
			for i, th := range theta {
				v := x.At(i, j)
				if v != 0 && v != 1 {
					t.Fatalf("person %d: got score %v, want 0 or 1", i, v)
				}
				sum += v
				p := it.P(th)
				want += p
				variance += p * (1 - p)
			}
			got := sum / persons
			want /= persons
			tol := 4 * math.Sqrt(variance) / persons
			if math.Abs(got-want) > tol {
				t.Errorf("got proportion correct %.4f, want %.4f ± %.4f", got, want, tol)
			}
		})
	}
}

func TestSimulate3PLReproducible(t *testing.T) {
	theta := []float64{-2, -1, -0.5, 0, 0.5, 1, 2, 3}
	sim := func(seed uint64) *mat.Dense {
		return Simulate3PL(rand.New(rand.NewPCG(seed, 7)), theta, simItems)
	}
	if a, b := sim(42), sim(42); !mat.Equal(a, b) {
		t.Errorf("same seed: got different matrices\n%v\n%v", mat.Formatted(a), mat.Formatted(b))
	}
	if a, b := sim(42), sim(43); mat.Equal(a, b) {
		t.Errorf("different seeds: got the same matrix\n%v", mat.Formatted(a))
	}
}

func TestSimulate3PLCertainResponses(t *testing.T) {
	// C = 1 is always answered correctly; at θ = −∞ without guessing, never.
	x := Simulate3PL(rand.New(rand.NewPCG(1, 1)), []float64{math.Inf(-1), 0, math.Inf(1)},
		[]Item3PL{{A: 1, B: 0, C: 1}, {A: 1, B: 0, C: 0}})
	want := mat.NewDense(3, 2, []float64{1, 0, 1, x.At(1, 1), 1, 1})
	if !mat.Equal(x, want) {
		t.Errorf("got\n%v\nwant\n%v", mat.Formatted(x), mat.Formatted(want))
	}
}

func TestSimulate3PLPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	good := []Item3PL{{A: 1}}
	tests := []struct {
		name  string
		theta []float64
		items []Item3PL
	}{
		{"no persons", nil, good},
		{"no items", []float64{0}, nil},
		{"NaN theta", []float64{math.NaN()}, good},
		{"guessing above one", []float64{0}, []Item3PL{{A: 1, C: 1.5}}},
		{"negative guessing", []float64{0}, []Item3PL{{A: 1, C: -0.1}}},
		{"NaN guessing", []float64{0}, []Item3PL{{A: 1, C: math.NaN()}}},
		{"NaN discrimination", []float64{0}, []Item3PL{{A: math.NaN()}}},
		{"infinite difficulty", []float64{0}, []Item3PL{{A: 1, B: math.Inf(1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, func() { Simulate3PL(rng, tt.theta, tt.items) })
		})
	}
}

func TestInfoMatchesNumericalDerivative(t *testing.T) {
	// For the 3PL, I(θ) = P'(θ)² / (P(1 − P)) (Lord, 1980, eq. 5-6); check
	// the closed form against a central difference of P.
	const h = 1e-5
	for _, it := range simItems {
		for _, theta := range []float64{-3, -1, 0, 0.7, 2.5} {
			p := it.P(theta)
			d := (it.P(theta+h) - it.P(theta-h)) / (2 * h)
			want := d * d / (p * (1 - p))
			if got := it.Info(theta); math.Abs(got-want) > 1e-6*math.Max(1, want) {
				t.Errorf("%+v at θ %v: got info %v, want %v", it, theta, got, want)
			}
		}
	}
}

func TestTestInformationIsSumOfItems(t *testing.T) {
	for _, theta := range []float64{-2, 0, 1.5} {
		var want float64
		for _, it := range simItems {
			want += it.Info(theta)
		}
		if got := TestInformation(simItems, theta); math.Abs(got-want) > 1e-12 {
			t.Errorf("θ %v: got %v, want %v", theta, got, want)
		}
	}
}

func TestNormalQuadrature(t *testing.T) {
	q := NormalQuadrature(61, 0.5, 2)
	var sum, mean, m2 float64
	for i, x := range q.Nodes {
		sum += q.Weights[i]
		mean += q.Weights[i] * x
	}
	for i, x := range q.Nodes {
		m2 += q.Weights[i] * (x - mean) * (x - mean)
	}
	if math.Abs(sum-1) > 1e-12 || math.Abs(mean-0.5) > 1e-9 || math.Abs(math.Sqrt(m2)-2) > 1e-6 {
		t.Errorf("got sum %v, mean %v, sd %v; want 1, 0.5, 2", sum, mean, math.Sqrt(m2))
	}
}
