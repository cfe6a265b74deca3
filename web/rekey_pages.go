package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// The rekey pages: choose the corrected key of a published item version,
// see exactly what it changes — every attempt whose score or decision
// moves and what happens to its credential — and apply it. The apply form
// carries a fingerprint of the previewed change; if the data changed
// since (a new attempt, a revoked credential), the rekey is refused and
// the new preview shown, so that nobody applies a change they did not see.

// Credential actions a rekey takes on an attempt's credential.
const (
	credReissue = "reissue" // still a pass with a new score: a new credential supersedes the old
	credRevoke  = "revoke"  // the pass is gone
	credIssue   = "issue"   // a new pass
	credNone    = "none"
)

// rekeyRow is one attempt a rekey changes, as the preview shows it and
// as its fingerprint covers it.
type rekeyRow struct {
	AttemptID        string    `json:"attempt_id"`
	CandidateID      string    `json:"candidate_id"`
	Candidate        string    `json:"-"`
	ExamID           string    `json:"exam_id"`
	Exam             string    `json:"-"`
	SubmittedAt      time.Time `json:"-"`
	MaxScore         float64   `json:"max_score"`
	ScoreBefore      float64   `json:"score_before"`
	ScoreAfter       float64   `json:"score_after"`
	PassedBefore     bool      `json:"passed_before"`
	PassedAfter      bool      `json:"passed_after"`
	StandardID       string    `json:"standard_id"`
	StandardVersion  int       `json:"standard_version"`
	Cut              float64   `json:"cut"`
	Action           string    `json:"credential_action"`
	CredentialBefore string    `json:"credential_before"`
	// CredentialAfter is the credential that stands for the attempt once
	// the rekey is applied; set on the outcome page only.
	CredentialAfter string `json:"-"`
}

// ActionLabel names the credential action for people.
func (r rekeyRow) ActionLabel() string {
	switch r.Action {
	case credReissue:
		return "Re-issue"
	case credRevoke:
		return "Revoke"
	case credIssue:
		return "Issue"
	}
	return "None"
}

// Points writes a score as few digits as it needs: 5, 2.5.
func (rekeyRow) Points(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// credentialAction is what a rekey does to the credential of an attempt
// whose result changes (see award.OnRescore and assess.Service.Rekey).
func credentialAction(r assess.Rescore, issues bool) string {
	switch {
	case r.Before.Passed && r.After.Passed && r.Before.CredentialID != "" && r.Before.Score != r.After.Score:
		return credReissue
	case r.Before.Passed && !r.After.Passed && r.Before.CredentialID != "":
		return credRevoke
	case !r.Before.Passed && r.After.Passed && issues:
		return credIssue
	}
	return credNone
}

// rekeyTotals sum up a preview.
type rekeyTotals struct {
	Answered  int // submitted attempts that answered the version
	Changed   int // of which the rekey changes
	Unchanged int
	Gained    int // passes gained
	Lost      int // passes lost
	// Credentials re-issued, revoked and issued.
	Reissued int
	Revoked  int
	Issued   int
}

type rekeyData struct {
	Item    items.Item // at the version being rekeyed
	Version string     // its id
	Kind    string
	Preview items.CandidateContent
	Current []keyLine // the key as it stands
	Form    rekeyForm
	Error   *formError

	// The preview and the outcome.
	Rows        []rekeyRow
	Totals      rekeyTotals
	Fingerprint string
	Stale       bool // the data changed since the preview: shown again, not applied
	Applied     bool
}

// Invalid reports whether the error on the page is about the control
// anchor, for aria-invalid.
func (d rekeyData) Invalid(anchor string) bool { return d.Error != nil && d.Error.Anchor == anchor }

// rekeyForm is the corrected key as the form holds it: a choice of
// options for choice items, JSON for the other kinds.
type rekeyForm struct {
	Kind    items.Kind
	Multi   bool // multiple response: checkboxes
	Options []rekeyOption
	KeyJSON string
	Reason  string
}

// Choice reports whether the key is chosen among the options.
func (f rekeyForm) Choice() bool {
	return f.Kind == items.SingleChoice || f.Kind == items.TrueFalse || f.Multi
}

// rekeyOption is one option the key may be chosen among.
type rekeyOption struct {
	ID, Letter string
	HTML       template.HTML
	Checked    bool // in the corrected key
	Current    bool // in the key as it stands
}

// keyFields are the key of the kinds whose key the form takes as JSON.
type keyFields struct {
	Keys          []string          `json:"keys,omitempty"`
	Pairs         map[string]string `json:"pairs,omitempty"`
	Numeric       *items.NumericKey `json:"numeric,omitempty"`
	Accepted      []string          `json:"accepted,omitempty"`
	CaseSensitive bool              `json:"case_sensitive,omitempty"`
}

func keyFieldsOf(c items.Content) keyFields {
	switch c.ItemKind() {
	case items.Ordering:
		return keyFields{Keys: c.Keys}
	case items.Matching:
		return keyFields{Pairs: c.Pairs}
	case items.Numeric:
		return keyFields{Numeric: c.Numeric}
	case items.ShortText:
		return keyFields{Accepted: c.Accepted, CaseSensitive: c.CaseSensitive}
	}
	return keyFields{}
}

// rekeyFormOf is the form showing corrected as the key, current marked.
func rekeyFormOf(current, corrected items.Content, reason string) rekeyForm {
	k := current.ItemKind()
	f := rekeyForm{Kind: k, Multi: k == items.MultipleResponse, Reason: reason}
	for i, o := range current.Options {
		f.Options = append(f.Options, rekeyOption{ID: o.ID, Letter: string(rune('A' + i)), HTML: items.RenderMarkdown(o.Text),
			Checked: o.ID == corrected.Key || slices.Contains(corrected.Keys, o.ID), Current: o.ID == current.Key || slices.Contains(current.Keys, o.ID)})
	}
	if !f.Choice() {
		b, _ := json.MarshalIndent(keyFieldsOf(corrected), "", "  ") // plain data: it does not fail
		f.KeyJSON = string(b)
	}
	return f
}

// correctedContent reads the corrected key from the posted form into a
// copy of current; everything else stays as candidates saw it.
func correctedContent(c *fiber.Ctx, current items.Content) (items.Content, error) {
	out := current
	switch current.ItemKind() {
	case items.SingleChoice, items.TrueFalse:
		out.Key = c.FormValue("key")
		if out.Key == "" {
			return out, valid.Errorf("key", "choose the correct option")
		}
	case items.MultipleResponse:
		out.Keys = nil
		for _, v := range c.Request().PostArgs().PeekMulti("keys") {
			out.Keys = append(out.Keys, string(v))
		}
		if len(out.Keys) == 0 {
			return out, valid.Errorf("keys", "tick every correct option")
		}
	default:
		var k keyFields
		dec := json.NewDecoder(strings.NewReader(c.FormValue("key_json")))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&k); err != nil {
			return out, valid.Errorf("key_json", "is not a key of this kind in JSON: %v", err)
		}
		switch current.ItemKind() {
		case items.Ordering:
			out.Keys = k.Keys
		case items.Matching:
			out.Pairs = k.Pairs
		case items.Numeric:
			out.Numeric = k.Numeric
		case items.ShortText:
			out.Accepted, out.CaseSensitive = k.Accepted, k.CaseSensitive
		}
	}
	if reflect.DeepEqual(keyFieldsOf(out), keyFieldsOf(current)) && out.Key == current.Key && slices.Equal(out.Keys, current.Keys) {
		return out, valid.Errorf(rekeyField(current.ItemKind()), "is the key already: choose the corrected one")
	}
	return out, nil
}

