package web_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/touchstone-assess/touchstone/cmd/touchstone/psych"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// cliNum is a number of the CLI's JSON: null when undefined.
type cliNum = *float64

type cliOption struct {
	Option        string   `json:"option"`
	Key           bool     `json:"key"`
	Count         int      `json:"count"`
	Proportion    cliNum   `json:"proportion"`
	PointBiserial cliNum   `json:"point_biserial"`
	MeanScore     cliNum   `json:"mean_score"`
	Groups        []cliNum `json:"groups"`
	Flags         []string `json:"flags"`
}

type cliItem struct {
	Item                     string      `json:"item"`
	N                        int         `json:"n"`
	P                        cliNum      `json:"p"`
	SD                       cliNum      `json:"sd"`
	PointBiserial            cliNum      `json:"point_biserial"`
	ItemRest                 cliNum      `json:"item_rest"`
	Biserial                 cliNum      `json:"biserial"`
	AlphaIfDeleted           cliNum      `json:"alpha_if_deleted"`
	UpperLower               cliNum      `json:"upper_lower"`
	DiscriminativeEfficiency cliNum      `json:"discriminative_efficiency"`
	Key                      string      `json:"key"`
	Flags                    []string    `json:"flags"`
	Options                  []cliOption `json:"options"`
}

// cliCTT holds the fields that `psych ctt` and analysis.json share.
type cliCTT struct {
	Persons   int    `json:"persons"`
	Items     int    `json:"items"`
	Mean      cliNum `json:"mean"`
	SD        cliNum `json:"sd"`
	Median    cliNum `json:"median"`
	Min       cliNum `json:"min"`
	Max       cliNum `json:"max"`
	Skewness  cliNum `json:"skewness"`
	Kurtosis  cliNum `json:"kurtosis"`
	Alpha     cliNum `json:"alpha"`
	KR20      cliNum `json:"kr20"`
	KR21      cliNum `json:"kr21"`
	SEM       cliNum `json:"sem"`
	SplitHalf struct {
		OddEven       cliNum `json:"odd_even"`
		SpearmanBrown cliNum `json:"spearman_brown"`
	} `json:"split_half"`
	CSEM []struct {
		Score int    `json:"score"`
		CSEM  cliNum `json:"csem"`
	} `json:"csem"`
	ItemStats []cliItem `json:"item_stats"`
}

type cliConsistency struct {
	Agreement cliNum `json:"agreement"`
	Kappa     cliNum `json:"kappa"`
	Chance    cliNum `json:"chance"`
	Accuracy  cliNum `json:"accuracy"`
	FalsePass cliNum `json:"false_pass"`
	FalseFail cliNum `json:"false_fail"`
}

type workbenchAnalysis struct {
	cliCTT
	Cut         cliNum `json:"cut"`
	PassRate    cliNum `json:"pass_rate"`
	CSEMAtCut   cliNum `json:"csem_at_cut"`
	Consistency struct {
		Subkoviak       cliConsistency `json:"subkoviak"`
		LivingstonLewis cliConsistency `json:"livingston_lewis"`
	} `json:"decision_consistency"`
}

// runPsych runs `touchstone psych` and decodes its JSON output.
func runPsych(t *testing.T, dst any, args ...string) {
	t.Helper()
	var out bytes.Buffer
	if err := psych.Run(args, &out); err != nil {
		t.Fatalf("touchstone psych %v: %v", args, err)
	}
	if err := json.Unmarshal(out.Bytes(), dst); err != nil {
		t.Fatalf("touchstone psych %v: %v\n%s", args, err, out.Bytes())
	}
}

// closeTo compares two numbers of the JSON outputs to 1e-9; both null is
// equal.
func closeTo(t *testing.T, what string, got, want cliNum) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s: got %v, want %v", what, fmtNum(got), fmtNum(want))
	case math.Abs(*got-*want) > 1e-9:
		t.Errorf("%s: got %v, want %v", what, *got, *want)
	}
}

func fmtNum(n cliNum) string {
	if n == nil {
		return "null"
	}
	return strconv.FormatFloat(*n, 'g', -1, 64)
}

