package psych

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

type forensicsPerson struct {
	Rank    int    `json:"rank"`
	Person  string `json:"person"`
	Risk    num    `json:"risk"`
	Driver  string `json:"driver"`
	Flagged bool   `json:"flagged"`

	Theta   num `json:"theta"`
	LzStar  num `json:"lz_star"`
	LzStarP num `json:"lz_star_p"`

	Timed         int `json:"timed"`
	Fast          int `json:"fast"`
	FastShare     num `json:"fast_share"`
	Lt            num `json:"lt"`
	LtP           num `json:"lt_p"`
	HardCorrect   int `json:"hard_correct"`
	PreknowledgeZ num `json:"preknowledge_z"`
	PreknowledgeP num `json:"preknowledge_p"`
	Rapid         int `json:"rapid"`
	RapidShare    num `json:"rapid_share"`
	RapidCorrect  int `json:"rapid_correct"`
	RapidP        num `json:"rapid_p"`

	Partner         *string `json:"partner"`
	Matches         int     `json:"matches"`
	ExpectedMatches num     `json:"expected_matches"`
	SimilarityP     num     `json:"similarity_p"`
	SimilarityPAdj  num     `json:"similarity_p_adjusted"`
}

type forensicsPair struct {
	A        string `json:"a"`
	B        string `json:"b"`
	Copier   string `json:"copier"`
	Window   string `json:"window"`
	Items    int    `json:"items"`
	Matches  int    `json:"matches"`
	Expected num    `json:"expected"`
	P        num    `json:"p_value"`
	PAdj     num    `json:"p_adjusted"`
	// With --answered-at: the items the copier answered within a minute
	// after the other, how many of them alike, and the timed test's p.
	Followed        int `json:"followed"`
	FollowedMatches int `json:"followed_matches"`
	FollowedP       num `json:"followed_p"`
}

type forensicsItemTime struct {
	Item   string `json:"item"`
	Beta   num    `json:"beta"`
	Alpha  num    `json:"alpha"`
	Median num    `json:"median_seconds"`
}

type forensicsOutput struct {
	Persons        int                 `json:"persons"`
	Items          int                 `json:"items"`
	Alpha          float64             `json:"alpha"`
	Flagged        int                 `json:"flagged"`
	PairsTested    int                 `json:"pairs_tested"`
	FlaggedPairs   []forensicsPair     `json:"flagged_pairs"`
	Ranking        []forensicsPerson   `json:"ranking"`
	ItemTimes      []forensicsItemTime `json:"item_times,omitempty"`
	SpeedSDRobust  *num                `json:"speed_sd,omitempty"`
	IndicatorsUsed []string            `json:"indicators"`
}

