package web

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/credential"
)

// The candidate's wallet: every credential they hold with its standing,
// expiry, downloads and visibility, a notice for those about to expire
// with the exam that renews them, and their progress along every pathway.
// The page (/badges) and the API (/api/v1/me/credentials and
// /api/v1/me/pathways) are built from the same view models.

// expiryHorizon is how far ahead the wallet warns about expiring
// credentials.
const expiryHorizon = 90 * 24 * time.Hour

// badgeCard is a credential as its holder's wallet shows it.
type badgeCard struct {
	ID              string
	Name            string
	Type            string // "Badge", "Certificate", …
	Description     string
	IssuedAt        time.Time
	RevokedAt       *time.Time
	URL             string // public page, absolute
	Path            string // public page on this site
	JSONPath        string // the signed credential as JSON
	APIPath         string // the credential through the API
	ImagePath       string // the achievement's badge image
	AchievementPath string

	State      string     // "active", "suspended", "revoked" or "expired"
	Reason     string     // why it is revoked or suspended
	Since      *time.Time // when it was revoked or suspended
	ValidUntil *time.Time
	Expiry     string // "expires in 23 days", "expired 3 days ago"; empty: no expiry
	Public     bool
	Downloads  []download
	Renews     *credentialRef // the earlier credential this one renews or replaces
	RenewedBy  *credentialRef // a later credential that renews this one
}

// download is one file the holder can take away.
type download struct {
	Key   string // stable name, for the API and element ids
	Label string
	Path  string
}

// credentialRef points at another credential of the holder.
type credentialRef struct {
	ID       string
	Path     string
	IssuedAt time.Time
}

// StateLabel is the state in words, capitalised.
func (b badgeCard) StateLabel() string {
	switch b.State {
	case "revoked":
		return "Revoked"
	case "suspended":
		return "Suspended"
	case "expired":
		return "Expired"
	}
	return "Active"
}

// StatePill is the pill style of the state.
func (b badgeCard) StatePill() string {
	switch b.State {
	case "revoked":
		return "pill-bad"
	case "suspended", "expired":
		return "pill-warn"
	}
	return "pill-ok"
}

// relativeExpiry says when t, an expiry, is or was, seen at now: "expires
// in 23 days", "expires in about 4 months", "expired 2 days ago".
func relativeExpiry(now, t time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		days := int(-d.Hours() / 24)
		switch {
		case days == 0:
			return "expired today"
		case days == 1:
			return "expired yesterday"
		}
		return "expired " + span(days) + " ago"
	}
	// A credential valid for part of a day is "in 1 day", never "in 0 days".
	days := int(math.Ceil(d.Hours() / 24))
	return "expires in " + span(days)
}

// span writes a number of days for people: days up to the wallet's
// horizon of 90, then months, then years.
func span(days int) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case days <= 90:
		return plural(days, "day")
	case days < 730:
		return "about " + plural(int(math.Round(float64(days)/30.44)), "month")
	}
	return "about " + plural(int(math.Round(float64(days)/365.25)), "year")
}

// credentialPath is the public page of a credential on this site.
func credentialPath(id string) string { return "/credentials/" + id }

func (s *Server) badgeCard(ctx context.Context, cred credential.Credential) (badgeCard, error) {
	a, err := s.cfg.Credentials.Achievement(ctx, cred.AchievementID)
	if err != nil {
		return badgeCard{}, err
	}
	return s.newBadgeCard(cred, a, false), nil
}

// newBadgeCard builds the card of cred, an award of a; rs256 says whether
// the issuer can sign RS256 VC-JWTs.
func (s *Server) newBadgeCard(cred credential.Credential, a credential.Achievement, rs256 bool) badgeCard {
	now := s.cfg.Now()
	p := credentialPath(cred.ID)
	card := badgeCard{ID: cred.ID, Name: a.Name, Type: a.AchievementType, Description: a.Description, IssuedAt: cred.IssuedAt,
		RevokedAt: cred.RevokedAt, URL: cred.URL, Path: p, JSONPath: p + "/credential.json", APIPath: "/api/v1/credentials/" + cred.ID,
		ImagePath: s.link(a.ImageURL) + "?size=128", AchievementPath: s.link(a.ID),
		State: cred.State(now), ValidUntil: cred.ValidUntil, Public: cred.Public}
	if card.Type == "" {
		card.Type = "Badge"
	}
	switch card.State {
	case "revoked":
		card.Reason, card.Since = cred.RevocationReason, cred.RevokedAt
	case "suspended":
		card.Reason, card.Since = cred.SuspensionReason, cred.SuspendedAt
	}
	if cred.ValidUntil != nil {
		card.Expiry = relativeExpiry(now, *cred.ValidUntil)
	}
	card.Downloads = []download{
		{"json", "Credential (JSON)", p + "/credential.json"},
		{"jwt", "VC-JWT (EdDSA)", p + "/credential.jwt"},
	}
	if rs256 {
		card.Downloads = append(card.Downloads, download{"jwt_rs256", "VC-JWT (RS256)", p + "/credential.jwt?alg=RS256"})
	}
	card.Downloads = append(card.Downloads,
		download{"png", "Baked badge (PNG)", p + "/badge.png"},
		download{"svg", "Baked badge (SVG)", p + "/badge.svg"})
	return card
}

