package web

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// The item bank's JSON API. Items carry their keys, so only the bank's
// readers (authors, reviewers, admins) reach it; the workflow's rules of
// who may do what are itemRights, shared with the authoring pages.

// Role sets of the item bank.
var (
	// bankReaders see items with their keys and comment on them.
	bankReaders = []auth.Role{auth.Admin, auth.Author, auth.ProgramManager, auth.Psychometrician}
	// reviewers approve or send back items in review: any author (but not
	// of the change, which the store enforces), a program manager or a
	// psychometrician.
	reviewers = []auth.Role{auth.Author, auth.ProgramManager, auth.Psychometrician}
	// retirers withdraw items for good: the program manager who answers
	// for the exams, an admin, and the psychometrician whose item analysis
	// finds an item beyond repair.
	retirers = []auth.Role{auth.ProgramManager, auth.Admin, auth.Psychometrician}
)

// itemRights says what a user may do with an item now. Approve is false
// for a reviewer who wrote part of the change under review (the store
// refuses it too, with ErrSelfReview).
type itemRights struct {
	Edit           bool `json:"edit"`
	Submit         bool `json:"submit"`
	Approve        bool `json:"approve"`
	RequestChanges bool `json:"request_changes"`
	Retire         bool `json:"retire"`
	Comment        bool `json:"comment"`
}

func rightsOn(u auth.User, it items.Item, history []items.Version) itemRights {
	wrote := false
	for _, v := range history {
		if v.Number > it.Published && v.AuthorID == u.ID {
			wrote = true
		}
	}
	author := u.Has(authors...)
	reviewer := u.Has(reviewers...)
	return itemRights{
		Edit:           author && (it.Status == items.StatusDraft || it.Status == items.StatusApproved),
		Submit:         author && it.Status == items.StatusDraft,
		Approve:        reviewer && it.Status == items.StatusInReview && !wrote,
		RequestChanges: reviewer && it.Status == items.StatusInReview,
		Retire:         u.Has(retirers...) && it.Status != items.StatusRetired,
		Comment:        u.Has(bankReaders...),
	}
}

func paramsJSON(p *items.Params) any {
	if p == nil {
		return nil
	}
	return fiber.Map{"model": p.Model, "a": p.A, "b": p.B, "c": p.C, "n": p.N, "calibrated_at": p.CalibratedAt}
}

// itemJSON is an item at its working version, key included.
func itemJSON(it items.Item) fiber.Map {
	var published any
	if it.Published > 0 {
		published = it.Published
	}
	var author any
	if it.AuthorID != "" {
		author = it.AuthorID
	}
	return fiber.Map{"id": it.ID, "program_id": it.ProgramID, "status": it.Status, "kind": it.ItemKind(), "domain": it.Domain,
		"version": it.Version, "published_version": published, "author_id": author, "updated_at": it.UpdatedAt,
		"content": it.Content, "params": paramsJSON(it.Params), "exposures": it.Exposures}
}

func commentJSON(c items.Comment) fiber.Map {
	var version, author any
	if c.Version > 0 {
		version = c.Version
	}
	if c.AuthorID != "" {
		author = c.AuthorID
	}
	return fiber.Map{"id": c.ID, "version": version, "author_id": author, "body": c.Body, "created_at": c.CreatedAt}
}

func versionJSON(v items.Version, published int) fiber.Map {
	var author, approver any
	if v.AuthorID != "" {
		author = v.AuthorID
	}
	if v.ApprovedBy != "" {
		approver = v.ApprovedBy
	}
	return fiber.Map{"id": v.ID, "version": v.Number, "author_id": author, "created_at": v.CreatedAt,
		"approved_by": approver, "approved_at": v.ApprovedAt, "published": v.Number == published}
}

// itemFilter reads the list filters from the query string; field names in
// errors are the parameters'.
func (s *Server) itemFilter(c *fiber.Ctx) (items.Filter, error) {
	f := items.Filter{ProgramID: c.Query("program"), Status: c.Query("status"), Domain: c.Query("domain"),
		Kind: items.Kind(c.Query("kind")), AuthorID: c.Query("author"), Query: c.Query("q")}
	if f.AuthorID == "me" {
		f.AuthorID = currentUser(c).ID
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"offset", &f.Offset}, {"limit", &f.Limit}} {
		if raw := c.Query(p.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil {
				return items.Filter{}, &badRequest{field: p.name, message: "must be a whole number"}
			}
			*p.dst = n
		}
	}
	if examID := c.Query("exam"); examID != "" {
		exam, err := s.cfg.Assess.Exam(c.UserContext(), examID)
		if err != nil {
			return items.Filter{}, err
		}
		f.IDs = append([]string{}, exam.ItemIDs...)
	}
	return f, nil
}

func (s *Server) apiItems(c *fiber.Ctx) error {
	f, err := s.itemFilter(c)
	if err != nil {
		return err
	}
	page, err := s.cfg.Items.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	list := make([]fiber.Map, len(page.Items))
	for i, it := range page.Items {
		list[i] = itemJSON(it)
	}
	return c.JSON(fiber.Map{"items": list, "total": page.Total, "offset": page.Offset, "limit": page.Limit})
}

type createItemRequest struct {
	ProgramID string         `json:"program_id"`
	Content   *items.Content `json:"content"`
}

