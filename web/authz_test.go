package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// Who may call each route, written down here rather than read from
// routes.go, so that a change of a route's roles must be made twice, on
// purpose. One letter per principal:
//
//	a anonymous   A admin   M program manager   P psychometrician
//	R proctor     W author  C candidate         N panelist
//	r a proctor not assigned to the exam
//
// A signed-in route open to everyone is "AMPRWCNr"; a public one adds "a".
// Attempt, check-in and snapshot routes are called on Candidate's attempt
// of the exam Proctor watches, Candidate's check-in to it and its photo, so
// their rows say who gets past the ownership and exam-staff checks inside
// the handlers too; another candidate's attempt is tested by
// TestAuthzCandidateCannotReachAnotherCandidatesAttempt. Results are read
// by their candidate, by admins, managers and psychometricians, and by the
// proctors of the exam only.
var authzMatrix = map[string]string{
	// Operations, public pages and documents.
	"GET /healthz":                         "aAMPRWCNr",
	"GET /readyz":                          "aAMPRWCNr",
	"GET /":                                "aAMPRWCNr",
	"GET /login":                           "aAMPRWCNr",
	"POST /login":                          "aAMPRWCNr",
	"POST /logout":                         "AMPRWCNr",
	"GET /credentials/:id":                 "aAMPRWCNr",
	"GET /achievements/:slug":              "aAMPRWCNr",
	"GET /issuers/:id":                     "aAMPRWCNr",
	"GET /issuers/:id/jwks.json":           "aAMPRWCNr",
	"GET /issuers/:id/keys/:kid":           "aAMPRWCNr",
	"GET /.well-known/did.json":            "aAMPRWCNr",
	"GET /status-lists/:id/:purpose":       "aAMPRWCNr",
	"GET /ns/v1/context.jsonld":            "aAMPRWCNr",
	"GET /ns/v1/schema.json":               "aAMPRWCNr",
	"GET /achievements/:slug/badge.svg":    "aAMPRWCNr",
	"GET /achievements/:slug/badge.png":    "aAMPRWCNr",
	"GET /credentials/:id/credential.json": "aAMPRWCNr",
	"GET /credentials/:id/credential.jwt":  "aAMPRWCNr",
	"GET /credentials/:id/badge.png":       "aAMPRWCNr",
	"GET /credentials/:id/badge.svg":       "aAMPRWCNr",
	"POST /credentials/:id/visibility":     "AMPRWCNr",
	"POST /credentials/:id/revoke":         "AM",
	"POST /credentials/:id/suspend":        "AM",
	"POST /credentials/:id/reinstate":      "AM",
	"GET /verify":                          "aAMPRWCNr",
	"POST /verify":                         "aAMPRWCNr",

	// Candidates' pages.
	"GET /exams":               "AMPRWCNr",
	"POST /exams/:id/start":    "C",
	"GET /exams/:id/checkin":   "C",
	"GET /attempts/:id":        "C",
	"GET /attempts/:id/result": "AMPRC",
	"GET /badges":              "AMPRWCNr",
	"GET /me/demographics":     "C",
	"POST /me/demographics":    "C",

	// Proctoring pages.
	"GET /proctor":                               "ARr",
	"GET /proctor/attempts/:id":                  "AR",
	"POST /proctor/attempts/:id/hold":            "AR",
	"POST /proctor/attempts/:id/resume":          "AR",
	"POST /proctor/attempts/:id/time":            "AR",
	"POST /proctor/attempts/:id/terminate":       "AR",
	"POST /proctor/attempts/:id/messages":        "AR",
	"GET /proctor/reviews":                       "ARr",
	"GET /proctor/admissions":                    "ARr",
	"POST /proctor/checkins/:id/admit":           "AR",
	"POST /proctor/checkins/:id/reject":          "AR",
	"GET /proctor/exams/:id/forensics":           "AR",
	"GET /proctor/exams/:id/forensics.csv":       "AR",
	"POST /proctor/attempts/:id/review":          "AR",
	"POST /proctor/attempts/:id/review/decision": "AR",

	// Exam management and credentials design.
	"GET /manage/exams/new":                                     "M",
	"POST /manage/exams":                                        "M",
	"GET /manage/exams/:id":                                     "AM",
	"POST /manage/exams/:id/policy":                             "M",
	"POST /manage/exams/:id/accommodations":                     "M",
	"POST /manage/exams/:id/accommodations/:candidateId/remove": "M",
	"POST /manage/exams/:id/proctoring":                         "M",
	"POST /manage/exams/:id/staff":                              "M",
	"POST /manage/exams/:id/staff/:userId/remove":               "M",
	"POST /manage/exams/:id/retention":                          "M",
	"GET /manage/achievements":                                  "M",
	"POST /manage/achievements":                                 "M",
	"GET /manage/achievements/preview.svg":                      "M",
	"GET /manage/achievements/:id":                              "M",
	"POST /manage/achievements/:id":                             "M",
	"POST /manage/achievements/:id/pathways":                    "M",
	"GET /admin/audit":                                          "A",

	// Standard setting: analysts read, managers decide, panelists judge.
	"GET /standards/exams/:id":             "AMP",
	"POST /standards/:id/approve":          "M",
	"GET /standards/exams/:id/studies/new": "M",
	"POST /standards/exams/:id/studies":    "M",
	"GET /studies/:id":                     "AMP",
	"POST /studies/:id/release":            "M",
	"POST /studies/:id/next-round":         "M",
	"POST /studies/:id/adopt":              "M",
	"GET /studies/:id/report":              "AMP",
	"GET /studies/:id/report.pdf":          "AMP",
	"GET /panel":                           "N",
	"GET /panel/studies/:id":               "N",
	"POST /panel/studies/:id":              "N",

	// Item analysis, calibration and DIF: analysts only.
	"GET /psychometrics/exams/:id":                                  "AMP",
	"GET /psychometrics/exams/:id/analysis.json":                    "AMP",
	"GET /psychometrics/exams/:id/summary.csv":                      "AMP",
	"GET /psychometrics/exams/:id/summary.json":                     "AMP",
	"GET /psychometrics/exams/:id/items.csv":                        "AMP",
	"GET /psychometrics/exams/:id/items.json":                       "AMP",
	"GET /psychometrics/exams/:id/responses.csv":                    "AMP",
	"GET /psychometrics/exams/:id/choices.csv":                      "AMP",
	"GET /psychometrics/exams/:id/key.csv":                          "AMP",
	"GET /psychometrics/exams/:id/scores.csv":                       "AMP",
	"GET /psychometrics/exams/:id/score-distribution.svg":           "AMP",
	"GET /psychometrics/exams/:id/score-distribution.png":           "AMP",
	"GET /psychometrics/exams/:id/score-distribution.csv":           "AMP",
	"GET /psychometrics/exams/:id/score-distribution.json":          "AMP",
	"GET /psychometrics/exams/:id/items/:itemId":                    "AMP",
	"GET /psychometrics/exams/:id/items/:itemId/options.csv":        "AMP",
	"GET /psychometrics/exams/:id/items/:itemId/options.json":       "AMP",
	"GET /psychometrics/exams/:id/items/:itemId/options.svg":        "AMP",
	"GET /psychometrics/exams/:id/items/:itemId/options.png":        "AMP",
	"GET /psychometrics/exams/:id/items/:itemId/option-groups.csv":  "AMP",
	"GET /psychometrics/exams/:id/items/:itemId/option-groups.json": "AMP",
	"GET /api/v1/exams/:id/analysis":                                "AMP",
	"GET /psychometrics/exams/:id/calibrations":                     "AMP",
	"POST /psychometrics/exams/:id/calibrations":                    "AMP",
	"GET /psychometrics/exams/:id/calibrations/runs.:format":        "AMP",
	"GET /psychometrics/exams/:id/calibrations/compare.:format":     "AMP",
	"GET /psychometrics/calibrations/:runId":                        "AMP",
	"GET /psychometrics/calibrations/:runId/parameters.:format":     "AMP",
	"GET /psychometrics/calibrations/:runId/figures/:file":          "AMP",
	"GET /psychometrics/exams/:id/dif":                              "AMP",
	"GET /psychometrics/exams/:id/dif.:format":                      "AMP",
	"GET /api/v1/exams/:id/calibrations":                            "AMP",
	"POST /api/v1/exams/:id/calibrations":                           "AMP",
	"GET /api/v1/calibrations/:id":                                  "AMP",
	"GET /api/v1/exams/:id/dif":                                     "AMP",
	"GET /api/v1/me/demographics":                                   "C",
	"PUT /api/v1/me/demographics":                                   "C",

	// Item review and rekeys.
	"GET /psychometrics/items/:id":                        "AMP",
	"POST /psychometrics/items/:id/flag":                  "AMP",
	"POST /psychometrics/items/:id/retire":                "AMP",
	"POST /authoring/items/:id/flags/:flagId/resolve":     "AMPW",
	"GET /psychometrics/item-versions/:id/rekey":          "AMP",
	"POST /psychometrics/item-versions/:id/rekey/preview": "AMP",
	"POST /psychometrics/item-versions/:id/rekey":         "AMP",

	// Item bank: authors write, the bank's readers read, never candidates,
	// proctors or panelists.
	"GET /authoring/items":                         "AMPW",
	"GET /authoring/items/new":                     "AW",
	"POST /authoring/items":                        "AW",
	"POST /authoring/items/import":                 "AW",
	"GET /authoring/items/:id":                     "AMPW",
	"POST /authoring/items/:id":                    "AW",
	"POST /authoring/items/:id/submit":             "AW",
	"POST /authoring/items/:id/approve":            "MPW",
	"POST /authoring/items/:id/request-changes":    "MPW",
	"POST /authoring/items/:id/retire":             "AMP",
	"POST /authoring/items/:id/comments":           "AMPW",
	"POST /authoring/items/:id/enemies":            "AW",
	"GET /authoring/review":                        "MPW",
	"GET /authoring/exams/:id":                     "AW",
	"GET /api/v1/items":                            "AMPW",
	"POST /api/v1/items":                           "AW",
	"POST /api/v1/items/preview":                   "AMPW",
	"POST /api/v1/items/import":                    "AW",
	"GET /api/v1/items/export":                     "AMPW",
	"GET /api/v1/items/:id":                        "AMPW",
	"PUT /api/v1/items/:id":                        "AW",
	"POST /api/v1/items/:id/submit":                "AW",
	"POST /api/v1/items/:id/approve":               "MPW",
	"POST /api/v1/items/:id/request-changes":       "MPW",
	"POST /api/v1/items/:id/retire":                "AMP",
	"GET /api/v1/items/:id/comments":               "AMPW",
	"POST /api/v1/items/:id/comments":              "AMPW",
	"PUT /api/v1/items/:id/enemies":                "AW",
	"GET /api/v1/items/:id/flags":                  "AMPW",
	"POST /api/v1/items/:id/flags":                 "AMP",
	"POST /api/v1/item-flags/:id/resolve":          "AMPW",
	"POST /api/v1/item-versions/:id/rekey/preview": "AMP",
	"POST /api/v1/item-versions/:id/rekey":         "AMP",

	// JSON API: session, self, achievements, exams.
	"GET /api/v1/openapi.json":                             "aAMPRWCNr",
	"POST /api/v1/session":                                 "aAMPRWCNr",
	"DELETE /api/v1/session":                               "AMPRWCNr",
	"GET /api/v1/me":                                       "AMPRWCNr",
	"GET /api/v1/me/credentials":                           "AMPRWCNr",
	"GET /api/v1/me/pathways":                              "AMPRWCNr",
	"GET /api/v1/achievements":                             "M",
	"POST /api/v1/achievements":                            "M",
	"GET /api/v1/achievements/:id":                         "M",
	"PUT /api/v1/achievements/:id":                         "M",
	"POST /api/v1/achievements/:id/pathways":               "M",
	"GET /api/v1/exams":                                    "AMPRWCNr",
	"POST /api/v1/exams":                                   "M",
	"POST /api/v1/exams/:id/attempts":                      "C",
	"PUT /api/v1/exams/:id/policy":                         "M",
	"PUT /api/v1/exams/:id/accommodations/:candidateId":    "M",
	"DELETE /api/v1/exams/:id/accommodations/:candidateId": "M",

	// Attempts: open to any signed-in user at the route, then to the
	// attempt's candidate (and for reading, to staff of its exam) inside;
	// to anyone else the attempt is not there.
	"GET /api/v1/attempts/:id":                   "C",
	"PUT /api/v1/attempts/:id/responses/:itemId": "C",
	"POST /api/v1/attempts/:id/next":             "C",
	"POST /api/v1/attempts/:id/breaks":           "C",
	"POST /api/v1/attempts/:id/submit":           "C",
	"GET /api/v1/attempts/:id/result":            "AMPRC",
	"POST /api/v1/attempts/:id/events":           "C",
	"POST /api/v1/attempts/:id/snapshots":        "C",
	"GET /api/v1/attempts/:id/events":            "AR",
	"GET /api/v1/attempts/:id/case-file":         "AR",
	"GET /api/v1/attempts/:id/live":              "ARC",
	"GET /api/v1/attempts/:id/messages":          "ARC",
	"POST /api/v1/attempts/:id/messages":         "AR",
	"POST /api/v1/attempts/:id/hold":             "AR",
	"POST /api/v1/attempts/:id/resume":           "AR",
	"POST /api/v1/attempts/:id/time":             "AR",
	"POST /api/v1/attempts/:id/terminate":        "AR",
	"GET /api/v1/reviews":                        "ARr",
	"POST /api/v1/attempts/:id/review":           "AR",
	"POST /api/v1/attempts/:id/review/decision":  "AR",
	"PUT /api/v1/exams/:id/proctoring":           "M",
	"GET /api/v1/proctor/attempts":               "ARr",
	"GET /api/v1/proctor/live":                   "ARr",
	"GET /api/v1/proctor/checkins":               "ARr",
	"GET /api/v1/snapshots/:id":                  "ARC",

	// Check-ins: the candidate's own, admitted by proctors.
	"POST /api/v1/exams/:id/checkins":       "C",
	"GET /api/v1/exams/:id/checkins":        "AR",
	"GET /api/v1/checkins/:id":              "ARC",
	"GET /api/v1/checkins/:id/live":         "C",
	"PUT /api/v1/checkins/:id/system-check": "C",
	"POST /api/v1/checkins/:id/probe":       "C",
	"POST /api/v1/checkins/:id/photos":      "C",
	"POST /api/v1/checkins/:id/rules":       "C",
	"POST /api/v1/checkins/:id/submit":      "C",
	"POST /api/v1/checkins/:id/admit":       "AR",
	"POST /api/v1/checkins/:id/reject":      "AR",

	// Staff, retention, statistics and standards.
	"GET /api/v1/exams/:id/staff":              "M",
	"PUT /api/v1/exams/:id/staff/:userId":      "M",
	"DELETE /api/v1/exams/:id/staff/:userId":   "M",
	"PUT /api/v1/programs/:id/retention":       "M",
	"GET /api/v1/exams/:id/statistics":         "AMP",
	"GET /api/v1/exams/:id/standards":          "AMP",
	"POST /api/v1/standards/:id/approve":       "M",
	"POST /api/v1/exams/:id/studies":           "M",
	"GET /api/v1/studies/:id":                  "AMP",
	"GET /api/v1/studies/:id/recommendation":   "AMP",
	"POST /api/v1/studies/:id/release":         "M",
	"POST /api/v1/studies/:id/rounds":          "M",
	"POST /api/v1/studies/:id/adopt":           "M",
	"PUT /api/v1/studies/:id/ratings/:itemId":  "N",
	"PUT /api/v1/studies/:id/judgements/:kind": "N",
	"POST /api/v1/studies/:id/submit":          "N",

	// Credentials and audit.
	"GET /api/v1/credentials/:id":              "aAMPRWCNr",
	"GET /api/v1/credentials/:id/verification": "aAMPRWCNr",
	"POST /api/v1/credentials/:id/revoke":      "AM",
	"POST /api/v1/credentials/:id/suspend":     "AM",
	"POST /api/v1/credentials/:id/reinstate":   "AM",
	"PUT /api/v1/credentials/:id/visibility":   "AMPRWCNr",
	"POST /api/v1/verify":                      "aAMPRWCNr",
	"GET /api/v1/audit":                        "A",
}

