package psych

import (
	"io"
	"sort"
	"text/tabwriter"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

type angoffRound struct {
	Round     int      `json:"round"`
	Cut       num      `json:"cut"`
	SE        num      `json:"se"`
	Raters    []string `json:"raters"`
	RaterCuts []num    `json:"rater_cuts"`
	ItemMeans []num    `json:"item_means"`
	CutSD     num      `json:"cut_sd"`
	// Intraclass correlations of the panelists' item ratings: ICC(2,1)
	// absolute agreement and ICC(3,1) consistency.
	ICCAgreement   num  `json:"icc_agreement"`
	ICCConsistency num  `json:"icc_consistency"`
	FailRate       *num `json:"fail_rate,omitempty"`
	PassingRaw     int  `json:"passing_raw_score"`
}

type angoffOutput struct {
	Method string   `json:"method"`
	Items  []string `json:"items"`
	angoffRound
	Rounds []angoffRound `json:"rounds"`
}

func runAngoff(args []string, stdout io.Writer) error {
	f := newFlags("angoff", "angoff --ratings ratings.csv [--yes-no] [--scores scores.csv]", stdout)
	ratingsFile := f.String("ratings", "", "ratings `file`: rater,[round,]<item…>, probabilities in [0, 1] (0/1 with --yes-no)")
	yesNo := f.Bool("yes-no", false, "Yes/No Angoff: ratings are 0 or 1")
	scoresFile := f.String("scores", "", "optional `file` of candidates' raw scores (column score) for the fail rate at the cut")
	if err := f.parse(args, "ratings"); err != nil {
		return err
	}
	ratings, err := readFile(*ratingsFile, ReadRatings)
	if err != nil {
		return err
	}
	var scores []float64
	if *scoresFile != "" {
		if scores, err = readFile(*scoresFile, ReadScores); err != nil {
			return err
		}
	}
	byRound := map[int][]int{}
	for i, r := range ratings.Rounds {
		byRound[r] = append(byRound[r], i)
	}
	var rounds []int
	for r := range byRound {
		rounds = append(rounds, r)
	}
	sort.Ints(rounds)

	out := angoffOutput{Method: "modified_angoff", Items: ratings.Items}
	if *yesNo {
		out.Method = "yes_no_angoff"
	}
	_, k := ratings.Values.Dims()
	for _, r := range rounds {
		rows := byRound[r]
		m := mat.NewDense(len(rows), k, nil)
		var raters []string
		for i, src := range rows {
			m.SetRow(i, ratings.Values.RawRowView(src))
			raters = append(raters, ratings.Raters[src])
		}
		var res psychometrics.AngoffResult
		if *yesNo {
			res, err = psychometrics.YesNoAngoff(m)
		} else {
			res, err = psychometrics.Angoff(m)
		}
		if err != nil {
			return inputErrorf(ratings.File, "round %d: %v", r, err)
		}
		round := angoffRound{
			Round:          r,
			Cut:            num(res.Cut),
			SE:             num(res.SE),
			Raters:         raters,
			RaterCuts:      nums(res.PanelistCuts),
			ItemMeans:      nums(res.ItemMeans),
			CutSD:          num(res.CutSD),
			ICCAgreement:   num(res.ICCAgreement),
			ICCConsistency: num(res.ICCConsistency),
			PassingRaw:     ceilScore(res.Cut),
		}
		if scores != nil {
			fr := num(psychometrics.Impact(scores, res.Cut))
			round.FailRate = &fr
		}
		out.Rounds = append(out.Rounds, round)
	}
	out.angoffRound = out.Rounds[len(out.Rounds)-1]
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "round", "raters", "cut", "se", "passing raw score", "fail rate", "ICC(2,1)")
		for _, r := range out.Rounds {
			fail := "NA"
			if r.FailRate != nil {
				fail = r.FailRate.String()
			}
			row(tw, r.Round, len(r.Raters), r.Cut, r.SE, r.PassingRaw, fail, r.ICCAgreement)
		}
	})
}
