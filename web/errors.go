package web

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/items/qti"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// apiError is the body of every error answer: {"error": {...}}.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// AttemptID names the open attempt of an "active_attempt" refusal.
	AttemptID string `json:"attempt_id,omitempty"`
	// Missing lists the prerequisite achievements of a "not_eligible"
	// refusal.
	Missing []string `json:"missing,omitempty"`
}

// errorKinds is the one table from domain errors to HTTP answers. The
// message is safe to show; the error's own text is only logged.
var errorKinds = []struct {
	err     error
	status  int
	code    string
	message string
}{
	{items.ErrNotFound, fiber.StatusNotFound, "not_found", "not found"},
	{items.ErrStatus, fiber.StatusConflict, "wrong_status", "the item's status does not allow this; reload it"},
	{items.ErrRekeyChangesItem, fiber.StatusUnprocessableEntity, "rekey_changes_item", "a rekey may change only the key, never what candidates saw"},
	{items.ErrFlagResolved, fiber.StatusConflict, "flag_resolved", "the flag is already resolved; reload the item"},
	{items.ErrSelfReview, fiber.StatusForbidden, "self_review", "you wrote part of this change: another reviewer must approve it"},
	{assess.ErrNotFound, fiber.StatusNotFound, "not_found", "not found"},
	{credential.ErrNotFound, fiber.StatusNotFound, "not_found", "not found"},
	{auth.ErrNotFound, fiber.StatusNotFound, "not_found", "not found"},
	{proctor.ErrSnapshotNotFound, fiber.StatusNotFound, "not_found", "not found"},
	{assess.ErrClosed, fiber.StatusConflict, "closed", "the attempt is closed: it was submitted or its time is up"},
	{assess.ErrActiveAttempt, fiber.StatusConflict, "active_attempt", "you have another exam in progress; finish or submit it first"},
	{assess.ErrNotEligible, fiber.StatusConflict, "not_eligible", "this exam requires credentials you do not hold yet"},
	{assess.ErrPaused, fiber.StatusConflict, "paused", "the exam is paused for a break; end the break to continue"},
	{assess.ErrHeld, fiber.StatusConflict, "held", "your proctor has paused the exam; it goes on when they resume it"},
	{assess.ErrNotDue, fiber.StatusConflict, "not_due", "the exam's time is not up"},
	{assess.ErrCalibrationRunning, fiber.StatusConflict, "calibration_running", "a calibration of this exam under this model is running: wait for it to finish"},
	{assess.ErrNoBreakLeft, fiber.StatusConflict, "no_break_left", "no break time is left"},
	{assess.ErrUnanswered, fiber.StatusConflict, "unanswered", "answer the current question before moving on"},
	{assess.ErrNoStandard, fiber.StatusConflict, "no_standard", "the exam has no approved standard yet"},
	{assess.ErrNotAdmitted, fiber.StatusConflict, "check_in_required", "this exam starts after you check in and are admitted: open its check-in from your exams"},
	{assess.ErrNoCheckin, fiber.StatusConflict, "no_check_in", "this exam needs no check-in: start it from your exams"},
	{assess.ErrCheckinStatus, fiber.StatusConflict, "checkin_status", "the check-in has moved on and no longer takes this change; reload it"},
	{assess.ErrConflict, fiber.StatusConflict, "conflict", "the request conflicts with the current state"},
	{assess.ErrNotAvailable, fiber.StatusConflict, "not_available", "the exam is not open for attempts now"},
	{assess.ErrAttemptLimit, fiber.StatusConflict, "attempt_limit", "you have used every attempt this exam allows"},
	{assess.ErrRetakeWait, fiber.StatusConflict, "retake_wait", "the waiting period before a retake has not passed yet"},
	{credential.ErrRevoked, fiber.StatusConflict, "revoked", "the credential is already revoked"},
	{credential.ErrNotSuspended, fiber.StatusConflict, "not_suspended", "the credential is not suspended"},
	{credential.ErrNoKey, fiber.StatusNotFound, "not_found", "this issuer signs with no key of that algorithm"},
	{credential.ErrUnknownStatusList, fiber.StatusNotFound, "not_found", "not found"},
	{credential.ErrPathwayExists, fiber.StatusConflict, "pathway_exists", "the certificate already has a pathway"},
	{assess.ErrForbidden, fiber.StatusForbidden, "forbidden", "you may not do this"},
	{auth.ErrForbidden, fiber.StatusForbidden, "forbidden", "you may not do this"},
	{auth.ErrCSRF, fiber.StatusForbidden, "csrf", "missing or wrong CSRF token; reload the page"},
	{auth.ErrUnauthorized, fiber.StatusUnauthorized, "unauthorized", "sign in first"},
	{auth.ErrBadLogin, fiber.StatusUnauthorized, "bad_login", "wrong email or password"},
	{auth.ErrRateLimited, fiber.StatusTooManyRequests, "rate_limited", "too many attempts; wait a few minutes"},
}

