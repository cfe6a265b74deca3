package psych

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

type equateRow struct {
	Score   int  `json:"score"`
	Theta   *num `json:"theta,omitempty"`
	Equated num  `json:"equated"`
}

type equateOutput struct {
	Method      string      `json:"method"`
	A           *num        `json:"a,omitempty"`
	B           *num        `json:"b,omitempty"`
	CommonItems []string    `json:"common_items,omitempty"`
	Table       []equateRow `json:"table,omitempty"`
}

func runEquate(args []string, stdout io.Writer) error {
	f := newFlags("equate", `equate --method stocking-lord|mean-sigma|mean-mean --source from.csv --target to.csv
       touchstone psych equate --method true-score --source formX.csv --target formY.csv
       touchstone psych equate --method equipercentile --scores-x x.csv --max-x 40 --scores-y y.csv --max-y 40`, stdout)
	method := f.String("method", "stocking-lord", "`method`: stocking-lord, mean-sigma, mean-mean (linking constants), true-score (IRT true-score equating) or equipercentile (random groups)")
	source := f.String("source", "", "item parameters `file` (item,a,b,c) on the source scale, or of form X for true-score equating")
	target := f.String("target", "", "item parameters `file` (item,a,b,c) on the target scale, or of form Y for true-score equating")
	scoresX := f.String("scores-x", "", "raw scores `file` (column score) of the form X group")
	scoresY := f.String("scores-y", "", "raw scores `file` (column score) of the form Y group")
	maxX := f.Int("max-x", 0, "highest possible raw score on form X")
	maxY := f.Int("max-y", 0, "highest possible raw score on form Y")
	if err := f.parse(args); err != nil {
		return err
	}
	out := equateOutput{Method: *method}
	switch *method {
	case "stocking-lord", "mean-sigma", "mean-mean":
		if *source == "" || *target == "" {
			return usagef("psych equate: --method %s needs --source and --target", *method)
		}
		src, err := readFile(*source, ReadItemParams)
		if err != nil {
			return err
		}
		tgt, err := readFile(*target, ReadItemParams)
		if err != nil {
			return err
		}
		common, s, t := commonItems(src, tgt)
		if len(common) < 2 {
			return inputErrorf(*target, "%d common items (matched by item id) with %s: linking needs at least two", len(common), *source)
		}
		var l psychometrics.Linking
		switch *method {
		case "mean-mean":
			l = psychometrics.MeanMean(s, t)
		case "mean-sigma":
			l = psychometrics.MeanSigma(s, t)
		default:
			if l, err = psychometrics.StockingLord(s, t, nil); err != nil {
				return inputErrorf(*target, "%v", err)
			}
		}
		a, b := num(l.A), num(l.B)
		out.A, out.B, out.CommonItems = &a, &b, common
	case "true-score":
		if *source == "" || *target == "" {
			return usagef("psych equate: --method true-score needs --source (form X) and --target (form Y)")
		}
		x, err := readFile(*source, ReadItemParams)
		if err != nil {
			return err
		}
		y, err := readFile(*target, ReadItemParams)
		if err != nil {
			return err
		}
		res := psychometrics.TrueScoreEquating(x.items(), y.items())
		for score := range res.Equated {
			th := num(res.Theta[score])
			out.Table = append(out.Table, equateRow{Score: score, Theta: &th, Equated: num(res.Equated[score])})
		}
	case "equipercentile":
		if *scoresX == "" || *scoresY == "" || *maxX < 1 || *maxY < 1 {
			return usagef("psych equate: --method equipercentile needs --scores-x, --max-x, --scores-y and --max-y")
		}
		fx, err := frequencies(*scoresX, *maxX)
		if err != nil {
			return err
		}
		fy, err := frequencies(*scoresY, *maxY)
		if err != nil {
			return err
		}
		eq, err := psychometrics.Equipercentile(fx, fy)
		if err != nil {
			return inputErrorf(*scoresX, "%v", err)
		}
		for score, e := range eq {
			out.Table = append(out.Table, equateRow{Score: score, Equated: num(e)})
		}
	default:
		return usagef("psych equate: --method %q: want stocking-lord, mean-sigma, mean-mean, true-score or equipercentile", *method)
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		if out.A != nil {
			row(tw, "A", *out.A, "B", *out.B, "common items", len(out.CommonItems))
			return
		}
		row(tw, "score", "equated")
		for _, r := range out.Table {
			row(tw, r.Score, r.Equated)
		}
	})
}

// commonItems pairs the items that two parameter files share, by id, in the
// source file's order.
func commonItems(src, tgt *ItemParams) (ids []string, s, t []psychometrics.Item3PL) {
	index := map[string]int{}
	for j, id := range tgt.Items {
		index[id] = j
	}
	si, ti := src.items(), tgt.items()
	for j, id := range src.Items {
		if k, ok := index[id]; ok {
			ids = append(ids, id)
			s, t = append(s, si[j]), append(t, ti[k])
		}
	}
	return ids, s, t
}

// frequencies reads a scores file and counts the integer scores 0..max.
func frequencies(file string, max int) ([]float64, error) {
	f, err := readFile(file, readTable)
	if err != nil {
		return nil, err
	}
	sc := f.column("score")
	if sc < 0 {
		return nil, &InputError{File: file, Line: 1, Msg: "want a column score"}
	}
	freq := make([]float64, max+1)
	for i, row := range f.rows {
		var v float64
		if _, err := fmt.Sscan(row[sc], &v); err != nil || v != math.Trunc(v) || v < 0 || v > float64(max) {
			return nil, f.errorf(i, sc+1, "score %q is not an integer in [0, %d]", row[sc], max)
		}
		freq[int(v)]++
	}
	return freq, nil
}
