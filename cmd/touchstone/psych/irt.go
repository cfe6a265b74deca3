package psych

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

type irtItem struct {
	Item  string `json:"item"`
	A     num    `json:"a"`
	B     num    `json:"b"`
	C     num    `json:"c"`
	SEA   num    `json:"se_a"`
	SEB   num    `json:"se_b"`
	SEC   num    `json:"se_c"`
	Fixed bool   `json:"fixed"`
	// Rasch (CML) item fit: mean squares and their standardised values.
	Infit   *num `json:"infit,omitempty"`
	Outfit  *num `json:"outfit,omitempty"`
	InfitZ  *num `json:"infit_z,omitempty"`
	OutfitZ *num `json:"outfit_z,omitempty"`
	// 1PL/2PL/3PL item fit: Orlando & Thissen's S-X².
	SX2   *num `json:"s_x2,omitempty"`
	SX2DF *int `json:"s_x2_df,omitempty"`
	SX2P  *num `json:"s_x2_p,omitempty"`
}

type irtOutput struct {
	Model      string    `json:"model"`
	Method     string    `json:"method"`
	Persons    int       `json:"persons"`
	Excluded   int       `json:"excluded_persons"`
	LogLik     num       `json:"loglik"`
	AIC        num       `json:"aic"`
	BIC        num       `json:"bic"`
	Parameters int       `json:"parameters"`
	Converged  bool      `json:"converged"`
	Iterations int       `json:"iterations"`
	Mean       num       `json:"theta_mean"`
	SD         num       `json:"theta_sd"`
	Items      []irtItem `json:"items"`
}

