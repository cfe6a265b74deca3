package blob_test

import (
	"testing"

	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/internal/blob/blobtest"
)

func TestS3(t *testing.T) {
	blobtest.Run(t, func(t *testing.T, max int64) blob.Store { return blobtest.OpenS3(t, blob.WithMaxSize(max)) })
}
