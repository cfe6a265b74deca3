package web

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// Check-in before a proctored exam: the candidate reads what is recorded,
// checks camera, browser and connection, takes a photo of themselves and
// of their ID, accepts the exam's rules and submits; the exam's policy or
// one of its proctors admits them, and only then does the exam start.

// notifyAdmission tells the proctors of the check-in's exam, on every
// instance, that it now waits for admission or was admitted or rejected,
// so that their admissions pages and consoles follow; and tells the
// candidate's waiting page of a decision. A check-in the exam's policy
// admitted never waited and is not announced.
func (s *Server) notifyAdmission(ctx context.Context, ci assess.Checkin) {
	if ci.DecidedBy == assess.DecidedAutomatically || s.cfg.Live == nil {
		return
	}
	s.publishConsole(ctx, consoleEvent{Type: "checkin", ExamID: ci.ExamID, CheckinID: ci.ID, Status: ci.Status})
	if ci.Status == assess.CheckinPending {
		return
	}
	e := checkinEvent{Type: "decided", Status: ci.Status, At: s.cfg.Now().UTC()}
	if err := s.publishOn(ctx, checkinChannel, ci.ID, e); err != nil {
		s.cfg.Logger.Warn("check-in decision not published", "checkin", ci.ID, "err", err)
	}
}

// checkinChannel carries proctors' decisions to the candidates waiting
// for them, keyed by check-in, across the deployment.
const checkinChannel = "live:checkins"

// checkinEvent is what a candidate's waiting page learns: that a proctor
// admitted or rejected the check-in. The page reads the check-in again
// for the rest (the proctor's note).
type checkinEvent struct {
	Type   string    `json:"type"`   // "decided"
	Status string    `json:"status"` // admitted or rejected
	At     time.Time `json:"at"`
}

// apiCheckinLive streams a proctor's decision on the check-in to its
// candidate as server-sent events, from any instance. Only an
// event-stream client is served (406 otherwise).
func (s *Server) apiCheckinLive(c *fiber.Ctx) error {
	if !strings.Contains(c.Get(fiber.HeaderAccept), "text/event-stream") {
		return fiber.NewError(fiber.StatusNotAcceptable, "this is a stream of server-sent events: send Accept: text/event-stream")
	}
	ci, err := s.ownCheckin(c)
	if err != nil {
		return err
	}
	if s.cfg.Live == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "live updates are not configured")
	}
	msgs, cancel, err := s.listen(&s.hub.checkins, checkinChannel, ci.ID)
	if err != nil {
		return err
	}
	return s.serveStream(c, msgs, cancel)
}

// maxProbeBytes bounds the upload with which the check-in page measures
// the candidate's connection.
const maxProbeBytes = 256 << 10

// checkinPhotoKinds are the photos a check-in takes.
var checkinPhotoKinds = []string{proctor.CandidatePhoto, proctor.IDPhoto}

func snapshotURL(id string) string { return "/api/v1/snapshots/" + id }

func photoJSON(p proctor.Snapshot) fiber.Map {
	return fiber.Map{"id": p.ID, "kind": p.Kind, "content_type": p.ContentType, "bytes": p.Bytes,
		"received_at": p.ReceivedAt, "url": snapshotURL(p.ID)}
}

// latestPhotos returns the newest stored photo of each kind of a
// check-in (a retake replaces the one before).
func (s *Server) latestPhotos(ctx context.Context, checkinID string) (map[string]proctor.Snapshot, error) {
	out := map[string]proctor.Snapshot{}
	if s.cfg.Snapshots == nil {
		return out, nil
	}
	list, err := s.cfg.Snapshots.OfCheckin(ctx, checkinID)
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		if p.DeletedAt != nil {
			continue
		}
		if old, ok := out[p.Kind]; !ok || !p.ReceivedAt.Before(old.ReceivedAt) {
			out[p.Kind] = p
		}
	}
	return out, nil
}