func runIRT(args []string, stdout io.Writer) error {
	f := newFlags("irt", "irt --scored scored.csv [--model rasch|1pl|2pl|3pl] [--method cml|mml] [flags]", stdout)
	f.csv = true
	scoredFile := f.String("scored", "", "scored responses `file` ([person,]<item…>, 0/1, empty or NA for missing)")
	model := f.String("model", "2pl", "`model`: rasch, 1pl (common slope), 2pl or 3pl")
	method := f.String("method", "", "estimation `method`: cml (conditional ML, Rasch only; the default for rasch) or mml (marginal ML by EM; the default otherwise)")
	anchorsFile := f.String("anchors", "", "anchor item parameters `file` (item,a,b,c): these items keep their parameters and put the others on their scale (mml)")
	slopePrior := f.String("slope-prior", "", "log-normal prior on slopes as `mu,sigma` of ln a, e.g. 0,0.5 (mml)")
	guessPrior := f.String("guess-prior", "5,17", "beta prior on the 3PL lower asymptote as `alpha,beta`; 1,1 for none")
	quadPoints := f.Int("quadrature", 61, "quadrature `points` from −6 to 6 for the N(0,1) ability distribution (mml)")
	maxIter := f.Int("max-iter", 500, "maximum EM cycles or Newton iterations")
	fit := f.Bool("fit", true, "compute item fit: infit/outfit for Rasch (cml), S-X² otherwise")
	missingName := f.String("missing", "zero", "missing responses: `zero` (an unanswered item scores 0), listwise (drop persons with any) or omit (not administered)")
	if err := f.parse(args, "scored"); err != nil {
		return err
	}
	models := map[string]psychometrics.Model{"rasch": psychometrics.ModelRasch, "1pl": psychometrics.Model1PL, "2pl": psychometrics.Model2PL, "3pl": psychometrics.Model3PL}
	m, ok := models[*model]
	if !ok {
		return usagef("psych irt: --model %q: want rasch, 1pl, 2pl or 3pl", *model)
	}
	if *method == "" {
		*method = "mml"
		if *model == "rasch" {
			*method = "cml"
		}
	}
	if *method != "cml" && *method != "mml" {
		return usagef("psych irt: --method %q: want cml or mml", *method)
	}
	if *method == "cml" && *model != "rasch" {
		return usagef("psych irt: --method cml fits only --model rasch")
	}
	if *method == "cml" && *anchorsFile != "" {
		return usagef("psych irt: --anchors needs --method mml")
	}
	if *quadPoints < 5 || *quadPoints > 201 {
		return usagef("psych irt: --quadrature %d: want 5 to 201 points", *quadPoints)
	}
	data, err := readFile(*scoredFile, ReadScored)
	if err != nil {
		return err
	}
	x := data.Scores
	persons := len(data.Persons)
	switch *missingName {
	case "zero":
		x, _ = psychometrics.ApplyMissing(x, psychometrics.MissingZero)
	case "listwise":
		x, _ = psychometrics.ApplyMissing(x, psychometrics.MissingListwise)
	case "omit":
	default:
		return usagef("psych irt: --missing %q: want zero, listwise or omit", *missingName)
	}
	if r, _ := x.Dims(); r == 0 {
		return inputErrorf(data.File, "no person answered every item (--missing listwise)")
	}
	if err := checkDichotomous(data, x); err != nil {
		return err
	}

	out := irtOutput{Model: *model, Method: *method}
	if *method == "cml" {
		cal, err := psychometrics.CalibrateRasch(x, psychometrics.RaschSettings{MaxIter: *maxIter})
		if err != nil {
			return inputErrorf(data.File, "%v", err)
		}
		k := len(cal.B)
		out.Persons, out.Excluded = cal.Persons, persons-cal.Persons
		out.LogLik, out.Parameters = num(cal.LogLik), k-1
		out.AIC = num(-2*cal.LogLik + 2*float64(k-1))
		out.BIC = num(-2*cal.LogLik + float64(k-1)*math.Log(float64(cal.Persons)))
		out.Converged, out.Iterations = cal.Converged, cal.Iterations
		out.Mean, out.SD = num(math.NaN()), num(math.NaN())
		var fits []psychometrics.RaschFit
		if *fit {
			fits = psychometrics.RaschItemFit(x, cal.B, raschThetas(x, cal.B))
		}
		for j, b := range cal.B {
			it := irtItem{Item: data.Items[j], A: 1, B: num(b), C: 0, SEA: num(math.NaN()), SEB: num(cal.SE[j]), SEC: num(math.NaN())}
			if fits != nil {
				in, outf, inz, outz := num(fits[j].Infit), num(fits[j].Outfit), num(fits[j].InfitZ), num(fits[j].OutfitZ)
				it.Infit, it.Outfit, it.InfitZ, it.OutfitZ = &in, &outf, &inz, &outz
			}
			out.Items = append(out.Items, it)
		}
	} else {
		s := psychometrics.MMLSettings{Model: m, MaxIter: *maxIter, Quadrature: psychometrics.NormalQuadrature(*quadPoints, 0, 1)}
		if *slopePrior != "" {
			p, err := pair("slope-prior", *slopePrior)
			if err != nil {
				return err
			}
			s.SlopePrior = &psychometrics.LogNormalPrior{Mu: p[0], Sigma: p[1]}
		}
		p, err := pair("guess-prior", *guessPrior)
		if err != nil {
			return err
		}
		s.GuessPrior = &psychometrics.BetaPrior{Alpha: p[0], Beta: p[1]}
		if *anchorsFile != "" {
			anchors, err := readFile(*anchorsFile, ReadItemParams)
			if err != nil {
				return err
			}
			s.Fixed = map[int]psychometrics.Item3PL{}
			index := map[string]int{}
			for j, id := range data.Items {
				index[id] = j
			}
			for a, id := range anchors.Items {
				j, ok := index[id]
				if !ok {
					return inputErrorf(*anchorsFile, "anchor item %s is not a column of %s", id, data.File)
				}
				s.Fixed[j] = psychometrics.Item3PL{A: anchors.A[a], B: anchors.B[a], C: anchors.C[a]}
			}
		}
		cal, err := psychometrics.CalibrateMML(x, s)
		if err != nil {
			return inputErrorf(data.File, "%v", err)
		}
		out.Persons, out.Excluded = cal.Persons, persons-cal.Persons
		out.LogLik, out.AIC, out.BIC, out.Parameters = num(cal.LogLik), num(cal.AIC), num(cal.BIC), cal.Parameters
		out.Converged, out.Iterations = cal.Converged, cal.Iterations
		out.Mean, out.SD = num(cal.Mean), num(cal.SD)
		var fits []psychometrics.ItemFit
		if *fit {
			perItem := map[psychometrics.Model]int{psychometrics.ModelRasch: 1, psychometrics.Model1PL: 1, psychometrics.Model2PL: 2, psychometrics.Model3PL: 3}[m]
			q := psychometrics.NormalQuadrature(*quadPoints, cal.Mean, cal.SD)
			if fits, err = psychometrics.SX2(x, cal.Items, q, perItem); err != nil {
				return inputErrorf(data.File, "%v", err)
			}
		}
		for j, it := range cal.Items {
			_, fixed := s.Fixed[j]
			item := irtItem{
				Item: data.Items[j], A: num(it.A), B: num(it.B), C: num(it.C),
				SEA: num(cal.SE[j].A), SEB: num(cal.SE[j].B), SEC: num(cal.SE[j].C), Fixed: fixed,
			}
			if fits != nil {
				chi, p, df := num(fits[j].Chi2), num(fits[j].P), fits[j].DF
				item.SX2, item.SX2P, item.SX2DF = &chi, &p, &df
			}
			out.Items = append(out.Items, item)
		}
	}
	if f.format == "csv" {
		w := csv.NewWriter(stdout)
		w.Write([]string{"item", "a", "b", "c", "se_a", "se_b", "se_c"})
		for _, it := range out.Items {
			w.Write([]string{it.Item, g(float64(it.A)), g(float64(it.B)), g(float64(it.C)), csvNum(it.SEA), csvNum(it.SEB), csvNum(it.SEC)})
		}
		w.Flush()
		return w.Error()
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "model", out.Model, "method", out.Method, "persons", out.Persons, "converged", out.Converged, "iterations", out.Iterations)
		row(tw, "log-lik", out.LogLik, "AIC", out.AIC, "BIC", out.BIC, "parameters", out.Parameters)
		row(tw)
		row(tw, "item", "a", "b", "c", "SE(a)", "SE(b)", "SE(c)", "fit", "")
		for _, it := range out.Items {
			fit, fit2 := "", ""
			switch {
			case it.Infit != nil:
				fit, fit2 = "infit "+it.Infit.String(), "outfit "+it.Outfit.String()
			case it.SX2 != nil:
				fit, fit2 = fmt.Sprintf("S-X² %s (df %d)", it.SX2, *it.SX2DF), "p "+it.SX2P.String()
			}
			row(tw, it.Item, it.A, it.B, it.C, it.SEA, it.SEB, it.SEC, fit, fit2)
		}
	})
}

