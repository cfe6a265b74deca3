package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config names an S3-compatible bucket and how to reach it. The zero
// values of its options are the usual production ones: TLS on, the bucket
// addressed as the server prefers, credentials from the environment or the
// instance's role when none are given.
type S3Config struct {
	// Endpoint is the server's host[:port] (default s3.amazonaws.com).
	Endpoint string
	// Bucket must exist: the store does not create it.
	Bucket string
	// Prefix, when set, starts every object name, so that one bucket can
	// hold several deployments (it ends in '/' or is empty).
	Prefix string
	// Region is the bucket's region; empty asks the server.
	Region string
	// AccessKey and SecretKey are static credentials. Left empty, the
	// standard AWS_* / MINIO_* variables and then the instance's IAM role
	// are tried.
	AccessKey string
	SecretKey Secret
	// PathStyle addresses the bucket as https://endpoint/bucket rather than
	// https://bucket.endpoint, as most self-hosted servers need.
	PathStyle bool
	// DisableTLS talks plain HTTP: only for a server on a trusted network.
	DisableTLS bool
}

// ParseS3URL reads the bucket of a TOUCHSTONE_BLOB_URL such as
// s3://evidence/touchstone/?endpoint=minio.internal:9000&region=eu-west-1&path-style=true&tls=false.
// The path after the bucket becomes the prefix. Credentials are not accepted
// in the URL, which ends up in logs and process listings; the caller sets
// them apart.
func ParseS3URL(raw string) (S3Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return S3Config{}, fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "s3" {
		return S3Config{}, fmt.Errorf("%q is not an s3:// URL", u.Scheme+"://")
	}
	if u.User != nil {
		return S3Config{}, errors.New("credentials do not belong in the URL: set TOUCHSTONE_S3_ACCESS_KEY and TOUCHSTONE_S3_SECRET_KEY")
	}
	c := S3Config{Bucket: u.Host, Endpoint: "s3.amazonaws.com"}
	if c.Bucket == "" {
		return S3Config{}, errors.New("no bucket: s3://BUCKET[/PREFIX]?endpoint=…")
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if err := checkPrefix(p + "/"); err != nil {
			return S3Config{}, fmt.Errorf("prefix %q: letters, digits, '.', '_', '-' and '/' only", p)
		}
		c.Prefix = p + "/"
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "endpoint", "region", "path-style", "tls":
		default:
			return S3Config{}, fmt.Errorf("unknown parameter %q (endpoint, region, path-style, tls)", k)
		}
	}
	if e := q.Get("endpoint"); e != "" {
		if strings.Contains(e, "/") {
			return S3Config{}, fmt.Errorf("endpoint %q: host[:port] without a scheme (tls=false for plain HTTP)", e)
		}
		c.Endpoint = e
	}
	c.Region = q.Get("region")
	if v := q.Get("path-style"); v != "" {
		if c.PathStyle, err = strconv.ParseBool(v); err != nil {
			return S3Config{}, fmt.Errorf("path-style=%q is not true or false", v)
		}
	}
	if v := q.Get("tls"); v != "" {
		tls, err := strconv.ParseBool(v)
		if err != nil {
			return S3Config{}, fmt.Errorf("tls=%q is not true or false", v)
		}
		c.DisableTLS = !tls
	}
	return c, nil
}

// S3 is a Store in a bucket of an S3-compatible server (AWS S3, MinIO,
// Versity, Ceph, Garage…). A Put sends the object in one request when it is
// no larger than 16 MiB (and in parts, aborted on failure, beyond), so a
// failed Put never leaves a partial object.
type S3 struct {
	client *minio.Client
	cfg    S3Config
	max    int64
}

var _ Store = (*S3)(nil)

// NewS3 connects to the bucket and checks that it exists and the
// credentials reach it, so that a mistake in the configuration stops the
// server at start rather than at the first snapshot.
func NewS3(ctx context.Context, cfg S3Config, opts ...Option) (*S3, error) {
	o := buildOptions(opts)
	if cfg.Endpoint == "" {
		cfg.Endpoint = "s3.amazonaws.com"
	}
	if cfg.Prefix != "" {
		if err := checkPrefix(cfg.Prefix); err != nil || !strings.HasSuffix(cfg.Prefix, "/") {
			return nil, fmt.Errorf("blob: S3 prefix %q must be a key's directory, ending in '/'", cfg.Prefix)
		}
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, string(cfg.SecretKey), "")
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.EnvMinio{}, &credentials.IAM{Client: &http.Client{Timeout: 10 * time.Second}},
		})
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds: creds, Secure: !cfg.DisableTLS, Region: cfg.Region, BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 endpoint %s: %w", cfg.Endpoint, err)
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: S3 bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob: S3 bucket %s does not exist at %s", cfg.Bucket, cfg.Endpoint)
	}
	return &S3{client: client, cfg: cfg, max: o.maxSize}, nil
}

// MaxSize returns the store's bound on a blob's size in bytes.
func (s *S3) MaxSize() int64 { return s.max }

func (s *S3) object(key string) string { return s.cfg.Prefix + key }

// Put implements Store.
func (s *S3) Put(ctx context.Context, key, contentType string, body io.Reader, size int64) error {
	if err := checkPut(key, contentType, size, s.max); err != nil {
		return err
	}
	r := io.Reader(newBounded(body, size, s.max))
	if size < 0 {
		// A body of unknown length would go up in parts sized for the
		// largest possible object; reading it first (it is bounded) sends
		// it in one request instead.
		b, err := io.ReadAll(r)
		if err != nil {
			return putErr(key, err)
		}
		r, size = bytes.NewReader(b), int64(len(b))
	}
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, s.object(key), r, size, minio.PutObjectOptions{ContentType: contentType})
	return putErr(key, err)
}

// putErr passes the bound's errors through as they are.
func putErr(key string, err error) error {
	if err == nil || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrSizeMismatch) {
		return err
	}
	return fmt.Errorf("blob: put %s: %w", key, err)
}

// notFound reports whether err is the server's "no such object".
func notFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == minio.NoSuchKey || code == "NotFound"
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if notFound(err) {
			return nil, Info{}, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	return obj, Info{Key: key, ContentType: st.ContentType, Size: st.Size, ModTime: st.LastModified}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.object(key), minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// List implements Store. Listings carry no content type (S3 does not send
// it), and ModTime in whole seconds.
func (s *S3) List(ctx context.Context, prefix string, olderThan time.Time) ([]Info, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine on an early return
	var out []Info
	for o := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.object(prefix), Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("blob: list %q: %w", prefix, o.Err)
		}
		key := strings.TrimPrefix(o.Key, s.cfg.Prefix)
		if !ValidKey(key) {
			continue // not written through a Store
		}
		if !olderThan.IsZero() && !o.LastModified.Before(olderThan) {
			continue
		}
		out = append(out, Info{Key: key, Size: o.Size, ModTime: o.LastModified})
	}
	return out, nil
}
