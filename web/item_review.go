package web

import (
	"context"
	"html/template"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/items"
)

// The item review page: what a psychometrician needs to decide about a
// suspect item — the item as candidates see it, its key, its published
// versions, its statistics and flags — and the actions that close the
// loop: flag it, retire it, or rekey a published version.

// flagView is a flag with the names of the people on it.
type flagView struct {
	items.Flag
	RaisedByName, ResolvedByName string
}

// flagViews names the people on list.
func (s *Server) flagViews(ctx context.Context, list []items.Flag) ([]flagView, int, error) {
	names := s.names(ctx)
	out := make([]flagView, len(list))
	open := 0
	for i, f := range list {
		v := flagView{Flag: f}
		var err error
		if v.RaisedByName, err = names.of(f.RaisedBy); err != nil {
			return nil, 0, err
		}
		if v.ResolvedByName, err = names.of(f.ResolvedBy); err != nil {
			return nil, 0, err
		}
		if f.Open() {
			open++
		}
		out[i] = v
	}
	return out, open, nil
}

// keyLine is one line of an item's key as reviewers read it: an option
// marked as the key or not, a position of an ordering, a pair of a
// matching, an accepted answer or a numeric value.
type keyLine struct {
	Label string
	HTML  template.HTML
	Key   bool
	Note  template.HTML // matching: the target the option goes with
}

// keyLines lays out the key of c, kind by kind.
func keyLines(c items.Content) []keyLine {
	var out []keyLine
	switch c.ItemKind() {
	case items.SingleChoice, items.TrueFalse, items.MultipleResponse:
		for i, o := range c.Options {
			out = append(out, keyLine{Label: string(rune('A' + i)), HTML: items.RenderMarkdown(o.Text),
				Key: o.ID == c.Key || slices.Contains(c.Keys, o.ID)})
		}
	case items.Ordering:
		byID := map[string]items.Option{}
		for _, o := range c.Options {
			byID[o.ID] = o
		}
		for i, id := range c.Keys {
			out = append(out, keyLine{Label: strconv.Itoa(i + 1), HTML: items.RenderMarkdown(byID[id].Text), Key: true})
		}
	case items.Matching:
		targets := map[string]items.Option{}
		for _, t := range c.Targets {
			targets[t.ID] = t
		}
		for i, o := range c.Options {
			out = append(out, keyLine{Label: string(rune('A' + i)), HTML: items.RenderMarkdown(o.Text), Key: true,
				Note: items.RenderMarkdown(targets[c.Pairs[o.ID]].Text)})
		}
	case items.Numeric:
		if n := c.Numeric; n != nil {
			text := strconv.FormatFloat(n.Value, 'f', -1, 64)
			if n.Tolerance > 0 {
				text += " ± " + strconv.FormatFloat(n.Tolerance, 'f', -1, 64)
				if n.Relative {
					text += " × |value|"
				}
			}
			out = append(out, keyLine{Label: "=", HTML: template.HTML(template.HTMLEscapeString(text)), Key: true})
		}
	case items.ShortText:
		for i, a := range c.Accepted {
			out = append(out, keyLine{Label: strconv.Itoa(i + 1), HTML: template.HTML(template.HTMLEscapeString(a)), Key: true})
		}
	}
	return out
}

// reviewVersion is one version of the item on the review page.
type reviewVersion struct {
	items.Version
	Author, Approver string
	Published        bool
}

type itemReviewData struct {
	Item      items.Item // the working version
	Shown     items.Item // what candidates get: the published version, else the working one
	Badge     badge
	Kind      string
	Program   string
	Preview   items.CandidateContent
	Key       []keyLine
	Versions  []reviewVersion
	Flags     []flagView
	OpenFlags int
	// Statistics are the item's classical statistics on each exam that
	// delivers it.
	Statistics []itemExamStatistics
	CanRetire  bool
	CanResolve bool
	Notice     string
	Error      *formError
}

// Invalid reports whether the error on the page is about the control
// anchor, for aria-invalid.
func (d itemReviewData) Invalid(anchor string) bool {
	return d.Error != nil && d.Error.Anchor == anchor
}

// PublishedVersionID is the id of the version candidates get, "" when
// none is approved.
func (d itemReviewData) PublishedVersionID() string {
	for _, v := range d.Versions {
		if v.Published {
			return v.ID
		}
	}
	return ""
}

// reviewNotices are the messages shown after an action redirects back to
// the review page.
var reviewNotices = map[string]string{
	"flagged":  "Flag raised. It stays open on the item until someone resolves it.",
	"resolved": "Flag resolved.",
	"retired":  "Retired: the item will not be delivered again. Past attempts keep their scores.",
}

