package items_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/touchstone-assess/touchstone/items"
)

func TestRenderMarkdownRemoves(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		mustNot []string // case-insensitive
		must    []string
	}{
		{"script tag", "Hello <script>alert(1)</script> world", []string{"<script", "alert(1)</"}, []string{"Hello"}},
		{"script block", "<script>\nalert(1)\n</script>\n\nafter", []string{"<script"}, []string{"<p>after</p>"}},
		{"onerror attribute", `<img src="x.png" onerror="alert(1)">`, []string{"onerror", "<img"}, nil},
		{"onerror in markdown image title", `![a](x.png "t\" onerror=\"alert(1)")`, []string{"onerror="}, []string{`<img src="x.png"`}},
		{"javascript link", "[click](javascript:alert(1))", []string{`href="javascript`, "javascript:"}, []string{"click"}},
		{"javascript link, mixed case", "[click](JaVaScRiPt:alert(1))", []string{"javascript:"}, []string{"click"}},
		{"javascript link, entity", "[click](javascript&#58;alert(1))", []string{"javascript:"}, []string{"click"}},
		{"javascript autolink", "<javascript:alert(1)>", []string{"href=", "javascript:"}, nil},
		{"javascript in text", "In JavaScript: use `javascript:void(0)`.", []string{"javascript:"}, []string{"JavaScript&#58; use", "<code>javascript&#58;void(0)</code>"}},
		{"iframe", `<iframe src="https://evil.example/"></iframe>`, []string{"<iframe"}, nil},
		{"data image", "![x](data:image/png;base64,AAAA)", []string{"data:"}, nil},
		{"style attribute", `<p style="color:red">red</p>`, []string{"style="}, nil},
		{"form", `<form action="/x"><input name="a"></form>`, []string{"<form", "<input"}, nil},
		{"raw link html", `<a href="https://example.com" onclick="x()">x</a>`, []string{"onclick", "<a "}, nil},
		{"class other than a language", "```go onclick\nx\n```", []string{"onclick"}, []string{"<pre>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(items.RenderMarkdown(tt.src))
			for _, bad := range tt.mustNot {
				if strings.Contains(strings.ToLower(got), strings.ToLower(bad)) {
					t.Errorf("RenderMarkdown(%q) = %q, want no %q", tt.src, got, bad)
				}
			}
			for _, good := range tt.must {
				if !strings.Contains(got, good) {
					t.Errorf("RenderMarkdown(%q) = %q, want it to hold %q", tt.src, got, good)
				}
			}
		})
	}
}

func TestRenderMarkdownKeeps(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"relative image", "![A pie chart](img/pie.png)", []string{`<img src="img/pie.png" alt="A pie chart"`}},
		{"https image", "![chart](https://cdn.example.org/c.svg)", []string{`<img src="https://cdn.example.org/c.svg" alt="chart"`}},
		{"fenced code block", "```excel\n=SUM(A1:A3) < 10\n```", []string{`<pre><code class="language-excel">=SUM(A1:A3) &lt; 10`, "</code></pre>"}},
		{"indented code", "    x := 1", []string{"<pre><code>x := 1"}},
		{"table", "| Name | Sales |\n| :--- | ---: |\n| Ann | 10 |", []string{"<table>", `<th align="left">Name</th>`, `<td align="right">10</td>`, "</table>"}},
		{"emphasis and lists", "**bold** _it_\n\n- one\n- two", []string{"<strong>bold</strong>", "<em>it</em>", "<li>one</li>"}},
		{"https link", "[docs](https://example.org/a?b=1)", []string{`<a href="https://example.org/a?b=1" rel="nofollow">docs</a>`}},
		{"escaped text", "1 < 2 & 3 > 2", []string{"1 &lt; 2 &amp; 3 &gt; 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(items.RenderMarkdown(tt.src))
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("RenderMarkdown(%q) = %q, want it to hold %q", tt.src, got, want)
				}
			}
		})
	}
}

