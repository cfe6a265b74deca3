package psych

import (
	"bytes"
	"encoding/csv"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCATSimSyntheticBankBeatsFixedForms(t *testing.T) {
	// The acceptance claim, with the defaults of the command: 2,000
	// examinees, SE target 0.30, 10–40 items, exposure cap 0.25.
	v := runJSON(t, "cat-sim", "--seed", "1")
	catMean := field(t, v, "cat", "items_mean")
	fixedLen := field(t, v, "fixed_equal_reliability", "length")
	if !(catMean < fixedLen) {
		t.Errorf("CAT mean length %.2f, want fewer than the %v items of the fixed form of equal reliability", catMean, fixedLen)
	}
	near(t, "length ratio", field(t, v, "length_ratio"), fixedLen/catMean, 1e-12)
	if r := field(t, v, "length_ratio"); r < 1.2 {
		t.Errorf("fixed/CAT length ratio %.3f, want at least 1.2", r)
	}
	// Equal reliability means comparable accuracy: the RMSEs of θ̂ against
	// the true θ within 10% of each other.
	catRMSE, fixedRMSE := field(t, v, "cat", "rmse"), field(t, v, "fixed_equal_reliability", "rmse")
	if d := catRMSE/fixedRMSE - 1; d > 0.10 || d < -0.10 {
		t.Errorf("RMSE: CAT %.4f, fixed %.4f, want within 10%%", catRMSE, fixedRMSE)
	}
	if rel, f := field(t, v, "cat", "reliability"), field(t, v, "fixed_equal_reliability", "reliability"); f < rel {
		t.Errorf("fixed form reliability %.4f below the CAT's %.4f", f, rel)
	}
	if got := field(t, v, "cat", "max_exposure"); got > 0.25 {
		t.Errorf("max exposure %.4f, want at most the cap 0.25", got)
	}
	if got := field(t, v, "cat", "se_target_rate"); got < 0.95 {
		t.Errorf("%.1f%% reach the SE target, want at least 95%%", 100*got)
	}
	if p90 := field(t, v, "cat", "items_p90"); p90 > 40 || p90 < field(t, v, "cat", "items_median") {
		t.Errorf("p90 length %v: want between the median and the maximum 40", p90)
	}
	stops := v["cat_stops"].(map[string]any)
	if _, ok := stops["bank exhausted"]; ok {
		t.Errorf("stops %v: no session should exhaust the bank", stops)
	}
}

func TestCATSimIsDeterministicForASeed(t *testing.T) {
	run := func(seed string) string {
		var out bytes.Buffer
		if err := Run([]string{"cat-sim", "--examinees", "300", "--fixed-max", "60", "--seed", seed}, &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	a, b, c := run("5"), run("5"), run("6")
	if a != b {
		t.Error("two runs with --seed 5 differ")
	}
	if a == c {
		t.Error("--seed 5 and --seed 6 give the same report")
	}
}

func TestCATSimReadsTheBankItWrites(t *testing.T) {
	// The synthetic bank written with --bank-out and read back with --bank
	// (domains from its domain column) gives the same simulation.
	dir := t.TempDir()
	bank := filepath.Join(dir, "bank.csv")
	people := filepath.Join(dir, "examinees.csv")
	args := []string{"--examinees", "200", "--fixed-max", "50", "--format", "csv"}
	var synth, file bytes.Buffer
	if err := Run(append([]string{"cat-sim", "--bank-out", bank, "--examinees-out", people}, args...), &synth); err != nil {
		t.Fatal(err)
	}
	if err := Run(append([]string{"cat-sim", "--bank", bank, "--domains", "domain"}, args...), &file); err != nil {
		t.Fatal(err)
	}
	if synth.String() != file.String() {
		t.Errorf("synthetic bank:\n%s\nthe same bank from %s:\n%s", synth.String(), bank, file.String())
	}
	rows, err := csv.NewReader(&synth).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[1][0] != "cat" || rows[2][0] != "fixed" || rows[0][len(rows[0])-1] != "length_ratio" {
		t.Errorf("csv report %q: want a header and rows cat and fixed", rows)
	}
	p, err := readFile(bank, ReadItemParams)
	if err != nil || len(p.Items) != 300 {
		t.Fatalf("bank-out: %v, %d items, want 300", err, len(p.Items))
	}
	tab, err := readFile(people, readTable)
	if err != nil || len(tab.rows) != 200 || tab.column("theta_hat") < 0 || tab.column("stop") < 0 {
		t.Fatalf("examinees-out: %v, want 200 rows with theta_hat and stop", err)
	}
}

func TestCATSimTable(t *testing.T) {
	var out bytes.Buffer
	if err := Run([]string{"cat-sim", "--examinees", "100", "--fixed-max", "40", "--format", "table"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CAT", "fixed", "reliability", "max exposure"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCATSimBadBankNamesFileAndLine(t *testing.T) {
	for _, c := range []struct {
		name      string
		rows      [][]string
		args      []string
		line, col int
	}{
		{"slope not a number", [][]string{{"item", "a", "b", "c", "domain"}, {"i1", "1.2", "0", "0", "A"}, {"i2", "x", "0", "0", "B"}}, nil, 3, 2},
		{"empty domain", [][]string{{"item", "a", "b", "c", "domain"}, {"i1", "1.2", "0", "0", "A"}, {"i2", "1", "0", "0", "B"}, {"i3", "1", "0", "0", ""}}, nil, 4, 5},
		{"no such domain column", [][]string{{"item", "a", "b", "c"}, {"i1", "1.2", "0", "0"}}, []string{"--domains", "area"}, 1, 0},
	} {
		bank := writeCSV(t, c.rows)
		err := Run(append([]string{"cat-sim", "--bank", bank, "--examinees", "10"}, c.args...), &bytes.Buffer{})
		var ie *InputError
		if !errors.As(err, &ie) || ie.Line != c.line || ie.Column != c.col {
			t.Errorf("%s: got %v, want an input error at line %d, column %d", c.name, err, c.line, c.col)
			continue
		}
		if want := bank + ":" + strconv.Itoa(c.line) + ":"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: message %q does not start with %q", c.name, err, want)
		}
	}
}

func TestCATSimUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"cat-sim", "--se", "0"},
		{"cat-sim", "--se", "1.5"},
		{"cat-sim", "--min", "0"},
		{"cat-sim", "--min", "20", "--max", "10"},
		{"cat-sim", "--examinees", "0"},
		{"cat-sim", "--exposure", "0"},
		{"cat-sim", "--exposure", "1.2"},
		{"cat-sim", "--randomesque", "0"},
		{"cat-sim", "--fixed-max", "-1"},
		{"cat-sim", "--format", "xml"},
		{"cat-sim", "--domains", "area"},
		{"cat-sim", "--seed", "x"},
		{"cat-sim", "extra"},
	} {
		var ue *UsageError
		if err := Run(args, &bytes.Buffer{}); !errors.As(err, &ue) {
			t.Errorf("psych %v: got %v, want a usage error", args, err)
		}
	}
}
