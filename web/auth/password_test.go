package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// TestCommonPasswordListShipped checks the embedded list against the
// provenance recorded beside it.
func TestCommonPasswordListShipped(t *testing.T) {
	if got := len(commonPasswords()); got != 49233 {
		t.Errorf("common passwords: got %d, want 49233", got)
	}
	if strings.ToLower(commonPasswordList) != commonPasswordList {
		t.Error("common-passwords.txt has upper-case letters; the check lowers the password only")
	}
	notice, err := os.ReadFile("common-passwords.md")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(commonPasswordList))
	if !strings.Contains(string(notice), hex.EncodeToString(sum[:])) {
		t.Error("common-passwords.md does not record the SHA-256 of common-passwords.txt")
	}
}