// principal is one column of the matrix: its letter and, when signed in,
// its session.
type principal struct {
	letter byte
	name   string
	user   *webtest.User // nil: anonymous
}

// authzScene is the fixture with the ids that fill the routes' parameters:
// real ones, so that an allowed call reaches its handler's work.
type authzScene struct {
	f            *webtest.Fixture
	panelist     webtest.User
	outsider     webtest.User // a proctor not assigned to the exam
	attemptID    string       // an open attempt of Candidate
	checkinID    string       // Candidate's check-in, admitted and used by the attempt
	photoID      string       // the candidate photo of that check-in
	webcamID     string       // a webcam snapshot of the attempt
	credentialID string       // the credential of a candidate who passed
}

// eachAuthzScene runs fn on a fresh scene on every test database.
func eachAuthzScene(t *testing.T, fn func(t *testing.T, s *authzScene)) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) { fn(t, newAuthzScene(t, db)) })
}

func newAuthzScene(t *testing.T, db *gorm.DB) *authzScene {
	f := webtest.New(t, db)
	s := &authzScene{f: f, panelist: f.NewUser(t, "panelist@example.test", "Pim Panelist", auth.Panelist)}
	s.outsider = f.NewUser(t, "proctor2@example.test", "Otto Outsider", auth.Proctor)
	t.Cleanup(f.Server.StopStreams) // the live streams the test opened
	passer := f.NewUser(t, "", "Paz Passer", auth.Candidate)
	s.credentialID = *apiPass(t, f, passer).CredentialID

	// Candidate checks in, is admitted by the exam's proctor and starts:
	// a real check-in with its photos, and an attempt taking snapshots.
	checkinPolicy(t, f, assess.AdmitByProctor)
	cand := f.Token(t, f.Users.Candidate)
	resp := apiCall(t, f, apiReq("POST", "/api/v1/exams/"+f.Exam.ID+"/checkins", cand, nil))
	wantAPIStatus(t, resp, http.StatusOK)
	s.checkinID = checkinDecode(t, resp).ID
	path := "/api/v1/checkins/" + s.checkinID
	img := checkinPNG(t)
	wantAPIStatus(t, apiCall(t, f, checkinRaw("PUT", path+"/system-check", cand, "application/json", []byte(checkinGoodSystem))), http.StatusOK)
	resp = apiCall(t, f, checkinRaw("POST", path+"/photos?kind=candidate_photo", cand, "image/png", img))
	wantAPIStatus(t, resp, http.StatusCreated)
	var photo struct{ ID string }
	resp.JSON(t, &photo)
	s.photoID = photo.ID
	wantAPIStatus(t, apiCall(t, f, checkinRaw("POST", path+"/photos?kind=id_photo", cand, "image/png", img)), http.StatusCreated)
	wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/rules", cand, nil)), http.StatusOK)
	wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/submit", cand, nil)), http.StatusOK)
	wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/admit", f.Token(t, f.Users.Proctor), nil)), http.StatusOK)
	s.attemptID = apiStart(t, f, cand).ID
	resp = apiCall(t, f, captureUpload(s.attemptID, "faces=1", cand, "image/jpeg", captureImage(t, "jpeg")))
	wantAPIStatus(t, resp, http.StatusCreated)
	var snap captureReceipt
	resp.JSON(t, &snap)
	s.webcamID = snap.ID
	return s
}

