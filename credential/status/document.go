package status

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// JSON-LD terms of the documents. The VC 2.0 context defines them all, so
// documents need no other context.
const (
	contextCredentialsV2 = "https://www.w3.org/ns/credentials/v2"
	typeEntry            = "BitstringStatusListEntry"
	typeListCredential   = "BitstringStatusListCredential"
	typeList             = "BitstringStatusList"
)

// Entry returns the credentialStatus object that points a credential at
// entry i of the status list credential published at listURL:
//
//	{"id": listURL#i, "type": "BitstringStatusListEntry", "statusPurpose": purpose,
//	 "statusListIndex": "i", "statusListCredential": listURL}
//
// The id, distinct from the list's URL as the specification requires, is the
// one Open Badges 3.0 asks every credentialStatus to have.
//
// Entry panics if i is negative or purpose is neither PurposeRevocation nor
// PurposeSuspension: both are programming errors, as the service chooses them.
func Entry(listURL string, i int, purpose string) map[string]any {
	if i < 0 {
		panic(fmt.Sprintf("status: Entry: negative index %d", i))
	}
	mustIssuable("Entry", purpose)
	index := strconv.Itoa(i)
	return map[string]any{
		"id":                   listURL + "#" + index,
		"type":                 typeEntry,
		"statusPurpose":        purpose,
		"statusListIndex":      index,
		"statusListCredential": listURL,
	}
}

// ListCredential returns the unsigned BitstringStatusListCredential published
// at listURL, ready for proof.Sign:
//
//	{"@context": ["https://www.w3.org/ns/credentials/v2"], "id": listURL,
//	 "type": ["VerifiableCredential", "BitstringStatusListCredential"],
//	 "issuer": issuer, "validFrom": …, "validUntil": …,
//	 "credentialSubject": {"id": listURL#list, "type": "BitstringStatusList",
//	   "statusPurpose": purpose, "encodedList": encodedList}}
//
// issuer is the issuer's id (a URL string) or a JSON object (map[string]any)
// with its "id"; it is used as given. As the document's only context is VC
// 2.0, an issuer object may use that context's terms (id, name,
// description) but not Open Badges ones: pass the id of an Open Badges
// Profile, not the Profile with its type. encodedList is the
// output of List.Encode; it is not decoded again here. validFrom and
// validUntil are written in UTC, truncated to the second; validUntil is
// omitted when zero. A short validity window (with a matching HTTP cache
// lifetime) bounds how long a verifier may trust a stale list: the choice is
// the caller's.
//
// ListCredential panics if purpose is neither PurposeRevocation nor
// PurposeSuspension, or if a non-zero validUntil is not after validFrom: a
// list credential that is never valid is a programming error.
func ListCredential(listURL string, issuer any, purpose, encodedList string, validFrom, validUntil time.Time) map[string]any {
	mustIssuable("ListCredential", purpose)
	from := validFrom.UTC().Truncate(time.Second)
	doc := map[string]any{
		"@context":  []any{contextCredentialsV2},
		"id":        listURL,
		"type":      []any{"VerifiableCredential", typeListCredential},
		"issuer":    issuer,
		"validFrom": from.Format(time.RFC3339),
		"credentialSubject": map[string]any{
			"id":            listURL + "#list",
			"type":          typeList,
			"statusPurpose": purpose,
			"encodedList":   encodedList,
		},
	}
	if !validUntil.IsZero() {
		until := validUntil.UTC().Truncate(time.Second)
		if !until.After(from) {
			panic(fmt.Sprintf("status: ListCredential: validUntil %s is not after validFrom %s", until.Format(time.RFC3339), from.Format(time.RFC3339)))
		}
		doc["validUntil"] = until.Format(time.RFC3339)
	}
	return doc
}

func mustIssuable(fn, purpose string) {
	if purpose != PurposeRevocation && purpose != PurposeSuspension {
		panic(fmt.Sprintf("status: %s: purpose %q, want %q or %q", fn, purpose, PurposeRevocation, PurposeSuspension))
	}
}

