package status_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/credential/status"
)

// newList returns a list of n entries with the given bits set.
func newList(tb testing.TB, n int, set ...int) *status.List {
	tb.Helper()
	l, err := status.NewList(n)
	if err != nil {
		tb.Fatal(err)
	}
	for _, i := range set {
		if err := l.Set(i, true); err != nil {
			tb.Fatal(err)
		}
	}
	return l
}

// setBits returns the indexes of l's set bits, in order.
func setBits(tb testing.TB, l *status.List) []int {
	tb.Helper()
	var set []int
	for i := range l.Len() {
		on, err := l.Get(i)
		if err != nil {
			tb.Fatal(err)
		}
		if on {
			set = append(set, i)
		}
	}
	return set
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// encodeRaw encodes bytes as an encodedList: "u" + base64url(gzip(raw)),
// with the standard library's gzip writer.
func encodeRaw(tb testing.TB, raw []byte) string {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

// zlibData compresses raw in the zlib format (RFC 1950), which is not GZIP.
func zlibData(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// storedGzip builds a GZIP member (RFC 1952) by hand around DEFLATE stored
// blocks (RFC 1951 §3.2.4), with no compressor involved, so that it checks
// Decode against the formats rather than against compress/gzip.
func storedGzip(raw []byte) []byte {
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff} // ID1 ID2 CM=deflate FLG MTIME XFL OS=unknown
	for start := 0; ; start += 0xffff {
		end := min(start+0xffff, len(raw))
		final := byte(0)
		if end == len(raw) {
			final = 1
		}
		n := uint16(end - start)
		out = append(out, final) // BFINAL, BTYPE=00 (stored), padded to the byte
		out = binary.LittleEndian.AppendUint16(out, n)
		out = binary.LittleEndian.AppendUint16(out, ^n)
		out = append(out, raw[start:end]...)
		if final == 1 {
			break
		}
	}
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(raw))
	return binary.LittleEndian.AppendUint32(out, uint32(len(raw)))
}

func TestNewList(t *testing.T) {
	for _, n := range []int{status.MinEntries, status.MinEntries + 8, 1 << 20} {
		l, err := status.NewList(n)
		if err != nil {
			t.Fatalf("NewList(%d): %v", n, err)
		}
		if l.Len() != n {
			t.Errorf("NewList(%d).Len() = %d", n, l.Len())
		}
		if set := setBits(t, l); len(set) != 0 {
			t.Errorf("NewList(%d) has bits set: %v", n, set)
		}
	}
	for _, n := range []int{-8, 0, 8, status.MinEntries - 8, status.MinEntries + 1, status.MaxEntries + 8} {
		if l, err := status.NewList(n); !errors.Is(err, status.ErrListLength) {
			t.Errorf("NewList(%d) = %v, %v; want ErrListLength", n, l, err)
		}
	}
}

func TestSetGet(t *testing.T) {
	l := newList(t, status.MinEntries)
	n := l.Len()
	for _, i := range []int{0, 7, 8, n - 1} {
		if err := l.Set(i, true); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := setBits(t, l), []int{0, 7, 8, n - 1}; !equalInts(got, want) {
		t.Fatalf("set bits = %v, want %v", got, want)
	}
	// Clearing a bit leaves its neighbours in the same byte alone.
	if err := l.Set(7, false); err != nil {
		t.Fatal(err)
	}
	if err := l.Set(7, false); err != nil { // clearing twice is harmless
		t.Fatal(err)
	}
	if got, want := setBits(t, l), []int{0, 8, n - 1}; !equalInts(got, want) {
		t.Fatalf("after clearing 7, set bits = %v, want %v", got, want)
	}
	for _, i := range []int{-1, n, n + 8, 1 << 40} {
		if err := l.Set(i, true); !errors.Is(err, status.ErrRange) {
			t.Errorf("Set(%d) = %v, want ErrRange", i, err)
		}
		if _, err := l.Get(i); !errors.Is(err, status.ErrRange) {
			t.Errorf("Get(%d) = %v, want ErrRange", i, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{status.MinEntries, 3 * status.MinEntries, status.MinEntries + 8} {
		set := []int{0, 7, 8, 12345, n - 1}
		enc, err := newList(t, n, set...).Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(enc, "u") || strings.ContainsAny(enc, "=+/") {
			t.Fatalf("Encode() = %q, want u-prefixed unpadded base64url", enc)
		}
		again, err := newList(t, n, set...).Encode()
		if err != nil {
			t.Fatal(err)
		}
		if again != enc {
			t.Errorf("Encode is not deterministic: %q then %q", enc, again)
		}
		l, err := status.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode()) for %d entries: %v", n, err)
		}
		if l.Len() != n {
			t.Errorf("decoded Len() = %d, want %d", l.Len(), n)
		}
		if got := setBits(t, l); !equalInts(got, set) {
			t.Errorf("decoded set bits = %v, want %v", got, set)
		}
	}
}

// TestBitOrder pins the bit order: index 0 is the most significant bit of the
// first byte, both ways, against byte patterns built by hand.
func TestBitOrder(t *testing.T) {
	n := status.MinEntries
	raw := make([]byte, n/8)
	raw[0] = 0x81     // bits 0 and 7
	raw[1] = 0x80     // bit 8
	raw[2] = 0x20     // bit 18
	raw[n/8-1] = 0x01 // bit n-1
	want := []int{0, 7, 8, 18, n - 1}

	t.Run("encode", func(t *testing.T) {
		enc, err := newList(t, n, want...).Encode()
		if err != nil {
			t.Fatal(err)
		}
		compressed, err := base64.RawURLEncoding.DecodeString(enc[1:])
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(compressed))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, raw) {
			t.Fatalf("Encode bitstring differs from the hand-built pattern: first bytes % x, want % x", got[:3], raw[:3])
		}
	})
	t.Run("decode stored gzip", func(t *testing.T) {
		l, err := status.Decode("u" + base64.RawURLEncoding.EncodeToString(storedGzip(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if got := setBits(t, l); !equalInts(got, want) {
			t.Fatalf("set bits = %v, want %v", got, want)
		}
	})
	t.Run("decode stored gzip, several blocks", func(t *testing.T) {
		big := make([]byte, 3*0xffff)        // 1.5 Mbit, past one stored block
		big[0], big[len(big)-1] = 0x40, 0x02 // bits 1 and 8·len−2
		l, err := status.Decode("u" + base64.RawURLEncoding.EncodeToString(storedGzip(big)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := setBits(t, l), []int{1, 8*len(big) - 2}; !equalInts(got, want) {
			t.Fatalf("set bits = %v, want %v", got, want)
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	valid := encodeRaw(t, make([]byte, status.MinEntries/8))
	gz, err := base64.RawURLEncoding.DecodeString(valid[1:])
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff
	for _, tc := range []struct {
		name, encoded string
		want          error
	}{
		{"empty", "", status.ErrMalformed},
		{"no multibase prefix", valid[1:], status.ErrMalformed},
		{"base58btc prefix", "z" + valid[1:], status.ErrMalformed},
		{"base64 (not url) prefix", "m" + valid[1:], status.ErrMalformed},
		{"bad base64url", "u!!!!", status.ErrMalformed},
		{"standard base64 alphabet", "u" + base64.RawStdEncoding.EncodeToString([]byte{0xfb, 0xff}), status.ErrMalformed},
		{"padded", valid + "==", status.ErrMalformed},
		{"line break", valid[:20] + "\n" + valid[20:], status.ErrMalformed},
		{"empty base64", "u", status.ErrMalformed},
		{"not gzip", "u" + b64(make([]byte, status.MinEntries/8)), status.ErrMalformed},
		{"zlib, not gzip", "u" + b64(zlibData(t, make([]byte, status.MinEntries/8))), status.ErrMalformed},
		{"truncated gzip", "u" + b64(gz[:len(gz)-5]), status.ErrMalformed},
		{"bad checksum", "u" + b64(badCRC), status.ErrMalformed},
		{"trailing bytes", "u" + b64(append(bytes.Clone(gz), 1, 2, 3)), status.ErrMalformed},
		{"empty bitstring", encodeRaw(t, nil), status.ErrListLength},
		{"one byte short", encodeRaw(t, make([]byte, status.MinEntries/8-1)), status.ErrListLength},
		{"longer than any list", "u" + strings.Repeat("A", 23<<20), status.ErrListLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := status.Decode(tc.encoded)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, %v; want an error wrapping %v", l, err, tc.want)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestDecodeZipBomb: 64 MiB of zeros compress to about 64 KiB; Decode stops
// inflating at 16 MiB and says why.
func TestDecodeZipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for range 64 {
		if _, err := zw.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	bomb := "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes())
	start := time.Now()
	l, err := status.Decode(bomb)
	elapsed := time.Since(start)
	if !errors.Is(err, status.ErrListLength) {
		t.Fatalf("Decode(64 MiB of zeros in %d bytes) = %v, %v; want ErrListLength", buf.Len(), l, err)
	}
	if !strings.Contains(err.Error(), "inflates past") {
		t.Errorf("error %q does not say the list inflates too far", err)
	}
	// Generous for a shared machine; inflating all 64 MiB and more would
	// still be caught by the length check, so this bounds the work done.
	if elapsed > 5*time.Second {
		t.Errorf("Decode took %v on a zip bomb", elapsed)
	}
	t.Logf("refused a %d-byte encoding of 64 MiB in %v: %v", len(bomb), elapsed, err)

	// The largest list is still accepted.
	l, err = status.Decode(encodeRaw(t, make([]byte, status.MaxEntries/8)))
	if err != nil {
		t.Fatalf("Decode of a MaxEntries list: %v", err)
	}
	if l.Len() != status.MaxEntries {
		t.Errorf("Len() = %d, want %d", l.Len(), status.MaxEntries)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("")
	f.Add("u")
	f.Add(specEncodedList)
	f.Add(encodeRaw(f, make([]byte, status.MinEntries/8-1)))
	f.Add("u" + base64.RawURLEncoding.EncodeToString(storedGzip([]byte{1, 2, 3})))
	if enc, err := newList(f, status.MinEntries, 0, 9, 100000).Encode(); err == nil {
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		l, err := status.Decode(encoded)
		if err != nil {
			if l != nil {
				t.Fatalf("Decode returned a list and an error: %v", err)
			}
			if !errors.Is(err, status.ErrMalformed) && !errors.Is(err, status.ErrListLength) {
				t.Fatalf("Decode error %v wraps neither ErrMalformed nor ErrListLength", err)
			}
			return
		}
		if n := l.Len(); n < status.MinEntries || n > status.MaxEntries || n%8 != 0 {
			t.Fatalf("Decode accepted a list of %d entries", n)
		}
		enc, err := l.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := status.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(x))): %v", err)
		}
		if a, b := setBits(t, l), setBits(t, again); !equalInts(a, b) {
			t.Fatalf("re-encoding changed the set bits")
		}
	})
}

// BenchmarkEncode encodes a list of MinEntries entries with 1% of them set
// at random, the worst realistic case for compression.
func BenchmarkEncode(b *testing.B) {
	l := newList(b, status.MinEntries)
	rng := rand.New(rand.NewPCG(1, 2))
	for range status.MinEntries / 100 {
		if err := l.Set(rng.IntN(status.MinEntries), true); err != nil {
			b.Fatal(err)
		}
	}
	var size int
	for b.Loop() {
		enc, err := l.Encode()
		if err != nil {
			b.Fatal(err)
		}
		size = len(enc)
	}
	b.ReportMetric(float64(size), "encoded-bytes")
}
