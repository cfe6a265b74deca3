// Package qti moves items in and out of Touchstone: QTI 2.1 and QTI 3.0
// content packages (Export, Import) and CSV banks of multiple-choice items
// (ImportCSV).
//
// # Packages
//
// A package is a zip file holding imsmanifest.xml (IMS Content Packaging)
// and one assessmentItem file per item. QTI 2.1 items use the camelCase
// names of http://www.imsglobal.org/xsd/imsqti_v2p1 (choiceInteraction)
// and resources of type imsqti_item_xmlv2p1; QTI 3.0 items use the
// qti- prefixed kebab-case names of
// http://www.imsglobal.org/xsd/imsqtiasi_v3p0 (qti-choice-interaction,
// response-identifier) and resources of type imsqti_item_xmlv3p0, in a
// manifest of namespace http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1.
// Import reads both, deciding the version per resource, and also reads
// QTI 2.2 items (imsqti_item_xmlv2p2) as 2.1.
//
// # Mapping
//
// Every item has one response, RESPONSE, and outcomes SCORE and MAXSCORE
// (the item's points). Export maps the kinds as follows; Import maps back.
//
//   - single_choice, true_false: choiceInteraction, maxChoices 1, a
//     single identifier response; SCORE is MAXSCORE when the response
//     matches the correct one. On import a single choice whose two
//     options are "true" and "false" is a true_false item.
//   - multiple_response: choiceInteraction, maxChoices 0, a multiple
//     identifier response. All or nothing: match the correct response.
//     Partial: a mapping worth +points/|keys| for each key and
//     −points/|keys| for each other option, bounded to [0, points], which
//     is exactly Touchstone's right-minus-wrong rule. On import a mapping
//     means partial scoring (its values are not kept: Touchstone's rule
//     applies).
//   - numeric: textEntryInteraction, a float response, and an equal of
//     the response and the correct value with toleranceMode exact,
//     absolute (the tolerance) or relative (QTI's relative tolerance is a
//     percentage: 0.01 is written as 1). Import also takes integer
//     responses; an asymmetric tolerance is rejected.
//   - short_text: textEntryInteraction, a string response whose correct
//     value is the first accepted answer, and a mapping worth the item's
//     points for every accepted answer, caseSensitive as the item is.
//     Import takes the correct values and every mapped value worth
//     points; the item is case-sensitive only if all of them are.
//     Touchstone compares answers after normalising whitespace, which QTI
//     does not.
//   - ordering: orderInteraction, an ordered identifier response. All or
//     nothing: match the correct response. Partial: one responseCondition
//     per position adding points/|options| when that position holds its
//     option. Import reads ordering items of other tools as all or
//     nothing.
//   - matching: matchInteraction with two simpleMatchSets (the options,
//     matchMax 1, then the targets, matchMax 0 as a target may serve
//     several options) and a multiple directedPair response, "option
//     target". Partial: a mapping worth points/|options| per correct pair.
//
// Import reads the key from correctResponse (or, without one, from the
// mapped values worth points). It interprets responseProcessing only for
// a numeric item's tolerance: whatever rule a foreign item scores by,
// Touchstone scores it by the rule of its kind (items.Content.Score).
//
// # Text
//
// Stems, exhibits, options and rationales are Markdown in Touchstone.
// Export writes them as XHTML (items.RenderMarkdown, sanitised; the stem
// in div class="stem", the exhibit in div class="exhibit") and also keeps
// the Markdown in the Touchstone extension (NSTouchstone) of the
// resource's metadata in the manifest, with what QTI has no place for:
// the identifier as given, kind, scoring rule, points, status, version,
// author, domain, skills, references, enemies, IRT parameters and
// statistics. Import takes all of these from the extension when it is
// there, so Export then Import gives back identical items (Content.Points
// 1 and 0 both mean one point and stay as written). The structure (kind,
// options and their order, key) is always read from the item XML, and
// must agree with the extension.
//
// A package from another tool has no extension: Import turns its XHTML
// into Markdown — paragraphs, headings, lists, emphasis, code, links and
// images (with their relative paths) are kept, tables become pipe
// tables, other elements give their text, characters Markdown would read
// as markup are escaped, and script and style are dropped. The body apart
// from the interaction (and its prompt, which is kept) becomes the stem;
// a div of class "exhibit" becomes the exhibit; a text entry inside a
// sentence shows as a blank (_____). Feedback (modalFeedback,
// feedbackBlock, feedbackInline) and rubric blocks become the rationale.
// The domain is DefaultDomain, the points MAXSCORE.
//
// # Limits
//
// Import is all or nothing and reports the first fault as an *Error with
// the file and line. It rejects: zips over MaxPackageBytes, or that
// decompress to more (counted on the bytes read, never the declared
// sizes), XML files over MaxFileBytes, more than MaxFiles entries or
// MaxItems items; entry names or hrefs that are absolute, climb out with
// "..", hold a backslash, name a drive or are URLs; files the manifest
// does not declare; DOCTYPEs, encodings other than UTF-8, nesting deeper
// than 64; items with more than one interaction, interactions other than
// the four above (endAttemptInteraction, a button, is ignored), adaptive
// and template (cloned) items; and content that items.Content.Validate
// rejects. Media files declared in the manifest are accepted but not
// imported. Assessment tests and sections in a package are not imported.
//
// # CSV
//
// ImportCSV reads single-choice and multiple-response items; the columns
// are documented at ColIdentifier and CSVOptionColumns. An example:
//
//	identifier,domain,stem,option_a,option_b,option_c,key,rationale,skills
//	geo-1,Geography,What is the capital of France?,Paris,Lyon,Nice,A,Since 987.,geo.capitals
//	geo-2,Geography,Which are French cities?,Paris,Berlin,Lyon,"A,C",,geo.cities
package qti
