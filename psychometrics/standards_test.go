package psychometrics

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
	"gonum.org/v1/gonum/mat"
)

// standardsGolden returns testdata/standards_golden.csv (written by
// standards.R) as a map from name to value.
func standardsGolden(tb testing.TB) map[string]string {
	tb.Helper()
	return stdGoldenMap(tb, "standards_golden.csv")
}

// stdGoldenMap reads a name,value golden file as a map.
func stdGoldenMap(tb testing.TB, name string) map[string]string {
	tb.Helper()
	want := make(map[string]string)
	for _, rec := range readRecords(tb, name) {
		want[rec["name"]] = rec["value"]
	}
	return want
}

// stdGoldenNumber returns the golden value called name, failing the test if it
// is missing.
func stdGoldenNumber(tb testing.TB, want map[string]string, name string) float64 {
	tb.Helper()
	s, ok := want[name]
	if !ok {
		tb.Fatalf("golden %q missing", name)
	}
	return number(tb, s)
}

// stdWithinRel reports whether got is within an absolute 1e-12 or the relative
// tolerance rel of want, or both are NaN.
func stdWithinRel(got, want, rel float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return scalar.EqualWithinAbsOrRel(got, want, 1e-12, rel)
}

// stdCheckGolden fails the test unless got matches the golden value called
// name within sameFloat's tolerance.
func stdCheckGolden(tb testing.TB, want map[string]string, name string, got float64) {
	tb.Helper()
	if w := stdGoldenNumber(tb, want, name); !sameFloat(got, w) {
		tb.Errorf("%s: got %.17g, want %.17g", name, got, w)
	}
}

// stdColumn returns the named numeric column of a CSV in testdata.
func stdColumn(tb testing.TB, file, name string) []float64 {
	tb.Helper()
	recs := readRecords(tb, file)
	out := make([]float64, len(recs))
	for i, rec := range recs {
		s, ok := rec[name]
		if !ok {
			tb.Fatalf("%s: no column %q", file, name)
		}
		out[i] = number(tb, s)
	}
	return out
}

func stdCheckAngoff(t *testing.T, want map[string]string, prefix string, got AngoffResult) {
	t.Helper()
	stdCheckGolden(t, want, prefix+"cut", got.Cut)
	stdCheckGolden(t, want, prefix+"se", got.SE)
	stdCheckGolden(t, want, prefix+"cutsd", got.CutSD)
	stdCheckGolden(t, want, prefix+"icc2", got.ICCAgreement)
	stdCheckGolden(t, want, prefix+"icc3", got.ICCConsistency)
	for j, m := range got.ItemMeans {
		stdCheckGolden(t, want, fmt.Sprintf("%sitem_%d", prefix, j+1), m)
	}
	for p, c := range got.PanelistCuts {
		stdCheckGolden(t, want, fmt.Sprintf("%spanelist_%d", prefix, p+1), c)
	}
}

func TestAngoffRoundsGolden(t *testing.T) {
	want := standardsGolden(t)
	var rounds []mat.Matrix
	for r := 1; r <= 3; r++ {
		rounds = append(rounds, readMatrix(t, fmt.Sprintf("standards_angoff_round%d.csv", r)))
	}
	got, err := AngoffRounds(rounds, nil)
	if err != nil {
		t.Fatalf("AngoffRounds: %v", err)
	}
	if len(got.Rounds) != 3 {
		t.Fatalf("got %d rounds, want 3", len(got.Rounds))
	}
	for r, res := range got.Rounds {
		stdCheckAngoff(t, want, fmt.Sprintf("angoff_r%d_", r+1), res)
	}
	if got.Cut != got.Rounds[2].Cut || got.SE != got.Rounds[2].SE {
		t.Errorf("got recommendation %v (SE %v), want the final round's %v (SE %v)", got.Cut, got.SE, got.Rounds[2].Cut, got.Rounds[2].SE)
	}
}

func TestYesNoAngoffGolden(t *testing.T) {
	got, err := YesNoAngoff(readMatrix(t, "standards_yesno.csv"))
	if err != nil {
		t.Fatalf("YesNoAngoff: %v", err)
	}
	stdCheckAngoff(t, standardsGolden(t), "yesno_", got)
}