func (s *authzScene) principals() []principal {
	u := &s.f.Users
	return []principal{
		{'a', "anonymous", nil}, {'A', "admin", &u.Admin}, {'M', "manager", &u.Manager},
		{'P', "psychometrician", &u.Psychometrician}, {'R', "proctor", &u.Proctor},
		{'W', "author", &u.Author}, {'C', "candidate", &u.Candidate}, {'N', "panelist", &s.panelist},
		{'r', "unassigned proctor", &s.outsider},
	}
}

// unknownID is a well-formed id that names nothing.
const unknownID = "00000000-0000-4000-8000-000000000000"

// fill puts real ids in a route's parameters, chosen by the segment before
// each one.
func (s *authzScene) fill(pattern string) string {
	f := s.f
	segs := strings.Split(pattern, "/")
	for i, seg := range segs {
		if base, ok := strings.CutSuffix(seg, ".:format"); ok {
			segs[i] = base + ".csv"
			continue
		}
		if !strings.HasPrefix(seg, ":") {
			continue
		}
		prev := segs[i-1]
		switch seg {
		case ":slug":
			segs[i] = "data-fundamentals"
		case ":itemId":
			segs[i] = f.Items[0].ID
		case ":candidateId":
			segs[i] = f.Users.Candidate.ID
		case ":userId":
			// Not the exam's proctor, whose removal would change what
			// later calls may do.
			segs[i] = f.Users.Author.ID
		case ":kind":
			segs[i] = "x"
		case ":kid":
			segs[i] = unknownID
		case ":file":
			segs[i] = "x.svg"
		case ":purpose":
			segs[i] = "revocation"
		case ":runId", ":flagId":
			segs[i] = unknownID
		case ":id":
			segs[i] = s.idAfter(prev)
		default:
			panic("authz: no value for parameter " + seg + " of " + pattern)
		}
	}
	return strings.Join(segs, "/")
}