// rekeyField is the form field that holds the key of kind k.
func rekeyField(k items.Kind) string {
	switch k {
	case items.SingleChoice, items.TrueFalse:
		return "key"
	case items.MultipleResponse:
		return "keys"
	}
	return "key_json"
}

// rekeyFingerprint binds a preview to the key it previewed and exactly the
// changes it showed: the sha256 of their canonical JSON.
func rekeyFingerprint(versionID string, corrected items.Content, rows []rekeyRow) string {
	b, _ := json.Marshal(struct { // plain data: it does not fail
		Version string     `json:"version"`
		Key     string     `json:"key"`
		Fields  keyFields  `json:"fields"`
		KeyList []string   `json:"keys"`
		Rows    []rekeyRow `json:"rows"`
	}{versionID, corrected.Key, keyFieldsOf(corrected), corrected.Keys, rows})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// rekeyVersion reads the item version of the page.
func (s *Server) rekeyVersion(c *fiber.Ctx) (rekeyData, error) {
	id := c.Params("id")
	versions, err := s.cfg.Items.Versions(c.UserContext(), []string{id})
	if err != nil {
		return rekeyData{}, err
	}
	it, ok := versions[id]
	if !ok {
		return rekeyData{}, items.ErrNotFound
	}
	d := rekeyData{Item: it, Version: id, Kind: itemKindLabel(it.ItemKind()), Preview: it.ForCandidate().Shuffled(previewSeed),
		Current: keyLines(it.Content)}
	d.Form = rekeyFormOf(it.Content, it.Content, "")
	return d, nil
}

// rekeyRows lays out the attempts a rekey changes, with names, and sums
// up every attempt it re-scores.
func (s *Server) rekeyRows(ctx context.Context, list []assess.Rescore) ([]rekeyRow, rekeyTotals, error) {
	names := s.names(ctx)
	exams := map[string]assess.Exam{}
	var rows []rekeyRow
	t := rekeyTotals{Answered: len(list)}
	for _, r := range list {
		if !r.Changed() {
			t.Unchanged++
			continue
		}
		exam, ok := exams[r.After.ExamID]
		if !ok {
			var err error
			if exam, err = s.cfg.Assess.Exam(ctx, r.After.ExamID); err != nil {
				return nil, rekeyTotals{}, err
			}
			exams[exam.ID] = exam
		}
		name, err := names.of(r.After.CandidateID)
		if err != nil {
			return nil, rekeyTotals{}, err
		}
		row := rekeyRow{AttemptID: r.After.AttemptID, CandidateID: r.After.CandidateID, Candidate: name, ExamID: exam.ID, Exam: exam.Title,
			SubmittedAt: r.After.SubmittedAt, MaxScore: r.After.MaxScore, ScoreBefore: r.Before.Score, ScoreAfter: r.After.Score,
			PassedBefore: r.Before.Passed, PassedAfter: r.After.Passed, StandardID: r.After.StandardID, StandardVersion: r.After.StandardVersion,
			Cut: r.After.Cut, Action: credentialAction(r, exam.AchievementID != ""), CredentialBefore: r.Before.CredentialID}
		t.Changed++
		switch {
		case row.PassedAfter && !row.PassedBefore:
			t.Gained++
		case row.PassedBefore && !row.PassedAfter:
			t.Lost++
		}
		switch row.Action {
		case credReissue:
			t.Reissued++
		case credRevoke:
			t.Revoked++
		case credIssue:
			t.Issued++
		}
		rows = append(rows, row)
	}
	return rows, t, nil
}

func (s *Server) pageRekey(c *fiber.Ctx) error {
	d, err := s.rekeyVersion(c)
	if err != nil {
		return err
	}
	return s.render(c, "rekey", d)
}

// rekeyFormError shows the rekey form again with what was chosen and why
// it cannot be previewed or applied; other errors are returned.
func (s *Server) rekeyFormError(c *fiber.Ctx, d rekeyData, corrected items.Content, err error) error {
	fe := formErrorOf(err)
	if fe == nil && errors.Is(err, items.ErrRekeyChangesItem) {
		fe = &formError{Message: "A rekey may change only the key, never what candidates saw."}
	}
	if fe == nil {
		return err
	}
	switch fe.Field {
	case "key", "keys", "key_json":
		fe.Anchor = "f-key"
	case "reason":
		fe.Anchor = "f-reason"
	default:
		if fe.Field != "" { // the corrected content does not validate: it is the key's fault
			fe.Anchor = "f-key"
		}
	}
	d.Form = rekeyFormOf(d.Item.Content, corrected, c.FormValue("reason"))
	if d.Form.KeyJSON != "" && c.FormValue("key_json") != "" {
		d.Form.KeyJSON = c.FormValue("key_json") // as typed
	}
	d.Error = fe
	status, _ := classify(err)
	c.Status(status)
	return s.render(c, "rekey", d)
}

// previewRekey reads the posted key and reason and computes the change.
func (s *Server) previewRekey(c *fiber.Ctx) (rekeyData, items.Content, error) {
	d, err := s.rekeyVersion(c)
	if err != nil {
		return rekeyData{}, items.Content{}, err
	}
	corrected, err := correctedContent(c, d.Item.Content)
	if err == nil && strings.TrimSpace(c.FormValue("reason")) == "" {
		err = valid.Errorf("reason", "is required: it is recorded with the rekey")
	}
	if err != nil {
		return d, corrected, err
	}
	list, err := s.cfg.Assess.RekeyImpact(c.UserContext(), d.Version, corrected)
	if err != nil {
		return d, corrected, err
	}
	if d.Rows, d.Totals, err = s.rekeyRows(c.UserContext(), list); err != nil {
		return d, corrected, err
	}
	d.Form = rekeyFormOf(d.Item.Content, corrected, strings.TrimSpace(c.FormValue("reason")))
	d.Fingerprint = rekeyFingerprint(d.Version, corrected, d.Rows)
	return d, corrected, nil
}

func (s *Server) postRekeyPreview(c *fiber.Ctx) error {
	d, corrected, err := s.previewRekey(c)
	if err != nil {
		if d.Version == "" {
			return err
		}
		return s.rekeyFormError(c, d, corrected, err)
	}
	return s.render(c, "rekey_preview", d)
}

// postRekey applies the previewed rekey, provided the change is still
// exactly the one previewed; otherwise it shows the new preview with 409.
func (s *Server) postRekey(c *fiber.Ctx) error {
	d, corrected, err := s.previewRekey(c)
	if err != nil {
		if d.Version == "" {
			return err
		}
		return s.rekeyFormError(c, d, corrected, err)
	}
	if subtle.ConstantTimeCompare([]byte(d.Fingerprint), []byte(c.FormValue("fingerprint"))) != 1 {
		d.Stale = true
		c.Status(fiber.StatusConflict)
		return s.render(c, "rekey_preview", d)
	}
	ctx := c.UserContext()
	if _, err := s.cfg.Assess.Rekey(ctx, currentUser(c).ID, d.Version, corrected, d.Form.Reason); err != nil {
		return s.rekeyFormError(c, d, corrected, err)
	}
	for i, r := range d.Rows {
		res, err := s.cfg.Assess.Result(ctx, r.AttemptID)
		if err != nil {
			return err
		}
		d.Rows[i].ScoreAfter, d.Rows[i].PassedAfter, d.Rows[i].CredentialAfter = res.Score, res.Passed, res.CredentialID
	}
	d.Applied = true
	d.Current = keyLines(corrected)
	return s.render(c, "rekey_preview", d)
}
