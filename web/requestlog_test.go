package web

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestLogLevels checks that each request is logged at the level of
// its outcome, and only when that level is on: a served request at debug,
// an unavailable service at info.
func TestRequestLogLevels(t *testing.T) {
	for _, tc := range []struct {
		level      slog.Level
		path       string
		wantLogged bool
		wantLevel  string
	}{
		{slog.LevelDebug, "/healthz", true, "level=DEBUG"},
		{slog.LevelInfo, "/healthz", false, ""},
		{slog.LevelInfo, "/readyz", true, "level=INFO"},
		{slog.LevelWarn, "/readyz", false, ""},
	} {
		var log bytes.Buffer
		s, err := New(Config{
			Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: tc.level})),
			Ready:  func(context.Context) error { return errors.New("database restarting") },
		})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.App().Test(httptest.NewRequest("GET", tc.path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var line string
		for l := range strings.Lines(log.String()) {
			if strings.Contains(l, "msg=request ") {
				line = l
			}
		}
		switch {
		case tc.wantLogged && !strings.Contains(line, tc.wantLevel):
			t.Errorf("%s at %s: request logged as %q, want it at %s", tc.path, tc.level, line, tc.wantLevel)
		case tc.wantLogged && !strings.Contains(line, "path="+tc.path):
			t.Errorf("%s at %s: request logged as %q, want its path", tc.path, tc.level, line)
		case !tc.wantLogged && line != "":
			t.Errorf("%s at %s: request logged as %q, want nothing", tc.path, tc.level, line)
		}
	}
}
