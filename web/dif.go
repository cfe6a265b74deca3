package web

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// DIF reports of an exam between two groups of a voluntary demographic
// variable, and the candidate's own demographics form. Only counts and
// item statistics leave assess: no page or export names a candidate's
// answers.

// difData is the data of the "dif" page.
type difData struct {
	Exam      assess.Exam
	Exams     []assess.Exam
	Variables []assess.Variable
	Variable  assess.Variable
	Groups    []assess.GroupSize
	Reference string
	Focal     string
	Min       int
	Report    *assess.DIFReport
	Items     []difView
	Counts    map[string]int // items per ETS class
	Query     string         // the analysis's query string, for exports
	Error     string
	Field     string
}

// Invalid reports whether the refused analysis named field.
func (d difData) Invalid(field string) bool { return d.Field == field }

type difView struct {
	assess.DIFItem
	Position int
	Excerpt  string
}

// Favours says which group the item favours, in words, for the table.
func (v difView) Favours(ref, focal string) string {
	switch {
	case v.Class == psychometrics.DIFUnclassified:
		return "–"
	case v.Class == psychometrics.DIFClassA:
		return "neither"
	case v.DeltaMH < 0:
		return ref
	default:
		return focal
	}
}

func (s *Server) pageDIF(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return err
	}
	d := difData{Exam: exam, Exams: exams, Variables: assess.DemographicVariables, Min: assess.MinDIFGroup,
		Reference: c.Query("reference"), Focal: c.Query("focal")}
	name := c.Query("variable", assess.DemographicVariables[0].Name)
	v, ok := assess.DemographicVariable(name)
	if !ok {
		c.Status(fiber.StatusUnprocessableEntity)
		d.Error, d.Field = "is not a demographic variable", "variable"
		v = assess.DemographicVariables[0]
	}
	d.Variable = v
	if d.Groups, err = s.cfg.Assess.DemographicGroups(ctx, exam.ID, v.Name); err != nil {
		return err
	}
	if ok && (d.Reference != "" || d.Focal != "") {
		rep, err := s.cfg.Assess.DIF(ctx, exam.ID, v.Name, d.Reference, d.Focal)
		if err != nil {
			status, body := classify(err)
			if status >= 500 {
				return err
			}
			c.Status(status)
			d.Error, d.Field = body.Message, body.Field
		} else {
			d.Report = &rep
			if d.Items, err = s.difViews(c, exam, rep); err != nil {
				return err
			}
			d.Counts = map[string]int{}
			for _, it := range rep.Items {
				d.Counts[it.Class.String()]++
			}
			d.Query = fmt.Sprintf("?variable=%s&reference=%s&focal=%s", urlEscape(v.Name), urlEscape(d.Reference), urlEscape(d.Focal))
		}
	}
	return s.render(c, "dif", d)
}

func (s *Server) difViews(c *fiber.Ctx, exam assess.Exam, rep assess.DIFReport) ([]difView, error) {
	pos, bank, err := s.examItems(c, exam)
	if err != nil {
		return nil, err
	}
	out := make([]difView, len(rep.Items))
	for i, it := range rep.Items {
		out[i] = difView{DIFItem: it, Position: pos[it.ItemID], Excerpt: excerpt(bank[it.ItemID].Stem, 60)}
	}
	return out, nil
}

// difItemJSON is one item of a DIF report, with `touchstone psych dif`'s
// field names.
type difItemJSON struct {
	ItemID            string      `json:"item"`
	Position          int         `json:"position"`
	Pretest           bool        `json:"pretest"`
	NReference        int         `json:"n_reference"`
	NFocal            int         `json:"n_focal"`
	AlphaMH           assess.Stat `json:"alpha_mh"`
	Chi2MH            assess.Stat `json:"chi2_mh"`
	PValue            assess.Stat `json:"p_value"`
	Chi2MHUncorrected assess.Stat `json:"chi2_mh_uncorrected"`
	PValueUncorrected assess.Stat `json:"p_value_uncorrected"`
	DeltaMH           assess.Stat `json:"delta_mh"`
	SEDeltaMH         assess.Stat `json:"se_delta_mh"`
	ETSClass          string      `json:"ets_class"`
}

type difJSON struct {
	ExamID     string        `json:"exam_id"`
	Variable   string        `json:"variable"`
	Reference  string        `json:"reference"`
	Focal      string        `json:"focal"`
	NReference int           `json:"n_reference"`
	NFocal     int           `json:"n_focal"`
	MinGroup   int           `json:"min_group"`
	Missing    string        `json:"missing"`
	Items      []difItemJSON `json:"items"`
}

func difReportJSON(rep assess.DIFReport, exam assess.Exam) difJSON {
	pos := map[string]int{}
	for i, id := range exam.ItemIDs {
		pos[id] = i + 1
	}
	out := difJSON{ExamID: rep.ExamID, Variable: rep.Variable.Name, Reference: rep.Reference.Value, Focal: rep.Focal.Value,
		NReference: rep.NReference, NFocal: rep.NFocal, MinGroup: assess.MinDIFGroup, Missing: "zero", Items: []difItemJSON{}}
	for _, it := range rep.Items {
		out.Items = append(out.Items, difItemJSON{ItemID: it.ItemID, Position: pos[it.ItemID], Pretest: it.Pretest,
			NReference: it.Reference, NFocal: it.Focal, AlphaMH: assess.Stat(it.AlphaMH), Chi2MH: assess.Stat(it.Chi2MH),
			PValue: assess.Stat(it.PValue), Chi2MHUncorrected: assess.Stat(it.Chi2MHUncorrected), PValueUncorrected: assess.Stat(it.PValueUncorrected),
			DeltaMH: assess.Stat(it.DeltaMH), SEDeltaMH: assess.Stat(it.SEDeltaMH), ETSClass: it.Class.String()})
	}
	return out
}

