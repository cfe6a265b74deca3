package psych

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

// forensicsFiles writes a simulated exam of n persons × k four-option items
// as the CLI reads it (choices, key, times, params, windows), with person
// p003's answers copied by p007 and p011 guessing in 1–3 s, and returns the
// files and the same data as a psychometrics.ForensicsInput.
func forensicsFiles(t *testing.T, n, k int) (files map[string]string, in psychometrics.ForensicsInput) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	letters := []string{"A", "B", "C", "D"}
	items := make([]psychometrics.Item3PL, k)
	header := []string{"person"}
	keyRows := [][]string{{"item", "key"}}
	paramRows := [][]string{{"item", "a", "b", "c"}}
	key := make([]int, k)
	for j := range k {
		items[j] = psychometrics.Item3PL{A: 1 + rng.Float64(), B: rng.NormFloat64(), C: 0.2}
		key[j] = rng.IntN(4)
		id := fmt.Sprintf("q%02d", j+1)
		header = append(header, id)
		keyRows = append(keyRows, []string{id, letters[key[j]]})
		paramRows = append(paramRows, []string{id, strconv.FormatFloat(items[j].A, 'g', -1, 64), strconv.FormatFloat(items[j].B, 'g', -1, 64), "0.2"})
	}
	choiceRows, timeRows := [][]string{header}, [][]string{header}
	windowRows := [][]string{{"person", "window"}}
	in = psychometrics.ForensicsInput{Scored: mat.NewDense(n, k, nil), Times: mat.NewDense(n, k, nil), Items: items, Choices: make([][]string, n), Windows: make([]string, n)}
	for i := range n {
		theta := rng.NormFloat64()
		person := fmt.Sprintf("p%03d", i)
		in.Windows[i] = []string{"morning", "noon", "evening"}[i%3]
		windowRows = append(windowRows, []string{person, in.Windows[i]})
		in.Choices[i] = make([]string, k)
		crow, trow := []string{person}, []string{person}
		for j := range k {
			o := key[j]
			if rng.Float64() >= items[j].P(theta) {
				o = (key[j] + 1 + rng.IntN(3)) % 4
			}
			tm := math.Round(math.Exp(4+0.4*rng.NormFloat64())*10) / 10
			switch i {
			case 7:
				o = choiceIndex(in.Choices[3][j])
			case 11:
				o, tm = rng.IntN(4), float64(1+rng.IntN(3))
			}
			in.Choices[i][j] = letters[o]
			if o == key[j] {
				in.Scored.Set(i, j, 1)
			}
			in.Times.Set(i, j, tm)
			crow = append(crow, letters[o])
			trow = append(trow, strconv.FormatFloat(tm, 'f', 1, 64))
		}
		choiceRows, timeRows = append(choiceRows, crow), append(timeRows, trow)
	}
	return map[string]string{
		"choices": writeCSV(t, choiceRows), "key": writeCSV(t, keyRows), "times": writeCSV(t, timeRows),
		"params": writeCSV(t, paramRows), "windows": writeCSV(t, windowRows),
	}, in
}

func choiceIndex(s string) int { return int(s[0] - 'A') }

