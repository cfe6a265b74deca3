package psychometrics

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// kbScale converts Kolen & Brennan's published a parameters (D = 1.7) to the
// package's D = 1 metric.
const kbScale = 1.7

// stockingLordTol is the relative tolerance of the Stocking–Lord constants
// against R's optim(), both iterative minimisations (they agree to about
// 1e-10).
const stockingLordTol = 1e-7

// equateForms reads the x and y forms of an equate_*.csv item file, with a
// multiplied by scale.
func equateForms(tb testing.TB, file string, scale float64) (x, y []Item3PL) {
	tb.Helper()
	for _, r := range readRecords(tb, file) {
		x = append(x, Item3PL{A: scale * number(tb, r["a_x"]), B: number(tb, r["b_x"]), C: number(tb, r["c_x"])})
		y = append(y, Item3PL{A: scale * number(tb, r["a_y"]), B: number(tb, r["b_y"]), C: number(tb, r["c_y"])})
	}
	return x, y
}

// equatePublished returns testdata/equate_published.csv as maps from name
// to value and to tolerance.
func equatePublished(tb testing.TB) (value map[string]float64, tol map[string]float64) {
	tb.Helper()
	value, tol = make(map[string]float64), make(map[string]float64)
	for _, r := range readRecords(tb, "equate_published.csv") {
		value[r["name"]] = number(tb, r["value"])
		tol[r["name"]] = number(tb, r["tolerance"])
	}
	return value, tol
}

var linkingSets = []struct {
	name, file string
	scale      float64
}{
	{"kb", "equate_kb_common.csv", kbScale},
	{"sim", "equate_common.csv", 1},
}

func TestMeanMeanMeanSigmaGolden(t *testing.T) {
	want := stdGoldenMap(t, "equate_golden.csv")
	for _, set := range linkingSets {
		t.Run(set.name, func(t *testing.T) {
			src, tgt := equateForms(t, set.file, set.scale)
			mm := MeanMean(src, tgt)
			stdCheckGolden(t, want, set.name+"_meanmean_A", mm.A)
			stdCheckGolden(t, want, set.name+"_meanmean_B", mm.B)
			ms := MeanSigma(src, tgt)
			stdCheckGolden(t, want, set.name+"_meansigma_A", ms.A)
			stdCheckGolden(t, want, set.name+"_meansigma_B", ms.B)
		})
	}
}

func TestLinkingPublished(t *testing.T) {
	value, tol := equatePublished(t)
	src, tgt := equateForms(t, "equate_kb_common.csv", kbScale)
	mm, ms := MeanMean(src, tgt), MeanSigma(src, tgt)
	for _, c := range []struct {
		name string
		got  float64
	}{
		{"kb_meanmean_A", mm.A}, {"kb_meanmean_B", mm.B},
		{"kb_meansigma_A", ms.A}, {"kb_meansigma_B", ms.B},
	} {
		if w := value[c.name]; math.Abs(c.got-w) > tol[c.name] {
			t.Errorf("%s: got %.6f, want Kolen & Brennan's %.4f", c.name, c.got, w)
		}
	}
}

func TestStockingLordGolden(t *testing.T) {
	want := stdGoldenMap(t, "equate_golden.csv")
	grids := []struct {
		name     string
		settings *StockingLordSettings
	}{
		{"normal61", nil},
		{"uniform41", func() *StockingLordSettings {
			q := Quadrature{}
			for i := range 41 {
				q.Nodes = append(q.Nodes, -4+0.2*float64(i))
				q.Weights = append(q.Weights, 1.0/41)
			}
			return &StockingLordSettings{Quadrature: q}
		}()},
	}
	for _, set := range linkingSets {
		src, tgt := equateForms(t, set.file, set.scale)
		for _, grid := range grids {
			t.Run(set.name+"/"+grid.name, func(t *testing.T) {
				got, err := StockingLord(src, tgt, grid.settings)
				if err != nil {
					t.Fatalf("StockingLord: %v", err)
				}
				pre := set.name + "_sl_" + grid.name + "_"
				for _, c := range []struct {
					name string
					got  float64
				}{{pre + "A", got.A}, {pre + "B", got.B}} {
					if w := stdGoldenNumber(t, want, c.name); !stdWithinRel(c.got, w, stockingLordTol) {
						t.Errorf("%s: got %.10g, want %.10g", c.name, c.got, w)
					}
				}
			})
		}
	}
}