// checkinJSON is a check-in as the API answers it: its state, the system
// check as an object, the latest photo of each kind, and what is still
// missing before it can be submitted.
func (s *Server) checkinJSON(ctx context.Context, ci assess.Checkin) (fiber.Map, error) {
	photos, err := s.latestPhotos(ctx, ci.ID)
	if err != nil {
		return nil, err
	}
	missing, err := s.cfg.Assess.Missing(ctx, ci)
	if err != nil {
		return nil, err
	}
	if ci.Status != assess.CheckinOpen || missing == nil {
		missing = []string{}
	}
	list := []fiber.Map{}
	for _, kind := range checkinPhotoKinds {
		if p, ok := photos[kind]; ok {
			list = append(list, photoJSON(p))
		}
	}
	var system any
	if sc, ok := ci.System(); ok {
		system = sc
	}
	var attempt any
	if ci.AttemptID != "" {
		attempt = ci.AttemptID
	}
	return fiber.Map{"id": ci.ID, "exam_id": ci.ExamID, "candidate_id": ci.CandidateID, "status": ci.Status,
		"system_check": system, "rules_accepted_at": ci.RulesAcceptedAt, "created_at": ci.CreatedAt,
		"submitted_at": ci.SubmittedAt, "decided_at": ci.DecidedAt, "decided_by": ci.DecidedBy, "note": ci.Note,
		"attempt_id": attempt, "photos": list, "missing": missing}, nil
}

func (s *Server) writeCheckin(c *fiber.Ctx, ci assess.Checkin, status int) error {
	body, err := s.checkinJSON(c.UserContext(), ci)
	if err != nil {
		return err
	}
	return c.Status(status).JSON(body)
}

// viewCheckin loads the route's check-in for its candidate, or for a
// proctor of its exam; to anyone else it is not there.
func (s *Server) viewCheckin(c *fiber.Ctx) (assess.Checkin, error) {
	ci, err := s.cfg.Assess.Checkin(c.UserContext(), c.Params("id"))
	if err != nil {
		return assess.Checkin{}, err
	}
	if ci.CandidateID == currentUser(c).ID {
		return ci, nil
	}
	if err := s.examStaff(c, ci.ExamID, assess.StaffProctor); err != nil {
		return assess.Checkin{}, err
	}
	return ci, nil
}

// ownCheckin loads the route's check-in of the signed-in candidate.
func (s *Server) ownCheckin(c *fiber.Ctx) (assess.Checkin, error) {
	ci, err := s.cfg.Assess.Checkin(c.UserContext(), c.Params("id"))
	if err != nil {
		return assess.Checkin{}, err
	}
	if ci.CandidateID != currentUser(c).ID {
		return assess.Checkin{}, assess.ErrNotFound
	}
	return ci, nil
}

// proctorCheckin loads the route's check-in for a proctor of its exam.
func (s *Server) proctorCheckin(c *fiber.Ctx) (assess.Checkin, error) {
	ci, err := s.cfg.Assess.Checkin(c.UserContext(), c.Params("id"))
	if err != nil {
		return assess.Checkin{}, err
	}
	if err := s.examStaff(c, ci.ExamID, assess.StaffProctor); err != nil {
		return assess.Checkin{}, err
	}
	return ci, nil
}

// The candidate's API.

func (s *Server) apiOpenCheckin(c *fiber.Ctx) error {
	ci, err := s.cfg.Assess.OpenCheckin(c.UserContext(), c.Params("id"), currentUser(c).ID)
	if err != nil {
		return err
	}
	return s.writeCheckin(c, ci, fiber.StatusOK)
}

func (s *Server) apiCheckin(c *fiber.Ctx) error {
	ci, err := s.viewCheckin(c)
	if err != nil {
		return err
	}
	return s.writeCheckin(c, ci, fiber.StatusOK)
}