func TestForensicsRanksCopyingAndRapidGuessing(t *testing.T) {
	files, in := forensicsFiles(t, 200, 30)
	out := runJSON(t, "forensics", "--choices", files["choices"], "--key", files["key"], "--times", files["times"],
		"--params", files["params"], "--windows", files["windows"])

	// The command is a shell over psychometrics.Forensics: the same data give
	// the same risks.
	want, err := psychometrics.Forensics(in, psychometrics.ForensicsSettings{})
	if err != nil {
		t.Fatal(err)
	}
	ranking := out["ranking"].([]any)
	for r, i := range want.Ranking {
		p := want.Persons[i]
		got := ranking[r].(map[string]any)
		if got["person"] != fmt.Sprintf("p%03d", i) || got["driver"] != p.Driver {
			t.Fatalf("rank %d: got %v (%v), want p%03d (%s)", r+1, got["person"], got["driver"], i, p.Driver)
		}
		near(t, fmt.Sprintf("rank %d risk", r+1), field(t, got, "risk"), p.Risk, 1e-12*math.Max(p.Risk, 1e-300))
		near(t, fmt.Sprintf("rank %d lz*", r+1), field(t, got, "lz_star"), p.LzStar, 1e-12)
	}

	// p003 and p007 sat in different windows: they are not compared. In one
	// window they are the flagged pair.
	if pairs := out["flagged_pairs"].([]any); len(pairs) != 0 {
		t.Errorf("flagged pairs across windows: %v, want none", pairs)
	}
	out = runJSON(t, "forensics", "--choices", files["choices"], "--key", files["key"], "--times", files["times"], "--params", files["params"])
	pairs := out["flagged_pairs"].([]any)
	if len(pairs) == 0 {
		t.Fatal("no flagged pair in one window, want p003 and p007")
	}
	if p := pairs[0].(map[string]any); p["a"] != "p003" || p["b"] != "p007" || field(t, p, "matches") != 30 {
		t.Errorf("first flagged pair %v, want p003, p007 with 30 matches", p)
	}
	if c := pairs[0].(map[string]any)["copier"]; c != "p003" && c != "p007" {
		t.Errorf("first flagged pair's copier %v, want p003 or p007", c)
	}
	top := map[string]string{}
	for _, r := range out["ranking"].([]any)[:3] {
		top[r.(map[string]any)["person"].(string)] = r.(map[string]any)["driver"].(string)
	}
	if top["p011"] != psychometrics.IndicatorRapidGuess || top["p003"] != psychometrics.IndicatorSimilarity || top["p007"] != psychometrics.IndicatorSimilarity {
		t.Errorf("top three %v, want p003 and p007 (similarity) and p011 (rapid_guessing)", top)
	}

	var tbl bytes.Buffer
	if err := Run([]string{"forensics", "--choices", files["choices"], "--key", files["key"], "--times", files["times"], "--format", "table", "--top", "5"}, &tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tbl.String(), "rapid_guessing") || !strings.Contains(tbl.String(), "flagged pair") {
		t.Errorf("table lacks the rapid guesser or the flagged pair:\n%s", tbl.String())
	}
}

func TestForensicsTimesMatchR(t *testing.T) {
	// forensics_times.csv and its golden come from
	// psychometrics/testdata/forensics.R (R's lm on the log times).
	rows := readCSV(t, "forensics_times.csv")
	n, k := len(rows)-1, len(rows[0])
	scored := [][]string{rows[0]}
	rng := rand.New(rand.NewPCG(1, 1))
	for range n {
		r := make([]string, k)
		for j := range r {
			r[j] = strconv.Itoa(rng.IntN(2))
		}
		scored = append(scored, r)
	}
	out := runJSON(t, "forensics", "--responses", writeCSV(t, scored), "--times", filepath.Join(refdata, "forensics_times.csv"))
	golden := readCSV(t, "forensics_times_golden.csv")
	for _, g := range golden[1:] {
		if g[0] == "tau" {
			continue
		}
		j, _ := strconv.Atoi(g[1])
		near(t, fmt.Sprintf("item %d %s", j, g[0]), field(t, out, "item_times", j-1, g[0]), float(t, g[2]), 1e-8)
	}
}

func TestForensicsBadTimes(t *testing.T) {
	scored := writeCSV(t, [][]string{{"person", "i1", "i2"}, {"a", "1", "0"}, {"b", "0", "1"}, {"c", "1", "1"}})
	times := writeCSV(t, [][]string{{"person", "i1", "i2"}, {"a", "12", "30"}, {"b", "-4", "31"}, {"c", "10", "20"}})
	err := Run([]string{"forensics", "--responses", scored, "--times", times}, &bytes.Buffer{})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Line != 3 || ie.Column != 2 {
		t.Fatalf("got %v, want an input error at line 3, column 2", err)
	}
	var ue *UsageError
	if err := Run([]string{"forensics", "--choices", scored}, &bytes.Buffer{}); !errors.As(err, &ue) {
		t.Errorf("--choices without --key: got %v, want a usage error", err)
	}
}