func (s *Server) itemReview(c *fiber.Ctx) (itemReviewData, error) {
	ctx := c.UserContext()
	it, err := s.cfg.Items.Get(ctx, c.Params("id"))
	if err != nil {
		return itemReviewData{}, err
	}
	d := itemReviewData{Item: it, Shown: it, Badge: statusBadge(it.Status), Kind: itemKindLabel(it.ItemKind()),
		Notice: reviewNotices[c.Query("done")]}
	if it.Published > 0 && it.Published != it.Latest {
		cur, err := s.cfg.Items.Current(ctx, []string{it.ID})
		if err != nil {
			return itemReviewData{}, err
		}
		if len(cur) == 1 {
			d.Shown = cur[0]
		}
	}
	d.Preview = d.Shown.ForCandidate().Shuffled(previewSeed)
	d.Key = keyLines(d.Shown.Content)
	programs, err := s.cfg.Assess.Programs(ctx)
	if err != nil {
		return itemReviewData{}, err
	}
	for _, p := range programs {
		if p.ID == it.ProgramID {
			d.Program = p.Name
		}
	}
	history, err := s.cfg.Items.History(ctx, it.ID)
	if err != nil {
		return itemReviewData{}, err
	}
	names := s.names(ctx)
	for _, v := range history {
		row := reviewVersion{Version: v, Published: v.Number == it.Published}
		if row.Author, err = names.of(v.AuthorID); err != nil {
			return itemReviewData{}, err
		}
		if row.Approver, err = names.of(v.ApprovedBy); err != nil {
			return itemReviewData{}, err
		}
		d.Versions = append(d.Versions, row)
	}
	flags, err := s.cfg.Items.Flags(ctx, it.ID)
	if err != nil {
		return itemReviewData{}, err
	}
	if d.Flags, d.OpenFlags, err = s.flagViews(ctx, flags); err != nil {
		return itemReviewData{}, err
	}
	if d.Statistics, err = s.itemStatistics(ctx, it.ID); err != nil {
		return itemReviewData{}, err
	}
	u := currentUser(c)
	d.CanRetire = u.Has(retirers...) && it.Status != items.StatusRetired
	d.CanResolve = u.Has(flagResolvers...)
	return d, nil
}

func (s *Server) pageItemReview(c *fiber.Ctx) error {
	d, err := s.itemReview(c)
	if err != nil {
		return err
	}
	return s.render(c, "item_review", d)
}

// reviewStep runs one action posted from the review page: on success it
// goes back to the page with a notice; a validation or status error shows
// the page again with the message.
func (s *Server) reviewStep(c *fiber.Ctx, done string, step func() error) error {
	err := step()
	if err == nil {
		return c.Redirect("/psychometrics/items/"+c.Params("id")+"?done="+done, fiber.StatusSeeOther)
	}
	fe := formErrorOf(err)
	if fe == nil {
		return err
	}
	if done == "retired" && fe.Anchor == "f-reason" {
		fe.Anchor = "f-retire-reason" // the page has a reason for a flag too
	}
	status, _ := classify(err)
	d, perr := s.itemReview(c)
	if perr != nil {
		return perr
	}
	d.Error = fe
	c.Status(status)
	return s.render(c, "item_review", d)
}

func (s *Server) postFlagItem(c *fiber.Ctx) error {
	return s.reviewStep(c, "flagged", func() error {
		_, err := s.cfg.Items.Flag(c.UserContext(), currentUser(c).ID, c.Params("id"), c.FormValue("reason"))
		return err
	})
}

func (s *Server) postReviewRetire(c *fiber.Ctx) error {
	return s.reviewStep(c, "retired", func() error {
		_, err := s.cfg.Items.Retire(c.UserContext(), currentUser(c).ID, c.Params("id"), c.FormValue("reason"))
		return err
	})
}

// postResolveFlag resolves a flag of the item from its review page (form
// field back=review) or its editor page.
func (s *Server) postResolveFlag(c *fiber.Ctx) error {
	resolve := func() error {
		f, err := s.cfg.Items.GetFlag(c.UserContext(), c.Params("flagId"))
		if err != nil {
			return err
		}
		if f.ItemID != c.Params("id") {
			return items.ErrNotFound // a flag of another item: nothing of this one
		}
		_, err = s.cfg.Items.ResolveFlag(c.UserContext(), currentUser(c).ID, f.ID, c.FormValue("resolution"))
		return err
	}
	if c.FormValue("back") == "review" && currentUser(c).Has(analysts...) {
		return s.reviewStep(c, "resolved", resolve)
	}
	return s.itemStep(c, "resolved", nil, resolve)
}
