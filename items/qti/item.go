package qti

import (
	"errors"
	"fmt"

	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// Version is a QTI version a package is written in.
type Version string

// The QTI versions Export writes and Import reads.
const (
	QTI21 Version = "2.1"
	QTI30 Version = "3.0"
)

// Namespaces and resource types of the two versions.
const (
	nsQTI21      = "http://www.imsglobal.org/xsd/imsqti_v2p1"
	nsQTI22      = "http://www.imsglobal.org/xsd/imsqti_v2p2" // read as 2.1: same names, same meaning for what we import
	nsQTI30      = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
	nsCP21       = "http://www.imsglobal.org/xsd/imscp_v1p1"
	nsCP30       = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
	nsLOM        = "http://ltsc.ieee.org/xsd/LOM"
	nsXSI        = "http://www.w3.org/2001/XMLSchema-instance"
	typeItem21   = "imsqti_item_xmlv2p1"
	typeItem22   = "imsqti_item_xmlv2p2"
	typeItem30   = "imsqti_item_xmlv3p0"
	manifestName = "imsmanifest.xml"
)

// NSTouchstone is the namespace of the Touchstone extension that Export
// writes in each resource's metadata in the manifest: what QTI has no
// place for (the original Markdown, status, author, enemies, IRT
// parameters, statistics). Other tools ignore it, as IMS Content
// Packaging allows; Import reads it back so a round trip loses nothing.
const NSTouchstone = "https://touchstone-assess.org/xsd/qti-extension/v1"

// DefaultDomain is the Domain Import gives an item whose package does not
// name one (a package from another tool): items.Content requires a
// domain, and an author reclassifies the item after import.
const DefaultDomain = "unclassified"

// Limits on what Import reads. A package over any of them is rejected
// whole.
const (
	// MaxPackageBytes bounds the size of the zip file and the total
	// number of bytes Import decompresses from it.
	MaxPackageBytes = 50 << 20
	// MaxFileBytes bounds the decompressed size of one XML file.
	MaxFileBytes = 4 << 20
	// MaxFiles bounds the number of entries in the zip file.
	MaxFiles = 5000
	// MaxItems bounds the number of items in one package or CSV file.
	MaxItems = 5000
)

// Item is what a package holds of one item: its content and the
// metadata that travels with it.
type Item struct {
	// Identifier is the item's stable identifier, e.g. its Touchstone
	// item ID; it is the assessmentItem identifier when that is a valid
	// QTI identifier, and is kept in the Touchstone extension either way.
	Identifier string
	// Title is the assessmentItem title, a label for authors.
	Title   string
	Content items.Content
	// Status is the item's status (items.StatusDraft, …); "" when the
	// package does not say.
	Status string
	// Version is the item's version number; 0 when unknown.
	Version int
	// Author names who wrote the item (free text).
	Author string
	// Enemies are the Identifiers of items that must not appear on the
	// same form as this one (one cues or answers the other).
	Enemies []string
	// IRT holds the item's calibrated 3PL parameters, nil when it has none.
	IRT *psychometrics.Item3PL
	// Statistics holds the item's classical statistics, nil when none.
	Statistics *Statistics
}

// Statistics are the classical statistics of an item from one
// administration (psychometrics.ItemStats holds the full analysis).
type Statistics struct {
	N             int     // persons who took the item
	PValue        float64 // mean item score as a share of the maximum; for 0/1 items the proportion correct
	PointBiserial float64 // correlation of the item score with the total score
}

// ErrInvalid is matched (errors.Is) by every *Error, and by nothing else
// Import or ImportCSV returns.
var ErrInvalid = errors.New("qti: invalid package")

// Error is a fault in an imported package or CSV file, located so that an
// author can fix it: "items/0003.xml:12: choiceInteraction has no
// simpleChoice". errors.Is(err, ErrInvalid) and errors.Is(err,
// valid.ErrInvalid) hold, so callers answer it as bad input.
type Error struct {
	File   string // path inside the package ("" for a CSV file)
	Line   int    // 1-based line, 0 when the fault has no line
	Column string // for CSV files: the column name, "" when none
	Msg    string
}

func (e *Error) Error() string {
	var where string
	switch {
	case e.File != "" && e.Line > 0:
		where = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	case e.File != "":
		where = e.File + ": "
	case e.Line > 0:
		where = fmt.Sprintf("line %d: ", e.Line)
	}
	if e.Column != "" {
		where += e.Column + ": "
	}
	return where + e.Msg
}

// Is makes errors.Is(err, ErrInvalid) and errors.Is(err, valid.ErrInvalid)
// true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid || target == valid.ErrInvalid }
