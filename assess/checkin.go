package assess

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Before a proctored attempt the candidate checks in: a system check, a
// photo of themselves and of their ID, and acceptance of the exam's rules;
// then a proctor, or the exam's policy, admits them.

// Check-in statuses.
const (
	CheckinOpen     = "open"     // being filled in by the candidate
	CheckinPending  = "pending"  // complete, waiting for a proctor
	CheckinAdmitted = "admitted" // may start an attempt
	CheckinRejected = "rejected"
	CheckinUsed     = "used" // an attempt was started with it
)

// Checkin is a candidate's check-in for an exam.
type Checkin struct {
	ID              string
	ExamID          string
	CandidateID     string
	Status          string
	SystemCheck     string // the page's system check, as JSON
	RulesAcceptedAt *time.Time
	CreatedAt       time.Time
	SubmittedAt     *time.Time
	DecidedAt       *time.Time
	DecidedBy       string // a user id, or "system:automatic"
	Note            string
	AttemptID       string
}

type checkinRow struct {
	ID              string     `gorm:"column:id;primaryKey"`
	ExamID          string     `gorm:"column:exam_id"`
	CandidateID     string     `gorm:"column:candidate_id"`
	Status          string     `gorm:"column:status"`
	SystemCheck     string     `gorm:"column:system_check"`
	RulesAcceptedAt *time.Time `gorm:"column:rules_accepted_at"`
	CreatedAt       time.Time  `gorm:"column:created_at"`
	SubmittedAt     *time.Time `gorm:"column:submitted_at"`
	DecidedAt       *time.Time `gorm:"column:decided_at"`
	DecidedBy       string     `gorm:"column:decided_by"`
	Note            string     `gorm:"column:note"`
	AttemptID       *string    `gorm:"column:attempt_id"`
}

func (checkinRow) TableName() string { return "proctor_checkins" }

func (r checkinRow) checkin() Checkin {
	return Checkin{ID: r.ID, ExamID: r.ExamID, CandidateID: r.CandidateID, Status: r.Status, SystemCheck: r.SystemCheck,
		RulesAcceptedAt: r.RulesAcceptedAt, CreatedAt: r.CreatedAt, SubmittedAt: r.SubmittedAt, DecidedAt: r.DecidedAt,
		DecidedBy: r.DecidedBy, Note: r.Note, AttemptID: deref(r.AttemptID)}
}

// Checkin returns a check-in.
func (s *Service) Checkin(ctx context.Context, id string) (Checkin, error) {
	if uuid.Validate(id) != nil {
		return Checkin{}, notFound("check-in", id)
	}
	var r checkinRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Checkin{}, notFound("check-in", id)
	}
	if err != nil {
		return Checkin{}, fmt.Errorf("assess: check-in: %w", err)
	}
	return r.checkin(), nil
}

// Errors of the check-in a caller branches on.
var (
	// ErrNotAdmitted: the exam requires a check-in and the candidate has no
	// admitted, unused one for it.
	ErrNotAdmitted = errors.New("assess: not admitted: the exam requires a check-in")
	// ErrNoCheckin: the exam requires no check-in, so none can be opened.
	ErrNoCheckin = errors.New("assess: the exam requires no check-in")
	// ErrCheckinStatus: the check-in's status does not allow the change
	// (a submitted check-in is no longer edited; only a pending one is
	// admitted).
	ErrCheckinStatus = errors.New("assess: the check-in's status does not allow this")
)

// DecidedAutomatically is the DecidedBy of a check-in the exam's policy
// admitted.
const DecidedAutomatically = "system:automatic"

// MaxSystemCheckBytes bounds the system check a page reports.
const MaxSystemCheckBytes = 4 << 10

// SystemCheck is what the check-in page found of the candidate's computer.
type SystemCheck struct {
	Camera   bool            `json:"camera"`             // a camera stream was had
	Browser  bool            `json:"browser"`            // every feature the exam page needs is there
	Features map[string]bool `json:"features,omitempty"` // each feature tested: fetch, eventsource, fullscreen, canvas
	// Connection is the round trip and upload rate the page measured.
	Connection Connection `json:"connection"`
}