// Entries returns the Bitstring Status List entries of a credential (decoded
// JSON): its credentialStatus when that is one such object, or those of its
// elements that are, in order. Entries of other status methods, and values
// that are not objects, are ignored; Entries returns nil when none is left.
func Entries(credential map[string]any) []map[string]any {
	var entries []map[string]any
	add := func(v any) {
		if e, ok := v.(map[string]any); ok && hasType(e["type"], typeEntry) {
			entries = append(entries, e)
		}
	}
	switch cs := credential["credentialStatus"].(type) {
	case []any:
		for _, v := range cs {
			add(v)
		}
	default:
		add(cs)
	}
	return entries
}

// Check reads one credentialStatus entry (decoded JSON) against the status
// list credential it points to (decoded JSON) and reports whether the entry's
// bit is set: true means revoked for a revocation entry, suspended for a
// suspension entry.
//
// The caller must already have verified the list credential's proof, that
// its issuer is one the caller trusts for this credential, and that it is
// within its validity period; Check reads only the status data.
//
// Check follows the specification's validate algorithm. It returns an error
// wrapping:
//   - ErrMalformed when the entry or list credential is not well formed: an
//     entry type other than BitstringStatusListEntry, a missing or non-string
//     field, a statusListIndex that is not a base-10 string of digits, an
//     entry id equal to its list's URL, a list credential without the
//     BitstringStatusListCredential type or a single BitstringStatusList
//     subject; or, from Decode, a bad encodedList;
//   - ErrMismatch when the entry's statusListCredential is not the list
//     credential's id, or its statusPurpose is not among the list's;
//   - ErrUnsupported when the entry's purpose is not revocation, suspension
//     or message, or when the entry or list has a statusSize other than 1;
//   - ErrListLength from Decode (a list too short for herd privacy, or one
//     that inflates past MaxEntries);
//   - ErrRange when the index is not inside the list.
func Check(entry map[string]any, listCredential map[string]any) (set bool, err error) {
	if !hasType(entry["type"], typeEntry) {
		return false, fmt.Errorf("%w: credentialStatus type is %v, want %q", ErrMalformed, entry["type"], typeEntry)
	}
	listURL, err := stringField(entry, "statusListCredential", "credentialStatus")
	if err != nil {
		return false, err
	}
	if id, ok := entry["id"]; ok && id == listURL {
		return false, fmt.Errorf("%w: credentialStatus id must not be the status list's URL %q", ErrMalformed, listURL)
	}
	purpose, err := stringField(entry, "statusPurpose", "credentialStatus")
	if err != nil {
		return false, err
	}
	switch purpose {
	case PurposeRevocation, PurposeSuspension, purposeMessage:
	default:
		return false, fmt.Errorf("%w: statusPurpose %q (supported: %q, %q, one-bit %q)", ErrUnsupported, purpose, PurposeRevocation, PurposeSuspension, purposeMessage)
	}
	if err := checkStatusSize(entry, "credentialStatus"); err != nil {
		return false, err
	}
	rawIndex, err := stringField(entry, "statusListIndex", "credentialStatus")
	if err != nil {
		return false, err
	}
	index, err := parseIndex(rawIndex)
	if err != nil {
		return false, err
	}

	id, err := stringField(listCredential, "id", "status list credential")
	if err != nil {
		return false, err
	}
	if id != listURL {
		return false, fmt.Errorf("%w: credentialStatus points to %q, the list credential is %q", ErrMismatch, listURL, id)
	}
	if !hasType(listCredential["type"], typeListCredential) {
		return false, fmt.Errorf("%w: status list credential type %v does not include %q", ErrMalformed, listCredential["type"], typeListCredential)
	}
	subject, ok := listCredential["credentialSubject"].(map[string]any)
	if !ok {
		return false, fmt.Errorf("%w: status list credential needs one credentialSubject object", ErrMalformed)
	}
	if !hasType(subject["type"], typeList) {
		return false, fmt.Errorf("%w: status list type is %v, want %q", ErrMalformed, subject["type"], typeList)
	}
	purposes, err := listPurposes(subject["statusPurpose"])
	if err != nil {
		return false, err
	}
	if !slices.Contains(purposes, purpose) {
		return false, fmt.Errorf("%w: credentialStatus purpose %q, the list's is %q", ErrMismatch, purpose, purposes)
	}
	if err := checkStatusSize(subject, "status list"); err != nil {
		return false, err
	}
	encoded, err := stringField(subject, "encodedList", "status list")
	if err != nil {
		return false, err
	}
	list, err := Decode(encoded)
	if err != nil {
		return false, err
	}
	if index >= list.Len() {
		return false, fmt.Errorf("%w: statusListIndex %d, list of %d entries", ErrRange, index, list.Len())
	}
	return list.Get(index)
}