func TestYesNoAngoff(t *testing.T) {
	// Yes counts 2, 1, 3: mean 2, SD 1, SE 1/√3; item proportions 2/3, 1, 1/3, 0.
	x := mat.NewDense(3, 4, []float64{
		1, 1, 0, 0,
		0, 1, 0, 0,
		1, 1, 1, 0,
	})
	got, err := YesNoAngoff(x)
	if err != nil {
		t.Fatalf("YesNoAngoff: %v", err)
	}
	if !sameFloat(got.Cut, 2) || !sameFloat(got.SE, 1/math.Sqrt(3)) || !sameFloat(got.CutSD, 1) {
		t.Errorf("got Cut %v, SE %v, CutSD %v; want 2, %v, 1", got.Cut, got.SE, got.CutSD, 1/math.Sqrt(3))
	}
	for j, w := range []float64{2.0 / 3, 1, 1.0 / 3, 0} {
		if !sameFloat(got.ItemMeans[j], w) {
			t.Errorf("item %d: got mean %v, want %v", j, got.ItemMeans[j], w)
		}
	}
}

func TestYesNoAngoffInvalidRating(t *testing.T) {
	for _, v := range []float64{0.5, math.NaN(), 2, -1, math.Inf(1)} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			x := mat.NewDense(2, 3, []float64{1, 0, 1, 0, 1, 1})
			x.Set(1, 0, v)
			_, err := YesNoAngoff(x)
			if !errors.Is(err, ErrInvalidRating) {
				t.Fatalf("got error %v, want %v", err, ErrInvalidRating)
			}
			if !strings.Contains(err.Error(), "panelist 1, item 0") {
				t.Errorf("got error %q, want it to name panelist 1, item 0", err)
			}
		})
	}
}

func TestAngoffICC(t *testing.T) {
	base := []float64{
		0.2, 0.5, 0.7, 0.9,
		0.3, 0.4, 0.8, 0.8,
		0.1, 0.6, 0.6, 0.9,
	}
	res, err := Angoff(mat.NewDense(3, 4, base))
	if err != nil {
		t.Fatalf("Angoff: %v", err)
	}
	// A lenient panelist (constant added to every rating) leaves the
	// consistency ICC unchanged and lowers the agreement ICC.
	lenient := append([]float64(nil), base...)
	for j := 8; j < 12; j++ {
		lenient[j] = math.Min(lenient[j]+0.1, 1)
	}
	lenient[11] = 1 // 0.9 + 0.1
	shifted, err := Angoff(mat.NewDense(3, 4, lenient))
	if err != nil {
		t.Fatalf("Angoff: %v", err)
	}
	if !sameFloat(shifted.ICCConsistency, res.ICCConsistency) {
		t.Errorf("consistency ICC: got %v after a constant shift, want %v", shifted.ICCConsistency, res.ICCConsistency)
	}
	if !(shifted.ICCAgreement < res.ICCAgreement) {
		t.Errorf("agreement ICC: got %v after a constant shift, want less than %v", shifted.ICCAgreement, res.ICCAgreement)
	}

	tests := []struct {
		name                   string
		rows                   int
		ratings                []float64
		agreement, consistency float64
	}{
		{"identical panelists", 2, []float64{0.2, 0.5, 0.9, 0.2, 0.5, 0.9}, 1, 1},
		// MS_items 0.18, MS_panelists 0.015, MS_error 0: 0.18/(0.18 + 2·0.015/3).
		{"parallel panelists", 2, []float64{0.2, 0.5, 0.8, 0.3, 0.6, 0.9}, 18.0 / 19, 1},
		{"one panelist", 1, []float64{0.2, 0.5, 0.9}, math.NaN(), math.NaN()},
		{"one item", 3, []float64{0.2, 0.5, 0.9}, math.NaN(), math.NaN()},
		{"all ratings equal", 2, []float64{0.5, 0.5, 0.5, 0.5}, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Angoff(mat.NewDense(tt.rows, len(tt.ratings)/tt.rows, tt.ratings))
			if err != nil {
				t.Fatalf("Angoff: %v", err)
			}
			if !sameFloat(got.ICCAgreement, tt.agreement) {
				t.Errorf("got agreement ICC %v, want %v", got.ICCAgreement, tt.agreement)
			}
			if !sameFloat(got.ICCConsistency, tt.consistency) {
				t.Errorf("got consistency ICC %v, want %v", got.ICCConsistency, tt.consistency)
			}
		})
	}
}

func TestAngoffItemMeansSumToCut(t *testing.T) {
	res, err := Angoff(readMatrix(t, "angoff_ratings.csv"))
	if err != nil {
		t.Fatalf("Angoff: %v", err)
	}
	var sum float64
	for _, m := range res.ItemMeans {
		sum += m
	}
	if !sameFloat(sum, res.Cut) {
		t.Errorf("got item means summing to %v, want the cut %v", sum, res.Cut)
	}
}

