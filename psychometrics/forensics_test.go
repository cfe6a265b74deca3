package psychometrics

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestPoissonBinomialTailEnumeration(t *testing.T) {
	p := []float64{0.2, 0.5, 0.9}
	// Enumerate the 8 outcomes: P(M ≥ m) by brute force.
	var want [5]float64
	for mask := range 8 {
		prob, m := 1.0, 0
		for j, pj := range p {
			if mask&(1<<j) != 0 {
				prob *= pj
				m++
			} else {
				prob *= 1 - pj
			}
		}
		for t := 0; t <= m; t++ {
			want[t] += prob
		}
	}
	// By hand: P(M = 3) = 0.2·0.5·0.9 = 0.09; P(M ≥ 2) adds
	// 0.2·0.5·0.1 + 0.2·0.5·0.9 + 0.8·0.5·0.9 = 0.01 + 0.09 + 0.36.
	if math.Abs(want[3]-0.09) > 1e-15 || math.Abs(want[2]-0.55) > 1e-15 {
		t.Fatalf("enumeration: P(M≥3) = %v, P(M≥2) = %v, want 0.09, 0.55", want[3], want[2])
	}
	for m := -1; m <= 4; m++ {
		w := 1.0
		if m >= 0 {
			w = want[m]
		}
		if got := PoissonBinomialTail(p, m); math.Abs(got-w) > 1e-15 {
			t.Errorf("PoissonBinomialTail(%v, %d) = %v, want %v", p, m, got, w)
		}
	}
	// A tiny tail keeps its relative accuracy: 40 items at p = 0.01, all match.
	p40 := make([]float64, 40)
	for j := range p40 {
		p40[j] = 0.01
	}
	if got, w := PoissonBinomialTail(p40, 40), 1e-80; math.Abs(got/w-1) > 1e-12 {
		t.Errorf("P(M ≥ 40) = %v, want %v", got, w)
	}
}

func TestFitResponseTimesByHand(t *testing.T) {
	// ln t = [[1,2],[2,4],[3,3]]: β = column means (2, 3); person means
	// 1.5, 3, 3 around the grand mean 2.5 give τ = (1, −0.5, −0.5);
	// residuals (0, 0), (−0.5, 0.5), (0.5, −0.5), so α_j = √(3/0.5) = √6.
	logs := []float64{1, 2, 2, 4, 3, 3}
	times := mat.NewDense(3, 2, nil)
	for c, v := range logs {
		times.Set(c/2, c%2, math.Exp(v))
	}
	fit, err := FitResponseTimes(times)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want []float64) {
		t.Helper()
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-9 {
				t.Errorf("%s = %v, want %v", name, got, want)
				return
			}
		}
	}
	check("Beta", fit.Beta, []float64{2, 3})
	check("Tau", fit.Tau, []float64{1, -0.5, -0.5})
	check("Alpha", fit.Alpha, []float64{math.Sqrt(6), math.Sqrt(6)})
	check("Median", fit.Median, []float64{math.Exp(2), math.Exp(3)})
	s6 := math.Sqrt(6)
	check("Residual", fit.Residual.RawMatrix().Data, []float64{0, 0, -0.5 * s6, 0.5 * s6, 0.5 * s6, -0.5 * s6})

	times.Set(0, 0, math.NaN())
	times.Set(1, 0, math.NaN())
	if _, err := FitResponseTimes(times); err != ErrTooFewTimes {
		t.Errorf("one time on an item: err = %v, want ErrTooFewTimes", err)
	}
}

// forensicsExam is a simulated exam with planted cheaters.
type forensicsExam struct {
	in       ForensicsInput
	copier   [2]int // source, copier
	preknow  []int
	rapid    []int
	cheaters map[int]bool
	copied   []int // the items the copier copied
}