func runForensics(args []string, stdout io.Writer) error {
	f := newFlags("forensics", "forensics (--responses scored.csv | --choices raw.csv --key key.csv) [--times times.csv] [--answered-at answered.csv] [--params items.csv] [flags]", stdout)
	responsesFile := f.String("responses", "", "scored responses `file` ([person,]<item…>, 0/1, empty/NA not administered)")
	choicesFile := f.String("choices", "", "raw responses `file` ([person,]<item…>, the option chosen): answer similarity; scored with --key unless --responses is given")
	keyFile := f.String("key", "", "answer key `file` (item,key) to score --choices")
	timesFile := f.String("times", "", "response times `file` ([person,]<item…>, seconds, empty/NA for none): response-time indicators; persons without any time are left out of them")
	answeredFile := f.String("answered-at", "", "answer times `file` ([person,]<item…>, when each answer was given: seconds on one clock such as Unix time, or RFC 3339; empty/NA for none): with --choices, the timed similarity test on the items a person answered within a minute after the other")
	paramsFile := f.String("params", "", "item parameters `file` (item,a,b,c): person fit lz*")
	windowsFile := f.String("windows", "", "`file` of the window each person sat in (person,window or window); pairs are compared within a window")
	alpha := f.Float64("alpha", 0.001, "flag persons whose combined risk p-value is below this `level`")
	fastZ := f.Float64("fast-z", 1.96, "a response is fast when its standardized log-time residual is below −`z`")
	rapid := f.Float64("rapid-fraction", 0.10, "rapid-guess threshold as a `fraction` of the item's median time (NT10)")
	groups := f.Int("score-groups", 0, "total-score `groups` for the choice probabilities (0: min(10, persons/50))")
	top := f.Int("top", 20, "persons shown by --format table (JSON lists everyone)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *responsesFile == "" && *choicesFile == "" {
		return usagef("psych forensics: give --responses or --choices with --key")
	}
	if *responsesFile == "" && *keyFile == "" {
		return usagef("psych forensics: --choices needs --key to score it (or give --responses)")
	}
	if !(*alpha > 0 && *alpha < 1) {
		return usagef("psych forensics: --alpha %v: want a level in (0, 1)", *alpha)
	}
	if !(*fastZ > 0) || !(*rapid > 0 && *rapid < 1) || *groups < 0 {
		return usagef("psych forensics: want --fast-z > 0, --rapid-fraction in (0, 1) and --score-groups ≥ 0")
	}

	var base *Responses // the file whose persons and items index everything
	var in psychometrics.ForensicsInput
	if *choicesFile != "" {
		raw, err := readFile(*choicesFile, ReadRaw)
		if err != nil {
			return err
		}
		base = raw
		in.Choices = raw.Choices
		if *responsesFile == "" {
			key, err := readFile(*keyFile, func(file string, r io.Reader) ([]string, error) { return ReadKey(file, r, raw.Items) })
			if err != nil {
				return err
			}
			in.Scored = psychometrics.ScoreChoices(raw.Choices, key)
			// An omitted answer is not administered for person fit,
			// rather than wrong.
			for i, row := range raw.Choices {
				for j, c := range row {
					if c == "" {
						in.Scored.Set(i, j, math.NaN())
					}
				}
			}
		}
	}
	if *responsesFile != "" {
		scored, err := readFile(*responsesFile, ReadScored)
		if err != nil {
			return err
		}
		if base == nil {
			base = scored
			in.Scored = scored.Scores
		} else {
			m, err := alignMatrix(base, scored)
			if err != nil {
				return err
			}
			in.Scored = m
		}
		n, k := in.Scored.Dims()
		for i := range n {
			for j := range k {
				if v := in.Scored.At(i, j); v != 0 && v != 1 && !math.IsNaN(v) {
					return inputErrorf(scored.File, "person %s, item %s: score %v is not 0 or 1", base.Persons[i], base.Items[j], v)
				}
			}
		}
	}
	if *timesFile != "" {
		times, err := readFile(*timesFile, ReadTimes)
		if err != nil {
			return err
		}
		if in.Times, err = alignMatrix(base, times); err != nil {
			return err
		}
	}
	if *answeredFile != "" {
		if in.Choices == nil {
			return usagef("psych forensics: --answered-at needs --choices (it times answer similarity)")
		}
		answered, err := readFile(*answeredFile, ReadAnsweredAt)
		if err != nil {
			return err
		}
		if in.AnsweredAt, err = alignMatrix(base, answered); err != nil {
			return err
		}
	}
	if *paramsFile != "" {
		params, err := readFile(*paramsFile, ReadItemParams)
		if err != nil {
			return err
		}
		col, err := matchColumns(params, base)
		if err != nil {
			return err
		}
		in.Items = make([]psychometrics.Item3PL, len(base.Items))
		bank := params.items()
		for j, c := range col {
			in.Items[c] = bank[j]
		}
	}
	if *windowsFile != "" {
		w, err := readFile(*windowsFile, func(file string, r io.Reader) ([]string, error) { return ReadWindows(file, r, base.Persons) })
		if err != nil {
			return err
		}
		in.Windows = w
	}

	res, err := psychometrics.Forensics(in, psychometrics.ForensicsSettings{
		Alpha:      *alpha,
		Times:      psychometrics.TimeSettings{FastZ: *fastZ, RapidFraction: *rapid},
		Similarity: psychometrics.SimilaritySettings{ScoreGroups: *groups},
	})
	if errors.Is(err, psychometrics.ErrTooFewTimes) {
		return inputErrorf(*timesFile, "every item needs at least two times from the persons with times")
	}
	if err != nil {
		return err
	}
	out := forensicsOutput{
		Persons: len(base.Persons), Items: len(base.Items), Alpha: *alpha,
		PairsTested: res.PairsTested, FlaggedPairs: []forensicsPair{},
	}
	if in.Items != nil {
		out.IndicatorsUsed = append(out.IndicatorsUsed, psychometrics.IndicatorPersonFit)
	}
	if in.Times != nil {
		out.IndicatorsUsed = append(out.IndicatorsUsed, psychometrics.IndicatorTimeFit, psychometrics.IndicatorPreknowledge, psychometrics.IndicatorRapidGuess)
		for j, item := range base.Items {
			out.ItemTimes = append(out.ItemTimes, forensicsItemTime{Item: item, Beta: num(res.Times.Beta[j]), Alpha: num(res.Times.Alpha[j]), Median: num(res.Times.Median[j])})
		}
		sd := num(res.Times.SigmaTau)
		out.SpeedSDRobust = &sd
	}
	if in.Choices != nil {
		out.IndicatorsUsed = append(out.IndicatorsUsed, psychometrics.IndicatorSimilarity)
	}
	for _, pr := range res.Pairs {
		out.FlaggedPairs = append(out.FlaggedPairs, forensicsPair{
			A: base.Persons[pr.A], B: base.Persons[pr.B], Copier: base.Persons[pr.Copier], Window: pr.Window, Items: pr.Items,
			Matches: pr.Matches, Expected: num(pr.Expected), P: num(pr.P), PAdj: num(pr.PAdj),
			Followed: pr.Followed, FollowedMatches: pr.FollowedMatches, FollowedP: num(pr.FollowedP),
		})
	}
	for _, i := range res.Ranking {
		p := res.Persons[i]
		fp := forensicsPerson{
			Rank: p.Rank, Person: base.Persons[i], Risk: num(p.Risk), Driver: p.Driver, Flagged: p.Flagged,
			Theta: num(p.Theta), LzStar: num(p.LzStar), LzStarP: num(p.LzStarP),
			Timed: p.Timed, Fast: p.Fast, FastShare: num(p.FastShare), Lt: num(p.Lt), LtP: num(p.LtP),
			HardCorrect: p.HardCorrect, PreknowledgeZ: num(p.PreknowledgeZ), PreknowledgeP: num(p.PreknowledgeP),
			Rapid: p.Rapid, RapidShare: num(p.RapidShare), RapidCorrect: p.RapidCorrect, RapidP: num(p.RapidP),
			Matches: p.Matches, ExpectedMatches: num(p.ExpectedMatches), SimilarityP: num(p.SimilarityP), SimilarityPAdj: num(p.SimilarityPAdj),
		}
		if p.Timed == 0 { // no times, or none of this person's
			fp.FastShare, fp.Lt, fp.RapidShare = num(math.NaN()), num(math.NaN()), num(math.NaN())
		}
		if p.Partner >= 0 {
			fp.Partner = &base.Persons[p.Partner]
		}
		if p.Flagged {
			out.Flagged++
		}
		out.Ranking = append(out.Ranking, fp)
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "persons", out.Persons, "items", out.Items, "α", out.Alpha, "flagged", out.Flagged, "pairs tested", out.PairsTested)
		row(tw)
		row(tw, "rank", "person", "risk", "driver", "flagged", "lz*", "l_t p", "preknowledge p", "rapid", "rapid p", "partner", "matches", "expected", "similarity p (adj.)")
		for _, p := range out.Ranking[:min(*top, len(out.Ranking))] {
			partner := "-"
			if p.Partner != nil {
				partner = *p.Partner
			}
			row(tw, p.Rank, p.Person, sci(p.Risk), p.Driver, p.Flagged, p.LzStar, sci(p.LtP), sci(p.PreknowledgeP), p.Rapid, sci(p.RapidP), partner, p.Matches, p.ExpectedMatches, sci(p.SimilarityPAdj))
		}
		if len(out.FlaggedPairs) > 0 {
			row(tw)
			row(tw, "flagged pair", "", "copier", "window", "items", "matches", "expected", "p", "p (Bonferroni)", "followed (alike)", "timed p")
			for _, pr := range out.FlaggedPairs {
				row(tw, pr.A, pr.B, pr.Copier, pr.Window, pr.Items, pr.Matches, pr.Expected, sci(pr.P), sci(pr.PAdj),
					fmt.Sprintf("%d (%d)", pr.Followed, pr.FollowedMatches), sci(pr.FollowedP))
			}
		}
	})
}

