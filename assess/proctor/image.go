package proctor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	_ "image/jpeg" // the header readers of ImageTypes
	_ "image/png"
	"net/http"
	"slices"

	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Image is an upload that CheckImage found to be a whole JPEG or PNG
// image. Snapshots take only these, so that an image is checked once
// however many layers look at it.
type Image struct {
	data        []byte
	contentType string
}

// Type is the image's type judged by its content: image/jpeg or image/png.
func (i Image) Type() string { return i.contentType }

// CheckImage returns img as an Image, of the type its content shows — JPEG
// or PNG — after checking that it is whole: its header first, so that
// dimensions over MaxImageDimension (a pixel flood: a small file that
// would decode to gigabytes) are refused, then its structure to the end
// (wholeJPEG, wholePNG), so that a truncated or corrupt upload is refused
// too. No pixel is decoded: under load a full decode was a fifth of a
// snapshot's cost in the server, and the structure is what tells a
// truncated upload. Anything else is a field error on "image".
func CheckImage(img []byte) (Image, error) {
	if len(img) == 0 {
		return Image{}, valid.Errorf("image", "is empty")
	}
	if len(img) > MaxImageBytes {
		return Image{}, valid.Errorf("image", "is larger than %d bytes", MaxImageBytes)
	}
	ct := http.DetectContentType(img)
	if !slices.Contains(ImageTypes, ct) {
		return Image{}, valid.Errorf("image", "must be a JPEG or PNG image, not %s", ct)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(img))
	if err != nil || "image/"+format != ct {
		return Image{}, valid.Errorf("image", "is not a valid %s image", ct)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxImageDimension || cfg.Height > MaxImageDimension {
		return Image{}, valid.Errorf("image", "must be from 1 to %d pixels wide and high, not %d×%d", MaxImageDimension, cfg.Width, cfg.Height)
	}
	whole := wholeJPEG
	if ct == "image/png" {
		whole = wholePNG
	}
	if err := whole(img); err != nil {
		return Image{}, valid.Errorf("image", "is not a whole %s image: %v", ct, err)
	}
	return Image{data: img, contentType: ct}, nil
}

var errTruncated = errors.New("it is truncated")

// wholeJPEG walks a JPEG's markers from SOI to EOI: each segment's length
// within the file, a frame header before the first scan, and each scan's
// entropy-coded data up to the marker after it. Bytes after EOI are
// allowed, as decoders ignore them.
func wholeJPEG(b []byte) error {
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 {
		return errors.New("it does not start with a JPEG start-of-image marker")
	}
	frame, scans := false, 0
	i := 2
	for {
		if i >= len(b) {
			return errTruncated
		}
		if b[i] != 0xFF {
			return errors.New("it has data where a marker belongs")
		}
		for i < len(b) && b[i] == 0xFF { // fill bytes
			i++
		}
		if i >= len(b) {
			return errTruncated
		}
		m := b[i]
		i++
		switch {
		case m == 0xD9: // EOI
			if !frame || scans == 0 {
				return errors.New("it ends before its first scan")
			}
			return nil
		case m == 0x00 || m == 0xD8:
			return errors.New("it has a misplaced marker")
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // standalone
			continue
		}
		if i+2 > len(b) {
			return errTruncated
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 {
			return errors.New("it has a segment of impossible length")
		}
		if i+n > len(b) {
			return errTruncated
		}
		i += n
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC: // SOFn
			frame = true
		case m == 0xDA: // SOS: entropy-coded data to the next marker
			if !frame {
				return errors.New("it has a scan before its frame header")
			}
			scans++
			for {
				j := bytes.IndexByte(b[i:], 0xFF)
				if j < 0 || i+j+1 >= len(b) {
					return errTruncated
				}
				i += j
				if next := b[i+1]; next != 0x00 && (next < 0xD0 || next > 0xD7) {
					break // a marker: 0xFF 0x00 is a stuffed byte, RSTn restarts
				}
				i += 2
			}
		}
	}
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// wholePNG walks a PNG's chunks from IHDR to IEND, the end of the file,
// each with the checksum it carries, and at least one of image data.
func wholePNG(b []byte) error {
	if !bytes.HasPrefix(b, pngSignature) {
		return errors.New("it does not start with the PNG signature")
	}
	data := false
	for i, first := len(pngSignature), true; ; first = false {
		if i+8 > len(b) {
			return errTruncated
		}
		n := binary.BigEndian.Uint32(b[i:])
		typ := string(b[i+4 : i+8])
		if n > uint32(len(b)) || i+12+int(n) > len(b) {
			return errTruncated
		}
		body := b[i+4 : i+8+int(n)] // type and data: what the checksum covers
		if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(b[i+8+int(n):]) {
			return fmt.Errorf("its %q chunk has a checksum that does not match", typ)
		}
		i += 12 + int(n)
		switch {
		case first && typ != "IHDR":
			return errors.New("its first chunk is not IHDR")
		case typ == "IDAT":
			data = true
		case typ == "IEND" && !data:
			return errors.New("it has no image data")
		case typ == "IEND" && i < len(b):
			return errors.New("it has data after its end")
		case typ == "IEND":
			return nil
		}
	}
}
