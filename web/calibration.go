package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
	"github.com/touchstone-assess/touchstone/web/plot"
)

// IRT calibration runs of an exam: the list with a form to start one and
// a side-by-side comparison of two, each run's page with its parameter
// table and figures, and their exports. assess calculates and stores the
// runs; these handlers only read and present them.

// calibrationsData is the data of the "calibrations" page.
type calibrationsData struct {
	Exam   assess.Exam
	Exams  []assess.Exam
	Runs   []runView
	Done   []runView // finished runs: anchors and comparison choices
	Models []modelChoice
	// Compare is the comparison of runs A and B, when both are chosen.
	Compare      *assess.RunComparison
	CompareItems []comparedView
	A, B         string
	Error        string
	ErrorField   string
	Note         string // the note typed when a start was refused
	Model        string
	Anchor       string
}

// Invalid reports whether the refused request named field.
func (d calibrationsData) Invalid(field string) bool { return d.ErrorField == field }

type modelChoice struct{ Value, Label string }

var modelLabels = map[string]string{
	assess.CalibrationRasch: "Rasch (conditional ML)",
	assess.Calibration1PL:   "1PL (common slope, marginal ML)",
	assess.Calibration2PL:   "2PL (marginal ML)",
	assess.Calibration3PL:   "3PL (marginal ML, prior on guessing)",
}

// runView is a run with the names a page shows.
type runView struct {
	assess.CalibrationRun
	CreatedByName string
	AnchorVersion int // 0 when not linked
	AnchorExamID  string
}

// ModelLabel is the run's model in words.
func (r runView) ModelLabel() string { return modelLabels[r.Model] }

// Label names the run in choices: "Version 3 · 2PL · 23 Nov 2026".
func (r runView) Label() string {
	return fmt.Sprintf("Version %d · %s · %s", r.Version, strings.ToUpper(r.Model), r.CreatedAt.UTC().Format("2 Jan 2006 15:04"))
}

type comparedView struct {
	assess.ComparedItem
	Position int
	Excerpt  string
}

func (s *Server) runViews(c *fiber.Ctx, runs []assess.CalibrationRun) ([]runView, error) {
	ctx := c.UserContext()
	names := s.names(ctx)
	out := make([]runView, len(runs))
	for i, r := range runs {
		v := runView{CalibrationRun: r}
		var err error
		if v.CreatedByName, err = names.of(r.CreatedBy); err != nil {
			return nil, err
		}
		if r.AnchorRunID != "" {
			a, err := s.cfg.Assess.CalibrationRun(ctx, r.AnchorRunID)
			if err != nil {
				return nil, err
			}
			v.AnchorVersion, v.AnchorExamID = a.Version, a.ExamID
		}
		out[i] = v
	}
	return out, nil
}

func (s *Server) pageCalibrations(c *fiber.Ctx) error { return s.calibrations(c, nil) }

// calibrations renders the runs of the exam; refused is why a start was
// refused, shown beside the form.
func (s *Server) calibrations(c *fiber.Ctx, refused error) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return err
	}
	runs, err := s.cfg.Assess.CalibrationRuns(ctx, exam.ID)
	if err != nil {
		return err
	}
	d := calibrationsData{Exam: exam, Exams: exams, Model: assess.Calibration2PL}
	if d.Runs, err = s.runViews(c, runs); err != nil {
		return err
	}
	for _, r := range d.Runs {
		if r.Status == assess.RunDone {
			d.Done = append(d.Done, r)
		}
	}
	for _, m := range assess.CalibrationModels {
		d.Models = append(d.Models, modelChoice{m, modelLabels[m]})
	}
	if refused != nil {
		status, body := classify(refused)
		if status >= 500 {
			return refused
		}
		c.Status(status)
		d.Error, d.ErrorField = body.Message, body.Field
		d.Model, d.Anchor, d.Note = c.FormValue("model"), c.FormValue("anchor_run_id"), c.FormValue("note")
	}
	d.A, d.B = c.Query("a"), c.Query("b")
	if d.A == "" && d.B == "" && len(d.Done) >= 2 {
		d.A, d.B = d.Done[1].ID, d.Done[0].ID
	}
	if d.A != "" && d.B != "" {
		cmp, err := s.cfg.Assess.CompareRuns(ctx, d.A, d.B)
		if err != nil {
			return err
		}
		d.Compare = &cmp
		if d.CompareItems, err = s.comparedViews(c, exam, cmp); err != nil {
			return err
		}
	}
	return s.render(c, "calibrations", d)
}

