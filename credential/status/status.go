// Package status implements the W3C Bitstring Status List v1.0
// (https://www.w3.org/TR/vc-bitstring-status-list/), by which Touchstone
// revokes and suspends its credentials: the bitstring (List), its encoding
// (Encode, Decode), the credentialStatus entry a credential carries (Entry),
// the unsigned status list credential (ListCredential), and the check of an
// entry against a list credential (Entries, Check).
//
// The package is pure: it stores, fetches and signs nothing. The service that
// keeps lists allocates indexes (randomly, as the specification advises),
// persists encoded lists, and signs list credentials with credential/proof;
// a verifier checks a list credential's proof, issuer and validity period
// before it calls Check.
//
// A list holds one bit per credential: bit i is set when credential i is
// revoked (or suspended, for a suspension list). Bit 0 is the most significant
// bit of the first byte. The encoded form is the Multibase base64url string
// ("u" prefix, no padding) of the GZIP-compressed bitstring. Lists hold at
// least MinEntries bits, for herd privacy, and at most MaxEntries, so that a
// hostile list cannot exhaust memory when it is decoded. Only entries of one
// bit (statusSize 1) are supported.
//
// Errors wrap one of ErrMalformed, ErrListLength, ErrRange, ErrMismatch and
// ErrUnsupported; they correspond to the specification's
// MALFORMED_VALUE_ERROR, STATUS_LIST_LENGTH_ERROR, RANGE_ERROR and
// STATUS_VERIFICATION_ERROR.
package status

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	// MinEntries is the least number of entries (bits) of a list, 131,072
	// (16 KiB): the specification's minimum, which gives each holder a crowd
	// to hide in when a verifier fetches the list.
	MinEntries = 131072
	// MaxEntries is the most entries (bits) of a list, 134,217,728 (16 MiB).
	// Decode refuses a list that inflates past it, so that a small encoded
	// list (a "zip bomb") cannot make a verifier allocate without bound.
	MaxEntries = 16 << 20 * 8
)

// Status purposes that Touchstone issues.
const (
	// PurposeRevocation: a set bit cancels the credential for good.
	PurposeRevocation = "revocation"
	// PurposeSuspension: a set bit suspends the credential until it is
	// cleared.
	PurposeSuspension = "suspension"
	// purposeMessage is accepted from other issuers when its entries are one
	// bit wide; Touchstone never issues it.
	purposeMessage = "message"
)

// Errors returned (wrapped) by this package.
var (
	// ErrMalformed: an encoded list, entry or list credential is not well
	// formed (the specification's MALFORMED_VALUE_ERROR).
	ErrMalformed = errors.New("status: malformed")
	// ErrListLength: a list is shorter than MinEntries, longer than
	// MaxEntries or not a whole number of bytes (STATUS_LIST_LENGTH_ERROR).
	ErrListLength = errors.New("status: list length out of bounds")
	// ErrRange: an index is outside the list (RANGE_ERROR).
	ErrRange = errors.New("status: index out of range")
	// ErrMismatch: an entry does not belong to the list credential it is
	// checked against: another list URL or another purpose
	// (STATUS_VERIFICATION_ERROR).
	ErrMismatch = errors.New("status: entry does not match the list credential")
	// ErrUnsupported: a well-formed entry or list this package does not
	// process: entries wider than one bit, or a purpose other than
	// revocation, suspension and one-bit message.
	ErrUnsupported = errors.New("status: unsupported status entry")
)

// maxBytes is the size of the largest list's bitstring.
const maxBytes = MaxEntries / 8

// maxEncodedLen bounds the encoded string that Decode reads before it
// inflates anything. DEFLATE can always fall back to stored blocks (5 bytes of
// overhead per 65,535), and GZIP adds a header and trailer of 18 bytes or so,
// so no honest encoding of a MaxEntries list comes near this.
var maxEncodedLen = 1 + base64.RawURLEncoding.EncodedLen(maxBytes+maxBytes/256+1024)

// List is a bitstring of status entries, one bit each. The zero value is not
// usable; make one with NewList or Decode. A List is not safe for concurrent
// use.
type List struct {
	bits []byte // bit i is bits[i/8] & (0x80 >> (i%8))
}