// canSignRS256 reports whether RS256 VC-JWTs can be offered.
func (s *Server) canSignRS256(context.Context) (bool, error) {
	return s.cfg.Credentials.CanSignRS256(), nil
}

// wallet is everything the wallet page and its API show.
type wallet struct {
	Cards    []badgeCard
	Expiring []expiringNotice
	Pathways []pathwayView
}

// expiringNotice is one credential about to expire and the exam that
// renews it, if any.
type expiringNotice struct {
	Card  badgeCard
	Exam  *assess.Exam
	Until time.Time
}

// wallet gathers the cards of every credential recipientID holds, newest
// first, the expiring notices and the pathways.
func (s *Server) wallet(ctx context.Context, recipientID string) (wallet, error) {
	held, err := s.cfg.Credentials.HeldBy(ctx, recipientID)
	if err != nil {
		return wallet{}, err
	}
	rs256, err := s.canSignRS256(ctx)
	if err != nil {
		return wallet{}, err
	}
	achievements := map[string]credential.Achievement{}
	byID := map[string]*badgeCard{}
	w := wallet{Cards: make([]badgeCard, 0, len(held))}
	for _, h := range held {
		a, ok := achievements[h.AchievementID]
		if !ok {
			if a, err = s.cfg.Credentials.Achievement(ctx, h.AchievementID); err != nil {
				return wallet{}, err
			}
			achievements[h.AchievementID] = a
		}
		w.Cards = append(w.Cards, s.newBadgeCard(h, a, rs256))
	}
	for i := range w.Cards {
		byID[w.Cards[i].ID] = &w.Cards[i]
	}
	for i, h := range held {
		if h.Supersedes == "" {
			continue
		}
		if earlier, ok := byID[h.Supersedes]; ok {
			w.Cards[i].Renews = &credentialRef{ID: earlier.ID, Path: earlier.Path, IssuedAt: earlier.IssuedAt}
			earlier.RenewedBy = &credentialRef{ID: h.ID, Path: credentialPath(h.ID), IssuedAt: h.IssuedAt}
		}
	}

	now := s.cfg.Now()
	expiring, err := s.cfg.Credentials.Expiring(ctx, recipientID, now.Add(expiryHorizon))
	if err != nil {
		return wallet{}, err
	}
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return wallet{}, err
	}
	for _, e := range expiring {
		card, ok := byID[e.ID]
		// Only a credential still in force is worth renewing, and not
		// one the holder has renewed already.
		if !ok || card.State != "active" || card.RenewedBy != nil || e.ValidUntil == nil {
			continue
		}
		n := expiringNotice{Card: *card, Until: *e.ValidUntil}
		for _, ex := range exams {
			if ex.AchievementID == e.AchievementID {
				n.Exam = &ex
				break
			}
		}
		w.Expiring = append(w.Expiring, n)
	}

	if w.Pathways, err = s.pathwayViews(ctx, recipientID); err != nil {
		return wallet{}, err
	}
	return w, nil
}

// achievementRef names an achievement for a list: its database id, public
// URL, name and page on this site.
type achievementRef struct {
	ID   string
	URL  string
	Name string
	Path string
}

// pathwayView is one pathway as a candidate sees it: the certificate, the
// rule in words, the progress, and what counts and what is missing.
type pathwayView struct {
	Certificate achievementRef
	ImagePath   string
	Rule        credential.PathwayRule
	RuleText    string
	Counted     []achievementRef
	Missing     []achievementRef
	Complete    bool
	Have, Need  int // progress: Have of Need achievements on the shortest way
}

// Percent is the progress in whole per cent.
func (p pathwayView) Percent() int {
	if p.Need == 0 {
		return 100
	}
	return int(math.Round(100 * float64(p.Have) / float64(p.Need)))
}

// achievementBook finds the achievements of the issuer by database id and
// by public URL.
type achievementBook struct {
	list  []credential.AchievementRecord
	byID  map[string]credential.AchievementRecord
	byURL map[string]credential.AchievementRecord
}

func (s *Server) achievementBook(ctx context.Context) (achievementBook, error) {
	list, err := s.cfg.Credentials.Achievements(ctx)
	if err != nil {
		return achievementBook{}, err
	}
	b := achievementBook{list: list, byID: map[string]credential.AchievementRecord{}, byURL: map[string]credential.AchievementRecord{}}
	for _, r := range list {
		b.byID[r.ID], b.byURL[r.URL] = r, r
	}
	return b, nil
}

// name is the name of the achievement with database id id, or the id
// itself when it is unknown.
func (b achievementBook) name(id string) string {
	if r, ok := b.byID[id]; ok {
		return r.Name
	}
	return id
}

