package web

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// sendCSV answers rows (the header row first) as a CSV attachment named
// filename. Every cell goes through spreadsheetSafe: the exports carry
// text that authors and candidates write, and a spreadsheet must show it,
// not run it.
func sendCSV(c *fiber.Ctx, filename string, rows [][]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, row := range rows {
		safe := make([]string, len(row))
		for i, cell := range row {
			safe[i] = spreadsheetSafe(cell)
		}
		// Writing to a bytes.Buffer cannot fail, and csv quotes as needed.
		_ = w.Write(safe)
	}
	w.Flush()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	return c.Send(buf.Bytes())
}

// spreadsheetSafe returns cell prefixed with a single quote when a
// spreadsheet would read it as a formula: it starts with = + - @, a tab or
// a carriage return (OWASP, "CSV Injection"). A decimal number such as
// "-0.53" or "-1e-3" is returned unchanged, so that statistics stay numbers.
func spreadsheetSafe(cell string) string {
	if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) || isDecimal(cell) {
		return cell
	}
	return "'" + cell
}

// isDecimal reports whether s is a number written in decimal digits, a
// point, a sign and an exponent, as strconv formats a float; "Inf", "NaN"
// and hexadecimal forms are not.
func isDecimal(s string) bool {
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789.eE+-", r) })
}