// difReport runs the analysis the query asks for.
func (s *Server) difReport(c *fiber.Ctx) (difJSON, error) {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return difJSON{}, err
	}
	for _, q := range []string{"variable", "reference", "focal"} {
		if c.Query(q) == "" {
			return difJSON{}, &badRequest{field: q, message: "is required"}
		}
	}
	rep, err := s.cfg.Assess.DIF(ctx, exam.ID, c.Query("variable"), c.Query("reference"), c.Query("focal"))
	if err != nil {
		return difJSON{}, err
	}
	return difReportJSON(rep, exam), nil
}

func (s *Server) apiDIF(c *fiber.Ctx) error {
	rep, err := s.difReport(c)
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

// difExport serves the report as dif.csv or dif.json.
func (s *Server) difExport(c *fiber.Ctx) error {
	rep, err := s.difReport(c)
	if err != nil {
		return err
	}
	file := fmt.Sprintf("dif-%s-%s-%s", rep.Variable, rep.Reference, rep.Focal)
	switch c.Params("format") {
	case "json":
		return downloadJSON(c, file+".json", rep)
	case "csv":
		rows := [][]string{{"item", "position", "pretest", "n_reference", "n_focal", "alpha_mh", "chi2_mh", "p_value",
			"chi2_mh_uncorrected", "p_value_uncorrected", "delta_mh", "se_delta_mh", "ets_class"}}
		for _, it := range rep.Items {
			rows = append(rows, []string{it.ItemID, strconv.Itoa(it.Position), strconv.FormatBool(it.Pretest), strconv.Itoa(it.NReference), strconv.Itoa(it.NFocal),
				csvStat(it.AlphaMH), csvStat(it.Chi2MH), csvStat(it.PValue), csvStat(it.Chi2MHUncorrected), csvStat(it.PValueUncorrected),
				csvStat(it.DeltaMH), csvStat(it.SEDeltaMH), it.ETSClass})
		}
		return sendCSV(c, file+".csv", rows)
	}
	return fiber.ErrNotFound
}

// demographicsData is the data of the "demographics" page.
type demographicsData struct {
	Variables []assess.Variable
	Answers   map[string]string
	Saved     bool
	Error     string
	Field     string
}

// Answer is the candidate's answer to variable.
func (d demographicsData) Answer(variable string) string { return d.Answers[variable] }

func (s *Server) pageDemographics(c *fiber.Ctx) error {
	answers, err := s.cfg.Assess.Demographics(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return s.render(c, "demographics", demographicsData{Variables: assess.DemographicVariables, Answers: answers, Saved: c.Query("saved") == "1"})
}

func (s *Server) postDemographics(c *fiber.Ctx) error {
	answers := map[string]string{}
	for _, v := range assess.DemographicVariables {
		answers[v.Name] = c.FormValue(v.Name)
	}
	if err := s.cfg.Assess.SetDemographics(c.UserContext(), currentUser(c).ID, answers); err != nil {
		status, body := classify(err)
		if status >= 500 {
			return err
		}
		c.Status(status)
		return s.render(c, "demographics", demographicsData{Variables: assess.DemographicVariables, Answers: answers, Error: body.Message, Field: body.Field})
	}
	return c.Redirect("/me/demographics?saved=1", fiber.StatusSeeOther)
}

// demographicsJSON is a candidate's answers: variable → value, with the
// questions and their allowed values.
type demographicsJSON struct {
	Answers   map[string]string `json:"answers"`
	Variables []variableJSON    `json:"variables"`
}

type variableJSON struct {
	Name   string   `json:"name"`
	Label  string   `json:"label"`
	Values []string `json:"values"`
}

func (s *Server) demographicsJSON(c *fiber.Ctx) error {
	answers, err := s.cfg.Assess.Demographics(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	out := demographicsJSON{Answers: answers}
	for _, v := range assess.DemographicVariables {
		vj := variableJSON{Name: v.Name, Label: v.Label}
		for _, ch := range v.Choices {
			vj.Values = append(vj.Values, ch.Value)
		}
		out.Variables = append(out.Variables, vj)
	}
	return c.JSON(out)
}

func (s *Server) apiDemographics(c *fiber.Ctx) error { return s.demographicsJSON(c) }

func (s *Server) apiSetDemographics(c *fiber.Ctx) error {
	var req struct {
		Answers map[string]string `json:"answers"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Answers == nil {
		return &badRequest{field: "answers", message: "is required"}
	}
	// PUT replaces: a question left out is withdrawn.
	for _, v := range assess.DemographicVariables {
		if _, ok := req.Answers[v.Name]; !ok {
			req.Answers[v.Name] = ""
		}
	}
	if err := s.cfg.Assess.SetDemographics(c.UserContext(), currentUser(c).ID, req.Answers); err != nil {
		return err
	}
	return s.demographicsJSON(c)
}
