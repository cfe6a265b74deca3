package psych

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The tests run the command on CSV files written by R and by published
// sources (psychometrics/testdata), converted only in layout, and compare
// its JSON with the reference values beside them.
const refdata = "../../../psychometrics/testdata"

// runJSON runs the command and decodes its JSON output.
func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out bytes.Buffer
	if err := Run(args, &out); err != nil {
		t.Fatalf("psych %s: %v", strings.Join(args, " "), err)
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("psych %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return v
}

// readCSV reads a reference file whole.
func readCSV(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(refdata, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func writeCSV(t *testing.T, rows [][]string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "in.csv")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := csv.NewWriter(f).WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return name
}

func float(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// field walks a decoded JSON value by keys and indexes: field(v, "items", 2, "b").
func field(t *testing.T, v any, path ...any) float64 {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	if v == nil {
		return math.NaN()
	}
	return v.(float64)
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("%s: got %.10g, want %.10g ± %g", what, got, want, tol)
	}
}

func TestCTTMatchesPsychAlpha(t *testing.T) {
	// responses.csv was written by R (psychometrics/testdata/classical.R);
	// the goldens come from psych::alpha.
	v := runJSON(t, "ctt", "--scored", filepath.Join(refdata, "responses.csv"))
	for _, row := range readCSV(t, "classical_test.csv")[1:] {
		if row[0] == "responses" {
			near(t, "alpha", field(t, v, "alpha"), float(t, row[5]), 1e-12)
			near(t, "sd", field(t, v, "sd"), float(t, row[4]), 1e-12)
			near(t, "sem", field(t, v, "sem"), float(t, row[6]), 1e-12)
		}
	}
	for _, row := range readCSV(t, "classical_items.csv")[1:] {
		if row[0] != "responses" {
			continue
		}
		j, _ := strconv.Atoi(row[1])
		near(t, "item "+row[1]+" p", field(t, v, "item_stats", j, "p"), float(t, row[3]), 1e-12)
		near(t, "item "+row[1]+" point_biserial", field(t, v, "item_stats", j, "point_biserial"), float(t, row[4]), 1e-12)
		near(t, "item "+row[1]+" item_rest", field(t, v, "item_stats", j, "item_rest"), float(t, row[5]), 1e-12)
		near(t, "item "+row[1]+" alpha_if_deleted", field(t, v, "item_stats", j, "alpha_if_deleted"), float(t, row[6]), 1e-12)
	}
}

func TestCTTRawWithKeyFlagsTheMiskey(t *testing.T) {
	// ctt_choices.csv has a miskeyed item 8 (R's ctt_golden.R stops unless
	// the library flags it); the key file is rewritten as item,key.
	keyRows := readCSV(t, "ctt_key.csv")
	rows := [][]string{{"item", "key"}}
	for j, item := range keyRows[0] {
		rows = append(rows, []string{item, keyRows[1][j]})
	}
	key := writeCSV(t, rows)
	v := runJSON(t, "ctt", "--raw", filepath.Join(refdata, "ctt_choices.csv"), "--key", key)
	item := v["item_stats"].([]any)[7].(map[string]any)
	if flags := fmt.Sprint(item["flags"]); !strings.Contains(flags, "probable_miskey") {
		t.Errorf("item 8 flags %s, want probable_miskey", flags)
	}
	var sum float64
	for _, o := range item["options"].([]any) {
		sum += o.(map[string]any)["proportion"].(float64)
	}
	near(t, "item 8 option proportions sum", sum, 1, 1e-12)
}

func TestIRTLSAT6MatchesPublishedTables(t *testing.T) {
	// LSAT-6 (Bock & Lieberman, 1970) as 32 pattern frequencies, expanded to
	// 1,000 persons; published 2PL and 1PL estimates in lsat6_published.csv.
	pat := readCSV(t, "lsat6.csv")
	rows := [][]string{{"person", "q1", "q2", "q3", "q4", "q5"}}
	for _, p := range pat[1:] {
		n, _ := strconv.Atoi(p[5])
		for range n {
			rows = append(rows, append([]string{strconv.Itoa(len(rows))}, p[:5]...))
		}
	}
	if len(rows) != 1001 {
		t.Fatalf("LSAT-6 has %d persons, want 1000", len(rows)-1)
	}
	data := writeCSV(t, rows)
	fits := map[string]map[string]any{
		"2PL":   runJSON(t, "irt", "--scored", data, "--model", "2pl"),
		"1PL":   runJSON(t, "irt", "--scored", data, "--model", "1pl"),
		"Rasch": runJSON(t, "irt", "--scored", data, "--model", "rasch", "--method", "mml"),
	}
	checked := 0
	for _, ref := range readCSV(t, "lsat6_published.csv")[1:] {
		v, ok := fits[ref[0]]
		q := ref[2]
		if !ok || (q != "a" && q != "b" && q != "loglik") {
			continue
		}
		item, _ := strconv.Atoi(ref[1])
		got := field(t, v, "loglik")
		if q != "loglik" {
			got = field(t, v, "items", item, q)
		}
		near(t, fmt.Sprintf("%s item %d %s (%s)", ref[0], item, q, ref[5]), got, float(t, ref[3]), float(t, ref[4]))
		checked++
	}
	if checked < 20 {
		t.Errorf("checked %d published values, want at least 20", checked)
	}
}

func TestDIFMatchesMantelhaenTest(t *testing.T) {
	// dif_responses.csv has the group in its first column; goldens from
	// base R's mantelhaen.test (psychometrics/testdata/dif.R).
	in := readCSV(t, "dif_responses.csv")
	scored := [][]string{append([]string{"person"}, in[0][1:]...)}
	groups := [][]string{{"person", "group"}}
	for i, row := range in[1:] {
		id := fmt.Sprintf("p%d", i+1)
		cells := append([]string{id}, row[1:]...)
		scored = append(scored, cells)
		g := "reference"
		if row[0] == "1" {
			g = "focal"
		}
		groups = append(groups, []string{id, g})
	}
	v := runJSON(t, "dif", "--scored", writeCSV(t, scored), "--groups", writeCSV(t, groups), "--focal", "focal", "--missing", "listwise")
	n := 0
	for _, ref := range readCSV(t, "dif_golden.csv")[1:] {
		if ref[0] != "total" {
			continue
		}
		j, _ := strconv.Atoi(ref[1])
		near(t, "item "+ref[1]+" alpha_mh", field(t, v, "items", j, "alpha_mh"), float(t, ref[4]), 1e-9)
		near(t, "item "+ref[1]+" delta_mh", field(t, v, "items", j, "delta_mh"), float(t, ref[5]), 1e-9)
		near(t, "item "+ref[1]+" se_delta_mh", field(t, v, "items", j, "se_delta_mh"), float(t, ref[6]), 1e-9)
		near(t, "item "+ref[1]+" chi2_mh", field(t, v, "items", j, "chi2_mh"), float(t, ref[7]), 1e-9)
		near(t, "item "+ref[1]+" p_value", field(t, v, "items", j, "p_value"), float(t, ref[8]), 1e-9)
		if got := v["items"].([]any)[j].(map[string]any)["ets_class"]; got != ref[11] {
			t.Errorf("item %s: ETS class %v, want %s", ref[1], got, ref[11])
		}
		n++
	}
	if n == 0 {
		t.Fatal("no DIF goldens compared")
	}
}

func TestAngoffRoundsMatchR(t *testing.T) {
	rows := [][]string{nil}
	for r := 1; r <= 3; r++ {
		in := readCSV(t, fmt.Sprintf("standards_angoff_round%d.csv", r))
		rows[0] = append([]string{"rater", "round"}, in[0]...)
		for p, row := range in[1:] {
			rows = append(rows, append([]string{fmt.Sprintf("panelist%d", p+1), strconv.Itoa(r)}, row...))
		}
	}
	v := runJSON(t, "angoff", "--ratings", writeCSV(t, rows))
	golden := map[string]float64{}
	for _, row := range readCSV(t, "standards_golden.csv")[1:] {
		golden[row[0]] = float(t, row[1])
	}
	for r := 1; r <= 3; r++ {
		near(t, fmt.Sprintf("round %d cut", r), field(t, v, "rounds", r-1, "cut"), golden[fmt.Sprintf("angoff_r%d_cut", r)], 1e-9)
		near(t, fmt.Sprintf("round %d se", r), field(t, v, "rounds", r-1, "se"), golden[fmt.Sprintf("angoff_r%d_se", r)], 1e-9)
	}
	near(t, "recommended cut (last round)", field(t, v, "cut"), golden["angoff_r3_cut"], 1e-9)
}

func TestBadInputNamesFileLineAndColumn(t *testing.T) {
	bad := writeCSV(t, [][]string{{"person", "i1", "i2"}, {"a", "1", "0"}, {"b", "1", "yes"}})
	err := Run([]string{"ctt", "--scored", bad}, &bytes.Buffer{})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Line != 3 || ie.Column != 3 {
		t.Fatalf("got %v, want an input error at line 3, column 3", err)
	}
	if !strings.Contains(err.Error(), bad+":3:3:") {
		t.Errorf("message %q does not name file:line:column", err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"ctt"},
		{"ctt", "--scored", "x.csv", "--raw", "y.csv"},
		{"irt", "--scored", "x.csv", "--model", "4pl"},
		{"irt", "--scored", "x.csv", "--format", "xml"},
		{"dif", "--scored", "x.csv"},
		{"theta", "--params", "p.csv"},
		{"equate", "--method", "magic"},
	} {
		var ue *UsageError
		if err := Run(args, &bytes.Buffer{}); !errors.As(err, &ue) {
			t.Errorf("psych %v: got %v, want a usage error", args, err)
		}
	}
}

func TestEverySubcommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		var out bytes.Buffer
		if err := Run([]string{c.name, "--help"}, &out); err != nil {
			t.Errorf("%s --help: %v", c.name, err)
		}
		if !strings.Contains(out.String(), "usage: touchstone psych "+c.name) || !strings.Contains(out.String(), "-format") {
			t.Errorf("%s --help printed:\n%s", c.name, out.String())
		}
	}
}