// Connection figures of a system check.
type Connection struct {
	RoundTripMS float64 `json:"round_trip_ms"` // median of several small requests
	UploadKbps  float64 `json:"upload_kbps"`   // kilobits per second of a small upload
}

// System returns the check-in's system check; ok is false before one is
// saved.
func (c Checkin) System() (sc SystemCheck, ok bool) {
	if c.SystemCheck == "" {
		return SystemCheck{}, false
	}
	return sc, json.Unmarshal([]byte(c.SystemCheck), &sc) == nil
}

// DefaultRules are the rules shown at check-in for an exam that sets none.
const DefaultRules = `Work alone: nobody else may be in the room or help you.
Keep your face in view of the camera for the whole exam.
No notes, books, phones or other devices unless the exam allows them.
Stay in the exam window and keep it in full screen; do not copy, paste or print.
Do not record, copy or share the questions.`

// CheckinRules are the exam's rules as a candidate reads them at check-in,
// one a line; DefaultRules when the exam sets none.
func CheckinRules(p ProctoringPolicy) []string {
	text := p.Rules
	if strings.TrimSpace(text) == "" {
		text = DefaultRules
	}
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// activeStatuses are those of a check-in that may still lead to an
// attempt. A candidate has at most one active check-in per exam: the
// database's unique index proctor_checkins_active holds them to it.
var activeStatuses = []string{CheckinOpen, CheckinPending, CheckinAdmitted}

// activeCheckin loads the candidate's active check-in for the exam into
// out, or fails with gorm.ErrRecordNotFound.
func activeCheckin(tx *gorm.DB, examID, candidateID string, out *checkinRow) error {
	*out = checkinRow{} // else GORM would look for out's id
	return tx.Where("exam_id = ? AND candidate_id = ? AND status IN ?", examID, candidateID, activeStatuses).
		Order("created_at DESC").Take(out).Error
}

// OpenCheckin returns the candidate's check-in for the exam that is open,
// pending or admitted and not yet used, or starts a new one. Concurrent
// calls for the same candidate and exam return the same check-in. It
// fails with ErrNoCheckin when the exam's policy requires no check-in.
func (s *Service) OpenCheckin(ctx context.Context, examID, candidateID string) (Checkin, error) {
	exam, err := s.Exam(ctx, examID)
	if err != nil {
		return Checkin{}, err
	}
	if !exam.Proctoring.CheckIn {
		return Checkin{}, fmt.Errorf("%w: exam %s", ErrNoCheckin, examID)
	}
	var out checkinRow
	err = s.tx(ctx, func(tx *gorm.DB) error {
		err := activeCheckin(tx, examID, candidateID, &out)
		if err == nil || !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		out = checkinRow{ID: uuid.NewString(), ExamID: examID, CandidateID: candidateID, Status: CheckinOpen,
			CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
		return tx.Create(&out).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// A concurrent call started one between our read and our insert,
		// and committed first: that one is the candidate's.
		err = activeCheckin(s.db.WithContext(ctx), examID, candidateID, &out)
	}
	if err != nil {
		return Checkin{}, fmt.Errorf("assess: open check-in: %w", err)
	}
	return out.checkin(), nil
}

// LatestCheckin returns the candidate's newest check-in for the exam that
// was not used for an attempt (it may be rejected), or ErrNotFound.
func (s *Service) LatestCheckin(ctx context.Context, examID, candidateID string) (Checkin, error) {
	var r checkinRow
	err := s.db.WithContext(ctx).Where("exam_id = ? AND candidate_id = ? AND status <> ?", examID, candidateID, CheckinUsed).
		Order("created_at DESC").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Checkin{}, notFound("check-in of exam", examID)
	}
	if err != nil {
		return Checkin{}, fmt.Errorf("assess: latest check-in: %w", err)
	}
	return r.checkin(), nil
}

// ownCheckin loads a check-in of the candidate; anyone else's is not
// found.
func (s *Service) ownCheckin(ctx context.Context, id, candidateID string) (Checkin, error) {
	ci, err := s.Checkin(ctx, id)
	if err != nil {
		return Checkin{}, err
	}
	if ci.CandidateID != candidateID {
		return Checkin{}, notFound("check-in", id)
	}
	return ci, nil
}

// updateCheckin applies fields to the check-in if its status is one of
// from, and returns it as updated; ErrCheckinStatus otherwise. The status
// is part of the update's condition, so that two concurrent changes cannot
// both apply.
func updateCheckin(tx *gorm.DB, id string, from []string, fields map[string]any) (checkinRow, error) {
	res := tx.Model(&checkinRow{}).Where("id = ? AND status IN ?", id, from).Updates(fields)
	if res.Error != nil {
		return checkinRow{}, fmt.Errorf("assess: check-in: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return checkinRow{}, fmt.Errorf("%w: check-in %s is not %s", ErrCheckinStatus, id, strings.Join(from, " or "))
	}
	var r checkinRow
	if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
		return checkinRow{}, fmt.Errorf("assess: check-in: %w", err)
	}
	return r, nil
}

// SaveSystemCheck records the page's system check of the candidate's open
// check-in: a JSON object of at most MaxSystemCheckBytes with "camera" and
// "browser" (booleans), "connection" ({"round_trip_ms", "upload_kbps"},
// numbers from 0 to 10^7) and optionally "features" (up to 16 named
// booleans). It is stored as parsed, so that nothing else is kept. A
// failed check is saved too; SubmitCheckin then refuses it.
func (s *Service) SaveSystemCheck(ctx context.Context, id, candidateID string, raw []byte) (Checkin, error) {
	sc, err := parseSystemCheck(raw)
	if err != nil {
		return Checkin{}, err
	}
	if _, err := s.ownCheckin(ctx, id, candidateID); err != nil {
		return Checkin{}, err
	}
	stored, err := json.Marshal(sc)
	if err != nil {
		return Checkin{}, fmt.Errorf("assess: system check: %w", err)
	}
	var out checkinRow
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = updateCheckin(tx, id, []string{CheckinOpen}, map[string]any{"system_check": string(stored)})
		return err
	})
	if err != nil {
		return Checkin{}, err
	}
	return out.checkin(), nil
}