func TestStockingLordRecoversTransformation(t *testing.T) {
	// Source estimates that are exactly the target items moved to another
	// scale give back that scale's constants, whatever the start.
	_, tgt := equateForms(t, "equate_common.csv", 1)
	want := Linking{A: 0.8, B: 0.6}
	inverse := Linking{A: 1 / want.A, B: -want.B / want.A}
	src := inverse.Items(tgt)
	for _, start := range []*Linking{nil, {A: 1, B: 0}, {A: 2, B: -1}} {
		got, err := StockingLord(src, tgt, &StockingLordSettings{Start: start})
		if err != nil {
			t.Fatalf("start %v: %v", start, err)
		}
		if math.Abs(got.A-want.A) > 1e-8 || math.Abs(got.B-want.B) > 1e-8 {
			t.Errorf("start %v: got %+v, want %+v", start, got, want)
		}
	}
}

func TestStockingLordPanics(t *testing.T) {
	items := []Item3PL{{A: 1, B: 0}, {A: 1.2, B: 1}}
	mustPanic(t, func() { _, _ = StockingLord(nil, nil, nil) })
	mustPanic(t, func() { _, _ = StockingLord(items, items[:1], nil) })
	mustPanic(t, func() { _, _ = StockingLord([]Item3PL{{A: -1}, {A: 1}}, items, nil) })
	mustPanic(t, func() {
		_, _ = StockingLord(items, items, &StockingLordSettings{Quadrature: Quadrature{Nodes: []float64{0}}})
	})
	mustPanic(t, func() { _, _ = StockingLord(items, items, &StockingLordSettings{Start: &Linking{A: 0}}) })
	mustPanic(t, func() { MeanMean(nil, nil) })
	mustPanic(t, func() { MeanSigma(items, items[:1]) })
}

func TestMeanSigmaUndefined(t *testing.T) {
	got := MeanSigma([]Item3PL{{A: 1, B: 0.5}}, []Item3PL{{A: 1, B: 0}})
	if !math.IsNaN(got.A) || !math.IsNaN(got.B) {
		t.Errorf("one common item: got %+v, want NaN", got)
	}
}