func TestSimulateThenCalibrateRecoversParameters(t *testing.T) {
	dir := t.TempDir()
	params := filepath.Join(dir, "params.csv")
	var data bytes.Buffer
	if err := Run([]string{"simulate", "--items", "20", "--persons", "5000", "--seed", "3", "--params-out", params}, &data); err != nil {
		t.Fatal(err)
	}
	scored := filepath.Join(dir, "scored.csv")
	if err := os.WriteFile(scored, data.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run([]string{"irt", "--scored", scored, "--format", "csv", "--fit=false"}, &out); err != nil {
		t.Fatal(err)
	}
	got, err := ReadItemParams("estimates", &out)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(params)
	defer f.Close()
	want, err := ReadItemParams(params, f)
	if err != nil {
		t.Fatal(err)
	}
	var sb float64
	for j := range want.Items {
		sb += (got.B[j] - want.B[j]) * (got.B[j] - want.B[j])
	}
	if rmse := math.Sqrt(sb / float64(len(want.Items))); rmse > 0.1 {
		t.Errorf("RMSE of b %.3f, want < 0.1", rmse)
	}
	// The estimates feed the other subcommands: score the same persons.
	est := filepath.Join(dir, "est.csv")
	var buf bytes.Buffer
	if err := Run([]string{"irt", "--scored", scored, "--format", "csv", "--fit=false"}, &buf); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(est, buf.Bytes(), 0o644)
	v := runJSON(t, "theta", "--params", est, "--scored", scored, "--method", "eap")
	if n := len(v["persons"].([]any)); n != 5000 {
		t.Errorf("scored %d persons, want 5000", n)
	}
}

func TestGroupsMatchR(t *testing.T) {
	golden := map[string]float64{}
	for _, row := range readCSV(t, "standards_golden.csv")[1:] {
		golden[row[0]] = float(t, row[1])
	}
	rows := [][]string{{"score", "judgement"}}
	for _, row := range readCSV(t, "standards_contrasting.csv")[1:] {
		j := "non-master"
		if row[1] == "1" {
			j = "master"
		}
		rows = append(rows, []string{row[0], j})
	}
	v := runJSON(t, "groups", "--method", "contrasting", "--judged", writeCSV(t, rows))
	near(t, "contrasting cut", field(t, v, "cut"), golden["contrasting_w1_cut"], 1e-7)
	near(t, "contrasting se", field(t, v, "se"), golden["contrasting_w1_se"], 1e-7)
	near(t, "min-error cut", field(t, v, "min_error_cut"), golden["contrasting_w1_min_error_cut"], 0)

	rows = [][]string{{"score", "judgement"}}
	for _, row := range readCSV(t, "standards_borderline.csv")[1:] {
		rows = append(rows, []string{row[0], "borderline"})
	}
	rows = append(rows, []string{"12", "master"}) // not borderline: ignored
	v = runJSON(t, "groups", "--method", "borderline", "--judged", writeCSV(t, rows))
	near(t, "borderline cut", field(t, v, "cut"), golden["borderline_cut"], 1e-12)
	near(t, "borderline se", field(t, v, "se"), golden["borderline_se"], 1e-12)
	near(t, "borderline n", field(t, v, "n"), golden["borderline_n"], 0)
}
