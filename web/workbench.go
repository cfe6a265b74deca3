package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
	"github.com/touchstone-assess/touchstone/web/plot"
)

// The item-analysis workbench: the classical analysis of an exam's
// submitted attempts (optionally of one form and a submission window), its
// items' option analysis, the score distribution at the cut, and the
// downloads that let a psychometrician check every number with
// `touchstone psych`.

// pngWidth is the width of the workbench's PNG downloads, in pixels.
const pngWidth = 1280

// flagInfo is how a flag reads on the page, with the rule that raises it.
var flagInfo = []struct {
	flag         psychometrics.Flag
	label, rule  string
	optionMarker bool // also shown on an option's row
}{
	{psychometrics.FlagNegativeDiscrimination, "Negative discrimination", "item-rest correlation below 0: weaker candidates do better", false},
	{psychometrics.FlagLowDiscrimination, "Low discrimination", fmt.Sprintf("item-rest correlation below %.2f", psychometrics.DefaultMinDiscrimination), false},
	{psychometrics.FlagTooHard, "Very hard", fmt.Sprintf("p below %.2f", psychometrics.DefaultMinP), false},
	{psychometrics.FlagTooEasy, "Very easy", fmt.Sprintf("p above %.2f", psychometrics.DefaultMaxP), false},
	{psychometrics.FlagNonfunctioningDistractor, "Weak distractor", fmt.Sprintf("a distractor chosen by fewer than %.0f%% of candidates", 100*psychometrics.DefaultMinOptionProportion), true},
	{psychometrics.FlagProbableMiskey, "Possible miskey", "a distractor correlates with the rest score more than the key does", true},
}

// flagLabel is the readable name of a flag.
func flagLabel(f psychometrics.Flag) string {
	for _, fi := range flagInfo {
		if fi.flag == f {
			return fi.label
		}
	}
	return string(f)
}

func flagLabels(fl []psychometrics.Flag) []string {
	out := make([]string, len(fl))
	for i, f := range fl {
		out[i] = flagLabel(f)
	}
	return out
}

// analysisFilter reads the filter query parameters: form (a form id), from
// and to (dates, YYYY-MM-DD, both days included).
func analysisFilter(c *fiber.Ctx) (assess.AnalysisFilter, error) {
	f := assess.AnalysisFilter{FormID: c.Query("form")}
	for _, p := range []struct {
		name string
		dst  *time.Time
		days int
	}{{"from", &f.From, 0}, {"to", &f.To, 1}} {
		v := c.Query(p.name)
		if v == "" {
			continue
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return f, valid.Errorf(p.name, "want a date as YYYY-MM-DD")
		}
		*p.dst = d.AddDate(0, 0, p.days)
	}
	return f, nil
}

