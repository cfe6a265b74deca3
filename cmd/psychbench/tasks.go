package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

func benchCTT(b *bencher) (result, error) {
	x := simulate(11, 100_000, bank(11, 100, false, 0.2), 0)
	if err := b.writeMatrix("ctt.csv", x); err != nil {
		return result{}, err
	}
	var items []psychometrics.ItemStats
	var test psychometrics.TestStats
	goTime := timeGo(func() {
		items = psychometrics.ItemAnalysis(x)
		test = psychometrics.TestAnalysis(x)
	})
	rTime, est, err := b.timeR("ctt")
	if err != nil {
		return result{}, err
	}
	rest := make([]float64, len(items))
	for j, s := range items {
		rest[j] = s.ItemRest
	}
	d := maxAbsDiff(rest, func(j int) float64 { return est["item_rest_"+strconv.Itoa(j+1)] })
	d = math.Max(d, math.Abs(test.Alpha-est["alpha"]))
	return result{
		task: "classical item and test analysis", data: "100,000 × 100",
		goTime: goTime, rName: "psych::alpha", rTime: rTime, target: "≥ 20× faster",
		agreement: fmt.Sprintf("alpha and item-rest r: max abs Δ %.1e", d),
	}, nil
}

func benchRasch(b *bencher) (result, error) {
	x := simulate(12, 20_000, bank(12, 60, true, 0), 0)
	if err := b.writeMatrix("rasch.csv", x); err != nil {
		return result{}, err
	}
	var cal psychometrics.RaschCalibration
	var err error
	goTime := timeGo(func() { cal, err = psychometrics.CalibrateRasch(x, psychometrics.RaschSettings{}) })
	if err != nil {
		return result{}, err
	}
	rTime, est, err := b.timeR("rasch")
	if err != nil {
		return result{}, err
	}
	d := maxAbsDiff(cal.B, func(j int) float64 { return est["b_"+strconv.Itoa(j+1)] })
	return result{
		task: "Rasch CML calibration", data: "20,000 × 60",
		goTime: goTime, rName: "psychotools::raschmodel", rTime: rTime, target: "≥ 2× faster",
		agreement: fmt.Sprintf("b: max abs Δ %.1e; log-lik Δ %.1e", d, math.Abs(cal.LogLik-est["loglik"])),
	}, nil
}

func benchDIF(b *bencher) (result, error) {
	items := bank(13, 60, false, 0)
	ref := simulate(13, 10_000, items, 0)
	focalItems := append([]psychometrics.Item3PL(nil), items...)
	focalItems[3].B += 0.6 // two items harder for the focal group
	focalItems[17].B += 0.3
	foc := simulate(14, 10_000, focalItems, -0.2)
	all := stack(ref, foc)
	if err := b.writeMatrix("dif.csv", all); err != nil {
		return result{}, err
	}
	focal := make([]bool, 20_000)
	groups := "group\n"
	for i := range focal {
		focal[i] = i >= 10_000
		if focal[i] {
			groups += "focal\n"
		} else {
			groups += "reference\n"
		}
	}
	if err := os.WriteFile(filepath.Join(b.dir, "dif_groups.csv"), []byte(groups), 0o644); err != nil {
		return result{}, err
	}
	var res []psychometrics.DIFResult
	var err error
	goTime := timeGo(func() { res, err = psychometrics.MantelHaenszel(all, focal, psychometrics.DIFSettings{}) })
	if err != nil {
		return result{}, err
	}
	rTime, est, err := b.timeR("dif")
	if err != nil {
		return result{}, err
	}
	var rel float64
	for j, r := range res {
		want := est["chi2_"+strconv.Itoa(j+1)]
		rel = math.Max(rel, math.Abs(r.Chi2MH-want)/math.Max(1e-12, math.Abs(want)))
	}
	return result{
		task: "Mantel–Haenszel DIF, all items", data: "20,000 × 60",
		goTime: goTime, rName: "mantelhaen.test per item", rTime: rTime, target: "≥ 10× faster",
		agreement: fmt.Sprintf("χ²_MH: max relative Δ %.1e", rel),
	}, nil
}

func benchMML(b *bencher) (result, error) {
	items := bank(15, 60, false, 0)
	x := simulate(15, 20_000, items, 0)
	var cal psychometrics.Calibration
	var err error
	goTime := timeGo(func() {
		cal, err = psychometrics.CalibrateMML(x, psychometrics.MMLSettings{Model: psychometrics.Model2PL})
	})
	if err != nil {
		return result{}, err
	}
	var sa, sb float64
	for j, it := range cal.Items {
		sa += (it.A - items[j].A) * (it.A - items[j].A)
		sb += (it.B - items[j].B) * (it.B - items[j].B)
	}
	n := float64(len(items))
	return result{
		task: "2PL MML calibration (EM)", data: "20,000 × 60",
		goTime: goTime, target: "< 2 s",
		agreement: fmt.Sprintf("recovery RMSE a %.3f, b %.3f; converged %v in %d cycles", math.Sqrt(sa/n), math.Sqrt(sb/n), cal.Converged, cal.Iterations),
	}, nil
}

func benchCAT(b *bencher) (result, error) {
	items := bank(16, 2000, false, 0.15)
	areas := make([]string, len(items))
	for j := range areas {
		areas[j] = fmt.Sprintf("d%d", j%4)
	}
	rng := rand.New(rand.NewPCG(16, 3))
	settings := psychometrics.CATSettings{MaxItems: 40, Randomesque: 5}
	goTime := timeGo(func() {
		cat := psychometrics.NewCAT(items, areas, settings, rng)
		for range 10 {
			j, _ := cat.Next()
			cat.Record(j, float64(rng.IntN(2)))
		}
		cat.Next()
	})
	return result{
		task: "CAT: 10 items answered, then the 11th selected", data: "2,000-item bank",
		goTime: goTime / 11, target: "< 1 ms per selection",
		agreement: "per selection (incl. EAP update)",
	}, nil
}

// stack returns the rows of a followed by the rows of b.
func stack(a, b *mat.Dense) *mat.Dense {
	ra, k := a.Dims()
	rb, _ := b.Dims()
	out := mat.NewDense(ra+rb, k, nil)
	out.Slice(0, ra, 0, k).(*mat.Dense).Copy(a)
	out.Slice(ra, ra+rb, 0, k).(*mat.Dense).Copy(b)
	return out
}
