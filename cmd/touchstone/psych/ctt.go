package psych

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

type splitHalfOutput struct {
	OddEven       num `json:"odd_even"`
	SpearmanBrown num `json:"spearman_brown"`
}

type csemRow struct {
	Score int `json:"score"`
	CSEM  num `json:"csem"`
}

type optionOutput struct {
	Option        string               `json:"option"`
	Key           bool                 `json:"key"`
	Count         int                  `json:"count"`
	Proportion    num                  `json:"proportion"`
	PointBiserial num                  `json:"point_biserial"`
	MeanScore     num                  `json:"mean_score"`
	Groups        []num                `json:"groups"`
	Flags         []psychometrics.Flag `json:"flags"`
}

type itemOutput struct {
	Item                     string               `json:"item"`
	N                        int                  `json:"n"`
	P                        num                  `json:"p"`
	SD                       num                  `json:"sd"`
	PointBiserial            num                  `json:"point_biserial"`
	ItemRest                 num                  `json:"item_rest"`
	Biserial                 num                  `json:"biserial"`
	AlphaIfDeleted           num                  `json:"alpha_if_deleted"`
	UpperLower               num                  `json:"upper_lower"`
	DiscriminativeEfficiency num                  `json:"discriminative_efficiency"`
	Key                      string               `json:"key,omitempty"`
	Flags                    []psychometrics.Flag `json:"flags"`
	Options                  []optionOutput       `json:"options,omitempty"`
}

type cttOutput struct {
	Persons         int             `json:"persons"`
	Items           int             `json:"items"`
	Missing         string          `json:"missing"`
	ExcludedPersons int             `json:"excluded_persons"`
	Mean            num             `json:"mean"`
	SD              num             `json:"sd"`
	Median          num             `json:"median"`
	Min             num             `json:"min"`
	Max             num             `json:"max"`
	Skewness        num             `json:"skewness"`
	Kurtosis        num             `json:"kurtosis"`
	Alpha           num             `json:"alpha"`
	KR20            num             `json:"kr20"`
	KR21            num             `json:"kr21"`
	SEM             num             `json:"sem"`
	SplitHalf       splitHalfOutput `json:"split_half"`
	CSEM            []csemRow       `json:"csem,omitempty"`
	ItemStats       []itemOutput    `json:"item_stats"`
}

// missingFlag adds --missing to f and returns a function that parses it.
func missingFlag(f *flags) func() (psychometrics.Missing, string, error) {
	s := f.String("missing", "zero", "treatment of missing responses: `zero` (an unanswered item scores 0) or listwise (drop persons with any missing response)")
	return func() (psychometrics.Missing, string, error) {
		switch *s {
		case "zero":
			return psychometrics.MissingZero, *s, nil
		case "listwise":
			return psychometrics.MissingListwise, *s, nil
		}
		return 0, "", usagef("psych %s: --missing %q: want zero or listwise", f.Name(), *s)
	}
}

