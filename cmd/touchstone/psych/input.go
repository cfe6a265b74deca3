package psych

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// InputError locates a problem in an input file, so a user can open the file
// at that line. Column is 1-based; 0 means the whole line.
type InputError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *InputError) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// maxCells bounds the size of any one input so a wrong file fails with a
// message instead of exhausting memory.
const maxCells = 50_000_000

// table is a CSV file read whole: its header and data rows, each with the
// line it started on.
type table struct {
	file   string
	header []string
	rows   [][]string
	lines  []int
}

func (t *table) errorf(row, col int, format string, args ...any) error {
	line := 0
	if row >= 0 && row < len(t.lines) {
		line = t.lines[row]
	}
	return &InputError{File: t.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// readTable reads a CSV with a header row. Cells and header names are trimmed;
// blank lines are skipped; every row must have as many fields as the header.
func readTable(file string, r io.Reader) (*table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = false
	t := &table{file: file}
	cells := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &InputError{File: file, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
			}
			return nil, &InputError{File: file, Msg: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if t.header == nil {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
			seen := map[string]bool{}
			for i, h := range rec {
				if h == "" {
					return nil, &InputError{File: file, Line: line, Column: i + 1, Msg: "empty column name in header"}
				}
				if seen[strings.ToLower(h)] {
					return nil, &InputError{File: file, Line: line, Column: i + 1, Msg: fmt.Sprintf("duplicate column %q in header", h)}
				}
				seen[strings.ToLower(h)] = true
			}
			t.header = rec
			continue
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		if len(rec) != len(t.header) {
			return nil, &InputError{File: file, Line: line, Msg: fmt.Sprintf("%d fields, header has %d", len(rec), len(t.header))}
		}
		cells += len(rec)
		if cells > maxCells {
			return nil, &InputError{File: file, Line: line, Msg: fmt.Sprintf("more than %d cells", maxCells)}
		}
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
	if t.header == nil {
		return nil, &InputError{File: file, Msg: "empty file: want a header row"}
	}
	if len(t.rows) == 0 {
		return nil, &InputError{File: file, Line: 1, Msg: "no data rows after the header"}
	}
	return t, nil
}

// column returns the index of the named column (case-insensitive), or −1.
func (t *table) column(name string) int {
	for i, h := range t.header {
		if strings.EqualFold(h, name) {
			return i
		}
	}
	return -1
}

// isMissing reports whether a cell marks a missing response.
func isMissing(s string) bool {
	return s == "" || s == "NA" || s == "na" || s == "."
}

// Responses is a persons × items data set read from a CSV file: scored
// (Scores, NaN for missing) or raw (Choices, "" for missing).
type Responses struct {
	File    string
	Persons []string // person ids: the person column, or row numbers from 1
	Items   []string // item ids, from the header
	Scores  *mat.Dense
	Choices [][]string
}

// splitPersons separates an optional leading "person" column from the item
// columns.
func splitPersons(t *table) (first int, persons []string, err error) {
	if strings.EqualFold(t.header[0], "person") {
		first = 1
		seen := make(map[string]int, len(t.rows))
		for i, row := range t.rows {
			id := row[0]
			if id == "" {
				return 0, nil, t.errorf(i, 1, "empty person id")
			}
			if prev, dup := seen[id]; dup {
				return 0, nil, t.errorf(i, 1, "person %q already on line %d", id, t.lines[prev])
			}
			seen[id] = i
			persons = append(persons, id)
		}
	} else {
		for i := range t.rows {
			persons = append(persons, strconv.Itoa(i+1))
		}
	}
	if len(t.header)-first < 1 {
		return 0, nil, &InputError{File: t.file, Line: 1, Msg: "no item columns"}
	}
	return first, persons, nil
}

// ReadScored reads scored responses: an optional first column "person", then
// one column per item with integer scores 0, 1, … (0..m for partial credit),
// and empty or NA for missing.
func ReadScored(file string, r io.Reader) (*Responses, error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, err
	}
	first, persons, err := splitPersons(t)
	if err != nil {
		return nil, err
	}
	k := len(t.header) - first
	x := mat.NewDense(len(t.rows), k, nil)
	for i, row := range t.rows {
		for j, s := range row[first:] {
			if isMissing(s) {
				x.Set(i, j, math.NaN())
				continue
			}
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 || v > 1000 {
				return nil, t.errorf(i, first+j+1, "item %s: %q is not a score (an integer 0, 1, …, or empty/NA for missing)", t.header[first+j], s)
			}
			x.Set(i, j, float64(v))
		}
	}
	return &Responses{File: file, Persons: persons, Items: t.header[first:], Scores: x}, nil
}

// ReadRaw reads raw responses: an optional first column "person", then one
// column per item holding the option chosen (a letter or short code), empty
// or NA for missing.
func ReadRaw(file string, r io.Reader) (*Responses, error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, err
	}
	first, persons, err := splitPersons(t)
	if err != nil {
		return nil, err
	}
	choices := make([][]string, len(t.rows))
	for i, row := range t.rows {
		choices[i] = make([]string, len(row)-first)
		for j, s := range row[first:] {
			if isMissing(s) {
				continue
			}
			if len(s) > 32 {
				return nil, t.errorf(i, first+j+1, "item %s: option %q is longer than 32 characters", t.header[first+j], s[:32])
			}
			choices[i][j] = strings.ToUpper(s)
		}
	}
	return &Responses{File: file, Persons: persons, Items: t.header[first:], Choices: choices}, nil
}

// ReadKey reads an answer key with columns item,key and returns the key of
// each of items, in order. Every item needs exactly one key.
func ReadKey(file string, r io.Reader, items []string) ([]string, error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, err
	}
	ic, kc := t.column("item"), t.column("key")
	if ic < 0 || kc < 0 {
		return nil, &InputError{File: file, Line: 1, Msg: "want columns item,key"}
	}
	keys := make(map[string]string, len(t.rows))
	for i, row := range t.rows {
		item, key := row[ic], strings.ToUpper(row[kc])
		if item == "" {
			return nil, t.errorf(i, ic+1, "empty item id")
		}
		if isMissing(key) {
			return nil, t.errorf(i, kc+1, "item %s: empty key", item)
		}
		if _, dup := keys[item]; dup {
			return nil, t.errorf(i, ic+1, "item %s keyed twice", item)
		}
		keys[item] = key
	}
	out := make([]string, len(items))
	for j, item := range items {
		k, ok := keys[item]
		if !ok {
			return nil, &InputError{File: file, Msg: fmt.Sprintf("no key for item %s", item)}
		}
		out[j] = k
	}
	return out, nil
}

// ReadGroups reads group membership, either person,group (matched to persons
// by id) or a single group column aligned with the data by row.
func ReadGroups(file string, r io.Reader, persons []string) ([]string, error) {
	return readPersonLabels(file, r, persons, "group")
}

// ReadWindows reads the window (session) each person sat in, either
// person,window (matched to persons by id) or a single window column aligned
// with the data by row.
func ReadWindows(file string, r io.Reader, persons []string) ([]string, error) {
	return readPersonLabels(file, r, persons, "window")
}

// readPersonLabels reads a label column named label for each of persons,
// matched by a person column or, without one, by row.
func readPersonLabels(file string, r io.Reader, persons []string, label string) ([]string, error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, err
	}
	gc := t.column(label)
	if gc < 0 {
		return nil, &InputError{File: file, Line: 1, Msg: fmt.Sprintf("want a %[1]s column (person,%[1]s or %[1]s)", label)}
	}
	pc := t.column("person")
	out := make([]string, len(persons))
	if pc < 0 {
		if len(t.rows) != len(persons) {
			return nil, &InputError{File: file, Msg: fmt.Sprintf("%d rows, the responses have %d persons (without a person column, %ss align by row)", len(t.rows), len(persons), label)}
		}
		for i, row := range t.rows {
			if isMissing(row[gc]) {
				return nil, t.errorf(i, gc+1, "empty %s", label)
			}
			out[i] = row[gc]
		}
		return out, nil
	}
	byPerson := make(map[string]string, len(t.rows))
	for i, row := range t.rows {
		if isMissing(row[gc]) {
			return nil, t.errorf(i, gc+1, "person %s: empty %s", row[pc], label)
		}
		if _, dup := byPerson[row[pc]]; dup {
			return nil, t.errorf(i, pc+1, "person %s listed twice", row[pc])
		}
		byPerson[row[pc]] = row[gc]
	}
	for i, p := range persons {
		g, ok := byPerson[p]
		if !ok {
			return nil, &InputError{File: file, Msg: fmt.Sprintf("no %s for person %s", label, p)}
		}
		out[i] = g
	}
	return out, nil
}

