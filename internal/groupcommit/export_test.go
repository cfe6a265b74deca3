package groupcommit

// Waiting is how many requests w holds that are not yet written, for tests.
func Waiting[K comparable, T, R any](w *Writer[K, T, R]) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiting)
}
