package items

import (
	"bytes"
	"html/template"
	"math/rand/v2"
	"regexp"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// RenderMarkdown renders item Markdown (CommonMark with the GitHub
// extensions: tables, fenced code blocks, strikethrough, autolinks) to HTML
// that is safe to put in a candidate's page.
//
// Raw HTML in src is dropped, not passed through, and the output is then
// sanitised with bluemonday's UGCPolicy: no script, style, iframe, form or
// input elements, no on* or style attributes, and link and image URLs only
// http, https, mailto or relative (so no javascript: or data: URLs; links
// get rel="nofollow"). Images keep src and alt; pre and code keep a
// class="language-…" naming the language of a fenced code block. As a last
// guard every "javascript:" left in text (as in a question about
// JavaScript) is written with its colon as the character reference
// "&#58;", which reads the same but can never start a URL.
//
// RenderMarkdown builds a Renderer for the one call; code that renders
// often keeps a Renderer instead.
func RenderMarkdown(src string) template.HTML {
	return NewRenderer().Render(src)
}

// Renderer renders item Markdown as RenderMarkdown does. Building one
// (the parser and the sanitising policy) costs far more than rendering a
// stem with it, so code that renders often builds one Renderer and keeps
// it. A Renderer is safe for concurrent use.
type Renderer struct {
	md              goldmark.Markdown
	policy          *bluemonday.Policy
	javascriptColon *regexp.Regexp
}

// NewRenderer returns a Renderer.
func NewRenderer() *Renderer {
	md := goldmark.New(goldmark.WithExtensions(
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough,
		extension.Linkify,
	)) // without html.WithUnsafe, goldmark omits raw HTML and dangerous URLs
	policy := bluemonday.UGCPolicy()
	policy.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w.+#-]+$`)).OnElements("pre", "code")
	return &Renderer{md: md, policy: policy, javascriptColon: regexp.MustCompile(`(?i)javascript:`)}
}

// Render renders src as RenderMarkdown does.
func (r *Renderer) Render(src string) template.HTML {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(src), &buf); err != nil {
		return "" // goldmark fails only when the writer does; a bytes.Buffer does not
	}
	out := r.policy.SanitizeBytes(buf.Bytes())
	out = r.javascriptColon.ReplaceAllFunc(out, func(m []byte) []byte {
		return append(m[:len(m)-1:len(m)-1], "&#58;"...)
	})
	return template.HTML(out)
}

// CandidateContent is an item as a candidate's browser may see it: its
// kind, its Markdown rendered to sanitised HTML, its points, and nothing of
// its key (Key, Keys, Numeric, Accepted, Pairs) or Rationale.
type CandidateContent struct {
	Kind    Kind              `json:"kind"`
	Stem    template.HTML     `json:"stem"`
	Exhibit template.HTML     `json:"exhibit,omitempty"`
	Options []CandidateOption `json:"options,omitempty"`
	Targets []CandidateOption `json:"targets,omitempty"`
	Points  float64           `json:"points"`
}

// CandidateOption is an option or a matching target as a candidate sees
// it: its ID, which the Answer quotes, and its text as sanitised HTML.
type CandidateOption struct {
	ID   string        `json:"id"`
	HTML template.HTML `json:"html"`
}

// ForCandidate returns what a candidate may see of the item, with options
// and targets in the order the author wrote them. That order may give the
// key away for ordering items (often written in the correct order) and
// matching items (often written pair by pair), so callers send
// Shuffled(seed) of those, with a seed the candidate cannot know.
//
// ForCandidate builds a Renderer for the one call; Renderer.ForCandidate
// reuses one.
func (c Content) ForCandidate() CandidateContent {
	return NewRenderer().ForCandidate(c)
}

// ForCandidate returns c.ForCandidate(), rendered with r.
func (r *Renderer) ForCandidate(c Content) CandidateContent {
	return CandidateContent{
		Kind:    c.ItemKind(),
		Stem:    r.Render(c.Stem),
		Exhibit: r.Render(c.Exhibit),
		Options: r.options(c.Options),
		Targets: r.options(c.Targets),
		Points:  c.MaxPoints(),
	}
}

func (r *Renderer) options(opts []Option) []CandidateOption {
	if len(opts) == 0 {
		return nil
	}
	out := make([]CandidateOption, len(opts))
	for i, o := range opts {
		out[i] = CandidateOption{ID: o.ID, HTML: r.Render(o.Text)}
	}
	return out
}

// Shuffled returns a copy of cc with the options of an ordering item, and
// the options and targets of a matching item, in a pseudo-random order
// drawn from seed; items of other kinds come back unchanged (the order of
// choices is the exam's policy, not the item's). The order depends only on
// seed and the authored order, so the same seed (say, one kept with the
// attempt) gives the same page on every reload. Every order is equally
// likely, the correct one included: excluding it would tell the candidate
// something about the key.
func (cc CandidateContent) Shuffled(seed uint64) CandidateContent {
	src := rand.NewPCG(seed, 0x7a6f_7563_6873_746f) // the stream constant is arbitrary and fixed
	switch cc.Kind {
	case Ordering:
		cc.Options = shuffle(src, cc.Options)
	case Matching:
		cc.Options = shuffle(src, cc.Options)
		cc.Targets = shuffle(src, cc.Targets)
	}
	return cc
}

// shuffle returns a permutation of opts by Fisher–Yates. It draws from src
// directly, not through rand.Shuffle, so that an order depends only on the
// PCG sequence and never on a change of the library's algorithm; the
// modulo bias is below 2⁻⁶⁰ for the few options an item has.
func shuffle(src *rand.PCG, opts []CandidateOption) []CandidateOption {
	out := append([]CandidateOption(nil), opts...)
	for i := len(out) - 1; i > 0; i-- {
		j := int(src.Uint64() % uint64(i+1))
		out[i], out[j] = out[j], out[i]
	}
	return out
}
