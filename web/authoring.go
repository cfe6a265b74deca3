package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// The authoring pages: the item bank's list, the item editor with its live
// preview, the review queue, and the per-exam view of items and keys. They
// are the only pages that show keys and rationales.

// badge is how a status is shown: its words and its pill's class.
type badge struct{ Label, Class string }

func statusBadge(status string) badge {
	switch status {
	case items.StatusDraft:
		return badge{"Draft", "pill-muted"}
	case items.StatusInReview:
		return badge{"In review", "pill-info"}
	case items.StatusApproved:
		return badge{"Approved", "pill-ok"}
	case items.StatusRetired:
		return badge{"Retired", "pill-bad"}
	}
	return badge{status, "pill-muted"}
}

// choice is one entry of a <select>.
type choice struct{ Value, Label string }

// kindChoices names the item kinds for people.
var kindChoices = []choice{
	{string(items.SingleChoice), "Single choice"},
	{string(items.MultipleResponse), "Multiple response"},
	{string(items.TrueFalse), "True / false"},
	{string(items.Numeric), "Numeric"},
	{string(items.ShortText), "Short text"},
	{string(items.Ordering), "Ordering"},
	{string(items.Matching), "Matching"},
}

func itemKindLabel(k items.Kind) string {
	for _, c := range kindChoices {
		if c.Value == string(k) {
			return c.Label
		}
	}
	return string(k)
}

var statusChoices = []choice{
	{items.StatusDraft, "Draft"}, {items.StatusInReview, "In review"}, {items.StatusApproved, "Approved"}, {items.StatusRetired, "Retired"},
}

// bankContext is what the bank's pages share: the programs items belong
// to and the blueprint domains known from the exams.
type bankContext struct {
	Programs []assess.Program
	Domains  []choice
	Kinds    []choice
	Statuses []choice
}

func (s *Server) bankContext(c *fiber.Ctx) (bankContext, error) {
	ctx := c.UserContext()
	programs, err := s.cfg.Assess.Programs(ctx)
	if err != nil {
		return bankContext{}, err
	}
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return bankContext{}, err
	}
	seen := map[string]bool{}
	var domains []choice
	for _, e := range exams {
		for _, d := range e.Domains {
			if !seen[d.Code] {
				seen[d.Code] = true
				domains = append(domains, choice{d.Code, d.Code + " · " + d.Name})
			}
		}
	}
	slices.SortFunc(domains, func(a, b choice) int { return strings.Compare(a.Value, b.Value) })
	return bankContext{Programs: programs, Domains: domains, Kinds: kindChoices, Statuses: statusChoices}, nil
}

// plainExcerpt is a one-line excerpt of Markdown, its bold and code
// marks dropped (single * and _ stay: formulas and names use them).
func plainExcerpt(md string, n int) string {
	return excerpt(strings.NewReplacer("**", "", "__", "", "`", "").Replace(md), n)
}

// The list.

type bankRow struct {
	items.Item
	Badge   badge
	Kind    string
	Excerpt string
	Author  string
	// OpenFlags counts the item's flags awaiting a resolution.
	OpenFlags int
}

type bankData struct {
	bankContext
	Filter     items.Filter
	Rows       []bankRow
	Total      int
	From, To   int
	Prev, Next string
	Error      string
	Mine       bool
	CanCreate  bool
	CanReview  bool
	// Imported is how many items the import just added, as drafts.
	Imported    int
	ImportError string
	// ExportQuery carries the list's filters to the export links.
	ExportQuery string
}

// ExportURL is the export of the list's items as format (qti30, qti21).
func (d bankData) ExportURL(format string) string {
	u := "/api/v1/items/export?format=" + format
	if d.ExportQuery != "" {
		u += "&" + d.ExportQuery
	}
	return u
}

