package qti

import (
	"regexp"
	"strings"
)

// markdown turns XHTML content (an item body, a choice) into Markdown an
// author can edit: paragraphs, headings, lists, emphasis, code, links and
// images are kept as Markdown; tables become pipe tables; any other
// element is reduced to its text. Script and style elements are dropped
// with their content, so no script survives; Touchstone renders the
// result through items.RenderMarkdown, which sanitises it again. Text is
// never dropped otherwise: characters Markdown would read as markup are
// escaped. hook, when not nil, is asked first about every element: it
// returns the Markdown to write in its place and true, or false to let
// markdown convert it.
func markdown(nodes []*node, hook func(*node) (string, bool)) string {
	w := &mdWriter{hook: hook}
	w.nodes(nodes)
	return tidy(w.b.String())
}

type mdWriter struct {
	b    strings.Builder
	hook func(*node) (string, bool)
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidy trims trailing spaces of lines and collapses runs of blank lines.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if !strings.HasSuffix(l, "\\") {
			lines[i] = strings.TrimRight(l, " \t")
		}
	}
	s = strings.Join(lines, "\n")
	return strings.TrimSpace(blankLines.ReplaceAllString(s, "\n\n"))
}

func (w *mdWriter) atLineStart() bool {
	s := w.b.String()
	return s == "" || strings.HasSuffix(s, "\n")
}

func (w *mdWriter) block() {
	if !w.atLineStart() {
		w.b.WriteString("\n")
	}
	w.b.WriteString("\n")
}

func (w *mdWriter) nodes(nodes []*node) {
	for _, n := range nodes {
		w.node(n)
	}
}

// inline renders nodes on their own and returns them as one line.
func (w *mdWriter) inline(nodes []*node) string {
	sub := &mdWriter{hook: w.hook}
	sub.nodes(nodes)
	return strings.Join(strings.Fields(strings.ReplaceAll(sub.b.String(), "\\\n", " ")), " ")
}

func (w *mdWriter) node(n *node) {
	if n.name == "" {
		w.text(n.text)
		return
	}
	if w.hook != nil {
		if s, ok := w.hook(n); ok {
			w.b.WriteString(s)
			return
		}
	}
	switch n.name {
	case "script", "style", "head", "noscript", "template":
		return
	case "p", "div", "blockquote", "prompt", "dl", "dd", "dt", "caption", "section", "article", "figure", "figcaption":
		w.block()
		w.nodes(n.kids)
		w.block()
	case "h1", "h2", "h3", "h4", "h5", "h6":
		w.block()
		w.b.WriteString(strings.Repeat("#", int(n.name[1]-'0')) + " " + w.inline(n.kids))
		w.block()
	case "ul", "ol":
		w.block()
		i := 0
		for _, li := range n.kids {
			if li.name == "" {
				continue
			}
			i++
			prefix := "- "
			if n.name == "ol" {
				prefix = itoa(i) + ". "
			}
			w.b.WriteString(prefix + w.inline([]*node{li}) + "\n")
		}
		w.block()
	case "li":
		w.nodes(n.kids)
	case "pre":
		w.block()
		code := n.textContent()
		fence := "```"
		for strings.Contains(code, fence) {
			fence += "`"
		}
		w.b.WriteString(fence + "\n" + strings.TrimSuffix(code, "\n") + "\n" + fence)
		w.block()
	case "code", "kbd", "samp", "tt":
		w.code(n.textContent())
	case "br":
		w.b.WriteString("\\\n")
	case "hr":
		w.block()
		w.b.WriteString("---")
		w.block()
	case "em", "i", "cite", "dfn", "var":
		w.wrap("*", n.kids)
	case "strong", "b":
		w.wrap("**", n.kids)
	case "a":
		text := w.inline(n.kids)
		if href, ok := safeURL(n.attrs["href"]); ok && text != "" {
			w.b.WriteString("[" + text + "](" + href + ")")
		} else {
			w.b.WriteString(text)
		}
	case "img":
		alt := escapeMarkdown(n.attrs["alt"])
		if src, ok := safeURL(n.attrs["src"]); ok {
			w.b.WriteString("![" + alt + "](" + src + ")")
		} else {
			w.b.WriteString(alt)
		}
	case "table":
		w.block()
		w.table(n)
		w.block()
	default:
		w.nodes(n.kids)
	}
}

func (w *mdWriter) wrap(mark string, kids []*node) {
	s := w.inline(kids)
	if s == "" {
		return
	}
	w.b.WriteString(mark + s + mark)
}

func (w *mdWriter) code(s string) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	w.b.WriteString(fence + s + fence)
}

func (w *mdWriter) table(t *node) {
	var rows []*node
	var walk func(*node)
	walk = func(n *node) {
		for _, k := range n.elems("") {
			if k.name == "tr" {
				rows = append(rows, k)
			} else if k.name == "thead" || k.name == "tbody" || k.name == "tfoot" {
				walk(k)
			}
		}
	}
	walk(t)
	for i, r := range rows {
		var cells []string
		for _, c := range r.elems("") {
			cells = append(cells, strings.ReplaceAll(w.inline(c.kids), "|", `\|`))
		}
		w.b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		if i == 0 {
			w.b.WriteString(strings.Repeat("| --- ", max(len(cells), 1)) + "|\n")
		}
	}
}

// text writes character data as HTML would show it (runs of whitespace
// as one space), escaped for Markdown.
func (w *mdWriter) text(s string) {
	words := strings.FieldsFunc(s, isSpace)
	if len(words) == 0 {
		if s != "" && !w.atLineStart() {
			w.space()
		}
		return
	}
	if isSpace(rune(s[0])) && !w.atLineStart() {
		w.space()
	}
	out := escapeMarkdown(strings.Join(words, " "))
	if w.atLineStart() {
		if strings.ContainsAny(out[:1], "#-+|=") {
			out = `\` + out
		} else if m := listNumber.FindStringIndex(out); m != nil {
			out = out[:m[1]-1] + `\` + out[m[1]-1:]
		}
	}
	w.b.WriteString(out)
	if isSpace(rune(s[len(s)-1])) {
		w.space()
	}
}

// listNumber matches text that Markdown would read as an ordered list item.
var listNumber = regexp.MustCompile(`^\d+[.)]`)

func (w *mdWriter) space() {
	if !strings.HasSuffix(w.b.String(), " ") {
		w.b.WriteString(" ")
	}
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

var markdownSpecial = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`)

// escapeMarkdown escapes the characters Markdown reads as inline markup.
func escapeMarkdown(s string) string { return markdownSpecial.Replace(s) }

// safeURL returns u fit for a Markdown link or image: http, https and
// mailto URLs and relative references only (so no javascript: or data:),
// with spaces and parentheses percent-encoded.
func safeURL(u string) (string, bool) {
	u = strings.TrimSpace(u)
	if u == "" {
		return "", false
	}
	if i := strings.IndexAny(u, ":/?#"); i >= 0 && u[i] == ':' {
		switch strings.ToLower(u[:i]) {
		case "http", "https", "mailto":
		default:
			return "", false
		}
	}
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E").Replace(u), true
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
