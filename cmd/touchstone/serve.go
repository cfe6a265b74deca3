package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/cmd/touchstone/demo"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/award"
	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/migrations"
	"github.com/touchstone-assess/touchstone/web"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// services is the wired application.
type services struct {
	db          *gorm.DB
	kv          kv.Store
	blobs       blob.Store
	auth        *auth.Service
	items       *items.Store
	assess      *assess.Service
	proctor     *proctor.Log
	snapshots   *proctor.Snapshots
	credentials *credential.Service
	metrics     *web.Metrics
	issuerID    string
}

func (s *services) close() {
	// Counts written behind go in before the database closes.
	_ = s.items.FlushExposures(context.Background())
	_ = s.kv.Close()
	migrations.Close(s.db)
}

// exposuresBehind is how long after a start its items' exposure counts
// are written: a ramp of starts then adds its counts in a statement a
// second instead of a transaction a start.
const exposuresBehind = time.Second

// wire opens the database and shared state and builds every service.
func wire(ctx context.Context, cfg config, baseURL string) (*services, error) {
	now := func() time.Time { return time.Now().UTC() }
	db, err := migrations.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	var store kv.Store
	if cfg.RedisURL != "" {
		r, err := kv.NewRedis(cfg.RedisURL, kv.WithPrefix(cfg.RedisPrefix))
		if err != nil {
			migrations.Close(db)
			return nil, err
		}
		store = r
	} else {
		store = kv.NewMemory(nil)
	}
	keyOpts, err := cfg.keyOptions()
	if err != nil {
		store.Close()
		migrations.Close(db)
		return nil, err
	}
	key, err := credential.LoadOrCreateKey(cfg.IssuerKey, keyOpts...)
	if err != nil {
		store.Close()
		migrations.Close(db)
		return nil, err
	}
	rsaKey, err := credential.LoadOrCreateRSAKey(cfg.IssuerRSAKey, keyOpts...)
	if err != nil {
		store.Close()
		migrations.Close(db)
		return nil, err
	}
	blobs, err := openBlobs(ctx, cfg.Blob)
	if err != nil {
		store.Close()
		migrations.Close(db)
		return nil, err
	}
	s := &services{db: db, kv: store, blobs: blobs, metrics: web.NewMetrics()}
	if sqlDB, err := db.DB(); err == nil {
		s.metrics.WatchPool(sqlDB)
	}
	s.auth = auth.NewService(db, store, now, auth.Limits{})
	if cfg.SessionIdle > 0 {
		s.auth.IdleTimeout = cfg.SessionIdle
	}
	s.items = items.NewStore(db, now)
	s.items.WriteExposuresBehind(exposuresBehind)
	s.assess = assess.NewService(db, s.items, now)
	s.proctor = proctor.NewLog(db, now)
	s.snapshots = proctor.NewSnapshots(s.proctor, blobs)
	s.credentials = credential.NewService(db, now, baseURL, key, credential.WithRSAKey(rsaKey), credential.WithIssued(s.metrics.CredentialIssued))
	s.assess.OnPass = award.OnPass(s.credentials, s.auth)
	s.assess.OnRescore = award.OnRescore(s.credentials)
	s.assess.OnReview = award.OnReview(s.credentials)
	s.assess.Risk = s.proctor.Risk
	s.assess.Eligible = award.Eligible(s.credentials)
	return s, nil
}

// openBlobs opens the file store: the bucket when one is configured
// (checking that it answers, so that a mistake stops the server at start),
// else the local directory.
func openBlobs(ctx context.Context, c blobConfig) (blob.Store, error) {
	if c.S3 != nil {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return blob.NewS3(ctx, *c.S3, blob.WithMaxSize(c.MaxSize))
	}
	return blob.NewLocal(c.Dir, blob.WithMaxSize(c.MaxSize))
}

