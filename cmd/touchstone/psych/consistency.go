package psych

import (
	"io"
	"text/tabwriter"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

type consistencyOutput struct {
	Method    string `json:"method"`
	Cut       num    `json:"cut"`
	Persons   int    `json:"persons"`
	Agreement num    `json:"agreement"`
	Kappa     num    `json:"kappa"`
	Chance    num    `json:"chance"`
	Accuracy  num    `json:"accuracy"`
	FalsePass num    `json:"false_pass"`
	FalseFail num    `json:"false_fail"`
	// Livingston–Lewis only: the effective test length and the fitted
	// true-score distribution.
	EffectiveLength *int  `json:"effective_length,omitempty"`
	FourParameter   *bool `json:"four_parameter_beta,omitempty"`
}

func runConsistency(args []string, stdout io.Writer) error {
	f := newFlags("consistency", `consistency --method livingston-lewis --scores scores.csv --max-score 40 --reliability 0.88 --cut 27
       touchstone psych consistency --method subkoviak --scores scores.csv --items 40 --reliability 0.88 --cut 27
       touchstone psych consistency --method rudner --thetas thetas.csv --cut 0.25`, stdout)
	method := f.String("method", "livingston-lewis", "`method`: livingston-lewis, subkoviak (raw scores) or rudner (IRT θ estimates with standard errors)")
	scoresFile := f.String("scores", "", "raw scores `file` (column score)")
	thetasFile := f.String("thetas", "", "θ estimates `file` with columns theta,se (rudner)")
	cut := f.Float64("cut", 0, "the cut: a raw score (pass at score ≥ cut), or a θ for rudner")
	reliability := f.Float64("reliability", 0, "reliability of the scores (e.g. alpha or KR-20)")
	items := f.Int("items", 0, "number of 0/1 items (subkoviak)")
	minScore := f.Float64("min-score", 0, "lowest possible score (livingston-lewis)")
	maxScore := f.Float64("max-score", 0, "highest possible score (livingston-lewis)")
	if err := f.parse(args, "cut"); err != nil {
		return err
	}
	var dc psychometrics.DecisionConsistency
	out := consistencyOutput{Method: *method, Cut: num(*cut)}
	switch *method {
	case "subkoviak", "livingston-lewis":
		if *scoresFile == "" {
			return usagef("psych consistency: --method %s needs --scores and --reliability", *method)
		}
		scores, err := readFile(*scoresFile, ReadScores)
		if err != nil {
			return err
		}
		out.Persons = len(scores)
		if *method == "subkoviak" {
			if *items < 1 {
				return usagef("psych consistency: --method subkoviak needs --items")
			}
			dc, err = psychometrics.Subkoviak(scores, *items, *cut, *reliability)
		} else {
			if !(*maxScore > *minScore) {
				return usagef("psych consistency: --method livingston-lewis needs --max-score above --min-score")
			}
			var m psychometrics.LivingstonLewisModel
			m, err = psychometrics.FitLivingstonLewis(scores, *minScore, *maxScore, *reliability)
			if err == nil {
				dc, err = m.Classify(*cut)
				out.EffectiveLength, out.FourParameter = &m.Length, &m.FourParameter
			}
		}
		if err != nil {
			return inputErrorf(*scoresFile, "%v", err)
		}
	case "rudner":
		if *thetasFile == "" {
			return usagef("psych consistency: --method rudner needs --thetas")
		}
		cols, err := readFile(*thetasFile, func(file string, r io.Reader) ([][]float64, error) { return ReadNumbers(file, r, "theta", "se") })
		if err != nil {
			return err
		}
		out.Persons = len(cols[0])
		if dc, err = psychometrics.Rudner(cols[0], cols[1], *cut); err != nil {
			return inputErrorf(*thetasFile, "%v", err)
		}
	default:
		return usagef("psych consistency: --method %q: want livingston-lewis, subkoviak or rudner", *method)
	}
	out.Agreement, out.Kappa, out.Chance = num(dc.Agreement), num(dc.Kappa), num(dc.Chance)
	out.Accuracy, out.FalsePass, out.FalseFail = num(dc.Accuracy), num(dc.FalsePass), num(dc.FalseFail)
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "method", out.Method, "cut", out.Cut, "persons", out.Persons)
		row(tw, "agreement", out.Agreement, "kappa", out.Kappa, "chance", out.Chance)
		row(tw, "accuracy", out.Accuracy, "false pass", out.FalsePass, "false fail", out.FalseFail)
	})
}
