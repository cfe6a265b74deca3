package qti

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/touchstone-assess/touchstone/items"
)

// supported are the interactions Import maps to item kinds.
var supported = []string{"choiceInteraction", "textEntryInteraction", "orderInteraction", "matchInteraction"}

// ignored are body elements that are not part of what a candidate answers
// or reads as the question: feedback and rubrics (read into Rationale),
// the end-attempt button, template output.
var ignored = []string{"endAttemptInteraction", "feedbackInline", "feedbackBlock", "modalFeedback", "rubricBlock", "printedVariable", "templateInline", "templateBlock"}

// reader reads one assessmentItem.
type reader struct {
	file string
	root *node
	x    *extData
}

func (r *reader) fail(n *node, format string, args ...any) error {
	return &Error{File: r.file, Line: n.line, Msg: fmt.Sprintf(format, args...)}
}

// readItem reads the assessmentItem root of file, a resource of version
// v, with its Touchstone extension x (nil when it has none).
func readItem(file string, v Version, root *node, x *extData) (Item, error) {
	r := &reader{file: file, root: root, x: x}
	switch root.space {
	case nsQTI21, nsQTI22:
		if v != QTI21 {
			return Item{}, r.fail(root, "the manifest declares a QTI 3.0 item, but the item is in the QTI 2 namespace %s", root.space)
		}
	case nsQTI30:
		if v != QTI30 {
			return Item{}, r.fail(root, "the manifest declares a QTI 2.1 item, but the item is in the QTI 3.0 namespace")
		}
	default:
		return Item{}, r.fail(root, "root element is in namespace %q, not that of QTI 2.1 or 3.0", root.space)
	}
	if root.name != "assessmentItem" {
		return Item{}, r.fail(root, "root element is %s, not assessmentItem", root.name)
	}
	if root.attrs["adaptive"] == "true" {
		return Item{}, r.fail(root, "adaptive items are not supported")
	}
	for _, name := range []string{"templateDeclaration", "templateProcessing"} {
		if t := root.elem(name); t != nil {
			return Item{}, r.fail(t, "template (cloned) items are not supported: %s", name)
		}
	}
	body := root.elem("itemBody")
	if body == nil {
		return Item{}, r.fail(root, "assessmentItem has no itemBody")
	}
	var found []*node
	walk(body, func(n *node) bool {
		if strings.HasSuffix(n.name, "Interaction") && !slices.Contains(ignored, n.name) {
			found = append(found, n)
			return false
		}
		return true
	})
	switch {
	case len(found) == 0:
		return Item{}, r.fail(body, "itemBody has no interaction")
	case len(found) > 1:
		var names []string
		for _, n := range found {
			names = append(names, n.name)
		}
		return Item{}, r.fail(found[1], "the item has %d interactions (%s); a Touchstone item holds one", len(found), strings.Join(names, ", "))
	}
	in := found[0]
	if !slices.Contains(supported, in.name) {
		return Item{}, r.fail(in, "%s is not supported (choice, textEntry, order and match interactions are)", in.name)
	}
	rid := in.attrs["responseIdentifier"]
	var decl *node
	for _, d := range root.elems("responseDeclaration") {
		if d.attrs["identifier"] == rid {
			decl = d
		}
	}
	if decl == nil {
		return Item{}, r.fail(in, "%s answers response %q, which has no responseDeclaration", in.name, rid)
	}

	it := Item{Identifier: root.attrs["identifier"], Title: root.attrs["title"]}
	if it.Identifier == "" {
		return Item{}, r.fail(root, "assessmentItem has no identifier")
	}
	c := &it.Content
	var err error
	switch in.name {
	case "choiceInteraction":
		err = r.choice(c, in, decl)
	case "orderInteraction":
		err = r.order(c, in, decl)
	case "matchInteraction":
		err = r.match(c, in, decl)
	case "textEntryInteraction":
		err = r.textEntry(c, in, decl)
	}
	if err != nil {
		return Item{}, err
	}
	if err := r.texts(&it, body, in); err != nil {
		return Item{}, err
	}
	if err := c.Validate(); err != nil {
		return Item{}, r.fail(root, "%v", err)
	}
	return it, nil
}

// walk calls f on every element under n in document order, descending
// into an element only when f returns true.
func walk(n *node, f func(*node) bool) {
	for _, k := range n.kids {
		if k.name != "" && f(k) {
			walk(k, f)
		}
	}
}

