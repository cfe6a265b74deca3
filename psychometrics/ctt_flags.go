package psychometrics

import "math"

// Flag names a problem that classical item analysis found with an item or
// one of its options. Flags are stable snake_case strings, safe to print and
// to match on.
type Flag string

// The flags that ItemAnalysisWith and OptionAnalysis raise. The bounds are
// those of a FlagRules; the defaults are in brackets.
const (
	// FlagNegativeDiscrimination: the item-rest correlation is below 0, so
	// weaker candidates do better on the item than stronger ones.
	FlagNegativeDiscrimination Flag = "negative_discrimination"
	// FlagLowDiscrimination: the item-rest correlation is at least 0 but
	// below MinDiscrimination [0.20].
	FlagLowDiscrimination Flag = "low_discrimination"
	// FlagTooHard: a 0/1 item's proportion correct is below MinP [0.20].
	FlagTooHard Flag = "too_hard"
	// FlagTooEasy: a 0/1 item's proportion correct is above MaxP [0.95].
	FlagTooEasy Flag = "too_easy"
	// FlagNonfunctioningDistractor: a distractor (an option other than the
	// key) is chosen by fewer than MinOptionProportion [0.05] of persons.
	FlagNonfunctioningDistractor Flag = "nonfunctioning_distractor"
	// FlagProbableMiskey: a distractor's point-biserial correlation with the
	// rest score exceeds the key's, as when the key is wrong.
	FlagProbableMiskey Flag = "probable_miskey"
)

// Default bounds of FlagRules, used for fields left at zero.
const (
	DefaultMinDiscrimination   = 0.20
	DefaultMinP                = 0.20
	DefaultMaxP                = 0.95
	DefaultMinOptionProportion = 0.05
)

// FlagRules sets the bounds at which items are flagged. The zero value gives
// conventional defaults of classical item review (Crocker & Algina, 1986,
// ch. 14): an item-rest correlation of 0.20 as the least acceptable
// discrimination (Ebel, 1965), and 5% as the least share of candidates a
// functioning distractor attracts (Haladyna & Downing, 1993). A field left at
// zero takes the default named in its comment. A rule is switched off by setting
// its bound beyond any value the statistic can take, for example
// MinDiscrimination = −2, MinP = −1, MaxP = 2 or MinOptionProportion = −1.
//
// An item whose item-rest correlation (ItemStats.ItemRest, or the key's
// OptionStats.PointBiserial) is below 0 is flagged negative_discrimination,
// one at least 0 and below MinDiscrimination low_discrimination (never both).
// A 0/1 item whose proportion correct is below MinP is flagged too_hard, above
// MaxP too_easy; polytomous items get neither. A NaN statistic raises no flag.
type FlagRules struct {
	MinDiscrimination   float64 // item-rest correlation below it: low_discrimination [0.20]
	MinP                float64 // proportion correct below it: too_hard [0.20]
	MaxP                float64 // proportion correct above it: too_easy [0.95]
	MinOptionProportion float64 // distractor chosen by a smaller proportion: nonfunctioning_distractor [0.05]
}

// withDefaults returns r with each zero field replaced by its default.
func (r FlagRules) withDefaults() FlagRules {
	if r.MinDiscrimination == 0 {
		r.MinDiscrimination = DefaultMinDiscrimination
	}
	if r.MinP == 0 {
		r.MinP = DefaultMinP
	}
	if r.MaxP == 0 {
		r.MaxP = DefaultMaxP
	}
	if r.MinOptionProportion == 0 {
		r.MinOptionProportion = DefaultMinOptionProportion
	}
	return r
}

// itemFlags returns the discrimination and difficulty flags of an item with
// item-rest correlation disc and, for a 0/1 item (dichotomous), proportion
// correct p. r must have its defaults applied.
func (r FlagRules) itemFlags(disc, p float64, dichotomous bool) []Flag {
	var flags []Flag
	switch {
	case disc < 0:
		flags = append(flags, FlagNegativeDiscrimination)
	case disc < r.MinDiscrimination:
		flags = append(flags, FlagLowDiscrimination)
	}
	if dichotomous && !math.IsNaN(p) {
		switch {
		case p < r.MinP:
			flags = append(flags, FlagTooHard)
		case p > r.MaxP:
			flags = append(flags, FlagTooEasy)
		}
	}
	return flags
}