func (s *Server) comparedViews(c *fiber.Ctx, exam assess.Exam, cmp assess.RunComparison) ([]comparedView, error) {
	pos, bank, err := s.examItems(c, exam)
	if err != nil {
		return nil, err
	}
	out := make([]comparedView, len(cmp.Items))
	for i, it := range cmp.Items {
		out[i] = comparedView{ComparedItem: it, Position: pos[it.ItemID], Excerpt: excerpt(bank[it.ItemID].Stem, 60)}
	}
	return out, nil
}

// examItems returns each item's position in the exam (0 when not in it)
// and the items of the bank by id, for labels.
func (s *Server) examItems(c *fiber.Ctx, exam assess.Exam) (map[string]int, map[string]items.Item, error) {
	pos := map[string]int{}
	for i, id := range exam.ItemIDs {
		pos[id] = i + 1
	}
	list, err := s.cfg.Items.Working(c.UserContext(), exam.ItemIDs)
	if err != nil {
		return nil, nil, err
	}
	bank := map[string]items.Item{}
	for _, it := range list {
		bank[it.ID] = it
	}
	return pos, bank, nil
}

func (s *Server) postCalibration(c *fiber.Ctx) error {
	req := assess.CalibrationRequest{Model: c.FormValue("model"), AnchorRunID: c.FormValue("anchor_run_id"), Note: c.FormValue("note")}
	run, err := s.cfg.Assess.Calibrate(c.UserContext(), currentUser(c).ID, c.Params("id"), req)
	if err != nil {
		return s.calibrations(c, err)
	}
	return c.Redirect("/psychometrics/calibrations/"+run.ID, fiber.StatusSeeOther)
}

// calibrationRunData is the data of the "calibration_run" page.
type calibrationRunData struct {
	Exam    assess.Exam
	Exams   []assess.Exam // none: the run page has no exam switcher
	Run     runView
	Items   []paramView
	Figures []figureView
	// Groups of curves: the figures draw at most plot.MaxCurves items.
	Groups []curveGroup
	Group  int
}

type curveGroup struct {
	Index    int
	From, To int // item positions, 1-based
	Current  bool
}

type paramView struct {
	assess.CalibratedItem
	Position int
	Excerpt  string
	Final    assess.ItemParams
}

// Fit is the item's fit statistic in words, for the table.
func (p paramView) Fit() string {
	switch {
	case p.Infit != nil:
		return fmt.Sprintf("infit %s · outfit %s", fmtStat(*p.Infit, 2), fmtStat(*p.Outfit, 2))
	case p.SX2 != nil:
		return fmt.Sprintf("S-X² %s (df %d), p %s", fmtStat(*p.SX2, 1), *p.SX2DF, fmtStat(*p.SX2P, 3))
	}
	return "–"
}

// figureView is one figure on the run page with its export links.
type figureView struct {
	Name    string // "icc", "info", "wright"
	Heading string
	Alt     string
	Base    string // path without extension
	Query   string // "?group=N" for curves of a later group
	Figure  *plot.Figure
}

func fmtStat(s assess.Stat, digits int) string {
	f := float64(s)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return strconv.FormatFloat(f, 'f', digits, 64)
}

// runFigures builds the run's figures: item characteristic and
// information curves of curve group g, and the Wright map of every item.
func runFigures(run assess.CalibrationRun, names []string, g int) (map[string]*plot.Figure, error) {
	res := run.Result
	var curveItems []psychometrics.Item3PL
	var curveNames []string
	from, to := g*plot.MaxCurves, min((g+1)*plot.MaxCurves, len(res.Items))
	for j := from; j < to; j++ {
		curveItems = append(curveItems, res.Items[j].Final().Item3PL())
		curveNames = append(curveNames, names[j])
	}
	icc, err := plot.ItemCharacteristic(curveItems, curveNames)
	if err != nil {
		return nil, err
	}
	info, err := plot.ItemInformation(curveItems, curveNames, true)
	if err != nil {
		return nil, err
	}
	if len(res.Items) > plot.MaxCurves {
		info.Title = fmt.Sprintf("Item and test information, items %d–%d", from+1, to)
		icc.Title = fmt.Sprintf("Item characteristic curves, items %d–%d", from+1, to)
		info.Table.Caption += fmt.Sprintf(" The test information sums items %d–%d.", from+1, to)
	}
	var thetas []float64
	for _, t := range res.Thetas {
		if f := float64(t); !math.IsNaN(f) && !math.IsInf(f, 0) {
			thetas = append(thetas, f)
		}
	}
	b := make([]float64, len(res.Items))
	for j, it := range res.Items {
		b[j] = float64(it.Final().B)
	}
	figs := map[string]*plot.Figure{"icc": icc, "info": info}
	if len(thetas) > 0 {
		w, err := plot.WrightMap(thetas, b, names)
		if err != nil {
			return nil, err
		}
		w.Title = fmt.Sprintf("Wright map: %d candidates and %d items, version %d", len(thetas), len(b), run.Version)
		figs["wright"] = w
	}
	return figs, nil
}