func TestAngoffRoundsErrors(t *testing.T) {
	good := mat.NewDense(2, 2, []float64{0.5, 0.6, 0.7, 0.8})
	bad := mat.NewDense(2, 2, []float64{0.5, 0.6, 0.7, 1.5})
	_, err := AngoffRounds([]mat.Matrix{good, bad}, nil)
	if !errors.Is(err, ErrInvalidRating) || !strings.Contains(err.Error(), "round 1") {
		t.Errorf("got error %v, want %v naming round 1", err, ErrInvalidRating)
	}
	_, err = AngoffRounds([]mat.Matrix{good}, YesNoAngoff)
	if !errors.Is(err, ErrInvalidRating) || !strings.Contains(err.Error(), "round 0") {
		t.Errorf("Yes/No rounds: got error %v, want %v naming round 0", err, ErrInvalidRating)
	}
	yn := mat.NewDense(2, 2, []float64{1, 0, 1, 1})
	study, err := AngoffRounds([]mat.Matrix{yn, yn}, YesNoAngoff)
	if err != nil {
		t.Fatalf("AngoffRounds: %v", err)
	}
	if study.Cut != 1.5 {
		t.Errorf("Yes/No rounds: got cut %v, want 1.5", study.Cut)
	}
}

func TestAngoffRoundsPanics(t *testing.T) {
	mustPanic(t, func() { _, _ = AngoffRounds(nil, nil) })
	mustPanic(t, func() {
		_, _ = AngoffRounds([]mat.Matrix{mat.NewDense(2, 2, nil), mat.NewDense(3, 2, nil)}, nil)
	})
	mustPanic(t, func() { _, _ = YesNoAngoff(&mat.Dense{}) })
}