// filterQuery is the query string ("" or "?…") that selects filter f
// again, for links and downloads.
func filterQuery(c *fiber.Ctx) string {
	q := url.Values{}
	for _, k := range []string{"form", "from", "to"} {
		if v := c.Query(k); v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// analysis runs the analysis the request's exam id and filter select.
func (s *Server) analysis(c *fiber.Ctx) (*assess.Analysis, error) {
	f, err := analysisFilter(c)
	if err != nil {
		return nil, err
	}
	return s.cfg.Assess.Analyse(c.UserContext(), c.Params("id"), f)
}

// analysisItem is the analysed item the request's itemId names.
func (s *Server) analysisItem(c *fiber.Ctx) (*assess.Analysis, assess.AnalysisItem, int, error) {
	a, err := s.analysis(c)
	if err != nil {
		return nil, assess.AnalysisItem{}, 0, err
	}
	it, j, ok := a.Item(c.Params("itemId"))
	if !ok {
		return nil, assess.AnalysisItem{}, 0, fmt.Errorf("%w: item %s in this analysis", assess.ErrNotFound, c.Params("itemId"))
	}
	return a, it, j, nil
}

// Pages.

type workbenchRow struct {
	Position int
	assess.AnalysisItem
	Flags []string
}

// Excerpt is the start of the item's stem, to recognise it by.
func (r workbenchRow) Excerpt() string { return plainExcerpt(r.Item.Stem, 90) }

type workbenchData struct {
	Exam     assess.Exam
	Exams    []assess.Exam
	A        *assess.Analysis
	Query    string // the filter's query string, for links
	Form     string
	From, To string
	Rows     []workbenchRow
	Flagged  int
	Missing  bool // some attempt was not given some item: those cells score 0
	// CutScaled is set when the standard's maximum differs from the items
	// analysed, so the cut is carried to them in proportion.
	CutScaled bool
	Score     *plotView
	Legend    []legendRow
}

type legendRow struct{ Label, Rule string }

// plotView is a figure on a page: where its image is, and its table.
type plotView struct {
	Src   string // path of the SVG, with the filter
	Base  string // path without extension, for the downloads
	Title string
	Table plot.Table
}

func (s *Server) pageStatistics(c *fiber.Ctx) error {
	a, err := s.analysis(c)
	if err != nil {
		return err
	}
	exams, err := s.cfg.Assess.Exams(c.UserContext())
	if err != nil {
		return err
	}
	d := workbenchData{Exam: a.Exam, Exams: exams, A: a, Query: filterQuery(c), Form: c.Query("form"), From: c.Query("from"), To: c.Query("to")}
	for _, fi := range flagInfo {
		d.Legend = append(d.Legend, legendRow{fi.label, fi.rule})
	}
	if !a.Analysed() {
		return s.render(c, "statistics", d)
	}
	d.CutScaled = a.Standard != nil && a.Standard.MaxScore != float64(len(a.Items))
	for j, it := range a.Items {
		d.Rows = append(d.Rows, workbenchRow{Position: j + 1, AnalysisItem: it, Flags: flagLabels(it.Flags)})
		if len(it.Flags) > 0 {
			d.Flagged++
		}
	}
	r, k := a.Scores.Dims()
	for i := range r {
		for j := range k {
			d.Missing = d.Missing || math.IsNaN(a.Scores.At(i, j))
		}
	}
	if fig, err := scoreFigure(a); err == nil {
		base := "/psychometrics/exams/" + a.Exam.ID + "/score-distribution"
		d.Score = &plotView{Src: base + ".svg" + d.Query, Base: base, Title: fig.Title, Table: fig.Table}
	}
	return s.render(c, "statistics", d)
}

type optionRow struct {
	Label, Text string
	IsKey       bool
	Seen        bool // someone chose it (the option analysis reports it)
	psychometrics.OptionStats
	Flags []string
}

type workbenchItemData struct {
	Exam     assess.Exam
	Exams    []assess.Exam
	A        *assess.Analysis
	Item     assess.AnalysisItem
	Stem     template.HTML // the stem rendered from Markdown
	Position int
	Query    string
	Flags    []string
	Options  []optionRow
	Missing  psychometrics.OptionStats
	Plot     *plotView
	PlotNote string // why there is no plot
}

func (s *Server) pageWorkbenchItem(c *fiber.Ctx) error {
	a, it, j, err := s.analysisItem(c)
	if err != nil {
		return err
	}
	exams, err := s.cfg.Assess.Exams(c.UserContext())
	if err != nil {
		return err
	}
	d := workbenchItemData{Exam: a.Exam, Exams: exams, A: a, Item: it, Stem: items.RenderMarkdown(it.Item.Stem), Position: j + 1, Query: filterQuery(c), Flags: flagLabels(it.Flags)}
	if !a.Analysed() {
		return s.render(c, "workbench_item", d)
	}
	d.Missing = it.Option.Missing
	if it.Choice {
		seen := map[string]psychometrics.OptionStats{}
		for _, os := range it.Option.Options {
			seen[os.Option] = os
		}
		for o, opt := range it.Item.Options {
			label := it.Labels[o]
			os, ok := seen[label]
			row := optionRow{Label: label, Text: plainExcerpt(opt.Text, 80), IsKey: label == it.Key, Seen: ok, OptionStats: os}
			if ok {
				row.Flags = flagLabels(os.Flags)
			} else if !row.IsKey {
				row.Flags = []string{"Never chosen"}
			}
			d.Options = append(d.Options, row)
		}
		fig, err := optionFigure(it)
		if err != nil {
			d.PlotNote = "The option plot needs at least five candidates."
		} else {
			base := "/psychometrics/exams/" + a.Exam.ID + "/items/" + it.Item.ID + "/options"
			d.Plot = &plotView{Src: base + ".svg" + d.Query, Base: base, Title: fig.Title, Table: fig.Table}
		}
	}
	return s.render(c, "workbench_item", d)
}

// Figures.

// scoreFigure is the distribution of total scores with the cut line; it
// needs a standard to draw the cut.
func scoreFigure(a *assess.Analysis) (*plot.Figure, error) {
	if !a.Analysed() || a.Standard == nil {
		return nil, fmt.Errorf("%w: no scores or no approved standard", assess.ErrNotFound)
	}
	// Scores are whole numbers, so a cut rounded to two decimals that
	// stays above the same whole score decides alike and reads better.
	cut := a.Cut
	if r := math.Round(cut*100) / 100; math.Ceil(r) == math.Ceil(cut) {
		cut = r
	}
	return plot.ScoreDistribution(a.Totals, float64(len(a.Items)), cut)
}

// optionFigure is the option quantile plot of a choice item: each option's
// share in five score groups, options in the item's order, then no
// response when someone gave none.
func optionFigure(it assess.AnalysisItem) (*plot.Figure, error) {
	if !it.Choice {
		return nil, fmt.Errorf("%w: not a choice item", assess.ErrNotFound)
	}
	groups := map[string][5]float64{}
	for _, os := range it.Option.Options {
		groups[os.Option] = os.Groups
	}
	labels := append([]string(nil), it.Labels...)
	series := make([][5]float64, 0, len(labels)+1)
	key := 0
	for o, l := range labels {
		series = append(series, groups[l]) // an option nobody chose is 0 throughout
		if l == it.Key {
			key = o
		}
	}
	if it.Option.Missing.Count > 0 {
		labels = append(labels, "No response")
		series = append(series, it.Option.Missing.Groups)
	}
	props := make([][]float64, 5)
	for g := range props {
		props[g] = make([]float64, len(series))
		for o := range series {
			props[g][o] = series[o][g]
		}
	}
	return plot.OptionQuantiles(props, labels, key)
}

// sendFigure answers with the figure in the format the path's extension
// names: svg, png, or its data table as csv or json.
func sendFigure(c *fiber.Ctx, fig *plot.Figure, name string) error {
	switch ext := path.Ext(c.Path()); ext {
	case ".svg":
		b, err := fig.SVG()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "image/svg+xml")
		return c.Send(b)
	case ".png":
		b, err := fig.PNG(pngWidth)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "image/png")
		return c.Send(b)
	case ".csv":
		return sendCSV(c, name+".csv", fig.Table.Records())
	default:
		return c.JSON(fiber.Map{"title": fig.Title, "x_label": fig.XLabel, "y_label": fig.YLabel,
			"caption": fig.Table.Caption, "header": fig.Table.Header, "rows": fig.Table.Rows})
	}
}

