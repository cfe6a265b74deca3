package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
	"github.com/touchstone-assess/touchstone/web/auth"
)

//go:embed itemtypes.json
var itemTypesJSON []byte

// itemTypesContent is itemtypes.json: a short fixed exam of two parallel
// forms, each with two sections, holding one item of each kind and a
// shared pretest item.
type itemTypesContent struct {
	Slug            string `json:"slug"`
	Title           string `json:"title"`
	Description     string `json:"description"`
	Instructions    string `json:"instructions"`
	DurationMinutes int    `json:"duration_minutes"`
	Domains         []struct {
		Code        string `json:"code"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Skill       string `json:"skill"`
	} `json:"domains"`
	// Sections are the titles and instructions shared by the forms.
	Sections []struct {
		Title        string `json:"title"`
		Instructions string `json:"instructions"`
	} `json:"sections"`
	// Forms list, per section, the refs of their items in delivery order.
	Forms []struct {
		Name     string     `json:"name"`
		Sections [][]string `json:"sections"`
	} `json:"forms"`
	Items []typedItem `json:"items"`
}

// typedItem is an item of any kind. Its option and target ids in the file
// are readable names; Load replaces them with random ones (true/false
// items keep "true" and "false"). IRT are the parameters the simulated
// panel has in mind; they are not stored, since no pilot calibrated these
// items.
type typedItem struct {
	Ref     string        `json:"ref"`
	Pretest bool          `json:"pretest"`
	IRT     irtContent    `json:"irt"`
	Content items.Content `json:"content"`
}

type irtContent struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
	C float64 `json:"c"`
}

// parseItemTypes decodes and checks itemtypes.json: unknown fields,
// invalid content, unknown domains, forms whose sections do not match the
// exam's or that name unknown items are errors.
func parseItemTypes(data []byte) (itemTypesContent, error) {
	var c itemTypesContent
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return itemTypesContent{}, fmt.Errorf("demo: item types: %w", err)
	}
	codes := map[string]bool{}
	for _, d := range c.Domains {
		codes[d.Code] = true
	}
	refs := map[string]bool{}
	for _, it := range c.Items {
		switch {
		case refs[it.Ref]:
			return itemTypesContent{}, fmt.Errorf("demo: item types: item %q twice", it.Ref)
		case !codes[it.Content.Domain]:
			return itemTypesContent{}, fmt.Errorf("demo: item types: item %q: unknown domain %q", it.Ref, it.Content.Domain)
		case !(it.IRT.A > 0) || !(it.IRT.C >= 0 && it.IRT.C < 1):
			return itemTypesContent{}, fmt.Errorf("demo: item types: item %q: impossible 3PL parameters", it.Ref)
		}
		if err := it.Content.Validate(); err != nil {
			return itemTypesContent{}, fmt.Errorf("demo: item types: item %q: %w", it.Ref, err)
		}
		refs[it.Ref] = true
	}
	for _, f := range c.Forms {
		if len(f.Sections) != len(c.Sections) {
			return itemTypesContent{}, fmt.Errorf("demo: item types: form %s has %d sections, want %d", f.Name, len(f.Sections), len(c.Sections))
		}
		for _, sec := range f.Sections {
			for _, ref := range sec {
				if !refs[ref] {
					return itemTypesContent{}, fmt.Errorf("demo: item types: form %s: unknown item %q", f.Name, ref)
				}
			}
		}
	}
	return c, nil
}

// createItemTypes creates the item-types exam: its items (with random
// option ids), and the exam with its two forms, a different form on
// retake. It has no badge: it is a practice exam.
func (l *loader) createItemTypes(ctx context.Context, program assess.Program) (demoExam, error) {
	c := l.types
	out := demoExam{title: c.Title}
	byRef := map[string]items.Item{}
	pretest := map[string]bool{}
	for _, ti := range c.Items {
		it, err := l.d.Items.Create(ctx, l.users[auth.Author], program.ID, l.withRandomIDs(ti.Content))
		if err != nil {
			return demoExam{}, fmt.Errorf("demo: %s item %s: %w", c.Slug, ti.Ref, err)
		}
		byRef[ti.Ref], pretest[ti.Ref] = it, ti.Pretest
		out.items = append(out.items, it)
		out.irt = append(out.irt, psychometrics.Item3PL{A: ti.IRT.A, B: ti.IRT.B, C: ti.IRT.C})
	}
	domains := make([]assess.Domain, len(c.Domains))
	for i, d := range c.Domains {
		domains[i] = assess.Domain{Code: d.Code, Name: d.Name, Description: d.Description, Skill: d.Skill}
	}
	forms := make([]assess.Form, len(c.Forms))
	for i, fc := range c.Forms {
		forms[i].Name = fc.Name
		for j, refs := range fc.Sections {
			sec := assess.Section{Title: c.Sections[j].Title, Instructions: c.Sections[j].Instructions}
			for _, ref := range refs {
				sec.Items = append(sec.Items, assess.FormItem{ItemID: byRef[ref].ID, Pretest: pretest[ref]})
			}
			forms[i].Sections = append(forms[i].Sections, sec)
		}
	}
	var err error
	out.exam, err = l.d.Assess.CreateExam(ctx, assess.Exam{ProgramID: program.ID, Slug: c.Slug, Title: c.Title, Description: c.Description,
		Instructions: c.Instructions, Duration: time.Duration(c.DurationMinutes) * time.Minute, Domains: domains,
		ItemIDs: itemIDs(out.items), Mode: assess.ModeFixed, Forms: forms, Policy: assess.Policy{DifferentFormOnRetake: true}})
	if err != nil {
		return demoExam{}, fmt.Errorf("demo: %s exam: %w", c.Slug, err)
	}
	return out, nil
}

// withRandomIDs returns c with its option and target ids replaced by
// random ones from the content stream, and its key fields rewritten to
// match. True/false items keep their fixed ids.
func (l *loader) withRandomIDs(c items.Content) items.Content {
	if c.ItemKind() == items.TrueFalse {
		return c
	}
	// relabel gives opts random ids and returns them with old id → new id.
	relabel := func(opts []items.Option) ([]items.Option, map[string]string) {
		ids := optionIDs(l.content, len(opts))
		out, rename := make([]items.Option, len(opts)), make(map[string]string, len(opts))
		for i, o := range opts {
			rename[o.ID] = ids[i]
			out[i] = items.Option{ID: ids[i], Text: o.Text}
		}
		return out, rename
	}
	var rename, targets map[string]string
	if len(c.Options) > 0 {
		c.Options, rename = relabel(c.Options)
	}
	if len(c.Targets) > 0 {
		c.Targets, targets = relabel(c.Targets)
	}
	if c.Key != "" {
		c.Key = rename[c.Key]
	}
	if len(c.Keys) > 0 {
		keys := make([]string, len(c.Keys))
		for i, k := range c.Keys {
			keys[i] = rename[k]
		}
		c.Keys = keys
	}
	if len(c.Pairs) > 0 {
		pairs := make(map[string]string, len(c.Pairs))
		for o, t := range c.Pairs {
			pairs[rename[o]] = targets[t]
		}
		c.Pairs = pairs
	}
	return c
}