// classify turns err into a status and a safe error body.
func classify(err error) (int, apiError) {
	var v *valid.Error
	if errors.As(err, &v) {
		return fiber.StatusUnprocessableEntity, apiError{Code: "invalid", Message: v.Message, Field: v.Field}
	}
	var pkg *qti.Error
	if errors.As(err, &pkg) {
		// The message locates the fault in the author's own file.
		return fiber.StatusUnprocessableEntity, apiError{Code: "invalid_package", Message: pkg.Error(), Field: "file"}
	}
	var big *tooLarge
	if errors.As(err, &big) {
		return fiber.StatusRequestEntityTooLarge, apiError{Code: "request_entity_too_large", Message: big.message(), Field: big.field}
	}
	var bad *badRequest
	if errors.As(err, &bad) {
		return fiber.StatusBadRequest, apiError{Code: "bad_request", Message: bad.message, Field: bad.field}
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			body := apiError{Code: k.code, Message: k.message}
			var active *assess.ActiveAttemptError
			if errors.As(err, &active) {
				body.AttemptID = active.AttemptID
			}
			var ineligible *assess.NotEligibleError
			if errors.As(err, &ineligible) {
				body.Missing = ineligible.Missing
			}
			return k.status, body
		}
	}
	var fe *fiber.Error
	if unavailable(err) || (errors.As(err, &fe) && fe.Code == fiber.StatusServiceUnavailable) {
		return fiber.StatusServiceUnavailable, apiError{Code: "unavailable",
			Message: "the service is briefly unavailable; try again in a few seconds"}
	}
	if errors.As(err, &fe) && fe.Code < 500 {
		body := apiError{Code: strings.ReplaceAll(strings.ToLower(utils.StatusMessage(fe.Code)), " ", "_"), Message: fe.Message}
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			// The server refused the body before any route saw it.
			body.Field = "body"
		}
		return fe.Code, body
	}
	return fiber.StatusInternalServerError, apiError{Code: "internal", Message: "internal error"}
}

// tooLarge is a body or an uploaded file over its bound: 413 naming the
// field.
type tooLarge struct {
	field string
	limit int
}

func (e *tooLarge) Error() string { return e.field + ": " + e.message() }

func (e *tooLarge) message() string {
	if e.limit >= 1<<20 && e.limit%(1<<20) == 0 {
		return fmt.Sprintf("is larger than the limit of %d MiB", e.limit>>20)
	}
	if e.limit >= 1<<10 && e.limit%(1<<10) == 0 {
		return fmt.Sprintf("is larger than the limit of %d KiB", e.limit>>10)
	}
	return fmt.Sprintf("is larger than the limit of %d bytes", e.limit)
}

// retryAfter is the Retry-After, in seconds, of a 503: a database restart
// or fail-over takes seconds, and the exam player retries after it.
const retryAfter = 2

// unavailable reports whether err says that a backing service (the
// database, the shared state, the file store) cannot be reached right now
// rather than that the request is wrong: the connection was refused,
// reset, closed or timed out, the server is shutting down or starting
// up, or SQLite is busy. Such a request may succeed when retried, so it
// answers 503 with Retry-After instead of 500. The checks use the standard
// library's error types and the drivers' exported methods (SQLState,
// SafeToRetry, Code), so that web needs no import of GORM or a driver.
func unavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true // a dial or read on a connection that failed or timed out
	}
	var retry interface{ SafeToRetry() bool }
	if errors.As(err, &retry) && retry.SafeToRetry() {
		return true // the driver failed before sending anything (a closed connection)
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		// Class 08: connection exceptions; 57P01–57P03: the server is
		// shutting down, crashed or is starting up.
		switch code := pg.SQLState(); {
		case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03":
			return true
		}
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		// SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes:
		// another writer held the database past the busy timeout.
		switch lite.Code() & 0xff {
		case 5, 6:
			return true
		}
	}
	return false
}

// badRequest is malformed input: a body that is not JSON, a missing
// parameter.
type badRequest struct{ field, message string }

func (e *badRequest) Error() string { return e.field + ": " + e.message }

func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status, body := classify(err)
	if status == fiber.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retryAfter))
		// Expected while a service restarts; one line each, not an alarm.
		s.cfg.Logger.Warn("request failed: service unavailable", "id", c.GetRespHeader(fiber.HeaderXRequestID), "path", c.Path(), "err", err)
	} else if status >= 500 {
		s.cfg.Logger.Error("request failed", "id", c.GetRespHeader(fiber.HeaderXRequestID), "path", c.Path(), "err", err)
	}
	if status == fiber.StatusUnauthorized && wantsHTML(c) && c.Method() == fiber.MethodGet {
		return c.Redirect("/login?next=" + urlEscape(c.OriginalURL()))
	}
	if wantsHTML(c) {
		c.Status(status)
		return s.render(c, "error", pageError{Status: status, Message: body.Message})
	}
	return c.Status(status).JSON(fiber.Map{"error": body})
}

// wantsHTML is true for page requests: not the API, and a browser asking
// for HTML.
func wantsHTML(c *fiber.Ctx) bool {
	if strings.HasPrefix(c.Path(), "/api/") {
		return false
	}
	return strings.Contains(c.Get(fiber.HeaderAccept), "text/html") || c.Method() != fiber.MethodGet
}
