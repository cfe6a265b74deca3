package web

import (
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// bind decodes a JSON body into dst; a body that is not JSON is a 400
// naming "body".
func bind(c *fiber.Ctx, dst any) error {
	if len(c.Body()) == 0 {
		return &badRequest{field: "body", message: "a JSON body is required"}
	}
	if err := json.Unmarshal(c.Body(), dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return &badRequest{field: typeErr.Field, message: "has the wrong type"}
		}
		return &badRequest{field: "body", message: "is not valid JSON"}
	}
	return nil
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if err := s.cfg.Ready(c.UserContext()); err != nil {
		s.cfg.Logger.Warn("not ready", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable"})
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPI)
}

// Sessions.

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) apiLogin(c *fiber.Ctx) error {
	var req loginRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	sess, err := s.cfg.Auth.Login(c.UserContext(), req.Email, req.Password, c.IP())
	if err != nil {
		return err
	}
	s.setSessionCookie(c, sess)
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{
		"token": sess.Token, "csrf_token": sess.CSRFToken, "expires_at": sess.ExpiresAt, "user": userJSON(sess.User),
	})
}

// apiLogout ends the current session or, with ?everywhere=true, every
// session of the user.
func (s *Server) apiLogout(c *fiber.Ctx) error {
	everywhere := c.Query("everywhere")
	if everywhere != "" && everywhere != "true" && everywhere != "false" {
		return valid.Errorf("everywhere", `must be "true" or "false"`)
	}
	sess := session(c)
	var err error
	if everywhere == "true" {
		err = s.cfg.Auth.LogoutEverywhere(c.UserContext(), sess.User.ID)
	} else {
		err = s.cfg.Auth.Logout(c.UserContext(), sess.Token)
	}
	if err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

func userJSON(u auth.User) fiber.Map {
	roles := u.Roles
	if roles == nil {
		roles = []auth.Role{}
	}
	return fiber.Map{"id": u.ID, "email": u.Email, "name": u.Name, "roles": roles}
}

func (s *Server) apiMe(c *fiber.Ctx) error { return c.JSON(userJSON(currentUser(c))) }

// Exams and attempts.

func examJSON(e assess.Exam, std *assess.Standard) fiber.Map {
	domains := make([]fiber.Map, len(e.Domains))
	for i, d := range e.Domains {
		domains[i] = fiber.Map{"code": d.Code, "name": d.Name, "description": d.Description}
	}
	m := fiber.Map{"id": e.ID, "program_id": e.ProgramID, "slug": e.Slug, "title": e.Title, "description": e.Description,
		"mode": e.Mode, "instructions": e.Instructions,
		"duration_seconds": int(e.Duration / time.Second), "item_count": len(e.ItemIDs), "domains": domains, "standard": nil,
		"policy": policyJSON(e.Policy)}
	if std != nil {
		m["standard"] = fiber.Map{"id": std.ID, "version": std.Version, "cut": std.Cut, "max_score": std.MaxScore, "method": std.Method}
	}
	return m
}

func (s *Server) apiExams(c *fiber.Ctx) error {
	exams, err := s.cfg.Assess.Exams(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]fiber.Map, 0, len(exams))
	for _, e := range exams {
		var std *assess.Standard
		if st, err := s.cfg.Assess.ApprovedStandard(c.UserContext(), e.ID); err == nil {
			std = &st
		} else if !errors.Is(err, assess.ErrNoStandard) {
			return err
		}
		out = append(out, examJSON(e, std))
	}
	return c.JSON(out)
}

func (s *Server) apiStartAttempt(c *fiber.Ctx) error {
	a, err := s.cfg.Assess.Start(c.UserContext(), c.Params("id"), currentUser(c).ID)
	if err != nil {
		return err
	}
	s.notifyConsoleAttempt(c.UserContext(), a, "started")
	return s.writeAttempt(c, a, fiber.StatusCreated)
}

// ownAttempt loads an attempt and checks that the caller took it; with
// roles, holders of those roles may see it too.
func (s *Server) ownAttempt(c *fiber.Ctx, alsoRoles ...auth.Role) (assess.Attempt, error) {
	a, err := s.cfg.Assess.Attempt(c.UserContext(), c.Params("id"))
	if err != nil {
		return assess.Attempt{}, err
	}
	u := currentUser(c)
	if a.CandidateID != u.ID && !(len(alsoRoles) > 0 && u.Has(alsoRoles...)) {
		// Someone else's attempt is, to this caller, not there.
		return assess.Attempt{}, assess.ErrNotFound
	}
	return a, nil
}

func (s *Server) apiAttempt(c *fiber.Ctx) error {
	a, err := s.ownAttempt(c)
	if err != nil {
		return err
	}
	return s.writeAttempt(c, a, fiber.StatusOK)
}

