// Package memo keeps in memory what a process may remember instead of
// reading it again from the database: facts that never change once read
// (what a published item version looks like, whose an attempt is), or
// that are checked where they are used (the head of a proctoring chain).
package memo

import "sync"

// DefaultMax is the size of a Map whose Max is zero.
const DefaultMax = 100_000

// Map is a map safe for concurrent use that holds at most Max entries
// (DefaultMax when zero). When full it starts again empty rather than
// track recency: a forgotten entry costs one read. The zero value is
// ready to use.
type Map[K comparable, V any] struct {
	Max int

	mu sync.RWMutex
	m  map[K]V
}

// Get returns the value remembered for k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.m[k]
	return v, ok
}

// Put remembers v for k.
func (m *Map[K, V]) Put(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := m.Max
	if limit <= 0 {
		limit = DefaultMax
	}
	if m.m == nil || len(m.m) >= limit {
		m.m = make(map[K]V)
	}
	m.m[k] = v
}

// Delete forgets k.
func (m *Map[K, V]) Delete(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, k)
}