func compareItems(t *testing.T, mode string, got, want []cliItem, options bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d items, want %d", mode, len(got), len(want))
	}
	for j, w := range want {
		g := got[j]
		name := mode + " item " + strconv.Itoa(j+1)
		if g.Item != w.Item || g.N != w.N {
			t.Errorf("%s: got %s n %d, want %s n %d", name, g.Item, g.N, w.Item, w.N)
		}
		for _, c := range []struct {
			field     string
			got, want cliNum
		}{
			{"p", g.P, w.P}, {"sd", g.SD, w.SD}, {"point_biserial", g.PointBiserial, w.PointBiserial},
			{"item_rest", g.ItemRest, w.ItemRest}, {"biserial", g.Biserial, w.Biserial},
			{"alpha_if_deleted", g.AlphaIfDeleted, w.AlphaIfDeleted}, {"upper_lower", g.UpperLower, w.UpperLower},
			{"discriminative_efficiency", g.DiscriminativeEfficiency, w.DiscriminativeEfficiency},
		} {
			closeTo(t, name+" "+c.field, c.got, c.want)
		}
		if !options {
			// Without the raw responses the CLI sees no options, so it
			// raises only the item's own flags: a prefix of ours.
			if len(w.Flags) > len(g.Flags) || !slices.Equal(g.Flags[:len(w.Flags)], w.Flags) {
				t.Errorf("%s flags: got %v, want %v first", name, g.Flags, w.Flags)
			}
			continue
		}
		if g.Key != w.Key || !slices.Equal(g.Flags, w.Flags) || len(g.Options) != len(w.Options) {
			t.Errorf("%s: got key %q flags %v and %d options, want %q %v %d", name, g.Key, g.Flags, len(g.Options), w.Key, w.Flags, len(w.Options))
			continue
		}
		for o, wo := range w.Options {
			go_ := g.Options[o]
			on := name + " option " + wo.Option
			if go_.Option != wo.Option || go_.Key != wo.Key || go_.Count != wo.Count || !slices.Equal(go_.Flags, wo.Flags) || len(go_.Groups) != len(wo.Groups) {
				t.Errorf("%s: got %+v, want %+v", on, go_, wo)
				continue
			}
			closeTo(t, on+" proportion", go_.Proportion, wo.Proportion)
			closeTo(t, on+" point_biserial", go_.PointBiserial, wo.PointBiserial)
			closeTo(t, on+" mean_score", go_.MeanScore, wo.MeanScore)
			for k := range wo.Groups {
				closeTo(t, on+" group "+strconv.Itoa(k+1), go_.Groups[k], wo.Groups[k])
			}
		}
	}
}

func compareTest(t *testing.T, mode string, got, want cliCTT) {
	t.Helper()
	if got.Persons != want.Persons || got.Items != want.Items {
		t.Errorf("%s: got %d persons × %d items, want %d × %d", mode, got.Persons, got.Items, want.Persons, want.Items)
	}
	for _, c := range []struct {
		field     string
		got, want cliNum
	}{
		{"mean", got.Mean, want.Mean}, {"sd", got.SD, want.SD}, {"median", got.Median, want.Median},
		{"min", got.Min, want.Min}, {"max", got.Max, want.Max}, {"skewness", got.Skewness, want.Skewness},
		{"kurtosis", got.Kurtosis, want.Kurtosis}, {"alpha", got.Alpha, want.Alpha}, {"kr20", got.KR20, want.KR20},
		{"kr21", got.KR21, want.KR21}, {"sem", got.SEM, want.SEM},
		{"split_half.odd_even", got.SplitHalf.OddEven, want.SplitHalf.OddEven},
		{"split_half.spearman_brown", got.SplitHalf.SpearmanBrown, want.SplitHalf.SpearmanBrown},
	} {
		closeTo(t, mode+" "+c.field, c.got, c.want)
	}
	if len(got.CSEM) != len(want.CSEM) {
		t.Errorf("%s: got %d CSEM rows, want %d", mode, len(got.CSEM), len(want.CSEM))
	} else {
		for i := range want.CSEM {
			closeTo(t, mode+" csem "+strconv.Itoa(i), got.CSEM[i].CSEM, want.CSEM[i].CSEM)
		}
	}
}

