package blob_test

import (
	"os"
	"testing"

	"github.com/touchstone-assess/touchstone/internal/blob/blobtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	blobtest.Shutdown()
	os.Exit(code)
}
