package memo_test

import (
	"testing"

	"github.com/touchstone-assess/touchstone/internal/memo"
)

func TestMap(t *testing.T) {
	var m memo.Map[string, int]
	if _, ok := m.Get("a"); ok {
		t.Fatal("an empty map remembers a")
	}
	m.Put("a", 1)
	m.Put("b", 2)
	if v, ok := m.Get("a"); !ok || v != 1 {
		t.Errorf("Get(a) = %d, %v; want 1, true", v, ok)
	}
	m.Delete("a")
	if _, ok := m.Get("a"); ok {
		t.Error("a is remembered after Delete")
	}

	small := memo.Map[int, int]{Max: 3}
	for i := range 3 {
		small.Put(i, i)
	}
	if _, ok := small.Get(2); !ok {
		t.Fatal("a map of 3 forgot its third entry")
	}
	small.Put(3, 3) // full: starts again
	if _, ok := small.Get(0); ok {
		t.Error("a full map kept its old entries")
	}
	if v, ok := small.Get(3); !ok || v != 3 {
		t.Errorf("Get(3) after starting again = %d, %v; want 3, true", v, ok)
	}
}
