package auth

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Password length limits. bcrypt reads only the first 72 bytes of a
// password, so a longer one is refused rather than silently cut short.
const (
	MinPasswordChars = 12
	MaxPasswordBytes = 72
)

// commonPasswordList is the 49,233 most common passwords of public
// breaches, one a line, lower case; common-passwords.md says where it
// comes from.
//
//go:embed common-passwords.txt
var commonPasswordList string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 50000)
	for line := range strings.SplitSeq(commonPasswordList, "\n") {
		if line != "" {
			set[line] = struct{}{}
		}
	}
	return set
})

// CheckPassword returns a *valid.Error on the field "password" when pw is
// shorter than MinPasswordChars characters, longer than MaxPasswordBytes
// bytes, or, ignoring case, one of the commonly used passwords shipped
// with the package.
func CheckPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordChars {
		return valid.Errorf("password", "must be at least %d characters", MinPasswordChars)
	}
	if len(pw) > MaxPasswordBytes {
		return valid.Errorf("password", "must be at most %d bytes (%d letters without accents)", MaxPasswordBytes, MaxPasswordBytes)
	}
	if IsCommonPassword(pw) {
		return valid.Errorf("password", "is a commonly used password, found in lists of breached passwords; choose another")
	}
	return nil
}

// IsCommonPassword reports whether pw, ignoring case, is one of the
// commonly used passwords shipped with the package.
func IsCommonPassword(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}