// values returns the value elements of a correctResponse (nil gives
// nil), trimmed unless raw.
func values(n *node, raw bool) []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, v := range n.elems("value") {
		s := v.textContent()
		if !raw {
			s = strings.TrimSpace(s)
		}
		out = append(out, s)
	}
	return out
}

type mapEntry struct {
	key           string
	value         float64
	caseSensitive bool
}

// mapping reads the mapping of decl, nil when it has none.
func (r *reader) mapping(decl *node, raw bool) ([]mapEntry, error) {
	m := decl.elem("mapping")
	if m == nil {
		return nil, nil
	}
	var out []mapEntry
	for _, e := range m.elems("mapEntry") {
		v, err := strconv.ParseFloat(strings.TrimSpace(e.attrs["mappedValue"]), 64)
		if err != nil {
			return nil, r.fail(e, "mapEntry mappedValue %q is not a number", e.attrs["mappedValue"])
		}
		key := e.attrs["mapKey"]
		if !raw {
			key = strings.TrimSpace(key)
		}
		out = append(out, mapEntry{key: key, value: v, caseSensitive: e.attrs["caseSensitive"] != "false"})
	}
	return out, nil
}

// keys returns the correct values of decl: its correctResponse, or else
// the mapped values worth points.
func (r *reader) keys(decl *node) ([]string, bool, error) {
	m, err := r.mapping(decl, false)
	if err != nil {
		return nil, false, err
	}
	keys := values(decl.elem("correctResponse"), false)
	if len(keys) == 0 {
		for _, e := range m {
			if e.value > 0 {
				keys = append(keys, e.key)
			}
		}
	}
	if len(keys) == 0 {
		return nil, false, r.fail(decl, "responseDeclaration %s has no correctResponse", decl.attrs["identifier"])
	}
	return keys, m != nil, nil
}

// options reads the choices named name under n.
func (r *reader) options(n *node, name string) ([]items.Option, error) {
	var out []items.Option
	for _, ch := range n.elems(name) {
		id := strings.TrimSpace(ch.attrs["identifier"])
		if id == "" {
			return nil, r.fail(ch, "%s has no identifier", name)
		}
		out = append(out, items.Option{ID: id, Text: markdown(ch.kids, r.skip)})
	}
	if len(out) == 0 {
		return nil, r.fail(n, "%s has no %s", n.name, name)
	}
	return out, nil
}

// kind returns the extension's kind when there is one, checking that it
// is one of the kinds the interaction can be; otherwise it returns infer.
func (r *reader) kind(in *node, infer items.Kind, allowed ...items.Kind) (items.Kind, error) {
	if r.x == nil {
		return infer, nil
	}
	k := items.Kind(r.x.kind)
	if kind := (items.Content{Kind: k}).ItemKind(); !slices.Contains(allowed, kind) {
		return "", r.fail(in, "the Touchstone extension says %s, which a %s cannot be", kind, in.name)
	}
	return k, nil
}

// scoring returns the extension's scoring rule when there is one,
// otherwise infer.
func (r *reader) scoring(infer string) string {
	if r.x != nil {
		return r.x.scoring
	}
	return infer
}

func (r *reader) choice(c *items.Content, in, decl *node) error {
	opts, err := r.options(in, "simpleChoice")
	if err != nil {
		return err
	}
	c.Options = opts
	keys, mapped, err := r.keys(decl)
	if err != nil {
		return err
	}
	switch card := decl.attrs["cardinality"]; card {
	case "single":
		if len(keys) != 1 {
			return r.fail(decl, "a single-choice response needs one correct value, has %d", len(keys))
		}
		infer := items.Kind("")
		if len(opts) == 2 && (opts[0].ID == items.OptionTrue && opts[1].ID == items.OptionFalse || opts[0].ID == items.OptionFalse && opts[1].ID == items.OptionTrue) {
			infer = items.TrueFalse
		}
		if c.Kind, err = r.kind(in, infer, items.SingleChoice, items.TrueFalse); err != nil {
			return err
		}
		c.Key = keys[0]
	case "multiple":
		if c.Kind, err = r.kind(in, items.MultipleResponse, items.MultipleResponse); err != nil {
			return err
		}
		c.Keys = keys
		c.Scoring = r.scoring(partialIf(mapped))
	default:
		return r.fail(decl, "choiceInteraction with %q cardinality is not supported (single or multiple)", card)
	}
	return nil
}

func partialIf(b bool) string {
	if b {
		return items.Partial
	}
	return ""
}