// sci formats a p-value for tables: three significant digits, "NA" when
// undefined.
func sci(n num) string {
	v := float64(n)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "NA"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// ReadTimes reads response times: an optional first column "person", then
// one column per item holding the time in seconds (a positive number), empty
// or NA when none was recorded.
func ReadTimes(file string, r io.Reader) (*Responses, error) {
	return readItemNumbers(file, r, "a time (seconds, a positive number, or empty/NA)", func(s string) (float64, bool) {
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil && v > 0 && !math.IsInf(v, 0)
	})
}

// ReadAnsweredAt reads when each answer was given, in the layout of
// ReadTimes: an optional first column "person", then one column per item
// holding seconds on a clock common to the persons compared (Unix time, or
// seconds from the start of the session; any finite number) or an RFC 3339
// time, taken as Unix seconds; empty or NA when none was recorded.
func ReadAnsweredAt(file string, r io.Reader) (*Responses, error) {
	return readItemNumbers(file, r, "an answer time (seconds on one clock, an RFC 3339 time, or empty/NA)", func(s string) (float64, bool) {
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			return v, !math.IsInf(v, 0) && !math.IsNaN(v)
		}
		at, err := time.Parse(time.RFC3339Nano, s)
		return float64(at.Unix()) + float64(at.Nanosecond())/1e9, err == nil
	})
}