// simulateForensicsExam simulates n candidates on k four-option 3PL items
// (a ~ U(0.8, 2), b ~ N(0, 1), c = 0.2; θ ~ N(0, 1)) with lognormal times
// (β ~ N(4, 0.3²) ≈ 55 s, 1/α ~ U(0.3, 0.5), τ ~ N(0, 0.3²)). A wrong
// answer picks a distractor by item-specific attractiveness, so wrong
// answers agree more often than at random. Candidates sit in windows of
// 100, start within the window's first minute and answer the items in
// order, which gives the answer times (AnsweredAt). Planted: a copier of
// below-average ability (θ < −0.5, the candidate who has a reason to copy)
// who copies 60% of the answers of a source in the same window as the
// source gives them — the copier answers a copied item when the source's
// answer arrives (a relay lag of median 20 s, log-SD 0.5) or, when behind,
// once they have read it (median 10 s), and the time on the item is what
// the copier spent, waiting included; 5 candidates who know the same 25%
// of the items (correct, at a quarter of their usual time); 10 rapid
// guessers (random answers in 1–4 s).
func simulateForensicsExam(rng *rand.Rand, n, k int) forensicsExam {
	items := make([]Item3PL, k)
	beta := make([]float64, k)
	sigma := make([]float64, k)
	key := make([]int, k)
	attract := make([][3]float64, k)
	for j := range k {
		items[j] = Item3PL{A: 0.8 + 1.2*rng.Float64(), B: rng.NormFloat64(), C: 0.2}
		beta[j] = 4 + 0.3*rng.NormFloat64()
		sigma[j] = 0.3 + 0.2*rng.Float64()
		key[j] = rng.IntN(4)
		var s float64
		for d := range 3 {
			attract[j][d] = 0.2 + rng.Float64()
			s += attract[j][d]
		}
		for d := range 3 {
			attract[j][d] /= s
		}
	}
	letters := []string{"A", "B", "C", "D"}
	scored := mat.NewDense(n, k, nil)
	times := mat.NewDense(n, k, nil)
	choices := make([][]string, n)
	opt := make([][]int, n)
	thetas := make([]float64, n)
	windows := make([]string, n)
	for i := range n {
		theta, tau := rng.NormFloat64(), 0.3*rng.NormFloat64()
		thetas[i] = theta
		windows[i] = fmt.Sprintf("W%02d", i*10/n)
		opt[i] = make([]int, k)
		for j := range k {
			o := key[j]
			if rng.Float64() >= items[j].P(theta) {
				u, d := rng.Float64(), 0
				for d < 2 && u >= attract[j][d] {
					u -= attract[j][d]
					d++
				}
				o = (key[j] + 1 + d) % 4
			}
			opt[i][j] = o
			times.Set(i, j, math.Exp(beta[j]-tau+sigma[j]*rng.NormFloat64()))
		}
	}
	perm := rng.Perm(n)
	// Move a low-ability candidate to the front as the copier, and take the
	// source from the copier's window.
	for x, i := range perm {
		if thetas[i] < -0.5 {
			perm[0], perm[x] = perm[x], perm[0]
			break
		}
	}
	for x, i := range perm[1:] {
		if windows[i] == windows[perm[0]] {
			perm[1], perm[x+1] = perm[x+1], perm[1]
			break
		}
	}
	ex := forensicsExam{copier: [2]int{perm[1], perm[0]}, preknow: perm[2:7], rapid: perm[7:17], cheaters: map[int]bool{}}
	for _, i := range perm[:17] {
		ex.cheaters[i] = true
	}
	src, cop := ex.copier[0], ex.copier[1]
	ex.copied = rng.Perm(k)[:k*60/100]
	for _, j := range ex.copied {
		opt[cop][j] = opt[src][j]
	}
	compromised := rng.Perm(k)[:k/4]
	for _, i := range ex.preknow {
		for _, j := range compromised {
			opt[i][j] = key[j]
			times.Set(i, j, times.At(i, j)/4)
		}
	}
	for _, i := range ex.rapid {
		for j := range k {
			opt[i][j] = rng.IntN(4)
			times.Set(i, j, 1+3*rng.Float64())
		}
	}
	for i := range n {
		choices[i] = make([]string, k)
		for j := range k {
			choices[i][j] = letters[opt[i][j]]
			if opt[i][j] == key[j] {
				scored.Set(i, j, 1)
			}
		}
	}
	answered := mat.NewDense(n, k, nil)
	for i := range n {
		clock := 60 * rng.Float64()
		for j := range k {
			clock += times.At(i, j)
			answered.Set(i, j, clock)
		}
	}
	copied := make([]bool, k)
	for _, j := range ex.copied {
		copied[j] = true
	}
	clock := answered.At(cop, 0) - times.At(cop, 0) // the copier's start
	for j := range k {
		if copied[j] {
			read, lag := 10*math.Exp(0.5*rng.NormFloat64()), 20*math.Exp(0.5*rng.NormFloat64())
			next := math.Max(clock+read, answered.At(src, j)+lag)
			times.Set(cop, j, next-clock)
			clock = next
		} else {
			clock += times.At(cop, j)
		}
		answered.Set(cop, j, clock)
	}
	ex.in = ForensicsInput{Scored: scored, Items: items, Times: times, Choices: choices, Windows: windows, AnsweredAt: answered}
	return ex
}

// forensicsReps is the number of simulated exams TestForensicsPlantedCheaters
// runs (about 0.8 s each); more measure the rates more precisely:
//
//	go test ./psychometrics -run ForensicsPlanted -v -args -forensics.reps=40
//
// (at 40, replication 29 ranks a preknowledge candidate 21st, as it did
// before answer times were used).
var forensicsReps = flag.Int("forensics.reps", 10, "replications of TestForensicsPlantedCheaters")