// FuzzRenderMarkdown checks that no input yields a script element or a
// javascript: URL.
func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{
		"<script>alert(1)</script>", "<SCRIPT SRC=//x>", "[a](javascript:alert(1))", "<scr<script>ipt>",
		"![x](x.png)", "```js\njavascript:x\n```", "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
		"[a](java\tscript:x)", "<<script>script>", "&lt;script&gt;", "| a |\n|---|\n| <script> |",
		"<img src=x onerror=alert(1)>", "<svg><script>x</script></svg>", "[x]: javascript:y\n\n[x]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		got := strings.ToLower(string(items.RenderMarkdown(src)))
		for _, bad := range []string{"<script", "javascript:"} {
			if strings.Contains(got, bad) {
				t.Errorf("RenderMarkdown(%q) = %q, holds %q", src, got, bad)
			}
		}
	})
}

// TestForCandidateHidesKeys marshals the candidate's view of items of
// every kind, with key material no stem or option mentions, and checks
// that none of it is there.
func TestForCandidateHidesKeys(t *testing.T) {
	tests := []struct {
		name    string
		content items.Content
		secrets []string
	}{
		{"single choice", items.Content{
			Domain: "D", Stem: "Stem", Options: []items.Option{{ID: "opt-1", Text: "One"}, {ID: "opt-KEY7", Text: "Two"}},
			Key: "opt-KEY7", Rationale: "RATIONALE-SECRET",
		}, []string{`"key"`, "RATIONALE-SECRET", "rationale"}},
		{"multiple response", items.Content{
			Kind: items.MultipleResponse, Domain: "D", Stem: "Stem",
			Options: []items.Option{{ID: "m1", Text: "One"}, {ID: "m2", Text: "Two"}, {ID: "m3", Text: "Three"}},
			Keys:    []string{"m1", "m3"}, Scoring: items.Partial, Rationale: "RATIONALE-SECRET",
		}, []string{`"keys"`, `"scoring"`, "partial", "RATIONALE-SECRET", `["m1","m3"]`}},
		{"numeric", items.Content{
			Kind: items.Numeric, Domain: "D", Stem: "Stem", Numeric: &items.NumericKey{Value: 271828.5, Tolerance: 0.0625, Relative: true},
			Rationale: "RATIONALE-SECRET",
		}, []string{"271828", "0.0625", "tolerance", "relative", `"numeric":`, "RATIONALE-SECRET"}},
		{"short text", items.Content{
			Kind: items.ShortText, Domain: "D", Stem: "Stem", Accepted: []string{"ACCEPTED-ONE", "ACCEPTED-TWO"}, CaseSensitive: true,
			Rationale: "RATIONALE-SECRET",
		}, []string{"ACCEPTED", "accepted", "case_sensitive", "RATIONALE-SECRET"}},
		{"ordering", ordering(items.Partial), []string{`"keys"`, `"s1","s2","s3","s4"`, "Data first."}},
		{"matching", matching(items.Partial), []string{`"pairs"`, `"o1":"t1"`, "By name."}},
		{"true/false", trueFalse(), []string{`"key"`, "It does."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.content.Validate(); err != nil {
				t.Fatalf("test content is invalid: %v", err)
			}
			cc := tt.content.ForCandidate()
			for _, view := range []items.CandidateContent{cc, cc.Shuffled(1)} {
				out, err := json.Marshal(view)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range tt.secrets {
					if strings.Contains(string(out), s) {
						t.Errorf("candidate JSON %s holds %q", out, s)
					}
				}
			}
			if cc.Kind != tt.content.ItemKind() {
				t.Errorf("Kind = %q, want %q", cc.Kind, tt.content.ItemKind())
			}
		})
	}
}

