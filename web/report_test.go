package web

import (
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/assess"
)

func TestScoreReport(t *testing.T) {
	theta, se := 0.4, 0.25
	scaled := assess.Result{ScaledScore: 560, ScaledCut: 500, Theta: &theta, ThetaSE: &se,
		Scale: assess.Scale{Name: "Touchstone", Basis: assess.ScaleTheta, Slope: 100, Intercept: 500, Min: 200, Max: 800}}
	noScale := assess.Result{ScaledScore: 17, ScaledCut: 15}
	for _, tc := range []struct {
		name   string
		result assess.Result
		want   scoreReport
	}{
		{"today's result: points only", assess.Result{Score: 3, MaxScore: 4}, scoreReport{}},
		{"scaled with theta", scaled, scoreReport{HasScale: true, ScaleName: "Touchstone", Min: 200, Max: 800, Scaled: 560, ScaledCut: 500,
			ScorePos: 60, CutPos: 50, HasTheta: true, HasSE: true, Theta: 0.4, ThetaSE: 0.25, ThetaLow: theta - 1.96*se, ThetaHigh: theta + 1.96*se}},
		{"no scale (max ≤ min), no theta", noScale, scoreReport{Scaled: 17, ScaledCut: 15}},
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

func TestResultPageScaled(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	theta, se := 0.4, 0.25
	d := resultData{
		Result: assess.Result{Score: 17, MaxScore: 24, Cut: 15, Passed: true, StandardVersion: 2,
			Domains:     []assess.DomainScore{{Code: "D1", Name: "Lookups", Score: 5, Max: 8}},
			ScaledScore: 560, ScaledCut: 500, Theta: &theta, ThetaSE: &se, Scale: assess.Scale{Name: "Touchstone", Basis: assess.ScaleTheta, Slope: 100, Intercept: 500, Min: 200, Max: 800}},
		Exam:    assess.Exam{Title: "Formulas"},
		Domains: []domainResult{{Code: "D1", Name: "Lookups", Score: 5, Max: 8, Percent: 63, Level: "developing"}},
		Own:     true,
	}
	var b strings.Builder
	if err := pages["result"].ExecuteTemplate(&b, "layout", page{Name: "result", Data: d}); err != nil {
		t.Fatal(err)
	}
	body := b.String()
	for _, want := range []string{
		`id="result-score" class="result-score-value">560<`, "on the Touchstone scale of 200 to 800", "passing score 500<",
		`width="60"`, `x="50"`, "the passing score is 500", `id="theta">0.40<`, "between -0.09 and 0.89", "17 of 24", "Pass mark",
		`id="print-report" data-print`, "Print score report", "You have a working grasp of this area.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scaled result page lacks %q", want)
		}
	}
	if strings.Contains(body, "points short") {
		t.Error("a scaled result page counts points short of the pass mark")
	}
}