// TestForensicsPlantedCheaters runs Forensics on simulated exams with
// planted cheaters and measures detection and false-positive rates at
// α = 0.001. Preknowledge and rapid guessing must rank in the top 20 of
// 1,000 every time and be flagged in at least 95% of cases (measured: 49 of
// 50 preknowledge candidates at 10 replications, the other ranked 19th).
// Copying is held to the same standard when the pair's answers carry the
// evidence (GBT p < 1e-6), and the copier pair must be in the top 20 in at
// least 60% of the replications (measured with the answer times: 8 of 10,
// 34 of 40; without them 7 of 10, 28 of 40). A copier who copies 60% of a
// strong source's answers on 40 items often matches only a few more than
// expected — nearly all the copied answers are correct and the copier's
// own score rises with them — and the copier's own answers, the only
// evidence of their ability, are too few to tell a weak copier from an
// able honest candidate: on the answers alone even the likelihood-ratio
// test of the copying model at the true item parameters does not separate
// replications 4 and 9 from the honest pairs of their window. The answer
// times bring in replication 4; in 1 and 9 the copier's answers away from
// the source are still too few.
func TestForensicsPlantedCheaters(t *testing.T) {
	const (
		n, k  = 1000, 40
		alpha = 0.001
		top   = 20
	)
	type rate struct{ hit, of int }
	rates := map[string]*rate{"copier pair": {}, "preknowledge": {}, "rapid guessing": {}, "honest (false positives)": {}}
	count := func(kind string, flagged bool) {
		r := rates[kind]
		r.of++
		if flagged {
			r.hit++
		}
	}
	reps := *forensicsReps
	var detected, cheaters, falsePos, honest, copierTop, untimedTop int
	for rep := range reps {
		ex := simulateForensicsExam(rand.New(rand.NewPCG(2026, uint64(rep))), n, k)
		untimed := ex.in
		untimed.AnsweredAt = nil
		res0, err := Forensics(untimed, ForensicsSettings{Alpha: alpha})
		if err != nil {
			t.Fatal(err)
		}
		if res0.Persons[ex.copier[0]].Rank <= top && res0.Persons[ex.copier[1]].Rank <= top {
			untimedTop++
		}
		res, err := Forensics(ex.in, ForensicsSettings{Alpha: alpha})
		if err != nil {
			t.Fatal(err)
		}
		src, cop := res.Persons[ex.copier[0]], res.Persons[ex.copier[1]]
		if cop.Partner == ex.copier[0] && !(cop.SimilarityP < 0.05) {
			t.Errorf("replication %d: copier pair GBT p = %.3g, want < 0.05", rep, cop.SimilarityP)
		}
		t.Logf("replication %d: copier pair %d matches, %.1f expected, GBT p = %.3g (%.3g without answer times), ranks %d and %d",
			rep, cop.Matches, cop.ExpectedMatches, cop.SimilarityP, res0.Persons[ex.copier[1]].SimilarityP, src.Rank, cop.Rank)
		if src.Rank <= top && cop.Rank <= top {
			copierTop++
		}
		for _, pr := range res.Pairs {
			if (pr.A == ex.copier[0] || pr.B == ex.copier[0]) && (pr.A == ex.copier[1] || pr.B == ex.copier[1]) {
				t.Logf("replication %d: flagged copier pair, copier named %d (planted %d), %d of %d items followed alike",
					rep, pr.Copier, ex.copier[1], pr.FollowedMatches, pr.Followed)
			}
		}
		for i := range ex.cheaters {
			p := res.Persons[i]
			copying := i == ex.copier[0] || i == ex.copier[1]
			if p.Rank > top && (!copying || cop.SimilarityP < 1e-6) {
				t.Errorf("replication %d: planted person %d ranked %d, want within the top %d (risk %.3g, driver %s)", rep, i, p.Rank, top, p.Risk, p.Driver)
			}
			switch {
			case copying:
				count("copier pair", p.Flagged)
			case slices.Contains(ex.preknow, i):
				count("preknowledge", p.Flagged)
			default:
				count("rapid guessing", p.Flagged)
			}
		}
		for i, p := range res.Persons {
			if ex.cheaters[i] {
				cheaters++
				if p.Flagged {
					detected++
				}
				continue
			}
			count("honest (false positives)", p.Flagged)
			honest++
			if p.Flagged {
				falsePos++
			}
		}
		for _, i := range ex.rapid {
			if d := res.Persons[i].Driver; d != IndicatorRapidGuess {
				t.Errorf("replication %d: rapid guesser %d driven by %s, want %s", rep, i, d, IndicatorRapidGuess)
			}
		}
		for _, i := range ex.preknow {
			if d := res.Persons[i].Driver; d != IndicatorTimeFit && d != IndicatorPreknowledge {
				t.Errorf("replication %d: preknowledge candidate %d driven by %s, want a time indicator", rep, i, d)
			}
		}
	}
	t.Logf("copier pair in the top %d: %d of %d replications (%d without answer times)", top, copierTop, reps, untimedTop)
	if 5*copierTop < 3*reps {
		t.Errorf("copier pair in the top %d in %d of %d replications, want at least 60%%", top, copierTop, reps)
	}
	for _, kind := range []string{"copier pair", "preknowledge", "rapid guessing", "honest (false positives)"} {
		r := rates[kind]
		t.Logf("%s: flagged %d of %d (%.4f)", kind, r.hit, r.of, float64(r.hit)/float64(r.of))
	}
	dr, fpr := float64(detected)/float64(cheaters), float64(falsePos)/float64(honest)
	t.Logf("α = %g over %d replications of %d × %d: detection rate %.3f (%d/%d), false-positive rate %.4f (%d/%d)",
		alpha, reps, n, k, dr, detected, cheaters, fpr, falsePos, honest)
	if dr < 0.9 {
		t.Errorf("detection rate %.3f, want ≥ 0.9", dr)
	}
	if fpr > 0.005 {
		t.Errorf("false-positive rate %.4f, want ≤ 0.005", fpr)
	}
	for _, kind := range []string{"preknowledge", "rapid guessing"} {
		if r := rates[kind]; 20*r.hit < 19*r.of {
			t.Errorf("%s flagged %d of %d, want at least 95%%", kind, r.hit, r.of)
		}
	}
}