// TestWorkbenchEqualsTheCLI checks the workbench against `touchstone psych`
// on the files the workbench itself offers: 300 pilot attempts of eight
// items, some hard, one that discriminates negatively (a probable miskey)
// and distractors nobody or almost nobody chooses.
func TestWorkbenchEqualsTheCLI(t *testing.T) {
	f := newFixture(t, fixtureOptions{Items: 8, Pilots: 300})
	p := f.as("psychometrician")
	base := "/psychometrics/exams/" + f.exam.ID
	dir := t.TempDir()
	save := func(name string) string {
		t.Helper()
		r := p.get(base + "/" + name)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", name, r.Status, r.Body)
		}
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(r.Body), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	scored, choices, key, scores := save("responses.csv"), save("choices.csv"), save("key.csv"), save("scores.csv")

	// The analysis through the API, checked against the OpenAPI document,
	// and the page's analysis.json, which must be the same.
	req := httptest.NewRequest(http.MethodGet, "/api/v1/exams/"+f.exam.ID+"/analysis", nil)
	api := p.getJSON(req.URL.Path)
	if api.Status != http.StatusOK {
		t.Fatalf("analysis API: status %d: %s", api.Status, api.Body)
	}
	checkAgainstOpenAPI(t, req, &webtest.Response{Response: &http.Response{StatusCode: api.Status, Header: api.Header, Request: req}, Body: []byte(api.Body)})
	if page := p.get(base + "/analysis.json"); page.Body != api.Body {
		t.Errorf("analysis.json and the API differ:\n%s\n%s", page.Body, api.Body)
	}
	var got workbenchAnalysis
	if err := json.Unmarshal([]byte(api.Body), &got); err != nil {
		t.Fatal(err)
	}

	var ctt, raw cliCTT
	runPsych(t, &ctt, "ctt", "--scored", scored)
	runPsych(t, &raw, "ctt", "--raw", choices, "--key", key)
	compareTest(t, "ctt --scored", got.cliCTT, ctt)
	compareTest(t, "ctt --raw", got.cliCTT, raw)
	compareItems(t, "ctt --scored", got.ItemStats, ctt.ItemStats, false)
	compareItems(t, "ctt --raw", got.ItemStats, raw.ItemStats, true)

	// The data hold what the test means to show.
	flagged := map[string]bool{}
	for _, it := range raw.ItemStats {
		for _, fl := range it.Flags {
			flagged[fl] = true
		}
	}
	for _, fl := range []string{"low_discrimination", "negative_discrimination", "too_easy", "nonfunctioning_distractor", "probable_miskey"} {
		if !flagged[fl] {
			t.Errorf("no item is flagged %s; the data should raise it", fl)
		}
	}

	// Decision consistency at the cut, with alpha as the reliability.
	if got.Cut == nil || got.Alpha == nil {
		t.Fatalf("got cut %v alpha %v, want both", fmtNum(got.Cut), fmtNum(got.Alpha))
	}
	cut, alpha := fmtNum(got.Cut), fmtNum(got.Alpha)
	var sub, ll cliConsistency
	runPsych(t, &sub, "consistency", "--method", "subkoviak", "--scores", scores, "--items", "8", "--reliability", alpha, "--cut", cut)
	runPsych(t, &ll, "consistency", "--method", "livingston-lewis", "--scores", scores, "--max-score", "8", "--reliability", alpha, "--cut", cut)
	for _, c := range []struct {
		name      string
		got, want cliConsistency
	}{{"subkoviak", got.Consistency.Subkoviak, sub}, {"livingston-lewis", got.Consistency.LivingstonLewis, ll}} {
		closeTo(t, c.name+" agreement", c.got.Agreement, c.want.Agreement)
		closeTo(t, c.name+" kappa", c.got.Kappa, c.want.Kappa)
		closeTo(t, c.name+" chance", c.got.Chance, c.want.Chance)
		closeTo(t, c.name+" accuracy", c.got.Accuracy, c.want.Accuracy)
		closeTo(t, c.name+" false_pass", c.got.FalsePass, c.want.FalsePass)
		closeTo(t, c.name+" false_fail", c.got.FalseFail, c.want.FalseFail)
	}
	if got.Consistency.Subkoviak.Agreement == nil || got.Consistency.LivingstonLewis.Accuracy == nil {
		t.Error("decision consistency and accuracy are undefined; the data should give both")
	}
	// Lord's CSEM at the cut is the CLI's CSEM curve at that score.
	c := *got.Cut
	lo := int(math.Floor(c))
	if len(raw.CSEM) > lo+1 && got.CSEMAtCut != nil {
		a, b := *raw.CSEM[lo].CSEM, *raw.CSEM[lo+1].CSEM
		if *got.CSEMAtCut < math.Min(a, b)-1e-12 || *got.CSEMAtCut > math.Max(a, b)+1e-9 {
			t.Errorf("CSEM at cut %v: got %v, want between the CLI's %v and %v", c, *got.CSEMAtCut, a, b)
		}
	}
	if c == math.Trunc(c) {
		closeTo(t, "csem_at_cut", got.CSEMAtCut, raw.CSEM[int(c)].CSEM)
	}

	// The page shows the same numbers.
	page := p.get(base)
	wantContains(t, "page", page, `id="stat-alpha">`+strconv.FormatFloat(*raw.Alpha, 'f', 3, 64)+`<`,
		`id="stat-dc">`+strconv.FormatFloat(*sub.Agreement, 'f', 3, 64)+`<`,
		`id="stat-accuracy">`+strconv.FormatFloat(*ll.Accuracy, 'f', 3, 64)+`<`)
}