func (s *Server) apiCreateItem(c *fiber.Ctx) error {
	var req createItemRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Content == nil {
		return valid.Errorf("content", "is required")
	}
	it, err := s.cfg.Items.Draft(c.UserContext(), currentUser(c).ID, req.ProgramID, *req.Content)
	if err != nil {
		return err
	}
	return s.writeItem(c, it, fiber.StatusCreated)
}

func (s *Server) apiItem(c *fiber.Ctx) error {
	it, err := s.cfg.Items.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.writeItem(c, it, fiber.StatusOK)
}

// writeItem answers with the item, its history, comments, enemies and
// what the caller may do with it.
func (s *Server) writeItem(c *fiber.Ctx, it items.Item, status int) error {
	ctx := c.UserContext()
	history, err := s.cfg.Items.History(ctx, it.ID)
	if err != nil {
		return err
	}
	comments, err := s.cfg.Items.Comments(ctx, it.ID)
	if err != nil {
		return err
	}
	enemies, err := s.cfg.Items.Enemies(ctx, []string{it.ID})
	if err != nil {
		return err
	}
	out := itemJSON(it)
	versions := make([]fiber.Map, len(history))
	for i, v := range history {
		versions[i] = versionJSON(v, it.Published)
	}
	notes := make([]fiber.Map, len(comments))
	for i, cm := range comments {
		notes[i] = commentJSON(cm)
	}
	out["versions"], out["comments"] = versions, notes
	out["enemies"] = append([]string{}, enemies[it.ID]...)
	out["can"] = rightsOn(currentUser(c), it, history)
	return c.Status(status).JSON(out)
}

func (s *Server) apiUpdateItem(c *fiber.Ctx) error {
	var content items.Content
	if err := bind(c, &content); err != nil {
		return err
	}
	it, err := s.cfg.Items.Update(c.UserContext(), currentUser(c).ID, c.Params("id"), content)
	if err != nil {
		return err
	}
	return s.writeItem(c, it, fiber.StatusOK)
}

func (s *Server) apiSubmitItem(c *fiber.Ctx) error {
	it, err := s.cfg.Items.SubmitForReview(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return s.writeItem(c, it, fiber.StatusOK)
}

// reviewRequest is the body of the review decisions; each uses one field.
type reviewRequest struct {
	Note    string `json:"note"`
	Comment string `json:"comment"`
	Reason  string `json:"reason"`
}

// bindOptional binds a JSON body when there is one.
func bindOptional(c *fiber.Ctx, dst any) error {
	if len(c.Body()) == 0 {
		return nil
	}
	return bind(c, dst)
}

func (s *Server) apiApproveItem(c *fiber.Ctx) error {
	var req reviewRequest
	if err := bindOptional(c, &req); err != nil {
		return err
	}
	it, err := s.cfg.Items.Approve(c.UserContext(), currentUser(c).ID, c.Params("id"), req.Note)
	if err != nil {
		return err
	}
	return s.writeItem(c, it, fiber.StatusOK)
}

func (s *Server) apiRequestChanges(c *fiber.Ctx) error {
	var req reviewRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	it, err := s.cfg.Items.RequestChanges(c.UserContext(), currentUser(c).ID, c.Params("id"), req.Comment)
	if err != nil {
		return err
	}
	return s.writeItem(c, it, fiber.StatusOK)
}

func (s *Server) apiRetireItem(c *fiber.Ctx) error {
	var req reviewRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	it, err := s.cfg.Items.Retire(c.UserContext(), currentUser(c).ID, c.Params("id"), req.Reason)
	if err != nil {
		return err
	}
	return s.writeItem(c, it, fiber.StatusOK)
}

func (s *Server) apiItemComments(c *fiber.Ctx) error {
	list, err := s.cfg.Items.Comments(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if len(list) == 0 {
		// An item without comments and no item at all look alike here.
		if _, err := s.cfg.Items.Get(c.UserContext(), c.Params("id")); err != nil {
			return err
		}
	}
	out := make([]fiber.Map, len(list))
	for i, cm := range list {
		out[i] = commentJSON(cm)
	}
	return c.JSON(out)
}

type commentRequest struct {
	Body    string `json:"body"`
	Version int    `json:"version"`
}

func (s *Server) apiAddItemComment(c *fiber.Ctx) error {
	var req commentRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	cm, err := s.cfg.Items.Comment(c.UserContext(), currentUser(c).ID, c.Params("id"), req.Version, req.Body)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(commentJSON(cm))
}

type enemiesRequest struct {
	Enemies []string `json:"enemies"`
}

func (s *Server) apiSetEnemies(c *fiber.Ctx) error {
	var req enemiesRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := s.cfg.Items.SetEnemies(c.UserContext(), currentUser(c).ID, c.Params("id"), req.Enemies); err != nil {
		return err
	}
	got, err := s.cfg.Items.Enemies(c.UserContext(), []string{c.Params("id")})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": c.Params("id"), "enemies": append([]string{}, got[c.Params("id")]...)})
}

// previewSeed fixes the order in which a preview shows the options of
// ordering and matching items, shuffled as delivery shuffles them, so that
// the preview does not jump about as the author types.
const previewSeed = 0x70726576

// apiPreviewItem renders content as a candidate would receive it, without
// its key. Content need not be complete (the author is still typing); only
// an unknown kind is refused.
func (s *Server) apiPreviewItem(c *fiber.Ctx) error {
	var content items.Content
	if err := bind(c, &content); err != nil {
		return err
	}
	if !content.ItemKind().Known() {
		return valid.Errorf("kind", "is not an item kind")
	}
	return c.JSON(content.ForCandidate().Shuffled(previewSeed))
}