func (s *Server) scoreDistribution(c *fiber.Ctx) error {
	a, err := s.analysis(c)
	if err != nil {
		return err
	}
	fig, err := scoreFigure(a)
	if err != nil {
		return err
	}
	return sendFigure(c, fig, "score-distribution-"+a.Exam.Slug)
}

func (s *Server) itemOptions(c *fiber.Ctx) error {
	a, it, _, err := s.analysisItem(c)
	if err != nil {
		return err
	}
	if !a.Analysed() {
		return fmt.Errorf("%w: no submitted attempts", assess.ErrNotFound)
	}
	if strings.HasPrefix(path.Base(c.Path()), "option-groups.") {
		fig, err := optionFigure(it)
		if err != nil {
			return fmt.Errorf("%w: %v", assess.ErrNotFound, err)
		}
		return sendFigure(c, fig, "option-groups-"+it.Item.ID)
	}
	switch path.Ext(c.Path()) {
	case ".csv":
		rows := [][]string{{"option", "key", "count", "proportion", "point_biserial", "mean_score", "group_1", "group_2", "group_3", "group_4", "group_5", "flags"}}
		for _, o := range optionsJSON(it) {
			r := []string{o.Option, strconv.FormatBool(o.Key), strconv.Itoa(o.Count), o.Proportion.String(), o.PointBiserial.String(), o.MeanScore.String()}
			for _, g := range o.Groups {
				r = append(r, g.String())
			}
			rows = append(rows, append(r, flagString(o.Flags)))
		}
		return sendCSV(c, "options-"+it.Item.ID+".csv", rows)
	case ".json":
		return c.JSON(fiber.Map{"item": it.Item.ID, "key": it.Key, "flags": nonNilFlags(it.Flags), "options": optionsJSON(it)})
	}
	fig, err := optionFigure(it)
	if err != nil {
		return fmt.Errorf("%w: %v", assess.ErrNotFound, err)
	}
	return sendFigure(c, fig, "options-"+it.Item.ID)
}

