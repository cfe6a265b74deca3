package web

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"codeberg.org/go-pdf/fpdf"
	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
)

// The technical report of a study: what an accreditor or a court asks
// for — the panel, the method, every round, the results beside other
// methods, the impact, the decision and the measurement quality at the
// adopted cut — as a page and as a PDF.

type studyReport struct {
	studyData
	Rounds       []assess.Feedback // every round's feedback, in order
	AdoptedBy    string
	AdoptedEvent string
}

func (s *Server) loadStudyReport(c *fiber.Ctx) (studyReport, error) {
	d, err := s.loadStudyData(c, c.Params("id"))
	if err != nil {
		return studyReport{}, err
	}
	r := studyReport{studyData: d}
	for round := 1; round <= d.Study.CurrentRound; round++ {
		fb, err := s.cfg.Assess.StudyFeedback(c.UserContext(), d.Study.ID, round)
		if err != nil {
			return r, err
		}
		r.Rounds = append(r.Rounds, fb)
	}
	if d.Standard != nil {
		if r.AdoptedBy, err = s.names(c.UserContext()).of(d.Standard.ApprovedBy); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (s *Server) pageStudyReport(c *fiber.Ctx) error {
	r, err := s.loadStudyReport(c)
	if err != nil {
		return err
	}
	return s.render(c, "study_report", r)
}

func (s *Server) studyReportPDF(c *fiber.Ctx) error {
	r, err := s.loadStudyReport(c)
	if err != nil {
		return err
	}
	b, err := r.pdf()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="standard-setting-report-%s.pdf"`, r.Study.ID[:8]))
	return c.Send(b)
}

// fmtNum prints a figure for the report; NaN prints as a dash.
func fmtNum(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.*f", digits, v)
}

func fmtPct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func fmtPtr(v *float64, digits int) string {
	if v == nil {
		return "–"
	}
	return fmtNum(*v, digits)
}

// pdf lays the report out on A4 pages with the core fonts.
func (r studyReport) pdf() ([]byte, error) {
	doc := fpdf.New("P", "mm", "A4", "")
	doc.SetTitle("Standard-setting study: "+r.Study.Title, true)
	doc.SetAuthor("Touchstone", true)
	doc.SetMargins(18, 18, 18)
	doc.SetAutoPageBreak(true, 18)
	tr := doc.UnicodeTranslatorFromDescriptor("")
	doc.SetFooterFunc(func() {
		doc.SetY(-12)
		doc.SetFont("Helvetica", "", 8)
		doc.SetTextColor(110, 110, 110)
		doc.CellFormat(0, 5, tr(fmt.Sprintf("%s · study %s · page %d", r.Exam.Title, r.Study.ID, doc.PageNo())), "", 0, "C", false, 0, "")
	})
	doc.AddPage()
	heading := func(text string) {
		doc.Ln(3)
		doc.SetFont("Helvetica", "B", 12)
		doc.SetTextColor(20, 40, 70)
		doc.CellFormat(0, 7, tr(text), "", 1, "L", false, 0, "")
		doc.SetTextColor(0, 0, 0)
	}
	para := func(text string) {
		doc.SetFont("Helvetica", "", 9.5)
		doc.MultiCell(0, 5, tr(text), "", "L", false)
	}
	table := func(head []string, widths []float64, rows [][]string) {
		doc.SetFont("Helvetica", "B", 8.5)
		doc.SetFillColor(232, 237, 245)
		for i, h := range head {
			doc.CellFormat(widths[i], 6, tr(h), "B", 0, "L", true, 0, "")
		}
		doc.Ln(-1)
		doc.SetFont("Helvetica", "", 8.5)
		for _, row := range rows {
			for i, cell := range row {
				doc.CellFormat(widths[i], 5.5, tr(cell), "B", 0, "L", false, 0, "")
			}
			doc.Ln(-1)
		}
	}
	doc.SetFont("Helvetica", "B", 16)
	doc.MultiCell(0, 8, tr("Standard-setting study: "+r.Study.Title), "", "L", false)
	para(fmt.Sprintf("Exam: %s. Method: %s. Rounds: %d of %d planned. Status: %s. Created %s.",
		r.Exam.Title, r.MethodName, r.Study.CurrentRound, r.Study.PlannedRounds, r.Study.Status, r.Study.CreatedAt.UTC().Format("2 January 2006")))
	heading("Minimally competent candidate")
	para(orDash(r.Study.MCC))

	heading("Panel")
	var rows [][]string
	for i, p := range r.Study.Panelists {
		rows = append(rows, []string{fmt.Sprint(i + 1), p.Name, orDash(p.Qualification), fmt.Sprint(p.SubmittedRound)})
	}
	table([]string{"#", "Panelist", "Qualification", "Rounds submitted"}, []float64{10, 55, 75, 34}, rows)

	heading("Rounds")
	rows = nil
	for _, rr := range r.Rec.Rounds {
		rows = append(rows, []string{fmt.Sprint(rr.Round), fmtNum(rr.Cut, 2), fmtNum(rr.SE, 2), fmtNum(rr.CutSD, 2), fmtNum(rr.ICCAgreement, 3), fmt.Sprint(rr.Complete)})
	}
	table([]string{"Round", "Cut", "SE", "SD of panelist cuts", "ICC(2,1)", "Panelists complete"}, []float64{18, 24, 24, 40, 28, 40}, rows)

	for _, fb := range r.Rounds {
		if len(fb.Items) == 0 || fb.Items[0].Ratings == nil {
			continue
		}
		heading(fmt.Sprintf("Round %d ratings by item", fb.Round))
		rows = nil
		for _, it := range fb.Items {
			var each []string
			for _, v := range it.Ratings {
				each = append(each, fmtNum(v, 2))
			}
			rows = append(rows, []string{fmt.Sprint(it.Position), strings.Join(each, "  "), fmtNum(it.Mean, 2), fmtNum(it.Min, 2) + "–" + fmtNum(it.Max, 2), fmtNum(it.PValue, 2)})
		}
		table([]string{"Item", "Ratings (panel order)", "Mean", "Range", "p-value"}, []float64{14, 70, 24, 36, 30}, rows)
	}

	heading("Results beside other methods")
	rows = nil
	for _, m := range r.Rec.Methods {
		rows = append(rows, []string{m.Method, fmtNum(m.Cut, 2), fmtNum(m.SE, 2), fmtPct(m.PassRate), m.Note})
	}
	table([]string{"Method", "Cut", "SE", "Pass rate", "Note"}, []float64{34, 18, 16, 20, 86}, rows)

	heading("Impact of the recommendation")
	para(fmt.Sprintf("At the recommended cut %s of %g, %s of %d candidates pass.", fmtNum(r.Rec.Cut, 2), r.Rec.MaxScore, fmtPct(r.Rec.Impact.PassRate), r.Rec.Impact.Candidates))
	if len(r.Rec.Impact.Groups) > 0 {
		rows = nil
		for _, g := range r.Rec.Impact.Groups {
			rows = append(rows, []string{g.Name(), fmt.Sprint(g.N), fmtPct(g.PassRate)})
		}
		table([]string{"Group", "Candidates", "Pass rate"}, []float64{104, 34, 36}, rows)
		para("Pass rates of groups under five candidates are withheld.")
	}

	heading("Decision")
	if st := r.Standard; st != nil {
		para(fmt.Sprintf("Adopted as version %d of the exam's standard by %s on %s, effective %s. Cut %s of %g (recommended %s).",
			st.Version, orDash(r.AdoptedBy), st.ApprovedAt.UTC().Format("2 January 2006 15:04 MST"), st.EffectiveAt.UTC().Format("2 January 2006"),
			fmtNum(st.Cut, 2), st.MaxScore, fmtPtr(st.RecommendedCut, 2)))
		if st.AdoptionReason != "" {
			para("Reason: " + st.AdoptionReason)
		}
		heading("Measurement at the adopted cut")
		table([]string{"Reliability (alpha)", "Decision consistency", "Classification accuracy", "CSEM at cut"}, []float64{40, 44, 48, 42},
			[][]string{{fmtNum(st.Reliability, 3), fmtNum(st.DecisionConsistency, 3), fmtPtr(st.ClassificationAccuracy, 3), fmtPtr(st.CSEMAtCut, 2)}})
		para("Reliability is Cronbach's alpha of the scored attempts; decision consistency is Subkoviak's agreement index; classification accuracy is Livingston and Lewis's; the CSEM is Lord's binomial error at the cut, in raw points.")
	} else {
		para("No standard has been adopted from this study yet.")
	}
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		return nil, fmt.Errorf("web: study report: %w", err)
	}
	return buf.Bytes(), nil
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "–"
	}
	return s
}