// writeAttempt answers with an attempt as its candidate may see it (see
// attemptJSON).
func (s *Server) writeAttempt(c *fiber.Ctx, a assess.Attempt, status int) error {
	body, err := s.attemptJSON(c, a)
	if err != nil {
		return err
	}
	return c.Status(status).JSON(body)
}

func (s *Server) apiSaveResponse(c *fiber.Ctx) error {
	var req responseRequest
	err := bind(c, &req)
	var u assess.ResponseUpdate
	if err == nil {
		u, err = req.update()
	}
	if err != nil {
		// To anyone but its candidate the attempt is not there, whatever
		// the body.
		if _, notOwn := s.ownAttempt(c); notOwn != nil {
			return notOwn
		}
		return err
	}
	// Only the attempt's candidate saves to it; SaveResponse checks that in
	// the one read it makes, before it looks at the answer.
	u.Candidate = currentUser(c).ID
	saved, err := s.cfg.Assess.SaveResponse(c.UserContext(), c.Params("id"), c.Params("itemId"), u)
	if err != nil {
		return err
	}
	if saved.Applied {
		s.cfg.Metrics.answersSaved.Inc()
	}
	return c.JSON(fiber.Map{"item_id": saved.ItemID, "seq": saved.Seq, "applied": saved.Applied})
}

func (s *Server) apiSubmit(c *fiber.Ctx) error {
	a, err := s.ownAttempt(c)
	if err != nil {
		return err
	}
	r, err := s.cfg.Assess.Submit(c.UserContext(), a.ID, "candidate")
	if err != nil {
		return err
	}
	s.notifyConsoleAttempt(c.UserContext(), a, "submitted")
	return c.JSON(resultJSON(r))
}

// resultReaders read the result of every attempt; a proctor reads those
// of the exams they are assigned to (resultAttempt).
var resultReaders = []auth.Role{auth.Admin, auth.ProgramManager, auth.Psychometrician}

// resultAttempt loads the attempt of the route's :id for reading its
// result: by its candidate, by resultReaders, or by a proctor or reviewer
// assigned to its exam. To anyone else the attempt is not there.
func (s *Server) resultAttempt(c *fiber.Ctx) (assess.Attempt, error) {
	a, err := s.cfg.Assess.Attempt(c.UserContext(), c.Params("id"))
	if err != nil {
		return assess.Attempt{}, err
	}
	if u := currentUser(c); a.CandidateID == u.ID || u.Has(resultReaders...) {
		return a, nil
	}
	if err := s.examStaff(c, a.ExamID, assess.StaffProctor, assess.StaffReviewer); err != nil {
		return assess.Attempt{}, err
	}
	return a, nil
}

func (s *Server) apiResult(c *fiber.Ctx) error {
	a, err := s.resultAttempt(c)
	if err != nil {
		return err
	}
	r, err := s.cfg.Assess.Result(c.UserContext(), a.ID)
	if err != nil {
		return err
	}
	return c.JSON(resultJSON(r))
}

func resultJSON(r assess.Result) fiber.Map {
	var cred any
	if r.CredentialID != "" {
		cred = r.CredentialID
	}
	domains := r.Domains
	if domains == nil {
		domains = []assess.DomainScore{}
	}
	return fiber.Map{"attempt_id": r.AttemptID, "exam_id": r.ExamID, "mode": r.Mode, "passed": r.Passed, "score": r.Score, "max_score": r.MaxScore,
		"cut": r.Cut, "standard_id": r.StandardID, "standard_version": r.StandardVersion, "domains": domains,
		"scaled_score": r.ScaledScore, "scaled_cut": r.ScaledCut,
		"scale": fiber.Map{"name": r.Scale.Name, "min": r.Scale.Min, "max": r.Scale.Max},
		"theta": finitePtr(r.Theta), "theta_se": finitePtr(r.ThetaSE),
		"credential_id": cred, "submitted_at": r.SubmittedAt, "submitted_by": r.SubmittedBy,
		"terminated": r.Terminated, "termination_reason": r.TerminationReason, "review": r.Review, "invalidated": r.Invalidated}
}

// Proctoring.

type eventsRequest struct {
	Events []struct {
		Kind   string     `json:"kind"`
		Detail string     `json:"detail"`
		At     *time.Time `json:"at"`
	} `json:"events"`
}