func (s *authzScene) idAfter(segment string) string {
	f := s.f
	switch segment {
	case "exams":
		return f.Exam.ID
	case "attempts":
		return s.attemptID
	case "items":
		return f.Items[0].ID
	case "item-versions":
		return f.Items[0].VersionID
	case "studies":
		return f.Study.ID
	case "standards":
		return f.Standard.ID
	case "credentials":
		return s.credentialID
	case "achievements":
		return f.AchievementID
	case "issuers", "status-lists":
		return f.IssuerID
	case "programs":
		return f.Program.ID
	case "checkins":
		return s.checkinID
	case "snapshots":
		return s.photoID
	}
	// Calibration runs and flags: none exists, and an allowed caller gets
	// the handler's 404.
	return unknownID
}

// request builds method path as p: the API with a bearer token and a JSON
// body, pages with the session cookie (and its CSRF token on a form).
func (s *authzScene) request(t *testing.T, p principal, method, path string) *http.Request {
	api := strings.HasPrefix(path, "/api/")
	var req *http.Request
	switch {
	case method == http.MethodGet:
		req = webtest.NewRequest(method, path, nil)
	case api:
		// An empty object, valid for no route that needs a field: a
		// handler checks who calls before what is sent
		// (TestAuthzStrangersGetNotFoundWhateverTheBody).
		req = webtest.NewRequest(method, path, map[string]any{})
	default:
		req = webtest.NewRequest(method, path, "")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if !api {
		req.Header.Set("Accept", "text/html")
	}
	if p.user == nil {
		if !api && method != http.MethodGet {
			// An anonymous form passes the double-submit check, so that
			// only the route's roles decide.
			req.AddCookie(&http.Cookie{Name: "ts_csrf", Value: "anon-csrf"})
			req.Header.Set("X-CSRF-Token", "anon-csrf")
		}
		return req
	}
	// Signing out ends the session: those routes get one of their own.
	sess := s.f.Session(t, *p.user)
	if isSignOut(method, path) {
		sess = s.f.NewSession(t, *p.user)
	}
	if api {
		return webtest.WithBearer(req, sess.Token)
	}
	return webtest.WithCookie(req, sess, method != http.MethodGet)
}

// do sends req. A live stream an allowed caller opens runs for minutes, so
// for those routes a stream still open after a while counts as let in: a
// refusal answers at once.
func (s *authzScene) do(t *testing.T, req *http.Request) *webtest.Response {
	t.Helper()
	if !strings.HasSuffix(req.URL.Path, "/live") {
		return s.f.Do(t, req)
	}
	resp, err := s.f.Server.App().Test(req, 3000)
	if err != nil {
		if strings.Contains(err.Error(), "timeout") {
			return &webtest.Response{Response: &http.Response{StatusCode: http.StatusOK, Header: http.Header{}}, Body: []byte("stream open")}
		}
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return &webtest.Response{Response: resp, Body: body}
}

func isSignOut(method, path string) bool {
	return method+" "+path == "POST /logout" || method+" "+path == "DELETE /api/v1/session"
}

// refused tells whether resp is a refusal of the caller: 401, a redirect to
// the sign-in page, or a 403 that is not a CSRF failure (which would mean
// the test sent the request wrong, not that the route refused).
func refused(t *testing.T, what string, resp *webtest.Response) bool {
	t.Helper()
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		// A failed sign-in is the handler's answer, not a refusal.
		return errorCode(resp) != "bad_login"
	case http.StatusFound, http.StatusSeeOther:
		return strings.HasPrefix(resp.Header.Get("Location"), "/login")
	case http.StatusForbidden:
		if code := errorCode(resp); code == "csrf" || bytes.Contains(resp.Body, []byte("CSRF token")) {
			t.Errorf("%s: CSRF refusal; the test must send a good token: %s", what, resp.Body)
		}
		return true
	}
	return false
}

// errorCode is the code of a JSON error body, or "".
func errorCode(resp *webtest.Response) string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(resp.Body, &body)
	return body.Error.Code
}

