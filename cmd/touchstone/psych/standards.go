package psych

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

type bookmarkPage struct {
	Page     int    `json:"page"`
	Item     string `json:"item"`
	Location num    `json:"location"`
}

type bookmarkOutput struct {
	RP            num            `json:"rp"`
	Theta         num            `json:"theta"`
	SE            num            `json:"se"`
	Cut           num            `json:"cut"`
	PassingRaw    int            `json:"passing_raw_score"`
	FailRate      *num           `json:"fail_rate,omitempty"`
	Panelists     []string       `json:"panelists"`
	PanelistTheta []num          `json:"panelist_theta"`
	Booklet       []bookmarkPage `json:"booklet"`
}

func runBookmark(args []string, stdout io.Writer) error {
	f := newFlags("bookmark", "bookmark --params items.csv --bookmarks bookmarks.csv [--rp 0.67] [--scores scores.csv]", stdout)
	paramsFile := f.String("params", "", "item parameters `file` (item,a,b,c) of the operational form")
	bookmarksFile := f.String("bookmarks", "", "`file` with columns panelist,page: each panelist's bookmark, the first page (1-based) of the ordered item booklet the minimally competent candidate would not master")
	rp := f.Float64("rp", 0.67, "response probability that locates an item in the booklet")
	midpoint := f.Bool("midpoint", false, "place each panelist's cut midway between the pages around the bookmark")
	mean := f.Bool("mean", false, "aggregate panelists' cuts by the mean instead of the median")
	scoresFile := f.String("scores", "", "optional `file` of raw scores (column score) for the fail rate at the cut")
	if err := f.parse(args, "params", "bookmarks"); err != nil {
		return err
	}
	params, err := readFile(*paramsFile, ReadItemParams)
	if err != nil {
		return err
	}
	bm, err := readFile(*bookmarksFile, func(file string, r io.Reader) (*labelled, error) {
		return readLabelled(file, r, "panelist", "page")
	})
	if err != nil {
		return err
	}
	pages := make([]int, len(bm.values[0]))
	for i, v := range bm.values[0] {
		if v != float64(int(v)) {
			return bm.errorf(i, 2, "page %v is not a whole number", v)
		}
		pages[i] = int(v)
	}
	res, err := psychometrics.Bookmark(params.items(), pages, &psychometrics.BookmarkSettings{RP: *rp, Midpoint: *midpoint, Mean: *mean})
	if err != nil {
		return inputErrorf(*bookmarksFile, "%v", err)
	}
	out := bookmarkOutput{
		RP: num(*rp), Theta: num(res.Theta), SE: num(res.SE), Cut: num(res.Cut),
		PassingRaw: ceilScore(res.Cut), Panelists: bm.labels, PanelistTheta: nums(res.PanelistTheta),
	}
	for p, j := range res.Order {
		out.Booklet = append(out.Booklet, bookmarkPage{Page: p + 1, Item: params.Items[j], Location: num(res.Locations[p])})
	}
	if *scoresFile != "" {
		scores, err := readFile(*scoresFile, ReadScores)
		if err != nil {
			return err
		}
		fr := num(psychometrics.Impact(scores, res.Cut))
		out.FailRate = &fr
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "θ cut", out.Theta, "SE", out.SE, "raw cut", out.Cut, "passing raw score", out.PassingRaw)
		fmt.Fprintln(tw)
		row(tw, "page", "item", "RP location")
		for _, p := range out.Booklet {
			row(tw, p.Page, p.Item, p.Location)
		}
	})
}

type hofsteeOutput struct {
	Cut        num  `json:"cut"`
	FailRate   num  `json:"fail_rate"`
	PassingRaw int  `json:"passing_raw_score"`
	Clamped    bool `json:"clamped"`
	MinCut     num  `json:"min_cut"`
	MaxCut     num  `json:"max_cut"`
	MinFail    num  `json:"min_fail_rate"`
	MaxFail    num  `json:"max_fail_rate"`
	Judges     int  `json:"judges"`
}