func (s *Server) apiRecordEvents(c *fiber.Ctx) error {
	a, err := s.cfg.Assess.AttemptOwner(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if a.CandidateID != currentUser(c).ID {
		return assess.ErrNotFound // someone else's attempt is not there
	}
	var req eventsRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if len(req.Events) > 100 {
		return &badRequest{field: "events", message: "at most 100 events a request"}
	}
	events := make([]proctor.Event, len(req.Events))
	for i, e := range req.Events {
		events[i] = proctor.Event{Kind: e.Kind, Detail: e.Detail, ClientAt: e.At}
	}
	recorded, err := s.cfg.Proctor.Record(c.UserContext(), a.AttemptID, events)
	if err != nil {
		return err
	}
	s.cfg.Metrics.eventsIngested.Add(float64(len(events)))
	// As stored: with their place in the chain, and any heartbeat gap the
	// log put before them.
	s.notifyConsole(c.UserContext(), a, recorded, nil, nil)
	return c.SendStatus(fiber.StatusNoContent)
}

// apiEvents lists an attempt's events to the proctors and reviewers of
// its exam.
func (s *Server) apiEvents(c *fiber.Ctx) error {
	a, err := s.staffAttempt(c, assess.StaffProctor, assess.StaffReviewer)
	if err != nil {
		return err
	}
	events, err := s.cfg.Proctor.Events(c.UserContext(), a.ID)
	if err != nil {
		return err
	}
	out := make([]fiber.Map, len(events))
	for i, e := range events {
		out[i] = fiber.Map{"id": e.ID, "kind": e.Kind, "detail": e.Detail, "client_at": e.ClientAt, "received_at": e.ReceivedAt}
	}
	return c.JSON(out)
}

// Psychometrics and standards.

func (s *Server) apiStatistics(c *fiber.Ctx) error {
	st, err := s.cfg.Assess.Statistics(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	list := make([]fiber.Map, len(st.Items))
	for i, it := range st.Items {
		list[i] = fiber.Map{"item_id": it.Item.ID, "version": it.Item.Version, "position": i + 1, "domain": it.Item.Domain,
			"n": it.N, "p_value": finite(it.Mean), "point_biserial": finite(it.PointBiserial), "item_rest": finite(it.ItemRest)}
	}
	return c.JSON(fiber.Map{"exam_id": st.Exam.ID, "test": fiber.Map{"n": st.Test.N, "items": st.Test.Items, "mean": finite(st.Test.Mean),
		"sd": finite(st.Test.SD), "alpha": finite(st.Test.Alpha), "sem": finite(st.Test.SEM)}, "items": list})
}

// finite is x, or nil (JSON null) when x is NaN or infinite: a statistic
// that cannot be computed yet, such as a correlation of a constant item.
func finite(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return x
}

func standardJSON(st assess.Standard) fiber.Map {
	return fiber.Map{"id": st.ID, "exam_id": st.ExamID, "version": st.Version, "method": st.Method, "panelists": st.Panelists,
		"cut": st.Cut, "max_score": st.MaxScore, "cut_se": st.CutSE, "reliability": st.Reliability,
		"decision_consistency": st.DecisionConsistency, "status": st.Status, "approved_by": st.ApprovedBy, "approved_at": st.ApprovedAt,
		"study_id": st.StudyID, "recommended_cut": st.RecommendedCut, "adoption_reason": st.AdoptionReason, "effective_at": st.EffectiveAt}
}

func (s *Server) apiStandards(c *fiber.Ctx) error {
	list, err := s.cfg.Assess.Standards(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]fiber.Map, len(list))
	for i, st := range list {
		out[i] = standardJSON(st)
	}
	return c.JSON(out)
}

func (s *Server) apiApproveStandard(c *fiber.Ctx) error {
	st, err := s.cfg.Assess.ApproveStandard(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(standardJSON(st))
}

// Audit.

func (s *Server) apiAudit(c *fiber.Ctx) error {
	limit := c.QueryInt("limit", 100)
	if limit < 1 || limit > 1000 {
		return &badRequest{field: "limit", message: "must be 1 to 1000"}
	}
	records, err := s.cfg.Audit.List(c.UserContext(), c.Query("subject"), limit)
	if err != nil {
		return err
	}
	chain := "intact"
	if err := s.cfg.Audit.Verify(c.UserContext()); err != nil {
		if !errors.Is(err, audit.ErrBroken) {
			return err
		}
		chain = "broken"
	}
	unplaced, err := s.cfg.Audit.Unplaced(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]fiber.Map, len(records))
	for i, r := range records {
		out[i] = fiber.Map{"seq": r.Seq, "pos": r.Pos, "at": r.At, "actor": r.Actor, "action": r.Action, "subject": r.Subject,
			"before": json.RawMessage(orNull(r.Before)), "after": json.RawMessage(orNull(r.After)), "hash": orNil(r.Hash)}
	}
	return c.JSON(fiber.Map{"chain": chain, "unplaced": unplaced, "entries": out})
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}