// appRoutes lists the server's routes as "METHOD /path", leaving out the
// HEAD and OPTIONS twins Fiber adds and the static files.
func appRoutes(f *webtest.Fixture) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range f.Server.App().GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == http.MethodOptions || strings.HasPrefix(r.Path, "/static") {
			continue
		}
		k := r.Method + " " + r.Path
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// hidesReal tells whether a 404 of pattern can only mean that the handler
// hides a real attempt, check-in, snapshot or exam from the caller.
func hidesReal(pattern string) bool {
	return strings.Contains(pattern, "attempts/:id") || strings.HasPrefix(pattern, "/proctor/exams/:id") ||
		strings.HasSuffix(pattern, "/exams/:id/checkins") || strings.Contains(pattern, "checkins/:id") ||
		strings.Contains(pattern, "snapshots/:id")
}

// TestAuthzMatrix calls every route as anonymous and as every role, and
// checks that exactly the principals of authzMatrix get past the route's
// and the handler's role checks. A route missing from the matrix fails.
func TestAuthzMatrix(t *testing.T) {
	eachAuthzScene(t, testAuthzMatrix)
}

func testAuthzMatrix(t *testing.T, s *authzScene) {
	routes := appRoutes(s.f)
	inApp := map[string]bool{}
	for _, k := range routes {
		inApp[k] = true
		if _, ok := authzMatrix[k]; !ok {
			t.Errorf("route %s is not in authzMatrix: say who may call it", k)
		}
	}
	for k := range authzMatrix {
		if !inApp[k] {
			t.Errorf("authzMatrix lists %s, which the server does not have", k)
		}
	}
	for _, k := range routes {
		allowed, ok := authzMatrix[k]
		if !ok {
			continue
		}
		method, pattern, _ := strings.Cut(k, " ")
		path := s.fill(pattern)
		for _, p := range s.principals() {
			what := p.name + " " + method + " " + path
			resp := s.do(t, s.request(t, p, method, path))
			want := strings.IndexByte(allowed, p.letter) >= 0
			got := !refused(t, what, resp)
			if resp.StatusCode == http.StatusNotFound && hidesReal(pattern) {
				// The attempt or exam is real: a 404 hides it from the caller.
				got = false
			}
			if got != want {
				t.Errorf("%s (%s): status %d, allowed %v; want allowed %v: %.300s", what, pattern, resp.StatusCode, got, want, resp.Body)
			}
		}
	}
}