func TestLinkingTransform(t *testing.T) {
	l := Linking{A: 1.3, B: -0.7}
	it := Item3PL{A: 1.1, B: 0.4, C: 0.2}
	got := l.Item(it)
	if want := (Item3PL{A: 1.1 / 1.3, B: 1.3*0.4 - 0.7, C: 0.2}); !sameFloat(got.A, want.A) || !sameFloat(got.B, want.B) || got.C != want.C {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// The response function is invariant: P*(Aθ + B) = P(θ).
	for _, th := range []float64{-3, -0.5, 0, 1.2, 4} {
		if p, q := it.P(th), got.P(l.Theta(th)); !sameFloat(q, p) {
			t.Errorf("θ %v: got P %v on the target scale, want %v", th, q, p)
		}
	}
	items := l.Items([]Item3PL{it, {A: 0.5, B: -1}})
	if len(items) != 2 || items[0] != got {
		t.Errorf("got Items %+v, want the first to be %+v", items, got)
	}
}

func TestTrueScoreEquatingGolden(t *testing.T) {
	want := stdGoldenMap(t, "equate_golden.csv")
	kbX, kbY := equateForms(t, "equate_kb_forms.csv", kbScale)
	simX, simY := equateForms(t, "equate_common.csv", 1)
	simX = MeanSigma(simX, simY).Items(simX)
	for _, set := range []struct {
		name string
		x, y []Item3PL
	}{{"kb", kbX, kbY}, {"sim", simX, simY}} {
		t.Run(set.name, func(t *testing.T) {
			got := TrueScoreEquating(set.x, set.y)
			if len(got.Equated) != len(set.x)+1 || len(got.Theta) != len(set.x)+1 {
				t.Fatalf("got %d equivalents and %d thetas, want %d", len(got.Equated), len(got.Theta), len(set.x)+1)
			}
			for x := range got.Equated {
				stdCheckGolden(t, want, fmt.Sprintf("%s_tse_eq_%d", set.name, x), got.Equated[x])
				stdCheckGolden(t, want, fmt.Sprintf("%s_tse_theta_%d", set.name, x), got.Theta[x])
			}
		})
	}
}

func TestTrueScoreEquatingPublished(t *testing.T) {
	value, tol := equatePublished(t)
	x, y := equateForms(t, "equate_kb_forms.csv", kbScale)
	got := TrueScoreEquating(x, y)
	for s := range got.Equated {
		name := fmt.Sprintf("kb_tse_eq_%d", s)
		if w := value[name]; math.Abs(got.Equated[s]-w) > tol[name] {
			t.Errorf("x = %d: got equivalent %.6f, want PolyEquate's %.6f", s, got.Equated[s], w)
		}
		name = fmt.Sprintf("kb_tse_theta_%d", s)
		w := value[name]
		if math.IsNaN(w) != math.IsNaN(got.Theta[s]) || math.Abs(got.Theta[s]-w) > tol[name] {
			t.Errorf("x = %d: got θ %.6f, want PolyEquate's %.6f", s, got.Theta[s], w)
		}
	}
}

func TestTrueScoreEquating(t *testing.T) {
	x, y := equateForms(t, "equate_kb_forms.csv", kbScale)
	t.Run("a form equated to itself", func(t *testing.T) {
		got := TrueScoreEquating(x, x)
		for s, e := range got.Equated {
			if !sameFloat(e, float64(s)) {
				t.Errorf("x = %d: got %v, want %d", s, e, s)
			}
		}
	})
	t.Run("increasing", func(t *testing.T) {
		got := TrueScoreEquating(x, y)
		for s := 1; s < len(got.Equated); s++ {
			if !(got.Equated[s] > got.Equated[s-1]) {
				t.Errorf("x = %d: got %v after %v, want an increase", s, got.Equated[s], got.Equated[s-1])
			}
		}
	})
	t.Run("2PL forms", func(t *testing.T) {
		// Without guessing only 0 and n_X lack a θ; the θ solves τ_X(θ) = x.
		fx := []Item3PL{{A: 1, B: -1}, {A: 1.5, B: 0}, {A: 0.7, B: 1}}
		fy := []Item3PL{{A: 1, B: 0}, {A: 1, B: 0.5}, {A: 1.2, B: 1}, {A: 1, B: 2}}
		got := TrueScoreEquating(fx, fy)
		if got.Equated[0] != 0 || got.Equated[3] != 4 || !math.IsNaN(got.Theta[0]) || !math.IsNaN(got.Theta[3]) {
			t.Errorf("got ends %v, %v (θ %v, %v); want 0, 4 (NaN, NaN)", got.Equated[0], got.Equated[3], got.Theta[0], got.Theta[3])
		}
		for s := 1; s <= 2; s++ {
			if tau := TrueScore(fx, got.Theta[s]); !sameFloat(tau, float64(s)) {
				t.Errorf("x = %d: got τ_X(θ) = %v", s, tau)
			}
			if w := TrueScore(fy, got.Theta[s]); !sameFloat(got.Equated[s], w) {
				t.Errorf("x = %d: got %v, want τ_Y(θ) = %v", s, got.Equated[s], w)
			}
		}
	})
	mustPanic(t, func() { TrueScoreEquating(nil, y) })
	mustPanic(t, func() { TrueScoreEquating(x, []Item3PL{{A: 1, C: 1}}) })
}

func TestEquipercentileGolden(t *testing.T) {
	want := stdGoldenMap(t, "equate_golden.csv")
	fx := stdColumn(t, "equate_freq.csv", "freq_x")
	fy := stdColumn(t, "equate_freq.csv", "freq_y")
	got, err := Equipercentile(fx, fy)
	if err != nil {
		t.Fatalf("Equipercentile: %v", err)
	}
	for x, e := range got {
		stdCheckGolden(t, want, fmt.Sprintf("eqp_%d", x), e)
	}
}

func TestEquipercentilePublished(t *testing.T) {
	value, tol := equatePublished(t)
	got, err := Equipercentile([]float64{0.2, 0.3, 0.2, 0.2, 0.1}, []float64{0.1, 0.2, 0.2, 0.3, 0.2})
	if err != nil {
		t.Fatalf("Equipercentile: %v", err)
	}
	for x, e := range got {
		name := fmt.Sprintf("kb_small_eqp_%d", x)
		if w := value[name]; math.Abs(e-w) > tol[name] {
			t.Errorf("x = %d: got %.6f, want Kolen & Brennan's %.4f", x, e, w)
		}
	}
}

func TestEquipercentile(t *testing.T) {
	tests := []struct {
		name   string
		fx, fy []float64
		want   []float64
	}{
		{"same distribution", []float64{1, 2, 3, 2}, []float64{2, 4, 6, 4}, []float64{0, 1, 2, 3}},
		// Uniform Y on 0..3: e_Y(x) = 4·P(x) − ½.
		{"uniform form Y", []float64{1, 1}, []float64{1, 1, 1, 1}, []float64{0.5, 2.5}},
		{"nobody at the top of X", []float64{1, 1, 0}, []float64{1, 1}, []float64{0, 1, 1.5}},
		{"nobody at the bottom of X", []float64{0, 1, 1}, []float64{1, 1}, []float64{-0.5, 0, 1}},
		// G = 0.5, 0.5, 1: P(1) = 0.5 takes the upper score 2.
		{"a score nobody obtained on Y", []float64{1, 0, 1}, []float64{1, 0, 1}, []float64{0, 1.5, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Equipercentile(tt.fx, tt.fy)
			if err != nil {
				t.Fatalf("Equipercentile: %v", err)
			}
			for x := range got {
				if !sameFloat(got[x], tt.want[x]) {
					t.Errorf("x = %d: got %v, want %v", x, got[x], tt.want[x])
				}
			}
		})
	}
}

func TestEquipercentileErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fx, fy []float64
	}{
		{"negative", []float64{1, -1}, []float64{1, 1}},
		{"NaN", []float64{1, 1}, []float64{math.NaN(), 1}},
		{"infinite", []float64{math.Inf(1), 1}, []float64{1, 1}},
		{"no observations", []float64{1, 1}, []float64{0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Equipercentile(tt.fx, tt.fy); !errors.Is(err, ErrInvalidFrequency) {
				t.Errorf("got error %v, want %v", err, ErrInvalidFrequency)
			}
		})
	}
	mustPanic(t, func() { _, _ = Equipercentile(nil, []float64{1}) })
	mustPanic(t, func() { _, _ = Equipercentile([]float64{1}, nil) })
}

func BenchmarkStockingLord(b *testing.B) {
	src, tgt := equateForms(b, "equate_kb_common.csv", kbScale)
	for b.Loop() {
		if _, err := StockingLord(src, tgt, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMeanSigma(b *testing.B) {
	src, tgt := equateForms(b, "equate_kb_common.csv", kbScale)
	for b.Loop() {
		MeanSigma(src, tgt)
	}
}

func BenchmarkTrueScoreEquating(b *testing.B) {
	x, y := equateForms(b, "equate_kb_forms.csv", kbScale)
	for b.Loop() {
		TrueScoreEquating(x, y)
	}
}

func BenchmarkEquipercentile(b *testing.B) {
	fx := stdColumn(b, "equate_freq.csv", "freq_x")
	fy := stdColumn(b, "equate_freq.csv", "freq_y")
	for b.Loop() {
		if _, err := Equipercentile(fx, fy); err != nil {
			b.Fatal(err)
		}
	}
}
