package psych

import (
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

// judgedScores reads score,judgement: each candidate's raw score and the
// panel's judgement of them.
func judgedScores(file string, r io.Reader) (scores []float64, judged []string, err error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, nil, err
	}
	sc, jc := t.column("score"), t.column("judgement")
	if sc < 0 || jc < 0 {
		return nil, nil, &InputError{File: file, Line: 1, Msg: "want columns score,judgement"}
	}
	for i, row := range t.rows {
		v, err := strconv.ParseFloat(row[sc], 64)
		if err != nil || v != v {
			return nil, nil, t.errorf(i, sc+1, "score %q is not a number", row[sc])
		}
		j := strings.ToLower(row[jc])
		if j == "" {
			return nil, nil, t.errorf(i, jc+1, "empty judgement")
		}
		scores, judged = append(scores, v), append(judged, j)
	}
	return scores, judged, nil
}

type borderlineOutput struct {
	Method     string `json:"method"`
	Cut        num    `json:"cut"`
	SE         num    `json:"se"`
	Mean       num    `json:"mean"`
	N          int    `json:"n"`
	PassingRaw int    `json:"passing_raw_score"`
	FailRate   *num   `json:"fail_rate,omitempty"`
	// Contrasting groups only.
	Intercept   *num `json:"intercept,omitempty"`
	Slope       *num `json:"slope,omitempty"`
	MinErrorCut *num `json:"min_error_cut,omitempty"`
	FalsePasses *int `json:"false_passes,omitempty"`
	FalseFails  *int `json:"false_fails,omitempty"`
	Masters     *int `json:"masters,omitempty"`
	NonMasters  *int `json:"non_masters,omitempty"`
}

func runGroups(args []string, stdout io.Writer) error {
	f := newFlags("groups", "groups --method borderline|contrasting --judged judged.csv [--scores scores.csv]", stdout)
	method := f.String("method", "contrasting", "`method`: borderline (median score of candidates judged borderline) or contrasting (masters vs non-masters, logistic regression)")
	judgedFile := f.String("judged", "", "`file` with columns score,judgement: judgement is borderline (borderline method), or master / non-master (contrasting groups); other judgements are ignored")
	weight := f.Float64("false-pass-weight", 1, "cost of passing a non-master relative to failing a master (contrasting)")
	scoresFile := f.String("scores", "", "optional `file` of all candidates' raw scores (column score) for the fail rate at the cut")
	if err := f.parse(args, "judged"); err != nil {
		return err
	}
	scores, judged, err := readFile2(*judgedFile, judgedScores)
	if err != nil {
		return err
	}
	out := borderlineOutput{Method: *method}
	var cut float64
	switch *method {
	case "borderline":
		var b []float64
		for i, j := range judged {
			if j == "borderline" {
				b = append(b, scores[i])
			}
		}
		if len(b) == 0 {
			return inputErrorf(*judgedFile, "no candidate judged borderline")
		}
		res, err := psychometrics.BorderlineGroup(b)
		if err != nil {
			return inputErrorf(*judgedFile, "%v", err)
		}
		cut = res.Cut
		out.Cut, out.SE, out.Mean, out.N = num(res.Cut), num(res.SE), num(res.Mean), res.N
	case "contrasting":
		var masters, non []float64
		for i, j := range judged {
			switch j {
			case "master":
				masters = append(masters, scores[i])
			case "non-master", "nonmaster":
				non = append(non, scores[i])
			}
		}
		if len(masters) == 0 || len(non) == 0 {
			return inputErrorf(*judgedFile, "contrasting groups needs candidates judged master and non-master (got %d and %d)", len(masters), len(non))
		}
		res, err := psychometrics.ContrastingGroups(masters, non, &psychometrics.ContrastingGroupsSettings{FalsePassWeight: *weight})
		if err != nil {
			return inputErrorf(*judgedFile, "%v", err)
		}
		cut = res.Cut
		ic, sl, me := num(res.Intercept), num(res.Slope), num(res.MinErrorCut)
		out.Cut, out.SE, out.Mean, out.N = num(res.Cut), num(res.SE), num(nan()), res.Masters+res.NonMasters
		out.Intercept, out.Slope, out.MinErrorCut = &ic, &sl, &me
		out.FalsePasses, out.FalseFails, out.Masters, out.NonMasters = &res.FalsePasses, &res.FalseFails, &res.Masters, &res.NonMasters
	default:
		return usagef("psych groups: --method %q: want borderline or contrasting", *method)
	}
	out.PassingRaw = ceilScore(cut)
	if *scoresFile != "" {
		all, err := readFile(*scoresFile, ReadScores)
		if err != nil {
			return err
		}
		fr := num(psychometrics.Impact(all, cut))
		out.FailRate = &fr
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "method", out.Method, "cut", out.Cut, "SE", out.SE, "passing raw score", out.PassingRaw, "n", out.N)
	})
}

// readFile2 is readFile for readers that return two values.
func readFile2[A, B any](name string, read func(string, io.Reader) (A, B, error)) (A, B, error) {
	type pair struct {
		a A
		b B
	}
	p, err := readFile(name, func(file string, r io.Reader) (pair, error) {
		a, b, err := read(file, r)
		return pair{a, b}, err
	})
	return p.a, p.b, err
}
