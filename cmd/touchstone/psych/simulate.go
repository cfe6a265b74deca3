package psych

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

func runSimulate(args []string, stdout io.Writer) error {
	f := newFlags("simulate", "simulate [--params items.csv | --items 40 --model 2pl] --persons 1000 --seed 1 [flags] > responses.csv", stdout)
	params := f.String("params", "", "item parameters `file` (item,a,b,c); without it items are generated")
	items := f.Int("items", 40, "number of items to generate when --params is not given")
	model := f.String("model", "2pl", "model of generated items: rasch, 2pl or 3pl")
	persons := f.Int("persons", 1000, "number of persons")
	seed := f.Uint64("seed", 1, "random seed; the same seed gives the same data")
	mean := f.Float64("theta-mean", 0, "mean of the persons' normal θ distribution")
	sd := f.Float64("theta-sd", 1, "standard deviation of the persons' θ distribution")
	paramsOut := f.String("params-out", "", "write the generated item parameters to this `file`")
	thetaOut := f.String("theta-out", "", "write the persons' true θ to this `file` (person,theta)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *persons < 1 || *persons > 10_000_000 {
		return usagef("psych simulate: --persons %d: want 1 to 10,000,000", *persons)
	}
	if !(*sd > 0) || math.IsInf(*sd, 0) || math.IsNaN(*mean) || math.IsInf(*mean, 0) {
		return usagef("psych simulate: --theta-sd must be positive and --theta-mean finite")
	}
	rng := rand.New(rand.NewPCG(*seed, 0x5eed))
	var ids []string
	var bank []psychometrics.Item3PL
	if *params != "" {
		p, err := readFile(*params, ReadItemParams)
		if err != nil {
			return err
		}
		ids, bank = p.Items, p.items()
	} else {
		if *items < 1 || *items > 10_000 {
			return usagef("psych simulate: --items %d: want 1 to 10,000", *items)
		}
		if *model != "rasch" && *model != "2pl" && *model != "3pl" {
			return usagef("psych simulate: --model %q: want rasch, 2pl or 3pl", *model)
		}
		for j := range *items {
			it := psychometrics.Item3PL{A: 1, B: rng.NormFloat64()}
			if *model != "rasch" {
				it.A = math.Exp(0.3 * rng.NormFloat64())
			}
			if *model == "3pl" {
				it.C = 0.1 + 0.15*rng.Float64()
			}
			ids = append(ids, fmt.Sprintf("i%d", j+1))
			bank = append(bank, it)
		}
	}
	theta := make([]float64, *persons)
	for i := range theta {
		theta[i] = *mean + *sd*rng.NormFloat64()
	}
	x := psychometrics.Simulate3PL(rng, theta, bank)

	if *paramsOut != "" {
		rows := [][]string{{"item", "a", "b", "c"}}
		for j, it := range bank {
			rows = append(rows, []string{ids[j], g(it.A), g(it.B), g(it.C)})
		}
		if err := writeCSVFile(*paramsOut, rows); err != nil {
			return err
		}
	}
	if *thetaOut != "" {
		rows := [][]string{{"person", "theta"}}
		for i, t := range theta {
			rows = append(rows, []string{personID(i), g(t)})
		}
		if err := writeCSVFile(*thetaOut, rows); err != nil {
			return err
		}
	}
	w := csv.NewWriter(stdout)
	rec := append([]string{"person"}, ids...)
	if err := w.Write(rec); err != nil {
		return err
	}
	for i := range theta {
		rec[0] = personID(i)
		for j := range bank {
			rec[j+1] = strconv.Itoa(int(x.At(i, j)))
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

func personID(i int) string { return fmt.Sprintf("p%d", i+1) }

// g formats a float with the fewest digits that read back exactly.
func g(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func writeCSVFile(name string, rows [][]string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// items returns the parameters as the package's item type.
func (p *ItemParams) items() []psychometrics.Item3PL {
	out := make([]psychometrics.Item3PL, len(p.Items))
	for j := range out {
		out[j] = psychometrics.Item3PL{A: p.A[j], B: p.B[j], C: p.C[j]}
	}
	return out
}