// Ratings are standard-setting judgments: one row per rater (and round).
type Ratings struct {
	File   string
	Items  []string
	Raters []string
	Rounds []int // round of each row; 1 when the file has no round column
	Values *mat.Dense
}

// ReadRatings reads rater,[round,]<item…> with each rating a probability in
// [0, 1] (or 0/1 for Yes/No Angoff).
func ReadRatings(file string, r io.Reader) (*Ratings, error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, err
	}
	rc, roc := t.column("rater"), t.column("round")
	if rc != 0 {
		return nil, &InputError{File: file, Line: 1, Column: 1, Msg: "the first column must be rater"}
	}
	first := 1
	if roc == 1 {
		first = 2
	} else if roc > 1 {
		return nil, &InputError{File: file, Line: 1, Column: roc + 1, Msg: "round must be the second column"}
	}
	if len(t.header) <= first {
		return nil, &InputError{File: file, Line: 1, Msg: "no item columns"}
	}
	out := &Ratings{File: file, Items: t.header[first:], Values: mat.NewDense(len(t.rows), len(t.header)-first, nil)}
	seen := map[string]int{}
	for i, row := range t.rows {
		if row[0] == "" {
			return nil, t.errorf(i, 1, "empty rater id")
		}
		round := 1
		if first == 2 {
			v, err := strconv.Atoi(row[1])
			if err != nil || v < 1 {
				return nil, t.errorf(i, 2, "round %q is not a positive integer", row[1])
			}
			round = v
		}
		id := row[0] + "\x00" + strconv.Itoa(round)
		if prev, dup := seen[id]; dup {
			return nil, t.errorf(i, 1, "rater %s, round %d already on line %d", row[0], round, t.lines[prev])
		}
		seen[id] = i
		out.Raters = append(out.Raters, row[0])
		out.Rounds = append(out.Rounds, round)
		for j, s := range row[first:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
				return nil, t.errorf(i, first+j+1, "item %s: rating %q is not a number in [0, 1]", t.header[first+j], s)
			}
			out.Values.Set(i, j, v)
		}
	}
	return out, nil
}

