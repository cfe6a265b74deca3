package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/psychometrics"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// The case file of an attempt: one timeline of what the proctoring
// recorded (events, snapshots with their face checks), what the proctors
// did (messages, pauses, added time, the end) and how the candidate
// answered (time on each item, against the item's typical time), under a
// summary of the behaviour risk, the statistical screening of the exam
// (assess.Forensics) and the verification of the event log's hash chain.
// Only the exam's proctors and reviewers, and administrators, see it.

// faceFindings are the events a snapshot's face check records.
var faceFindings = []string{proctor.NoFace, proctor.MultipleFaces, proctor.LookingAway}

// Timeline entry types.
const (
	entryMilestone = "milestone" // started, submitted
	entryEvent     = "event"
	entrySnapshot  = "snapshot"
	entryMessage   = "message"
	entryAction    = "action"
	entryAnswer    = "answer"
)

// caseEntry is one line of the timeline.
type caseEntry struct {
	At       time.Time
	Type     string
	Kind     string // the event kind, the audited action, or the milestone
	Label    string
	Detail   string
	Incident bool
	Seq      int64 // the event's place in the attempt's chain; 0 otherwise
	ClientAt *time.Time
	Actor    string // who acted, by name
	Snapshot *caseSnapshot
	Answer   *caseAnswer
}

// Time is the entry's time to the second, as the page shows it.
func (e caseEntry) Time() string { return e.At.UTC().Format("15:04:05") }

// Client is the browser's own time of an event, when it said.
func (e caseEntry) Client() string {
	if e.ClientAt == nil {
		return ""
	}
	return e.ClientAt.UTC().Format("15:04:05")
}

// caseSnapshot is a webcam snapshot and its face check.
type caseSnapshot struct {
	ID          string
	Faces       *int
	LookingAway *bool
	TakenAt     *time.Time
	Deleted     bool     // the image was deleted at the end of its retention
	Flags       []string // the face check's findings, as event kinds
	Caption     string   // what the larger view says of it
}

// Badge is the face check's finding in a few words, "" when nothing was
// checked.
func (s caseSnapshot) Badge() string {
	switch {
	case s.Faces == nil:
		return "Face check unavailable"
	case *s.Faces == 0:
		return "No face"
	case *s.Faces > 1:
		return strconv.Itoa(*s.Faces) + " faces"
	case s.LookingAway != nil && *s.LookingAway:
		return "Looking away"
	}
	return "1 face"
}

// Flagged reports whether the face check found something.
func (s caseSnapshot) Flagged() bool { return len(s.Flags) > 0 }

// caseAnswer is one answered item of the attempt with its time.
type caseAnswer struct {
	Position int
	ItemID   string
	Seconds  *float64
	Correct  *bool
	Median   float64 // the item's median time over the exam's screened attempts; NaN when unknown
	Z        float64 // the time's residual under the response-time model; NaN when not fitted
	Fast     bool    // far faster than the candidate's speed predicts (Z < −ForensicsFastZ)
	Rapid    bool    // below ForensicsRapidFraction of the item's median time
}

// Scored reports whether the answer has been scored.
func (a caseAnswer) Scored() bool { return a.Correct != nil }

// IsCorrect reports whether the answer earned full credit.
func (a caseAnswer) IsCorrect() bool { return a.Correct != nil && *a.Correct }

// SecondsText is the time on the item, "–" when none was recorded.
func (a caseAnswer) SecondsText() string {
	if a.Seconds == nil {
		return "–"
	}
	return trimNumber(math.Round(*a.Seconds*10)/10) + " s"
}

// MedianText is the item's typical time, "" when unknown.
func (a caseAnswer) MedianText() string {
	if math.IsNaN(a.Median) {
		return ""
	}
	return trimNumber(math.Round(a.Median)) + " s"
}

// Marker says in a few words why the time stands out, "" when it does
// not.
func (a caseAnswer) Marker() string {
	rapid := fmt.Sprintf("under %.0f%% of the typical time", 100*assess.ForensicsRapidFraction)
	fast := "far faster than this candidate’s pace (z = " + strings.Replace(trimNumber(a.Z), "-", "−", 1) + ")"
	switch {
	case a.Rapid && a.Fast:
		return "Far faster than typical: " + rapid + "; " + fast
	case a.Rapid:
		return "Far faster than typical: " + rapid
	case a.Fast:
		return "Far faster than typical: " + fast
	}
	return ""
}