// raschThetas returns each person's maximum-likelihood location under the
// Rasch items b; NaN for zero and perfect scores, which have none.
func raschThetas(x *mat.Dense, b []float64) []float64 {
	items := make([]psychometrics.Item3PL, len(b))
	for j := range b {
		items[j] = psychometrics.Item3PL{A: 1, B: b[j]}
	}
	r, _ := x.Dims()
	theta := make([]float64, r)
	for i := range r {
		est, err := psychometrics.ThetaMLE(items, x.RawRowView(i))
		if err != nil {
			theta[i] = math.NaN()
			continue
		}
		theta[i] = est.Theta
	}
	return theta
}

// checkDichotomous names the first cell that is not 0, 1 or missing.
func checkDichotomous(data *Responses, x *mat.Dense) error {
	r, k := x.Dims()
	for i := range r {
		for j := range k {
			if v := x.At(i, j); v != 0 && v != 1 && !math.IsNaN(v) {
				return inputErrorf(data.File, "item %s: score %v: IRT calibration needs 0/1 scores", data.Items[j], v)
			}
		}
	}
	return nil
}

// pair parses "x,y" into two numbers.
func pair(name, s string) ([2]float64, error) {
	parts := strings.Split(s, ",")
	var out [2]float64
	if len(parts) != 2 {
		return out, usagef("psych irt: --%s %q: want two numbers separated by a comma", name, s)
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return out, usagef("psych irt: --%s %q: want two numbers separated by a comma", name, s)
		}
		out[i] = v
	}
	return out, nil
}

func csvNum(n num) string {
	if math.IsNaN(float64(n)) {
		return "NA"
	}
	return g(float64(n))
}
