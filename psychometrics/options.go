package psychometrics

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// OptionStats describes how persons chose one option (response alternative)
// of a multiple-choice item.
type OptionStats struct {
	Option        string     // the option as written in the responses; "" for no response
	IsKey         bool       // the option is the item's key
	Count         int        // persons who chose it
	Proportion    float64    // Count as a proportion of all persons
	PointBiserial float64    // correlation of choosing it (1) or not (0) with the rest score
	MeanScore     float64    // mean total score of the persons who chose it; NaN when none did
	Groups        [5]float64 // proportion choosing it in each fifth of persons ranked by total score, lowest fifth first
	Flags         []Flag     // nonfunctioning_distractor, probable_miskey; nil when none
}

// ItemOptions is the option (distractor) analysis of one item.
type ItemOptions struct {
	Item    int           // column index
	Key     string        // the correct option
	Options []OptionStats // every option chosen by someone, and the key, in ascending byte order
	Missing OptionStats   // the persons who gave no response (Option "")
	Flags   []Flag        // problems with the item, in the order of the Flag constants; nil when none
}

// OptionAnalysis returns the option (distractor) analysis of each item of a
// multiple-choice test, in item order. choices[i][j] is the option person i
// chose on item j, "" when they gave none, and key[j] is the correct option of
// item j. Options are compared as exact strings.
//
// Each person's total score X is the number of items on which they chose the
// key, as in ScoreChoices: no response scores 0. For item j the rest score is
// R_j = X − x_j, the total without the item. For each option o of item j —
// every option someone chose and the key, sorted in ascending byte order —
// and separately for no response (Missing), with I_o the indicator of
// choosing o:
//
//	Count         = Σ_i I_o
//	Proportion    = Count / n
//	PointBiserial = r(I_o, R_j)
//	MeanScore     = Σ_i I_o·X_i / Count
//
// over all n persons, with r the Pearson correlation. Proportions of the
// options and Missing add up to 1. For the key, PointBiserial is the item-rest
// correlation and Proportion the proportion correct of item j. PointBiserial
// is NaN when nobody or everybody chose the option or the rest score is
// constant.
//
// Groups are the data of an empirical option (quantile) plot, the trace lines
// of Wainer (1989): persons are ranked by total score,
// ties in row order (a stable sort), and the person at rank p (0, 1, …, n − 1)
// falls in group ⌊5p/n⌋, so the five groups differ in size by at most one
// and persons tied at a boundary may fall on either side of it. Groups[g] is
// the proportion of group g that chose the option; it is NaN when the group
// is empty (fewer than five persons).
//
// Flags are set under rules as documented at FlagRules. The item is flagged
// for discrimination by the key's PointBiserial and for difficulty by the
// key's Proportion. A distractor (an option other than the key; no response
// is not an option) is flagged nonfunctioning_distractor when its Proportion
// is below rules.MinOptionProportion, and probable_miskey when its
// PointBiserial exceeds the key's; the item carries each flag that any of its
// distractors carries. An option nobody chose is not seen, so a distractor
// that attracted no one is not reported.
//
// OptionAnalysis panics if there are no persons, fewer than two items, a row
// of choices whose length differs from len(key), or an empty key.
func OptionAnalysis(choices [][]string, key []string, rules FlagRules) []ItemOptions {
	n, k := checkChoices(choices, key)
	rules = rules.withDefaults()

	// Code the choices: 0 for no response, 1 + the option's place in the
	// sorted options of its item otherwise. Codes are first given in the
	// order options are seen, then renumbered.
	index := make([]map[string]int, k)
	seen := make([][]string, k)
	for j := range k {
		index[j] = map[string]int{key[j]: 1}
		seen[j] = []string{key[j]}
	}
	code := make([]int, n*k)
	for i, row := range choices {
		for j, c := range row {
			if c == "" {
				continue
			}
			cj, ok := index[j][c]
			if !ok {
				seen[j] = append(seen[j], c)
				cj = len(seen[j])
				index[j][c] = cj
			}
			code[i*k+j] = cj
		}
	}
	options := make([][]string, k)
	keyCode := make([]int, k)
	renumber := make([][]int, k)
	for j := range k {
		opts := slices.Clone(seen[j])
		slices.Sort(opts)
		renumber[j] = make([]int, len(opts)+1)
		for c, o := range opts {
			renumber[j][index[j][o]] = c + 1
		}
		options[j] = opts
		keyCode[j] = renumber[j][1]
	}
	total := make([]float64, n)
	for i := range n {
		var t float64
		row := code[i*k : (i+1)*k]
		for j, c := range row {
			c = renumber[j][c]
			row[j] = c
			if c == keyCode[j] {
				t++
			}
		}
		total[i] = t
	}

	// Fifths of the persons ranked by total score.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(total[a], total[b]), cmp.Compare(a, b))
	})
	group := make([]int, n)
	var groupSize [5]int
	for p, i := range order {
		g := 5 * p / n
		group[i] = g
		groupSize[g]++
	}

	// Rest-score means, then centred sums per item and option.
	var tsum float64
	for _, t := range total {
		tsum += t
	}
	keyCount := make([]float64, k)
	for i := range n {
		for j, c := range code[i*k : (i+1)*k] {
			if c == keyCode[j] {
				keyCount[j]++
			}
		}
	}
	out := make([]ItemOptions, k)
	for j := range out {
		no := len(options[j]) + 1 // options and no response
		rm := (tsum - keyCount[j]) / float64(n)
		count := make([]int, no)
		sumDev := make([]float64, no)   // Σ (R − R̄) over choosers
		sumTotal := make([]float64, no) // Σ X over choosers
		inGroup := make([][5]int, no)
		var ssr float64
		for i := range n {
			c := code[i*k+j]
			rest := total[i]
			if c == keyCode[j] {
				rest--
			}
			d := rest - rm
			ssr += d * d
			count[c]++
			sumDev[c] += d
			sumTotal[c] += total[i]
			inGroup[c][group[i]]++
		}
		stats := make([]OptionStats, no)
		for c := range stats {
			s := OptionStats{
				Count:         count[c],
				Proportion:    float64(count[c]) / float64(n),
				PointBiserial: math.NaN(),
				MeanScore:     math.NaN(),
			}
			if c > 0 {
				s.Option = options[j][c-1]
				s.IsKey = c == keyCode[j]
			}
			if count[c] > 0 {
				s.MeanScore = sumTotal[c] / float64(count[c])
				if count[c] < n && ssr > 0 {
					cf := float64(count[c])
					s.PointBiserial = sumDev[c] / math.Sqrt(cf*float64(n-count[c])/float64(n)*ssr)
				}
			}
			for g := range s.Groups {
				s.Groups[g] = math.NaN()
				if groupSize[g] > 0 {
					s.Groups[g] = float64(inGroup[c][g]) / float64(groupSize[g])
				}
			}
			stats[c] = s
		}

		keyStats := stats[keyCode[j]]
		item := ItemOptions{Item: j, Key: key[j], Options: stats[1:], Missing: stats[0]}
		item.Flags = rules.itemFlags(keyStats.PointBiserial, keyStats.Proportion, true)
		var nonfunctioning, miskey bool
		for c := range item.Options {
			s := &item.Options[c]
			if s.IsKey {
				continue
			}
			if s.Proportion < rules.MinOptionProportion {
				s.Flags = append(s.Flags, FlagNonfunctioningDistractor)
				nonfunctioning = true
			}
			if s.PointBiserial > keyStats.PointBiserial {
				s.Flags = append(s.Flags, FlagProbableMiskey)
				miskey = true
			}
		}
		if nonfunctioning {
			item.Flags = append(item.Flags, FlagNonfunctioningDistractor)
		}
		if miskey {
			item.Flags = append(item.Flags, FlagProbableMiskey)
		}
		out[j] = item
	}
	return out
}

// ScoreChoices returns the persons × items 0/1 score matrix of the choices
// against the key: the score is 1 where choices[i][j] == key[j] and 0
// otherwise, including where there is no response (""). choices and key are
// as for OptionAnalysis.
//
// ScoreChoices panics if there are no persons, fewer than two items, a row of
// choices whose length differs from len(key), or an empty key.
func ScoreChoices(choices [][]string, key []string) *mat.Dense {
	n, k := checkChoices(choices, key)
	data := make([]float64, n*k)
	for i, row := range choices {
		for j, c := range row {
			if c == key[j] {
				data[i*k+j] = 1
			}
		}
	}
	return mat.NewDense(n, k, data)
}

// checkChoices panics unless choices and key describe at least one person and
// two items, every row has one choice per item and every key is non-empty.
// It returns the numbers of persons and items.
func checkChoices(choices [][]string, key []string) (n, k int) {
	n, k = len(choices), len(key)
	checkScores(n, k)
	for _, row := range choices {
		if len(row) != k {
			panic("psychometrics: row of choices and key differ in length")
		}
	}
	for _, c := range key {
		if c == "" {
			panic("psychometrics: empty key")
		}
	}
	return n, k
}
