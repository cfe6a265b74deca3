package psych

import (
	"errors"
	"io"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

var errPending = errors.New("pending")


var _ = psychometrics.Angoff

func init() {
	_ = mat.NewDense
}