// TestAuthzCandidateCannotReachAnotherCandidatesAttempt: a second
// candidate, who may call every candidate route, can neither read nor
// change the first candidate's attempt, check-in or private credential,
// and each refused call leaves them as they were.
func TestAuthzCandidateCannotReachAnotherCandidatesAttempt(t *testing.T) {
	eachAuthzScene(t, testAuthzCandidateCannotReachAnotherCandidatesAttempt)
}

func testAuthzCandidateCannotReachAnotherCandidatesAttempt(t *testing.T, s *authzScene) {
	f := s.f
	ctx := t.Context()
	owner, intruder := f.Token(t, f.Users.Candidate), f.Token(t, f.Users.Candidate2)
	item := f.Items[0].ID
	saved := apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+s.attemptID+"/responses/"+item, owner, map[string]any{"answer": f.Wrong[item]}))
	wantAPIStatus(t, saved, http.StatusOK)

	// A third candidate's open check-in, and the passer's credential made
	// private.
	checker := f.NewUser(t, "", "Chen Checker", auth.Candidate)
	opened := apiCall(t, f, apiReq("POST", "/api/v1/exams/"+f.Exam.ID+"/checkins", f.Token(t, checker), nil))
	wantAPIStatus(t, opened, http.StatusOK)
	checkinID := checkinDecode(t, opened).ID
	var holder string
	if err := f.DB.WithContext(ctx).Table("credentials").Where("id = ?", s.credentialID).Pluck("recipient_id", &holder).Error; err != nil {
		t.Fatal(err)
	}
	if err := f.Credentials.SetPublic(ctx, holder, s.credentialID, false); err != nil {
		t.Fatal(err)
	}

	// What the owners see before: compared with what they see after.
	view := func(token, path string) func() string {
		return func() string {
			resp := f.Do(t, apiReq("GET", path, token, nil))
			wantAPIStatus(t, resp, http.StatusOK)
			return string(resp.Body)
		}
	}
	attemptState := view(owner, "/api/v1/attempts/"+s.attemptID)
	eventsState := view(f.Token(t, f.Users.Proctor), "/api/v1/attempts/"+s.attemptID+"/events")
	checkinState := view(f.Token(t, checker), "/api/v1/checkins/"+checkinID)
	credentialState := view(f.Token(t, f.Users.Admin), "/api/v1/credentials/"+s.credentialID)
	before := []string{attemptState(), eventsState(), checkinState(), credentialState()}

	attempt, checkin := "/api/v1/attempts/"+s.attemptID, "/api/v1/checkins/"+checkinID
	png := []byte("\x89PNG\r\n\x1a\n")
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", attempt, nil},
		{"PUT", attempt + "/responses/" + item, map[string]any{"answer": f.Keys[item]}},
		{"POST", attempt + "/next", nil},
		{"POST", attempt + "/breaks", map[string]any{"action": "start"}},
		{"POST", attempt + "/submit", nil},
		{"GET", attempt + "/result", nil},
		{"POST", attempt + "/events", map[string]any{"events": []map[string]any{{"kind": "focus_lost"}}}},
		{"POST", attempt + "/snapshots", png},
		{"GET", attempt + "/events", nil},
		{"GET", attempt + "/case-file", nil},
		{"GET", attempt + "/live", nil},
		{"GET", attempt + "/messages", nil},
		{"GET", checkin, nil},
		{"GET", checkin + "/live", nil},
		{"PUT", checkin + "/system-check", []byte(checkinGoodSystem)},
		{"POST", checkin + "/probe", map[string]any{}},
		{"POST", checkin + "/photos?kind=candidate_photo", png},
		{"POST", checkin + "/rules", map[string]any{"accepted": true}},
		{"POST", checkin + "/submit", nil},
		{"GET", "/api/v1/checkins/" + s.checkinID, nil},
		{"PUT", "/api/v1/checkins/" + s.checkinID + "/system-check", []byte(checkinGoodSystem)},
		{"POST", "/api/v1/checkins/" + s.checkinID + "/photos?kind=id_photo", png},
		{"GET", "/api/v1/snapshots/" + s.photoID, nil},
		{"GET", "/api/v1/snapshots/" + s.webcamID, nil},
		{"GET", "/api/v1/credentials/" + s.credentialID, nil},
		{"PUT", "/api/v1/credentials/" + s.credentialID + "/visibility", map[string]any{"public": true}},
	} {
		req := apiReq(c.method, c.path, intruder, c.body)
		if b, ok := c.body.([]byte); ok && bytes.HasPrefix(b, png) {
			req.Header.Set("Content-Type", "image/png")
		}
		if strings.HasSuffix(c.path, "/live") {
			req.Header.Set("Accept", "text/event-stream")
		}
		if resp := f.Do(t, req); !intruderRefused(resp) {
			t.Errorf("candidate2 %s %s: status %d; want 401, 403 or 404: %.300s", c.method, c.path, resp.StatusCode, resp.Body)
		}
	}
	sess := f.Session(t, f.Users.Candidate2)
	for _, c := range []struct{ method, path string }{
		{"GET", "/attempts/" + s.attemptID},
		{"GET", "/attempts/" + s.attemptID + "/result"},
		{"GET", "/credentials/" + s.credentialID + "/credential.json"},
		{"GET", "/credentials/" + s.credentialID + "/credential.jwt"},
		{"POST", "/credentials/" + s.credentialID + "/visibility"},
	} {
		req := webtest.NewRequest(c.method, c.path, "public=true")
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp := f.Do(t, webtest.WithCookie(req, sess, c.method != "GET")); !intruderRefused(resp) {
			t.Errorf("candidate2 page %s %s: status %d; want 401, 403 or 404: %.300s", c.method, c.path, resp.StatusCode, resp.Body)
		}
	}

	// The credential's page is public, its score and evidence are not.
	page := webtest.NewRequest("GET", "/credentials/"+s.credentialID, nil)
	page.Header.Set("Accept", "text/html")
	if resp := f.Do(t, webtest.WithCookie(page, sess, false)); resp.StatusCode != http.StatusOK || !bytes.Contains(resp.Body, []byte(`id="private-note"`)) {
		t.Errorf("candidate2 reads another's private credential page: status %d, want 200 with the private note", resp.StatusCode)
	}

	after := []string{attemptState(), eventsState(), checkinState(), credentialState()}
	for i, what := range []string{"attempt", "proctoring events", "check-in", "credential"} {
		if before[i] != after[i] {
			t.Errorf("the %s changed after refused calls:\nbefore %s\nafter  %s", what, before[i], after[i])
		}
	}
	var a apiAttempt
	f.Do(t, apiReq("GET", "/api/v1/attempts/"+s.attemptID, owner, nil)).JSON(t, &a)
	if a.Status != "in_progress" {
		t.Errorf("attempt status %q after the intruder's calls; want in_progress", a.Status)
	}
}