// Downloads in the formats of `touchstone psych`.

// responsesCSV is the scored matrix as `touchstone psych ctt --scored`
// reads it: person (the attempt id), then one 0/1 column per item, empty
// where the item was not administered.
func (s *Server) responsesCSV(c *fiber.Ctx) error {
	a, err := s.analysis(c)
	if err != nil {
		return err
	}
	rows := [][]string{analysisHeader(a)}
	for i, id := range a.Attempts {
		r := []string{id}
		for j := range a.Items {
			v := a.Scores.At(i, j)
			if math.IsNaN(v) {
				r = append(r, "")
			} else {
				r = append(r, strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		rows = append(rows, r)
	}
	return sendCSV(c, "responses-"+a.Exam.Slug+".csv", rows)
}

// choicesCSV is the raw responses as `touchstone psych ctt --raw` reads
// them: the option letter chosen, or 1/0 for a right/wrong answer to an
// item without options, empty for none.
func (s *Server) choicesCSV(c *fiber.Ctx) error {
	a, err := s.analysis(c)
	if err != nil {
		return err
	}
	rows := [][]string{analysisHeader(a)}
	for i, id := range a.Attempts {
		rows = append(rows, append([]string{id}, a.Choices[i]...))
	}
	return sendCSV(c, "choices-"+a.Exam.Slug+".csv", rows)
}

// keyCSV is the key of choicesCSV as `touchstone psych ctt --key` reads it.
func (s *Server) keyCSV(c *fiber.Ctx) error {
	a, err := s.analysis(c)
	if err != nil {
		return err
	}
	rows := [][]string{{"item", "key"}}
	for _, it := range a.Items {
		rows = append(rows, []string{it.Item.ID, it.Key})
	}
	return sendCSV(c, "key-"+a.Exam.Slug+".csv", rows)
}

// scoresCSV is the total scores as `touchstone psych consistency --scores`
// reads them.
func (s *Server) scoresCSV(c *fiber.Ctx) error {
	a, err := s.analysis(c)
	if err != nil {
		return err
	}
	rows := [][]string{{"person", "score"}}
	for i, id := range a.Attempts {
		if a.Analysed() {
			rows = append(rows, []string{id, strconv.FormatFloat(a.Totals[i], 'g', -1, 64)})
		}
	}
	return sendCSV(c, "scores-"+a.Exam.Slug+".csv", rows)
}

func analysisHeader(a *assess.Analysis) []string {
	h := []string{"person"}
	for _, it := range a.Items {
		h = append(h, it.Item.ID)
	}
	return h
}

// itemsTable is the classical table, as items.csv and items.json.
func (s *Server) itemsTable(c *fiber.Ctx) error {
	a, err := s.analysis(c)
	if err != nil {
		return err
	}
	out := analysisJSONOf(a)
	if path.Ext(c.Path()) == ".json" {
		return c.JSON(out.ItemStats)
	}
	rows := [][]string{{"position", "item", "kind", "domain", "n", "p", "sd", "point_biserial", "item_rest", "biserial",
		"alpha_if_deleted", "upper_lower", "discriminative_efficiency", "key", "flags"}}
	for _, it := range out.ItemStats {
		rows = append(rows, []string{strconv.Itoa(it.Position), it.Item, it.Kind, it.Domain, strconv.Itoa(it.N), it.P.String(), it.SD.String(),
			it.PointBiserial.String(), it.ItemRest.String(), it.Biserial.String(), it.AlphaIfDeleted.String(), it.UpperLower.String(),
			it.DiscriminativeEfficiency.String(), it.Key, flagString(it.Flags)})
	}
	return sendCSV(c, "items-"+a.Exam.Slug+".csv", rows)
}

// summaryTable is the test summary, as summary.csv and summary.json: one
// statistic a row.
func (s *Server) summaryTable(c *fiber.Ctx) error {
	a, err := s.analysis(c)
	if err != nil {
		return err
	}
	out := analysisJSONOf(a)
	stats := []struct {
		name  string
		value jnum
	}{
		{"persons", jnum(out.Persons)}, {"items", jnum(out.Items)}, {"mean", out.Mean}, {"sd", out.SD}, {"median", out.Median},
		{"min", out.Min}, {"max", out.Max}, {"skewness", out.Skewness}, {"kurtosis", out.Kurtosis}, {"alpha", out.Alpha},
		{"kr20", out.KR20}, {"kr21", out.KR21}, {"sem", out.SEM}, {"split_half_odd_even", out.SplitHalf.OddEven},
		{"split_half_spearman_brown", out.SplitHalf.SpearmanBrown}, {"cut", out.Cut}, {"pass_rate", out.PassRate},
		{"csem_at_cut", out.CSEMAtCut},
		{"subkoviak_agreement", out.Consistency.Subkoviak.Agreement}, {"subkoviak_kappa", out.Consistency.Subkoviak.Kappa},
		{"livingston_lewis_agreement", out.Consistency.LivingstonLewis.Agreement}, {"livingston_lewis_kappa", out.Consistency.LivingstonLewis.Kappa},
		{"livingston_lewis_accuracy", out.Consistency.LivingstonLewis.Accuracy},
		{"livingston_lewis_false_pass", out.Consistency.LivingstonLewis.FalsePass},
		{"livingston_lewis_false_fail", out.Consistency.LivingstonLewis.FalseFail},
	}
	if path.Ext(c.Path()) == ".json" {
		m := make(map[string]jnum, len(stats))
		for _, st := range stats {
			m[st.name] = st.value
		}
		return c.JSON(m)
	}
	rows := [][]string{{"statistic", "value"}}
	for _, st := range stats {
		rows = append(rows, []string{st.name, st.value.String()})
	}
	return sendCSV(c, "summary-"+a.Exam.Slug+".csv", rows)
}

// analysisJSON is the whole analysis: the page's analysis.json and GET
// /api/v1/exams/:id/analysis.
func (s *Server) analysisJSON(c *fiber.Ctx) error {
	a, err := s.analysis(c)
	if err != nil {
		return err
	}
	return c.JSON(analysisJSONOf(a))
}

// JSON of the analysis. Field names and meanings are those of `touchstone
// psych ctt` and `touchstone psych consistency`; undefined numbers are null.

// jnum is a number that encodes NaN and infinities as null.
type jnum float64

// MarshalJSON writes null for a value that is not finite.
func (n jnum) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

// String formats the number for CSV: shortest exact form, "" for NaN.
func (n jnum) String() string {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return ""
	}
	return strconv.FormatFloat(float64(n), 'g', -1, 64)
}

type optionJSON struct {
	Option        string               `json:"option"`
	Key           bool                 `json:"key"`
	Count         int                  `json:"count"`
	Proportion    jnum                 `json:"proportion"`
	PointBiserial jnum                 `json:"point_biserial"`
	MeanScore     jnum                 `json:"mean_score"`
	Groups        []jnum               `json:"groups"`
	Flags         []psychometrics.Flag `json:"flags"`
}

type itemStatJSON struct {
	Position                 int                  `json:"position"`
	Item                     string               `json:"item"`
	Version                  int                  `json:"version"`
	Kind                     string               `json:"kind"`
	Domain                   string               `json:"domain"`
	N                        int                  `json:"n"`
	P                        jnum                 `json:"p"`
	SD                       jnum                 `json:"sd"`
	PointBiserial            jnum                 `json:"point_biserial"`
	ItemRest                 jnum                 `json:"item_rest"`
	Biserial                 jnum                 `json:"biserial"`
	AlphaIfDeleted           jnum                 `json:"alpha_if_deleted"`
	UpperLower               jnum                 `json:"upper_lower"`
	DiscriminativeEfficiency jnum                 `json:"discriminative_efficiency"`
	Key                      string               `json:"key"`
	Flags                    []psychometrics.Flag `json:"flags"`
	Options                  []optionJSON         `json:"options"`
}

type consistencyJSON struct {
	Agreement jnum   `json:"agreement"`
	Kappa     jnum   `json:"kappa"`
	Chance    jnum   `json:"chance"`
	Accuracy  jnum   `json:"accuracy"`
	FalsePass jnum   `json:"false_pass"`
	FalseFail jnum   `json:"false_fail"`
	Error     string `json:"error,omitempty"`
}

type standardRefJSON struct {
	ID       string  `json:"id"`
	Version  int     `json:"version"`
	Method   string  `json:"method"`
	Cut      float64 `json:"cut"`
	MaxScore float64 `json:"max_score"`
}

type analysisOut struct {
	ExamID string `json:"exam_id"`
	Filter struct {
		FormID string     `json:"form_id,omitempty"`
		From   *time.Time `json:"from,omitempty"`
		To     *time.Time `json:"to,omitempty"`
	} `json:"filter"`
	Persons         int    `json:"persons"`
	Items           int    `json:"items"`
	Missing         string `json:"missing"`
	ExcludedPersons int    `json:"excluded_persons"`
	Mean            jnum   `json:"mean"`
	SD              jnum   `json:"sd"`
	Median          jnum   `json:"median"`
	Min             jnum   `json:"min"`
	Max             jnum   `json:"max"`
	Skewness        jnum   `json:"skewness"`
	Kurtosis        jnum   `json:"kurtosis"`
	Alpha           jnum   `json:"alpha"`
	KR20            jnum   `json:"kr20"`
	KR21            jnum   `json:"kr21"`
	SEM             jnum   `json:"sem"`
	SplitHalf       struct {
		OddEven       jnum `json:"odd_even"`
		SpearmanBrown jnum `json:"spearman_brown"`
	} `json:"split_half"`
	CSEM []struct {
		Score int  `json:"score"`
		CSEM  jnum `json:"csem"`
	} `json:"csem"`
	ItemStats   []itemStatJSON   `json:"item_stats"`
	Standard    *standardRefJSON `json:"standard"`
	Cut         jnum             `json:"cut"`
	PassRate    jnum             `json:"pass_rate"`
	CSEMAtCut   jnum             `json:"csem_at_cut"`
	Consistency struct {
		Subkoviak       consistencyJSON `json:"subkoviak"`
		LivingstonLewis consistencyJSON `json:"livingston_lewis"`
	} `json:"decision_consistency"`
}

func consistencyOf(c assess.Consistency) consistencyJSON {
	return consistencyJSON{Agreement: jnum(c.Agreement), Kappa: jnum(c.Kappa), Chance: jnum(c.Chance), Accuracy: jnum(c.Accuracy),
		FalsePass: jnum(c.FalsePass), FalseFail: jnum(c.FalseFail), Error: c.Err}
}

func analysisJSONOf(a *assess.Analysis) analysisOut {
	nan := jnum(math.NaN())
	out := analysisOut{ExamID: a.Exam.ID, Missing: "zero", Mean: nan, SD: nan, Median: nan, Min: nan, Max: nan, Skewness: nan,
		Kurtosis: nan, Alpha: nan, KR20: nan, KR21: nan, SEM: nan, Cut: nan, PassRate: nan, CSEMAtCut: nan,
		ItemStats: []itemStatJSON{}}
	out.SplitHalf.OddEven, out.SplitHalf.SpearmanBrown = nan, nan
	out.Filter.FormID = a.Filter.FormID
	if !a.Filter.From.IsZero() {
		out.Filter.From = &a.Filter.From
	}
	if !a.Filter.To.IsZero() {
		out.Filter.To = &a.Filter.To
	}
	none := consistencyOf(assess.Consistency{DecisionConsistency: psychometrics.DecisionConsistency{Agreement: math.NaN(),
		Kappa: math.NaN(), Chance: math.NaN(), Accuracy: math.NaN(), FalsePass: math.NaN(), FalseFail: math.NaN()}})
	out.Consistency.Subkoviak, out.Consistency.LivingstonLewis = none, none
	if st := a.Standard; st != nil {
		out.Standard = &standardRefJSON{ID: st.ID, Version: st.Version, Method: st.Method, Cut: st.Cut, MaxScore: st.MaxScore}
		out.Cut = jnum(a.Cut)
	}
	if !a.Analysed() {
		return out
	}
	ts := a.Test
	out.Persons, out.Items = ts.N, ts.Items
	out.Mean, out.SD, out.Median, out.Min, out.Max = jnum(ts.Mean), jnum(ts.SD), jnum(ts.Median), jnum(ts.Min), jnum(ts.Max)
	out.Skewness, out.Kurtosis, out.Alpha, out.KR20, out.KR21, out.SEM = jnum(ts.Skewness), jnum(ts.Kurtosis), jnum(ts.Alpha), jnum(ts.KR20), jnum(ts.KR21), jnum(ts.SEM)
	out.SplitHalf.OddEven, out.SplitHalf.SpearmanBrown = jnum(ts.SplitHalf.OddEven), jnum(ts.SplitHalf.SpearmanBrown)
	for score, v := range psychometrics.LordCSEMTable(ts.Items) {
		out.CSEM = append(out.CSEM, struct {
			Score int  `json:"score"`
			CSEM  jnum `json:"csem"`
		}{score, jnum(v)})
	}
	for j, it := range a.Items {
		s := it.Stats
		out.ItemStats = append(out.ItemStats, itemStatJSON{Position: j + 1, Item: it.Item.ID, Version: it.Item.Version,
			Kind: string(it.Item.ItemKind()), Domain: it.Item.Domain, N: s.N, P: jnum(s.Mean), SD: jnum(s.SD),
			PointBiserial: jnum(s.PointBiserial), ItemRest: jnum(s.ItemRest), Biserial: jnum(s.Biserial),
			AlphaIfDeleted: jnum(s.AlphaIfDeleted), UpperLower: jnum(s.UpperLower),
			DiscriminativeEfficiency: jnum(s.DiscriminativeEfficiency), Key: it.Key, Flags: nonNilFlags(it.Flags),
			Options: optionsJSON(it)})
	}
	if a.Standard != nil {
		out.PassRate, out.CSEMAtCut = jnum(a.PassRate), jnum(a.CSEMAtCut)
		out.Consistency.Subkoviak, out.Consistency.LivingstonLewis = consistencyOf(a.Subkoviak), consistencyOf(a.LivingstonLewis)
	}
	return out
}

// optionsJSON lists an item's options as `touchstone psych ctt --raw`
// does: every option someone chose and the key, then no response when
// someone gave none.
func optionsJSON(it assess.AnalysisItem) []optionJSON {
	out := []optionJSON{}
	for _, os := range append(append([]psychometrics.OptionStats(nil), it.Option.Options...), it.Option.Missing) {
		if os.Option == "" && os.Count == 0 {
			continue
		}
		g := make([]jnum, len(os.Groups))
		for i, v := range os.Groups {
			g[i] = jnum(v)
		}
		out = append(out, optionJSON{Option: os.Option, Key: os.IsKey, Count: os.Count, Proportion: jnum(os.Proportion),
			PointBiserial: jnum(os.PointBiserial), MeanScore: jnum(os.MeanScore), Groups: g, Flags: nonNilFlags(os.Flags)})
	}
	return out
}

func nonNilFlags(fl []psychometrics.Flag) []psychometrics.Flag {
	if fl == nil {
		return []psychometrics.Flag{}
	}
	return fl
}

func flagString(fl []psychometrics.Flag) string {
	s := make([]string, len(fl))
	for i, f := range fl {
		s[i] = string(f)
	}
	return strings.Join(s, " ")
}
