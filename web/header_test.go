package web_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// headerLinks lists the targets of the main navigation in a page.
func headerLinks(page []byte) []string {
	nav := regexp.MustCompile(`(?s)<nav class="site-nav"[^>]*>(.*?)</nav>`).FindSubmatch(page)
	if nav == nil {
		return nil
	}
	var out []string
	for _, m := range regexp.MustCompile(`<a href="([^"]+)"`).FindAllSubmatch(nav[1], -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// TestHeaderNav: the header links each role to its pages, the admissions
// next to the console for proctors and administrators.
func TestHeaderNav(t *testing.T) {
	f := webtest.New(t, dbtest.SQLite(t))
	for _, tc := range []struct {
		name string
		user webtest.User
		want []string
	}{
		{"administrator", f.Users.Admin, []string{"/exams", "/proctor", "/proctor/admissions", "/exams?view=statistics", "/exams?view=standards",
			"/authoring/items", "/admin/audit", "/verify"}},
		{"proctor", f.Users.Proctor, []string{"/exams", "/proctor", "/proctor/admissions", "/verify"}},
		{"program manager", f.Users.Manager, []string{"/exams", "/exams?view=statistics", "/exams?view=standards", "/authoring/items",
			"/manage/achievements", "/verify"}},
		{"candidate", f.Users.Candidate, []string{"/exams", "/badges", "/verify"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.Do(t, webtest.WithBearer(webtest.NewRequest("GET", "/exams", nil), f.Token(t, tc.user)))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /exams: %d", resp.StatusCode)
			}
			if got := headerLinks(resp.Body); !slices.Equal(got, tc.want) {
				t.Errorf("header links %v, want %v", got, tc.want)
			}
		})
	}
	resp := f.Do(t, webtest.WithBearer(webtest.NewRequest("GET", "/proctor/admissions", nil), f.Token(t, f.Users.Proctor)))
	if want := `<a href="/proctor/admissions" aria-current="page">Admissions</a>`; resp.StatusCode != http.StatusOK || !regexp.MustCompile(regexp.QuoteMeta(want)).Match(resp.Body) {
		t.Errorf("the admissions page: %d, want 200 with %s in the header", resp.StatusCode, want)
	}
}

// TestHeaderInBrowser: at desktop, laptop, tablet and phone widths, the
// header of every role shows each of its links whole, clear of the brand
// and of the account, without horizontal scrolling. With
// TOUCHSTONE_SCREENSHOTS set it keeps a picture of each header.
func TestHeaderInBrowser(t *testing.T) {
	browser := startBrowser(t)
	f := webtest.New(t, dbtest.SQLite(t))
	base := listen(t, f.Server)
	type box struct{ Left, Right, Top, Bottom float64 }
	type layout struct {
		Scroll, Client int
		Brand, Account box
		Links          []box
		Names          []string
	}
	measure := `(() => {
		const box = (e) => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
		const links = [...document.querySelectorAll('.site-nav a')];
		return {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
			brand: box(document.querySelector('.brand')), account: box(document.querySelector('.account')),
			links: links.map(box), names: links.map((a) => a.textContent)};
	})()`
	overlap := func(a, b box) bool {
		return a.Left < b.Right-0.5 && b.Left < a.Right-0.5 && a.Top < b.Bottom-0.5 && b.Top < a.Bottom-0.5
	}
	for _, role := range []struct {
		name string
		user webtest.User
	}{{"admin", f.Users.Admin}, {"proctor", f.Users.Proctor}, {"manager", f.Users.Manager}, {"candidate", f.Users.Candidate}} {
		tab := tabAs(t, browser, f, base, role.user)
		for _, width := range []int64{1280, 1024, 768, 390} {
			what := fmt.Sprintf("%s at %d px", role.name, width)
			browserStep(t, tab, what, chromedp.EmulateViewport(width, 900), chromedp.Navigate(base+"/exams"), chromedp.WaitVisible(chromedp.CSS(".site-nav")))
			l := evalJS[layout](t, tab, measure)
			if l.Scroll > l.Client {
				t.Errorf("%s: the page is %d px wide in a %d px viewport (horizontal scroll)", what, l.Scroll, l.Client)
			}
			for i, link := range l.Links {
				switch {
				case link.Left < 0 || link.Right > float64(l.Client):
					t.Errorf("%s: link %q at %.0f–%.0f px, outside the %d px viewport", what, l.Names[i], link.Left, link.Right, l.Client)
				case overlap(link, l.Account):
					t.Errorf("%s: link %q overlaps the account", what, l.Names[i])
				case overlap(link, l.Brand):
					t.Errorf("%s: link %q overlaps the brand", what, l.Names[i])
				}
				for j, other := range l.Links[:i] {
					if overlap(link, other) {
						t.Errorf("%s: links %q and %q overlap", what, l.Names[j], l.Names[i])
					}
				}
			}
			if overlap(l.Brand, l.Account) {
				t.Errorf("%s: the brand overlaps the account", what)
			}
			saveScreenshot(t, tab, fmt.Sprintf("header-%s-%d", role.name, width), elementShot(".site-header"))
		}
	}
}
