package web

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/web/auth"
)

const (
	sessionCookie = "ts_session"
	csrfCookie    = "ts_csrf" // pre-login double-submit token for the login form
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "_csrf"
)

// signedIn, as a route's roles, admits any signed-in user.
var signedIn = []auth.Role{}

// authenticate reads the session from the bearer header or the session
// cookie. A bad or expired token is the same as none.
func (s *Server) authenticate(c *fiber.Ctx) error {
	token, bearer := bearerToken(c)
	if !bearer {
		token = c.Cookies(sessionCookie)
	}
	if token == "" {
		return c.Next()
	}
	// A bearer call is exempt from CSRF whether or not its token is still
	// good, so that a dead token answers 401 and not a CSRF error.
	c.Locals("bearer", bearer)
	sess, err := s.cfg.Auth.Authenticate(c.UserContext(), token)
	switch {
	case err == nil:
		sess.Token = token
		c.Locals("session", &sess)
	case errors.Is(err, auth.ErrUnauthorized), errors.Is(err, auth.ErrNotFound):
	default:
		// The sessions could not be read (the database is restarting): a
		// 503 the page retries, not a 401 that would send a candidate
		// mid-exam to the sign-in page.
		return err
	}
	return c.Next()
}

func bearerToken(c *fiber.Ctx) (string, bool) {
	h := c.Get(fiber.HeaderAuthorization)
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t), true
	}
	return "", false
}

// session returns the request's session, or nil.
func session(c *fiber.Ctx) *auth.Session {
	sess, _ := c.Locals("session").(*auth.Session)
	return sess
}

// currentUser returns the signed-in user; routes guarded by roles always
// have one.
func currentUser(c *fiber.Ctx) auth.User {
	if sess := session(c); sess != nil {
		return sess.User
	}
	return auth.User{}
}

// guard enforces a route's roles and, for state-changing requests made
// with a cookie, its CSRF token.
func (s *Server) guard(r route) fiber.Handler {
	limit := bodyLimit(r)
	return func(c *fiber.Ctx) error {
		if len(c.Request().Body()) > limit.bytes {
			return &tooLarge{field: limit.field, limit: limit.bytes}
		}
		if !sideEffectFree[r.Method+" "+r.Path] {
			if err := checkCSRF(c); err != nil {
				return err
			}
		}
		if r.Roles == nil {
			return c.Next()
		}
		sess := session(c)
		if sess == nil {
			return auth.ErrUnauthorized
		}
		if len(r.Roles) > 0 && !sess.User.Has(r.Roles...) {
			return auth.ErrForbidden
		}
		return c.Next()
	}
}

// checkCSRF: safe methods and bearer-token calls pass. A cookie session
// must present its CSRF token (header or form field). Without a session, a
// form must match the double-submit cookie and a JSON call must say it is
// JSON, which a cross-site form cannot.
func checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return nil
	}
	if bearer, _ := c.Locals("bearer").(bool); bearer {
		return nil
	}
	if c.Get("Sec-Fetch-Site") == "cross-site" {
		return auth.ErrCSRF
	}
	presented := c.Get(csrfHeader)
	if presented == "" {
		presented = c.FormValue(csrfField)
	}
	if sess := session(c); sess != nil {
		return auth.CheckCSRF(*sess, presented)
	}
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) && strings.HasPrefix(c.Path(), "/api/") {
		return nil
	}
	if cookie := c.Cookies(csrfCookie); cookie == "" || presented != cookie {
		return auth.ErrCSRF
	}
	return nil
}

// csrfToken returns the token a page embeds in its forms and scripts: the
// session's, or before sign-in the double-submit cookie's (set here).
func (s *Server) csrfToken(c *fiber.Ctx) string {
	if sess := session(c); sess != nil {
		return sess.CSRFToken
	}
	if t := c.Cookies(csrfCookie); t != "" {
		return t
	}
	t := auth.RandomPassword()
	c.Cookie(&fiber.Cookie{Name: csrfCookie, Value: t, Path: "/", HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
	return t
}

func (s *Server) setSessionCookie(c *fiber.Ctx, sess auth.Session) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/", Expires: sess.ExpiresAt,
		HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

func (s *Server) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

func urlEscape(s string) string { return url.QueryEscape(s) }

// localPath keeps a post-login redirect on this site.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}