func parseSystemCheck(raw []byte) (SystemCheck, error) {
	if len(raw) > MaxSystemCheckBytes {
		return SystemCheck{}, valid.Errorf("system_check", "is larger than %d bytes", MaxSystemCheckBytes)
	}
	var in struct {
		Camera     *bool           `json:"camera"`
		Browser    *bool           `json:"browser"`
		Features   map[string]bool `json:"features"`
		Connection *struct {
			RoundTripMS *float64 `json:"round_trip_ms"`
			UploadKbps  *float64 `json:"upload_kbps"`
		} `json:"connection"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return SystemCheck{}, valid.Errorf("system_check", "must be a JSON object with camera, browser and connection")
	}
	switch {
	case in.Camera == nil:
		return SystemCheck{}, valid.Errorf("camera", "is required: true when a camera stream was had")
	case in.Browser == nil:
		return SystemCheck{}, valid.Errorf("browser", "is required: true when every feature the exam needs is there")
	case in.Connection == nil || in.Connection.RoundTripMS == nil || in.Connection.UploadKbps == nil:
		return SystemCheck{}, valid.Errorf("connection", "is required: round_trip_ms and upload_kbps")
	}
	for field, v := range map[string]float64{"connection.round_trip_ms": *in.Connection.RoundTripMS, "connection.upload_kbps": *in.Connection.UploadKbps} {
		if math.IsNaN(v) || v < 0 || v > 1e7 {
			return SystemCheck{}, valid.Errorf(field, "must be from 0 to 10000000")
		}
	}
	if len(in.Features) > 16 {
		return SystemCheck{}, valid.Errorf("features", "must name at most 16 features")
	}
	for name := range in.Features {
		if name == "" || len(name) > 32 {
			return SystemCheck{}, valid.Errorf("features", "names must be 1 to 32 characters")
		}
	}
	return SystemCheck{Camera: *in.Camera, Browser: *in.Browser, Features: in.Features,
		Connection: Connection{RoundTripMS: *in.Connection.RoundTripMS, UploadKbps: *in.Connection.UploadKbps}}, nil
}

// AcceptRules records that the candidate accepted the exam's rules on
// their open check-in.
func (s *Service) AcceptRules(ctx context.Context, id, candidateID string) (Checkin, error) {
	if _, err := s.ownCheckin(ctx, id, candidateID); err != nil {
		return Checkin{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out checkinRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = updateCheckin(tx, id, []string{CheckinOpen}, map[string]any{"rules_accepted_at": now})
		return err
	})
	if err != nil {
		return Checkin{}, err
	}
	return out.checkin(), nil
}

// CheckinPhotos counts the check-in's stored photos of each kind
// ("candidate_photo", "id_photo"), leaving out those deleted after their
// retention period.
func (s *Service) CheckinPhotos(ctx context.Context, id string) (map[string]int, error) {
	var rows []struct {
		Kind string
		N    int
	}
	// The rows belong to assess/proctor; only their count matters here.
	err := s.db.WithContext(ctx).Raw("SELECT kind, COUNT(*) AS n FROM proctor_snapshots WHERE checkin_id = ? AND deleted_at IS NULL GROUP BY kind", id).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("assess: check-in photos: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Kind] = r.N
	}
	return out, nil
}

// Missing lists what the check-in still lacks before it can be submitted,
// by field: "system_check" (none saved, or the camera failed),
// "candidate_photo", "id_photo" and "rules".
func (s *Service) Missing(ctx context.Context, ci Checkin) ([]string, error) {
	photos, err := s.CheckinPhotos(ctx, ci.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	if sc, ok := ci.System(); !ok || !sc.Camera {
		out = append(out, "system_check")
	}
	for _, kind := range []string{"candidate_photo", "id_photo"} {
		if photos[kind] == 0 {
			out = append(out, kind)
		}
	}
	if ci.RulesAcceptedAt == nil {
		out = append(out, "rules")
	}
	return out, nil
}

// missingMessages explain each thing a check-in may lack.
var missingMessages = map[string]string{
	"system_check":    "must be done with a working camera",
	"candidate_photo": "is missing: take a photo of yourself",
	"id_photo":        "is missing: take a photo of your ID",
	"rules":           "must be accepted",
}

// SubmitCheckin completes the candidate's open check-in: it needs a system
// check with a working camera, a photo of the candidate and one of their
// ID, and the rules accepted (else a field error naming the first thing
// missing). Under AdmitAutomatically the check-in is admitted at once
// (decided by DecidedAutomatically); under AdmitByProctor it waits,
// pending, for a proctor. Both steps are audited.
func (s *Service) SubmitCheckin(ctx context.Context, id, candidateID string) (Checkin, error) {
	ci, err := s.ownCheckin(ctx, id, candidateID)
	if err != nil {
		return Checkin{}, err
	}
	if ci.Status != CheckinOpen {
		return Checkin{}, fmt.Errorf("%w: check-in %s is %s", ErrCheckinStatus, id, ci.Status)
	}
	missing, err := s.Missing(ctx, ci)
	if err != nil {
		return Checkin{}, err
	}
	if len(missing) > 0 {
		return Checkin{}, valid.Errorf(missing[0], "%s", missingMessages[missing[0]])
	}
	exam, err := s.Exam(ctx, ci.ExamID)
	if err != nil {
		return Checkin{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	auto := exam.Proctoring.Admission != AdmitByProctor
	fields := map[string]any{"status": CheckinPending, "submitted_at": now}
	if auto {
		fields = map[string]any{"status": CheckinAdmitted, "submitted_at": now, "decided_at": now, "decided_by": DecidedAutomatically}
	}
	var out checkinRow
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if out, err = updateCheckin(tx, id, []string{CheckinOpen}, fields); err != nil {
			return err
		}
		subject := "checkin:" + id
		if err := audit.Append(tx, audit.Entry{Actor: candidateID, Action: "checkin.submit", Subject: subject,
			After: map[string]string{"exam": ci.ExamID, "status": CheckinPending}, At: now}); err != nil {
			return err
		}
		if !auto {
			return nil
		}
		return audit.Append(tx, audit.Entry{Actor: DecidedAutomatically, Action: "checkin.admit", Subject: subject,
			Before: map[string]string{"status": CheckinPending}, After: map[string]string{"exam": ci.ExamID, "status": CheckinAdmitted}, At: now})
	})
	if err != nil {
		return Checkin{}, err
	}
	return out.checkin(), nil
}

// AdmitCheckin admits a pending check-in on a proctor's decision, audited.
// The caller checks that the actor proctors the check-in's exam.
func (s *Service) AdmitCheckin(ctx context.Context, actor, id string) (Checkin, error) {
	return s.decideCheckin(ctx, actor, id, CheckinAdmitted, "", "checkin.admit", []string{CheckinPending})
}

// RejectCheckin rejects a pending check-in, or an admitted one not yet
// used, with a note saying why (required; the candidate reads it),
// audited. The candidate may check in again.
func (s *Service) RejectCheckin(ctx context.Context, actor, id, note string) (Checkin, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return Checkin{}, valid.Errorf("note", "is required: say why, for the candidate and the record")
	}
	if len(note) > 2000 {
		return Checkin{}, valid.Errorf("note", "must be at most 2000 characters")
	}
	return s.decideCheckin(ctx, actor, id, CheckinRejected, note, "checkin.reject", []string{CheckinPending, CheckinAdmitted})
}

func (s *Service) decideCheckin(ctx context.Context, actor, id, status, note, action string, from []string) (Checkin, error) {
	before, err := s.Checkin(ctx, id)
	if err != nil {
		return Checkin{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out checkinRow
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = updateCheckin(tx, id, from, map[string]any{"status": status, "decided_at": now, "decided_by": actor, "note": note})
		if err != nil {
			return err
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: action, Subject: "checkin:" + id,
			Before: map[string]string{"status": before.Status},
			After:  map[string]string{"exam": before.ExamID, "candidate": before.CandidateID, "status": status, "note": note}, At: now})
	})
	if err != nil {
		return Checkin{}, err
	}
	return out.checkin(), nil
}

// PendingCheckins lists the check-ins of the exams waiting for a proctor,
// oldest submission first. No exams, no check-ins.
func (s *Service) PendingCheckins(ctx context.Context, examIDs []string) ([]Checkin, error) {
	if len(examIDs) == 0 {
		return nil, nil
	}
	var rows []checkinRow
	err := s.db.WithContext(ctx).Where("status = ? AND exam_id IN ?", CheckinPending, examIDs).
		Order("submitted_at, id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("assess: pending check-ins: %w", err)
	}
	out := make([]Checkin, len(rows))
	for i, r := range rows {
		out[i] = r.checkin()
	}
	return out, nil
}

// admitted returns the candidate's admitted, unused check-in for the
// exam, or ErrNotAdmitted.
func admitted(tx *gorm.DB, examID, candidateID string) (checkinRow, error) {
	var r checkinRow
	err := tx.Where("exam_id = ? AND candidate_id = ? AND status = ?", examID, candidateID, CheckinAdmitted).
		Order("created_at").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return checkinRow{}, fmt.Errorf("%w: exam %s", ErrNotAdmitted, examID)
	}
	if err != nil {
		return checkinRow{}, fmt.Errorf("assess: check-in: %w", err)
	}
	return r, nil
}

// useCheckin marks the candidate's admitted check-in used by the attempt,
// in the attempt's transaction: one check-in, one attempt.
func useCheckin(tx *gorm.DB, examID, candidateID, attemptID string) error {
	r, err := admitted(tx, examID, candidateID)
	if err != nil {
		return err
	}
	res := tx.Model(&checkinRow{}).Where("id = ? AND status = ?", r.ID, CheckinAdmitted).
		Updates(map[string]any{"status": CheckinUsed, "attempt_id": attemptID})
	if res.Error != nil {
		return fmt.Errorf("assess: use check-in: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%w: check-in %s was used or rejected meanwhile", ErrNotAdmitted, r.ID)
	}
	return nil
}
