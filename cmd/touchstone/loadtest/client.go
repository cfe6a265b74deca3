package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// The endpoints of the report.
const (
	EndpointLogin    = "login"
	EndpointStart    = "start"
	EndpointView     = "attempt view"
	EndpointSave     = "save"
	EndpointEvents   = "events"
	EndpointSnapshot = "snapshot"
	EndpointLive     = "live stream"
	EndpointMessages = "messages"
	EndpointResume   = "resume"
	EndpointSubmit   = "submit"
)

// client is one simulated browser: its session, its address as the load
// balancer reports it, and the shared connections to the server.
type client struct {
	bases   []string
	turn    *atomic.Uint64
	http    *fasthttp.Client
	timeout time.Duration // of one request
	streams *http.Client
	rec     *recorder
	addr    string // X-Forwarded-For, when set
	cookie  string // "ts_session=…"
	csrf    string
}

// apiError is the server's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// callError is a failed call: its status (0 when no answer came) and reason.
type callError struct {
	Status int
	Reason string
}

func (e *callError) Error() string { return e.Reason }

// reason names a failure for the report: "409 closed", "transport: timeout".
func failure(status int, body []byte, err error) string {
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fasthttp.ErrDialTimeout) || (errors.As(err, &ne) && ne.Timeout()):
			return "transport: timeout"
		case errors.Is(err, syscall.ECONNREFUSED):
			return "transport: connection refused"
		case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, fasthttp.ErrConnectionClosed):
			return "transport: connection reset"
		case errors.Is(err, syscall.EMFILE) || errors.Is(err, os.ErrDeadlineExceeded):
			return "transport: " + err.Error()
		}
		return "transport: " + err.Error()
	}
	var ae apiError
	code := ""
	if json.Unmarshal(body, &ae) == nil {
		code = ae.Error.Code
		if ae.Error.Field != "" {
			code += " (" + ae.Error.Field + ")"
		}
	}
	if code == "" {
		code = http.StatusText(status)
	}
	return strconv.Itoa(status) + " " + code
}

// call makes one request as the player does (the session cookie, and the
// CSRF token on writes), records it under name, and decodes a 2xx answer
// into out. A status other than want is an error, recorded with its reason.
func (c *client) call(ctx context.Context, name, method, path, contentType string, body []byte, want int, out any) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI(c.next() + path)
	req.Header.SetMethod(method)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	req.Header.Set("Accept", "application/json")
	c.headers(method, req.Header.Set)
	req.SetBodyRaw(body)
	defer func() { fasthttp.ReleaseRequest(req); fasthttp.ReleaseResponse(resp) }()
	start := time.Now()
	err := c.do(ctx, req, resp)
	d := time.Since(start)
	if ctx.Err() != nil && err != nil {
		return ctx.Err() // the run is over: not the server's failure
	}
	var raw []byte
	status := 0
	if err == nil {
		raw, status = resp.Body(), resp.StatusCode()
	}
	if err != nil || status != want {
		reason := failure(status, raw, err)
		c.rec.observe(name, d, reason)
		return &callError{Status: status, Reason: reason}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			reason := "bad answer: " + err.Error()
			c.rec.observe(name, d, reason)
			return &callError{Status: status, Reason: reason}
		}
	}
	c.rec.observe(name, d, "")
	return nil
}

// do sends req within the run's timeout, or by the context's deadline if
// sooner. A run cancelled (an interrupt) lets a request in flight finish
// within the timeout rather than give it up: giving up at once needs a
// goroutine per request, whose hand-offs cost the tool a tenth of its CPU
// on the cores it shares with the server it measures.
func (c *client) do(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return c.http.DoDeadline(req, resp, deadline)
}

// next is the base URL of the instance the next request goes to.
func (c *client) next() string {
	return c.bases[(c.turn.Add(1)-1)%uint64(len(c.bases))]
}

// headers sets what the browser sends with every request: the address
// the load balancer reports, the session cookie and, on writes, the CSRF
// token.
func (c *client) headers(method string, set func(key, value string)) {
	if c.addr != "" {
		set("X-Forwarded-For", c.addr)
	}
	if c.cookie != "" {
		set("Cookie", c.cookie)
		if method != http.MethodGet {
			set("X-CSRF-Token", c.csrf)
		}
	}
}

func (c *client) callJSON(ctx context.Context, name, method, path string, in any, want int, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return c.call(ctx, name, method, path, ct, body, want, out)
}

// login signs in with POST /api/v1/session and keeps the session as the
// browser does: its cookie, and the CSRF token for writes.
func (c *client) login(ctx context.Context, email, password string) error {
	var out struct {
		Token string `json:"token"`
		CSRF  string `json:"csrf_token"`
	}
	if err := c.callJSON(ctx, EndpointLogin, http.MethodPost, "/api/v1/session",
		map[string]string{"email": email, "password": password}, http.StatusCreated, &out); err != nil {
		return err
	}
	if out.Token == "" || out.CSRF == "" {
		return fmt.Errorf("login %s: the answer has no token or CSRF token", email)
	}
	c.cookie, c.csrf = "ts_session="+out.Token, out.CSRF
	return nil
}

// stream holds the attempt's server-sent event stream open as the
// player's EventSource does, calling onOpen at each "open" event, until
// the server ends it (after five minutes) or ctx is done. It returns
// whether the stream opened.
func (c *client) stream(ctx context.Context, path string, onOpen func()) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.next()+path, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	c.headers(req.Method, req.Header.Set)
	start := time.Now()
	resp, err := c.streams.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		c.rec.observe(EndpointLive, time.Since(start), failure(0, nil, err))
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		reason := failure(resp.StatusCode, raw, nil)
		c.rec.observe(EndpointLive, time.Since(start), reason)
		return false, &callError{Status: resp.StatusCode, Reason: reason}
	}
	buf := make([]byte, 4096)
	var pending []byte
	opened := false
	for {
		n, err := resp.Body.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.Index(pending, []byte("\n\n"))
			if i < 0 {
				break
			}
			ev := string(pending[:i])
			pending = pending[i+2:]
			if !opened && strings.Contains(ev, "event: open") {
				opened = true
				// Latency to the stream's first event: what the page waits.
				c.rec.observe(EndpointLive, time.Since(start), "")
				onOpen()
			}
		}
		if err != nil {
			if !opened && ctx.Err() == nil {
				c.rec.observe(EndpointLive, time.Since(start), failure(0, nil, err))
				return false, err
			}
			return opened, nil
		}
	}
}