// NewList returns a list of n entries, all unset. n must be at least
// MinEntries, at most MaxEntries and a multiple of 8 (the bitstring is a
// whole number of bytes, as every decoder reads it); otherwise NewList returns
// an error wrapping ErrListLength.
func NewList(n int) (*List, error) {
	if err := checkLength(n); err != nil {
		return nil, err
	}
	return &List{bits: make([]byte, n/8)}, nil
}

func checkLength(n int) error {
	switch {
	case n < MinEntries:
		return fmt.Errorf("%w: %d entries, want at least %d", ErrListLength, n, MinEntries)
	case n > MaxEntries:
		return fmt.Errorf("%w: %d entries, want at most %d", ErrListLength, n, MaxEntries)
	case n%8 != 0:
		return fmt.Errorf("%w: %d entries is not a multiple of 8", ErrListLength, n)
	}
	return nil
}

// Len returns the number of entries (bits) of l.
func (l *List) Len() int { return len(l.bits) * 8 }

// Set sets entry i when on is true and clears it otherwise. It returns an
// error wrapping ErrRange when i is not in [0, l.Len()).
func (l *List) Set(i int, on bool) error {
	if err := l.checkIndex(i); err != nil {
		return err
	}
	mask := byte(0x80) >> (i % 8)
	if on {
		l.bits[i/8] |= mask
	} else {
		l.bits[i/8] &^= mask
	}
	return nil
}

// Get reports whether entry i is set. It returns an error wrapping ErrRange
// when i is not in [0, l.Len()).
func (l *List) Get(i int) (bool, error) {
	if err := l.checkIndex(i); err != nil {
		return false, err
	}
	return l.bits[i/8]&(byte(0x80)>>(i%8)) != 0, nil
}

func (l *List) checkIndex(i int) error {
	if i < 0 || i >= l.Len() {
		return fmt.Errorf("%w: index %d, list of %d entries", ErrRange, i, l.Len())
	}
	return nil
}

// Encode returns the list as an encodedList value: "u" (Multibase
// base64url) followed by the unpadded base64url encoding of the
// GZIP-compressed bitstring. The output is deterministic for given bits: the
// GZIP header carries no name and no modification time.
func (l *List) Encode() (string, error) {
	var buf bytes.Buffer
	// The default level: on a list of MinEntries with 1% set, BestCompression
	// saves about a tenth of the size (2.5 KB against 2.8 KB) for seven
	// times the time (BenchmarkEncode), and lists are re-encoded on every
	// change and every re-signing.
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return "", fmt.Errorf("status: encode: %w", err)
	}
	if _, err := zw.Write(l.bits); err != nil {
		return "", fmt.Errorf("status: encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("status: encode: %w", err)
	}
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// Decode reads an encodedList value made by Encode or by another conforming
// implementation.
//
// It returns an error wrapping ErrMalformed when encoded does not start with
// "u", is not unpadded base64url, or is not a valid GZIP stream (bad header,
// truncated, wrong checksum, trailing bytes), and one wrapping ErrListLength
// when the bitstring has fewer than MinEntries bits or would inflate past
// MaxEntries bits (Decode stops inflating there, so a zip bomb costs at most
// 16 MiB and the time to inflate it).
func Decode(encoded string) (*List, error) {
	data, ok := strings.CutPrefix(encoded, "u")
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: encodedList must be Multibase base64url, starting with %q", ErrMalformed, "u")
	case len(encoded) > maxEncodedLen:
		return nil, fmt.Errorf("%w: encodedList of %d characters is longer than any list of %d entries", ErrListLength, len(encoded), MaxEntries)
	case strings.ContainsAny(data, "\r\n"):
		// encoding/base64 skips line breaks; the format has none.
		return nil, fmt.Errorf("%w: encodedList contains a line break", ErrMalformed)
	}
	compressed, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("%w: encodedList is not unpadded base64url: %w", ErrMalformed, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("%w: encodedList is not GZIP data: %w", ErrMalformed, err)
	}
	// Read one byte past the limit to tell "exactly the limit" from "more".
	bits, err := io.ReadAll(io.LimitReader(zr, maxBytes+1))
	if len(bits) > maxBytes {
		return nil, fmt.Errorf("%w: encodedList inflates past %d bytes", ErrListLength, maxBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: encodedList is not valid GZIP data: %w", ErrMalformed, err)
	}
	if n := len(bits) * 8; n < MinEntries {
		return nil, fmt.Errorf("%w: list of %d entries, want at least %d", ErrListLength, n, MinEntries)
	}
	return &List{bits: bits}, nil
}
