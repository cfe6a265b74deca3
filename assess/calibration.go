package assess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gonum.org/v1/gonum/mat"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// The IRT models a calibration run may fit.
const (
	CalibrationRasch = "rasch" // Rasch by conditional ML
	Calibration1PL   = "1pl"   // common slope, by marginal ML
	Calibration2PL   = "2pl"   // by marginal ML
	Calibration3PL   = "3pl"   // by marginal ML, with a Beta(5, 17) prior on c
)

// CalibrationModels lists the models in the order a form offers them.
var CalibrationModels = []string{CalibrationRasch, Calibration1PL, Calibration2PL, Calibration3PL}

// The states of a calibration run.
const (
	RunRunning = "running"
	RunDone    = "done"
	RunFailed  = "failed"
)

// Calibration settings. They are those of `touchstone psych irt` with its
// defaults, so that the CLI reproduces every stored run from the exported
// responses (`--missing omit`, since an item not administered to an
// attempt is not a wrong answer).
const (
	calibrationMaxIter    = 500
	calibrationQuadrature = 61
	calibrationGuessAlpha = 5
	calibrationGuessBeta  = 17
)

// calibrationTimeout bounds a background run, so that a pathological data
// set cannot hold a goroutine forever.
const calibrationTimeout = 15 * time.Minute

// CalibrationRequest asks for a calibration run of an exam.
type CalibrationRequest struct {
	Model string // one of CalibrationModels
	// AnchorRunID, when set, names a finished run (of this exam or
	// another) whose scale the new run is linked onto through the
	// operational items the two runs share.
	AnchorRunID string
	Note        string
}

// ErrCalibrationRunning: a run of the exam under the same model is still
// being calculated; a second would only repeat it.
var ErrCalibrationRunning = errors.New("assess: a calibration of this exam under this model is running")

// Stat is a statistic that may be undefined: NaN (or an infinity) is
// written to JSON as null and read back as NaN.
type Stat float64