func TestImpact(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		scores []float64
		cut    float64
		want   float64
	}{
		{"pass at the cut", []float64{1, 2, 3, 4}, 3, 0.5},
		{"fractional cut", []float64{1, 2, 3, 4}, 2.5, 0.5},
		{"everyone passes", []float64{5, 6}, 5, 0},
		{"everyone fails", []float64{5, 6}, 7, 1},
		{"NaN left out", []float64{1, nan, 4, nan}, 2, 0.5},
		{"only NaN", []float64{nan}, 2, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Impact(tt.scores, tt.cut); !sameFloat(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	mustPanic(t, func() { Impact(nil, 1) })
}

func bookmarkData(tb testing.TB) ([]Item3PL, []int) {
	tb.Helper()
	a := stdColumn(tb, "standards_bookmark_items.csv", "a")
	b := stdColumn(tb, "standards_bookmark_items.csv", "b")
	c := stdColumn(tb, "standards_bookmark_items.csv", "c")
	items := make([]Item3PL, len(a))
	for j := range items {
		items[j] = Item3PL{A: a[j], B: b[j], C: c[j]}
	}
	var pages []int
	for _, p := range stdColumn(tb, "standards_bookmark_pages.csv", "page") {
		pages = append(pages, int(p))
	}
	return items, pages
}

func TestBookmarkGolden(t *testing.T) {
	want := standardsGolden(t)
	items, pages := bookmarkData(t)
	tests := []struct {
		name     string
		settings *BookmarkSettings
	}{
		{"default", nil},
		{"midpoint", &BookmarkSettings{Midpoint: true}},
		{"mean", &BookmarkSettings{Mean: true}},
		{"rp50", &BookmarkSettings{RP: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bookmark(items, pages, tt.settings)
			if err != nil {
				t.Fatalf("Bookmark: %v", err)
			}
			pre := "bookmark_" + tt.name + "_"
			stdCheckGolden(t, want, pre+"theta", got.Theta)
			stdCheckGolden(t, want, pre+"se", got.SE)
			stdCheckGolden(t, want, pre+"cut", got.Cut)
			for i, th := range got.PanelistTheta {
				stdCheckGolden(t, want, fmt.Sprintf("%spanelist_%d", pre, i+1), th)
			}
			for p, j := range got.Order {
				if w := int(stdGoldenNumber(t, want, fmt.Sprintf("%sorder_%d", pre, p+1))) - 1; j != w {
					t.Errorf("page %d: got item %d, want %d", p+1, j, w)
				}
				stdCheckGolden(t, want, fmt.Sprintf("%sloc_%d", pre, p+1), got.Locations[p])
			}
		})
	}
}

func TestBookmarkLocations(t *testing.T) {
	items, pages := bookmarkData(t)
	for _, rp := range []float64{0.5, 0.67, 0.8} {
		got, err := Bookmark(items, pages, &BookmarkSettings{RP: rp})
		if err != nil {
			t.Fatalf("RP %v: %v", rp, err)
		}
		for p, j := range got.Order {
			if P := items[j].P(got.Locations[p]); !stdWithinRel(P, rp, 1e-12) {
				t.Errorf("RP %v, page %d: got P(location) %v, want %v", rp, p+1, P, rp)
			}
			if p > 0 && got.Locations[p] < got.Locations[p-1] {
				t.Errorf("RP %v: page %d location %v below page %d's %v", rp, p+1, got.Locations[p], p, got.Locations[p-1])
			}
		}
	}
}

func TestBookmark(t *testing.T) {
	// Rasch items at b = −1, 0, 1, 2 with RP 0.5 sit at their b.
	items := []Item3PL{{A: 1, B: 1}, {A: 1, B: -1}, {A: 1, B: 2}, {A: 1, B: 0}}
	got, err := Bookmark(items, []int{2, 3, 4}, &BookmarkSettings{RP: 0.5})
	if err != nil {
		t.Fatalf("Bookmark: %v", err)
	}
	if fmt.Sprint(got.Order) != "[1 3 0 2]" {
		t.Errorf("got order %v, want [1 3 0 2]", got.Order)
	}
	// Bookmarks on pages 2, 3, 4: the items before sit at −1, 0, 1.
	if !sameFloat(got.Theta, 0) || !sameFloat(got.SE, 1/math.Sqrt(3)) {
		t.Errorf("got Theta %v, SE %v; want 0, %v", got.Theta, got.SE, 1/math.Sqrt(3))
	}
	if w := TrueScore(items, 0); !sameFloat(got.Cut, w) {
		t.Errorf("got Cut %v, want TrueScore %v", got.Cut, w)
	}
	one, err := Bookmark(items, []int{3}, &BookmarkSettings{RP: 0.5, Midpoint: true})
	if err != nil {
		t.Fatalf("Bookmark: %v", err)
	}
	if !sameFloat(one.Theta, 0.5) || !math.IsNaN(one.SE) {
		t.Errorf("midpoint, one panelist: got Theta %v, SE %v; want 0.5, NaN", one.Theta, one.SE)
	}
}

func TestBookmarkErrors(t *testing.T) {
	items := []Item3PL{{A: 1, B: 0}, {A: 1, B: 1, C: 0.2}, {A: 1, B: 2}}
	for _, page := range []int{1, 4, 0, -2} {
		if _, err := Bookmark(items, []int{2, page}, nil); !errors.Is(err, ErrInvalidBookmark) {
			t.Errorf("page %d: got error %v, want %v", page, err, ErrInvalidBookmark)
		}
	}
	if _, err := Bookmark(items, []int{2}, &BookmarkSettings{RP: 0.2}); !errors.Is(err, ErrUnreachableRP) {
		t.Errorf("RP at C: got error %v, want %v", err, ErrUnreachableRP)
	}
}

func TestBookmarkPanics(t *testing.T) {
	items := []Item3PL{{A: 1, B: 0}, {A: 1, B: 1}}
	mustPanic(t, func() { _, _ = Bookmark(nil, []int{2}, nil) })
	mustPanic(t, func() { _, _ = Bookmark(items, nil, nil) })
	mustPanic(t, func() { _, _ = Bookmark([]Item3PL{{A: 0, B: 0}, {A: 1}}, []int{2}, nil) })
	mustPanic(t, func() { _, _ = Bookmark([]Item3PL{{A: 1, B: math.NaN()}, {A: 1}}, []int{2}, nil) })
	mustPanic(t, func() { _, _ = Bookmark(items, []int{2}, &BookmarkSettings{RP: 1}) })
	mustPanic(t, func() { _, _ = Bookmark(items, []int{2}, &BookmarkSettings{RP: -0.5}) })
}

func hofsteeJudges(tb testing.TB, file string) []HofsteeJudgement {
	tb.Helper()
	var out []HofsteeJudgement
	for _, r := range readRecords(tb, file) {
		out = append(out, HofsteeJudgement{
			MinCut: number(tb, r["min_cut"]), MaxCut: number(tb, r["max_cut"]),
			MinFail: number(tb, r["min_fail"]), MaxFail: number(tb, r["max_fail"]),
		})
	}
	return out
}

func TestHofsteeGolden(t *testing.T) {
	want := standardsGolden(t)
	scores := stdColumn(t, "standards_scores.csv", "score")
	for _, tt := range []struct{ prefix, file string }{
		{"hofstee_", "standards_hofstee_judges.csv"},
		{"hofstee_strict_", "standards_hofstee_strict.csv"},
	} {
		t.Run(tt.prefix, func(t *testing.T) {
			got, err := Hofstee(hofsteeJudges(t, tt.file), scores)
			if err != nil {
				t.Fatalf("Hofstee: %v", err)
			}
			stdCheckGolden(t, want, tt.prefix+"cut", got.Cut)
			stdCheckGolden(t, want, tt.prefix+"fail", got.FailRate)
			stdCheckGolden(t, want, tt.prefix+"min_cut", got.MinCut)
			stdCheckGolden(t, want, tt.prefix+"max_cut", got.MaxCut)
			stdCheckGolden(t, want, tt.prefix+"min_fail", got.MinFail)
			stdCheckGolden(t, want, tt.prefix+"max_fail", got.MaxFail)
			if w := stdGoldenNumber(t, want, tt.prefix+"clamped") == 1; got.Clamped != w {
				t.Errorf("got Clamped %v, want %v", got.Clamped, w)
			}
		})
	}
}

// stdTenScores are the scores 0..9 once each, so F(c) = c/10 on [0, 10].
var stdTenScores = []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}

func TestHofstee(t *testing.T) {
	tests := []struct {
		name      string
		judges    []HofsteeJudgement
		scores    []float64
		cut, fail float64
		clamped   bool
	}{
		{
			// Line 0.9 − c/10 meets c/10 at 4.5.
			name:   "intersection",
			judges: []HofsteeJudgement{{2, 8, 0.1, 0.7}},
			scores: stdTenScores, cut: 4.5, fail: 0.45,
		},
		{
			name:   "judges averaged",
			judges: []HofsteeJudgement{{1, 7, 0, 0.6}, {3, 9, 0.2, 0.8}},
			scores: stdTenScores, cut: 4.5, fail: 0.45,
		},
		{
			name:   "interpolated between integers",
			judges: []HofsteeJudgement{{2, 8, 0.1, 0.7}},
			// F is 0 at 0, 0.2 at 1..5, 0.6 at 6..9 and 1 at 10; between 5
			// and 6, F = 0.2 + 0.4(c − 5) meets 0.9 − 0.1c at 5.4.
			scores: []float64{0, 0, 5, 5, 5, 5, 9, 9, 9, 9},
			cut:    5.4, fail: 0.36,
		},
		{
			name:   "clamped at the highest cut",
			judges: []HofsteeJudgement{{2, 4, 0.5, 0.6}},
			scores: stdTenScores, cut: 4, fail: 0.4, clamped: true,
		},
		{
			name:   "clamped at the lowest cut",
			judges: []HofsteeJudgement{{6, 8, 0.1, 0.2}},
			scores: stdTenScores, cut: 6, fail: 0.6, clamped: true,
		},
		{
			name:   "vertical line",
			judges: []HofsteeJudgement{{5, 5, 0.2, 0.8}},
			scores: stdTenScores, cut: 5, fail: 0.5,
		},
		{
			name:   "horizontal line",
			judges: []HofsteeJudgement{{2, 8, 0.3, 0.3}},
			scores: stdTenScores, cut: 3, fail: 0.3,
		},
		{
			name:   "NaN scores left out",
			judges: []HofsteeJudgement{{2, 8, 0.1, 0.7}},
			scores: append([]float64{math.NaN()}, stdTenScores...), cut: 4.5, fail: 0.45,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Hofstee(tt.judges, tt.scores)
			if err != nil {
				t.Fatalf("Hofstee: %v", err)
			}
			if !sameFloat(got.Cut, tt.cut) || !sameFloat(got.FailRate, tt.fail) || got.Clamped != tt.clamped {
				t.Errorf("got cut %v, fail %v, clamped %v; want %v, %v, %v", got.Cut, got.FailRate, got.Clamped, tt.cut, tt.fail, tt.clamped)
			}
		})
	}
}

