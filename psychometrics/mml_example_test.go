package psychometrics_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

// lsat6 returns the LSAT section 6 data of Bock & Lieberman (1970): 1000
// persons' answers to 5 items, from the frequencies of the 32 response
// patterns 00000, 00001, …, 11111.
func lsat6() *mat.Dense {
	freq := []int{3, 6, 2, 11, 1, 1, 3, 4, 1, 8, 0, 16, 0, 3, 2, 15,
		10, 29, 14, 81, 3, 28, 15, 80, 16, 56, 21, 173, 11, 61, 28, 298}
	var data []float64
	for pattern, n := range freq {
		for range n {
			for j := 4; j >= 0; j-- {
				data = append(data, float64(pattern>>j&1))
			}
		}
	}
	return mat.NewDense(len(data)/5, 5, data)
}

func ExampleCalibrateMML() {
	cal, err := psychometrics.CalibrateMML(lsat6(), psychometrics.MMLSettings{Model: psychometrics.Model2PL})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v: log-likelihood %.3f, converged %v\n", cal.Model, cal.LogLik, cal.Converged)
	for j, it := range cal.Items {
		fmt.Printf("item %d: a %.3f (%.3f)  b %6.3f (%.3f)\n", j+1, it.A, cal.SE[j].A, it.B, cal.SE[j].B)
	}
	// Output:
	// 2PL: log-likelihood -2466.653, converged true
	// item 1: a 0.826 (0.254)  b -3.359 (0.855)
	// item 2: a 0.723 (0.188)  b -1.370 (0.309)
	// item 3: a 0.891 (0.230)  b -0.280 (0.099)
	// item 4: a 0.688 (0.186)  b -1.866 (0.438)
	// item 5: a 0.657 (0.203)  b -3.126 (0.843)
}

func ExampleSX2() {
	x := lsat6()
	cal, err := psychometrics.CalibrateMML(x, psychometrics.MMLSettings{SE: psychometrics.SENone})
	if err != nil {
		fmt.Println(err)
		return
	}
	fit, err := psychometrics.SX2(x, cal.Items, psychometrics.Quadrature{}, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fit {
		fmt.Printf("item %d: S-X² %.3f, df %d, p %.3f\n", f.Item+1, f.Chi2, f.DF, f.P)
	}
	// Output:
	// item 1: S-X² 0.450, df 2, p 0.798
	// item 2: S-X² 1.691, df 2, p 0.429
	// item 3: S-X² 0.666, df 1, p 0.414
	// item 4: S-X² 0.175, df 2, p 0.916
	// item 5: S-X² 0.111, df 2, p 0.946
}