func TestForCandidateRenders(t *testing.T) {
	c := matching("")
	c.Stem = "Match **each** function. <script>alert(1)</script>"
	c.Exhibit = "![table](img/t.png)"
	c.Options[0].Text = "`SUM`"
	c.Points = 3
	cc := c.ForCandidate()
	checks := []struct {
		what, got, want string
	}{
		{"stem", string(cc.Stem), "<p>Match <strong>each</strong> function. alert(1)</p>"}, // the tags dropped, their text kept as text
		{"exhibit", string(cc.Exhibit), `<img src="img/t.png" alt="table"`},
		{"option 0", string(cc.Options[0].HTML), "<p><code>SUM</code></p>"},
		{"target 3", string(cc.Targets[3].HTML), "<p>finds the largest</p>"},
	}
	for _, ch := range checks {
		if !strings.Contains(ch.got, ch.want) {
			t.Errorf("%s = %q, want it to hold %q", ch.what, ch.got, ch.want)
		}
	}
	if got, want := ids(cc.Options), []string{"o1", "o2", "o3"}; !slices.Equal(got, want) {
		t.Errorf("option ids = %v, want %v (the authored order)", got, want)
	}
	if got, want := ids(cc.Targets), []string{"t1", "t2", "t3", "t4"}; !slices.Equal(got, want) {
		t.Errorf("target ids = %v, want %v (the authored order)", got, want)
	}
	if cc.Points != 3 {
		t.Errorf("Points = %v, want 3", cc.Points)
	}
	if got := numeric(1, 0, false).ForCandidate(); got.Options != nil || got.Targets != nil || got.Exhibit != "" {
		t.Errorf("numeric ForCandidate() = %+v, want no options, targets or exhibit", got)
	}
}

func ids(opts []items.CandidateOption) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.ID
	}
	return out
}

func TestShuffled(t *testing.T) {
	c := ordering("")
	for len(c.Options) < items.MaxOptions {
		id := fmt.Sprintf("s%d", len(c.Options)+1)
		c.Options = append(c.Options, items.Option{ID: id, Text: "step " + id})
	}
	cc := c.ForCandidate()
	authored := ids(cc.Options)

	first := cc.Shuffled(42)
	if got := ids(first.Options); !slices.Equal(got, ids(cc.Shuffled(42).Options)) {
		t.Errorf("Shuffled(42) gave %v, then another order: want the same order for the same seed", got)
	}
	if got := ids(cc.Options); !slices.Equal(got, authored) {
		t.Errorf("after Shuffled, the receiver's options = %v, want them untouched, %v", got, authored)
	}
	orders := map[string]bool{}
	for seed := range uint64(50) {
		got := ids(cc.Shuffled(seed).Options)
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		want := slices.Clone(authored)
		slices.Sort(want)
		if !slices.Equal(sorted, want) {
			t.Fatalf("Shuffled(%d) options = %v, want a permutation of %v", seed, got, authored)
		}
		orders[strings.Join(got, ",")] = true
	}
	if len(orders) < 45 {
		t.Errorf("50 seeds gave %d distinct orders of 8 options, want nearly 50", len(orders))
	}

	m := matching("").ForCandidate()
	changed := false
	for seed := range uint64(20) {
		s := m.Shuffled(seed)
		changed = changed || !slices.Equal(ids(s.Targets), ids(m.Targets))
	}
	if !changed {
		t.Error("Shuffled never reordered the targets of a matching item in 20 seeds")
	}

	single := singleChoice().ForCandidate()
	if got, want := ids(single.Shuffled(7).Options), ids(single.Options); !slices.Equal(got, want) {
		t.Errorf("Shuffled of a single-choice item = %v, want the order unchanged, %v", got, want)
	}
}

// TestRendererConcurrent renders from many goroutines with one Renderer;
// run it with -race.
func TestRendererConcurrent(t *testing.T) {
	r := items.NewRenderer()
	c := matching(items.Partial)
	want := r.ForCandidate(c)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				got := r.ForCandidate(c)
				if got.Stem != want.Stem || got.Options[2].HTML != want.Options[2].HTML {
					t.Errorf("concurrent ForCandidate = %+v, want %+v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkForCandidate(b *testing.B) {
	c := matching("")
	for b.Loop() {
		c.ForCandidate()
	}
}

func BenchmarkRendererForCandidate(b *testing.B) {
	r, c := items.NewRenderer(), matching("")
	for b.Loop() {
		r.ForCandidate(c)
	}
}
