package blob_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/internal/blob"
)

func TestParseS3URL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want blob.S3Config
		err  string
	}{
		{"s3://evidence", blob.S3Config{Endpoint: "s3.amazonaws.com", Bucket: "evidence"}, ""},
		{"s3://evidence/touchstone/prod/?region=eu-west-1", blob.S3Config{Endpoint: "s3.amazonaws.com", Bucket: "evidence", Prefix: "touchstone/prod/", Region: "eu-west-1"}, ""},
		{"s3://evidence?endpoint=minio.internal:9000&path-style=true&tls=false", blob.S3Config{Endpoint: "minio.internal:9000", Bucket: "evidence", PathStyle: true, DisableTLS: true}, ""},
		{"s3://evidence?tls=true", blob.S3Config{Endpoint: "s3.amazonaws.com", Bucket: "evidence"}, ""},
		{"https://evidence", blob.S3Config{}, "not an s3:// URL"},
		{"s3://key:secret@evidence", blob.S3Config{}, "TOUCHSTONE_S3_SECRET_KEY"},
		{"s3:///prefix", blob.S3Config{}, "no bucket"},
		{"s3://evidence/../x", blob.S3Config{}, "prefix"},
		{"s3://evidence?endpoint=https://minio:9000", blob.S3Config{}, "without a scheme"},
		{"s3://evidence?tls=maybe", blob.S3Config{}, "tls="},
		{"s3://evidence?path-style=1x", blob.S3Config{}, "path-style="},
		{"s3://evidence?secret=x", blob.S3Config{}, "unknown parameter"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := blob.ParseS3URL(tc.raw)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseS3URL = %+v, %v; want an error mentioning %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseS3URL = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c := blob.S3Config{Bucket: "b", AccessKey: "AKIA", SecretKey: "hunter2"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, c); strings.Contains(out, "hunter2") {
			t.Errorf("%s shows the secret: %s", f, out)
		}
	}
}