// itemNames labels a run's items by position in the exam: "Q3", or
// "Q3 (pretest)"; an item no longer in the exam is named by its id.
func itemNames(res *assess.CalibrationResult, pos map[string]int) []string {
	out := make([]string, len(res.Items))
	for j, it := range res.Items {
		n := "Item " + it.ItemID
		if p := pos[it.ItemID]; p > 0 {
			n = fmt.Sprintf("Q%d", p)
		}
		if it.Pretest {
			n += " (pretest)"
		}
		out[j] = n
	}
	return out
}

// curveGroupParam reads ?group= for a run with n items.
func curveGroupParam(c *fiber.Ctx, n int) int {
	g, err := strconv.Atoi(c.Query("group"))
	if err != nil || g < 0 || g*plot.MaxCurves >= n {
		return 0
	}
	return g
}

func (s *Server) pageCalibrationRun(c *fiber.Ctx) error {
	ctx := c.UserContext()
	run, err := s.cfg.Assess.CalibrationRun(ctx, c.Params("runId"))
	if err != nil {
		return err
	}
	exam, err := s.cfg.Assess.Exam(ctx, run.ExamID)
	if err != nil {
		return err
	}
	views, err := s.runViews(c, []assess.CalibrationRun{run})
	if err != nil {
		return err
	}
	d := calibrationRunData{Exam: exam, Run: views[0]}
	if run.Result == nil {
		return s.render(c, "calibration_run", d)
	}
	pos, bank, err := s.examItems(c, exam)
	if err != nil {
		return err
	}
	names := itemNames(run.Result, pos)
	for _, it := range run.Result.Items {
		d.Items = append(d.Items, paramView{CalibratedItem: it, Position: pos[it.ItemID], Excerpt: excerpt(bank[it.ItemID].Stem, 60), Final: it.Final()})
	}
	n := len(run.Result.Items)
	d.Group = curveGroupParam(c, n)
	if n > plot.MaxCurves {
		for g := 0; g*plot.MaxCurves < n; g++ {
			d.Groups = append(d.Groups, curveGroup{Index: g, From: g*plot.MaxCurves + 1, To: min((g+1)*plot.MaxCurves, n), Current: g == d.Group})
		}
	}
	figs, err := runFigures(run, names, d.Group)
	if err != nil {
		return err
	}
	base := "/psychometrics/calibrations/" + run.ID + "/figures/"
	q := ""
	if d.Group > 0 {
		q = "?group=" + strconv.Itoa(d.Group)
	}
	scale := "the run's scale"
	if run.Result.Linking != nil {
		scale = fmt.Sprintf("the scale of version %d", run.Result.Linking.AnchorVersion)
	}
	for _, f := range []struct{ name, heading, alt string }{
		{"wright", "Wright map", "Wright map: the candidates' abilities (left) and the items' difficulties (right) on one logit scale, " + scale + ". The numbers are in the table below."},
		{"icc", "Item characteristic curves", "Item characteristic curves: the probability of a correct answer by ability. The numbers are in the table below."},
		{"info", "Item and test information", "Item information curves and the test information by ability. The numbers are in the table below."},
	} {
		if figs[f.name] == nil {
			continue
		}
		v := figureView{Name: f.name, Heading: f.heading, Alt: f.alt, Base: base + f.name, Figure: figs[f.name]}
		if f.name != "wright" {
			v.Query = q
		}
		d.Figures = append(d.Figures, v)
	}
	return s.render(c, "calibration_run", d)
}

