package web

import (
	"fmt"
	"math"
	"strings"

	"github.com/touchstone-assess/touchstone/assess"
)

// scoreReport is what the score report shows beyond the raw score: the
// scaled score on its reporting scale, the IRT ability estimate when the
// attempt was scored by IRT, and per-domain feedback.
// A result without a scale (Max ≤ Min) is reported in points only, and a
// result without θ says nothing of it.
type scoreReport struct {
	HasScale            bool
	ScaleName           string
	Min, Max            float64
	Scaled, ScaledCut   float64
	ScorePos, CutPos    float64 // where the score and the cut sit on the scale's bar, 0–100
	HasTheta, HasSE     bool
	Theta, ThetaSE      float64
	ThetaLow, ThetaHigh float64 // θ ± 1.96 SE: the range that holds the true ability with about 95% confidence
	// ByTheta: the pass was decided on θ against ThetaCut (adaptive and
	// calibrated on-the-fly exams), not on raw points.
	ByTheta  bool
	ThetaCut float64
	// Adaptive: the exam chose its items one by one.
	Adaptive bool
}

// Report is the scale and ability part of the score report.
func (d resultData) Report() scoreReport { return newScoreReport(d.Result) }

// DomainFeedback is the feedback sentence of domain i.
func (d resultData) DomainFeedback(i int) string {
	if i < len(d.Domains) {
		return d.Domains[i].Feedback()
	}
	return ""
}

func newScoreReport(r assess.Result) scoreReport {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	rep := scoreReport{ScaleName: r.Scale.Name, Min: r.Scale.Min, Max: r.Scale.Max, Scaled: r.ScaledScore, ScaledCut: r.ScaledCut}
	// A result without a reporting scale carries its raw points as a scale
	// with no basis: the page reports points then.
	rep.HasScale = r.Scale.Basis != "" && rep.Max > rep.Min && finite(rep.Scaled) && finite(rep.ScaledCut)
	if rep.HasScale {
		pos := func(x float64) float64 {
			return math.Round(1000*math.Max(0, math.Min(1, (x-rep.Min)/(rep.Max-rep.Min)))) / 10
		}
		rep.ScorePos, rep.CutPos = pos(rep.Scaled), pos(rep.ScaledCut)
	}
	if r.Theta != nil && finite(*r.Theta) {
		rep.Theta, rep.HasTheta = *r.Theta, true
		if r.ThetaSE != nil && finite(*r.ThetaSE) && *r.ThetaSE > 0 {
			rep.ThetaSE, rep.HasSE = *r.ThetaSE, true
		}
		rep.ThetaLow, rep.ThetaHigh = rep.Theta-1.96*rep.ThetaSE, rep.Theta+1.96*rep.ThetaSE
	}
	if r.ThetaCut != nil && finite(*r.ThetaCut) && (r.Mode == assess.ModeCAT || r.Mode == assess.ModeLOFT) {
		rep.ByTheta, rep.ThetaCut = true, *r.ThetaCut
	}
	rep.Adaptive = r.Mode == assess.ModeCAT
	return rep
}

// ScaleLabel reads "on the Touchstone scale of 200 to 800".
func (r scoreReport) ScaleLabel() string {
	name := r.ScaleName
	if name == "" {
		return fmt.Sprintf("on a scale of %s to %s", trimNumber(r.Min), trimNumber(r.Max))
	}
	if !strings.HasSuffix(strings.ToLower(name), " scale") {
		name += " scale" // "the Touchstone scale", and not "the Touchstone scale scale"
	}
	return fmt.Sprintf("on the %s of %s to %s", name, trimNumber(r.Min), trimNumber(r.Max))
}