func (r *reader) order(c *items.Content, in, decl *node) error {
	opts, err := r.options(in, "simpleChoice")
	if err != nil {
		return err
	}
	c.Options = opts
	if card := decl.attrs["cardinality"]; card != "ordered" {
		return r.fail(decl, "orderInteraction needs an ordered response, has %q", card)
	}
	keys, _, err := r.keys(decl)
	if err != nil {
		return err
	}
	if c.Kind, err = r.kind(in, items.Ordering, items.Ordering); err != nil {
		return err
	}
	c.Keys = keys
	c.Scoring = r.scoring("")
	return nil
}

func (r *reader) match(c *items.Content, in, decl *node) error {
	sets := in.elems("simpleMatchSet")
	if len(sets) != 2 {
		return r.fail(in, "matchInteraction needs two simpleMatchSets, has %d", len(sets))
	}
	var err error
	if c.Options, err = r.options(sets[0], "simpleAssociableChoice"); err != nil {
		return err
	}
	if c.Targets, err = r.options(sets[1], "simpleAssociableChoice"); err != nil {
		return err
	}
	base := decl.attrs["baseType"]
	if base != "directedPair" && base != "pair" {
		return r.fail(decl, "matchInteraction needs a directedPair response, has %q", base)
	}
	keys, mapped, err := r.keys(decl)
	if err != nil {
		return err
	}
	has := func(opts []items.Option, id string) bool {
		return slices.ContainsFunc(opts, func(o items.Option) bool { return o.ID == id })
	}
	c.Pairs = make(map[string]string, len(keys))
	for _, k := range keys {
		f := strings.Fields(k)
		if len(f) != 2 {
			return r.fail(decl, "correct value %q is not a pair of identifiers", k)
		}
		src, dst := f[0], f[1]
		if base == "pair" && has(c.Targets, src) && has(c.Options, dst) {
			src, dst = dst, src
		}
		if !has(c.Options, src) || !has(c.Targets, dst) {
			return r.fail(decl, "correct value %q does not pair a choice of the first set with one of the second", k)
		}
		if _, dup := c.Pairs[src]; dup {
			return r.fail(decl, "choice %q is paired twice; a Touchstone matching item pairs each option with one target", src)
		}
		c.Pairs[src] = dst
	}
	if c.Kind, err = r.kind(in, items.Matching, items.Matching); err != nil {
		return err
	}
	c.Scoring = r.scoring(partialIf(mapped))
	return nil
}

func (r *reader) textEntry(c *items.Content, in, decl *node) error {
	var err error
	switch base := decl.attrs["baseType"]; base {
	case "float", "integer":
		if c.Kind, err = r.kind(in, items.Numeric, items.Numeric); err != nil {
			return err
		}
		keys, _, err := r.keys(decl)
		if err != nil {
			return err
		}
		if len(keys) != 1 {
			return r.fail(decl, "a numeric response needs one correct value, has %d", len(keys))
		}
		v, err := strconv.ParseFloat(keys[0], 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return r.fail(decl, "correct value %q is not a number", keys[0])
		}
		c.Numeric = &items.NumericKey{Value: v}
		return r.tolerance(c.Numeric)
	case "string":
		if c.Kind, err = r.kind(in, items.ShortText, items.ShortText); err != nil {
			return err
		}
		m, err := r.mapping(decl, true)
		if err != nil {
			return err
		}
		accepted := values(decl.elem("correctResponse"), true)
		c.CaseSensitive = true
		for _, e := range m {
			if e.value > 0 {
				accepted = append(accepted, e.key)
				c.CaseSensitive = c.CaseSensitive && e.caseSensitive
			}
		}
		seen := make(map[string]bool)
		for _, a := range accepted {
			if !seen[a] {
				seen[a] = true
				c.Accepted = append(c.Accepted, a)
			}
		}
		if len(c.Accepted) == 0 {
			return r.fail(decl, "responseDeclaration %s has no correctResponse", decl.attrs["identifier"])
		}
		return nil
	default:
		return r.fail(decl, "textEntryInteraction with baseType %q is not supported (float, integer or string)", base)
	}
}