// answeredAtFile writes when each person of forensicsFiles' exam answered
// each item — all started together, each item answered its time after the
// last — with p007 answering every item 3 s after p003, whose answers they
// copy, and returns the file and the same times in seconds.
func answeredAtFile(t *testing.T, in psychometrics.ForensicsInput) (string, *mat.Dense) {
	t.Helper()
	n, k := in.Times.Dims()
	at := mat.NewDense(n, k, nil)
	header := []string{"person"}
	for j := range k {
		header = append(header, fmt.Sprintf("q%02d", j+1))
	}
	rows := [][]string{header}
	for i := range n {
		clock := 1.7e9
		for j := range k {
			clock += in.Times.At(i, j)
			at.Set(i, j, clock)
			if i == 7 {
				at.Set(i, j, at.At(3, j)+3)
			}
		}
		row := []string{fmt.Sprintf("p%03d", i)}
		for j := range k {
			row = append(row, strconv.FormatFloat(at.At(i, j), 'g', -1, 64))
		}
		rows = append(rows, row)
	}
	return writeCSV(t, rows), at
}

func TestForensicsAnsweredAt(t *testing.T) {
	files, in := forensicsFiles(t, 200, 30)
	answered, at := answeredAtFile(t, in)
	out := runJSON(t, "forensics", "--choices", files["choices"], "--key", files["key"], "--times", files["times"],
		"--params", files["params"], "--answered-at", answered)

	// The same as psychometrics.Forensics with AnsweredAt.
	in.Windows, in.AnsweredAt = nil, at
	want, err := psychometrics.Forensics(in, psychometrics.ForensicsSettings{})
	if err != nil {
		t.Fatal(err)
	}
	ranking := out["ranking"].([]any)
	for r, i := range want.Ranking {
		p := want.Persons[i]
		got := ranking[r].(map[string]any)
		if got["person"] != fmt.Sprintf("p%03d", i) || got["driver"] != p.Driver {
			t.Fatalf("rank %d: got %v (%v), want p%03d (%s)", r+1, got["person"], got["driver"], i, p.Driver)
		}
		near(t, fmt.Sprintf("rank %d risk", r+1), field(t, got, "risk"), p.Risk, 1e-12*math.Max(p.Risk, 1e-300))
		near(t, fmt.Sprintf("rank %d similarity p", r+1), field(t, got, "similarity_p"), p.SimilarityP, 1e-12*math.Max(p.SimilarityP, 1e-300))
	}
	pairs := out["flagged_pairs"].([]any)
	if len(pairs) != len(want.Pairs) || len(pairs) == 0 {
		t.Fatalf("got %d flagged pairs, want %d, the first p003 and p007", len(pairs), len(want.Pairs))
	}
	for x, w := range want.Pairs {
		p := pairs[x].(map[string]any)
		if field(t, p, "followed") != float64(w.Followed) || field(t, p, "followed_matches") != float64(w.FollowedMatches) {
			t.Errorf("pair %d: followed %v (%v alike), want %d (%d)", x, p["followed"], p["followed_matches"], w.Followed, w.FollowedMatches)
		}
		near(t, fmt.Sprintf("pair %d timed p", x), field(t, p, "followed_p"), w.FollowedP, 1e-12*math.Max(w.FollowedP, 1e-300))
	}
	// p007 answered every item just after p003: the timed test names
	// p007 the copier and follows every item.
	if p := pairs[0].(map[string]any); p["a"] != "p003" || p["b"] != "p007" || p["copier"] != "p007" || field(t, p, "followed") != 30 ||
		field(t, p, "followed_matches") != 30 || !(field(t, p, "followed_p") < 1e-6) {
		t.Errorf("first flagged pair %v, want p003 and p007, copier p007, 30 of 30 followed alike with a tiny p", p)
	}

	// Without --answered-at the timed test is not run.
	out = runJSON(t, "forensics", "--choices", files["choices"], "--key", files["key"])
	if p := out["flagged_pairs"].([]any)[0].(map[string]any); field(t, p, "followed") != 0 || p["followed_p"] != nil {
		t.Errorf("without answer times: followed %v, timed p %v; want 0 and null", p["followed"], p["followed_p"])
	}

	var tbl bytes.Buffer
	if err := Run([]string{"forensics", "--choices", files["choices"], "--key", files["key"], "--answered-at", answered, "--format", "table"}, &tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tbl.String(), "followed (alike)") || !strings.Contains(tbl.String(), "30 (30)") {
		t.Errorf("table lacks the followed items of the flagged pair:\n%s", tbl.String())
	}
}

