package web

import (
	"testing"

	"github.com/touchstone-assess/touchstone/assess"
)

// futureResult has the fields the Attempt API contract adds to
// assess.Result, so the report can be tested before they exist.
type futureResult struct {
	ScaledScore, ScaledCut float64
	Scale                  struct {
		Name     string
		Min, Max float64
	}
	Theta, ThetaSE *float64
}

func TestScoreReport(t *testing.T) {
	theta, se := 0.4, 0.25
	scaled := futureResult{ScaledScore: 560, ScaledCut: 500, Theta: &theta, ThetaSE: &se}
	scaled.Scale.Name, scaled.Scale.Min, scaled.Scale.Max = "Touchstone", 200, 800
	noScale := futureResult{ScaledScore: 17, ScaledCut: 15}
	for _, tc := range []struct {
		name   string
		result any
		want   scoreReport
	}{
		{"today's result: points only", assess.Result{Score: 3, MaxScore: 4}, scoreReport{}},
		{"scaled with theta", scaled, scoreReport{HasScale: true, ScaleName: "Touchstone", Min: 200, Max: 800, Scaled: 560, ScaledCut: 500,
			ScorePos: 60, CutPos: 50, HasTheta: true, HasSE: true, Theta: 0.4, ThetaSE: 0.25, ThetaLow: theta - 1.96*se, ThetaHigh: theta + 1.96*se}},
		{"no scale (max ≤ min), no theta", noScale, scoreReport{Scaled: 17, ScaledCut: 15}},
		{"pointer", &scaled, newScoreReport(scaled)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := newScoreReport(tc.result); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if got, want := newScoreReport(scaled).ScaleLabel(), "on the Touchstone scale of 200 to 800"; got != want {
		t.Errorf("ScaleLabel: got %q, want %q", got, want)
	}
}