func TestForensicsHonestSimilarityCalibrated(t *testing.T) {
	// Without cheaters the GBT p-values of all pairs should be roughly
	// uniform: the share of pairs below 0.01 is close to 0.01 (pairs at or
	// below expectation have p ≥ ½ and are not returned), with or without
	// the answer times, and the timed test's own p-values too.
	ex := simulateForensicsExam(rand.New(rand.NewPCG(7, 7)), 400, 40)
	var choices [][]string
	var sc []float64
	var honest []int
	for i, c := range ex.in.Choices {
		if !ex.cheaters[i] {
			choices, sc = append(choices, c), append(sc, mat.Sum(ex.in.Scored.RowView(i)))
			honest = append(honest, i)
		}
	}
	at := mat.NewDense(len(honest), 40, nil)
	for r, i := range honest {
		at.SetRow(r, ex.in.AnsweredAt.RawRowView(i))
	}
	for _, tc := range []struct {
		name       string
		answeredAt *mat.Dense
	}{{"without answer times", nil}, {"with answer times", at}} {
		pairs, tested := AnswerSimilarity(choices, sc, nil, tc.answeredAt, SimilaritySettings{})
		below, timedBelow := 0, 0
		for _, p := range pairs {
			if p.P < 0.01 {
				below++
			}
			if p.FollowedP < 0.01 {
				timedBelow++
			}
		}
		share, timed := float64(below)/float64(tested), float64(timedBelow)/float64(tested)
		t.Logf("honest pairs %s: %d tested, share with p < 0.01: %.4f (timed test: %.4f)", tc.name, tested, share, timed)
		if share > 0.02 || timed > 0.02 {
			t.Errorf("%s: share of honest pairs with p < 0.01 = %.4f (timed test %.4f), want ≤ 0.02", tc.name, share, timed)
		}
	}
}

func TestAnswerSimilarityWindows(t *testing.T) {
	choices := [][]string{{"A", "B", "C"}, {"A", "B", "C"}, {"A", "B", "C"}}
	scores := []float64{1, 1, 1}
	_, tested := AnswerSimilarity(choices, scores, []string{"x", "y", "x"}, nil, SimilaritySettings{})
	if tested != 1 {
		t.Errorf("pairs tested across windows x, y, x = %d, want 1", tested)
	}
	_, tested = AnswerSimilarity(choices, scores, nil, nil, SimilaritySettings{})
	if tested != 3 {
		t.Errorf("pairs tested in one window = %d, want 3", tested)
	}
}