func runHofstee(args []string, stdout io.Writer) error {
	f := newFlags("hofstee", "hofstee --judgements judges.csv --scores scores.csv", stdout)
	judgesFile := f.String("judgements", "", "`file` with columns judge,min_cut,max_cut,min_fail_rate,max_fail_rate (cuts in raw-score points, fail rates as proportions 0–1)")
	scoresFile := f.String("scores", "", "`file` of candidates' raw scores (column score)")
	if err := f.parse(args, "judgements", "scores"); err != nil {
		return err
	}
	j, err := readFile(*judgesFile, func(file string, r io.Reader) (*labelled, error) {
		return readLabelled(file, r, "judge", "min_cut", "max_cut", "min_fail_rate", "max_fail_rate")
	})
	if err != nil {
		return err
	}
	scores, err := readFile(*scoresFile, ReadScores)
	if err != nil {
		return err
	}
	var judgements []psychometrics.HofsteeJudgement
	for i := range j.labels {
		judgements = append(judgements, psychometrics.HofsteeJudgement{
			MinCut: j.values[0][i], MaxCut: j.values[1][i], MinFail: j.values[2][i], MaxFail: j.values[3][i],
		})
	}
	res, err := psychometrics.Hofstee(judgements, scores)
	if err != nil {
		return inputErrorf(*judgesFile, "%v", err)
	}
	out := hofsteeOutput{
		Cut: num(res.Cut), FailRate: num(res.FailRate), PassingRaw: ceilScore(res.Cut), Clamped: res.Clamped,
		MinCut: num(res.MinCut), MaxCut: num(res.MaxCut), MinFail: num(res.MinFail), MaxFail: num(res.MaxFail),
		Judges: len(judgements),
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "cut", out.Cut, "fail rate", out.FailRate, "passing raw score", out.PassingRaw, "clamped", out.Clamped)
	})
}

type beukOutput struct {
	Cut          num `json:"cut"`
	PassRate     num `json:"pass_rate"`
	FailRate     num `json:"fail_rate"`
	PassingRaw   int `json:"passing_raw_score"`
	MeanCut      num `json:"mean_cut"`
	MeanPassRate num `json:"mean_pass_rate"`
	SDCut        num `json:"sd_cut"`
	SDPassRate   num `json:"sd_pass_rate"`
	Judges       int `json:"judges"`
}

func runBeuk(args []string, stdout io.Writer) error {
	f := newFlags("beuk", "beuk --judgements judges.csv --scores scores.csv", stdout)
	judgesFile := f.String("judgements", "", "`file` with columns judge,cut,pass_rate (the cut in raw-score points, the expected pass rate as a proportion 0–1)")
	scoresFile := f.String("scores", "", "`file` of candidates' raw scores (column score)")
	if err := f.parse(args, "judgements", "scores"); err != nil {
		return err
	}
	j, err := readFile(*judgesFile, func(file string, r io.Reader) (*labelled, error) {
		return readLabelled(file, r, "judge", "cut", "pass_rate")
	})
	if err != nil {
		return err
	}
	if len(j.labels) < 2 {
		return inputErrorf(*judgesFile, "Beuk needs at least two judges, got %d", len(j.labels))
	}
	scores, err := readFile(*scoresFile, ReadScores)
	if err != nil {
		return err
	}
	var judgements []psychometrics.BeukJudgement
	for i := range j.labels {
		judgements = append(judgements, psychometrics.BeukJudgement{Cut: j.values[0][i], PassRate: j.values[1][i]})
	}
	res, err := psychometrics.Beuk(judgements, scores)
	if err != nil {
		return inputErrorf(*judgesFile, "%v", err)
	}
	out := beukOutput{
		Cut: num(res.Cut), PassRate: num(res.PassRate), FailRate: num(1 - res.PassRate), PassingRaw: ceilScore(res.Cut),
		MeanCut: num(res.MeanCut), MeanPassRate: num(res.MeanPassRate), SDCut: num(res.SDCut), SDPassRate: num(res.SDPassRate),
		Judges: len(judgements),
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "cut", out.Cut, "pass rate", out.PassRate, "passing raw score", out.PassingRaw)
	})
}
