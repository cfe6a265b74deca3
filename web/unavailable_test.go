package web

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
)

type sqlStateError string

func (e sqlStateError) Error() string    { return "SQLSTATE " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

type sqliteError int

func (e sqliteError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e sqliteError) Code() int     { return int(e) }

type retryError bool

func (e retryError) Error() string     { return "conn closed" }
func (e retryError) SafeToRetry() bool { return bool(e) }

// refused is the error of a dial to a port nobody listens on, as the
// database driver meets it while PostgreSQL restarts.
func refused(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
		t.Skipf("something listens on %s again", addr)
	}
	return err
}

// Errors that say a backing service cannot be reached now answer 503
// "unavailable"; errors of the request or of the program do not.
func TestClassifyUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("auth: session: %w", refused(t)), true},
		{"bad connection", fmt.Errorf("assess: save: %w", driver.ErrBadConn), true},
		{"connection cut mid-answer", fmt.Errorf("assess: %w", io.ErrUnexpectedEOF), true},
		{"closed connection, safe to retry", fmt.Errorf("assess: %w", retryError(true)), true},
		{"PostgreSQL starting up", fmt.Errorf("assess: %w", sqlStateError("57P03")), true},
		{"PostgreSQL shutting down", sqlStateError("57P01"), true},
		{"PostgreSQL connection failure", sqlStateError("08006"), true},
		{"SQLite busy", fmt.Errorf("assess: %w", sqliteError(5)), true},
		{"SQLite busy snapshot", sqliteError(5 | 2<<8), true},
		{"SQLite locked", sqliteError(6), true},
		{"unsafe to retry", retryError(false), false},
		{"unique violation", sqlStateError("23505"), false},
		{"SQLite constraint", sqliteError(19), false},
		{"not found", fmt.Errorf("x: %w", assess.ErrNotFound), false},
		{"a bug", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := classify(tc.err)
			if got := status == fiber.StatusServiceUnavailable && body.Code == "unavailable"; got != tc.want {
				t.Errorf("classify(%v) = %d %+v; want unavailable %v", tc.err, status, body, tc.want)
			}
		})
	}
}

// A 503 carries Retry-After and the JSON error body the exam player reads.
func TestUnavailableAnswer(t *testing.T) {
	s := &Server{cfg: Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	app := fiber.New(fiber.Config{ErrorHandler: s.handleError})
	dial := refused(t)
	app.Put("/api/v1/attempts/a/responses/i", func(*fiber.Ctx) error { return fmt.Errorf("assess: save response: %w", dial) })
	resp, err := app.Test(httptest.NewRequest("PUT", "/api/v1/attempts/a/responses/i", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error apiError `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != fiber.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" || body.Error.Code != "unavailable" {
		t.Errorf("got %d, Retry-After %q, %+v; want 503, Retry-After 2, code unavailable", resp.StatusCode, resp.Header.Get("Retry-After"), body.Error)
	}
}
