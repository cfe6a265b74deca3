// Package web is Touchstone's HTTP face: one Fiber app serving the pages
// (server-rendered html/template with small ES-module scripts) and the JSON
// API under /api/v1, described by an OpenAPI document.
//
// Handlers bind, validate, call a domain package and respond; they never
// touch storage. Every route is declared once, with the roles that may use
// it, in routes.go; one function (errors.go) turns errors into responses.
package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/auth"
)

//go:embed static
var staticFiles embed.FS

//go:embed all:templates
var templateFiles embed.FS

//go:embed openapi.json
var openAPI []byte

// Config holds what the web layer needs. Every field is required but
// Logger, Now and Metrics.
type Config struct {
	Auth    *auth.Service
	Items   *items.Store
	Assess  *assess.Service
	Proctor *proctor.Log
	// Snapshots stores and lists webcam snapshots and check-in photos (in
	// Blobs). It may be nil where no route serves them.
	Snapshots   *proctor.Snapshots
	Credentials *credential.Service
	Audit       *audit.Reader
	// Blobs stores files: the photos taken at check-in. It may be nil
	// where no route serves files (tests of other pages).
	Blobs    blob.Store
	IssuerID string
	BaseURL  string // public URL of this deployment, no trailing slash
	// TrustedProxies are the addresses or CIDR ranges of load balancers
	// whose X-Forwarded-For names the client (login rate limits count per
	// client address). Empty: the connection's address is the client's.
	TrustedProxies []string
	// Live is the shared state's publish/subscribe, through which a
	// proctor's action on one server instance reaches the candidate's page
	// connected to another.
	Live kv.Store
	// ProctoringAssets is the directory of the installed @vladmandic/human
	// package whose bundle and face models the browser's face checks load
	// (see proctoring.go). Empty or incomplete: face checks are unavailable.
	ProctoringAssets string
	// Ready reports whether the database and the shared state answer.
	Ready func(ctx context.Context) error
	// Metrics receives the server's measurements; nil: a set of its own,
	// which no one reads.
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time
	// StreamPing is how long a live stream stays silent before the server
	// pings it; 0: 25 s, half the 60-second idle timeout of common proxies
	// and load balancers.
	StreamPing time.Duration
}

// Server is the web layer: a Fiber app and what its handlers share.
type Server struct {
	cfg    Config
	app    *fiber.App
	pages  map[string]*template.Template
	secure bool // cookies carry Secure (the base URL is https)
	// streams is closed by StopStreams, ending every live stream so that a
	// graceful shutdown does not wait for them.
	streams     chan struct{}
	stopStreams sync.Once
	hub         liveHub // this instance's subscription to live events
	// proctoring is the face-check library served to candidates' browsers.
	proctoring proctoringAssets
}

// StopStreams ends every open live stream (the browsers reconnect to
// another instance); call it before shutting the app down.
func (s *Server) StopStreams() { s.stopStreams.Do(func() { close(s.streams) }) }

// New builds the app with every route of routes.go.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.StreamPing <= 0 {
		cfg.StreamPing = defaultStreamPing
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	s := &Server{cfg: cfg, secure: strings.HasPrefix(cfg.BaseURL, "https://"), streams: make(chan struct{})}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.proctoring = loadProctoringAssets(cfg.ProctoringAssets, cfg.Logger)
	if err := cfg.Metrics.watch(cfg.Assess); err != nil {
		return nil, err
	}

	s.app = fiber.New(fiber.Config{
		Immutable:               true,
		EnableTrustedProxyCheck: len(cfg.TrustedProxies) > 0,
		TrustedProxies:          cfg.TrustedProxies,
		ProxyHeader:             proxyHeader(cfg.TrustedProxies),
		ErrorHandler:            s.handleError,
		// The largest upload and a margin: a body just over its route's
		// bound reaches guard, whose 413 names the route's field; the
		// server itself refuses anything larger.
		BodyLimit:             maxImportBytes + 1<<20,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		DisableStartupMessage: true,
		AppName:               "Touchstone",
	})
	s.app.Use(recover.New())
	s.app.Use(requestid.New())
	s.app.Use(s.measureRequests)
	s.app.Use(s.logRequests)
	s.app.Use(s.securityHeaders)
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	s.app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: 3600}))
	s.app.Use(s.authenticate)
	for _, r := range s.routes() {
		s.app.Add(r.Method, r.Path, s.guard(r), r.Handler)
	}
	s.app.Use(notFound)
	return s, nil
}

func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

// App returns the Fiber app, to listen or to test with app.Test.
func (s *Server) App() *fiber.App { return s.app }

func (s *Server) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	level := slog.LevelDebug
	switch status := c.Response().StatusCode(); {
	case status == fiber.StatusServiceUnavailable:
		level = slog.LevelInfo // a service restarts; handleError warned with the cause
	case status >= 500:
		level = slog.LevelError
	}
	if !s.cfg.Logger.Enabled(c.UserContext(), level) {
		// Most requests log at debug, off in production: their attributes
		// would be built and boxed for nothing on every request.
		return nil
	}
	s.cfg.Logger.Log(c.UserContext(), level, "request",
		"id", c.GetRespHeader(fiber.HeaderXRequestID), "method", c.Method(), "path", c.Path(),
		"status", c.Response().StatusCode(), "duration", time.Since(start))
	return nil
}

func (s *Server) securityHeaders(c *fiber.Ctx) error {
	if s.secure {
		// Browsers that once reached the deployment over https never
		// fall back to http for two years.
		c.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	// Face checks (static/facecheck.js) run TensorFlow.js on WebGL or the
	// CPU, never WebAssembly, so script-src needs no 'wasm-unsafe-eval':
	// the one WebAssembly probe in Human's bundle (long.js) is refused and
	// falls back to JavaScript.
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
	return c.Next()
}