// MarshalJSON writes null for NaN and infinities.
func (s Stat) MarshalJSON() ([]byte, error) {
	f := float64(s)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads null as NaN.
func (s *Stat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Stat(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*s = Stat(f)
	return nil
}

// F is the statistic as a float64 (NaN when undefined), for templates.
func (s Stat) F() float64 { return float64(s) }

// ItemParams are an item's 3PL parameters (D = 1) and their standard
// errors; a parameter the model fixes has a NaN standard error.
type ItemParams struct {
	A   Stat `json:"a"`
	B   Stat `json:"b"`
	C   Stat `json:"c"`
	SEA Stat `json:"se_a"`
	SEB Stat `json:"se_b"`
	SEC Stat `json:"se_c"`
}

// Item3PL returns the parameters as a psychometrics item.
func (p ItemParams) Item3PL() psychometrics.Item3PL {
	return psychometrics.Item3PL{A: float64(p.A), B: float64(p.B), C: float64(p.C)}
}

// CalibratedItem is one item of a calibration run: its parameters as
// estimated (on the run's own scale), and, when the run is linked, on the
// anchor run's scale.
type CalibratedItem struct {
	ItemID string `json:"item"`
	// Pretest items are calibrated with the others but never used to
	// link two runs.
	Pretest bool `json:"pretest"`
	// Common marks the items the linking used.
	Common bool `json:"common,omitempty"`
	ItemParams
	// Rasch (CML) item fit: mean squares and standardised values.
	Infit   *Stat `json:"infit,omitempty"`
	Outfit  *Stat `json:"outfit,omitempty"`
	InfitZ  *Stat `json:"infit_z,omitempty"`
	OutfitZ *Stat `json:"outfit_z,omitempty"`
	// 1PL/2PL/3PL item fit: Orlando & Thissen's S-X².
	SX2   *Stat `json:"s_x2,omitempty"`
	SX2DF *int  `json:"s_x2_df,omitempty"`
	SX2P  *Stat `json:"s_x2_p,omitempty"`
	// Linked holds the parameters on the anchor run's scale; nil when the
	// run is not linked.
	Linked *ItemParams `json:"linked,omitempty"`
}

// Final is the item's parameters on the run's reporting scale: linked
// when the run is linked, as estimated otherwise.
func (it CalibratedItem) Final() ItemParams {
	if it.Linked != nil {
		return *it.Linked
	}
	return it.ItemParams
}

// Linking records how a run was put on its anchor's scale:
// θ_anchor = A·θ_run + B.
type Linking struct {
	AnchorRunID   string `json:"anchor_run_id"`
	AnchorVersion int    `json:"anchor_version"`
	// Method is "stocking-lord", "mean-sigma" (when Stocking–Lord fails)
	// or "mean" (Rasch runs: a shift of the difficulties, slopes stay 1).
	Method      string  `json:"method"`
	A           float64 `json:"a"`
	B           float64 `json:"b"`
	CommonItems int     `json:"common_items"`
	// Fallback says why Stocking–Lord was not used, when it was not.
	Fallback string `json:"fallback,omitempty"`
}

// CalibrationResult is what a finished run stores. Its field names are
// those of `touchstone psych irt` where the two share a statistic.
type CalibrationResult struct {
	Model      string           `json:"model"`
	Method     string           `json:"method"` // "cml" or "mml"
	Missing    string           `json:"missing"`
	Persons    int              `json:"persons"`
	Excluded   int              `json:"excluded_persons"`
	LogLik     Stat             `json:"loglik"`
	AIC        Stat             `json:"aic"`
	BIC        Stat             `json:"bic"`
	Parameters int              `json:"parameters"`
	Converged  bool             `json:"converged"`
	Iterations int              `json:"iterations"`
	ThetaMean  Stat             `json:"theta_mean"`
	ThetaSD    Stat             `json:"theta_sd"`
	Items      []CalibratedItem `json:"items"`
	// Thetas are the attempts' abilities on the run's reporting scale
	// (linked when the run is linked), for the Wright map: EAP under MML,
	// WLE under Rasch CML (finite for zero and perfect scores too).
	Thetas []Stat `json:"thetas"`
	// Linking is nil unless the run was linked onto an anchor run.
	Linking *Linking `json:"linking,omitempty"`
}

// CalibrationRun is one stored, versioned calibration of an exam.
type CalibrationRun struct {
	ID          string
	ExamID      string
	Version     int // 1, 2, … per exam
	Model       string
	Status      string // RunRunning, RunDone or RunFailed
	AnchorRunID string
	Persons     int
	Result      *CalibrationResult // nil until done
	Error       string             // why a failed run failed
	Note        string
	CreatedBy   string
	CreatedAt   time.Time
	FinishedAt  *time.Time
}

type calibrationRow struct {
	ID          string     `gorm:"column:id;primaryKey"`
	ExamID      string     `gorm:"column:exam_id"`
	Version     int        `gorm:"column:version"`
	Model       string     `gorm:"column:model"`
	Status      string     `gorm:"column:status"`
	AnchorRunID *string    `gorm:"column:anchor_run_id"`
	Persons     int        `gorm:"column:persons"`
	Result      string     `gorm:"column:result"`
	Error       string     `gorm:"column:error"`
	Note        string     `gorm:"column:note"`
	CreatedBy   *string    `gorm:"column:created_by"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	FinishedAt  *time.Time `gorm:"column:finished_at"`
}

func (calibrationRow) TableName() string { return "calibration_runs" }

func (r calibrationRow) run() (CalibrationRun, error) {
	out := CalibrationRun{ID: r.ID, ExamID: r.ExamID, Version: r.Version, Model: r.Model, Status: r.Status,
		Persons: r.Persons, Error: r.Error, Note: r.Note, CreatedAt: r.CreatedAt.UTC(), FinishedAt: r.FinishedAt}
	if r.AnchorRunID != nil {
		out.AnchorRunID = *r.AnchorRunID
	}
	if r.CreatedBy != nil {
		out.CreatedBy = *r.CreatedBy
	}
	if r.FinishedAt != nil {
		t := r.FinishedAt.UTC()
		out.FinishedAt = &t
	}
	if r.Result != "" {
		var res CalibrationResult
		if err := json.Unmarshal([]byte(r.Result), &res); err != nil {
			return out, fmt.Errorf("assess: calibration run %s: result: %w", r.ID, err)
		}
		out.Result = &res
	}
	return out, nil
}

// runTracker knows which runs this process is calculating.
type runTracker struct {
	mu   sync.Mutex
	done map[string]chan struct{}
}

func newRunTracker() *runTracker { return &runTracker{done: map[string]chan struct{}{}} }

func (t *runTracker) start(id string) chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := make(chan struct{})
	t.done[id] = ch
	return ch
}

func (t *runTracker) finish(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ch, ok := t.done[id]; ok {
		close(ch)
		delete(t.done, id)
	}
}

func (t *runTracker) wait(id string) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done[id]
}

// Calibrate starts a calibration run of the exam's scored responses under
// req.Model and returns it while it runs: the run is stored with the next
// version number of the exam, audited as "calibration.run", and calculated
// in the background, ending done (with its result) or failed (with the
// reason). WaitCalibration waits for it.
//
// Every submitted attempt is used, with its pretest items: their responses
// are stored and scored although they never count toward a candidate's
// score, so they are calibrated with the operational items. With an anchor
// run the new run is linked onto the anchor's scale through the
// operational items the two share (see Linking).
//
// Calibrate returns a *valid.Error for an unknown model or an anchor run
// that is not finished, ErrNotFound for an unknown exam or anchor run, and
// ErrCalibrationRunning while a run of the exam under the same model is
// being calculated (by any instance of the deployment).
func (s *Service) Calibrate(ctx context.Context, actor, examID string, req CalibrationRequest) (CalibrationRun, error) {
	if !slices.Contains(CalibrationModels, req.Model) {
		return CalibrationRun{}, valid.Errorf("model", "must be one of %s", strings.Join(CalibrationModels, ", "))
	}
	req.Note = strings.TrimSpace(req.Note)
	if len(req.Note) > 2000 {
		return CalibrationRun{}, valid.Errorf("note", "must be at most 2000 characters")
	}
	exam, err := s.Exam(ctx, examID)
	if err != nil {
		return CalibrationRun{}, err
	}
	if req.AnchorRunID != "" {
		anchor, err := s.CalibrationRun(ctx, req.AnchorRunID)
		if errors.Is(err, ErrNotFound) {
			return CalibrationRun{}, valid.Errorf("anchor_run_id", "names no calibration run")
		}
		if err != nil {
			return CalibrationRun{}, err
		}
		if anchor.Status != RunDone {
			return CalibrationRun{}, valid.Errorf("anchor_run_id", "names a run that is not done")
		}
	}
	now := s.now().UTC()
	row := calibrationRow{ID: uuid.NewString(), ExamID: exam.ID, Model: req.Model, Status: RunRunning,
		Note: req.Note, CreatedBy: userRef(actor), CreatedAt: now}
	if req.AnchorRunID != "" {
		row.AnchorRunID = &req.AnchorRunID
	}
	var out CalibrationRun
	err = s.tx(ctx, func(tx *gorm.DB) error {
		// One run of an exam per model at a time, whichever instance is
		// asked: the exam's row is locked while the running runs are read.
		if err := tx.Exec("UPDATE exams SET id = id WHERE id = ?", exam.ID).Error; err != nil {
			return fmt.Errorf("assess: calibrate: %w", err)
		}
		var running []int
		if err := tx.Model(&calibrationRow{}).Where("exam_id = ? AND model = ? AND status = ? AND created_at >= ?",
			exam.ID, req.Model, RunRunning, now.Add(-calibrationTimeout-time.Minute)).Pluck("version", &running).Error; err != nil {
			return fmt.Errorf("assess: calibrate: %w", err)
		}
		if len(running) > 0 {
			return fmt.Errorf("%w: version %d", ErrCalibrationRunning, running[0])
		}
		var last *int
		if err := tx.Model(&calibrationRow{}).Where("exam_id = ?", exam.ID).Select("MAX(version)").Scan(&last).Error; err != nil {
			return fmt.Errorf("assess: calibrate: %w", err)
		}
		row.Version = 1
		if last != nil {
			row.Version = *last + 1
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("%w: calibration version %d of exam %s: %v", ErrConflict, row.Version, exam.ID, err)
		}
		out, _ = row.run()
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "calibration.run", Subject: "calibration:" + row.ID, After: out, At: now})
	})
	if err != nil {
		return CalibrationRun{}, err
	}
	s.runs.start(row.ID)
	go func() {
		defer s.runs.finish(row.ID)
		// A panic of the numeric code on data it did not foresee fails the
		// run instead of the server.
		defer func() {
			if p := recover(); p != nil {
				s.recordCalibration(context.WithoutCancel(ctx), row.ID, nil, fmt.Errorf("internal error in the calibration: %v", p))
			}
		}()
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), calibrationTimeout)
		defer cancel()
		s.finishCalibration(bg, row, exam, req)
	}()
	return out, nil
}

// WaitCalibration waits until the run is no longer being calculated by
// this process (or ctx ends) and returns it as stored.
func (s *Service) WaitCalibration(ctx context.Context, id string) (CalibrationRun, error) {
	if ch := s.runs.wait(id); ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return CalibrationRun{}, ctx.Err()
		}
	}
	return s.CalibrationRun(ctx, id)
}

// finishCalibration calculates the run and stores its outcome.
func (s *Service) finishCalibration(ctx context.Context, row calibrationRow, exam Exam, req CalibrationRequest) {
	res, err := s.calibrate(ctx, exam, req)
	// The outcome is recorded even when the calculation ran out its time.
	s.recordCalibration(context.WithoutCancel(ctx), row.ID, res, err)
}

// recordCalibration stores the outcome of run id: res, or the error.
func (s *Service) recordCalibration(ctx context.Context, id string, res *CalibrationResult, err error) {
	now := s.now().UTC()
	update := map[string]any{"finished_at": now}
	action := "calibration.done"
	if err != nil {
		update["status"], update["error"] = RunFailed, err.Error()
		action = "calibration.failed"
	} else {
		b, jerr := json.Marshal(res)
		if jerr != nil {
			update["status"], update["error"] = RunFailed, "the result could not be stored: "+jerr.Error()
			action = "calibration.failed"
		} else {
			update["status"], update["result"], update["persons"] = RunDone, string(b), res.Persons
		}
	}
	// The outcome is recorded even when the request that started the run
	// is long gone; a failure to record leaves the run "running", which
	// the page shows as such.
	// Only a run still running is recorded, once: instances that find the
	// same stale run at the same time fail it, and audit it, once.
	_ = s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&calibrationRow{}).Where("id = ? AND status = ?", id, RunRunning).Updates(update)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		after := map[string]any{"status": update["status"], "persons": update["persons"]}
		if e, ok := update["error"]; ok {
			after["error"] = e
		}
		return audit.Append(tx, audit.Entry{Actor: "system", Action: action, Subject: "calibration:" + id, After: after, At: now})
	})
}

// pretestItems returns the exam's items that are being tried out: marked
// pretest on a form, or listed as LOFT or CAT pretest items.
func pretestItems(exam Exam) map[string]bool {
	out := map[string]bool{}
	for _, f := range exam.Forms {
		for _, sec := range f.Sections {
			for _, it := range sec.Items {
				if it.Pretest {
					out[it.ItemID] = true
				}
			}
		}
	}
	for _, id := range exam.LOFT.PretestItems {
		out[id] = true
	}
	for _, id := range exam.CAT.PretestItems {
		out[id] = true
	}
	return out
}

// calibrate fits the model to the exam's responses and links the result.
func (s *Service) calibrate(ctx context.Context, exam Exam, req CalibrationRequest) (*CalibrationResult, error) {
	x, _, err := s.responseMatrix(ctx, exam)
	if err != nil {
		return nil, err
	}
	if x == nil {
		return nil, errors.New("no scored attempts to calibrate")
	}
	res, err := FitIRT(x, exam.ItemIDs, req.Model)
	if err != nil {
		return nil, err
	}
	pretest := pretestItems(exam)
	for j := range res.Items {
		res.Items[j].Pretest = pretest[res.Items[j].ItemID]
	}
	if req.AnchorRunID != "" {
		anchor, err := s.CalibrationRun(ctx, req.AnchorRunID)
		if err != nil {
			return nil, err
		}
		if anchor.Result == nil {
			return nil, errors.New("the anchor run has no result")
		}
		if err := link(res, anchor); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// FitIRT calibrates the persons × items matrix x of 0/1 scores (NaN: not
// administered) under model, with the settings of `touchstone psych irt`
// and `--missing omit`: Rasch by conditional ML with infit and outfit, the
// others by marginal ML (EM, 61 quadrature points, at most 500 cycles, a
// Beta(5, 17) prior on 3PL lower asymptotes) with S-X² fit. names label
// the columns. The persons' abilities are EAP estimates under MML and WLE
// estimates under Rasch CML.
func FitIRT(x *mat.Dense, names []string, model string) (*CalibrationResult, error) {
	persons, k := x.Dims()
	if len(names) != k {
		return nil, fmt.Errorf("assess: %d item names for %d columns", len(names), k)
	}
	if persons == 0 || k < 2 {
		return nil, errors.New("calibration needs at least one attempt and two items")
	}
	out := &CalibrationResult{Model: model, Missing: "omit"}
	var items []psychometrics.Item3PL
	if model == CalibrationRasch {
		out.Method = "cml"
		cal, err := psychometrics.CalibrateRasch(x, psychometrics.RaschSettings{MaxIter: calibrationMaxIter})
		if err != nil {
			return nil, err
		}
		out.Persons, out.Excluded = cal.Persons, persons-cal.Persons
		out.LogLik, out.Parameters = Stat(cal.LogLik), k-1
		out.AIC = Stat(-2*cal.LogLik + 2*float64(k-1))
		out.BIC = Stat(-2*cal.LogLik + float64(k-1)*math.Log(float64(cal.Persons)))
		out.Converged, out.Iterations = cal.Converged, cal.Iterations
		out.ThetaMean, out.ThetaSD = Stat(math.NaN()), Stat(math.NaN())
		items = make([]psychometrics.Item3PL, k)
		for j, b := range cal.B {
			items[j] = psychometrics.Item3PL{A: 1, B: b}
		}
		fits := psychometrics.RaschItemFit(x, cal.B, raschMLE(x, items))
		for j, b := range cal.B {
			f := fits[j]
			in, outf, inz, outz := Stat(f.Infit), Stat(f.Outfit), Stat(f.InfitZ), Stat(f.OutfitZ)
			out.Items = append(out.Items, CalibratedItem{ItemID: names[j],
				ItemParams: ItemParams{A: 1, B: Stat(b), C: 0, SEA: Stat(math.NaN()), SEB: Stat(cal.SE[j]), SEC: Stat(math.NaN())},
				Infit:      &in, Outfit: &outf, InfitZ: &inz, OutfitZ: &outz})
		}
		out.Thetas = make([]Stat, persons)
		for i := range persons {
			est, err := psychometrics.ThetaWLE(items, x.RawRowView(i))
			out.Thetas[i] = Stat(est.Theta)
			if err != nil {
				out.Thetas[i] = Stat(math.NaN())
			}
		}
		return out, nil
	}

	m := map[string]psychometrics.Model{Calibration1PL: psychometrics.Model1PL, Calibration2PL: psychometrics.Model2PL, Calibration3PL: psychometrics.Model3PL}[model]
	out.Method = "mml"
	st := psychometrics.MMLSettings{Model: m, MaxIter: calibrationMaxIter,
		Quadrature: psychometrics.NormalQuadrature(calibrationQuadrature, 0, 1),
		GuessPrior: &psychometrics.BetaPrior{Alpha: calibrationGuessAlpha, Beta: calibrationGuessBeta}}
	cal, err := psychometrics.CalibrateMML(x, st)
	if err != nil {
		return nil, err
	}
	out.Persons, out.Excluded = cal.Persons, persons-cal.Persons
	out.LogLik, out.AIC, out.BIC, out.Parameters = Stat(cal.LogLik), Stat(cal.AIC), Stat(cal.BIC), cal.Parameters
	out.Converged, out.Iterations = cal.Converged, cal.Iterations
	out.ThetaMean, out.ThetaSD = Stat(cal.Mean), Stat(cal.SD)
	perItem := map[psychometrics.Model]int{psychometrics.Model1PL: 1, psychometrics.Model2PL: 2, psychometrics.Model3PL: 3}[m]
	q := psychometrics.NormalQuadrature(calibrationQuadrature, cal.Mean, cal.SD)
	fits, err := psychometrics.SX2(x, cal.Items, q, perItem)
	if err != nil {
		return nil, err
	}
	for j, it := range cal.Items {
		chi, p, df := Stat(fits[j].Chi2), Stat(fits[j].P), fits[j].DF
		out.Items = append(out.Items, CalibratedItem{ItemID: names[j],
			ItemParams: ItemParams{A: Stat(it.A), B: Stat(it.B), C: Stat(it.C), SEA: Stat(cal.SE[j].A), SEB: Stat(cal.SE[j].B), SEC: Stat(cal.SE[j].C)},
			SX2:        &chi, SX2P: &p, SX2DF: &df})
	}
	// An item with a slope that is not positive (a miskey, say) cannot
	// score anyone: the abilities use the others.
	var scoring []psychometrics.Item3PL
	var cols []int
	for j, it := range cal.Items {
		if usable(it) {
			scoring, cols = append(scoring, it), append(cols, j)
		}
	}
	out.Thetas = make([]Stat, persons)
	resp := make([]float64, len(cols))
	for i := range persons {
		if len(scoring) == 0 {
			out.Thetas[i] = Stat(math.NaN())
			continue
		}
		for c, j := range cols {
			resp[c] = x.At(i, j)
		}
		out.Thetas[i] = Stat(psychometrics.ThetaEAP(scoring, resp, q).Theta)
	}
	return out, nil
}

// usable reports whether an item's parameters can score a person and
// link a scale: a positive, finite slope, a finite difficulty and a lower
// asymptote in [0, 1).
func usable(it psychometrics.Item3PL) bool {
	return it.A > 0 && !math.IsInf(it.A, 0) && !math.IsNaN(it.B) && !math.IsInf(it.B, 0) && it.C >= 0 && it.C < 1
}

// raschMLE returns each person's maximum-likelihood θ under the Rasch
// items, NaN for zero and perfect scores: the θ the CLI's item fit uses.
func raschMLE(x *mat.Dense, items []psychometrics.Item3PL) []float64 {
	r, _ := x.Dims()
	theta := make([]float64, r)
	for i := range r {
		est, err := psychometrics.ThetaMLE(items, x.RawRowView(i))
		if err != nil {
			theta[i] = math.NaN()
			continue
		}
		theta[i] = est.Theta
	}
	return theta
}

// link puts res on the anchor run's scale through the operational items
// both runs calibrated (pretest items in either run, and items whose
// parameters are unusable in either, such as a negative slope, excluded): the
// Stocking–Lord constants, or mean/sigma when Stocking–Lord fails; for a
// Rasch run, whose slopes must stay 1, the shift of the mean difficulty.
// Every item of res, pretest items included, gets its linked parameters,
// and the persons' abilities move with them.
func link(res *CalibrationResult, anchor CalibrationRun) error {
	target := map[string]ItemParams{}
	for _, it := range anchor.Result.Items {
		if !it.Pretest {
			target[it.ItemID] = it.Final()
		}
	}
	var src, tgt []psychometrics.Item3PL
	for j := range res.Items {
		it := &res.Items[j]
		if t, ok := target[it.ItemID]; ok && !it.Pretest && usable(it.Item3PL()) && usable(t.Item3PL()) {
			it.Common = true
			src = append(src, it.Item3PL())
			tgt = append(tgt, t.Item3PL())
		}
	}
	l := &Linking{AnchorRunID: anchor.ID, AnchorVersion: anchor.Version, CommonItems: len(src)}
	if len(src) < 2 {
		return fmt.Errorf("linking needs at least two operational items common to this run and the anchor run (version %d); found %d", anchor.Version, len(src))
	}
	var lk psychometrics.Linking
	switch {
	case res.Model == CalibrationRasch:
		l.Method = "mean"
		var d float64
		for j := range src {
			d += tgt[j].B - src[j].B
		}
		lk = psychometrics.Linking{A: 1, B: d / float64(len(src))}
	default:
		var err error
		l.Method = "stocking-lord"
		lk, err = psychometrics.StockingLord(src, tgt, nil)
		if err != nil {
			l.Method, l.Fallback = "mean-sigma", err.Error()
			lk = psychometrics.MeanSigma(src, tgt)
		}
	}
	if !(lk.A > 0) || math.IsInf(lk.A, 0) || math.IsNaN(lk.B) || math.IsInf(lk.B, 0) {
		return fmt.Errorf("linking failed: the common items give no finite scale transformation (A = %v, B = %v)", lk.A, lk.B)
	}
	l.A, l.B = lk.A, lk.B
	res.Linking = l
	for j := range res.Items {
		p := res.Items[j].ItemParams
		li := lk.Item(p.Item3PL())
		res.Items[j].Linked = &ItemParams{A: Stat(li.A), B: Stat(li.B), C: Stat(li.C),
			SEA: p.SEA / Stat(lk.A), SEB: p.SEB * Stat(lk.A), SEC: p.SEC}
	}
	for i, t := range res.Thetas {
		res.Thetas[i] = Stat(lk.Theta(float64(t)))
	}
	return nil
}

// expireRuns fails the runs still marked running well past the time a
// calculation may take: the process calculating them stopped (a restart,
// a crash), and nothing else will record their outcome.
func (s *Service) expireRuns(ctx context.Context, where string, args ...any) error {
	now := s.now().UTC()
	var stale []string
	q := s.db.WithContext(ctx).Model(&calibrationRow{}).Where("status = ? AND created_at < ?", RunRunning, now.Add(-calibrationTimeout-time.Minute))
	if err := q.Where(where, args...).Pluck("id", &stale).Error; err != nil {
		return fmt.Errorf("assess: calibration runs: %w", err)
	}
	for _, id := range stale {
		if s.runs.wait(id) != nil {
			continue // this process is still at it
		}
		s.recordCalibration(ctx, id, nil, errors.New("the calculation did not finish: the server stopped or the run took longer than "+calibrationTimeout.String()))
	}
	return nil
}

// CalibrationRuns lists the exam's runs, newest first.
func (s *Service) CalibrationRuns(ctx context.Context, examID string) ([]CalibrationRun, error) {
	if _, err := s.Exam(ctx, examID); err != nil {
		return nil, err
	}
	if err := s.expireRuns(ctx, "exam_id = ?", examID); err != nil {
		return nil, err
	}
	var rows []calibrationRow
	if err := s.db.WithContext(ctx).Where("exam_id = ?", examID).Order("version DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: calibration runs: %w", err)
	}
	out := make([]CalibrationRun, 0, len(rows))
	for _, r := range rows {
		run, err := r.run()
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, nil
}

// CalibrationRun returns one run; ErrNotFound if there is none.
func (s *Service) CalibrationRun(ctx context.Context, id string) (CalibrationRun, error) {
	if uuid.Validate(id) == nil {
		if err := s.expireRuns(ctx, "id = ?", id); err != nil {
			return CalibrationRun{}, err
		}
	}
	var r calibrationRow
	if err := first(s.db.WithContext(ctx), &r, "calibration run", id); err != nil {
		return CalibrationRun{}, err
	}
	return r.run()
}

// ComparedItem is one item common to two runs: its parameters in each (on
// each run's reporting scale) and their differences, second minus first.
type ComparedItem struct {
	ItemID  string     `json:"item"`
	Pretest bool       `json:"pretest"`
	First   ItemParams `json:"first"`
	Second  ItemParams `json:"second"`
	DiffA   Stat       `json:"diff_a"`
	DiffB   Stat       `json:"diff_b"`
	DiffC   Stat       `json:"diff_c"`
}

// RunComparison sets two runs side by side.
type RunComparison struct {
	First, Second CalibrationRun
	Items         []ComparedItem // in the second run's item order
}

// CompareRuns sets two finished runs side by side over the items both
// calibrated. It returns ErrNotFound for an unknown run and a *valid.Error
// ("a" or "b") for a run that is not done.
func (s *Service) CompareRuns(ctx context.Context, a, b string) (RunComparison, error) {
	first, err := s.CalibrationRun(ctx, a)
	if err != nil {
		return RunComparison{}, err
	}
	second, err := s.CalibrationRun(ctx, b)
	if err != nil {
		return RunComparison{}, err
	}
	if first.Result == nil {
		return RunComparison{}, valid.Errorf("a", "version %d is not done", first.Version)
	}
	if second.Result == nil {
		return RunComparison{}, valid.Errorf("b", "version %d is not done", second.Version)
	}
	in := map[string]ItemParams{}
	for _, it := range first.Result.Items {
		in[it.ItemID] = it.Final()
	}
	out := RunComparison{First: first, Second: second}
	for _, it := range second.Result.Items {
		p, ok := in[it.ItemID]
		if !ok {
			continue
		}
		q := it.Final()
		out.Items = append(out.Items, ComparedItem{ItemID: it.ItemID, Pretest: it.Pretest, First: p, Second: q,
			DiffA: q.A - p.A, DiffB: q.B - p.B, DiffC: q.C - p.C})
	}
	return out, nil
}