func TestForensicsRankingOrder(t *testing.T) {
	ex := simulateForensicsExam(rand.New(rand.NewPCG(3, 1)), 300, 30)
	res, err := Forensics(ex.in, ForensicsSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(res.Ranking, func(a, b int) int {
		if res.Persons[a].Risk < res.Persons[b].Risk {
			return -1
		}
		if res.Persons[a].Risk > res.Persons[b].Risk {
			return 1
		}
		return 0
	}) {
		t.Error("ranking is not by increasing risk")
	}
	for r, i := range res.Ranking {
		if res.Persons[i].Rank != r+1 {
			t.Fatalf("person %d: Rank %d, want %d", i, res.Persons[i].Rank, r+1)
		}
	}
}

func BenchmarkAnswerSimilarity1000x40(b *testing.B) {
	ex := simulateForensicsExam(rand.New(rand.NewPCG(1, 2)), 1000, 40)
	scores := make([]float64, 1000)
	for i := range scores {
		scores[i] = mat.Sum(ex.in.Scored.RowView(i))
	}
	// One window: all 499,500 pairs, keeping those with P ≤ 0.001.
	for b.Loop() {
		AnswerSimilarity(ex.in.Choices, scores, nil, nil, SimilaritySettings{MaxP: 0.001})
	}
}

func BenchmarkForensics1000x40(b *testing.B) {
	ex := simulateForensicsExam(rand.New(rand.NewPCG(1, 2)), 1000, 40)
	for b.Loop() {
		if _, err := Forensics(ex.in, ForensicsSettings{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFitResponseTimesGolden(t *testing.T) {
	// testdata/forensics.R: lm(log t ~ 0 + item + person), sum-to-zero
	// person contrasts, on data with about 10% missing.
	fit, err := FitResponseTimes(readMatrix(t, "forensics_times.csv"))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string][]float64{"beta": fit.Beta, "alpha": fit.Alpha, "tau": fit.Tau}
	seen := 0
	for _, rec := range readRecords(t, "forensics_times_golden.csv") {
		idx, err := strconv.Atoi(rec["index"])
		if err != nil {
			t.Fatal(err)
		}
		got, want := params[rec["param"]][idx-1], number(t, rec["value"])
		if math.Abs(got-want) > 1e-8 {
			t.Errorf("%s[%d] = %.12g, want %.12g (R)", rec["param"], idx, got, want)
		}
		seen++
	}
	if want := 2*len(fit.Beta) + len(fit.Tau); seen != want {
		t.Errorf("golden has %d values, want %d", seen, want)
	}
}

func TestPoissonBinomialTailGolden(t *testing.T) {
	// testdata/forensics.R: the exact distribution by the DFT of the
	// characteristic function (Hong, 2013).
	for _, rec := range readRecords(t, "forensics_pbinom.csv") {
		p := make([]float64, 40)
		for j := range p {
			p[j] = number(t, rec[fmt.Sprintf("p%d", j+1)])
		}
		m, err := strconv.Atoi(rec["m"])
		if err != nil {
			t.Fatal(err)
		}
		got, want := PoissonBinomialTail(p, m), number(t, rec["tail"])
		if math.Abs(got-want) > 1e-13+1e-10*want {
			t.Errorf("case %s: P(M ≥ %d) = %.15g, want %.15g (R)", rec["case"], m, got, want)
		}
	}
}

func TestAnswerSimilarityByHand(t *testing.T) {
	// One score group. Item 1 and item 2 each have A chosen by three persons
	// and B by one. For a person who chose A, leaving them out and adding ½
	// to each count: P(A) = (3 − 1 + ½)/(4 − 1 + 2·½) = 0.625, P(B) =
	// 1.5/4 = 0.375; for one who chose B, P(A) = 3.5/4, P(B) = 0.5/4.
	// Persons 0 and 1 both chose A, A: either copying from the other
	// matches with probability P(A) = 0.625 on each item, 2 matches,
	// expected 1.25, directional P(M ≥ 2) = 0.625² = 0.390625, above the
	// refinement threshold; P = 2 × 0.390625 over the two directions, and
	// the tie names the later person the copier. Persons 0 and 2 match once
	// (item 2): 2 copying from 0 expects 0.875 + 0.625, 0 copying from 2
	// expects 0.375 + 0.625 = 1, neither below the match; every other pair
	// likewise, so only one pair is returned.
	choices := [][]string{{"A", "A"}, {"A", "A"}, {"B", "A"}, {"A", "B"}}
	pairs, tested := AnswerSimilarity(choices, []float64{1, 1, 1, 1}, nil, nil, SimilaritySettings{ScoreGroups: 1})
	if tested != 6 || len(pairs) != 1 {
		t.Fatalf("tested %d, returned %v; want 6 tested and one pair", tested, pairs)
	}
	p := pairs[0]
	if p.A != 0 || p.B != 1 || p.Copier != 1 || p.Matches != 2 || p.Items != 2 {
		t.Errorf("pair %+v, want persons 0 and 1, copier 1, with 2 matches on 2 items", p)
	}
	if math.Abs(p.Expected-1.25) > 1e-15 || math.Abs(p.P-0.78125) > 1e-15 || p.PAdj != 1 {
		t.Errorf("expected %v, P %v, PAdj %v; want 1.25, 0.78125, 1", p.Expected, p.P, p.PAdj)
	}
}

func TestAnswerSimilarityCopierAbilityByHand(t *testing.T) {
	// Three items with options A, B, C; two score groups with option
	// proportions (0.2, 0.5, 0.3) (low) and (0.6, 0.1, 0.3) (high) on every
	// item. The source chose A, A, A; the copier A, A, B: 2 matches. At the
	// copier's own group (plug-in P(A) = 0.05 on every item) P(M ≥ 2) =
	// 3·0.05²·0.95 + 0.05³ = 0.00725 < 0.01, so the ability is refined from
	// the one unmatched item, B against the source's A: L(low) =
	// 0.5/(1 − 0.2) = 0.625, L(high) = 0.1/(1 − 0.6) = 0.25. The groups'
	// tails: P(M ≥ 2) = 3·0.2²·0.8 + 0.2³ = 0.104 and 3·0.6²·0.4 + 0.6³ =
	// 0.648; the p-value is (0.625·0.104 + 0.25·0.648)/0.875.
	row := func(a, b, c float64) []float64 { return []float64{a, b, c, a, b, c, a, b, c} }
	tab := [][]float64{row(0.2, 0.5, 0.3), row(0.6, 0.1, 0.3)}
	tt := pairTester{k: 3, offset: []int{0, 3, 6}, tab: tab, pm: make([]float64, 3), ll: make([]float64, 2)}
	for _, g := range tab {
		lg, l1 := make([]float64, len(g)), make([]float64, len(g))
		for o, v := range g {
			lg[o], l1[o] = math.Log(v), math.Log1p(-v)
		}
		tt.logT, tt.log1mT = append(tt.logT, lg), append(tt.log1mT, l1)
	}
	src, cop := []int8{1, 1, 1}, []int8{1, 1, 2}
	want := (0.625*0.104 + 0.25*0.648) / 0.875
	if got := tt.directional(cop, src, row(0.05, 0.5, 0.45), 2); math.Abs(got-want) > 1e-14 {
		t.Errorf("refined p = %.15g, want %.15g", got, want)
	}
	// Above the threshold the plug-in tail stands: P(A) = 0.5, P(M ≥ 2) = ½.
	if got := tt.directional(cop, src, row(0.5, 0.3, 0.2), 2); math.Abs(got-0.5) > 1e-15 {
		t.Errorf("plug-in p = %v, want 0.5", got)
	}
}

func TestAnswerSimilarityTimedByHand(t *testing.T) {
	// One score group, two items with options A (4 persons) and B (2). The
	// B persons 0 and 1 match on both: leaving one out, P(B) = (2 − 1 +
	// ½)/(6 − 1 + 2·½) = 0.25, so the GBT on all items gives 0.25² = 0.0625
	// in either direction. Counting everybody, P(B) = 2.5/7: on the items
	// one answered within a minute after the other the timed test gives
	// (2.5/7)² when both are followed, 2.5/7 when one is. Persons 2–5 answer
	// far apart from everyone.
	choices := [][]string{{"B", "B"}, {"B", "B"}, {"A", "A"}, {"A", "A"}, {"A", "A"}, {"A", "A"}}
	scores := []float64{1, 1, 1, 1, 1, 1}
	nan := math.NaN()
	for _, tc := range []struct {
		name              string
		times1            []float64 // person 1's answer times; person 0's are 100, 200
		copier            int
		followed, matches int
		followedP, p      float64
	}{
		// 1 answers 30 s and 50 s after 0: the timed test for 1 copying,
		// the GBT on all items for 0 copying, P = 2 × 0.0625.
		{"follows", []float64{130, 250}, 1, 2, 2, 6.25 / 49, 0.125},
		// One item each way: a tie, all four tests, P = 4 × 0.0625; with
		// equal p-values and scores B is named, as without times.
		{"tie", []float64{130, 150}, 1, 1, 1, 2.5 / 7, 0.25},
		// A missing time counts nowhere.
		{"one time", []float64{130, nan}, 1, 1, 1, 2.5 / 7, 0.125},
		// No time to compare: tested as without times.
		{"no times", []float64{nan, nan}, 1, 0, 0, nan, 0.125},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := mat.NewDense(6, 2, []float64{100, 200, tc.times1[0], tc.times1[1], 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000})
			pairs, tested := AnswerSimilarity(choices, scores, nil, at, SimilaritySettings{ScoreGroups: 1})
			if tested != 15 {
				t.Fatalf("tested %d pairs, want 15", tested)
			}
			var p *PairSimilarity
			for i := range pairs {
				if pairs[i].A == 0 && pairs[i].B == 1 {
					p = &pairs[i]
				}
			}
			if p == nil {
				t.Fatalf("pair 0, 1 not returned: %v", pairs)
			}
			if p.Copier != tc.copier || p.Followed != tc.followed || p.FollowedMatches != tc.matches || p.Matches != 2 || p.Expected != 0.5 {
				t.Errorf("copier %d, followed %d (%d alike), matches %d, expected %v; want %d, %d (%d), 2, 0.5",
					p.Copier, p.Followed, p.FollowedMatches, p.Matches, p.Expected, tc.copier, tc.followed, tc.matches)
			}
			sameP := func(got, want float64) bool {
				return math.IsNaN(got) && math.IsNaN(want) || math.Abs(got-want) < 1e-15
			}
			if !sameP(p.FollowedP, tc.followedP) || !sameP(p.P, tc.p) {
				t.Errorf("timed p %v, P %v; want %v, %v", p.FollowedP, p.P, tc.followedP, tc.p)
			}
		})
	}
}

func TestAnswerSimilarityTimedAbilityByHand(t *testing.T) {
	// The tables of TestAnswerSimilarityCopierAbilityByHand: option
	// proportions (0.2, 0.5, 0.3) (low group) and (0.6, 0.1, 0.3) (high) on
	// every item. The copier answered items 1 and 2 just after the source,
	// both A like the source's, and item 3 alone (B). The groups' likelihood
	// of that answer is 0.5 (low) and 0.1 (high) — not divided by
	// 1 − P(source's option), as R is chosen by the clock — and the tails
	// on the two followed items 0.2² and 0.6²: p = (0.5·0.04 + 0.1·0.36)/0.6.
	row := func(a, b, c float64) []float64 { return []float64{a, b, c, a, b, c, a, b, c} }
	tab := [][]float64{row(0.2, 0.5, 0.3), row(0.6, 0.1, 0.3)}
	tt := pairTester{k: 3, offset: []int{0, 3, 6}, tab: tab, pm: make([]float64, 3), ll: make([]float64, 2)}
	for _, g := range tab {
		lg, l1 := make([]float64, len(g)), make([]float64, len(g))
		for o, v := range g {
			lg[o], l1[o] = math.Log(v), math.Log1p(-v)
		}
		tt.logT, tt.log1mT = append(tt.logT, lg), append(tt.log1mT, l1)
	}
	want := (0.5*0.04 + 0.1*0.36) / 0.6
	if got := tt.timed([]int8{1, 1, 2}, []int8{1, 1, 1}, []bool{true, true, false}, 2); math.Abs(got-want) > 1e-15 {
		t.Errorf("timed p = %.17g, want %.17g", got, want)
	}
}

func TestTimeIndicatorsByHand(t *testing.T) {
	// The fit of TestFitResponseTimesByHand: residuals (0, 0),
	// (−√1.5, √1.5), (√1.5, −√1.5), α = √6, median times e², e³.
	logs := []float64{1, 2, 2, 4, 3, 3}
	times := mat.NewDense(3, 2, nil)
	for c, v := range logs {
		times.Set(c/2, c%2, math.Exp(v))
	}
	fit, err := FitResponseTimes(times)
	if err != nil {
		t.Fatal(err)
	}
	// Proportions correct 1/3 and 2/3: item 1 is the hard one.
	scored := mat.NewDense(3, 2, []float64{0, 1, 1, 1, 0, 0})
	got := TimeIndicatorsFor(fit, scored, TimeSettings{FastZ: 1, RapidFraction: 0.5})

	p1 := got[1]
	// A = {item 1, z = −√1.5}, B = {item 2, z = √1.5}: Z = −2√1.5/√2 = −√3.
	if p1.HardCorrect != 1 || math.Abs(p1.PreknowledgeZ+math.Sqrt(3)) > 1e-12 || math.Abs(p1.PreknowledgeP-0.5*math.Erfc(math.Sqrt(1.5))) > 1e-12 {
		t.Errorf("person 1: hard correct %d, Z %v, p %v; want 1, −√3, Φ(−√3)", p1.HardCorrect, p1.PreknowledgeZ, p1.PreknowledgeP)
	}
	// l_t = 1.5 + 1.5 = 3 on 2 df: p = exp(−3/2).
	if math.Abs(p1.Lt-3) > 1e-12 || math.Abs(p1.LtP-math.Exp(-1.5)) > 1e-12 || p1.Fast != 1 || p1.FastShare != 0.5 {
		t.Errorf("person 1: l_t %v (p %v), fast %d (%v); want 3 (%v), 1 (0.5)", p1.Lt, p1.LtP, p1.Fast, p1.FastShare, math.Exp(-1.5))
	}
	if !math.IsNaN(got[0].PreknowledgeP) {
		t.Errorf("person 0 has no correct hard response: preknowledge p %v, want NaN", got[0].PreknowledgeP)
	}
	// Thresholds ½e² and ½e³: person 0's times e¹ and e² are both rapid,
	// one correct. τ = (1, −½, −½) has MAD 0, so the population is τ = 0:
	// p_j = Φ(√6 ln ½) on each item and P(R ≥ 2) = p².
	p0 := got[0]
	pj := 0.5 * math.Erfc(-math.Sqrt(6)*math.Log(0.5)/math.Sqrt2)
	if p0.Rapid != 2 || p0.RapidCorrect != 1 || p0.RapidShare != 1 || math.Abs(p0.RapidP-pj*pj) > 1e-15 {
		t.Errorf("person 0: rapid %d (%d correct, share %v), p %v; want 2 (1, 1), %v", p0.Rapid, p0.RapidCorrect, p0.RapidShare, p0.RapidP, pj*pj)
	}
	if got[1].Rapid != 0 || got[1].RapidP != 1 {
		t.Errorf("person 1: rapid %d, p %v; want 0, 1", got[1].Rapid, got[1].RapidP)
	}
}

func TestForensicsLeavesOutUntimedPersons(t *testing.T) {
	// The times of TestFitResponseTimesByHand with an untimed person
	// inserted as row 1: the model is the by-hand fit of the three timed
	// persons (β = (2, 3), τ = (1, −½, −½), α = √6), and row 1 has no time
	// indicators.
	nan := math.NaN()
	logs := []float64{1, 2, nan, nan, 2, 4, 3, 3}
	times := mat.NewDense(4, 2, nil)
	for c, v := range logs {
		times.Set(c/2, c%2, math.Exp(v))
	}
	scored := mat.NewDense(4, 2, []float64{0, 1, 1, 0, 1, 1, 0, 0})
	res, err := Forensics(ForensicsInput{Scored: scored, Times: times}, ForensicsSettings{})
	if err != nil {
		t.Fatal(err)
	}
	fit := res.Times
	s6 := math.Sqrt(6)
	wantTau := []float64{1, nan, -0.5, -0.5}
	wantRes := []float64{0, 0, nan, nan, -0.5 * s6, 0.5 * s6, 0.5 * s6, -0.5 * s6}
	same := func(got, want float64) bool {
		return math.IsNaN(got) && math.IsNaN(want) || math.Abs(got-want) <= 1e-9
	}
	for i, w := range wantTau {
		if !same(fit.Tau[i], w) {
			t.Errorf("Tau = %v, want %v", fit.Tau, wantTau)
			break
		}
	}
	for c, w := range wantRes {
		if got := fit.Residual.At(c/2, c%2); !same(got, w) {
			t.Errorf("residual (%d, %d) = %v, want %v", c/2, c%2, got, w)
		}
	}
	if !same(fit.Beta[0], 2) || !same(fit.Beta[1], 3) || !same(fit.Alpha[0], s6) || !same(fit.Median[1], math.Exp(3)) {
		t.Errorf("β %v, α %v, median %v; want (2, 3), √6, e³ on item 2", fit.Beta, fit.Alpha, fit.Median)
	}

	// The timed persons' indicators are those of the fit; the untimed
	// person has none, and so no risk from times.
	ind := TimeIndicatorsFor(*fit, scored, ForensicsSettings{}.Times)
	for _, i := range []int{0, 2, 3} {
		p := res.Persons[i]
		if p.Timed != 2 || !same(p.LtP, ind[i].LtP) || !same(p.RapidP, ind[i].RapidP) || math.IsNaN(p.LtP) {
			t.Errorf("person %d: timed %d, l_t p %v, rapid p %v; want 2, %v, %v", i, p.Timed, p.LtP, p.RapidP, ind[i].LtP, ind[i].RapidP)
		}
	}
	if p := res.Persons[1]; p.Timed != 0 || !math.IsNaN(p.LtP) || !math.IsNaN(p.RapidP) || !math.IsNaN(p.PreknowledgeP) ||
		p.Driver != "" || p.Risk != 1 {
		t.Errorf("untimed person: timed %d, l_t p %v, rapid p %v, preknowledge p %v, driver %q, risk %v; want no time indicators",
			p.Timed, p.LtP, p.RapidP, p.PreknowledgeP, p.Driver, p.Risk)
	}

	// One timed person cannot give an item two times.
	for i := 2; i < 4; i++ {
		times.SetRow(i, []float64{nan, nan})
	}
	if _, err := Forensics(ForensicsInput{Scored: scored, Times: times}, ForensicsSettings{}); err != ErrTooFewTimes {
		t.Errorf("one timed person: err = %v, want ErrTooFewTimes", err)
	}
}