func (s *Server) apiCheckinSystem(c *fiber.Ctx) error {
	// Ownership first: to anyone else the check-in is not there, whatever
	// the body.
	if _, err := s.ownCheckin(c); err != nil {
		return err
	}
	if len(c.Body()) == 0 {
		return &badRequest{field: "body", message: "a JSON body is required"}
	}
	ci, err := s.cfg.Assess.SaveSystemCheck(c.UserContext(), c.Params("id"), currentUser(c).ID, c.Body())
	if err != nil {
		return err
	}
	return s.writeCheckin(c, ci, fiber.StatusOK)
}

// apiCheckinProbe takes a small upload and discards it, so that the page
// can time it.
func (s *Server) apiCheckinProbe(c *fiber.Ctx) error {
	if _, err := s.ownCheckin(c); err != nil {
		return err
	}
	if len(c.Body()) > maxProbeBytes {
		return &tooLarge{field: "body", limit: maxProbeBytes}
	}
	return c.JSON(fiber.Map{"bytes": len(c.Body())})
}

func (s *Server) apiCheckinPhoto(c *fiber.Ctx) error {
	ctx := c.UserContext()
	ci, err := s.ownCheckin(c)
	if err != nil {
		return err
	}
	kind := c.Query("kind")
	if !slices.Contains(checkinPhotoKinds, kind) {
		return valid.Errorf("kind", "must be %s or %s", proctor.CandidatePhoto, proctor.IDPhoto)
	}
	if ci.Status != assess.CheckinOpen {
		return assess.ErrCheckinStatus
	}
	if s.cfg.Snapshots == nil {
		return errors.New("web: no snapshot store configured")
	}
	keep, err := s.cfg.Assess.SnapshotRetention(ctx, ci.ExamID)
	if err != nil {
		return err
	}
	img, err := proctor.CheckImage(c.Body())
	if err != nil {
		return err
	}
	taken := s.cfg.Now().UTC()
	snap, _, err := s.cfg.Snapshots.Put(ctx, proctor.NewSnapshot{CheckinID: ci.ID, Kind: kind, Image: img, TakenAt: &taken, Retention: keep})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(photoJSON(snap))
}

func (s *Server) apiCheckinRules(c *fiber.Ctx) error {
	ci, err := s.cfg.Assess.AcceptRules(c.UserContext(), c.Params("id"), currentUser(c).ID)
	if err != nil {
		return err
	}
	return s.writeCheckin(c, ci, fiber.StatusOK)
}

func (s *Server) apiSubmitCheckin(c *fiber.Ctx) error {
	ci, err := s.cfg.Assess.SubmitCheckin(c.UserContext(), c.Params("id"), currentUser(c).ID)
	if err != nil {
		return err
	}
	s.notifyAdmission(c.UserContext(), ci)
	return s.writeCheckin(c, ci, fiber.StatusOK)
}

// The proctor's API.

func (s *Server) apiPendingCheckins(c *fiber.Ctx) error {
	examID := c.Params("id")
	if err := s.examStaff(c, examID, assess.StaffProctor); err != nil {
		return err
	}
	list, err := s.cfg.Assess.PendingCheckins(c.UserContext(), []string{examID})
	if err != nil {
		return err
	}
	return s.writeCheckins(c, list)
}

// apiProctorCheckins lists the check-ins waiting for admission in every
// exam the signed-in user proctors (every exam for an administrator),
// oldest submission first: what the admissions page shows, and what the
// console counts.
func (s *Server) apiProctorCheckins(c *fiber.Ctx) error {
	ctx := c.UserContext()
	ids, _, err := s.admissionExams(ctx, currentUser(c))
	if err != nil {
		return err
	}
	list, err := s.cfg.Assess.PendingCheckins(ctx, ids)
	if err != nil {
		return err
	}
	return s.writeCheckins(c, list)
}

