package web

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// The statistical screening of an exam for its proctoring staff: every
// submitted attempt ranked by its forensic risk, the pairs of attempts
// whose answers are alike beyond chance, each linked to its case file and
// sent to review from here; and the same table as CSV.

// forensicsShown is how many attempts the page lists unless asked for
// all; the CSV always has every one.
const forensicsShown = 100

// forensicsRow is one screened attempt on the page.
type forensicsRow struct {
	assess.AttemptForensics
	Candidate string
	Review    string // the status of the attempt's review, "" when it has none
}

// RiskText is the combined risk, formatted.
func (r forensicsRow) RiskText() string { return pValue(r.Risk) }

// DriverLabel names the indicator that gave the risk.
func (r forensicsRow) DriverLabel() string { return indicatorLabel(r.Driver) }

// Submitted is when the attempt was submitted, in short: "2 Jan, 15:04".
func (r forensicsRow) Submitted() string { return r.SubmittedAt.UTC().Format("2 Jan, 15:04") }

// LzText is lz*, "–" when not computed.
func (r forensicsRow) LzText() string { return num2(r.LzStar) }

// TimesText sums up the time indicators, "–" without times.
func (r forensicsRow) TimesText() string {
	if r.Timed == 0 {
		return "–"
	}
	return fmt.Sprintf("%d fast · %d rapid", r.Fast, r.Rapid)
}

// PreknowledgeText is the preknowledge p-value.
func (r forensicsRow) PreknowledgeText() string { return pValue(r.PreknowledgeP) }

// SimilarityText is the matches with the most similar candidate against
// the number expected.
func (r forensicsRow) SimilarityText() string {
	return fmt.Sprintf("%d / %s", r.Matches, strconv.FormatFloat(r.ExpectedMatches, 'f', 1, 64))
}

// SimilarityPText is the similarity p-value, adjusted for the candidates
// compared.
func (r forensicsRow) SimilarityPText() string { return pValue(r.SimilarityPAdj) }

// ReviewReason is the reason a "Send to review" from the screening gives.
func (r forensicsRow) ReviewReason(total int) string {
	return fmt.Sprintf("Statistical screening: rank %d of %d, risk %s (%s)", r.Rank, total, pValue(r.Risk), indicatorLabel(r.Driver))
}

// forensicsPairView is a flagged pair on the page.
type forensicsPairView struct {
	assess.ForensicsPair
	A, B string // candidates' names
}

// PText and PAdjText are the pair's p-values, formatted.
func (p forensicsPairView) PText() string    { return pValue(p.P) }
func (p forensicsPairView) PAdjText() string { return pValue(p.PAdj) }

type forensicsData struct {
	Exam     assess.Exam
	F        *assess.ExamForensics
	Rows     []forensicsRow
	Pairs    []forensicsPairView
	Total    int
	Flagged  int
	More     int // attempts not listed (the CSV has them)
	Query    string
	From, To string
}

// examForensicsFor loads and screens the exam of the route's :id for its
// proctoring staff.
func (s *Server) examForensicsFor(c *fiber.Ctx) (*assess.ExamForensics, error) {
	examID := c.Params("id")
	if err := s.examStaff(c, examID, assess.StaffProctor, assess.StaffReviewer); err != nil {
		return nil, err
	}
	af, err := analysisFilter(c)
	if err != nil {
		return nil, err
	}
	return s.cfg.Assess.Forensics(c.UserContext(), examID, assess.ForensicsFilter{From: af.From, To: af.To})
}

func (s *Server) pageForensics(c *fiber.Ctx) error {
	ctx := c.UserContext()
	ex, err := s.examForensicsFor(c)
	if err != nil {
		return err
	}
	d := forensicsData{Exam: ex.Exam, F: ex, Total: len(ex.Attempts), Query: filterQuery(c), From: c.Query("from"), To: c.Query("to")}
	reviews, err := s.cfg.Assess.Reviews(ctx, "")
	if err != nil {
		return err
	}
	status := map[string]string{}
	for _, r := range reviews {
		status[r.AttemptID] = r.Status
	}
	names := s.names(ctx)
	ranked := ex.Ranked()
	for _, f := range ranked {
		if f.Flagged {
			d.Flagged++
		}
	}
	if len(ranked) > forensicsShown && c.Query("all") == "" {
		d.More = len(ranked) - max(forensicsShown, d.Flagged)
		ranked = ranked[:max(forensicsShown, d.Flagged)]
	}
	for _, f := range ranked {
		name, err := names.of(f.CandidateID)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, forensicsRow{AttemptForensics: f, Candidate: name, Review: status[f.AttemptID]})
	}
	for _, p := range ex.Pairs {
		v := forensicsPairView{ForensicsPair: p}
		for _, x := range []struct {
			dst *string
			id  string
		}{{&v.A, p.AttemptA}, {&v.B, p.AttemptB}} {
			at, _ := ex.Attempt(x.id)
			if *x.dst, err = names.of(at.CandidateID); err != nil {
				return err
			}
		}
		d.Pairs = append(d.Pairs, v)
	}
	return s.render(c, "forensics", d)
}

