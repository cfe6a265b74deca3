package psychometrics_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

func ExampleCalibrateRasch() {
	// Simulate 2,000 persons answering five Rasch items.
	rng := rand.New(rand.NewPCG(1, 2))
	theta := make([]float64, 2000)
	for i := range theta {
		theta[i] = rng.NormFloat64()
	}
	items := []psychometrics.Item3PL{{A: 1, B: -1}, {A: 1, B: -0.5}, {A: 1, B: 0}, {A: 1, B: 0.5}, {A: 1, B: 1}}
	x := psychometrics.Simulate3PL(rng, theta, items)

	res, err := psychometrics.CalibrateRasch(x, psychometrics.RaschSettings{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("converged %v, %d persons used, %d with extreme scores\n", res.Converged, res.Persons, res.Excluded)
	for j, b := range res.B {
		fmt.Printf("item %d: b = %5.2f (se %.2f)\n", j, b, res.SE[j])
	}
	// Item fit needs person locations: here the generating ones; in
	// practice the persons' estimates.
	fit := psychometrics.RaschItemFit(x, res.B, theta)
	fmt.Printf("item 0: outfit %.2f, infit %.2f\n", fit[0].Outfit, fit[0].Infit)
	// Output:
	// converged true, 1676 persons used, 324 with extreme scores
	// item 0: b = -1.08 (se 0.05)
	// item 1: b = -0.45 (se 0.05)
	// item 2: b = -0.04 (se 0.04)
	// item 3: b =  0.51 (se 0.05)
	// item 4: b =  1.06 (se 0.05)
	// item 0: outfit 1.04, infit 1.01
}