// readItemNumbers reads a table of an optional "person" column and one
// column per item, each cell empty or NA (NaN) or a number that parse
// accepts; a cell it rejects is an error at its line and column saying it
// is not want.
func readItemNumbers(file string, r io.Reader, want string, parse func(string) (float64, bool)) (*Responses, error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, err
	}
	first, persons, err := splitPersons(t)
	if err != nil {
		return nil, err
	}
	x := mat.NewDense(len(t.rows), len(t.header)-first, nil)
	for i, row := range t.rows {
		for j, s := range row[first:] {
			if isMissing(s) {
				x.Set(i, j, math.NaN())
				continue
			}
			v, ok := parse(s)
			if !ok {
				return nil, t.errorf(i, first+j+1, "item %s: %q is not %s", t.header[first+j], s, want)
			}
			x.Set(i, j, v)
		}
	}
	return &Responses{File: file, Persons: persons, Items: t.header[first:], Scores: x}, nil
}

// alignMatrix returns other's Scores with rows and columns in the order of
// base's persons and items, matched by id; every person and item of base
// must be in other.
func alignMatrix(base, other *Responses) (*mat.Dense, error) {
	rows := make(map[string]int, len(other.Persons))
	for i, p := range other.Persons {
		rows[p] = i
	}
	cols := make(map[string]int, len(other.Items))
	for j, it := range other.Items {
		cols[it] = j
	}
	out := mat.NewDense(len(base.Persons), len(base.Items), nil)
	for j, it := range base.Items {
		c, ok := cols[it]
		if !ok {
			return nil, inputErrorf(other.File, "no column for item %s of %s", it, base.File)
		}
		for i, p := range base.Persons {
			r, ok := rows[p]
			if !ok {
				return nil, inputErrorf(other.File, "no row for person %s of %s", p, base.File)
			}
			out.Set(i, j, other.Scores.At(r, c))
		}
	}
	return out, nil
}
