package psychometrics_test

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

func ExampleTestAnalysis() {
	// Five persons, four 0/1 items; NaN marks an item not administered, and
	// that person is left out of the test statistics.
	nan := math.NaN()
	x := mat.NewDense(5, 4, []float64{
		1, 1, 1, 0,
		1, 1, 0, 0,
		1, 0, 1, 1,
		0, 0, 0, 0,
		1, nan, 1, 1,
	})
	ts := psychometrics.TestAnalysis(x)
	fmt.Printf("N %d, items %d, mean %.2f, SD %.3f, alpha %.3f, SEM %.3f\n",
		ts.N, ts.Items, ts.Mean, ts.SD, ts.Alpha, ts.SEM)
	// Output:
	// N 4, items 4, mean 2.00, SD 1.414, alpha 0.556, SEM 0.943
}

func ExampleAngoff() {
	// Three panelists rate four items.
	ratings := mat.NewDense(3, 4, []float64{
		0.90, 0.70, 0.50, 0.40,
		0.80, 0.60, 0.60, 0.30,
		0.85, 0.75, 0.45, 0.35,
	})
	res, err := psychometrics.Angoff(ratings)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cut %.2f (SE %.3f) from panelist cuts %.2f\n", res.Cut, res.SE, res.PanelistCuts)
	// Output:
	// cut 2.40 (SE 0.058) from panelist cuts [2.50 2.30 2.40]
}

func ExampleSimulate3PL() {
	rng := rand.New(rand.NewPCG(1, 2))
	theta := []float64{-1, 0, 1}
	items := []psychometrics.Item3PL{{A: 1.2, B: -0.5, C: 0.2}, {A: 0.8, B: 0.5, C: 0}}
	x := psychometrics.Simulate3PL(rng, theta, items)
	r, c := x.Dims()
	fmt.Printf("%d persons × %d items; P(θ = 0) for item 0 is %.3f\n", r, c, items[0].P(0))
	// Output:
	// 3 persons × 2 items; P(θ = 0) for item 0 is 0.717
}
