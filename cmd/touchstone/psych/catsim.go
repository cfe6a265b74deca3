package psych

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

// The synthetic bank of cat-sim without --bank: 300 items in four content
// areas (A and B with 90 items each, C and D with 60), drawn once from a
// fixed seed so every run and every reader sees the same bank. Slopes are
// log-normal, a = exp(0.25 + 0.3·z) (median 1.28 on the D = 1 logistic
// scale, about 0.75 on the normal-ogive scale: a typical calibrated bank);
// difficulties b ~ N(0, 1); every other item in draw order is 3PL with
// c uniform on [0.10, 0.25), the rest 2PL.
const (
	synthBankSeed  = 20240601
	synthBankItems = 300
)

var synthAreas = []struct {
	name  string
	items int
}{{"A", 90}, {"B", 90}, {"C", 60}, {"D", 60}}

// synthBank returns the synthetic bank: item ids, parameters and areas.
func synthBank() (ids []string, bank []psychometrics.Item3PL, areas []string) {
	rng := rand.New(rand.NewPCG(synthBankSeed, 0xca7))
	for _, a := range synthAreas {
		for range a.items {
			it := psychometrics.Item3PL{A: math.Exp(0.25 + 0.3*rng.NormFloat64()), B: rng.NormFloat64()}
			if len(bank)%2 == 1 {
				it.C = 0.10 + 0.15*rng.Float64()
			}
			ids = append(ids, fmt.Sprintf("%s%03d", a.name, len(bank)+1))
			bank = append(bank, it)
			areas = append(areas, a.name)
		}
	}
	return ids, bank, areas
}

// catSimStats is the JSON form of psychometrics.CATSimStats.
type catSimStats struct {
	Length       *int `json:"length,omitempty"`
	ItemsMean    num  `json:"items_mean"`
	ItemsMedian  num  `json:"items_median"`
	ItemsP90     num  `json:"items_p90"`
	SETargetRate num  `json:"se_target_rate"`
	RMSSE        num  `json:"rms_se"`
	Reliability  num  `json:"reliability"`
	Bias         num  `json:"bias"`
	RMSE         num  `json:"rmse"`
	MaxExposure  num  `json:"max_exposure"`
}

func toCATSimStats(s psychometrics.CATSimStats) catSimStats {
	return catSimStats{
		ItemsMean: num(s.MeanItems), ItemsMedian: num(s.MedianItems), ItemsP90: num(s.P90Items),
		SETargetRate: num(s.SETargetRate), RMSSE: num(s.RMSSE), Reliability: num(s.Reliability),
		Bias: num(s.Bias), RMSE: num(s.RMSE), MaxExposure: num(s.MaxExposure),
	}
}

type catSimFixedForm struct {
	Length       int `json:"length"`
	Reliability  num `json:"reliability"`
	RMSSE        num `json:"rms_se"`
	SETargetRate num `json:"se_target_rate"`
	Bias         num `json:"bias"`
	RMSE         num `json:"rmse"`
}

type catSimOutput struct {
	Bank struct {
		Source string             `json:"source"`
		Items  int                `json:"items"`
		Areas  map[string]float64 `json:"blueprint,omitempty"`
	} `json:"bank"`
	Settings struct {
		SETarget    float64 `json:"se_target"`
		MinItems    int     `json:"min_items"`
		MaxItems    int     `json:"max_items"`
		Examinees   int     `json:"examinees"`
		Seed        uint64  `json:"seed"`
		MaxExposure float64 `json:"max_exposure"`
		Randomesque int     `json:"randomesque"`
	} `json:"settings"`
	CAT   catSimStats    `json:"cat"`
	Stops map[string]int `json:"cat_stops"`
	// Fixed is the shortest fixed form at least as reliable as the CAT;
	// null when no fixed form up to FixedMax items is.
	Fixed       *catSimStats      `json:"fixed_equal_reliability"`
	FixedMax    int               `json:"fixed_max_length"`
	LengthRatio num               `json:"length_ratio"`
	FixedForms  []catSimFixedForm `json:"fixed_forms"`
}

