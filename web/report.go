package web

import (
	"fmt"
	"math"
	"reflect"
)

// scoreReport is what the score report shows beyond the raw score: the
// scaled score on its reporting scale, the IRT ability estimate when the
// attempt was scored by IRT, and per-domain feedback.
//
// It reads assess.Result's scale and θ fields (ScaledScore, ScaledCut,
// Scale{Name, Min, Max}, Theta, ThetaSE) and DomainScore's Level and
// Feedback by name, so that the page renders the same template whether or
// not the result carries them: a result without a scale (Max ≤ Min) is
// reported in points only, and a result without θ says nothing of it.
// Once every branch has those fields, direct field access can replace
// reportField.
type scoreReport struct {
	HasScale            bool
	ScaleName           string
	Min, Max            float64
	Scaled, ScaledCut   float64
	ScorePos, CutPos    float64 // where the score and the cut sit on the scale's bar, 0–100
	HasTheta, HasSE     bool
	Theta, ThetaSE      float64
	ThetaLow, ThetaHigh float64 // θ ± 1.96 SE: the range that holds the true ability with about 95% confidence
}

// Report is the scale and ability part of the score report.
func (d resultData) Report() scoreReport { return newScoreReport(d.Result) }

// DomainFeedback returns the feedback sentence the scorer gave domain i
// when it gave one, else the page's own sentence for the level.
func (d resultData) DomainFeedback(i int) string {
	if v, ok := reportField(reflect.ValueOf(d.Result), "Domains"); ok && v.Kind() == reflect.Slice && i < v.Len() {
		if f, ok := reportField(v.Index(i), "Feedback"); ok && f.Kind() == reflect.String && f.String() != "" {
			return f.String()
		}
	}
	if i < len(d.Domains) {
		return d.Domains[i].Feedback()
	}
	return ""
}

func newScoreReport(result any) scoreReport {
	r := reflect.ValueOf(result)
	var rep scoreReport
	num := func(v reflect.Value, name string) (float64, bool) {
		f, ok := reportField(v, name)
		if !ok {
			return 0, false
		}
		for f.Kind() == reflect.Pointer {
			if f.IsNil() {
				return 0, false
			}
			f = f.Elem()
		}
		if !f.CanFloat() || math.IsNaN(f.Float()) || math.IsInf(f.Float(), 0) {
			return 0, false
		}
		return f.Float(), true
	}
	if scale, ok := reportField(r, "Scale"); ok {
		rep.Min, _ = num(scale, "Min")
		rep.Max, _ = num(scale, "Max")
		if n, ok := reportField(scale, "Name"); ok && n.Kind() == reflect.String {
			rep.ScaleName = n.String()
		}
		var okScore, okCut bool
		rep.Scaled, okScore = num(r, "ScaledScore")
		rep.ScaledCut, okCut = num(r, "ScaledCut")
		rep.HasScale = okScore && okCut && rep.Max > rep.Min
	}
	if rep.HasScale {
		pos := func(x float64) float64 {
			return math.Round(1000*math.Max(0, math.Min(1, (x-rep.Min)/(rep.Max-rep.Min)))) / 10
		}
		rep.ScorePos, rep.CutPos = pos(rep.Scaled), pos(rep.ScaledCut)
	}
	rep.Theta, rep.HasTheta = num(r, "Theta")
	if rep.HasTheta {
		rep.ThetaSE, rep.HasSE = num(r, "ThetaSE")
		rep.HasSE = rep.HasSE && rep.ThetaSE > 0
		rep.ThetaLow, rep.ThetaHigh = rep.Theta-1.96*rep.ThetaSE, rep.Theta+1.96*rep.ThetaSE
	}
	return rep
}

// reportField returns v's exported field name (through pointers), and
// whether v has it.
func reportField(v reflect.Value, name string) (reflect.Value, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.FieldByName(name)
	return f, f.IsValid()
}

// ScaleLabel reads "on the Touchstone scale of 200 to 800".
func (r scoreReport) ScaleLabel() string {
	name := r.ScaleName
	if name == "" {
		return fmt.Sprintf("on a scale of %s to %s", trimNumber(r.Min), trimNumber(r.Max))
	}
	return fmt.Sprintf("on the %s scale of %s to %s", name, trimNumber(r.Min), trimNumber(r.Max))
}