// serve runs the server until ctx is done, then shuts down gracefully,
// letting requests in flight finish.
func serve(ctx context.Context, cfg config, stdout io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen on %s for metrics: %w", cfg.MetricsAddr, err)
		}
		defer metricsLn.Close()
	}
	baseURL := cfg.BaseURL
	if baseURL == "" {
		baseURL = "http://" + ln.Addr().String()
		if cfg.RedisURL != "" {
			// Shared state suggests several instances, each of which would
			// write its own address into the credentials it issues.
			logger.Warn("TOUCHSTONE_BASE_URL is not set: credentials name this instance's address; with several instances set it to the load balancer's public URL", "base_url", baseURL)
		}
	}

	svc, err := wire(ctx, cfg, baseURL)
	if err != nil {
		return err
	}
	defer svc.close()
	// On PostgreSQL, audit entries are placed in the chain after their
	// decisions commit; every instance runs a chainer, and they take turns.
	go audit.RunChainer(ctx, svc.db, 200*time.Millisecond, func(err error) { logger.Error("audit chainer", "err", err) })

	if cfg.Demo {
		if err := loadDemo(ctx, cfg, svc, stdout); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	// The demo brings its own issuer; otherwise the deployment's is created.
	svc.issuerID, err = svc.credentials.EnsureIssuer(ctx, credential.IssuerInput{Name: "Touchstone", Description: "Credentials issued by this Touchstone deployment."})
	if err != nil {
		return err
	}

	srv, err := web.New(web.Config{
		Auth: svc.auth, Items: svc.items, Assess: svc.assess, Proctor: svc.proctor, Snapshots: svc.snapshots, Credentials: svc.credentials, Blobs: svc.blobs,
		Audit: audit.NewReader(svc.db), IssuerID: svc.issuerID, BaseURL: baseURL, Logger: logger, TrustedProxies: cfg.TrustedProxies,
		Live:             svc.kv,
		Metrics:          svc.metrics,
		ProctoringAssets: cfg.ProctoringAssets,
		Ready: func(ctx context.Context) error {
			sqlDB, err := svc.db.DB()
			if err != nil {
				return err
			}
			return errors.Join(sqlDB.PingContext(ctx), svc.kv.Ping(ctx))
		},
	})
	if err != nil {
		return err
	}

	go sweep(ctx, svc, logger)
	go svc.auth.WatchSessions(ctx)

	if metricsLn != nil {
		metrics := metricsServer(svc.metrics, cfg.MetricsToken)
		go func() {
			if err := metrics.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics listener stopped", "err", err)
			}
		}()
		defer metrics.Close()
		fmt.Fprintf(stdout, "Metrics are served at http://%s/metrics\n", metricsLn.Addr())
	}

	fmt.Fprintf(stdout, "Touchstone is running at %s\n", baseURL)
	errc := make(chan error, 1)
	go func() { errc <- srv.App().Listener(&patientListener{Listener: ln, logger: logger}) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	srv.StopStreams()
	if err := srv.App().ShutdownWithTimeout(30 * time.Second); err != nil {
		return err
	}
	// A shutdown that comes before the listener goroutine has started
	// serving finds nothing to stop; closing the listener ends it either way.
	ln.Close()
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// sweep submits attempts whose time is up, re-issues any credential a
// pass is missing after a crash, and deletes proctoring images at the end
// of their retention. With several instances, one sweeps at a
// time (a lock in the shared state), and images are purged once a minute
// across them all.
func sweep(ctx context.Context, svc *services, logger *slog.Logger) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		unlock, err := svc.kv.Lock(ctx, "sweeper", 30*time.Second)
		if errors.Is(err, kv.ErrLocked) {
			continue // another instance is sweeping
		}
		if err != nil {
			// The shared state is down. The lock only saves duplicate work:
			// submitting at the deadline is idempotent in the database, and
			// a candidate's time must not run on because Redis is away. So
			// every instance sweeps until the lock is back.
			unlock = func(context.Context) error { return nil }
		}
		if n, err := svc.assess.SubmitExpired(ctx); err != nil {
			logger.Error("sweep: submit expired attempts", "err", err)
		} else if n > 0 {
			logger.Info("sweep: submitted attempts at their deadline", "count", n)
		}
		if err := svc.auth.PurgeExpired(ctx); err != nil {
			logger.Error("sweep: purge sessions", "err", err)
		}
		// Proctoring images past their program's retention period, once a
		// minute (the period is counted in days): the lock is left to
		// expire, so that no instance purges again within the minute.
		if _, err := svc.kv.Lock(ctx, "sweeper:purge", time.Minute); err == nil {
			if n, err := svc.snapshots.Purge(ctx); err != nil {
				logger.Error("sweep: delete proctoring images past retention", "err", err)
			} else if n > 0 {
				logger.Info("sweep: deleted proctoring images past retention", "count", n)
			}
		}
		_ = unlock(context.WithoutCancel(ctx))
	}
}

// loadDemo loads the demo program into an empty database and prints how to
// sign in. One instance loads it; the others wait for the lock and find it
// there.
func loadDemo(ctx context.Context, cfg config, svc *services, stdout io.Writer) error {
	var unlock func(context.Context) error
	for {
		var err error
		unlock, err = svc.kv.Lock(ctx, "demo-load", 5*time.Minute)
		if err == nil {
			break
		}
		if !errors.Is(err, kv.ErrLocked) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	defer unlock(context.WithoutCancel(ctx))

	programs, err := svc.assess.Programs(ctx)
	if err != nil || len(programs) > 0 {
		return err
	}
	password := cfg.DemoPassword
	generated := password == ""
	if generated {
		password = auth.RandomPassword()
	}
	fmt.Fprintln(stdout, "Loading the demo program (three exams, pilot history, standard-setting studies)…")
	sum, err := demo.Load(ctx, demo.Deps{Auth: svc.auth, Items: svc.items, Assess: svc.assess, Credentials: svc.credentials},
		demo.Options{Password: password, Seed: 2026, HistoryPerExam: 1000})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Demo accounts:")
	for _, a := range sum.Accounts {
		fmt.Fprintf(stdout, "  %-30s %v\n", a.Email, a.Roles)
	}
	if generated {
		fmt.Fprintf(stdout, "Their password (shown once; set TOUCHSTONE_DEMO_PASSWORD to choose it): %s\n", password)
	} else {
		fmt.Fprintln(stdout, "Their password is the value of TOUCHSTONE_DEMO_PASSWORD.")
	}
	return nil
}