// runCATSim is `touchstone psych cat-sim`: it simulates examinees through
// adaptive tests over a bank and through the bank's best fixed forms
// (psychometrics.SimulateCAT) and reports how long a fixed form must be to be
// as reliable as the CAT.
func runCATSim(args []string, stdout io.Writer) error {
	f := newFlags("cat-sim", "cat-sim [--bank params.csv [--domains col]] [--se 0.30] [--min 10 --max 40] [--examinees 2000] [--seed 1] [flags]", stdout)
	f.csv = true
	f.Lookup("format").Usage = "output `format`: json, table or csv (the CAT and the fixed form of equal reliability, one row each)"
	bankFile := f.String("bank", "", "item bank `file` (item,a,b,c[,domain], as irt --format csv writes it); without it a fixed synthetic bank of 300 2PL/3PL items in 4 areas")
	domains := f.String("domains", "domain", "`column` of --bank holding each item's content area; the blueprint is the bank's share of items per area")
	se := f.Float64("se", 0.30, "SE target: a CAT ends when the posterior SD of θ is at or below it")
	minItems := f.Int("min", 10, "minimum CAT length before the SE rule may end it")
	maxItems := f.Int("max", 40, "maximum CAT length")
	examinees := f.Int("examinees", 2000, "number of simulated examinees, θ ~ N(0, 1)")
	seed := f.Uint64("seed", 1, "random seed; the same seed gives the same report")
	exposure := f.Float64("exposure", 0.25, "maximum item exposure rate (Sympson–Hetter eligibility); 1 for none")
	randomesque := f.Int("randomesque", 1, "draw each item among the n most informative (1: the most informative)")
	fixedMax := f.Int("fixed-max", 0, "longest fixed form compared (0: the whole bank, at most 1000)")
	bankOut := f.String("bank-out", "", "write the bank used (item,a,b,c,domain) to this `file`")
	examineesOut := f.String("examinees-out", "", "write each examinee (theta,theta_hat,se,items,stop) to this `file`")
	if err := f.parse(args); err != nil {
		return err
	}
	switch {
	case !(*se > 0 && *se < 1):
		return usagef("psych cat-sim: --se %v: want a posterior SD between 0 and 1 (the prior SD)", *se)
	case *minItems < 1 || *maxItems < *minItems:
		return usagef("psych cat-sim: --min %d --max %d: want 1 ≤ min ≤ max", *minItems, *maxItems)
	case *examinees < 1 || *examinees > 1_000_000:
		return usagef("psych cat-sim: --examinees %d: want 1 to 1,000,000", *examinees)
	case !(*exposure > 0 && *exposure <= 1):
		return usagef("psych cat-sim: --exposure %v: want a rate in (0, 1]", *exposure)
	case *randomesque < 1 || *randomesque > 100:
		return usagef("psych cat-sim: --randomesque %d: want 1 to 100", *randomesque)
	case *fixedMax < 0:
		return usagef("psych cat-sim: --fixed-max %d: want 0 or more", *fixedMax)
	}
	domainsSet := false
	f.Visit(func(fl *flag.Flag) { domainsSet = domainsSet || fl.Name == "domains" })

	var out catSimOutput
	var ids []string
	var bank []psychometrics.Item3PL
	var areas []string
	if *bankFile == "" {
		if domainsSet {
			return usagef("psych cat-sim: --domains needs --bank")
		}
		ids, bank, areas = synthBank()
		out.Bank.Source = "synthetic"
	} else {
		var err error
		if ids, bank, areas, err = readCATBank(*bankFile, *domains, domainsSet); err != nil {
			return err
		}
		out.Bank.Source = *bankFile
	}
	out.Bank.Items = len(bank)
	var blueprint map[string]float64
	if areas != nil {
		count := map[string]int{}
		for _, a := range areas {
			count[a]++
		}
		blueprint = map[string]float64{}
		for a, c := range count {
			blueprint[a] = float64(c) / float64(len(areas))
		}
		out.Bank.Areas = blueprint
	}
	limit := min(len(bank), 1000)
	if *fixedMax > 0 {
		limit = min(*fixedMax, len(bank))
	}

	rng := rand.New(rand.NewPCG(*seed, 0xca75))
	theta := make([]float64, *examinees)
	for i := range theta {
		theta[i] = rng.NormFloat64()
	}
	maxExp := *exposure
	if maxExp == 1 {
		maxExp = 0
	}
	res := psychometrics.SimulateCAT(rng, bank, areas, theta, psychometrics.CATSimSettings{
		CAT: psychometrics.CATSettings{
			MinItems: *minItems, MaxItems: *maxItems, SETarget: *se,
			Randomesque: *randomesque, Blueprint: blueprint,
		},
		MaxExposure:   maxExp,
		FixedMaxItems: limit,
	})

	out.Settings.SETarget, out.Settings.MinItems, out.Settings.MaxItems = *se, *minItems, *maxItems
	out.Settings.Examinees, out.Settings.Seed = *examinees, *seed
	out.Settings.MaxExposure, out.Settings.Randomesque = *exposure, *randomesque
	out.CAT = toCATSimStats(res.CAT)
	out.Stops = map[string]int{}
	for _, e := range res.Examinees {
		out.Stops[e.Stop.String()]++
	}
	out.FixedMax = len(res.Fixed)
	out.LengthRatio = num(math.NaN())
	if res.EqualLength > 0 {
		s := toCATSimStats(res.Fixed[res.EqualLength-1].CATSimStats)
		s.Length = &res.EqualLength
		out.Fixed = &s
		out.LengthRatio = num(float64(res.EqualLength) / res.CAT.MeanItems)
	}
	for _, fx := range res.Fixed {
		out.FixedForms = append(out.FixedForms, catSimFixedForm{
			Length: fx.Length, Reliability: num(fx.Reliability), RMSSE: num(fx.RMSSE),
			SETargetRate: num(fx.SETargetRate), Bias: num(fx.Bias), RMSE: num(fx.RMSE),
		})
	}

	if *bankOut != "" {
		rows := [][]string{{"item", "a", "b", "c", "domain"}}
		for j, it := range bank {
			d := ""
			if areas != nil {
				d = areas[j]
			}
			rows = append(rows, []string{ids[j], g(it.A), g(it.B), g(it.C), d})
		}
		if err := writeCSVFile(*bankOut, rows); err != nil {
			return err
		}
	}
	if *examineesOut != "" {
		rows := [][]string{{"examinee", "theta", "theta_hat", "se", "items", "stop"}}
		for i, e := range res.Examinees {
			rows = append(rows, []string{personID(i), g(e.Theta), g(e.Estimate.Theta), g(e.Estimate.SE), strconv.Itoa(len(e.Items)), e.Stop.String()})
		}
		if err := writeCSVFile(*examineesOut, rows); err != nil {
			return err
		}
	}

	if f.format == "csv" {
		w := csv.NewWriter(stdout)
		w.Write([]string{"design", "items_mean", "items_median", "items_p90", "se_target_rate", "rms_se", "reliability", "bias", "rmse", "max_exposure", "length_ratio"})
		w.Write(catSimCSV("cat", out.CAT, 1))
		if out.Fixed != nil {
			w.Write(catSimCSV("fixed", *out.Fixed, out.LengthRatio))
		}
		w.Flush()
		return w.Error()
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "bank", out.Bank.Source, "items", out.Bank.Items, "examinees", *examinees, "seed", *seed)
		row(tw, "SE target", *se, "length", fmt.Sprintf("%d–%d", *minItems, *maxItems), "max exposure", *exposure, "randomesque", *randomesque)
		row(tw)
		row(tw, "design", "items mean", "median", "p90", "SE ≤ target", "RMS SE", "reliability", "bias", "RMSE", "max exposure")
		catSimRow(tw, "CAT", out.CAT)
		defer func() {
			row(tw)
			row(tw, "CAT stops", fmt.Sprintf("SE target %d, maximum items %d, bank exhausted %d",
				out.Stops[psychometrics.CATSETarget.String()], out.Stops[psychometrics.CATMaxItems.String()], out.Stops[psychometrics.CATExhausted.String()]))
			if n := out.Stops[psychometrics.CATExhausted.String()]; n > 0 {
				row(tw, "warning", fmt.Sprintf("%d sessions ran out of eligible items: exposure rates sum to the mean CAT length, so --exposure %v × %d items must exceed it with room to spare", n, *exposure, len(bank)))
			}
		}()
		if out.Fixed != nil {
			catSimRow(tw, fmt.Sprintf("fixed (%d items)", res.EqualLength), *out.Fixed)
			row(tw)
			row(tw, "fixed length of equal reliability / mean CAT length", out.LengthRatio)
		} else {
			row(tw)
			row(tw, fmt.Sprintf("no fixed form of up to %d items is as reliable as the CAT", len(res.Fixed)))
		}
	})
}

