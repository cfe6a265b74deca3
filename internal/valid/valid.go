// Package valid carries input-validation failures from the domain packages
// to the web layer, which answers them with HTTP 422 naming the field.
package valid

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched by every *Error (errors.Is(err, valid.ErrInvalid)).
var ErrInvalid = errors.New("invalid input")

// Error says which input field is wrong and why, in words safe to show.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errorf returns an *Error for field with a formatted message.
func Errorf(field, format string, args ...any) error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}