// ReadNumbers reads the named numeric columns of a CSV file; every cell must
// be a finite number.
func ReadNumbers(file string, r io.Reader, names ...string) ([][]float64, error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, err
	}
	cols := make([]int, len(names))
	for c, name := range names {
		if cols[c] = t.column(name); cols[c] < 0 {
			return nil, &InputError{File: file, Line: 1, Msg: fmt.Sprintf("want a column %q (have %s)", name, strings.Join(t.header, ","))}
		}
	}
	out := make([][]float64, len(names))
	for i, row := range t.rows {
		for c, col := range cols {
			v, err := strconv.ParseFloat(row[col], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, t.errorf(i, col+1, "%s %q is not a number", names[c], row[col])
			}
			out[c] = append(out[c], v)
		}
	}
	return out, nil
}

// ReadScores reads a file with one column "score".
func ReadScores(file string, r io.Reader) ([]float64, error) {
	cols, err := ReadNumbers(file, r, "score")
	if err != nil {
		return nil, err
	}
	return cols[0], nil
}

// ItemParams are IRT item parameters read from a CSV file item,a,b,c (a
// defaults to 1 and c to 0 when the column is absent).
type ItemParams struct {
	Items []string
	A     []float64
	B     []float64
	C     []float64
}

// ReadItemParams reads item,a,b,c; only item and b are required.
func ReadItemParams(file string, r io.Reader) (*ItemParams, error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, err
	}
	ic, ac, bc, cc := t.column("item"), t.column("a"), t.column("b"), t.column("c")
	if ic < 0 || bc < 0 {
		return nil, &InputError{File: file, Line: 1, Msg: "want columns item,a,b,c (a and c optional)"}
	}
	p := &ItemParams{}
	seen := map[string]bool{}
	num := func(i, col int, name string, def float64) (float64, error) {
		if col < 0 {
			return def, nil
		}
		v, err := strconv.ParseFloat(t.rows[i][col], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, t.errorf(i, col+1, "%s %q is not a number", name, t.rows[i][col])
		}
		return v, nil
	}
	for i, row := range t.rows {
		if row[ic] == "" || seen[row[ic]] {
			return nil, t.errorf(i, ic+1, "item id %q is empty or repeated", row[ic])
		}
		seen[row[ic]] = true
		a, err := num(i, ac, "a", 1)
		if err != nil {
			return nil, err
		}
		b, err := num(i, bc, "b", 0)
		if err != nil {
			return nil, err
		}
		c, err := num(i, cc, "c", 0)
		if err != nil {
			return nil, err
		}
		if a <= 0 {
			return nil, t.errorf(i, ac+1, "a %v must be positive", a)
		}
		if c < 0 || c >= 1 {
			return nil, t.errorf(i, cc+1, "c %v must be in [0, 1)", c)
		}
		p.Items = append(p.Items, row[ic])
		p.A, p.B, p.C = append(p.A, a), append(p.B, b), append(p.C, c)
	}
	return p, nil
}