func TestForensicsBadAnsweredAt(t *testing.T) {
	choices := writeCSV(t, [][]string{{"person", "i1", "i2"}, {"a", "A", "B"}, {"b", "B", "B"}, {"c", "A", "A"}})
	key := writeCSV(t, [][]string{{"item", "key"}, {"i1", "A"}, {"i2", "B"}})
	for _, tc := range []struct {
		name     string
		rows     [][]string
		line     int
		column   int
		contains string
	}{
		{"not a time", [][]string{{"person", "i1", "i2"}, {"a", "100", "160"}, {"b", "103", "soon"}, {"c", "NA", ""}}, 3, 3, `item i2: "soon" is not an answer time`},
		{"infinite", [][]string{{"person", "i1", "i2"}, {"a", "100", "160"}, {"b", "103", "165"}, {"c", "Inf", "2"}}, 4, 2, "is not an answer time"},
		{"short row", [][]string{{"person", "i1", "i2"}, {"a", "100", "160"}, {"b", "103"}, {"c", "1", "2"}}, 3, 0, "2 fields, header has 3"},
		{"person missing", [][]string{{"person", "i1", "i2"}, {"a", "100", "160"}, {"b", "103", "165"}}, 0, 0, "no row for person c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeCSV(t, tc.rows)
			err := Run([]string{"forensics", "--choices", choices, "--key", key, "--answered-at", file}, &bytes.Buffer{})
			var ie *InputError
			if !errors.As(err, &ie) || ie.File != file || ie.Line != tc.line || ie.Column != tc.column || !strings.Contains(ie.Msg, tc.contains) {
				t.Fatalf("got %v, want an input error of %s at line %d, column %d: …%s…", err, file, tc.line, tc.column, tc.contains)
			}
		})
	}
	// RFC 3339 times are read as Unix seconds.
	rfc := writeCSV(t, [][]string{{"person", "i1", "i2"}, {"a", "2026-12-04T09:00:00Z", "2026-12-04T09:01:00.5Z"}, {"b", "1796374800", ""}, {"c", "NA", "1"}})
	got, err := readFile(rfc, ReadAnsweredAt)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := got.Scores.At(0, 0), got.Scores.At(0, 1); a != 1796374800 || b != 1796374860.5 || !math.IsNaN(got.Scores.At(2, 0)) {
		t.Errorf("RFC 3339: got %v, %v and %v, want 1796374800, 1796374860.5 and NaN", a, b, got.Scores.At(2, 0))
	}
	var ue *UsageError
	if err := Run([]string{"forensics", "--responses", writeCSV(t, [][]string{{"i1", "i2"}, {"1", "0"}, {"0", "1"}}), "--answered-at", rfc}, &bytes.Buffer{}); !errors.As(err, &ue) {
		t.Errorf("--answered-at without --choices: got %v, want a usage error", err)
	}
}

func TestForensicsLeavesOutUntimedPersons(t *testing.T) {
	scored := writeCSV(t, [][]string{{"person", "i1", "i2"}, {"a", "1", "0"}, {"b", "0", "1"}, {"c", "1", "1"}, {"d", "0", "0"}})
	times := writeCSV(t, [][]string{{"person", "i1", "i2"}, {"a", "12", "30"}, {"b", "NA", ""}, {"c", "10", "20"}, {"d", "15", "41"}})
	out := runJSON(t, "forensics", "--responses", scored, "--times", times)
	for _, r := range out["ranking"].([]any) {
		p := r.(map[string]any)
		untimed := p["person"] == "b"
		if untimed != (field(t, p, "timed") == 0) || untimed != (p["lt"] == nil) || untimed != (p["lt_p"] == nil) || untimed != (p["rapid_p"] == nil) {
			t.Errorf("person %v: timed %v, lt %v (p %v), rapid p %v; want time indicators for all but b", p["person"], p["timed"], p["lt"], p["lt_p"], p["rapid_p"])
		}
	}
	// With one timed person left, an item has fewer than two times.
	times = writeCSV(t, [][]string{{"person", "i1", "i2"}, {"a", "12", "30"}, {"b", "NA", ""}, {"c", "", ""}, {"d", "NA", "NA"}})
	err := Run([]string{"forensics", "--responses", scored, "--times", times}, &bytes.Buffer{})
	var ie *InputError
	if !errors.As(err, &ie) || ie.File != times || !strings.Contains(ie.Msg, "at least two times") {
		t.Errorf("one timed person: got %v, want an input error of the times file", err)
	}
}
