package web

import (
	"testing"

	"github.com/touchstone-assess/touchstone/assess/proctor"
)

// TestKindLabels: every event kind has a name for people in the one table
// the console and the case file share, and an unknown kind is shown as it is.
func TestKindLabels(t *testing.T) {
	for _, k := range proctor.Kinds {
		if l := kindLabel(k); l == k || l == "" {
			t.Errorf("kind %s: label %q, want a name for people", k, l)
		}
	}
	if got := kindLabel("teleported"); got != "teleported" {
		t.Errorf("unknown kind: label %q, want it as it is", got)
	}
}