// readFile opens the named file and reads it with read.
func readFile[T any](name string, read func(string, io.Reader) (T, error)) (T, error) {
	f, err := os.Open(name)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return read(name, f)
}

// labelled is a CSV file of one label column followed by numeric columns.
type labelled struct {
	*table
	labels []string
	values [][]float64 // values[c][i]: column c of row i
}

// readLabelled reads a file whose columns include label and the numeric
// columns names; labels must be non-empty and unique.
func readLabelled(file string, r io.Reader, label string, names ...string) (*labelled, error) {
	t, err := readTable(file, r)
	if err != nil {
		return nil, err
	}
	lc := t.column(label)
	if lc < 0 {
		return nil, &InputError{File: file, Line: 1, Msg: fmt.Sprintf("want columns %s,%s", label, strings.Join(names, ","))}
	}
	cols := make([]int, len(names))
	for c, name := range names {
		if cols[c] = t.column(name); cols[c] < 0 {
			return nil, &InputError{File: file, Line: 1, Msg: fmt.Sprintf("want columns %s,%s", label, strings.Join(names, ","))}
		}
	}
	out := &labelled{table: t, values: make([][]float64, len(names))}
	seen := map[string]int{}
	for i, row := range t.rows {
		id := row[lc]
		if id == "" {
			return nil, t.errorf(i, lc+1, "empty %s", label)
		}
		if prev, dup := seen[id]; dup {
			return nil, t.errorf(i, lc+1, "%s %q already on line %d", label, id, t.lines[prev])
		}
		seen[id] = i
		out.labels = append(out.labels, id)
		for c, col := range cols {
			v, err := strconv.ParseFloat(row[col], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, t.errorf(i, col+1, "%s %q is not a number", names[c], row[col])
			}
			out.values[c] = append(out.values[c], v)
		}
	}
	return out, nil
}
