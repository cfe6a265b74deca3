package psychometrics_test

import (
	"fmt"
	"log"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

func ExampleAngoffRounds() {
	// Three panelists rate four items in two rounds; after discussion they
	// move toward each other.
	round1 := mat.NewDense(3, 4, []float64{
		0.90, 0.70, 0.50, 0.40,
		0.70, 0.50, 0.40, 0.20,
		0.95, 0.85, 0.60, 0.50,
	})
	round2 := mat.NewDense(3, 4, []float64{
		0.85, 0.70, 0.50, 0.35,
		0.80, 0.60, 0.45, 0.30,
		0.90, 0.75, 0.55, 0.40,
	})
	study, err := psychometrics.AngoffRounds([]mat.Matrix{round1, round2}, nil)
	if err != nil {
		log.Fatal(err)
	}
	for r, res := range study.Rounds {
		fmt.Printf("round %d: cut %.2f, SE %.3f, panelist cuts %.2f\n", r+1, res.Cut, res.SE, res.PanelistCuts)
	}
	fmt.Printf("recommended cut %.2f (SE %.3f)\n", study.Cut, study.SE)
	// Output:
	// round 1: cut 2.40, SE 0.321, panelist cuts [2.50 1.80 2.90]
	// round 2: cut 2.38, SE 0.130, panelist cuts [2.40 2.15 2.60]
	// recommended cut 2.38 (SE 0.130)
}

func ExampleBookmark() {
	// Five Rasch-like items; three panelists place their bookmarks on pages
	// 3, 3 and 4 of the booklet ordered by RP67 location.
	items := []psychometrics.Item3PL{
		{A: 1, B: 0.5}, {A: 1, B: -1}, {A: 1.2, B: 1.5}, {A: 0.8, B: -0.2}, {A: 1, B: 0.9, C: 0.2},
	}
	res, err := psychometrics.Bookmark(items, []int{3, 3, 4}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("booklet %v\nθ cut %.3f, raw cut %.2f\n", res.Order, res.Theta, res.Cut)
	// Output:
	// booklet [1 3 0 4 2]
	// θ cut 0.685, raw cut 2.89
}

func ExampleHofstee() {
	scores := []float64{12, 15, 18, 19, 20, 21, 22, 22, 23, 24, 25, 25, 26, 27, 28, 29, 30, 31, 33, 36}
	judges := []psychometrics.HofsteeJudgement{
		{MinCut: 18, MaxCut: 26, MinFail: 0.10, MaxFail: 0.40},
		{MinCut: 20, MaxCut: 28, MinFail: 0.05, MaxFail: 0.30},
	}
	res, err := psychometrics.Hofstee(judges, scores)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cut %.2f, fail rate %.3f; candidates pass at %.0f, failing %.2f\n",
		res.Cut, res.FailRate, math.Ceil(res.Cut), psychometrics.Impact(scores, res.Cut))
	// Output:
	// cut 21.37, fail rate 0.269; candidates pass at 22, failing 0.30
}

func ExampleContrastingGroups() {
	masters := []float64{21, 24, 25, 26, 27, 28, 28, 30, 31, 33}
	nonMasters := []float64{15, 17, 18, 20, 22, 23, 25, 26}
	res, err := psychometrics.ContrastingGroups(masters, nonMasters, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("logistic cut %.2f (SE %.2f); fewest misclassified at %.0f (%d false passes, %d false fails)\n",
		res.Cut, res.SE, res.MinErrorCut, res.FalsePasses, res.FalseFails)
	// Output:
	// logistic cut 23.79 (SE 1.31); fewest misclassified at 24 (2 false passes, 1 false fails)
}