// tolerance reads the tolerance of a numeric item from the first equal
// of the responseProcessing; without one, the answer must be exact.
func (r *reader) tolerance(k *items.NumericKey) error {
	rp := r.root.elem("responseProcessing")
	if rp == nil {
		return nil
	}
	eqs := rp.find("equal")
	if len(eqs) == 0 {
		return nil
	}
	eq := eqs[0]
	mode := eq.attrs["toleranceMode"]
	if mode == "" || mode == "exact" {
		return nil
	}
	f := strings.Fields(eq.attrs["tolerance"])
	if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[0] != f[1]) {
		return r.fail(eq, "tolerance %q is not supported (one value, or the same value twice)", eq.attrs["tolerance"])
	}
	t, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return r.fail(eq, "tolerance %q is not a number", f[0])
	}
	switch mode {
	case "absolute":
		k.Tolerance = t
	case "relative":
		// QTI's relative tolerance is a percentage.
		k.Tolerance, _ = strconv.ParseFloat(shiftDecimal(t, -2), 64)
		k.Relative = true
	default:
		return r.fail(eq, "toleranceMode %q is not supported", mode)
	}
	return nil
}

// skip is the markdown hook that leaves out the ignored elements.
func (r *reader) skip(n *node) (string, bool) {
	if slices.Contains(ignored, n.name) {
		return "", true
	}
	return "", false
}

// texts fills in the Markdown texts and the metadata of it: from the
// Touchstone extension when there is one, otherwise from the XHTML.
func (r *reader) texts(it *Item, body, in *node) error {
	c := &it.Content
	if x := r.x; x != nil {
		it.Identifier, it.Status, it.Version, it.Author = x.identifier, x.status, x.version, x.author
		it.Enemies, it.IRT, it.Statistics = x.enemies, x.irt, x.stats
		c.Domain, c.Stem, c.Exhibit, c.Rationale, c.Points = x.domain, x.stem, x.exhibit, x.rationale, x.points
		c.Skills, c.References = x.skills, x.references
		for _, set := range []struct {
			opts  []items.Option
			texts map[string]string
			what  string
		}{{c.Options, x.options, "option"}, {c.Targets, x.targets, "target"}} {
			if len(set.opts) != len(set.texts) {
				return &Error{File: manifestName, Line: x.line, Msg: fmt.Sprintf("the Touchstone extension holds %d %s texts for %s's %d", len(set.texts), set.what, r.file, len(set.opts))}
			}
			for i, o := range set.opts {
				t, ok := set.texts[o.ID]
				if !ok {
					return &Error{File: manifestName, Line: x.line, Msg: fmt.Sprintf("the Touchstone extension has no text for %s %q of %s", set.what, o.ID, r.file)}
				}
				set.opts[i].Text = t
			}
		}
		return nil
	}
	c.Domain = DefaultDomain
	var hook func(*node) (string, bool)
	hook = func(n *node) (string, bool) {
		if n == in {
			if in.name == "textEntryInteraction" {
				return `\_\_\_\_\_`, true
			}
			if p := in.elem("prompt"); p != nil {
				return "\n\n" + markdown(p.kids, hook) + "\n\n", true
			}
			return "", true
		}
		return r.skip(n)
	}
	var stem, exhibit []*node
	for _, k := range body.kids {
		if k.name == "div" && slices.Contains(strings.Fields(k.attrs["class"]), "exhibit") {
			exhibit = append(exhibit, k)
		} else {
			stem = append(stem, k)
		}
	}
	c.Stem = markdown(stem, hook)
	c.Exhibit = markdown(exhibit, hook)
	mx, err := r.maxScore()
	if err != nil {
		return err
	}
	if mx != 1 {
		c.Points = mx
	}
	// Feedback is no part of the question; authors find its text in the
	// rationale.
	var parts []string
	feedback := func(n *node) {
		s := markdown(n.kids, hook)
		if s == "" {
			return
		}
		if t := strings.TrimSpace(n.attrs["title"]); t != "" {
			s = "**" + escapeMarkdown(t) + "**\n\n" + s
		}
		parts = append(parts, s)
	}
	walk(body, func(n *node) bool {
		switch n.name {
		case "feedbackInline", "feedbackBlock", "rubricBlock":
			feedback(n)
			return false
		}
		return true
	})
	for _, n := range r.root.elems("modalFeedback") {
		feedback(n)
	}
	c.Rationale = strings.Join(parts, "\n\n")
	return nil
}

// maxScore returns the default value of the MAXSCORE outcome, 1 when the
// item has none.
func (r *reader) maxScore() (float64, error) {
	for _, o := range r.root.elems("outcomeDeclaration") {
		if o.attrs["identifier"] != "MAXSCORE" {
			continue
		}
		if v := values(o.elem("defaultValue"), false); len(v) == 1 {
			x, err := strconv.ParseFloat(v[0], 64)
			if err != nil {
				return 0, r.fail(o, "MAXSCORE %q is not a number", v[0])
			}
			return x, nil
		}
	}
	return 1, nil
}
