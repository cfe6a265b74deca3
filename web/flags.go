package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// Item flags: an item marked for review, open until someone says what was
// done about it.
var (
	// flagReaders see an item's flags: everyone who reads the bank, so
	// that authors learn what to fix.
	flagReaders = bankReaders
	// flaggers raise flags: the analysts, whose statistics find suspect
	// items.
	flaggers = analysts
	// flagResolvers close flags: the analysts, and the authors and
	// reviewers who fix the item and can say so.
	flagResolvers = []auth.Role{auth.Admin, auth.ProgramManager, auth.Psychometrician, auth.Author}
)

func flagJSON(f items.Flag) fiber.Map {
	return fiber.Map{"id": f.ID, "item_id": f.ItemID, "reason": f.Reason, "raised_by": orNil(f.RaisedBy), "raised_at": f.RaisedAt,
		"open": f.Open(), "resolved_by": orNil(f.ResolvedBy), "resolved_at": f.ResolvedAt, "resolution": f.Resolution}
}

// apiItemFlags lists an item's flags, open ones first.
func (s *Server) apiItemFlags(c *fiber.Ctx) error {
	it, err := s.cfg.Items.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	list, err := s.cfg.Items.Flags(c.UserContext(), it.ID)
	if err != nil {
		return err
	}
	out := make([]fiber.Map, len(list))
	for i, f := range list {
		out[i] = flagJSON(f)
	}
	return c.JSON(out)
}

type flagRequest struct {
	Reason string `json:"reason"`
}

// apiFlagItem raises a flag on an item.
func (s *Server) apiFlagItem(c *fiber.Ctx) error {
	var req flagRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	f, err := s.cfg.Items.Flag(c.UserContext(), currentUser(c).ID, c.Params("id"), req.Reason)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(flagJSON(f))
}

type resolveFlagRequest struct {
	Resolution string `json:"resolution"`
}

// apiResolveFlag closes a flag with what was done.
func (s *Server) apiResolveFlag(c *fiber.Ctx) error {
	var req resolveFlagRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	f, err := s.cfg.Items.ResolveFlag(c.UserContext(), currentUser(c).ID, c.Params("id"), req.Resolution)
	if err != nil {
		return err
	}
	return c.JSON(flagJSON(f))
}
