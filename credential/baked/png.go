package baked

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"unicode/utf8"
)

// pngSignature opens every PNG datastream (PNG §5.2).
var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngKeyword is the iTXt keyword Open Badges 3.0 reserves for the credential.
const pngKeyword = "openbadgecredential"

// chunk is one PNG chunk, its data sliced from the input.
type chunk struct {
	typ  string
	data []byte
	raw  []byte // the whole chunk: length, type, data and CRC
}

// BakePNG returns a copy of png carrying credential in an iTXt chunk with
// keyword "openbadgecredential", no compression and empty language tag and
// translated keyword. Any credential chunk already present is removed first.
// The new chunk goes right after IHDR, so that readers which stop at the
// first credential chunk (as the specification allows) read little of the
// image. credential is a JSON object or a compact JWS; surrounding whitespace
// is dropped.
//
// BakePNG fails with ErrFormat if png is not a PNG, ErrMalformed if its chunk
// structure is broken (bad length, bad CRC, IHDR not first, no IEND),
// ErrCredential for a bad credential and ErrTooLarge beyond MaxImageBytes.
// Bytes after IEND are not part of the image and are dropped.
func BakePNG(png, credential []byte) ([]byte, error) {
	if len(png) > MaxImageBytes {
		return nil, ErrTooLarge
	}
	cred, _, err := checkCredential(credential)
	if err != nil {
		return nil, err
	}
	chunks, err := readChunks(png)
	if err != nil {
		return nil, err
	}

	// iTXt data: keyword, NUL, compression flag 0, compression method 0,
	// empty language tag, NUL, empty translated keyword, NUL, text.
	data := make([]byte, 0, len(pngKeyword)+5+len(cred))
	data = append(data, pngKeyword...)
	data = append(data, 0, 0, 0, 0, 0)
	data = append(data, cred...)

	size := len(pngSignature) + 12 + len(data)
	for _, c := range chunks {
		size += len(c.raw)
	}
	if size > MaxImageBytes {
		return nil, ErrTooLarge
	}
	out := make([]byte, 0, size)
	out = append(out, pngSignature...)
	for i, c := range chunks {
		if c.typ == "iTXt" && isCredentialChunk(c.data) {
			continue
		}
		out = append(out, c.raw...)
		if i == 0 { // IHDR, checked by readChunks
			out = appendChunk(out, "iTXt", data)
		}
	}
	return out, nil
}

// ExtractPNG returns the credential in the first iTXt chunk of png with
// keyword "openbadgecredential", without surrounding whitespace.
//
// It fails with ErrFormat if png is not a PNG, ErrMalformed if the chunk
// structure is broken (as for BakePNG: a CRC mismatch anywhere fails) or the
// credential chunk is compressed, which Open Badges forbids, or not UTF-8,
// ErrNotBaked if there is no such chunk and ErrTooLarge beyond MaxImageBytes.
func ExtractPNG(png []byte) ([]byte, error) {
	if len(png) > MaxImageBytes {
		return nil, ErrTooLarge
	}
	chunks, err := readChunks(png)
	if err != nil {
		return nil, err
	}
	for _, c := range chunks {
		if c.typ != "iTXt" || !isCredentialChunk(c.data) {
			continue
		}
		text, err := itxtText(c.data)
		if err != nil {
			return nil, err
		}
		text = bytes.TrimSpace(text)
		if !utf8.Valid(text) {
			return nil, fmt.Errorf("%w: png: %s text is not UTF-8", ErrMalformed, pngKeyword)
		}
		if len(text) == 0 {
			return nil, fmt.Errorf("%w: empty %s chunk", ErrMalformed, pngKeyword)
		}
		return bytes.Clone(text), nil
	}
	return nil, ErrNotBaked
}

// readChunks splits a PNG datastream into chunks up to and including IEND,
// checking each chunk's length and CRC, that IHDR comes first and that IEND
// ends the stream.
func readChunks(png []byte) ([]chunk, error) {
	if !bytes.HasPrefix(png, pngSignature) {
		return nil, ErrFormat
	}
	var chunks []chunk
	rest := png[len(pngSignature):]
	for {
		if len(rest) < 12 {
			return nil, fmt.Errorf("%w: png: truncated before IEND", ErrMalformed)
		}
		n := binary.BigEndian.Uint32(rest)
		if n > math.MaxInt32 || uint64(n) > uint64(len(rest)-12) {
			return nil, fmt.Errorf("%w: png: chunk length %d past the end of the data", ErrMalformed, n)
		}
		typ := rest[4:8]
		if !isChunkType(typ) {
			return nil, fmt.Errorf("%w: png: invalid chunk type %q", ErrMalformed, typ)
		}
		end := 8 + int(n)
		want := binary.BigEndian.Uint32(rest[end:])
		if got := crc32.ChecksumIEEE(rest[4:end]); got != want {
			return nil, fmt.Errorf("%w: png: %s chunk: CRC mismatch", ErrMalformed, typ)
		}
		c := chunk{typ: string(typ), data: rest[8:end], raw: rest[:end+4]}
		if len(chunks) == 0 && c.typ != "IHDR" {
			return nil, fmt.Errorf("%w: png: first chunk is %s, not IHDR", ErrMalformed, c.typ)
		}
		chunks = append(chunks, c)
		rest = rest[end+4:]
		if c.typ == "IEND" {
			return chunks, nil
		}
	}
}

// isChunkType reports whether t is a valid chunk type: four ASCII letters
// (PNG §5.3).
func isChunkType(t []byte) bool {
	for _, c := range t {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// isCredentialChunk reports whether iTXt data starts with the Open Badges
// credential keyword.
func isCredentialChunk(data []byte) bool {
	return bytes.HasPrefix(data, []byte(pngKeyword+"\x00"))
}

// itxtText returns the text of an iTXt chunk's data (PNG §11.3.4.5): keyword,
// NUL, compression flag, compression method, language tag, NUL, translated
// keyword, NUL, text.
func itxtText(data []byte) ([]byte, error) {
	_, rest, _ := bytes.Cut(data, []byte{0})
	if len(rest) < 2 {
		return nil, fmt.Errorf("%w: png: truncated iTXt chunk", ErrMalformed)
	}
	if rest[0] != 0 {
		return nil, fmt.Errorf("%w: png: compressed %s chunk (Open Badges forbids compression)", ErrMalformed, pngKeyword)
	}
	rest = rest[2:]
	for _, field := range []string{"language tag", "translated keyword"} {
		var ok bool
		if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok {
			return nil, fmt.Errorf("%w: png: iTXt chunk: unterminated %s", ErrMalformed, field)
		}
	}
	return rest, nil
}

// appendChunk appends a chunk of type typ holding data, with its length and
// CRC, to b.
func appendChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}
