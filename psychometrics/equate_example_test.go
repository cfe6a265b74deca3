package psychometrics_test

import (
	"fmt"
	"log"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

func ExampleStockingLord() {
	// Common items calibrated on the new form's scale (source) and on the
	// base scale (target).
	source := []psychometrics.Item3PL{
		{A: 1.2, B: -0.9, C: 0.2}, {A: 0.9, B: -0.2, C: 0.15}, {A: 1.5, B: 0.4, C: 0.2}, {A: 1.0, B: 1.1, C: 0.1},
	}
	target := []psychometrics.Item3PL{
		{A: 1.0, B: -0.6, C: 0.2}, {A: 0.8, B: 0.2, C: 0.15}, {A: 1.2, B: 0.9, C: 0.2}, {A: 0.8, B: 1.7, C: 0.1},
	}
	ms := psychometrics.MeanSigma(source, target)
	sl, err := psychometrics.StockingLord(source, target, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("mean/sigma A %.3f B %.3f\nStocking-Lord A %.3f B %.3f\n", ms.A, ms.B, sl.A, sl.B)
	it := sl.Item(source[0])
	fmt.Printf("first item on the base scale: a %.3f, b %.3f, c %.2f\n", it.A, it.B, it.C)
	// Output:
	// mean/sigma A 1.151 B 0.435
	// Stocking-Lord A 1.185 B 0.414
	// first item on the base scale: a 1.013, b -0.653, c 0.20
}

func ExampleTrueScoreEquating() {
	formX := []psychometrics.Item3PL{{A: 1, B: -1, C: 0.2}, {A: 1.2, B: 0, C: 0.2}, {A: 0.8, B: 1, C: 0.2}}
	formY := []psychometrics.Item3PL{{A: 1, B: -0.5, C: 0.25}, {A: 1, B: 0.5, C: 0.2}, {A: 1.1, B: 1.2, C: 0.2}}
	eq := psychometrics.TrueScoreEquating(formX, formY)
	for x, e := range eq.Equated {
		fmt.Printf("x = %d: θ %6.3f, form Y %.3f\n", x, eq.Theta[x], e)
	}
	// Output:
	// x = 0: θ    NaN, form Y 0.000
	// x = 1: θ -1.825, form Y 0.907
	// x = 2: θ  0.318, form Y 1.754
	// x = 3: θ    NaN, form Y 3.000
}

func ExampleEquipercentile() {
	// Kolen & Brennan's (2014, ch. 2) small example: relative frequencies
	// of scores 0..4 on forms X and Y.
	eq, err := psychometrics.Equipercentile(
		[]float64{0.2, 0.3, 0.2, 0.2, 0.1},
		[]float64{0.1, 0.2, 0.2, 0.3, 0.2},
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.4f\n", eq)
	// Output:
	// [0.5000 1.7500 2.8333 3.5000 4.2500]
}
