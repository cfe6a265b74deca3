// Package archtest holds no code: its test enforces the import directions of
// shared/DESIGN.md's package table, so that the architecture is kept by a
// test and not by memory.
package archtest
