package blobtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"

	"github.com/touchstone-assess/touchstone/internal/blob"
)

// The embedded server's bucket and root credentials. They guard nothing but
// a loopback port open for the length of a test run.
const (
	testBucket = "touchstone-test"
	testAccess = "touchstone-test"
	testSecret = "touchstone-test-secret"
	testRegion = "us-east-1"
)

// gateway is the S3 server embedded in this test process: the Versity S3
// gateway on its POSIX backend, a real S3 implementation (signature V4,
// multipart uploads, listings) serving a temporary directory. The gateway
// supports one instance per process, so it is shared by every test and
// stopped by Shutdown.
var gateway struct {
	once   sync.Once
	cfg    blob.S3Config
	err    error
	cancel context.CancelFunc
	done   chan struct{}
	dir    string
	root   string // the file backend's root, which it reaches by relative paths
}

// S3Config returns the configuration of a bucket for tests, with an object
// prefix unique to this call so that parallel tests and packages never see
// each other's blobs. The bucket is TOUCHSTONE_TEST_S3_URL (an s3:// URL as
// TOUCHSTONE_BLOB_URL takes, with TOUCHSTONE_TEST_S3_ACCESS_KEY and
// TOUCHSTONE_TEST_S3_SECRET_KEY) when set; otherwise a bucket of the S3
// server embedded in the test process, which needs nothing from the machine,
// so the S3 tests run everywhere, CI included, and never skip. The embedded
// server's file backend works in the process's working directory, which
// S3Config sets to its root: a test that needs its own afterwards must put
// it back.
func S3Config(tb testing.TB) blob.S3Config {
	tb.Helper()
	var cfg blob.S3Config
	if raw := os.Getenv("TOUCHSTONE_TEST_S3_URL"); raw != "" {
		c, err := blob.ParseS3URL(raw)
		if err != nil {
			tb.Fatalf("TOUCHSTONE_TEST_S3_URL: %v", err)
		}
		c.AccessKey = os.Getenv("TOUCHSTONE_TEST_S3_ACCESS_KEY")
		c.SecretKey = blob.Secret(os.Getenv("TOUCHSTONE_TEST_S3_SECRET_KEY"))
		cfg = c
	} else {
		gateway.once.Do(startGateway)
		if gateway.err != nil {
			tb.Fatalf("starting the embedded S3 server: %v", gateway.err)
		}
		// The file backend works relative to the working directory, which
		// it set to its root when it started; a test that put its own back
		// since would leave the next one without the bucket.
		if err := os.Chdir(gateway.root); err != nil {
			tb.Fatalf("embedded S3 server: %v", err)
		}
		cfg = gateway.cfg
	}
	cfg.Prefix += testPrefix(tb)
	return cfg
}

// OpenS3 returns a blob.S3 on the bucket of S3Config. Cleanup deletes every
// blob under its prefix.
func OpenS3(tb testing.TB, opts ...blob.Option) *blob.S3 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	s, err := blob.NewS3(ctx, S3Config(tb), opts...)
	if err != nil {
		tb.Fatalf("blob.NewS3: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		left, err := s.List(ctx, "", time.Time{})
		if err != nil {
			tb.Errorf("listing test blobs to delete: %v", err)
			return
		}
		for _, b := range left {
			if err := s.Delete(ctx, b.Key); err != nil {
				tb.Errorf("deleting test blob %s: %v", b.Key, err)
			}
		}
	})
	return s
}

// Shutdown stops the embedded S3 server, if it was started, and removes its
// directory. Call it from TestMain after m.Run.
func Shutdown() {
	if gateway.cancel == nil {
		return
	}
	gateway.cancel()
	select {
	case <-gateway.done:
	case <-time.After(patience):
	}
	os.RemoveAll(gateway.dir)
}

var unsafeInPrefix = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// testPrefix returns an object prefix unique to this call, naming the test
// to help whoever finds a leftover object: "TestS3_RoundTrip-3f9c…/".
func testPrefix(tb testing.TB) string {
	name := unsafeInPrefix.ReplaceAllString(tb.Name(), "_")
	if len(name) > 60 {
		name = name[:60]
	}
	return fmt.Sprintf("%s-%s/", name, rand.Text()[:10])
}

func startGateway() {
	fail := func(err error) { gateway.err = err }
	dir, err := os.MkdirTemp("", "touchstone-s3-")
	if err != nil {
		fail(err)
		return
	}
	gateway.dir = dir
	root, sidecar := filepath.Join(dir, "data"), filepath.Join(dir, "meta")
	gateway.root = root
	for _, d := range []string{root, sidecar} {
		if err := os.Mkdir(d, 0o700); err != nil {
			fail(err)
			return
		}
	}
	// Metadata (content types) in a sidecar directory rather than extended
	// attributes, which not every file system offers.
	sc, err := meta.NewSideCar(sidecar)
	if err != nil {
		fail(err)
		return
	}
	be, err := posix.New(root, sc, posix.PosixOpts{SideCarDir: sidecar})
	if err != nil {
		fail(err)
		return
	}
	// The port is chosen before the gateway listens on it, so another
	// process may take it first: try a few.
	var addr string
	for attempt := 1; ; attempt++ {
		if addr, err = freeAddr(); err == nil {
			err = runGateway(be, addr)
		}
		if err == nil {
			break
		}
		if attempt == 3 {
			fail(err)
			return
		}
	}
	client, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(testAccess, testSecret, ""), Region: testRegion, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		fail(err)
		return
	}
	mctx, mcancel := context.WithTimeout(context.Background(), patience)
	defer mcancel()
	if err := client.MakeBucket(mctx, testBucket, minio.MakeBucketOptions{Region: testRegion}); err != nil {
		fail(fmt.Errorf("creating bucket %s: %v", testBucket, err))
		return
	}
	gateway.cfg = blob.S3Config{
		Endpoint: addr, Bucket: testBucket, Region: testRegion, AccessKey: testAccess, SecretKey: testSecret,
		PathStyle: true, DisableTLS: true,
	}
}

// runGateway starts the gateway on addr and waits until it accepts
// connections, or returns why it stopped.
func runGateway(be *posix.Posix, addr string) error {
	ctx, cancel := context.WithCancel(context.Background())
	done, runErr := make(chan struct{}), make(chan error, 1)
	go func() {
		defer close(done)
		runErr <- embedgw.RunVersityGW(ctx, be, &embedgw.Config{
			RootUserAccess: testAccess, RootUserSecret: testSecret, Region: testRegion,
			Ports: []string{addr}, MaxConnections: 250, MaxRequests: 200, MultipartMaxParts: 10000,
			Quiet: true, KeepAlive: true,
		})
	}()
	deadline := time.Now().Add(patience)
	for {
		select {
		case err := <-runErr:
			cancel()
			return fmt.Errorf("the gateway stopped: %v", err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			gateway.cancel, gateway.done = cancel, done
			return nil
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			return fmt.Errorf("the gateway does not answer on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr returns a loopback address with a port free a moment ago: the
// gateway takes addresses, not listeners.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", errors.Join(errors.New("closing the probe listener"), err)
	}
	return addr, nil
}