// TestAuthzStrangersGetNotFoundWhateverTheBody: to a caller whose role
// passes a route's check but who neither owns nor is staff of the attempt,
// check-in, snapshot or exam it names, the thing is not there — 404
// whatever the body and the query, so that no validation answer tells
// them it exists. The strangers are another candidate, on Candidate's
// attempt, check-in and photo, and the proctor not assigned to the exam.
func TestAuthzStrangersGetNotFoundWhateverTheBody(t *testing.T) {
	eachAuthzScene(t, testAuthzStrangersGetNotFound)
}

func testAuthzStrangersGetNotFound(t *testing.T, s *authzScene) {
	f := s.f
	bodies := []struct{ name, contentType, body string }{
		{"no body", "", ""},
		{"an empty object", "application/json", "{}"},
		{"not JSON", "application/json", "not json"},
		{"wrong fields", "application/json", `{"action":"sideways","events":"x","answer":7,"note":" ","decision":"maybe","minutes":"many","reasons":3}`},
		{"HTML sent as an image", "image/jpeg", "<!doctype html><script>alert(1)</script>"},
	}
	// Every query parameter a handler checks, each with a bad value.
	const badQuery = "?kind=bogus&faces=-1&looking_away=maybe&taken_at=soon"
	owned := func(pattern string) bool {
		return strings.Contains(pattern, "attempts/:id") || strings.Contains(pattern, "checkins/:id") || strings.Contains(pattern, "snapshots/:id")
	}
	candidate2 := principal{'C', "another candidate", &s.f.Users.Candidate2}
	outsider := principal{'r', "unassigned proctor", &s.outsider}
	checked := 0
	for _, k := range appRoutes(f) {
		allowed := authzMatrix[k]
		method, pattern, _ := strings.Cut(k, " ")
		if !hidesReal(pattern) || strings.HasSuffix(pattern, "/live") {
			continue // live streams are TestAuthzMatrix's
		}
		var strangers []principal
		if owned(pattern) && strings.IndexByte(allowed, 'C') >= 0 {
			strangers = append(strangers, candidate2)
		}
		if strings.IndexByte(allowed, 'R') >= 0 && strings.IndexByte(allowed, 'r') < 0 {
			strangers = append(strangers, outsider)
		}
		path := s.fill(pattern) + badQuery
		for _, p := range strangers {
			for _, b := range bodies {
				if method == http.MethodGet && b.body != "" {
					continue
				}
				var body any
				if b.body != "" {
					body = b.body
				}
				req := webtest.NewRequest(method, path, body)
				if b.contentType != "" {
					req.Header.Set("Content-Type", b.contentType)
				}
				if strings.HasPrefix(path, "/api/") {
					req = webtest.WithBearer(req, f.Token(t, *p.user))
				} else {
					req.Header.Set("Accept", "text/html")
					req = webtest.WithCookie(req, f.Session(t, *p.user), method != http.MethodGet)
				}
				checked++
				if resp := f.Do(t, req); resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s %s %s with %s: status %d; want 404: %.300s", p.name, method, path, b.name, resp.StatusCode, resp.Body)
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked %d calls; the matrix should give far more", checked)
	}
}

// intruderRefused: refused as unauthorised, forbidden or not found (an
// attempt that is not yours does not exist for you).
func intruderRefused(resp *webtest.Response) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return errorCode(resp) != "csrf"
	}
	return false
}