func (s *Server) refOf(b achievementBook, a credential.Achievement) achievementRef {
	return achievementRef{ID: b.byURL[a.ID].ID, URL: a.ID, Name: a.Name, Path: s.link(a.ID)}
}

// ruleText says a pathway rule in words: "all of A, B and C", "any 2 of
// A, B or C", "one of these sets: A and B; or C".
func ruleText(r credential.PathwayRule, name func(string) string) string {
	names := func(ids []string) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = name(id)
		}
		return out
	}
	switch r.Kind {
	case credential.AnyOf:
		if r.N == len(r.Achievements) {
			return "all of " + join(names(r.Achievements), "and")
		}
		return fmt.Sprintf("any %d of %s", r.N, join(names(r.Achievements), "or"))
	case credential.Sets:
		if len(r.Sets) == 1 {
			return "all of " + join(names(r.Sets[0]), "and")
		}
		sets := make([]string, len(r.Sets))
		for i, set := range r.Sets {
			sets[i] = join(names(set), "and")
		}
		return "one of these sets: " + strings.Join(sets, "; or ")
	}
	return "all of " + join(names(r.Achievements), "and")
}

// join lists words as people do: "A", "A and B", "A, B and C".
func join(words []string, conj string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// pathwayViews lists every pathway with recipientID's progress along it.
func (s *Server) pathwayViews(ctx context.Context, recipientID string) ([]pathwayView, error) {
	progress, err := s.cfg.Credentials.Progress(ctx, recipientID)
	if err != nil {
		return nil, err
	}
	book, err := s.achievementBook(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]pathwayView, 0, len(progress))
	for _, p := range progress {
		v := pathwayView{Certificate: s.refOf(book, p.Certificate), ImagePath: s.link(p.Certificate.ImageURL) + "?size=128",
			Rule: p.Rule, RuleText: ruleText(p.Rule, book.name), Complete: p.Complete}
		for _, a := range p.Counted {
			v.Counted = append(v.Counted, s.refOf(book, a))
		}
		for _, a := range p.Missing {
			v.Missing = append(v.Missing, s.refOf(book, a))
		}
		v.Have, v.Need = len(v.Counted), len(v.Counted)+len(v.Missing)
		if p.Rule.Kind == credential.AnyOf {
			// Holding more than N counts no further.
			v.Have, v.Need = min(v.Have, p.Rule.N), p.Rule.N
		}
		if v.Complete {
			// The certificate is held, perhaps through credentials that
			// have expired since: the pathway is done.
			v.Have = v.Need
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Server) pageBadges(c *fiber.Ctx) error {
	w, err := s.wallet(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return s.render(c, "badges", w)
}

// API.

func refJSON(r achievementRef) fiber.Map {
	return fiber.Map{"id": r.ID, "url": r.URL, "name": r.Name}
}

func refsJSON(rs []achievementRef) []fiber.Map {
	out := make([]fiber.Map, len(rs))
	for i, r := range rs {
		out[i] = refJSON(r)
	}
	return out
}

func (s *Server) apiMyCredentials(c *fiber.Ctx) error {
	w, err := s.wallet(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	out := make([]fiber.Map, 0, len(w.Cards))
	for _, card := range w.Cards {
		downloads := fiber.Map{}
		for _, d := range card.Downloads {
			downloads[d.Key] = s.cfg.BaseURL + d.Path
		}
		m := fiber.Map{"id": card.ID, "url": card.URL, "achievement": card.Name, "achievement_type": card.Type,
			"achievement_url": s.cfg.BaseURL + card.AchievementPath, "image": s.cfg.BaseURL + card.ImagePath,
			"issued_at": card.IssuedAt, "valid_until": card.ValidUntil, "state": card.State,
			"revoked": card.RevokedAt != nil, "suspended": card.State == "suspended", "public": card.Public,
			"reason": card.Reason, "supersedes": nil, "downloads": downloads}
		if card.Renews != nil {
			m["supersedes"] = card.Renews.ID
		}
		out = append(out, m)
	}
	return c.JSON(out)
}

func (s *Server) apiMyPathways(c *fiber.Ctx) error {
	views, err := s.pathwayViews(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	out := make([]fiber.Map, 0, len(views))
	for _, v := range views {
		out = append(out, fiber.Map{"certificate": refJSON(v.Certificate), "rule": ruleJSON(v.Rule), "rule_text": v.RuleText,
			"counted": refsJSON(v.Counted), "missing": refsJSON(v.Missing), "complete": v.Complete,
			"progress": fiber.Map{"have": v.Have, "need": v.Need}})
	}
	return c.JSON(out)
}

// ruleJSON writes a rule with empty lists rather than nulls.
func ruleJSON(r credential.PathwayRule) fiber.Map {
	m := fiber.Map{"kind": r.Kind, "achievements": r.Achievements, "n": r.N, "sets": r.Sets}
	if r.Achievements == nil {
		m["achievements"] = []string{}
	}
	if r.Sets == nil {
		m["sets"] = [][]string{}
	}
	return m
}