func (s *Server) writeCheckins(c *fiber.Ctx, list []assess.Checkin) error {
	out := make([]fiber.Map, 0, len(list))
	for _, ci := range list {
		m, err := s.checkinJSON(c.UserContext(), ci)
		if err != nil {
			return err
		}
		out = append(out, m)
	}
	return c.JSON(out)
}

func (s *Server) apiAdmitCheckin(c *fiber.Ctx) error {
	ci, err := s.admit(c)
	if err != nil {
		return err
	}
	return s.writeCheckin(c, ci, fiber.StatusOK)
}

func (s *Server) apiRejectCheckin(c *fiber.Ctx) error {
	if _, err := s.proctorCheckin(c); err != nil {
		return err
	}
	var in struct {
		Note string `json:"note"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	ci, err := s.reject(c, in.Note)
	if err != nil {
		return err
	}
	return s.writeCheckin(c, ci, fiber.StatusOK)
}

func (s *Server) admit(c *fiber.Ctx) (assess.Checkin, error) {
	ci, err := s.proctorCheckin(c)
	if err != nil {
		return assess.Checkin{}, err
	}
	if ci, err = s.cfg.Assess.AdmitCheckin(c.UserContext(), currentUser(c).ID, ci.ID); err != nil {
		return assess.Checkin{}, err
	}
	s.notifyAdmission(c.UserContext(), ci)
	return ci, nil
}

func (s *Server) reject(c *fiber.Ctx, note string) (assess.Checkin, error) {
	ci, err := s.proctorCheckin(c)
	if err != nil {
		return assess.Checkin{}, err
	}
	if ci, err = s.cfg.Assess.RejectCheckin(c.UserContext(), currentUser(c).ID, ci.ID, note); err != nil {
		return assess.Checkin{}, err
	}
	s.notifyAdmission(c.UserContext(), ci)
	return ci, nil
}

// The candidate's check-in page.

// recordedKind is a proctoring event kind in plain words, for the
// candidate to read before anything is recorded.
type recordedKind struct{ What, Why string }

// recordedKinds say what the exam page records, in the candidate's terms.
var recordedKinds = []recordedKind{
	{"Leaving the exam window or hiding its tab", "and coming back"},
	{"Leaving full screen", ""},
	{"Copying, pasting, printing and right-clicking", "the text is not recorded, only that it happened"},
	{"Resizing the window, or a second screen", "where the browser can tell"},
	{"Losing the connection", "and getting it back, and gaps in the page's regular signal"},
	{"The camera stopping", "or being turned off"},
	{"What the face check of each snapshot finds", "no face, more than one face, or looking away from the screen"},
}

// checkinStep is one step of the check-in, in order.
type checkinStep struct{ ID, Label string }

var checkinSteps = []checkinStep{
	{"privacy", "What is recorded"},
	{"system", "System check"},
	{"photos", "Photos"},
	{"rules", "Rules"},
	{"admission", "Admission"},
}

type checkinData struct {
	Exam            assess.Exam
	Checkin         *assess.Checkin // the latest not used; nil before the first
	Steps           []checkinStep
	Step            string // the step shown first
	Rules           []string
	Recorded        []recordedKind
	SnapshotSeconds int
	RetentionDays   int
	ByProctor       bool
}

// photoSlot is a photo the check-in takes, as the page asks for it.
type photoSlot struct{ Kind, Title, Hint string }

var photoSlots = []photoSlot{
	{proctor.CandidatePhoto, "Photo of you", "Face the camera in good light, with nothing covering your face."},
	{proctor.IDPhoto, "Photo of your ID", "Hold your photo ID close to the camera so that your photo and name can be read."},
}

// Photos are the photos to take, in order.
func (d checkinData) Photos() []photoSlot { return photoSlots }

// Minutes is the exam's time limit in minutes.
func (d checkinData) Minutes() int { return int(d.Exam.Duration / time.Minute) }

// Status is the check-in's status, "" before one exists.
func (d checkinData) Status() string {
	if d.Checkin == nil {
		return ""
	}
	return d.Checkin.Status
}

// pageCheckin shows the check-in of an exam that requires one. It starts
// nothing: the page's script opens the check-in once the candidate has
// read what is recorded.
func (s *Server) pageCheckin(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := currentUser(c)
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	if !exam.Proctoring.CheckIn {
		return c.Redirect("/exams", fiber.StatusSeeOther)
	}
	attempts, err := s.cfg.Assess.AttemptsOf(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, a := range attempts {
		if a.ExamID == exam.ID && a.Status == assess.InProgress {
			return c.Redirect("/attempts/"+a.ID, fiber.StatusSeeOther)
		}
	}
	keep, err := s.cfg.Assess.SnapshotRetention(ctx, exam.ID)
	if err != nil {
		return err
	}
	d := checkinData{Exam: exam, Steps: checkinSteps, Step: "privacy", Rules: assess.CheckinRules(exam.Proctoring),
		Recorded: recordedKinds, SnapshotSeconds: exam.Proctoring.SnapshotSeconds, RetentionDays: int(keep / (24 * time.Hour)),
		ByProctor: exam.Proctoring.Admission == assess.AdmitByProctor}
	ci, err := s.cfg.Assess.LatestCheckin(ctx, exam.ID, u.ID)
	switch {
	case err == nil:
		d.Checkin = &ci
		if ci.Status == assess.CheckinPending || ci.Status == assess.CheckinAdmitted {
			d.Step = "admission"
		}
	case !errors.Is(err, assess.ErrNotFound):
		return err
	}
	return s.render(c, "checkin", d)
}

// The proctor's admissions page.

type admissionView struct {
	Checkin   assess.Checkin
	Candidate auth.User
	Exam      string
	System    assess.SystemCheck
	HasSystem bool
	Photo     *proctor.Snapshot
	IDPhoto   *proctor.Snapshot
}

// PhotoURL is where the candidate's photo is served.
func (v admissionView) PhotoURL() string { return snapshotURL(v.Photo.ID) }

// IDPhotoURL is where the photo of the ID is served.
func (v admissionView) IDPhotoURL() string { return snapshotURL(v.IDPhoto.ID) }

// Waiting is how long the candidate has waited since submitting, in words.
func (v admissionView) Waiting(now time.Time) string {
	if v.Checkin.SubmittedAt == nil {
		return ""
	}
	d := now.Sub(*v.Checkin.SubmittedAt)
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < 2*time.Minute:
		return "1 minute"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	default:
		return "over an hour"
	}
}

type admissionsData struct {
	Pending    []admissionView
	Now        time.Time
	Done       string // what the last decision did, for the notice
	Error      string
	ErrorID    string // the check-in whose decision was refused
	ErrorField string
	Note       string // the refused note, as typed
	Exams      int    // how many exams the proctor admits for
}

// admissionExams are the exams whose check-ins the signed-in user admits:
// every exam for an administrator, else those they proctor.
func (s *Server) admissionExams(ctx context.Context, u auth.User) ([]string, map[string]string, error) {
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return nil, nil, err
	}
	titles := map[string]string{}
	for _, e := range exams {
		titles[e.ID] = e.Title
	}
	var ids []string
	if u.Has(auth.Admin) {
		for _, e := range exams {
			ids = append(ids, e.ID)
		}
		return ids, titles, nil
	}
	mine, err := s.cfg.Assess.StaffExams(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	for id, roles := range mine {
		if slices.Contains(roles, assess.StaffProctor) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, titles, nil
}

// waitingCount is how many check-ins wait for admission in the exams u
// proctors (in every exam for an administrator).
func (s *Server) waitingCount(ctx context.Context, u auth.User) (int, error) {
	ids, _, err := s.admissionExams(ctx, u)
	if err != nil {
		return 0, err
	}
	pending, err := s.cfg.Assess.PendingCheckins(ctx, ids)
	return len(pending), err
}

// admissionNotices say what a redirect after a decision did.
var admissionNotices = map[string]string{
	"admitted": "The candidate is admitted. Their page now offers the start of the exam.",
	"rejected": "The check-in is rejected. The candidate sees your note and may check in again.",
}

func (s *Server) pageAdmissions(c *fiber.Ctx) error {
	return s.admissions(c, nil, "")
}

func (s *Server) admissions(c *fiber.Ctx, refused error, refusedID string) error {
	ctx := c.UserContext()
	u := currentUser(c)
	ids, titles, err := s.admissionExams(ctx, u)
	if err != nil {
		return err
	}
	pending, err := s.cfg.Assess.PendingCheckins(ctx, ids)
	if err != nil {
		return err
	}
	d := admissionsData{Now: s.cfg.Now(), Done: admissionNotices[c.Query("done")], Exams: len(ids)}
	if refused != nil {
		status, body := classify(refused)
		if status >= 500 {
			return refused
		}
		c.Status(status)
		d.Error, d.ErrorField, d.ErrorID, d.Note = body.Message, body.Field, refusedID, c.FormValue("note")
	}
	for _, ci := range pending {
		v := admissionView{Checkin: ci, Exam: titles[ci.ExamID]}
		if v.Candidate, err = s.cfg.Auth.User(ctx, ci.CandidateID); err != nil && !errors.Is(err, auth.ErrNotFound) {
			return err
		}
		v.System, v.HasSystem = ci.System()
		photos, err := s.latestPhotos(ctx, ci.ID)
		if err != nil {
			return err
		}
		if p, ok := photos[proctor.CandidatePhoto]; ok {
			v.Photo = &p
		}
		if p, ok := photos[proctor.IDPhoto]; ok {
			v.IDPhoto = &p
		}
		d.Pending = append(d.Pending, v)
	}
	if !slices.ContainsFunc(d.Pending, func(v admissionView) bool { return v.Checkin.ID == d.ErrorID }) {
		d.ErrorID = "" // decided meanwhile: the reason goes above the list
	}
	return s.render(c, "admissions", d)
}

func (s *Server) postAdmitCheckin(c *fiber.Ctx) error {
	if _, err := s.admit(c); err != nil {
		if errors.Is(err, assess.ErrNotFound) {
			return err
		}
		return s.admissions(c, err, c.Params("id"))
	}
	return c.Redirect("/proctor/admissions?done=admitted", fiber.StatusSeeOther)
}

func (s *Server) postRejectCheckin(c *fiber.Ctx) error {
	if _, err := s.reject(c, c.FormValue("note")); err != nil {
		if errors.Is(err, assess.ErrNotFound) {
			return err
		}
		return s.admissions(c, err, c.Params("id"))
	}
	return c.Redirect("/proctor/admissions?done=rejected", fiber.StatusSeeOther)
}

// Connection is the system check's connection figures in words.
func (v admissionView) Connection() string {
	c := v.System.Connection
	rate := strconv.FormatFloat(c.UploadKbps, 'f', 0, 64) + " kbit/s"
	if c.UploadKbps >= 1000 {
		rate = strconv.FormatFloat(c.UploadKbps/1000, 'f', 1, 64) + " Mbit/s"
	}
	return strconv.FormatFloat(c.RoundTripMS, 'f', 0, 64) + " ms round trip, " + rate + " upload"
}

// Summary is the system check in a few words.
func (v admissionView) Summary() string {
	sc := v.System
	var parts []string
	if sc.Camera {
		parts = append(parts, "camera working")
	} else {
		parts = append(parts, "no camera")
	}
	if sc.Browser {
		parts = append(parts, "browser ready")
	} else {
		var missing []string
		for name, ok := range sc.Features {
			if !ok {
				missing = append(missing, name)
			}
		}
		slices.Sort(missing)
		parts = append(parts, "browser lacks "+strings.Join(missing, ", "))
	}
	return strings.Join(parts, " · ")
}
