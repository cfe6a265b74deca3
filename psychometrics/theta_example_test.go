package psychometrics_test

import (
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

func ExampleThetaMLE() {
	items := []psychometrics.Item3PL{
		{A: 1.0, B: -1.5}, {A: 1.4, B: -0.5}, {A: 0.8, B: 0}, {A: 1.6, B: 0.7}, {A: 1.1, B: 1.8},
	}
	nan := math.NaN()
	for _, resp := range [][]float64{
		{1, 1, 0, 1, 0},
		{1, 1, nan, 0, 0}, // item 2 not administered
		{1, 1, 1, 1, 1},   // perfect score: no finite MLE
	} {
		mle, err := psychometrics.ThetaMLE(items, resp)
		if errors.Is(err, psychometrics.ErrExtremeScore) {
			fmt.Print("MLE none  ")
		} else if err != nil {
			log.Fatal(err)
		} else {
			fmt.Printf("MLE %5.2f (%.2f)  ", mle.Theta, mle.SE)
		}
		wle, err := psychometrics.ThetaWLE(items, resp)
		if err != nil {
			log.Fatal(err)
		}
		eap := psychometrics.ThetaEAP(items, resp, psychometrics.Quadrature{})
		fmt.Printf("WLE %5.2f (%.2f)  EAP %5.2f (%.2f)\n", wle.Theta, wle.SE, eap.Theta, eap.SE)
	}
	// Output:
	// MLE  0.97 (0.89)  WLE  0.87 (0.88)  EAP  0.57 (0.67)
	// MLE  0.10 (0.91)  WLE  0.15 (0.91)  EAP  0.04 (0.69)
	// MLE none  WLE  2.85 (1.62)  EAP  1.46 (0.71)
}

func ExampleSummedScoreEAP() {
	items := []psychometrics.Item3PL{
		{A: 1.2, B: -1, C: 0.2}, {A: 0.9, B: 0}, {A: 1.5, B: 0.5, C: 0.15}, {A: 1.1, B: 1.2},
	}
	raw := psychometrics.ThetaForRawScores(items)
	fmt.Println("score  EAP    SD     P(X)   TCC θ")
	for _, row := range psychometrics.SummedScoreEAP(items, psychometrics.Quadrature{}) {
		fmt.Printf("%d      %5.2f  %.2f  %.3f  %5.2f\n", row.Score, row.Theta, row.SD, row.Prob, raw[row.Score])
	}
	// Output:
	// score  EAP    SD     P(X)   TCC θ
	// 0      -1.11  0.76  0.092    NaN
	// 1      -0.58  0.76  0.259  -1.36
	// 2      -0.02  0.76  0.312   0.06
	// 3       0.58  0.76  0.237   1.24
	// 4       1.21  0.76  0.100    NaN
}

func ExampleNewCAT() {
	// A 200-item bank in two content areas, a 60/40 blueprint, selection
	// among the 3 most informative items, and a stop at SE 0.35.
	rng := rand.New(rand.NewPCG(1, 2))
	bank := make([]psychometrics.Item3PL, 200)
	areas := make([]string, len(bank))
	for j := range bank {
		bank[j] = psychometrics.Item3PL{A: 0.8 + rng.Float64(), B: 6*rng.Float64() - 3, C: 0.2 * rng.Float64()}
		areas[j] = []string{"algebra", "geometry"}[j%2]
	}
	cat := psychometrics.NewCAT(bank, areas, psychometrics.CATSettings{
		MinItems:    5,
		MaxItems:    40,
		SETarget:    0.35,
		Randomesque: 3,
		Blueprint:   map[string]float64{"algebra": 0.6, "geometry": 0.4},
	}, rng)
	const trueTheta = 1.0
	for {
		item, done := cat.Next()
		if done {
			break
		}
		score := 0.0
		if rng.Float64() < bank[item].P(trueTheta) {
			score = 1
		}
		cat.Record(item, score)
	}
	est := cat.Estimate()
	fmt.Printf("%d items, stopped by %s: θ̂ %.2f, SE %.2f\n", len(cat.Administered()), cat.Stop(), est.Theta, est.SE)
	// Output:
	// 19 items, stopped by SE target: θ̂ 1.46, SE 0.34
}