// calibrationFigure serves a figure of a run: /figures/wright.svg, .png
// (?width=) or .csv; curve figures take ?group=.
func (s *Server) calibrationFigure(c *fiber.Ctx) error {
	ctx := c.UserContext()
	name, ext, ok := strings.Cut(c.Params("file"), ".")
	if !ok || (ext != "svg" && ext != "png" && ext != "csv") {
		return fiber.ErrNotFound
	}
	run, err := s.cfg.Assess.CalibrationRun(ctx, c.Params("runId"))
	if err != nil {
		return err
	}
	if run.Result == nil {
		return fiber.NewError(fiber.StatusConflict, "the run has not finished")
	}
	exam, err := s.cfg.Assess.Exam(ctx, run.ExamID)
	if err != nil {
		return err
	}
	pos, _, err := s.examItems(c, exam)
	if err != nil {
		return err
	}
	g := curveGroupParam(c, len(run.Result.Items))
	figs, err := runFigures(run, itemNames(run.Result, pos), g)
	if err != nil {
		return err
	}
	f := figs[name]
	if f == nil {
		return fiber.ErrNotFound
	}
	file := fmt.Sprintf("calibration-v%d-%s", run.Version, name)
	if g > 0 {
		file += fmt.Sprintf("-%d", g+1)
	}
	switch ext {
	case "svg":
		b, err := f.SVG()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "image/svg+xml")
		return c.Send(b)
	case "png":
		width := 1280
		if w := c.Query("width"); w != "" {
			if width, err = strconv.Atoi(w); err != nil {
				return &badRequest{field: "width", message: "is not a whole number"}
			}
		}
		b, err := f.PNG(width)
		if err != nil {
			return &badRequest{field: "width", message: fmt.Sprintf("must be from %d to %d pixels", plot.MinPNGWidth, plot.MaxPNGWidth)}
		}
		c.Set(fiber.HeaderContentType, "image/png")
		return c.Send(b)
	}
	return sendCSV(c, file+".csv", f.Table.Records())
}

// downloadJSON answers with a JSON attachment.
func downloadJSON(c *fiber.Ctx, filename string, v any) error {
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	return c.JSON(v)
}