// caseChain is the verification of the attempt's event chain.
type caseChain struct {
	Intact    bool
	Events    int    // chained events verified (up to the break)
	Unchained int    // events recorded before the log was chained
	Head      string // the chain's last hash, when intact
	Problem   string // what is wrong, when broken: "event 3 altered"
	BrokenAt  int64  // the first broken event's place in the chain; 0 when not known
}

// caseIndicator is one statistical indicator of the attempt.
type caseIndicator struct {
	Name   string // psychometrics' indicator name
	Label  string
	Value  string // the statistic, formatted
	P      float64
	Driver bool // the indicator that gave the attempt's risk
}

// PText is the indicator's p-value, formatted.
func (i caseIndicator) PText() string { return pValue(i.P) }

// casePartner is the candidate whose answers are most like this one's.
type casePartner struct {
	AttemptID string
	Candidate string
	Matches   int
	Expected  float64
	P         float64
	PAdj      float64
	Flagged   bool // the pair is among the exam's flagged pairs
}

// PText and PAdjText are the pair's p-values, formatted.
func (p casePartner) PText() string    { return pValue(p.P) }
func (p casePartner) PAdjText() string { return pValue(p.PAdj) }

// caseStatistics is the attempt's statistical screening.
type caseStatistics struct {
	Screened bool
	Note     string // why the attempt was not screened
	// The exam's screening: attempts screened, the level, the calibration
	// used for person fit and what was left out.
	Attempts      int
	Alpha         float64
	Calibration   string // "version 2 (2pl)"; "" without person fit
	PersonFitNote string
	TimesNote     string
	Window        assess.ForensicsWindow
	F             assess.AttemptForensics
	Indicators    []caseIndicator // available ones, smallest p-value first
	Partner       *casePartner
}

// RiskText is the combined risk, formatted.
func (s caseStatistics) RiskText() string { return pValue(s.F.Risk) }

// DriverLabel names the indicator that gave the risk.
func (s caseStatistics) DriverLabel() string { return indicatorLabel(s.F.Driver) }

// caseBehaviour is the risk the exam's weights give the recorded events.
type caseBehaviour struct {
	Risk     float64
	Reasons  []string // "3 × Left the exam window", weightiest first
	Weighted bool     // the exam weighs some event kinds
}

// caseFile is everything the case file page and its JSON show.
type caseFile struct {
	Attempt    assess.Attempt
	Exam       assess.Exam
	Candidate  auth.User
	Timing     assess.Timing
	Review     *assess.Review
	Messages   []assess.Message
	Incidents  []kindCount
	Behaviour  caseBehaviour
	Statistics caseStatistics
	Chain      caseChain
	Timeline   []caseEntry
	Answered   int  // items answered
	Delivered  int  // items delivered
	Snapshots  int  // webcam snapshots taken
	CanControl bool // the viewer may act on the live attempt (a proctor of the exam)
}

// indicatorLabels name psychometrics' indicators for people.
var indicatorLabels = map[string]string{
	psychometrics.IndicatorPersonFit:    "Person fit (lz*)",
	psychometrics.IndicatorTimeFit:      "Response-time fit",
	psychometrics.IndicatorPreknowledge: "Preknowledge",
	psychometrics.IndicatorRapidGuess:   "Rapid guessing",
	psychometrics.IndicatorSimilarity:   "Answer similarity",
}

func indicatorLabel(name string) string {
	if l, ok := indicatorLabels[name]; ok {
		return l
	}
	return name
}

// superscripts writes exponents.
var superscripts = strings.NewReplacer("-", "⁻", "0", "⁰", "1", "¹", "2", "²", "3", "³", "4", "⁴", "5", "⁵", "6", "⁶", "7", "⁷", "8", "⁸", "9", "⁹")

