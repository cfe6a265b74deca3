package web

import (
	"context"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
)

// NotifyConsoleForTest exports notifyConsole to package web_test (this file
// is compiled only into the test binary), so that a test can record a
// snapshot and tell the consoles as the snapshot route does.
func (s *Server) NotifyConsoleForTest(ctx context.Context, a assess.Attempt, events []proctor.Event, snap *proctor.Snapshot) {
	s.notifyConsole(ctx, a.Owner(), events, snap, nil)
}