func catSimRow(tw *tabwriter.Writer, design string, s catSimStats) {
	row(tw, design, fmt.Sprintf("%.1f", float64(s.ItemsMean)), fmt.Sprintf("%g", float64(s.ItemsMedian)),
		fmt.Sprintf("%g", float64(s.ItemsP90)), pct(s.SETargetRate), s.RMSSE, s.Reliability, s.Bias, s.RMSE, s.MaxExposure)
}

func pct(n num) string {
	if math.IsNaN(float64(n)) {
		return "NA"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n))
}

func catSimCSV(design string, s catSimStats, ratio num) []string {
	return []string{design, csvNum(s.ItemsMean), csvNum(s.ItemsMedian), csvNum(s.ItemsP90), csvNum(s.SETargetRate),
		csvNum(s.RMSSE), csvNum(s.Reliability), csvNum(s.Bias), csvNum(s.RMSE), csvNum(s.MaxExposure), csvNum(ratio)}
}

// readCATBank reads item parameters and, if the file has the column domains
// (required when required is set), each item's content area.
func readCATBank(file, domains string, required bool) (ids []string, bank []psychometrics.Item3PL, areas []string, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := ReadItemParams(file, bytes.NewReader(data))
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := readTable(file, bytes.NewReader(data))
	if err != nil {
		return nil, nil, nil, err
	}
	col := t.column(domains)
	if col < 0 {
		if required {
			return nil, nil, nil, &InputError{File: file, Line: 1, Msg: fmt.Sprintf("no column %q for --domains", domains)}
		}
		return p.Items, p.items(), nil, nil
	}
	areas = make([]string, len(t.rows))
	for i, r := range t.rows {
		if isMissing(r[col]) {
			return nil, nil, nil, t.errorf(i, col+1, "item %s: empty %s", p.Items[i], domains)
		}
		areas[i] = r[col]
	}
	return p.Items, p.items(), areas, nil
}