// pValue formats a p-value for people: three decimals down to 0.001, then
// "4.2 × 10⁻⁹"; "–" when undefined.
func pValue(p float64) string {
	switch {
	case math.IsNaN(p) || math.IsInf(p, 0):
		return "–"
	case p >= 0.001:
		return strconv.FormatFloat(p, 'f', 3, 64)
	case p == 0:
		return "< 10⁻³⁰⁰"
	}
	exp := int(math.Floor(math.Log10(p)))
	mant := p / math.Pow(10, float64(exp))
	if math.Round(mant*10)/10 >= 10 {
		mant, exp = mant/10, exp+1
	}
	return strconv.FormatFloat(mant, 'f', 1, 64) + " × 10" + superscripts.Replace(strconv.Itoa(exp))
}

// caseFileOf gathers the case file of attempt a.
func (s *Server) caseFileOf(c *fiber.Ctx, a assess.Attempt) (*caseFile, error) {
	ctx := c.UserContext()
	d := &caseFile{Attempt: a, Timing: a.Timing(s.cfg.Now().UTC())}
	var err error
	if d.Exam, err = s.cfg.Assess.Exam(ctx, a.ExamID); err != nil {
		return nil, err
	}
	if d.Candidate, err = s.cfg.Auth.User(ctx, a.CandidateID); err != nil {
		return nil, err
	}
	u := currentUser(c)
	d.CanControl = u.Has(auth.Admin)
	if !d.CanControl {
		if d.CanControl, err = s.cfg.Assess.IsStaff(ctx, u.ID, a.ExamID, assess.StaffProctor); err != nil {
			return nil, err
		}
	}
	if rv, err := s.cfg.Assess.Review(ctx, a.ID); err == nil {
		d.Review = &rv
	} else if !errors.Is(err, assess.ErrNotFound) {
		return nil, err
	}
	if d.Messages, err = s.cfg.Assess.Messages(ctx, a.ID); err != nil {
		return nil, err
	}
	if d.Chain, err = s.caseChain(ctx, a.ID); err != nil {
		return nil, err
	}
	risk, reasons, err := s.cfg.Proctor.Risk(ctx, a.ID, d.Exam.Proctoring.Weights)
	if err != nil {
		return nil, err
	}
	d.Behaviour = caseBehaviour{Risk: risk, Weighted: len(d.Exam.Proctoring.Weights) > 0}
	for _, r := range reasons {
		if n, kind, ok := strings.Cut(r, " × "); ok {
			r = n + " × " + kindLabel(kind)
		}
		d.Behaviour.Reasons = append(d.Behaviour.Reasons, r)
	}

	var ex *assess.ExamForensics
	if a.Status == assess.Submitted {
		if ex, err = s.cfg.Assess.Forensics(ctx, a.ExamID, assess.ForensicsFilter{}); err != nil {
			return nil, err
		}
	}
	names := s.names(ctx)
	if d.Statistics, err = caseStatisticsOf(a, ex, names); err != nil {
		return nil, err
	}
	if err := s.caseTimeline(ctx, d, ex, names); err != nil {
		return nil, err
	}
	return d, nil
}

// caseChain verifies the attempt's event chain; a broken chain is a
// finding, not an error.
func (s *Server) caseChain(ctx context.Context, attemptID string) (caseChain, error) {
	check, err := s.cfg.Proctor.Verify(ctx, attemptID)
	out := caseChain{Events: check.Events, Unchained: check.Unchained, Head: check.Head}
	switch {
	case err == nil:
		out.Intact = true
	case errors.Is(err, proctor.ErrBroken):
		_, out.Problem, _ = strings.Cut(err.Error(), proctor.ErrBroken.Error()+": ")
		if out.Problem == "" {
			out.Problem = err.Error()
		}
		var n int64
		if _, serr := fmt.Sscanf(out.Problem, "event %d", &n); serr == nil {
			out.BrokenAt, out.Events = n, int(n-1) // Verify counts the broken event too
		}
	default:
		return caseChain{}, err
	}
	return out, nil
}