// csvStat formats a statistic for CSV: full precision, "NA" when undefined
// (as `touchstone psych` writes it).
func csvStat(s assess.Stat) string {
	f := float64(s)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "NA"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func optStat(s *assess.Stat) string {
	if s == nil {
		return ""
	}
	return csvStat(*s)
}

// calibrationParameters serves a run's parameter table as parameters.csv
// or parameters.json.
func (s *Server) calibrationParameters(c *fiber.Ctx) error {
	ctx := c.UserContext()
	run, err := s.cfg.Assess.CalibrationRun(ctx, c.Params("runId"))
	if err != nil {
		return err
	}
	if run.Result == nil {
		return fiber.NewError(fiber.StatusConflict, "the run has not finished")
	}
	file := fmt.Sprintf("calibration-v%d-parameters", run.Version)
	if c.Params("format") == "json" {
		return downloadJSON(c, file+".json", calibrationJSON(run))
	}
	if c.Params("format") != "csv" {
		return fiber.ErrNotFound
	}
	header := []string{"item", "pretest", "a", "b", "c", "se_a", "se_b", "se_c", "infit", "outfit", "s_x2", "s_x2_df", "s_x2_p"}
	linked := run.Result.Linking != nil
	if linked {
		header = append(header, "common", "linked_a", "linked_b", "linked_c", "linked_se_a", "linked_se_b")
	}
	rows := [][]string{header}
	for _, it := range run.Result.Items {
		df := ""
		if it.SX2DF != nil {
			df = strconv.Itoa(*it.SX2DF)
		}
		row := []string{it.ItemID, strconv.FormatBool(it.Pretest), csvStat(it.A), csvStat(it.B), csvStat(it.C),
			csvStat(it.SEA), csvStat(it.SEB), csvStat(it.SEC), optStat(it.Infit), optStat(it.Outfit), optStat(it.SX2), df, optStat(it.SX2P)}
		if linked {
			l := it.Linked
			row = append(row, strconv.FormatBool(it.Common), csvStat(l.A), csvStat(l.B), csvStat(l.C), csvStat(l.SEA), csvStat(l.SEB))
		}
		rows = append(rows, row)
	}
	return sendCSV(c, file+".csv", rows)
}

// calibrationRunJSON is a run as the API shows it.
type calibrationRunJSON struct {
	ID          string                    `json:"id"`
	ExamID      string                    `json:"exam_id"`
	Version     int                       `json:"version"`
	Model       string                    `json:"model"`
	Status      string                    `json:"status"`
	AnchorRunID *string                   `json:"anchor_run_id"`
	Persons     int                       `json:"persons"`
	Note        string                    `json:"note"`
	Error       string                    `json:"error,omitempty"`
	CreatedBy   string                    `json:"created_by"`
	CreatedAt   time.Time                 `json:"created_at"`
	FinishedAt  *time.Time                `json:"finished_at"`
	Result      *assess.CalibrationResult `json:"result,omitempty"`
}

func calibrationJSON(r assess.CalibrationRun) calibrationRunJSON {
	out := calibrationRunJSON{ID: r.ID, ExamID: r.ExamID, Version: r.Version, Model: r.Model, Status: r.Status, Persons: r.Persons,
		Note: r.Note, Error: r.Error, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, Result: r.Result}
	if r.AnchorRunID != "" {
		out.AnchorRunID = &r.AnchorRunID
	}
	return out
}

// calibrationRunsExport serves the list of runs as runs.csv or runs.json.
func (s *Server) calibrationRunsExport(c *fiber.Ctx) error {
	runs, err := s.cfg.Assess.CalibrationRuns(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	views, err := s.runViews(c, runs)
	if err != nil {
		return err
	}
	switch c.Params("format") {
	case "json":
		out := make([]calibrationRunJSON, len(runs))
		for i, r := range runs {
			out[i] = calibrationJSON(r)
			out[i].Result = nil
		}
		return downloadJSON(c, "calibration-runs.json", out)
	case "csv":
		rows := [][]string{{"version", "id", "model", "status", "persons", "linked_to_version",
			"created_by", "created_at", "finished_at", "note"}}
		for _, r := range views {
			anchor := ""
			if r.AnchorVersion > 0 {
				anchor = strconv.Itoa(r.AnchorVersion)
			}
			finished := ""
			if r.FinishedAt != nil {
				finished = r.FinishedAt.UTC().Format(time.RFC3339)
			}
			rows = append(rows, []string{strconv.Itoa(r.Version), r.ID, r.Model, r.Status, strconv.Itoa(r.Persons), anchor,
				r.CreatedByName, r.CreatedAt.UTC().Format(time.RFC3339), finished, r.Note})
		}
		return sendCSV(c, "calibration-runs.csv", rows)
	}
	return fiber.ErrNotFound
}

// comparisonJSON is a comparison as exported.
type comparisonJSON struct {
	FirstRunID  string                `json:"first_run_id"`
	SecondRunID string                `json:"second_run_id"`
	Items       []assess.ComparedItem `json:"items"`
}

// calibrationCompareExport serves a comparison as compare.csv or
// compare.json (?a=&b=).
func (s *Server) calibrationCompareExport(c *fiber.Ctx) error {
	a, b := c.Query("a"), c.Query("b")
	if a == "" {
		return &badRequest{field: "a", message: "choose the first run"}
	}
	if b == "" {
		return &badRequest{field: "b", message: "choose the second run"}
	}
	cmp, err := s.cfg.Assess.CompareRuns(c.UserContext(), a, b)
	if err != nil {
		return err
	}
	if cmp.First.ExamID != c.Params("id") && cmp.Second.ExamID != c.Params("id") {
		return fiber.ErrNotFound
	}
	file := fmt.Sprintf("calibration-v%d-v%d", cmp.First.Version, cmp.Second.Version)
	switch c.Params("format") {
	case "json":
		return downloadJSON(c, file+".json", comparisonJSON{FirstRunID: a, SecondRunID: b, Items: cmp.Items})
	case "csv":
		rows := [][]string{{"item", "pretest", "a_first", "a_second", "a_diff", "b_first", "b_second", "b_diff",
			"c_first", "c_second", "c_diff"}}
		for _, it := range cmp.Items {
			rows = append(rows, []string{it.ItemID, strconv.FormatBool(it.Pretest), csvStat(it.First.A), csvStat(it.Second.A), csvStat(it.DiffA),
				csvStat(it.First.B), csvStat(it.Second.B), csvStat(it.DiffB), csvStat(it.First.C), csvStat(it.Second.C), csvStat(it.DiffC)})
		}
		return sendCSV(c, file+".csv", rows)
	}
	return fiber.ErrNotFound
}

// API.

func (s *Server) apiCalibrations(c *fiber.Ctx) error {
	runs, err := s.cfg.Assess.CalibrationRuns(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]calibrationRunJSON, len(runs))
	for i, r := range runs {
		out[i] = calibrationJSON(r)
		out[i].Result = nil // the list stays small; GET /calibrations/{id} has it
	}
	return c.JSON(out)
}

func (s *Server) apiStartCalibration(c *fiber.Ctx) error {
	var req struct {
		Model       string `json:"model"`
		AnchorRunID string `json:"anchor_run_id"`
		Note        string `json:"note"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	run, err := s.cfg.Assess.Calibrate(c.UserContext(), currentUser(c).ID, c.Params("id"),
		assess.CalibrationRequest{Model: req.Model, AnchorRunID: req.AnchorRunID, Note: req.Note})
	if err != nil {
		return err
	}
	c.Location("/api/v1/calibrations/" + run.ID)
	return c.Status(fiber.StatusAccepted).JSON(calibrationJSON(run))
}

func (s *Server) apiCalibration(c *fiber.Ctx) error {
	run, err := s.cfg.Assess.CalibrationRun(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(calibrationJSON(run))
}
