package main

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/web"
)

// metricsServer serves m at /metrics, for Prometheus, on a listener apart
// from the app's: a deployment exposes the app to the internet and keeps
// this port on its private network. With a token, a scrape must present
// it as a bearer token (401 otherwise).
func metricsServer(m *web.Metrics, token blob.Secret) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", requireBearer(string(token), m.Handler()))
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
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
