package items

import (
	"fmt"
	"math"
	"strings"

	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Kind is an item type: it decides which fields of Content hold the key and
// how an Answer is scored.
type Kind string

// The item kinds. The zero Kind ("") is SingleChoice, so content written
// before kinds existed keeps its meaning.
const (
	SingleChoice     Kind = "single_choice"
	MultipleResponse Kind = "multiple_response"
	TrueFalse        Kind = "true_false"
	Numeric          Kind = "numeric"
	ShortText        Kind = "short_text"
	Ordering         Kind = "ordering"
	Matching         Kind = "matching"
)

// Known reports whether k is one of the kinds above ("" is not: it stands
// for SingleChoice only in Content.Kind).
func (k Kind) Known() bool {
	switch k {
	case SingleChoice, MultipleResponse, TrueFalse, Numeric, ShortText, Ordering, Matching:
		return true
	}
	return false
}

// Scoring rules of multiple_response, ordering and matching items.
const (
	// AllOrNothing gives the item's points only for a fully correct answer.
	// It is the default (Content.Scoring "").
	AllOrNothing = "all_or_nothing"
	// Partial gives a share of the points; Content.Score documents the
	// share for each kind.
	Partial = "partial"
)

// True/false option IDs. A true_false item has exactly these two options
// (TrueFalseOptions) and its Key is one of them.
const (
	OptionTrue  = "true"
	OptionFalse = "false"
)

// Limits on the number of options and targets of an item.
const (
	MinOptions = 2
	MaxOptions = 8
)

// TrueFalseOptions returns the two options of a true_false item, "True"
// then "False". Authors may reword the texts (in another language, say);
// the IDs are fixed.
func TrueFalseOptions() []Option {
	return []Option{{ID: OptionTrue, Text: "True"}, {ID: OptionFalse, Text: "False"}}
}

// Option is one answer choice (or, in Content.Targets, one matching
// target). Its ID is opaque and says nothing of its position or
// correctness. Its Text is Markdown.
type Option struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// NumericKey is the key of a numeric item: an answer x is correct when
// |x − Value| ≤ Tolerance, or |x − Value| ≤ Tolerance·|Value| when Relative.
type NumericKey struct {
	Value     float64 `json:"value"`
	Tolerance float64 `json:"tolerance,omitempty"`
	Relative  bool    `json:"relative,omitempty"`
}

// Content is what an author writes: everything a version holds. Stem,
// Exhibit and option texts are Markdown (RenderMarkdown). Which key fields
// are used depends on Kind:
//
//   - single_choice (or ""): Options, Key (the ID of the correct option).
//   - true_false: Options = TrueFalseOptions(), Key "true" or "false".
//   - multiple_response: Options, Keys (the IDs of all correct options),
//     Scoring.
//   - numeric: Numeric; no options.
//   - short_text: Accepted, CaseSensitive; no options.
//   - ordering: Options, Keys (every option ID once, in the correct order),
//     Scoring.
//   - matching: Options (the prompts), Targets, Pairs (option ID → target
//     ID, one per option), Scoring.
//
// Validate rejects key fields a kind does not use, so no stale key hides in
// an item. Key material and Rationale never reach a candidate: send
// ForCandidate instead.
//
// Store keeps every field of every kind.
type Content struct {
	Kind      Kind     `json:"kind,omitempty"`
	Domain    string   `json:"domain"`
	Stem      string   `json:"stem"`
	Exhibit   string   `json:"exhibit"`
	Options   []Option `json:"options"`
	Key       string   `json:"key"` // single_choice, true_false: the ID of the correct option
	Rationale string   `json:"rationale"`

	// Keys are the correct option IDs of a multiple_response item, or the
	// option IDs in the correct order of an ordering item.
	Keys []string `json:"keys,omitempty"`
	// Scoring is AllOrNothing ("" means it) or Partial.
	Scoring string `json:"scoring,omitempty"`
	// Numeric is the key of a numeric item.
	Numeric *NumericKey `json:"numeric,omitempty"`
	// Accepted are the accepted answers of a short_text item. Answers and
	// accepted texts are compared after trimming surrounding whitespace and
	// collapsing every inner run of whitespace to one space, and ignoring
	// case (Unicode simple folding) unless CaseSensitive.
	Accepted      []string `json:"accepted,omitempty"`
	CaseSensitive bool     `json:"case_sensitive,omitempty"`
	// Targets are what the options of a matching item are matched to; a
	// target may serve several options, or none (a distractor).
	Targets []Option `json:"targets,omitempty"`
	// Pairs maps each option ID of a matching item to its target ID.
	Pairs map[string]string `json:"pairs,omitempty"`

	// Points is the item's weight, the score of a fully correct answer;
	// 0 means 1.
	Points float64 `json:"points,omitempty"`
	// Skills and References tag the item (skills it measures, sources it
	// rests on); they are free text.
	Skills     []string `json:"skills,omitempty"`
	References []string `json:"references,omitempty"`
}

// ItemKind returns the item's kind, SingleChoice when Kind is "".
func (c Content) ItemKind() Kind {
	if c.Kind == "" {
		return SingleChoice
	}
	return c.Kind
}

// MaxPoints returns the score of a fully correct answer: Points, or 1 when
// Points is 0 (or, in content Validate rejects, negative or not finite).
func (c Content) MaxPoints() float64 {
	if c.Points > 0 && !math.IsInf(c.Points, 1) {
		return c.Points
	}
	return 1
}

// Validate checks the content of an item of any kind. It returns a
// *valid.Error naming the JSON field at fault (e.g. "keys[1]",
// "numeric.tolerance"), so errors.Is(err, valid.ErrInvalid) holds.
func (c Content) Validate() error {
	if strings.TrimSpace(c.Domain) == "" {
		return valid.Errorf("domain", "is required")
	}
	if strings.TrimSpace(c.Stem) == "" {
		return valid.Errorf("stem", "is required")
	}
	if math.IsNaN(c.Points) || math.IsInf(c.Points, 0) || c.Points < 0 {
		return valid.Errorf("points", "must be a finite number ≥ 0")
	}
	if err := nonBlank("skills", c.Skills); err != nil {
		return err
	}
	if err := nonBlank("references", c.References); err != nil {
		return err
	}
	if !c.ItemKind().Known() {
		return valid.Errorf("kind", "must be one of %s, %s, %s, %s, %s, %s or %s, is %q",
			SingleChoice, MultipleResponse, TrueFalse, Numeric, ShortText, Ordering, Matching, c.Kind)
	}
	if err := c.unusedFields(); err != nil {
		return err
	}
	switch c.ItemKind() {
	case SingleChoice:
		if err := validOptions("options", c.Options); err != nil {
			return err
		}
		return keyIn(c.Key, c.Options)
	case TrueFalse:
		if len(c.Options) != 2 {
			return valid.Errorf("options", "must be the two options %q and %q", OptionTrue, OptionFalse)
		}
		if err := validOptions("options", c.Options); err != nil {
			return err
		}
		for i, o := range c.Options {
			if o.ID != OptionTrue && o.ID != OptionFalse {
				return valid.Errorf(fmt.Sprintf("options[%d].id", i), "must be %q or %q", OptionTrue, OptionFalse)
			}
		}
		return keyIn(c.Key, c.Options)
	case MultipleResponse:
		if err := validOptions("options", c.Options); err != nil {
			return err
		}
		if len(c.Keys) == 0 {
			return valid.Errorf("keys", "must name at least one correct option")
		}
		if err := keysIn(c.Keys, c.Options); err != nil {
			return err
		}
		return validScoring(c.Scoring)
	case Ordering:
		if err := validOptions("options", c.Options); err != nil {
			return err
		}
		if len(c.Keys) != len(c.Options) {
			return valid.Errorf("keys", "must list all %d options in the correct order, lists %d", len(c.Options), len(c.Keys))
		}
		if err := keysIn(c.Keys, c.Options); err != nil {
			return err
		}
		return validScoring(c.Scoring)
	case Matching:
		if err := validOptions("options", c.Options); err != nil {
			return err
		}
		if err := validOptions("targets", c.Targets); err != nil {
			return err
		}
		targets := make(map[string]bool, len(c.Targets))
		for _, t := range c.Targets {
			targets[t.ID] = true
		}
		options := make(map[string]bool, len(c.Options))
		for _, o := range c.Options {
			options[o.ID] = true
			t, ok := c.Pairs[o.ID]
			if !ok {
				return valid.Errorf("pairs", "must pair option %q with a target", o.ID)
			}
			if !targets[t] {
				return valid.Errorf("pairs."+o.ID, "must be the id of one target, is %q", t)
			}
		}
		for o := range c.Pairs {
			if !options[o] {
				return valid.Errorf("pairs."+o, "is not the id of an option")
			}
		}
		return validScoring(c.Scoring)
	case Numeric:
		if c.Numeric == nil {
			return valid.Errorf("numeric", "is required")
		}
		if math.IsNaN(c.Numeric.Value) || math.IsInf(c.Numeric.Value, 0) {
			return valid.Errorf("numeric.value", "must be a finite number")
		}
		if math.IsNaN(c.Numeric.Tolerance) || math.IsInf(c.Numeric.Tolerance, 0) || c.Numeric.Tolerance < 0 {
			return valid.Errorf("numeric.tolerance", "must be a finite number ≥ 0")
		}
		return nil
	case ShortText:
		if len(c.Accepted) == 0 {
			return valid.Errorf("accepted", "must hold at least one accepted answer")
		}
		return nonBlank("accepted", c.Accepted)
	}
	return nil
}

// unusedFields rejects the key fields c's kind does not use.
func (c Content) unusedFields() error {
	k := c.ItemKind()
	uses := func(kinds ...Kind) bool {
		for _, u := range kinds {
			if k == u {
				return true
			}
		}
		return false
	}
	switch {
	case len(c.Options) > 0 && !uses(SingleChoice, TrueFalse, MultipleResponse, Ordering, Matching):
		return valid.Errorf("options", "is not used by %s items", k)
	case c.Key != "" && !uses(SingleChoice, TrueFalse):
		return valid.Errorf("key", "is not used by %s items", k)
	case len(c.Keys) > 0 && !uses(MultipleResponse, Ordering):
		return valid.Errorf("keys", "is not used by %s items", k)
	case c.Scoring != "" && !uses(MultipleResponse, Ordering, Matching):
		return valid.Errorf("scoring", "is not used by %s items", k)
	case c.Numeric != nil && k != Numeric:
		return valid.Errorf("numeric", "is not used by %s items", k)
	case len(c.Accepted) > 0 && k != ShortText:
		return valid.Errorf("accepted", "is not used by %s items", k)
	case c.CaseSensitive && k != ShortText:
		return valid.Errorf("case_sensitive", "is not used by %s items", k)
	case len(c.Targets) > 0 && k != Matching:
		return valid.Errorf("targets", "is not used by %s items", k)
	case len(c.Pairs) > 0 && k != Matching:
		return valid.Errorf("pairs", "is not used by %s items", k)
	}
	return nil
}

// validOptions checks that opts holds MinOptions to MaxOptions options,
// each with a text and a unique, non-empty ID.
func validOptions(field string, opts []Option) error {
	if len(opts) < MinOptions || len(opts) > MaxOptions {
		return valid.Errorf(field, "must hold %d to %d options, has %d", MinOptions, MaxOptions, len(opts))
	}
	seen := make(map[string]bool, len(opts))
	for i, o := range opts {
		if o.ID == "" || strings.TrimSpace(o.Text) == "" {
			return valid.Errorf(fmt.Sprintf("%s[%d]", field, i), "needs an id and a text")
		}
		if seen[o.ID] {
			return valid.Errorf(fmt.Sprintf("%s[%d].id", field, i), "duplicates %q", o.ID)
		}
		seen[o.ID] = true
	}
	return nil
}

func keyIn(key string, opts []Option) error {
	for _, o := range opts {
		if o.ID == key {
			return nil
		}
	}
	return valid.Errorf("key", "must be the id of one option")
}

// keysIn checks that every key names an option, and no option twice.
func keysIn(keys []string, opts []Option) error {
	ids := make(map[string]bool, len(opts))
	for _, o := range opts {
		ids[o.ID] = true
	}
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		field := fmt.Sprintf("keys[%d]", i)
		if !ids[k] {
			return valid.Errorf(field, "must be the id of an option, is %q", k)
		}
		if seen[k] {
			return valid.Errorf(field, "duplicates %q", k)
		}
		seen[k] = true
	}
	return nil
}

func validScoring(s string) error {
	if s != "" && s != AllOrNothing && s != Partial {
		return valid.Errorf("scoring", "must be %q or %q, is %q", AllOrNothing, Partial, s)
	}
	return nil
}

func nonBlank(field string, list []string) error {
	for i, s := range list {
		if strings.TrimSpace(s) == "" {
			return valid.Errorf(fmt.Sprintf("%s[%d]", field, i), "must not be blank")
		}
	}
	return nil
}