// caseStatisticsOf is the attempt's part of the exam's screening (nil when
// the attempt is not submitted).
func caseStatisticsOf(a assess.Attempt, ex *assess.ExamForensics, names *nameBook) (caseStatistics, error) {
	var st caseStatistics
	switch {
	case ex == nil:
		st.Note = "The statistical screening covers submitted attempts; it runs once this attempt is submitted."
		return st, nil
	case !ex.Screened():
		st.Note = ex.Note
		return st, nil
	}
	f, ok := ex.Attempt(a.ID)
	if !ok {
		st.Note = "This attempt has no scored answers to screen."
		return st, nil
	}
	st = caseStatistics{Screened: true, Attempts: len(ex.Attempts), Alpha: ex.Alpha, PersonFitNote: ex.PersonFitNote,
		TimesNote: ex.TimesNote, F: f}
	if ex.CalibrationRunID != "" {
		st.Calibration = fmt.Sprintf("version %d (%s)", ex.CalibrationVersion, ex.CalibrationModel)
	}
	for _, w := range ex.Windows {
		if w.ID == f.Window {
			st.Window = w
		}
	}
	add := func(name, value string, p float64) {
		if !math.IsNaN(p) {
			st.Indicators = append(st.Indicators, caseIndicator{Name: name, Label: indicatorLabel(name), Value: value, P: p, Driver: name == f.Driver})
		}
	}
	add(psychometrics.IndicatorPersonFit, "lz* = "+num2(f.LzStar)+", θ = "+num2(f.Theta), f.LzStarP)
	add(psychometrics.IndicatorTimeFit, fmt.Sprintf("l_t = %s on %d timed answers; %d fast", num2(f.Lt), f.Timed, f.Fast), f.LtP)
	add(psychometrics.IndicatorPreknowledge, fmt.Sprintf("z = %s over %d correct answers to hard items", num2(f.PreknowledgeZ), f.HardCorrect), f.PreknowledgeP)
	if ex.Timed {
		rapid := "no rapid answers"
		if f.Rapid > 0 {
			rapid = fmt.Sprintf("%d rapid answers, %d of them correct", f.Rapid, f.RapidCorrect)
		}
		add(psychometrics.IndicatorRapidGuess, rapid, f.RapidP)
	}
	add(psychometrics.IndicatorSimilarity, fmt.Sprintf("%d matching answers, %s expected", f.Matches, num2(f.ExpectedMatches)), f.SimilarityPAdj)
	slices.SortStableFunc(st.Indicators, func(x, y caseIndicator) int {
		if x.P != y.P {
			if x.P < y.P {
				return -1
			}
			return 1
		}
		return 0
	})
	if f.PartnerAttemptID != "" {
		partner, _ := ex.Attempt(f.PartnerAttemptID)
		name, err := names.of(partner.CandidateID)
		if err != nil {
			return st, err
		}
		st.Partner = &casePartner{AttemptID: f.PartnerAttemptID, Candidate: name, Matches: f.Matches, Expected: f.ExpectedMatches,
			P: f.SimilarityP, PAdj: f.SimilarityPAdj}
		for _, p := range ex.Pairs {
			if (p.AttemptA == a.ID && p.AttemptB == f.PartnerAttemptID) || (p.AttemptB == a.ID && p.AttemptA == f.PartnerAttemptID) {
				st.Partner.Flagged = true
			}
		}
	}
	return st, nil
}

