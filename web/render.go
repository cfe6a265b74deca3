package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"path"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/web/auth"
)

// page is what every template receives: the page's own data in Data, and
// what the layout needs (who is signed in, the CSRF token, navigation).
type page struct {
	Name     string
	User     *auth.User
	CSRF     string
	BaseURL  string
	Path     string
	Data     any
	Year     int
	SignedIn bool
}

// Has reports whether the signed-in user holds any of roles (by name).
func (p page) Has(roles ...string) bool {
	if p.User == nil {
		return false
	}
	for _, r := range roles {
		if p.User.Has(auth.Role(r)) {
			return true
		}
	}
	return false
}

// pageError is the data of the error page.
type pageError struct {
	Status  int
	Message string
}

var funcs = template.FuncMap{
	"num": func(v float64, digits int) string {
		if math.IsNaN(v) {
			return "–"
		}
		out := fmt.Sprintf("%.*f", digits, v)
		if strings.Trim(out, "-0.") == "" {
			out = strings.TrimPrefix(out, "-") // a value that rounds to zero has no sign
		}
		return out
	},
	"pctOf": func(p float64) string {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", 100*p)
	},
	"pct": func(v, of float64) string {
		if of == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", 100*v/of)
	},
	"date": func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	"datetime": func(t time.Time) string {
		return t.UTC().Format("2 Jan 2006, 15:04 UTC")
	},
	"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"add":      func(a, b int) int { return a + b },
	"letter":   func(i int) string { return string(rune('A' + i)) },
	"lower":    strings.ToLower,
	"examView": examViewPath,
	"list":     func(xs ...string) []string { return xs },
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"deref": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
}

// parsePages parses every templates/*.html page with the layout and the
// partials (files starting with "_").
func parsePages() (map[string]*template.Template, error) {
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	base := template.New("").Funcs(funcs)
	var pages []string
	for _, f := range files {
		name := path.Base(f)
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			if _, err := base.ParseFS(templateFiles, f); err != nil {
				return nil, fmt.Errorf("web: parse %s: %w", f, err)
			}
			continue
		}
		pages = append(pages, f)
	}
	out := make(map[string]*template.Template, len(pages))
	for _, f := range pages {
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, f)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", f, err)
		}
		out[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return out, nil
}

// render answers with the named page inside the layout.
func (s *Server) render(c *fiber.Ctx, name string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	p := page{Name: name, CSRF: s.csrfToken(c), BaseURL: s.cfg.BaseURL, Path: c.Path(), Data: data, Year: s.cfg.Now().Year()}
	if sess := session(c); sess != nil {
		u := sess.User
		p.User, p.SignedIn = &u, true
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

// examViews maps a per-exam staff page to the path prefix of the same view
// of another exam, for the exam switcher.
var examViews = map[string]string{
	"statistics":    "/psychometrics/exams/",
	"calibrations":  "/psychometrics/exams/",
	"dif":           "/psychometrics/exams/",
	"standards":     "/standards/exams/",
	"study":         "/standards/exams/",
	"study_new":     "/standards/exams/",
	"exam_settings": "/manage/exams/",
	"items":         "/authoring/exams/",
}

// examViewSuffix is what follows the exam id in a view's path.
var examViewSuffix = map[string]string{"calibrations": "/calibrations", "dif": "/dif"}

// examViewPath is the path of page view of exam id.
func examViewPath(view, id string) string {
	prefix, ok := examViews[view]
	if !ok {
		prefix = "/psychometrics/exams/"
	}
	return prefix + id + examViewSuffix[view]
}