// keyFields are JSON fields that carry an item's key, its rationale or its
// statistics: none may reach a candidate.
var keyFields = map[string]bool{
	"key": true, "keys": true, "answer_key": true, "correct": true, "is_correct": true, "rationale": true,
	"accepted": true, "pairs": true, "numeric": true,
	"p": true, "p_value": true, "point_biserial": true, "biserial": true, "discrimination": true,
}

// notCandidateData are public documents whose field names would match
// keyFields without carrying any exam data: the API's schema describes the
// staff's fields, and a key set publishes the issuer's public keys.
var notCandidateData = map[string]bool{
	"/api/v1/openapi.json":   true,
	"/issuers/:id/jwks.json": true,
}

// TestAuthzNoKeyOrStatisticsForCandidates fetches every GET route the
// matrix allows a candidate, during their attempt and after it, and checks
// that no body carries an answer key, a rationale or an item statistic.
func TestAuthzNoKeyOrStatisticsForCandidates(t *testing.T) {
	eachAuthzScene(t, testAuthzNoKeyOrStatisticsForCandidates)
}

func testAuthzNoKeyOrStatisticsForCandidates(t *testing.T, s *authzScene) {
	f := s.f
	candidate := principal{'C', "candidate", &f.Users.Candidate}
	var gets []string
	for k, allowed := range authzMatrix {
		if pattern, ok := strings.CutPrefix(k, "GET "); ok && strings.IndexByte(allowed, 'C') >= 0 && !notCandidateData[pattern] {
			gets = append(gets, pattern)
		}
	}
	sort.Strings(gets)
	fetchAll := func(when string) {
		for _, pattern := range gets {
			path := s.fill(pattern)
			resp := s.do(t, s.request(t, candidate, http.MethodGet, path))
			checkNoKeyOrStatistics(t, f, when+" GET "+path, resp.Body)
		}
	}
	fetchAll("during the attempt:")
	token := f.Token(t, f.Users.Candidate)
	for _, it := range f.Items {
		apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+s.attemptID+"/responses/"+it.ID, token, map[string]any{"answer": f.Wrong[it.ID]}))
	}
	wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+s.attemptID+"/submit", token, nil)), http.StatusOK)
	fetchAll("after submitting:")
}

// checkNoKeyOrStatistics fails when body carries a rationale, or, as JSON
// or in a page's embedded JSON, one of keyFields.
func checkNoKeyOrStatistics(t *testing.T, f *webtest.Fixture, what string, body []byte) {
	t.Helper()
	for _, it := range f.Items {
		if bytes.Contains(body, []byte(it.Rationale)) {
			t.Errorf("%s: carries the rationale of item %s", what, it.ID)
		}
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		for _, path := range keyFieldPaths("", v) {
			t.Errorf("%s: field %s gives the key or statistics away: %.300s", what, path, body)
		}
		return
	}
	for field := range keyFields {
		if bytes.Contains(body, []byte(`"`+field+`":`)) {
			t.Errorf("%s: embeds a %q field", what, field)
		}
	}
}

// keyFieldPaths lists where v holds a field of keyFields.
func keyFieldPaths(path string, v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if keyFields[strings.ToLower(k)] {
				out = append(out, path+"."+k)
			}
			out = append(out, keyFieldPaths(path+"."+k, e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, keyFieldPaths(path+"[]", e)...)
		}
	}
	return out
}