// exportQuery is the list's filters as a query string for the export.
func exportQuery(c *fiber.Ctx) string {
	q := url.Values{}
	for _, k := range []string{"q", "status", "domain", "kind", "author", "program", "exam"} {
		if v := c.Query(k); v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// Filtered reports whether any filter is set, for the empty state.
func (d bankData) Filtered() bool {
	f := d.Filter
	return f.Status != "" || f.Domain != "" || f.Kind != "" || f.Query != "" || f.AuthorID != "" || f.ProgramID != ""
}

func (s *Server) pageBank(c *fiber.Ctx) error { return s.renderBank(c, "") }

// renderBank renders the bank's list; importError, when set, says why an
// import failed.
func (s *Server) renderBank(c *fiber.Ctx, importError string) error {
	bc, err := s.bankContext(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	d := bankData{bankContext: bc, CanCreate: u.Has(authors...), CanReview: u.Has(reviewers...), Mine: c.Query("author") == "me",
		ImportError: importError, ExportQuery: exportQuery(c)}
	if n, err := strconv.Atoi(c.Query("imported")); err == nil && n > 0 {
		d.Imported = n
	}
	f, err := s.itemFilter(c)
	if err != nil {
		return err
	}
	f.Limit = 25
	page, err := s.cfg.Items.List(c.UserContext(), f)
	var v *valid.Error
	if errors.As(err, &v) {
		// A hand-edited URL: say what is wrong and show the whole bank.
		d.Error = fmt.Sprintf("The filter %s %s; showing every item.", v.Field, v.Message)
		f = items.Filter{Limit: 25}
		page, err = s.cfg.Items.List(c.UserContext(), f)
	}
	if err != nil {
		return err
	}
	d.Filter, d.Total = f, page.Total
	names := s.names(c.UserContext())
	ids := make([]string, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	flagged, err := s.cfg.Items.OpenFlagCounts(c.UserContext(), ids)
	if err != nil {
		return err
	}
	for _, it := range page.Items {
		author, err := names.of(it.AuthorID)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, bankRow{Item: it, Badge: statusBadge(it.Status), Kind: itemKindLabel(it.ItemKind()),
			Excerpt: plainExcerpt(it.Stem, 140), Author: author, OpenFlags: flagged[it.ID]})
	}
	if len(d.Rows) > 0 {
		d.From, d.To = f.Offset+1, f.Offset+len(d.Rows)
	}
	link := func(offset int) string {
		q := url.Values{}
		for _, k := range []string{"q", "status", "domain", "kind", "author", "program", "exam"} {
			if v := c.Query(k); v != "" {
				q.Set(k, v)
			}
		}
		if offset > 0 {
			q.Set("offset", strconv.Itoa(offset))
		}
		if len(q) == 0 {
			return "/authoring/items"
		}
		return "/authoring/items?" + q.Encode()
	}
	if f.Offset > 0 {
		d.Prev = link(max(0, f.Offset-f.Limit))
	}
	if f.Offset+len(d.Rows) < page.Total {
		d.Next = link(f.Offset + f.Limit)
	}
	return s.render(c, "authoring_items", d)
}

// The review queue.

type reviewData struct {
	Rows   []bankRow
	Others int // items in review that the viewer wrote part of
}

func (s *Server) pageReview(c *fiber.Ctx) error {
	ctx := c.UserContext()
	page, err := s.cfg.Items.List(ctx, items.Filter{Status: items.StatusInReview, Limit: items.MaxLimit})
	if err != nil {
		return err
	}
	u := currentUser(c)
	names := s.names(ctx)
	var d reviewData
	// Oldest change first: the one waiting longest.
	for _, it := range slices.Backward(page.Items) {
		history, err := s.cfg.Items.History(ctx, it.ID)
		if err != nil {
			return err
		}
		if !rightsOn(u, it, history).Approve {
			d.Others++
			continue
		}
		author, err := names.of(it.AuthorID)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, bankRow{Item: it, Badge: statusBadge(it.Status), Kind: itemKindLabel(it.ItemKind()),
			Excerpt: plainExcerpt(it.Stem, 160), Author: author})
	}
	return s.render(c, "authoring_review", d)
}

// The editor.

// formRow is one row of the options or targets editor.
type formRow struct {
	N       int // 1-based, for labels
	ID      string
	Text    string
	Key     bool   // single choice: the key
	Correct bool   // multiple response: a correct option
	Pair    string // matching: the target's id
}

// itemForm is the editor's fields, as text, so that what an author typed
// comes back as typed when it does not validate.
type itemForm struct {
	Kind                             string
	Domain, Stem, Exhibit, Rationale string
	Points                           string
	Skills, References               string // one per line
	Scoring                          string
	Options, Targets                 []formRow
	TrueFalseKey                     string
	NumericValue, NumericTolerance   string
	NumericRelative                  bool
	Accepted                         string // one per line
	CaseSensitive                    bool
}

// Shows reports whether the part of the form for kinds is in use.
func (f itemForm) Shows(kinds ...string) bool { return slices.Contains(kinds, f.Kind) }

// editorRows is how many option and target rows the editor offers.
const editorRows = items.MaxOptions

func newRowID(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return prefix + hex.EncodeToString(b)
}

// padRows numbers rows and adds blank ones, each with a fresh id, up to
// editorRows.
func padRows(rows []formRow, prefix string) []formRow {
	for len(rows) < editorRows {
		rows = append(rows, formRow{ID: newRowID(prefix)})
	}
	for i := range rows {
		rows[i].N = i + 1
	}
	return rows
}

func formOf(c items.Content) itemForm {
	f := itemForm{Kind: string(c.ItemKind()), Domain: c.Domain, Stem: c.Stem, Exhibit: c.Exhibit, Rationale: c.Rationale,
		Skills: strings.Join(c.Skills, "\n"), References: strings.Join(c.References, "\n"), Scoring: c.Scoring,
		Accepted: strings.Join(c.Accepted, "\n"), CaseSensitive: c.CaseSensitive}
	if c.Points != 0 {
		f.Points = strconv.FormatFloat(c.Points, 'f', -1, 64)
	}
	if c.Numeric != nil {
		f.NumericValue = strconv.FormatFloat(c.Numeric.Value, 'f', -1, 64)
		f.NumericTolerance = strconv.FormatFloat(c.Numeric.Tolerance, 'f', -1, 64)
		f.NumericRelative = c.Numeric.Relative
	}
	opts := c.Options
	if c.ItemKind() == items.TrueFalse {
		f.TrueFalseKey, opts = c.Key, nil
	}
	if c.ItemKind() == items.Ordering && len(c.Keys) == len(c.Options) {
		// The editor lists an ordering item's options in the correct order.
		byID := map[string]items.Option{}
		for _, o := range c.Options {
			byID[o.ID] = o
		}
		opts = make([]items.Option, len(c.Keys))
		for i, k := range c.Keys {
			opts[i] = byID[k]
		}
	}
	for _, o := range opts {
		f.Options = append(f.Options, formRow{ID: o.ID, Text: o.Text, Key: o.ID == c.Key, Correct: slices.Contains(c.Keys, o.ID),
			Pair: c.Pairs[o.ID]})
	}
	for _, t := range c.Targets {
		f.Targets = append(f.Targets, formRow{ID: t.ID, Text: t.Text})
	}
	f.Options, f.Targets = padRows(f.Options, "o"), padRows(f.Targets, "t")
	return f
}

// lines splits a textarea into its non-blank lines, trimmed.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// readForm reads the editor's fields from a posted form.
func readForm(c *fiber.Ctx) itemForm {
	args := c.Request().PostArgs()
	multi := func(name string) []string {
		var out []string
		for _, v := range args.PeekMulti(name) {
			out = append(out, string(v))
		}
		return out
	}
	f := itemForm{Kind: c.FormValue("kind"), Domain: strings.TrimSpace(c.FormValue("domain")), Stem: c.FormValue("stem"),
		Exhibit: c.FormValue("exhibit"), Rationale: c.FormValue("rationale"), Points: strings.TrimSpace(c.FormValue("points")),
		Skills: c.FormValue("skills"), References: c.FormValue("references"), Scoring: c.FormValue("scoring"),
		TrueFalseKey: c.FormValue("tf_key"), NumericValue: strings.TrimSpace(c.FormValue("numeric_value")),
		NumericTolerance: strings.TrimSpace(c.FormValue("numeric_tolerance")), NumericRelative: c.FormValue("numeric_relative") != "",
		Accepted: c.FormValue("accepted"), CaseSensitive: c.FormValue("case_sensitive") != ""}
	if f.Kind == "" {
		f.Kind = string(items.SingleChoice)
	}
	key, correct := c.FormValue("key"), multi("keys")
	ids, texts := multi("option_id"), multi("option_text")
	for i, id := range ids {
		if i < len(texts) && len(f.Options) < editorRows {
			f.Options = append(f.Options, formRow{ID: id, Text: texts[i], Key: id == key, Correct: slices.Contains(correct, id),
				Pair: c.FormValue("pair_" + id)})
		}
	}
	ids, texts = multi("target_id"), multi("target_text")
	for i, id := range ids {
		if i < len(texts) && len(f.Targets) < editorRows {
			f.Targets = append(f.Targets, formRow{ID: id, Text: texts[i]})
		}
	}
	f.Options, f.Targets = padRows(f.Options, "o"), padRows(f.Targets, "t")
	return f
}

// content turns the form into Content; numbers that are not numbers are
// errors on the content's field. Rows left blank are not options.
func (f itemForm) content() (items.Content, error) {
	c := items.Content{Kind: items.Kind(f.Kind), Domain: f.Domain, Stem: strings.TrimSpace(f.Stem), Exhibit: strings.TrimSpace(f.Exhibit),
		Rationale: strings.TrimSpace(f.Rationale), Skills: lines(f.Skills), References: lines(f.References)}
	if c.Kind == items.SingleChoice {
		c.Kind = "" // the zero Kind is single choice, as items written before kinds
	}
	if f.Points != "" {
		p, err := strconv.ParseFloat(f.Points, 64)
		if err != nil {
			return items.Content{}, valid.Errorf("points", "must be a number")
		}
		c.Points = p
	}
	var rows []formRow
	for _, r := range f.Options {
		if strings.TrimSpace(r.Text) != "" {
			rows = append(rows, r)
		}
	}
	options := func() []items.Option {
		out := make([]items.Option, len(rows))
		for i, r := range rows {
			out[i] = items.Option{ID: r.ID, Text: strings.TrimSpace(r.Text)}
		}
		return out
	}
	kind := items.Kind(f.Kind)
	if kind == items.MultipleResponse || kind == items.Ordering || kind == items.Matching {
		c.Scoring = f.Scoring
	}
	switch kind {
	case items.SingleChoice:
		c.Options = options()
		for _, r := range rows {
			if r.Key {
				c.Key = r.ID
			}
		}
	case items.TrueFalse:
		c.Options, c.Key = items.TrueFalseOptions(), f.TrueFalseKey
	case items.MultipleResponse:
		c.Options = options()
		for _, r := range rows {
			if r.Correct {
				c.Keys = append(c.Keys, r.ID)
			}
		}
	case items.Ordering:
		c.Options = options()
		for _, r := range rows {
			c.Keys = append(c.Keys, r.ID)
		}
	case items.Matching:
		c.Options = options()
		c.Pairs = map[string]string{}
		for _, r := range rows {
			c.Pairs[r.ID] = r.Pair
		}
		for _, t := range f.Targets {
			if strings.TrimSpace(t.Text) != "" {
				c.Targets = append(c.Targets, items.Option{ID: t.ID, Text: strings.TrimSpace(t.Text)})
			}
		}
	case items.Numeric:
		value, err := strconv.ParseFloat(f.NumericValue, 64)
		if err != nil {
			return items.Content{}, valid.Errorf("numeric.value", "must be a number")
		}
		tol := 0.0
		if f.NumericTolerance != "" {
			if tol, err = strconv.ParseFloat(f.NumericTolerance, 64); err != nil {
				return items.Content{}, valid.Errorf("numeric.tolerance", "must be a number")
			}
		}
		c.Numeric = &items.NumericKey{Value: value, Tolerance: tol, Relative: f.NumericRelative}
	case items.ShortText:
		c.Accepted, c.CaseSensitive = lines(f.Accepted), f.CaseSensitive
	}
	return c, nil
}

// formError is a validation error shown on the editor: its message and
// the id of the control to fix.
type formError struct {
	Field, Message, Anchor string
}

func formErrorOf(err error) *formError {
	var v *valid.Error
	if errors.As(err, &v) {
		return &formError{Field: v.Field, Message: v.Message, Anchor: fieldAnchor(v.Field)}
	}
	switch {
	case errors.Is(err, items.ErrSelfReview):
		return &formError{Message: "You wrote part of this change, so another reviewer must approve it."}
	case errors.Is(err, items.ErrFlagResolved):
		return &formError{Message: "Someone resolved that flag meanwhile. The page shows it as it is."}
	case errors.Is(err, items.ErrStatus):
		return &formError{Message: "The item’s status does not allow that now; someone may have changed it meanwhile. The page shows it as it is."}
	}
	return nil
}

// fieldAnchor maps a Content field (as valid.Error names it) to the id of
// the editor's control for it.
func fieldAnchor(field string) string {
	head, _, _ := strings.Cut(field, "[")
	head, _, _ = strings.Cut(head, ".")
	switch head {
	case "domain", "stem", "exhibit", "rationale", "points", "skills", "references", "kind", "scoring", "accepted":
		return "f-" + head
	case "options", "key", "keys":
		return "f-options"
	case "targets", "pairs":
		return "f-targets"
	case "numeric":
		if field == "numeric.tolerance" {
			return "f-numeric-tolerance"
		}
		return "f-numeric-value"
	case "comment", "reason", "body", "note", "enemies":
		return "f-" + head
	case "resolution":
		return "flags" // one resolution field per open flag: point at the list
	}
	return ""
}

type historyRow struct {
	items.Version
	Author, Approver string
	Published        bool
	Working          bool
}

type commentView struct {
	items.Comment
	Author string
}

type enemyView struct {
	ID, Excerpt string
	Badge       badge
}

type itemPageData struct {
	bankContext
	New       bool
	Item      items.Item
	Badge     badge
	Kind      string
	ProgramID string
	Program   string
	Author    string
	Form      itemForm
	ReadOnly  bool
	Rights    itemRights
	History   []historyRow
	Comments  []commentView
	Enemies   []enemyView
	EnemyIDs  string
	Error     *formError
	Notice    string
	// Preview is the candidate's view of the form's content, shown until
	// the live preview takes over (and instead of it without scripts).
	Preview *items.CandidateContent
	// Statistics are the item's latest classical statistics on each exam
	// that delivers it.
	Statistics []itemExamStatistics
	// OpenFlags are the item's flags awaiting a resolution; CanResolve
	// says whether the viewer may resolve them, CanReview whether they may
	// open the item's review page.
	OpenFlags  []flagView
	CanResolve bool
	CanReview  bool
}

// itemExamStatistics is one item's classical analysis on one exam.
type itemExamStatistics struct {
	Exam string
	psychometrics.ItemStats
}

// itemStatistics analyses the scored attempts of every exam whose pool
// holds the item, for its latest statistics.
func (s *Server) itemStatistics(ctx context.Context, itemID string) ([]itemExamStatistics, error) {
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return nil, err
	}
	var out []itemExamStatistics
	for _, e := range exams {
		if !slices.Contains(e.ItemIDs, itemID) {
			continue
		}
		st, err := s.cfg.Assess.Statistics(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		for _, is := range st.Items {
			if is.Item.ID == itemID && is.N > 0 {
				out = append(out, itemExamStatistics{Exam: e.Title, ItemStats: is.ItemStats})
			}
		}
	}
	return out, nil
}

// Invalid reports whether the error on the page is about field (or a part
// of it), for aria-invalid.
func (d itemPageData) Invalid(anchor string) bool { return d.Error != nil && d.Error.Anchor == anchor }

// notices are the messages shown after a workflow step redirects back.
var notices = map[string]string{
	"created":   "Draft created. Submit it for review when it is ready.",
	"saved":     "Saved as a new version.",
	"submitted": "Submitted for review. A reviewer other than its authors will approve it or ask for changes.",
	"approved":  "Approved: this version is now the one candidates get.",
	"changes":   "Sent back to draft with your comment.",
	"retired":   "Retired: the item will not be delivered again.",
	"commented": "Comment added.",
	"enemies":   "Enemy items saved.",
	"resolved":  "Flag resolved.",
}

func (s *Server) pageNewItem(c *fiber.Ctx) error {
	bc, err := s.bankContext(c)
	if err != nil {
		return err
	}
	kind := c.Query("kind", string(items.SingleChoice))
	if !items.Kind(kind).Known() {
		kind = string(items.SingleChoice)
	}
	d := itemPageData{bankContext: bc, New: true, Form: formOf(items.Content{Kind: items.Kind(kind)}), ProgramID: c.Query("program"),
		Rights: itemRights{Edit: true}}
	if d.ProgramID == "" && len(bc.Programs) > 0 {
		d.ProgramID = bc.Programs[0].ID
	}
	return s.render(c, "authoring_item", d)
}

func (s *Server) postNewItem(c *fiber.Ctx) error {
	form := readForm(c)
	programID := c.FormValue("program_id")
	rerender := func(status int, fe *formError) error {
		bc, err := s.bankContext(c)
		if err != nil {
			return err
		}
		c.Status(status)
		return s.render(c, "authoring_item", itemPageData{bankContext: bc, New: true, Form: form, ProgramID: programID,
			Rights: itemRights{Edit: true}, Error: fe})
	}
	if c.FormValue("action") == "kind" {
		return rerender(fiber.StatusOK, nil) // a new kind chosen without scripts: show its fields
	}
	if programID == "" {
		// One program needs no choosing (the form offers a choice only
		// when there are several).
		if bc, err := s.bankContext(c); err == nil && len(bc.Programs) == 1 {
			programID = bc.Programs[0].ID
		}
	}
	content, err := form.content()
	if err == nil {
		var it items.Item
		if it, err = s.cfg.Items.Draft(c.UserContext(), currentUser(c).ID, programID, content); err == nil {
			return c.Redirect("/authoring/items/"+it.ID+"?done=created", fiber.StatusSeeOther)
		}
	}
	if fe := formErrorOf(err); fe != nil {
		return rerender(fiber.StatusUnprocessableEntity, fe)
	}
	return err
}

// itemPage gathers the editor page of item id; form, when not nil, is what
// the author typed (shown instead of the stored version).
func (s *Server) itemPage(c *fiber.Ctx, form *itemForm) (itemPageData, error) {
	ctx := c.UserContext()
	it, err := s.cfg.Items.Get(ctx, c.Params("id"))
	if err != nil {
		return itemPageData{}, err
	}
	bc, err := s.bankContext(c)
	if err != nil {
		return itemPageData{}, err
	}
	history, err := s.cfg.Items.History(ctx, it.ID)
	if err != nil {
		return itemPageData{}, err
	}
	comments, err := s.cfg.Items.Comments(ctx, it.ID)
	if err != nil {
		return itemPageData{}, err
	}
	enemies, err := s.cfg.Items.Enemies(ctx, []string{it.ID})
	if err != nil {
		return itemPageData{}, err
	}
	d := itemPageData{bankContext: bc, Item: it, Badge: statusBadge(it.Status), Kind: itemKindLabel(it.ItemKind()), ProgramID: it.ProgramID,
		Rights: rightsOn(currentUser(c), it, history), Notice: notices[c.Query("done")]}
	d.ReadOnly = !d.Rights.Edit
	if form != nil {
		d.Form = *form
	} else {
		d.Form = formOf(it.Content)
	}
	if content, err := d.Form.content(); err == nil && strings.TrimSpace(content.Stem) != "" {
		cc := content.ForCandidate().Shuffled(previewSeed)
		d.Preview = &cc
	}
	for _, p := range bc.Programs {
		if p.ID == it.ProgramID {
			d.Program = p.Name
		}
	}
	names := s.names(ctx)
	if d.Author, err = names.of(it.AuthorID); err != nil {
		return itemPageData{}, err
	}
	for _, v := range history {
		row := historyRow{Version: v, Published: v.Number == it.Published, Working: v.Number == it.Latest}
		if row.Author, err = names.of(v.AuthorID); err != nil {
			return itemPageData{}, err
		}
		if row.Approver, err = names.of(v.ApprovedBy); err != nil {
			return itemPageData{}, err
		}
		d.History = append(d.History, row)
	}
	for _, cm := range comments {
		view := commentView{Comment: cm}
		if view.Author, err = names.of(cm.AuthorID); err != nil {
			return itemPageData{}, err
		}
		d.Comments = append(d.Comments, view)
	}
	if d.Statistics, err = s.itemStatistics(ctx, it.ID); err != nil {
		return itemPageData{}, err
	}
	flags, err := s.cfg.Items.Flags(ctx, it.ID)
	if err != nil {
		return itemPageData{}, err
	}
	flags = slices.DeleteFunc(flags, func(f items.Flag) bool { return !f.Open() })
	if d.OpenFlags, _, err = s.flagViews(ctx, flags); err != nil {
		return itemPageData{}, err
	}
	u := currentUser(c)
	d.CanResolve, d.CanReview = u.Has(flagResolvers...), u.Has(analysts...)
	if ids := enemies[it.ID]; len(ids) > 0 {
		d.EnemyIDs = strings.Join(ids, "\n")
		list, err := s.cfg.Items.Working(ctx, ids)
		if err != nil {
			return itemPageData{}, err
		}
		for _, e := range list {
			d.Enemies = append(d.Enemies, enemyView{ID: e.ID, Excerpt: plainExcerpt(e.Stem, 90), Badge: statusBadge(e.Status)})
		}
	}
	return d, nil
}

func (s *Server) pageBankItem(c *fiber.Ctx) error {
	d, err := s.itemPage(c, nil)
	if err != nil {
		return err
	}
	return s.render(c, "authoring_item", d)
}

// itemStep runs one step posted from the editor page: on success it goes
// back to the page with a notice; a validation, status or self-review
// error shows the page again with the message and what was typed.
func (s *Server) itemStep(c *fiber.Ctx, done string, form *itemForm, step func() error) error {
	err := step()
	if err == nil {
		return c.Redirect("/authoring/items/"+c.Params("id")+"?done="+done, fiber.StatusSeeOther)
	}
	fe := formErrorOf(err)
	if fe == nil {
		return err
	}
	status, _ := classify(err)
	d, perr := s.itemPage(c, form)
	if perr != nil {
		return perr
	}
	d.Error = fe
	c.Status(status)
	return s.render(c, "authoring_item", d)
}

func (s *Server) postBankItem(c *fiber.Ctx) error {
	form := readForm(c)
	if c.FormValue("action") == "kind" {
		d, err := s.itemPage(c, &form)
		if err != nil {
			return err
		}
		return s.render(c, "authoring_item", d)
	}
	return s.itemStep(c, "saved", &form, func() error {
		content, err := form.content()
		if err != nil {
			return err
		}
		_, err = s.cfg.Items.Update(c.UserContext(), currentUser(c).ID, c.Params("id"), content)
		return err
	})
}

func (s *Server) postSubmitItem(c *fiber.Ctx) error {
	return s.itemStep(c, "submitted", nil, func() error {
		_, err := s.cfg.Items.SubmitForReview(c.UserContext(), currentUser(c).ID, c.Params("id"))
		return err
	})
}

func (s *Server) postApproveItem(c *fiber.Ctx) error {
	return s.itemStep(c, "approved", nil, func() error {
		_, err := s.cfg.Items.Approve(c.UserContext(), currentUser(c).ID, c.Params("id"), c.FormValue("note"))
		return err
	})
}

func (s *Server) postRequestChanges(c *fiber.Ctx) error {
	return s.itemStep(c, "changes", nil, func() error {
		_, err := s.cfg.Items.RequestChanges(c.UserContext(), currentUser(c).ID, c.Params("id"), c.FormValue("comment"))
		return err
	})
}

func (s *Server) postRetireItem(c *fiber.Ctx) error {
	return s.itemStep(c, "retired", nil, func() error {
		_, err := s.cfg.Items.Retire(c.UserContext(), currentUser(c).ID, c.Params("id"), c.FormValue("reason"))
		return err
	})
}

func (s *Server) postItemComment(c *fiber.Ctx) error {
	return s.itemStep(c, "commented", nil, func() error {
		version := 0
		if v := c.FormValue("version"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return valid.Errorf("version", "must be a version number")
			}
			version = n
		}
		_, err := s.cfg.Items.Comment(c.UserContext(), currentUser(c).ID, c.Params("id"), version, c.FormValue("body"))
		return err
	})
}

func (s *Server) postItemEnemies(c *fiber.Ctx) error {
	return s.itemStep(c, "enemies", nil, func() error {
		ids := strings.FieldsFunc(c.FormValue("enemies"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
		return s.cfg.Items.SetEnemies(c.UserContext(), currentUser(c).ID, c.Params("id"), ids)
	})
}

// The items of one exam, with their keys.

type itemView struct {
	Position int
	items.Item
	Badge badge
}

// IsKey reports whether optionID is the item's key.
func (v itemView) IsKey(optionID string) bool {
	return v.Key == optionID || slices.Contains(v.Keys, optionID)
}

type itemsData struct {
	Exam  assess.Exam
	Exams []assess.Exam
	Items []itemView
}

// DomainName names a blueprint domain by its code.
func (d itemsData) DomainName(code string) string {
	for _, dom := range d.Exam.Domains {
		if dom.Code == code {
			return dom.Name
		}
	}
	return code
}

// pageItems shows an exam's items at their working versions, the ones
// authors are working on, each linked to its editor.
func (s *Server) pageItems(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return err
	}
	list, err := s.cfg.Items.Working(ctx, exam.ItemIDs)
	if err != nil {
		return err
	}
	d := itemsData{Exam: exam, Exams: exams}
	for i, it := range list {
		d.Items = append(d.Items, itemView{Position: i + 1, Item: it, Badge: statusBadge(it.Status)})
	}
	return s.render(c, "items", d)
}