func runCTT(args []string, stdout io.Writer) error {
	f := newFlags("ctt", "ctt (--scored scored.csv | --raw responses.csv --key key.csv) [flags]", stdout)
	scoredFile := f.String("scored", "", "scored responses `file`: [person,]<item…> with 0/1 (or 0..m) scores, empty or NA for missing")
	rawFile := f.String("raw", "", "raw responses `file`: [person,]<item…> with the option chosen; needs --key")
	keyFile := f.String("key", "", "answer key `file` with columns item,key (with --raw)")
	missing := missingFlag(f)
	var rules psychometrics.FlagRules
	f.Float64Var(&rules.MinDiscrimination, "min-discrimination", psychometrics.DefaultMinDiscrimination, "flag items whose item-rest correlation is below this")
	f.Float64Var(&rules.MinP, "min-p", psychometrics.DefaultMinP, "flag items whose p-value is below this as too hard")
	f.Float64Var(&rules.MaxP, "max-p", psychometrics.DefaultMaxP, "flag items whose p-value is above this as too easy")
	f.Float64Var(&rules.MinOptionProportion, "min-option", psychometrics.DefaultMinOptionProportion, "flag distractors chosen by fewer than this proportion as non-functioning")
	if err := f.parse(args); err != nil {
		return err
	}
	policy, policyName, err := missing()
	if err != nil {
		return err
	}
	if (*scoredFile == "") == (*rawFile == "") {
		return usagef("psych ctt: give either --scored or --raw (with --key)")
	}
	if (*rawFile != "") != (*keyFile != "") {
		return usagef("psych ctt: --raw and --key go together")
	}

	var data *Responses
	var key []string
	var x *mat.Dense
	var options []psychometrics.ItemOptions
	persons := 0
	if *scoredFile != "" {
		if data, err = readFile(*scoredFile, ReadScored); err != nil {
			return err
		}
		persons = len(data.Persons)
		var kept []int
		x, kept = psychometrics.ApplyMissing(data.Scores, policy)
		if len(kept) == 0 {
			return inputErrorf(data.File, "no person answered every item (--missing listwise)")
		}
	} else {
		if data, err = readFile(*rawFile, ReadRaw); err != nil {
			return err
		}
		if key, err = readFile(*keyFile, func(file string, r io.Reader) ([]string, error) { return ReadKey(file, r, data.Items) }); err != nil {
			return err
		}
		persons = len(data.Persons)
		choices := data.Choices
		if policy == psychometrics.MissingListwise {
			choices = nil
			for _, row := range data.Choices {
				if !hasEmpty(row) {
					choices = append(choices, row)
				}
			}
			if len(choices) == 0 {
				return inputErrorf(data.File, "no person answered every item (--missing listwise)")
			}
		}
		x = psychometrics.ScoreChoices(choices, key)
		options = psychometrics.OptionAnalysis(choices, key, rules)
	}
	if len(data.Items) < 2 {
		return inputErrorf(data.File, "classical analysis needs at least two items, got %d", len(data.Items))
	}

	ts := psychometrics.TestAnalysis(x)
	out := cttOutput{
		Persons: ts.N, Items: ts.Items, Missing: policyName, ExcludedPersons: persons - ts.N,
		Mean: num(ts.Mean), SD: num(ts.SD), Median: num(ts.Median), Min: num(ts.Min), Max: num(ts.Max),
		Skewness: num(ts.Skewness), Kurtosis: num(ts.Kurtosis),
		Alpha: num(ts.Alpha), KR20: num(ts.KR20), KR21: num(ts.KR21), SEM: num(ts.SEM),
		SplitHalf: splitHalfOutput{OddEven: num(ts.SplitHalf.OddEven), SpearmanBrown: num(ts.SplitHalf.SpearmanBrown)},
	}
	if isDichotomous(x) {
		for score, v := range psychometrics.LordCSEMTable(ts.Items) {
			out.CSEM = append(out.CSEM, csemRow{Score: score, CSEM: num(v)})
		}
	}
	for j, s := range psychometrics.ItemAnalysisWith(x, rules) {
		it := itemOutput{
			Item: data.Items[j], N: s.N, P: num(s.Mean), SD: num(s.SD),
			PointBiserial: num(s.PointBiserial), ItemRest: num(s.ItemRest), Biserial: num(s.Biserial),
			AlphaIfDeleted: num(s.AlphaIfDeleted), UpperLower: num(s.UpperLower),
			DiscriminativeEfficiency: num(s.DiscriminativeEfficiency), Flags: s.Flags,
		}
		if options != nil {
			o := options[j]
			it.Key = o.Key
			it.Flags = mergeFlags(it.Flags, o.Flags)
			for _, os := range append(o.Options, o.Missing) {
				if os.Option == "" && os.Count == 0 {
					continue
				}
				it.Options = append(it.Options, optionOutput{
					Option: os.Option, Key: os.IsKey, Count: os.Count, Proportion: num(os.Proportion),
					PointBiserial: num(os.PointBiserial), MeanScore: num(os.MeanScore),
					Groups: nums(os.Groups[:]), Flags: nonNil(os.Flags),
				})
			}
		}
		it.Flags = nonNil(it.Flags)
		out.ItemStats = append(out.ItemStats, it)
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "persons", out.Persons, "items", out.Items, "excluded", out.ExcludedPersons)
		row(tw, "mean", out.Mean, "sd", out.SD, "median", out.Median, "min", out.Min, "max", out.Max)
		row(tw, "alpha", out.Alpha, "kr21", out.KR21, "sem", out.SEM, "split-half (S-B)", out.SplitHalf.SpearmanBrown)
		fmt.Fprintln(tw)
		row(tw, "item", "n", "p", "r_pbis", "r_rest", "r_bis", "α if del", "D(27%)", "flags")
		for _, it := range out.ItemStats {
			row(tw, it.Item, it.N, it.P, it.PointBiserial, it.ItemRest, it.Biserial, it.AlphaIfDeleted, it.UpperLower, flagList(it.Flags))
		}
		if options == nil {
			return
		}
		fmt.Fprintln(tw)
		row(tw, "item", "option", "key", "prop", "r_pbis(rest)", "mean score", "flags")
		for _, it := range out.ItemStats {
			for _, o := range it.Options {
				key := ""
				if o.Key {
					key = "*"
				}
				opt := o.Option
				if opt == "" {
					opt = "(none)"
				}
				row(tw, it.Item, opt, key, o.Proportion, o.PointBiserial, o.MeanScore, flagList(o.Flags))
			}
		}
	})
}

func hasEmpty(row []string) bool {
	for _, s := range row {
		if s == "" {
			return true
		}
	}
	return false
}

// isDichotomous reports whether every cell of x is 0 or 1.
func isDichotomous(x *mat.Dense) bool {
	r, c := x.Dims()
	for i := range r {
		for j := range c {
			if v := x.At(i, j); v != 0 && v != 1 {
				return false
			}
		}
	}
	return true
}

// mergeFlags appends the flags of b not already in a.
func mergeFlags(a, b []psychometrics.Flag) []psychometrics.Flag {
	for _, fl := range b {
		seen := false
		for _, have := range a {
			seen = seen || have == fl
		}
		if !seen {
			a = append(a, fl)
		}
	}
	return a
}

// nonNil makes an empty flag list encode as [] rather than null.
func nonNil(fl []psychometrics.Flag) []psychometrics.Flag {
	if fl == nil {
		return []psychometrics.Flag{}
	}
	return fl
}

func flagList(fl []psychometrics.Flag) string {
	s := make([]string, len(fl))
	for i, f := range fl {
		s[i] = string(f)
	}
	return strings.Join(s, " ")
}
