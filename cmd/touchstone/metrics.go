package main

import (
	"crypto/subtle"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/web"
)

// metricsServer serves m at /metrics, for Prometheus, and the Go
// runtime's profiles at /debug/pprof/, on a listener apart from the app's:
// a deployment exposes the app to the internet and keeps this port on its
// private network. With a token, a request must present it as a bearer
// token (401 otherwise).
func metricsServer(m *web.Metrics, token blob.Secret) *http.Server {
	mux := http.NewServeMux()
	guard := func(h http.Handler) http.Handler { return requireBearer(string(token), h) }
	mux.Handle("GET /metrics", guard(m.Handler()))
	// Profiles of the running server are how a slow request is found in
	// production. No /cmdline: flags can carry a database password.
	mux.Handle("GET /debug/pprof/", guard(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET /debug/pprof/profile", guard(http.HandlerFunc(pprof.Profile)))
	mux.Handle("GET /debug/pprof/symbol", guard(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("GET /debug/pprof/trace", guard(http.HandlerFunc(pprof.Trace)))
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 2 * time.Minute}
}

// requireBearer lets through the requests that present token as their
// bearer token; an empty token lets every request through.
func requireBearer(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