func TestHofsteeErrors(t *testing.T) {
	tests := []struct {
		name   string
		judge  HofsteeJudgement
		scores []float64
		want   error
	}{
		{"cut range reversed", HofsteeJudgement{8, 2, 0.1, 0.7}, stdTenScores, ErrInvalidRating},
		{"fail range reversed", HofsteeJudgement{2, 8, 0.7, 0.1}, stdTenScores, ErrInvalidRating},
		{"fail above one", HofsteeJudgement{2, 8, 0.1, 1.2}, stdTenScores, ErrInvalidRating},
		{"fail below zero", HofsteeJudgement{2, 8, -0.1, 0.7}, stdTenScores, ErrInvalidRating},
		{"NaN judgement", HofsteeJudgement{math.NaN(), 8, 0.1, 0.7}, stdTenScores, ErrInvalidRating},
		{"infinite cut", HofsteeJudgement{2, math.Inf(1), 0.1, 0.7}, stdTenScores, ErrInvalidRating},
		{"infinite score", HofsteeJudgement{2, 8, 0.1, 0.7}, []float64{1, math.Inf(1)}, ErrInvalidScore},
		{"only NaN scores", HofsteeJudgement{2, 8, 0.1, 0.7}, []float64{math.NaN()}, ErrInvalidScore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Hofstee([]HofsteeJudgement{{2, 8, 0.1, 0.7}, tt.judge}, tt.scores); !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
	mustPanic(t, func() { _, _ = Hofstee(nil, stdTenScores) })
	mustPanic(t, func() { _, _ = Hofstee([]HofsteeJudgement{{2, 8, 0.1, 0.7}}, nil) })
}

func TestBeukGolden(t *testing.T) {
	want := standardsGolden(t)
	var judges []BeukJudgement
	for _, r := range readRecords(t, "standards_beuk_judges.csv") {
		judges = append(judges, BeukJudgement{Cut: number(t, r["cut"]), PassRate: number(t, r["pass_rate"])})
	}
	got, err := Beuk(judges, stdColumn(t, "standards_scores.csv", "score"))
	if err != nil {
		t.Fatalf("Beuk: %v", err)
	}
	stdCheckGolden(t, want, "beuk_cut", got.Cut)
	stdCheckGolden(t, want, "beuk_pass", got.PassRate)
	stdCheckGolden(t, want, "beuk_mean_cut", got.MeanCut)
	stdCheckGolden(t, want, "beuk_mean_pass", got.MeanPassRate)
	stdCheckGolden(t, want, "beuk_sd_cut", got.SDCut)
	stdCheckGolden(t, want, "beuk_sd_pass", got.SDPassRate)
}

func TestBeuk(t *testing.T) {
	tests := []struct {
		name      string
		judges    []BeukJudgement
		scores    []float64
		cut, pass float64
	}{
		{
			// Mean (5, 0.6), slope −0.2: 1.6 − 0.2c meets 1 − 0.1c at 6.
			name:   "intersection",
			judges: []BeukJudgement{{4, 0.8}, {6, 0.4}},
			scores: stdTenScores, cut: 6, pass: 0.4,
		},
		{
			// Q is 1 − c/2 on [0, 1], 0.5 on [1, 9] and 5 − c/2 on [9, 10];
			// the line 0.8 − 0.05c meets it at 4/9, 6 and 9 + 1/3.
			name:   "several intersections: the one nearest the mean cut",
			judges: []BeukJudgement{{3, 0.65}, {7, 0.45}},
			scores: []float64{0, 0, 0, 0, 0, 9, 9, 9, 9, 9},
			cut:    6, pass: 0.5,
		},
		{
			name:   "judges agree on the cut",
			judges: []BeukJudgement{{5, 0.5}, {5, 0.7}},
			scores: stdTenScores, cut: 5, pass: 0.5,
		},
		{
			// Slope −0.1 parallels Q on [0, 10]; the line meets Q = 0 at 11.
			name:   "parallel to the curve",
			judges: []BeukJudgement{{4, 0.5}, {6, 0.7}},
			scores: stdTenScores, cut: 11, pass: 0,
		},
		{
			// Horizontal line at 0.35 meets Q at 6.5.
			name:   "judges agree on the pass rate",
			judges: []BeukJudgement{{4, 0.35}, {8, 0.35}},
			scores: stdTenScores, cut: 6.5, pass: 0.35,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Beuk(tt.judges, tt.scores)
			if err != nil {
				t.Fatalf("Beuk: %v", err)
			}
			if !sameFloat(got.Cut, tt.cut) || !sameFloat(got.PassRate, tt.pass) {
				t.Errorf("got cut %v, pass rate %v; want %v, %v", got.Cut, got.PassRate, tt.cut, tt.pass)
			}
		})
	}
}

func TestBeukErrors(t *testing.T) {
	ok := BeukJudgement{5, 0.5}
	for _, tt := range []struct {
		name   string
		judge  BeukJudgement
		scores []float64
		want   error
	}{
		{"pass rate above one", BeukJudgement{5, 1.5}, stdTenScores, ErrInvalidRating},
		{"NaN pass rate", BeukJudgement{5, math.NaN()}, stdTenScores, ErrInvalidRating},
		{"NaN cut", BeukJudgement{math.NaN(), 0.5}, stdTenScores, ErrInvalidRating},
		{"infinite score", BeukJudgement{6, 0.4}, []float64{math.Inf(-1)}, ErrInvalidScore},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Beuk([]BeukJudgement{ok, tt.judge}, tt.scores); !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
	mustPanic(t, func() { _, _ = Beuk([]BeukJudgement{ok}, stdTenScores) })
	mustPanic(t, func() { _, _ = Beuk([]BeukJudgement{ok, ok}, nil) })
}

func TestBorderlineGroupGolden(t *testing.T) {
	want := standardsGolden(t)
	got, err := BorderlineGroup(stdColumn(t, "standards_borderline.csv", "score"))
	if err != nil {
		t.Fatalf("BorderlineGroup: %v", err)
	}
	stdCheckGolden(t, want, "borderline_cut", got.Cut)
	stdCheckGolden(t, want, "borderline_mean", got.Mean)
	stdCheckGolden(t, want, "borderline_se", got.SE)
	if w := int(stdGoldenNumber(t, want, "borderline_n")); got.N != w {
		t.Errorf("got N %d, want %d", got.N, w)
	}
}

func TestBorderlineGroup(t *testing.T) {
	tests := []struct {
		name          string
		scores        []float64
		cut, mean, se float64
		n             int
	}{
		{"odd", []float64{9, 1, 5}, 5, 5, math.Sqrt(math.Pi/2) * 4 / math.Sqrt(3), 3},
		{"even", []float64{4, 1, 3, 2}, 2.5, 2.5, math.Sqrt(math.Pi/2) * math.Sqrt(5.0/3) / 2, 4},
		{"one candidate", []float64{7}, 7, 7, math.NaN(), 1},
		{"NaN left out", []float64{math.NaN(), 9, 1, 5}, 5, 5, math.Sqrt(math.Pi/2) * 4 / math.Sqrt(3), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BorderlineGroup(tt.scores)
			if err != nil {
				t.Fatalf("BorderlineGroup: %v", err)
			}
			if !sameFloat(got.Cut, tt.cut) || !sameFloat(got.Mean, tt.mean) || !sameFloat(got.SE, tt.se) || got.N != tt.n {
				t.Errorf("got %+v, want cut %v, mean %v, SE %v, N %d", got, tt.cut, tt.mean, tt.se, tt.n)
			}
		})
	}
	if _, err := BorderlineGroup([]float64{math.NaN()}); !errors.Is(err, ErrInvalidScore) {
		t.Errorf("only NaN: got error %v, want %v", err, ErrInvalidScore)
	}
	mustPanic(t, func() { _, _ = BorderlineGroup(nil) })
}

func contrastingData(tb testing.TB) (masters, nonMasters []float64) {
	tb.Helper()
	for _, r := range readRecords(tb, "standards_contrasting.csv") {
		s := number(tb, r["score"])
		if r["master"] == "1" {
			masters = append(masters, s)
		} else {
			nonMasters = append(nonMasters, s)
		}
	}
	return masters, nonMasters
}

// The logistic regression is an iterative fit on both sides (IRLS here,
// glm with epsilon 1e-14 in R): its goldens are matched within 1e-8 relative.
const logisticTol = 1e-8

func TestContrastingGroupsGolden(t *testing.T) {
	want := standardsGolden(t)
	masters, non := contrastingData(t)
	for _, w := range []float64{1, 2} {
		t.Run(fmt.Sprint("w", w), func(t *testing.T) {
			got, err := ContrastingGroups(masters, non, &ContrastingGroupsSettings{FalsePassWeight: w})
			if err != nil {
				t.Fatalf("ContrastingGroups: %v", err)
			}
			pre := fmt.Sprintf("contrasting_w%v_", w)
			for _, c := range []struct {
				name string
				got  float64
			}{
				{"contrasting_intercept", got.Intercept},
				{"contrasting_slope", got.Slope},
				{pre + "cut", got.Cut},
				{pre + "se", got.SE},
			} {
				if w := stdGoldenNumber(t, want, c.name); !stdWithinRel(c.got, w, logisticTol) {
					t.Errorf("%s: got %.17g, want %.17g", c.name, c.got, w)
				}
			}
			stdCheckGolden(t, want, pre+"min_error_cut", got.MinErrorCut)
			stdCheckGolden(t, want, pre+"false_passes", float64(got.FalsePasses))
			stdCheckGolden(t, want, pre+"false_fails", float64(got.FalseFails))
			if got.Masters != len(masters) || got.NonMasters != len(non) {
				t.Errorf("got %d masters, %d non-masters; want %d, %d", got.Masters, got.NonMasters, len(masters), len(non))
			}
		})
	}
}

func TestContrastingGroups(t *testing.T) {
	t.Run("separated groups", func(t *testing.T) {
		got, err := ContrastingGroups([]float64{6, 7, 8}, []float64{1, 2, 3}, nil)
		if err != nil {
			t.Fatalf("ContrastingGroups: %v", err)
		}
		if !math.IsNaN(got.Cut) || !math.IsNaN(got.SE) || !math.IsNaN(got.Slope) {
			t.Errorf("got Cut %v, SE %v, Slope %v; want NaN", got.Cut, got.SE, got.Slope)
		}
		if got.MinErrorCut != 4 || got.FalsePasses != 0 || got.FalseFails != 0 {
			t.Errorf("got min-error cut %v (%d, %d), want 4 (0, 0)", got.MinErrorCut, got.FalsePasses, got.FalseFails)
		}
	})
	t.Run("touching groups", func(t *testing.T) {
		got, err := ContrastingGroups([]float64{3, 7, 8}, []float64{1, 2, 3}, nil)
		if err != nil {
			t.Fatalf("ContrastingGroups: %v", err)
		}
		if !math.IsNaN(got.Cut) {
			t.Errorf("got Cut %v, want NaN", got.Cut)
		}
	})
	t.Run("reversed groups", func(t *testing.T) {
		got, err := ContrastingGroups([]float64{1, 2, 3, 6}, []float64{2, 5, 6, 7}, nil)
		if err != nil {
			t.Fatalf("ContrastingGroups: %v", err)
		}
		if !(got.Slope < 0) || !math.IsNaN(got.Cut) {
			t.Errorf("got Slope %v, Cut %v; want a negative slope and NaN", got.Slope, got.Cut)
		}
	})
	t.Run("symmetric groups", func(t *testing.T) {
		// Mirror-image groups about 5 put P = 0.5 exactly at 5.
		got, err := ContrastingGroups([]float64{4, 5, 6, 6, 7, 8}, []float64{2, 3, 4, 4, 5, 6}, nil)
		if err != nil {
			t.Fatalf("ContrastingGroups: %v", err)
		}
		if !stdWithinRel(got.Cut, 5, 1e-10) {
			t.Errorf("got Cut %v, want 5", got.Cut)
		}
	})
	t.Run("a heavier false pass raises the cut", func(t *testing.T) {
		m, n := contrastingData(t)
		one, _ := ContrastingGroups(m, n, nil)
		three, _ := ContrastingGroups(m, n, &ContrastingGroupsSettings{FalsePassWeight: 3})
		if !(three.Cut > one.Cut) || three.MinErrorCut < one.MinErrorCut {
			t.Errorf("got cuts %v, %v (min error %v, %v) for weights 1, 3; want them rising", one.Cut, three.Cut, one.MinErrorCut, three.MinErrorCut)
		}
	})
}

func TestContrastingGroupsErrors(t *testing.T) {
	if _, err := ContrastingGroups([]float64{math.NaN()}, []float64{1}, nil); !errors.Is(err, ErrInvalidScore) {
		t.Errorf("no master scores: got error %v, want %v", err, ErrInvalidScore)
	}
	if _, err := ContrastingGroups([]float64{1}, []float64{math.Inf(1)}, nil); !errors.Is(err, ErrInvalidScore) {
		t.Errorf("infinite score: got error %v, want %v", err, ErrInvalidScore)
	}
	mustPanic(t, func() { _, _ = ContrastingGroups(nil, []float64{1}, nil) })
	mustPanic(t, func() { _, _ = ContrastingGroups([]float64{1}, nil, nil) })
	mustPanic(t, func() {
		_, _ = ContrastingGroups([]float64{1}, []float64{2}, &ContrastingGroupsSettings{FalsePassWeight: -1})
	})
}

func BenchmarkAngoffRounds(b *testing.B) {
	var rounds []mat.Matrix
	for r := 1; r <= 3; r++ {
		rounds = append(rounds, readMatrix(b, fmt.Sprintf("standards_angoff_round%d.csv", r)))
	}
	for b.Loop() {
		if _, err := AngoffRounds(rounds, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBookmark(b *testing.B) {
	items, pages := bookmarkData(b)
	for b.Loop() {
		if _, err := Bookmark(items, pages, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHofstee(b *testing.B) {
	judges := hofsteeJudges(b, "standards_hofstee_judges.csv")
	scores := stdColumn(b, "standards_scores.csv", "score")
	for b.Loop() {
		if _, err := Hofstee(judges, scores); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBeuk(b *testing.B) {
	var judges []BeukJudgement
	for _, r := range readRecords(b, "standards_beuk_judges.csv") {
		judges = append(judges, BeukJudgement{Cut: number(b, r["cut"]), PassRate: number(b, r["pass_rate"])})
	}
	scores := stdColumn(b, "standards_scores.csv", "score")
	for b.Loop() {
		if _, err := Beuk(judges, scores); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBorderlineGroup(b *testing.B) {
	scores := stdColumn(b, "standards_borderline.csv", "score")
	for b.Loop() {
		if _, err := BorderlineGroup(scores); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContrastingGroups(b *testing.B) {
	m, n := contrastingData(b)
	for b.Loop() {
		if _, err := ContrastingGroups(m, n, nil); err != nil {
			b.Fatal(err)
		}
	}
}