// stringField returns obj[key] when it is a non-empty string.
func stringField(obj map[string]any, key, what string) (string, error) {
	switch v := obj[key].(type) {
	case string:
		if v != "" {
			return v, nil
		}
		return "", fmt.Errorf("%w: %s %s is empty", ErrMalformed, what, key)
	case nil:
		return "", fmt.Errorf("%w: %s has no %s", ErrMalformed, what, key)
	default:
		return "", fmt.Errorf("%w: %s %s is a %T, want a string", ErrMalformed, what, key, v)
	}
}

// parseIndex reads a statusListIndex: "an arbitrary size integer greater than
// or equal to 0, expressed as a string in base 10". Signs, spaces, and other
// forms strconv or JavaScript's parseInt would accept ("+1", "1e3", "12abc")
// are refused; an integer too large for int is necessarily outside any list.
func parseIndex(s string) (int, error) {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: statusListIndex %q is not a non-negative base-10 integer", ErrMalformed, s)
		}
	}
	i, err := strconv.Atoi(s)
	if err != nil { // only overflow is left
		return 0, fmt.Errorf("%w: statusListIndex %s exceeds any list", ErrRange, s)
	}
	return i, nil
}

// listPurposes reads a list's statusPurpose: "one or more strings".
func listPurposes(v any) ([]string, error) {
	switch p := v.(type) {
	case string:
		return []string{p}, nil
	case []any:
		purposes := make([]string, 0, len(p))
		for _, e := range p {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: status list statusPurpose holds a %T, want strings", ErrMalformed, e)
			}
			purposes = append(purposes, s)
		}
		if len(purposes) > 0 {
			return purposes, nil
		}
	}
	return nil, fmt.Errorf("%w: status list statusPurpose must be one or more strings, got %v", ErrMalformed, v)
}

// checkStatusSize refuses entries wider than one bit: statusSize must be
// absent or 1. Decoded JSON holds numbers as float64, or json.Number with
// UseNumber; integers are accepted for callers that build documents in Go.
func checkStatusSize(obj map[string]any, what string) error {
	v, ok := obj["statusSize"]
	if !ok {
		return nil
	}
	var one bool
	switch n := v.(type) {
	case float64:
		one = n == 1
	case int:
		one = n == 1
	case json.Number:
		one = n.String() == "1"
	default:
		return fmt.Errorf("%w: %s statusSize is a %T, want a number", ErrMalformed, what, v)
	}
	if !one {
		return fmt.Errorf("%w: %s statusSize %v (only one-bit entries are supported)", ErrUnsupported, what, v)
	}
	return nil
}

// hasType reports whether a JSON-LD type value (a string or an array of
// strings) includes want.
func hasType(v any, want string) bool {
	switch t := v.(type) {
	case string:
		return t == want
	case []any:
		return slices.Contains(t, any(want))
	case []string:
		return slices.Contains(t, want)
	}
	return false
}
