package web

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// examRequest defines an exam: its blueprint, pool, forms, delivery mode
// and settings, reporting scale and policy. Field names in errors are
// these JSON names ("forms[0].sections[1].items[2]", "cat.max_items").
type examRequest struct {
	ProgramID       string `json:"program_id"`
	Slug            string `json:"slug"`
	Title           string `json:"title"`
	Description     string `json:"description"`
	Instructions    string `json:"instructions"`
	DurationMinutes int    `json:"duration_minutes"`
	AchievementID   string `json:"achievement_id"`
	Mode            string `json:"mode"`
	Domains         []struct {
		Code        string  `json:"code"`
		Name        string  `json:"name"`
		Description string  `json:"description"`
		Skill       string  `json:"skill"`
		Count       int     `json:"count"`
		Weight      float64 `json:"weight"`
	} `json:"domains"`
	Items []string `json:"items"`
	Forms []struct {
		Name     string `json:"name"`
		Sections []struct {
			Title        string `json:"title"`
			Instructions string `json:"instructions"`
			Items        []struct {
				ItemID  string `json:"item_id"`
				Pretest bool   `json:"pretest"`
			} `json:"items"`
		} `json:"sections"`
	} `json:"forms"`
	CAT    assess.CATSettings  `json:"cat"`
	LOFT   assess.LOFTSettings `json:"loft"`
	Scale  assess.Scale        `json:"scale"`
	Policy *policyRequest      `json:"policy"`
}

func (r examRequest) exam() (assess.Exam, error) {
	if r.DurationMinutes < 1 {
		return assess.Exam{}, valid.Errorf("duration_minutes", "must be at least 1")
	}
	e := assess.Exam{ProgramID: r.ProgramID, Slug: r.Slug, Title: r.Title, Description: r.Description,
		Instructions: r.Instructions, Duration: time.Duration(r.DurationMinutes) * time.Minute,
		AchievementID: r.AchievementID, Mode: r.Mode, ItemIDs: r.Items, CAT: r.CAT, LOFT: r.LOFT, Scale: r.Scale}
	for _, d := range r.Domains {
		e.Domains = append(e.Domains, assess.Domain{Code: d.Code, Name: d.Name, Description: d.Description, Skill: d.Skill,
			Count: d.Count, Weight: d.Weight})
	}
	for _, f := range r.Forms {
		form := assess.Form{Name: f.Name}
		for _, sec := range f.Sections {
			section := assess.Section{Title: sec.Title, Instructions: sec.Instructions}
			for _, it := range sec.Items {
				section.Items = append(section.Items, assess.FormItem{ItemID: it.ItemID, Pretest: it.Pretest})
			}
			form.Sections = append(form.Sections, section)
		}
		e.Forms = append(e.Forms, form)
	}
	if p := r.Policy; p != nil {
		if p.RetakeWaitSeconds < 0 {
			return assess.Exam{}, valid.Errorf("policy.retake_wait_seconds", "must not be negative")
		}
		e.Policy = assess.Policy{MaxAttempts: p.MaxAttempts, RetakeWait: time.Duration(p.RetakeWaitSeconds) * time.Second,
			OpensAt: p.OpensAt, ClosesAt: p.ClosesAt, DifferentFormOnRetake: p.DifferentFormOnRetake, Prerequisites: p.Prerequisites}
	}
	return e, nil
}

// apiCreateExam defines a new exam. It is delivered once a standard for it
// is approved.
func (s *Server) apiCreateExam(c *fiber.Ctx) error {
	var req examRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	e, err := req.exam()
	if err != nil {
		return err
	}
	e, err = s.cfg.Assess.CreateExamAs(c.UserContext(), currentUser(c).ID, e)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(examJSON(e, nil))
}