// num2 writes a statistic with two decimals, "–" when undefined.
func num2(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// caseTimeline merges everything recorded about the attempt, in time order.
func (s *Server) caseTimeline(ctx context.Context, d *caseFile, ex *assess.ExamForensics, names *nameBook) error {
	a := d.Attempt
	// Entries of one moment keep this order: the start, answers, what the
	// page and camera recorded, messages, the submission, then actions.
	var out []caseEntry
	out = append(out, caseEntry{At: a.StartedAt, Type: entryMilestone, Kind: "started", Label: "Attempt started"})
	answers, err := s.caseAnswers(ctx, d, ex)
	if err != nil {
		return err
	}
	out = append(out, answers...)

	events, err := s.cfg.Proctor.Events(ctx, a.ID)
	if err != nil {
		return err
	}
	sum := proctor.Summary{AttemptID: a.ID, Counts: map[string]int{}}
	snaps := map[string]*caseEntry{}
	var shots []caseEntry
	if s.cfg.Snapshots != nil {
		list, err := s.cfg.Snapshots.OfAttempt(ctx, a.ID)
		if err != nil {
			return err
		}
		shots = make([]caseEntry, len(list))
		for i, sn := range list {
			shots[i] = caseEntry{At: sn.ReceivedAt, Type: entrySnapshot, Kind: proctor.SnapshotTaken, Label: "Webcam snapshot",
				Snapshot: &caseSnapshot{ID: sn.ID, Faces: sn.Faces, LookingAway: sn.LookingAway, TakenAt: sn.TakenAt, Deleted: sn.DeletedAt != nil}}
			shots[i].Snapshot.Caption = "Webcam snapshot received at " + sn.ReceivedAt.UTC().Format("15:04:05 UTC") + " · " + shots[i].Snapshot.Badge()
			snaps[sn.ID] = &shots[i]
		}
		d.Snapshots = len(list)
	}
	for _, e := range events {
		sum.Counts[e.Kind]++
		if e.Kind == proctor.Heartbeat {
			continue
		}
		// A snapshot and its face check are one entry: the snapshot's.
		if e.Kind == proctor.SnapshotTaken || slices.Contains(faceFindings, e.Kind) {
			if sn := snaps[snapshotOf(e.Detail)]; sn != nil {
				if e.Kind == proctor.SnapshotTaken {
					sn.Seq = e.Seq
				} else {
					sn.Snapshot.Flags = append(sn.Snapshot.Flags, e.Kind)
					sn.Incident = true
				}
				continue
			}
		}
		out = append(out, caseEntry{At: e.ReceivedAt, Type: entryEvent, Kind: e.Kind, Label: kindLabel(e.Kind), Detail: e.Detail,
			Incident: !proctor.Informational(e.Kind), Seq: e.Seq, ClientAt: e.ClientAt})
	}
	for _, k := range proctor.Kinds {
		if n := sum.Counts[k]; n > 0 && !proctor.Informational(k) {
			d.Incidents = append(d.Incidents, kindCount{Kind: k, Label: kindLabel(k), N: n})
		}
	}
	out = append(out, shots...)

	for _, m := range d.Messages {
		who, err := names.of(m.SenderID)
		if err != nil {
			return err
		}
		out = append(out, caseEntry{At: m.SentAt, Type: entryMessage, Kind: "message", Label: "Message to the candidate", Detail: m.Body, Actor: who})
	}
	if a.SubmittedAt != nil && a.TerminatedAt == nil {
		label := "Submitted by the candidate"
		switch a.SubmittedBy {
		case "deadline":
			label = "Submitted when time ran out"
		case "import":
			label = "Submitted (an imported attempt: its times are as recorded elsewhere)"
		}
		out = append(out, caseEntry{At: *a.SubmittedAt, Type: entryMilestone, Kind: "submitted", Label: label})
	}
	actions, err := s.caseActions(ctx, a, names)
	if err != nil {
		return err
	}
	out = append(out, actions...)
	slices.SortStableFunc(out, func(x, y caseEntry) int { return x.At.Compare(y.At) })
	d.Timeline = out
	return nil
}

// caseAnswers are the attempt's answered items, each with its time on the
// item against the item's typical time in the exam's screening (ex, nil
// when not screened).
func (s *Server) caseAnswers(ctx context.Context, d *caseFile, ex *assess.ExamForensics) ([]caseEntry, error) {
	a := d.Attempt
	var out []caseEntry
	timings, err := s.cfg.Assess.AnswerTimings(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	d.Delivered = len(timings)
	for _, t := range timings {
		if !t.Answered || t.AnsweredAt == nil {
			continue
		}
		d.Answered++
		ans := &caseAnswer{Position: t.Position, ItemID: t.ItemID, Seconds: t.Seconds, Correct: t.Correct, Median: math.NaN(), Z: math.NaN()}
		if ex != nil {
			if tm, ok := ex.Timing(a.ID, t.ItemID); ok {
				ans.Median, ans.Z, ans.Fast, ans.Rapid = tm.Median, tm.Z, tm.Fast, tm.Rapid
			}
		}
		out = append(out, caseEntry{At: *t.AnsweredAt, Type: entryAnswer, Kind: "answer", Label: fmt.Sprintf("Answered question %d", t.Position),
			Incident: ans.Fast || ans.Rapid, Answer: ans})
	}
	return out, nil
}

// snapshotOf is the snapshot id an event's detail names ("snapshot <id>
// sha256:…", possibly after other words), "" when none.
func snapshotOf(detail string) string {
	_, rest, ok := strings.Cut(detail, "snapshot ")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, " ")
	return id
}

// caseActions are the proctors' and reviewers' audited actions on the
// attempt (messages come from the messages themselves); without an audit
// reader, the end of the attempt as the attempt records it.
func (s *Server) caseActions(ctx context.Context, a assess.Attempt, names *nameBook) ([]caseEntry, error) {
	if s.cfg.Audit == nil {
		if a.TerminatedAt == nil {
			return nil, nil
		}
		return []caseEntry{{At: *a.TerminatedAt, Type: entryAction, Kind: "attempt.terminate", Label: "Ended by the proctor",
			Detail: a.TerminationReason, Incident: true}}, nil
	}
	records, err := s.cfg.Audit.List(ctx, "attempt:"+a.ID, 1000)
	if err != nil {
		return nil, err
	}
	var out []caseEntry
	for _, r := range slices.Backward(records) { // oldest first
		e := caseEntry{At: r.At, Type: entryAction, Kind: r.Action}
		var after map[string]any
		_ = json.Unmarshal([]byte(r.After), &after)
		detail, _ := after["detail"].(map[string]any)
		switch r.Action {
		case "attempt.hold":
			e.Label, e.Detail = "Paused by the proctor", str(detail["reason"])
		case "attempt.resume":
			e.Label = "Resumed by the proctor"
			if sec, ok := detail["held_seconds"].(float64); ok {
				e.Detail = "after " + durationWords(time.Duration(sec)*time.Second)
			}
		case "attempt.add_time":
			e.Label = "Time added"
			if sec, ok := detail["added_seconds"].(float64); ok {
				e.Label = "Added " + durationWords(time.Duration(sec)*time.Second)
			}
			e.Detail = str(detail["reason"])
		case "attempt.terminate":
			e.Label, e.Detail, e.Incident = "Ended by the proctor", str(after["reason"]), true
		case "attempt.review.open":
			e.Label = "Sent to review"
			if rs, ok := after["Reasons"].([]any); ok {
				parts := make([]string, len(rs))
				for i, x := range rs {
					parts[i] = str(x)
				}
				e.Detail = strings.Join(parts, "; ")
			}
		case "attempt.review.decide":
			e.Label, e.Detail = "Review decided: "+str(after["Status"]), str(after["Note"])
		default:
			continue // messages are listed from the messages
		}
		if e.Actor, err = actorName(names, r.Actor); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// actorName is who acted: a user's name, or "Automatic" for the system.
func actorName(names *nameBook, id string) (string, error) {
	if id == "system" || strings.HasPrefix(id, "system:") {
		return "Automatic", nil
	}
	return names.of(id)
}

// str is v when it is a string, "" otherwise.
func str(v any) string {
	s, _ := v.(string)
	return s
}

// durationWords writes a duration as "5 min" or "45 s".
func durationWords(d time.Duration) string {
	if d < time.Minute {
		return strconv.Itoa(int(d/time.Second)) + " s"
	}
	return trimNumber(math.Round(d.Minutes()*10)/10) + " min"
}

// pageProctorAttempt is the case file page.
func (s *Server) pageProctorAttempt(c *fiber.Ctx) error {
	a, err := s.staffAttempt(c, assess.StaffProctor, assess.StaffReviewer)
	if err != nil {
		return err
	}
	d, err := s.caseFileOf(c, a)
	if err != nil {
		return err
	}
	return s.render(c, "proctor_attempt", d)
}

// apiCaseFile is the case file as JSON.
func (s *Server) apiCaseFile(c *fiber.Ctx) error {
	a, err := s.staffAttempt(c, assess.StaffProctor, assess.StaffReviewer)
	if err != nil {
		return err
	}
	d, err := s.caseFileOf(c, a)
	if err != nil {
		return err
	}
	return c.JSON(d.json())
}

// json is the case file as the API returns it.
func (d *caseFile) json() fiber.Map {
	a := d.Attempt
	var review any
	if d.Review != nil {
		review = reviewJSON(*d.Review)
	}
	incidents := map[string]int{}
	for _, k := range d.Incidents {
		incidents[k.Kind] = k.N
	}
	reasons := d.Behaviour.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	timeline := make([]fiber.Map, len(d.Timeline))
	for i, e := range d.Timeline {
		m := fiber.Map{"at": e.At.UTC(), "type": e.Type, "kind": e.Kind, "label": e.Label, "detail": e.Detail, "incident": e.Incident,
			"seq": nil, "client_at": e.ClientAt, "actor": e.Actor, "snapshot": nil, "answer": nil}
		if e.Seq > 0 {
			m["seq"] = e.Seq
		}
		if sn := e.Snapshot; sn != nil {
			flags := sn.Flags
			if flags == nil {
				flags = []string{}
			}
			m["snapshot"] = fiber.Map{"id": sn.ID, "url": "/api/v1/snapshots/" + sn.ID, "faces": sn.Faces, "looking_away": sn.LookingAway,
				"taken_at": sn.TakenAt, "deleted": sn.Deleted, "flags": flags}
		}
		if an := e.Answer; an != nil {
			m["answer"] = fiber.Map{"position": an.Position, "item_id": an.ItemID, "seconds": an.Seconds, "correct": an.Correct,
				"median_seconds": finite(an.Median), "z": finite(an.Z), "fast": an.Fast, "rapid": an.Rapid}
		}
		timeline[i] = m
	}
	chain := fiber.Map{"intact": d.Chain.Intact, "events": d.Chain.Events, "unchained": d.Chain.Unchained, "head": d.Chain.Head,
		"problem": d.Chain.Problem, "broken_at": nil}
	if d.Chain.BrokenAt > 0 {
		chain["broken_at"] = d.Chain.BrokenAt
	}
	return fiber.Map{
		"attempt": fiber.Map{"id": a.ID, "exam_id": a.ExamID, "exam": d.Exam.Title, "candidate_id": a.CandidateID,
			"candidate": d.Candidate.Name, "status": a.Status, "started_at": a.StartedAt.UTC(), "submitted_at": a.SubmittedAt,
			"submitted_by": a.SubmittedBy, "terminated_at": a.TerminatedAt, "termination_reason": a.TerminationReason,
			"answered": d.Answered, "delivered": d.Delivered, "snapshots": d.Snapshots},
		"behaviour":  fiber.Map{"risk": d.Behaviour.Risk, "reasons": reasons, "incidents": incidents},
		"review":     review,
		"statistics": d.Statistics.json(),
		"chain":      chain,
		"timeline":   timeline,
	}
}

// json is the screening as the API returns it.
func (st caseStatistics) json() fiber.Map {
	out := fiber.Map{"screened": st.Screened, "note": st.Note}
	if !st.Screened {
		return out
	}
	f := st.F
	var partner any
	if p := st.Partner; p != nil {
		partner = fiber.Map{"attempt_id": p.AttemptID, "candidate": p.Candidate, "matches": p.Matches, "expected_matches": finite(p.Expected),
			"p": finite(p.P), "p_adjusted": finite(p.PAdj), "pair_flagged": p.Flagged}
	}
	indicators := make([]fiber.Map, len(st.Indicators))
	for i, x := range st.Indicators {
		indicators[i] = fiber.Map{"name": x.Name, "p": finite(x.P), "driver": x.Driver}
	}
	driver := any(f.Driver)
	if f.Driver == "" {
		driver = nil
	}
	maps.Copy(out, fiber.Map{
		"attempts": st.Attempts, "alpha": st.Alpha, "person_fit_note": st.PersonFitNote, "times_note": st.TimesNote,
		"calibration": st.Calibration, "window": fiber.Map{"id": st.Window.ID, "start": st.Window.Start, "end": st.Window.End, "attempts": st.Window.Attempts},
		"rank": f.Rank, "risk": finite(f.Risk), "driver": driver, "flagged": f.Flagged,
		"theta": finite(f.Theta), "lz_star": finite(f.LzStar), "lz_star_p": finite(f.LzStarP),
		"timed": f.Timed, "fast": f.Fast, "lt": finite(f.Lt), "lt_p": finite(f.LtP),
		"hard_correct": f.HardCorrect, "preknowledge_z": finite(f.PreknowledgeZ), "preknowledge_p": finite(f.PreknowledgeP),
		"rapid": f.Rapid, "rapid_correct": f.RapidCorrect, "rapid_p": finite(f.RapidP),
		"partner": partner, "indicators": indicators,
	})
	return out
}
