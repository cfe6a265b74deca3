package psych

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestReadScored(t *testing.T) {
	in := "person,i1,i2,i3\np1,1,0,NA\np2, 0 ,1,\n\np3,2,1,0\n"
	got, err := ReadScored("x.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Persons, ",") != "p1,p2,p3" || strings.Join(got.Items, ",") != "i1,i2,i3" {
		t.Fatalf("got persons %v items %v", got.Persons, got.Items)
	}
	if v := got.Scores.At(2, 0); v != 2 {
		t.Errorf("partial credit cell: got %v, want 2", v)
	}
	if !math.IsNaN(got.Scores.At(0, 2)) || !math.IsNaN(got.Scores.At(1, 2)) {
		t.Errorf("NA and empty cells must be NaN")
	}
}

func TestReadScoredWithoutPersonColumn(t *testing.T) {
	got, err := ReadScored("x.csv", strings.NewReader("a,b\n1,0\n0,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Persons, ",") != "1,2" || strings.Join(got.Items, ",") != "a,b" {
		t.Errorf("got persons %v items %v", got.Persons, got.Items)
	}
}

func TestInputErrorsNameFileLineAndColumn(t *testing.T) {
	tests := []struct {
		name string
		read func(string) error
		want string
	}{
		{"bad score", func(in string) error { _, err := ReadScored("s.csv", strings.NewReader(in)); return err },
			"s.csv:3:2: item i2: \"x\" is not a score"},
		{"short row", func(in string) error { _, err := ReadScored("s.csv", strings.NewReader("i1,i2\n1,0\n1\n")); return err },
			"s.csv:3: 1 fields, header has 2"},
		{"duplicate person", func(string) error {
			_, err := ReadScored("s.csv", strings.NewReader("person,i1\np,1\np,0\n"))
			return err
		}, "s.csv:3:1: person \"p\" already on line 2"},
		{"rating out of range", func(string) error {
			_, err := ReadRatings("r.csv", strings.NewReader("rater,i1,i2\nA,0.5,1.5\n"))
			return err
		}, "r.csv:2:3: item i2: rating \"1.5\" is not a number in [0, 1]"},
		{"missing key", func(string) error {
			_, err := ReadKey("k.csv", strings.NewReader("item,key\ni1,A\n"), []string{"i1", "i2"})
			return err
		}, "k.csv: no key for item i2"},
		{"empty file", func(string) error { _, err := ReadScores("e.csv", strings.NewReader("")); return err },
			"e.csv: empty file"},
		{"not a number", func(string) error { _, err := ReadScores("e.csv", strings.NewReader("score\n3\nten\n")); return err },
			"e.csv:3:1: score \"ten\" is not a number"},
		{"unbalanced quote", func(string) error { _, err := ReadScores("q.csv", strings.NewReader("score\n\"3\n")); return err },
			"q.csv:2"},
	}
	in := "i1,i2\n1,0\n1,x\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.read(in)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an *InputError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

func TestReadGroups(t *testing.T) {
	persons := []string{"p1", "p2"}
	got, err := ReadGroups("g.csv", strings.NewReader("person,group\np2,F\np1,R\n"), persons)
	if err != nil || got[0] != "R" || got[1] != "F" {
		t.Errorf("by person: got %v, %v; want [R F]", got, err)
	}
	got, err = ReadGroups("g.csv", strings.NewReader("group\nF\nR\n"), persons)
	if err != nil || got[0] != "F" || got[1] != "R" {
		t.Errorf("by row: got %v, %v; want [F R]", got, err)
	}
	if _, err := ReadGroups("g.csv", strings.NewReader("group\nF\n"), persons); err == nil {
		t.Error("row count mismatch: got no error")
	}
}

func TestReadRatingsRounds(t *testing.T) {
	got, err := ReadRatings("r.csv", strings.NewReader("rater,round,i1,i2\nA,1,0.5,0.6\nA,2,0.55,0.6\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Rounds[0] != 1 || got.Rounds[1] != 2 || got.Values.At(1, 0) != 0.55 {
		t.Errorf("got rounds %v, values %v", got.Rounds, got.Values.RawMatrix().Data)
	}
}

// The readers must never panic and must either fail with an *InputError or
// return data of consistent shape, whatever the bytes.
func FuzzReadScored(f *testing.F) {
	f.Add("person,i1,i2\np1,1,0\np2,NA,1\n")
	f.Add("i1\n\"1\n")
	f.Add("\ufeffa,b\n1,2\n,\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadScored("f.csv", strings.NewReader(in))
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %T %v, want *InputError", err, err)
			}
			return
		}
		r, c := got.Scores.Dims()
		if r != len(got.Persons) || c != len(got.Items) {
			t.Fatalf("shape %d×%d, persons %d, items %d", r, c, len(got.Persons), len(got.Items))
		}
	})
}

func FuzzReadRaw(f *testing.F) {
	f.Add("person,i1,i2\np1,A,B\np2,,c\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadRaw("f.csv", strings.NewReader(in))
		if err != nil {
			return
		}
		for _, row := range got.Choices {
			if len(row) != len(got.Items) {
				t.Fatalf("row of %d choices, %d items", len(row), len(got.Items))
			}
		}
	})
}

func FuzzReadRatings(f *testing.F) {
	f.Add("rater,round,i1\nA,1,0.5\n")
	f.Add("rater,i1,i2\nA,1,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadRatings("f.csv", strings.NewReader(in))
		if err != nil {
			return
		}
		r, c := got.Values.Dims()
		if r != len(got.Raters) || r != len(got.Rounds) || c != len(got.Items) {
			t.Fatalf("inconsistent shape")
		}
		for _, v := range got.Values.RawMatrix().Data {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("rating %v out of range", v)
			}
		}
	})
}

func FuzzReadItemParams(f *testing.F) {
	f.Add("item,a,b,c\ni1,1.2,-0.5,0.2\n")
	f.Add("item,b\ni1,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadItemParams("f.csv", strings.NewReader(in))
		if err != nil {
			return
		}
		for j := range got.Items {
			if !(got.A[j] > 0) || !(got.C[j] >= 0 && got.C[j] < 1) || math.IsNaN(got.B[j]) {
				t.Fatalf("item %d: invalid parameters accepted", j)
			}
		}
	})
}

func FuzzReadKeyAndGroups(f *testing.F) {
	f.Add("item,key\ni1,A\ni2,b\n", "person,group\np1,F\np2,R\n")
	f.Fuzz(func(t *testing.T, key, groups string) {
		items := []string{"i1", "i2"}
		if got, err := ReadKey("k.csv", strings.NewReader(key), items); err == nil && len(got) != len(items) {
			t.Fatalf("got %d keys for %d items", len(got), len(items))
		}
		persons := []string{"p1", "p2"}
		if got, err := ReadGroups("g.csv", strings.NewReader(groups), persons); err == nil && len(got) != len(persons) {
			t.Fatalf("got %d groups for %d persons", len(got), len(persons))
		}
	})
}
