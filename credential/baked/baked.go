// Package baked draws achievement badge images and bakes Open Badges 3.0
// credentials into them.
//
// Baking follows Open Badges 3.0 §5.3 "Baked Badge": a PNG carries the
// credential in an uncompressed iTXt chunk with keyword "openbadgecredential";
// an SVG carries it in an <openbadges:credential> element (namespace
// https://purl.imsglobal.org/ob/v3p0) placed directly after the opening <svg>
// tag, as JSON in CDATA or, for a VC-JWT, as the compact JWS in the element's
// verify attribute. A credential is given and returned as bytes, exactly as
// signed: the JSON document of a Data Integrity credential or the compact JWS
// of a VC-JWT. Baking an image that already holds a credential replaces it,
// so an image never carries two.
//
// RenderSVG and RenderPNG draw an achievement's badge from a Design, the same
// picture in both formats, ready to be baked.
//
// Every input is bounded by MaxImageBytes; nothing here reads files or the
// network.
package baked

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxImageBytes bounds every image this package reads or writes: a larger
// input, or a bake whose result would be larger, fails with ErrTooLarge.
const MaxImageBytes = 8 << 20

// Format names returned by Extract.
const (
	FormatPNG = "png"
	FormatSVG = "svg"
)

var (
	// ErrNotBaked means the image is a well-formed PNG or SVG that holds no
	// Open Badges 3.0 credential.
	ErrNotBaked = errors.New("baked: the image holds no Open Badges credential")

	// ErrTooLarge means an input, or the baked image, exceeds MaxImageBytes.
	ErrTooLarge = errors.New("baked: image too large")

	// ErrFormat means the input is neither a PNG nor an SVG image (or not the
	// format the function reads).
	ErrFormat = errors.New("baked: not a PNG or SVG image")

	// ErrMalformed means the input looks like a PNG or an SVG but is broken:
	// a truncated chunk, a bad CRC, XML that is not well-formed, a credential
	// chunk that breaks the baking rules. The wrapping error says where.
	ErrMalformed = errors.New("baked: malformed image")

	// ErrCredential means the credential to bake is neither a JSON object nor
	// a compact JWS, or holds characters the image format cannot carry.
	ErrCredential = errors.New("baked: not a JSON credential or compact JWS")
)

// Extract returns the credential baked into image and the image's format,
// FormatPNG or FormatSVG, chosen by content: the PNG signature, or XML whose
// root element is <svg>. It fails with ErrFormat for anything else, and
// otherwise as ExtractPNG or ExtractSVG do.
func Extract(image []byte) (credential []byte, format string, err error) {
	if len(image) > MaxImageBytes {
		return nil, "", ErrTooLarge
	}
	switch {
	case bytes.HasPrefix(image, pngSignature):
		c, err := ExtractPNG(image)
		return c, FormatPNG, err
	case looksLikeXML(image):
		c, err := ExtractSVG(image)
		if errors.Is(err, ErrFormat) {
			return nil, "", err
		}
		return c, FormatSVG, err
	default:
		return nil, "", ErrFormat
	}
}

// credentialKind is how a credential is carried: JSON (embedded proof) or a
// compact JWS (VC-JWT). The two are baked differently in SVG.
type credentialKind int

const (
	kindJSON credentialKind = iota + 1
	kindJWS
)

// checkCredential validates a credential to bake and returns it without
// surrounding whitespace, which carries no meaning in either form and which
// readers (XML text content) would not preserve reliably.
func checkCredential(credential []byte) ([]byte, credentialKind, error) {
	c := bytes.TrimSpace(credential)
	if len(c) > MaxImageBytes {
		return nil, 0, ErrTooLarge
	}
	switch {
	case len(c) == 0:
		return nil, 0, fmt.Errorf("%w: empty", ErrCredential)
	case c[0] == '{':
		if !utf8.Valid(c) {
			return nil, 0, fmt.Errorf("%w: JSON is not valid UTF-8", ErrCredential)
		}
		if !json.Valid(c) {
			return nil, 0, fmt.Errorf("%w: invalid JSON", ErrCredential)
		}
		return c, kindJSON, nil
	case isCompactJWS(c):
		return c, kindJWS, nil
	default:
		return nil, 0, ErrCredential
	}
}

// isCompactJWS reports whether b has the shape of a JWS compact serialization
// (RFC 7515 §7.1): three non-empty base64url segments joined by dots. The
// signature is the verifier's business; the shape is enough to know how to
// bake it.
func isCompactJWS(b []byte) bool {
	segments := bytes.Split(b, []byte("."))
	if len(segments) != 3 {
		return false
	}
	for _, s := range segments {
		if len(s) == 0 {
			return false
		}
		for _, c := range s {
			if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
