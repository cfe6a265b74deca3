package web

import "testing"

func TestSpreadsheetSafe(t *testing.T) {
	cases := []struct{ name, cell, want string }{
		{"empty", "", ""},
		{"text", "Jordan Lee", "Jordan Lee"},
		{"not a number", "NA", "NA"},
		{"equals", "=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"at", "@SUM(1)", "'@SUM(1)"},
		{"plus formula", "+1+1", "'+1+1"},
		{"minus formula", "-2+3", "'-2+3"},
		{"lone minus", "-", "'-"},
		{"tab", "\t=1", "'\t=1"},
		{"carriage return", "\r=1", "'\r=1"},
		{"negative decimal", "-0.53", "-0.53"},
		{"negative exponent", "-1e-3", "-1e-3"},
		{"explicit plus", "+2.5E+07", "+2.5E+07"},
		{"infinity is text", "-Inf", "'-Inf"},
		{"hexadecimal is text", "-0x1p-2", "'-0x1p-2"},
	}
	for _, c := range cases {
		if got := spreadsheetSafe(c.cell); got != c.want {
			t.Errorf("%s: spreadsheetSafe(%q) = %q, want %q", c.name, c.cell, got, c.want)
		}
	}
}
