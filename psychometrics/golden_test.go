package psychometrics

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
	"gonum.org/v1/gonum/mat"
)

// The golden files in testdata are produced by the R scripts beside them (see
// each script's header). A value matches its golden when it is within an
// absolute 1e-12 or a relative 1e-9 of it, or both are NaN.
const (
	goldenAbsTol = 1e-12
	goldenRelTol = 1e-9
)

// sameFloat reports whether got matches want within the golden tolerance.
func sameFloat(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return scalar.EqualWithinAbsOrRel(got, want, goldenAbsTol, goldenRelTol)
}

// readRows reads testdata/name as CSV, header included, and fails the test
// unless it has a header and at least one data row.
func readRows(tb testing.TB, name string) [][]string {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if len(rows) < 2 {
		tb.Fatalf("%s: no data rows", name)
	}
	return rows
}

// readRecords reads testdata/name as CSV and returns its rows as maps keyed by
// the header.
func readRecords(tb testing.TB, name string) []map[string]string {
	tb.Helper()
	rows := readRows(tb, name)
	out := make([]map[string]string, 0, len(rows)-1)
	for _, row := range rows[1:] {
		rec := make(map[string]string, len(row))
		for i, h := range rows[0] {
			rec[h] = row[i]
		}
		out = append(out, rec)
	}
	return out
}

// readMatrix reads testdata/name, a CSV with a header row and one numeric row
// per person ("NA" for not administered), as a matrix with NaN for NA.
func readMatrix(tb testing.TB, name string) *mat.Dense {
	tb.Helper()
	rows := readRows(tb, name)
	rows = rows[1:]
	k := len(rows[0])
	data := make([]float64, 0, len(rows)*k)
	for i, row := range rows {
		for j, s := range row {
			if s == "NA" {
				data = append(data, math.NaN())
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				tb.Fatalf("%s: row %d, column %d: %v", name, i+2, j+1, err)
			}
			data = append(data, v)
		}
	}
	return mat.NewDense(len(rows), k, data)
}

// number parses a golden field; "NA" and "NaN" are NaN.
func number(tb testing.TB, s string) float64 {
	tb.Helper()
	if s == "NA" || s == "NaN" {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("golden field %q: %v", s, err)
	}
	return v
}

// integer parses an integer golden field.
func integer(tb testing.TB, s string) int {
	tb.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatalf("golden field %q: %v", s, err)
	}
	return v
}

// mustPanic fails the test unless f panics.
func mustPanic(tb testing.TB, f func()) {
	tb.Helper()
	defer func() {
		if recover() == nil {
			tb.Errorf("did not panic")
		}
	}()
	f()
}
