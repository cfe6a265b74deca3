package psych

import (
	"errors"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

type personScore struct {
	Person   string `json:"person"`
	Answered int    `json:"answered"`
	Raw      num    `json:"raw"`
	Theta    num    `json:"theta"`
	SE       num    `json:"se"`
	LzStar   *num   `json:"lz_star,omitempty"`
	Note     string `json:"note,omitempty"`
}

type scoreTableRow struct {
	Score    int `json:"score"`
	ThetaTCC num `json:"theta_tcc"`
	ThetaEAP num `json:"theta_eap"`
	SDEAP    num `json:"sd_eap"`
	Prob     num `json:"probability"`
}

type curveRow struct {
	Theta       num `json:"theta"`
	Information num `json:"information"`
	TrueScore   num `json:"true_score"`
	CSEM        num `json:"csem"`
}

type thetaOutput struct {
	Method     string          `json:"method"`
	Items      int             `json:"items"`
	Persons    []personScore   `json:"persons,omitempty"`
	ScoreTable []scoreTableRow `json:"score_table,omitempty"`
	Curves     []curveRow      `json:"curves,omitempty"`
}

func runTheta(args []string, stdout io.Writer) error {
	f := newFlags("theta", "theta --params items.csv (--scored scored.csv | --score-table | --curves) [flags]", stdout)
	paramsFile := f.String("params", "", "item parameters `file` (item,a,b,c), e.g. from psych irt --format csv")
	scoredFile := f.String("scored", "", "scored responses `file` ([person,]<item…>, 0/1); columns are matched to --params by item id")
	method := f.String("method", "wle", "`estimator`: mle (maximum likelihood), wle (Warm's weighted likelihood) or eap (posterior mean, N(0,1) prior)")
	missingName := f.String("missing", "zero", "missing responses: `zero` (an unanswered item scores 0) or omit (treated as not administered)")
	scoreTable := f.Bool("score-table", false, "print the raw score ↔ θ table: θ through the test characteristic curve and the summed-score EAP")
	curves := f.Bool("curves", false, "print test information, true score and CSEM from θ −4 to 4 by 0.1")
	if err := f.parse(args, "params"); err != nil {
		return err
	}
	if *scoredFile == "" && !*scoreTable && !*curves {
		return usagef("psych theta: give --scored, --score-table or --curves")
	}
	if *method != "mle" && *method != "wle" && *method != "eap" {
		return usagef("psych theta: --method %q: want mle, wle or eap", *method)
	}
	if *missingName != "zero" && *missingName != "omit" {
		return usagef("psych theta: --missing %q: want zero or omit", *missingName)
	}
	params, err := readFile(*paramsFile, ReadItemParams)
	if err != nil {
		return err
	}
	bank := params.items()
	out := thetaOutput{Method: *method, Items: len(bank)}
	q := psychometrics.NormalQuadrature(61, 0, 1)

	if *scoredFile != "" {
		data, err := readFile(*scoredFile, ReadScored)
		if err != nil {
			return err
		}
		col, err := matchColumns(params, data)
		if err != nil {
			return err
		}
		resp := make([]float64, len(bank))
		for i, person := range data.Persons {
			ps := personScore{Person: person}
			var raw float64
			for j := range bank {
				v := data.Scores.At(i, col[j])
				if v != 0 && v != 1 && !math.IsNaN(v) {
					return inputErrorf(data.File, "person %s, item %s: score %v is not 0 or 1", person, params.Items[j], v)
				}
				if math.IsNaN(v) && *missingName == "zero" {
					v = 0
				}
				if !math.IsNaN(v) {
					ps.Answered++
					raw += v
				}
				resp[j] = v
			}
			ps.Raw = num(raw)
			var est psychometrics.Estimate
			var estErr error
			switch *method {
			case "mle":
				est, estErr = psychometrics.ThetaMLE(bank, resp)
			case "wle":
				est, estErr = psychometrics.ThetaWLE(bank, resp)
			default:
				est = psychometrics.ThetaEAP(bank, resp, q)
			}
			switch {
			case errors.Is(estErr, psychometrics.ErrExtremeScore), errors.Is(estErr, psychometrics.ErrNoFiniteTheta):
				est = psychometrics.Estimate{Theta: math.NaN(), SE: math.NaN()}
				ps.Note = "no finite estimate (zero or perfect score, or no item answered): use --method wle or eap"
			case estErr != nil:
				return fmt.Errorf("person %s: %w", person, estErr)
			}
			ps.Theta, ps.SE = num(est.Theta), num(est.SE)
			if *method != "eap" && !math.IsNaN(est.Theta) {
				kind := psychometrics.WeightedLikelihood
				if *method == "mle" {
					kind = psychometrics.MaximumLikelihood
				}
				lz := num(psychometrics.PersonFitLzStar(bank, resp, est.Theta, kind))
				ps.LzStar = &lz
			}
			out.Persons = append(out.Persons, ps)
		}
	}
	if *scoreTable {
		tcc := psychometrics.ThetaForRawScores(bank)
		for _, s := range psychometrics.SummedScoreEAP(bank, q) {
			out.ScoreTable = append(out.ScoreTable, scoreTableRow{
				Score: s.Score, ThetaTCC: num(tcc[s.Score]), ThetaEAP: num(s.Theta), SDEAP: num(s.SD), Prob: num(s.Prob),
			})
		}
	}
	if *curves {
		var grid []float64
		for t := -40; t <= 40; t++ {
			grid = append(grid, float64(t)/10)
		}
		for _, c := range psychometrics.Curves(bank, grid) {
			out.Curves = append(out.Curves, curveRow{Theta: num(c.Theta), Information: num(c.Information), TrueScore: num(c.TrueScore), CSEM: num(c.CSEM)})
		}
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		if out.Persons != nil {
			row(tw, "person", "answered", "raw", "θ", "SE", "lz*")
			for _, p := range out.Persons {
				lz := "NA"
				if p.LzStar != nil {
					lz = p.LzStar.String()
				}
				row(tw, p.Person, p.Answered, p.Raw, p.Theta, p.SE, lz)
			}
		}
		if out.ScoreTable != nil {
			row(tw)
			row(tw, "raw score", "θ (TCC)", "θ (EAP)", "SD (EAP)", "P(score)")
			for _, s := range out.ScoreTable {
				row(tw, s.Score, s.ThetaTCC, s.ThetaEAP, s.SDEAP, s.Prob)
			}
		}
		if out.Curves != nil {
			row(tw)
			row(tw, "θ", "information", "true score", "CSEM")
			for _, c := range out.Curves {
				row(tw, c.Theta, c.Information, c.TrueScore, c.CSEM)
			}
		}
	})
}

// matchColumns maps each item of params to its column in data, by item id.
func matchColumns(params *ItemParams, data *Responses) ([]int, error) {
	index := map[string]int{}
	for j, id := range data.Items {
		index[id] = j
	}
	col := make([]int, len(params.Items))
	for j, id := range params.Items {
		c, ok := index[id]
		if !ok {
			return nil, inputErrorf(data.File, "no column for item %s of the item parameters", id)
		}
		col[j] = c
	}
	if len(data.Items) != len(params.Items) {
		return nil, inputErrorf(data.File, "%d item columns, the item parameters have %d items", len(data.Items), len(params.Items))
	}
	return col, nil
}
