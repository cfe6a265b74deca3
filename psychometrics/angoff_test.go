package psychometrics

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestAngoffGolden(t *testing.T) {
	want := make(map[string]string)
	for _, rec := range readRecords(t, "angoff_golden.csv") {
		want[rec["name"]] = rec["value"]
	}
	got, err := Angoff(readMatrix(t, "angoff_ratings.csv"))
	if err != nil {
		t.Fatalf("Angoff: %v", err)
	}
	if w := integer(t, want["panelists"]); got.Panelists != w {
		t.Errorf("got Panelists %d, want %d", got.Panelists, w)
	}
	if w := integer(t, want["items"]); got.Items != w {
		t.Errorf("got Items %d, want %d", got.Items, w)
	}
	if w := number(t, want["cut"]); !sameFloat(got.Cut, w) {
		t.Errorf("got Cut %.17g, want %.17g", got.Cut, w)
	}
	if w := number(t, want["se"]); !sameFloat(got.SE, w) {
		t.Errorf("got SE %.17g, want %.17g", got.SE, w)
	}
	if len(got.PanelistCuts) != got.Panelists {
		t.Fatalf("got %d panelist cuts, want %d", len(got.PanelistCuts), got.Panelists)
	}
	for i, c := range got.PanelistCuts {
		if w := number(t, want[fmt.Sprintf("panelist_%d", i+1)]); !sameFloat(c, w) {
			t.Errorf("panelist %d: got cut %.17g, want %.17g", i+1, c, w)
		}
	}
}

func TestAngoff(t *testing.T) {
	tests := []struct {
		name     string
		rows     int
		ratings  []float64
		cut, se  float64
		panelist []float64
	}{
		{
			name: "two panelists",
			rows: 2,
			ratings: []float64{
				0.5, 0.75, 1,
				0.25, 0.5, 0.75,
			},
			// Cuts 2.25 and 1.5: mean 1.875, SD √0.28125, SE 0.375.
			cut: 1.875, se: 0.375, panelist: []float64{2.25, 1.5},
		},
		{
			name:    "one panelist has no standard error",
			rows:    1,
			ratings: []float64{0, 0.4, 1},
			cut:     1.4, se: math.NaN(), panelist: []float64{1.4},
		},
		{
			name:    "unanimous panel",
			rows:    3,
			ratings: []float64{0.6, 0.7, 0.6, 0.7, 0.6, 0.7},
			cut:     1.3, se: 0, panelist: []float64{1.3, 1.3, 1.3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Angoff(mat.NewDense(tt.rows, len(tt.ratings)/tt.rows, tt.ratings))
			if err != nil {
				t.Fatalf("Angoff: %v", err)
			}
			if !sameFloat(got.Cut, tt.cut) {
				t.Errorf("got Cut %v, want %v", got.Cut, tt.cut)
			}
			if !sameFloat(got.SE, tt.se) {
				t.Errorf("got SE %v, want %v", got.SE, tt.se)
			}
			for i, c := range got.PanelistCuts {
				if !sameFloat(c, tt.panelist[i]) {
					t.Errorf("panelist %d: got cut %v, want %v", i, c, tt.panelist[i])
				}
			}
		})
	}
}

func TestAngoffInvalidRating(t *testing.T) {
	tests := []struct {
		name   string
		rating float64
	}{
		{"missing", math.NaN()},
		{"above one", 1.2},
		{"below zero", -0.1},
		{"infinite", math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := mat.NewDense(2, 3, []float64{0.5, 0.6, 0.7, 0.5, 0.6, 0.7})
			x.Set(1, 2, tt.rating)
			_, err := Angoff(x)
			if !errors.Is(err, ErrInvalidRating) {
				t.Fatalf("got error %v, want %v", err, ErrInvalidRating)
			}
			if !strings.Contains(err.Error(), "panelist 1, item 2") {
				t.Errorf("got error %q, want it to name panelist 1, item 2", err)
			}
		})
	}
}

func TestAngoffPanics(t *testing.T) {
	mustPanic(t, func() { _, _ = Angoff(&mat.Dense{}) })
}