// forensicsCSV is every screened attempt, most at risk first, with every
// indicator at full precision ("NA" when undefined).
func (s *Server) forensicsCSV(c *fiber.Ctx) error {
	ex, err := s.examForensicsFor(c)
	if err != nil {
		return err
	}
	names := s.names(c.UserContext())
	rows := [][]string{{"rank", "attempt_id", "candidate", "simulated", "window", "started_at", "submitted_at", "risk", "flagged", "driver",
		"theta", "lz_star", "lz_star_p", "timed", "fast", "lt", "lt_p", "hard_correct", "preknowledge_z", "preknowledge_p",
		"rapid", "rapid_correct", "rapid_p", "partner_attempt_id", "matches", "expected_matches", "similarity_p", "similarity_p_adj"}}
	f := func(x float64) string { return csvStat(assess.Stat(x)) }
	for _, a := range ex.Ranked() {
		name, err := names.of(a.CandidateID)
		if err != nil {
			return err
		}
		rows = append(rows, []string{strconv.Itoa(a.Rank), a.AttemptID, name, strconv.FormatBool(a.Simulated), a.Window,
			a.StartedAt.UTC().Format("2006-01-02T15:04:05Z"), a.SubmittedAt.UTC().Format("2006-01-02T15:04:05Z"),
			f(a.Risk), strconv.FormatBool(a.Flagged), a.Driver, f(a.Theta), f(a.LzStar), f(a.LzStarP),
			strconv.Itoa(a.Timed), strconv.Itoa(a.Fast), f(a.Lt), f(a.LtP), strconv.Itoa(a.HardCorrect), f(a.PreknowledgeZ), f(a.PreknowledgeP),
			strconv.Itoa(a.Rapid), strconv.Itoa(a.RapidCorrect), f(a.RapidP), a.PartnerAttemptID, strconv.Itoa(a.Matches),
			f(a.ExpectedMatches), f(a.SimilarityP), f(a.SimilarityPAdj)})
	}
	return sendCSV(c, "forensics-"+ex.Exam.Slug+".csv", rows)
}

// reviewStatistics is an attempt's statistical screening as the review
// queue shows it.
type reviewStatistics struct {
	Rank, Of int
	Risk     float64
	Driver   string
	Flagged  bool
}

// RiskText is the risk, formatted.
func (r reviewStatistics) RiskText() string { return pValue(r.Risk) }

// DriverLabel names the indicator that gave the risk.
func (r reviewStatistics) DriverLabel() string { return indicatorLabel(r.Driver) }

// reviewExam is an exam whose screening the review queue links to.
type reviewExam struct {
	ID, Title string
}

// screenReviews sets the behaviour risk and the statistical screening of
// every listed attempt, screening each exam once.
func (s *Server) screenReviews(ctx context.Context, list []reviewItem) error {
	done := map[string]*assess.ExamForensics{}
	exams := map[string]assess.Exam{}
	for i := range list {
		r := &list[i]
		e, ok := exams[r.Attempt.ExamID]
		if !ok {
			var err error
			if e, err = s.cfg.Assess.Exam(ctx, r.Attempt.ExamID); err != nil {
				return err
			}
			exams[e.ID] = e
		}
		var err error
		if r.Behaviour, _, err = s.cfg.Proctor.Risk(ctx, r.AttemptID, e.Proctoring.Weights); err != nil {
			return err
		}
		if r.Attempt.Status != assess.Submitted {
			continue
		}
		ex, ok := done[r.Attempt.ExamID]
		if !ok {
			var err error
			if ex, err = s.cfg.Assess.Forensics(ctx, r.Attempt.ExamID, assess.ForensicsFilter{}); err != nil {
				return err
			}
			done[r.Attempt.ExamID] = ex
		}
		if f, ok := ex.Attempt(r.AttemptID); ok {
			r.Statistics = &reviewStatistics{Rank: f.Rank, Of: len(ex.Attempts), Risk: f.Risk, Driver: f.Driver, Flagged: f.Flagged}
		}
	}
	return nil
}

// screeningExams are the exams whose screening the user may open: every
// exam for an administrator, the exams they are proctoring staff of for
// anyone else.
func (s *Server) screeningExams(ctx context.Context, u auth.User) ([]reviewExam, error) {
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return nil, err
	}
	mine := map[string][]string{}
	if !u.Has(auth.Admin) {
		if mine, err = s.cfg.Assess.StaffExams(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	var out []reviewExam
	for _, e := range exams {
		if _, ok := mine[e.ID]; ok || u.Has(auth.Admin) {
			out = append(out, reviewExam{ID: e.ID, Title: e.Title})
		}
	}
	slices.SortStableFunc(out, func(a, b reviewExam) int {
		switch {
		case a.Title < b.Title:
			return -1
		case a.Title > b.Title:
			return 1
		}
		return 0
	})
	return out, nil
}
