package items

import (
	"math"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Answer is a candidate's response to an item. Each kind reads one field
// and ignores the others:
//
//	{"choice": "B"}                single_choice, true_false
//	{"choices": ["A", "C"]}        multiple_response (a set), ordering (a sequence)
//	{"text": "3.14"}               numeric, short_text
//	{"pairs": {"o1": "t2"}}        matching (option ID → target ID)
type Answer struct {
	Choice  string            `json:"choice,omitempty"`
	Choices []string          `json:"choices,omitempty"`
	Text    string            `json:"text,omitempty"`
	Pairs   map[string]string `json:"pairs,omitempty"`
}

// Empty reports whether a holds no response at all (text of only
// whitespace counts as none).
func (a Answer) Empty() bool {
	return a.Choice == "" && len(a.Choices) == 0 && strings.TrimSpace(a.Text) == "" && len(a.Pairs) == 0
}

// Score scores answer a to the item: max is MaxPoints, and score is max
// times the share of credit earned, a number in [0, 1]. An empty answer
// earns 0. The share, by kind:
//
//   - single_choice, true_false: 1 when a.Choice is Key, else 0.
//   - multiple_response: the selected set is a.Choices without duplicates
//     (repeating an option gains nothing); an ID that is not a key,
//     including one that is not an option at all, is a wrong selection.
//     All or nothing: 1 when the selected set is exactly the key set.
//     Partial: (right − wrong) / |Keys|, floored at 0, where right and
//     wrong count the correct and incorrect selections. This is the "right
//     minus wrong" rule of Moodle's multiple-choice question with several
//     answers allowed, each correct choice graded +1/|Keys| and each wrong
//     one −1/|Keys|, the total clamped to [0, 1]
//     (https://docs.moodle.org/en/Multiple_Choice_question_type); selecting
//     every option therefore earns nothing unless every option is a key.
//   - numeric: a.Text is read by ParseNumber; the answer x is right when
//     |x − v| ≤ t, with v = Numeric.Value and t = Numeric.Tolerance (times
//     |v| when Relative). The bound is inclusive and allows a few units of
//     binary rounding (8·2⁻⁵² relative to the larger of |x| and |v|), so
//     3.15 is within 0.01 of 3.14 as it is in decimal. Text that does not
//     parse earns 0.
//   - short_text: 1 when a.Text matches an Accepted answer. Both are
//     brought to Unicode NFC, trimmed, and have every inner run of
//     whitespace collapsed to one space; they are then compared exactly
//     when CaseSensitive, otherwise under Unicode simple case folding.
//   - ordering: a.Choices must be a permutation of the options (each ID
//     once, no unknown or missing ID), otherwise the answer earns 0. All or
//     nothing: 1 when it equals Keys. Partial: the share of positions that
//     hold the right option (the "absolute position" grading of Moodle's
//     ordering question).
//   - matching: all or nothing: 1 when every option is paired with its
//     target. Partial: the share of options paired with their target.
//     Entries of a.Pairs for IDs that are not options are ignored.
//
// Score never panics, even on content Validate rejects; such content may
// score 0 for every answer.
func (c Content) Score(a Answer) (score, max float64) {
	max = c.MaxPoints()
	if a.Empty() {
		return 0, max
	}
	var share float64
	switch c.ItemKind() {
	case SingleChoice, TrueFalse:
		share = boolShare(c.Key != "" && a.Choice == c.Key)
	case MultipleResponse:
		share = c.multipleResponseShare(a.Choices)
	case Numeric:
		share = boolShare(c.numericRight(a.Text))
	case ShortText:
		share = boolShare(c.textAccepted(a.Text))
	case Ordering:
		share = c.orderingShare(a.Choices)
	case Matching:
		share = c.matchingShare(a.Pairs)
	}
	return math.Min(math.Max(share, 0), 1) * max, max
}

func boolShare(right bool) float64 {
	if right {
		return 1
	}
	return 0
}

func (c Content) partial() bool { return c.Scoring == Partial }

func (c Content) multipleResponseShare(choices []string) float64 {
	keys := make(map[string]bool, len(c.Keys))
	for _, k := range c.Keys {
		keys[k] = true
	}
	if len(keys) == 0 {
		return 0
	}
	selected := make(map[string]bool, len(choices))
	right, wrong := 0, 0
	for _, ch := range choices {
		if selected[ch] {
			continue
		}
		selected[ch] = true
		if keys[ch] {
			right++
		} else {
			wrong++
		}
	}
	if !c.partial() {
		return boolShare(right == len(keys) && wrong == 0)
	}
	return float64(right-wrong) / float64(len(keys))
}

func (c Content) numericRight(text string) bool {
	if c.Numeric == nil {
		return false
	}
	x, ok := ParseNumber(text)
	if !ok {
		return false
	}
	v, tol := c.Numeric.Value, c.Numeric.Tolerance
	if c.Numeric.Relative {
		tol *= math.Abs(v)
	}
	const rounding = 8 * 0x1p-52
	return math.Abs(x-v) <= tol+rounding*math.Max(math.Abs(x), math.Abs(v))
}

// ParseNumber reads a candidate's numeric answer: optional surrounding
// whitespace, an optional sign, decimal digits with an optional fraction
// and an optional exponent ("-1.5e3"). A single comma is accepted as the
// decimal separator when the text has no point ("3,14" is 3.14), so a
// candidate may write numbers as most of Europe does; thousands
// separators are not accepted, and "1,234" reads as 1.234. Hexadecimal,
// underscores, "NaN" and "Inf", and numbers too large for a float64, are
// rejected (ok is false).
func ParseNumber(text string) (x float64, ok bool) {
	s := strings.TrimSpace(text)
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	notNumeric := func(r rune) bool { return !strings.ContainsRune("0123456789+-.eE", r) }
	if s == "" || strings.ContainsFunc(s, notNumeric) {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, false
	}
	return x, true
}

func (c Content) textAccepted(text string) bool {
	got := normalizeText(text)
	if got == "" {
		return false
	}
	for _, acc := range c.Accepted {
		want := normalizeText(acc)
		if want == got || (!c.CaseSensitive && strings.EqualFold(want, got)) {
			return true
		}
	}
	return false
}

// normalizeText applies the short_text whitespace rule to s in NFC.
func normalizeText(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

func (c Content) orderingShare(choices []string) float64 {
	if len(c.Keys) == 0 || len(choices) != len(c.Keys) {
		return 0
	}
	want := make(map[string]bool, len(c.Keys))
	for _, k := range c.Keys {
		want[k] = true
	}
	seen := make(map[string]bool, len(choices))
	for _, ch := range choices {
		if !want[ch] || seen[ch] {
			return 0
		}
		seen[ch] = true
	}
	right := 0
	for i, ch := range choices {
		if ch == c.Keys[i] {
			right++
		}
	}
	if !c.partial() {
		return boolShare(right == len(c.Keys))
	}
	return float64(right) / float64(len(c.Keys))
}

func (c Content) matchingShare(pairs map[string]string) float64 {
	if len(c.Pairs) == 0 {
		return 0
	}
	right := 0
	for o, t := range c.Pairs {
		if got, ok := pairs[o]; ok && got == t {
			right++
		}
	}
	if !c.partial() {
		return boolShare(right == len(c.Pairs))
	}
	return float64(right) / float64(len(c.Pairs))
}
