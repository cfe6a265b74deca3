package web

import "github.com/gofiber/fiber/v2"

func (s *Server) pageHome(c *fiber.Ctx) error            { return fiber.ErrNotImplemented }
func (s *Server) pageLogin(c *fiber.Ctx) error           { return fiber.ErrNotImplemented }
func (s *Server) postLogin(c *fiber.Ctx) error           { return fiber.ErrNotImplemented }
func (s *Server) postLogout(c *fiber.Ctx) error          { return fiber.ErrNotImplemented }
func (s *Server) pageCredential(c *fiber.Ctx) error      { return fiber.ErrNotImplemented }
func (s *Server) pageAchievement(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (s *Server) pageExams(c *fiber.Ctx) error           { return fiber.ErrNotImplemented }
func (s *Server) postStartExam(c *fiber.Ctx) error       { return fiber.ErrNotImplemented }
func (s *Server) pageAttempt(c *fiber.Ctx) error         { return fiber.ErrNotImplemented }
func (s *Server) pageResult(c *fiber.Ctx) error          { return fiber.ErrNotImplemented }
func (s *Server) pageBadges(c *fiber.Ctx) error          { return fiber.ErrNotImplemented }
func (s *Server) pageProctor(c *fiber.Ctx) error         { return fiber.ErrNotImplemented }
func (s *Server) pageProctorAttempt(c *fiber.Ctx) error  { return fiber.ErrNotImplemented }
func (s *Server) pageStatistics(c *fiber.Ctx) error      { return fiber.ErrNotImplemented }
func (s *Server) pageStandards(c *fiber.Ctx) error       { return fiber.ErrNotImplemented }
func (s *Server) postApproveStandard(c *fiber.Ctx) error { return fiber.ErrNotImplemented }
func (s *Server) pageItems(c *fiber.Ctx) error           { return fiber.ErrNotImplemented }
func (s *Server) pageAudit(c *fiber.Ctx) error           { return fiber.ErrNotImplemented }
