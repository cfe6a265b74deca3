package psychometrics

import (
	"cmp"
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// ForensicsInput is the data of one exam for Forensics. Scored is required;
// every other part switches its indicators on.
type ForensicsInput struct {
	// Scored is the persons × items matrix of 0/1 scores, NaN where the item
	// was not administered.
	Scored *mat.Dense
	// Items are the items' IRT parameters, for person fit (lz*); nil skips it.
	Items []Item3PL
	// Times are the response times in seconds, persons × items, NaN where
	// none was recorded; nil skips the response-time indicators. A person
	// without any time (an imported attempt, say) is left out of the
	// response-time model and gets no time indicators.
	Times *mat.Dense
	// Choices are the options chosen, persons × items, "" for none; nil
	// skips answer similarity.
	Choices [][]string
	// Windows are the windows (sessions) persons sat in; only persons in the
	// same window are compared. nil puts everybody in one.
	Windows []string
	// AnsweredAt are the times the answers were given, in seconds on a
	// clock common to a window (Unix time, say), persons × items, NaN where
	// none was recorded; nil leaves out the timed answer-similarity test.
	AnsweredAt *mat.Dense
}

// ForensicsSettings tune Forensics. The zero value selects the defaults.
type ForensicsSettings struct {
	// Alpha is the level at which a person is flagged: the combined risk
	// p-value below Alpha. Default 0.001.
	Alpha      float64
	Times      TimeSettings
	Similarity SimilaritySettings
}

// The indicators Forensics combines, as named in PersonForensics.Driver.
const (
	IndicatorPersonFit    = "person_fit"     // lz*: unexpected responses given θ
	IndicatorTimeFit      = "time_fit"       // l_t: unexpected response times given τ
	IndicatorPreknowledge = "preknowledge"   // fast correct answers to hard items
	IndicatorRapidGuess   = "rapid_guessing" // many responses below the rapid threshold
	IndicatorSimilarity   = "similarity"     // answers too alike another candidate's (directional GBT)
)

// PersonForensics are one person's forensic indicators and risk. P-values
// are NaN where the indicator was not computed (its input absent, or not
// defined for the person).
type PersonForensics struct {
	Person int // row index

	Theta   float64 // WLE θ (NaN without Items, or when it has no finite value)
	LzStar  float64 // Snijders' lz* at the WLE
	LzStarP float64 // Φ(lz*): lower tail, misfit

	TimeIndicators // zero without Times, or without a time of the person's; p-values NaN then

	// Partner is the person whose answers are most like this person's by
	// the GBT (−1 when no pair had more matches than expected), with the
	// pair's matches, expected matches and p-value; SimilarityPAdj is that
	// p-value times the number of candidates the person was compared with
	// (Bonferroni over the person's partners), at most 1.
	Partner         int
	Matches         int
	ExpectedMatches float64
	SimilarityP     float64
	SimilarityPAdj  float64

	// Risk is the combined p-value: min(1, K × the smallest indicator
	// p-value) over the K indicators available for the person; Driver names
	// the indicator that gave the smallest. Rank orders persons by Risk,
	// 1 the most at risk; Flagged is Risk < Alpha.
	Risk    float64
	Driver  string
	Rank    int
	Flagged bool
}

// ForensicsResult is the output of Forensics.
type ForensicsResult struct {
	Persons     []PersonForensics // in row order
	Ranking     []int             // person indices, most at risk first
	Pairs       []PairSimilarity  // pairs flagged at Alpha after the correction, by p-value
	PairsTested int               // number of pairs compared (the Bonferroni factor)
	Times       *ResponseTimeFit  // the response-time model (see timedFit); nil without Times
}

// Forensics screens the persons of one exam for cheating and aberrant
// test-taking, ranking them by risk for proctoring review. Its indicators
// are, each with a p-value that is (approximately) uniform for an honest
// person under the model:
//
//   - person fit: Snijders' lz* (PersonFitLzStar) at the WLE θ, p = Φ(lz*);
//   - response-time fit: l_t of the lognormal model (FitResponseTimes,
//     TimeIndicatorsFor), upper χ² tail, the model fitted to the persons
//     with at least one time;
//   - preknowledge: fast correct answers to hard items, PreknowledgeP;
//   - rapid guessing: RapidP (normative threshold, Wise & Ma, 2012);
//   - answer similarity: the directional GBT, with the copier's ability
//     taken from the answers not shared, and with AnsweredAt the timed GBT
//     on the items one answered just after the other, against the most
//     similar candidate in the same window (AnswerSimilarity; both keep
//     power for weak copiers whose score copying has raised),
//     Bonferroni-adjusted over the n_w − 1 candidates the person was
//     compared with. This keeps the indicator a per-person p-value like
//     the others; the list of flagged pairs (ForensicsResult.Pairs) is
//     corrected over all pairs instead, the guarantee needed before naming
//     two people together. Both candidates of a pair carry its p-value —
//     the pair test is the evidence against both, and which of them copied
//     is only a hint — so a reviewer who sees one sees the other named as
//     its Partner, at the same risk unless another indicator puts either
//     higher.
//
// Combination. Risk = min(1, K · min_k p_k) over the K indicators available
// — the Bonferroni (Tippett) combination — and persons are ranked by Risk,
// ties by the smallest raw p-value. Fisher's combination −2 Σ ln p_k would
// reward several moderate signals but is valid only for independent
// p-values, and these are not: an unexpected correct answer to a hard item
// lowers lz* and, when fast, the preknowledge and l_t p-values together.
// The Bonferroni combination holds under any dependence, so Risk < Alpha
// has false-positive rate at most Alpha for each honest person as far as
// the indicators' p-values are exact, and it names the one indicator
// (Driver) a reviewer should look at first. They are asymptotic: on
// simulated 40-item 3PL exams the far left tail of lz* is heavier than the
// normal, and honest candidates are flagged at about 0.002 to 0.003 at
// Alpha = 0.001, most of them by person fit.
//
// Forensics returns ErrTooFewTimes from FitResponseTimes: when an item has
// fewer than two times among the persons with times. It panics if the
// parts of in differ in shape, or a score is not 0, 1 or NaN.
func Forensics(in ForensicsInput, s ForensicsSettings) (ForensicsResult, error) {
	if s.Alpha == 0 {
		s.Alpha = 0.001
	}
	n, k := in.Scored.Dims()
	nan := math.NaN()
	res := ForensicsResult{Persons: make([]PersonForensics, n)}
	scores := make([]float64, n)
	for i := range n {
		p := &res.Persons[i]
		*p = PersonForensics{Person: i, Theta: nan, LzStar: nan, LzStarP: nan, Partner: -1,
			ExpectedMatches: nan, SimilarityP: nan, SimilarityPAdj: nan}
		p.LtP, p.PreknowledgeP, p.RapidP = nan, nan, nan
		for j := range k {
			if x := in.Scored.At(i, j); x == 1 {
				scores[i]++
			} else if x != 0 && !math.IsNaN(x) {
				panic("psychometrics: score not 0, 1 or NaN")
			}
		}
	}
	if in.Items != nil {
		if len(in.Items) != k {
			panic("psychometrics: items and scores differ in shape")
		}
		for i := range n {
			resp := in.Scored.RawRowView(i)
			est, err := ThetaWLE(in.Items, resp)
			if err != nil {
				if errors.Is(err, ErrExtremeScore) || errors.Is(err, ErrNoFiniteTheta) {
					continue
				}
				return ForensicsResult{}, err
			}
			p := &res.Persons[i]
			p.Theta = est.Theta
			p.LzStar = PersonFitLzStar(in.Items, resp, est.Theta, WeightedLikelihood)
			p.LzStarP = distuv.UnitNormal.CDF(p.LzStar)
		}
	}
	if in.Times != nil {
		if r, c := in.Times.Dims(); r != n || c != k {
			panic("psychometrics: times and scores differ in shape")
		}
		fit, err := timedFit(in.Times)
		if err != nil {
			return ForensicsResult{}, err
		}
		res.Times = &fit
		for i, ti := range TimeIndicatorsFor(fit, in.Scored, s.Times) {
			if ti.Timed > 0 {
				res.Persons[i].TimeIndicators = ti
			}
		}
	}
	if in.Choices != nil {
		if len(in.Choices) != n {
			panic("psychometrics: choices and scores differ in shape")
		}
		size := map[string]int{}
		for i := range n {
			size[forensicsWindow(in.Windows, i)]++
		}
		res.PairsTested = similarityPairs(in.Choices, scores, in.Windows, in.AnsweredAt, s.Similarity, func(pr PairSimilarity) {
			for _, pair := range [2][2]int{{pr.A, pr.B}, {pr.B, pr.A}} {
				p := &res.Persons[pair[0]]
				if p.Partner >= 0 && !(pr.P < p.SimilarityP) {
					continue
				}
				p.Partner, p.Matches, p.ExpectedMatches = pair[1], pr.Matches, pr.Expected
				p.SimilarityP = pr.P
				p.SimilarityPAdj = math.Min(1, pr.P*float64(size[pr.Window]-1))
			}
			if pr.PAdj < s.Alpha {
				res.Pairs = append(res.Pairs, pr)
			}
		})
		slices.SortFunc(res.Pairs, func(x, y PairSimilarity) int {
			return cmp.Or(cmp.Compare(x.P, y.P), cmp.Compare(x.A, y.A), cmp.Compare(x.B, y.B))
		})
		for i := range res.Persons {
			// No pair above expectation: every p-value is at least ½.
			if p := &res.Persons[i]; p.Partner < 0 && size[forensicsWindow(in.Windows, i)] > 1 {
				p.SimilarityPAdj = 1
			}
		}
	}
	minP := make([]float64, n)
	for i := range res.Persons {
		p := &res.Persons[i]
		cands := []struct {
			name string
			p    float64
		}{
			{IndicatorPersonFit, p.LzStarP},
			{IndicatorTimeFit, p.LtP},
			{IndicatorPreknowledge, p.PreknowledgeP},
			{IndicatorRapidGuess, p.RapidP},
			{IndicatorSimilarity, p.SimilarityPAdj},
		}
		best, count := math.Inf(1), 0
		for _, c := range cands {
			if math.IsNaN(c.p) {
				continue
			}
			count++
			if c.p < best {
				best, p.Driver = c.p, c.name
			}
		}
		minP[i] = best
		p.Risk = 1
		if count > 0 {
			p.Risk = math.Min(1, float64(count)*best)
		}
		p.Flagged = p.Risk < s.Alpha
	}
	res.Ranking = make([]int, n)
	for i := range res.Ranking {
		res.Ranking[i] = i
	}
	slices.SortStableFunc(res.Ranking, func(a, b int) int {
		if c := cmp.Compare(res.Persons[a].Risk, res.Persons[b].Risk); c != 0 {
			return c
		}
		return cmp.Compare(minP[a], minP[b])
	})
	for r, i := range res.Ranking {
		res.Persons[i].Rank = r + 1
	}
	return res, nil
}

// forensicsWindow returns person i's window, "" when windows is nil.
func forensicsWindow(windows []string, i int) string {
	if windows == nil {
		return ""
	}
	return windows[i]
}

// timedFit fits the response-time model (FitResponseTimes) to the persons
// with at least one time and returns it for every row: the rows of persons
// without a time have Tau and Residual NaN. Leaving them out, rather than
// dropping the times of everybody, keeps the indicators of the timed
// persons when some attempts (imported history) carry no times; the model
// of the timed rows is the model FitResponseTimes fits to them alone.
// It returns ErrTooFewTimes when an item has fewer than two times.
func timedFit(times *mat.Dense) (ResponseTimeFit, error) {
	n, k := times.Dims()
	var timed []int
	for i := range n {
		if slices.ContainsFunc(times.RawRowView(i), func(t float64) bool { return !math.IsNaN(t) }) {
			timed = append(timed, i)
		}
	}
	if len(timed) == n {
		return FitResponseTimes(times)
	}
	if len(timed) < 2 {
		return ResponseTimeFit{}, ErrTooFewTimes
	}
	sub := mat.NewDense(len(timed), k, nil)
	for r, i := range timed {
		sub.SetRow(r, times.RawRowView(i))
	}
	fit, err := FitResponseTimes(sub)
	if err != nil {
		return ResponseTimeFit{}, err
	}
	tau := make([]float64, n)
	res := mat.NewDense(n, k, nil)
	for i := range n {
		tau[i] = math.NaN()
		for j := range k {
			res.Set(i, j, math.NaN())
		}
	}
	for r, i := range timed {
		tau[i] = fit.Tau[r]
		res.SetRow(i, fit.Residual.RawRowView(r))
	}
	fit.Tau, fit.Residual = tau, res
	return fit, nil
}
