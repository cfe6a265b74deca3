package credential

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/touchstone-assess/touchstone/credential/baked"
	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/schema"
	"github.com/touchstone-assess/touchstone/credential/status"
	"github.com/touchstone-assess/touchstone/credential/vcjwt"
)

// MaxVerifyBytes bounds what VerifyBytes reads: a credential, a VC-JWT or
// a baked badge image.
const MaxVerifyBytes = baked.MaxImageBytes

// Verification states, from best to worst.
const (
	StateValid       = "valid"
	StateExpired     = "expired"
	StateNotYetValid = "not yet valid"
	StateSuspended   = "suspended"
	StateRevoked     = "revoked"
	StateInvalid     = "invalid"
)

// Check is one step of a verification: its name, whether it passed, and
// what it found, in words safe to show.
type Check struct {
	Name   string `json:"name"` // "format", "schema", "proof", "issuer key", "dates", "status"
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Verification is the outcome of checking a credential, step by step, in
// the order of the Open Badges 3.0 verification procedure.
type Verification struct {
	Valid      bool           `json:"valid"`   // every check passed
	State      string         `json:"state"`   // one of the State constants
	Problem    string         `json:"problem"` // why it is not valid, when it is not
	Format     string         `json:"format"`  // "json", "jwt", "png" or "svg"
	Revoked    bool           `json:"revoked"`
	Checks     []Check        `json:"checks"`
	Credential map[string]any `json:"credential,omitempty"`
}

// String summarizes v for logs and test failures.
func (v Verification) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)", v.State, v.Format)
	for _, c := range v.Checks {
		mark := "ok"
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "; %s %s: %s", mark, c.Name, c.Detail)
	}
	return b.String()
}

func (v *Verification) pass(name, detail string) {
	v.Checks = append(v.Checks, Check{Name: name, Passed: true, Detail: detail})
}

// fail records a failed check; the first failure is the problem. state is
// what the failure makes of the credential.
func (v *Verification) fail(name, state, detail string) {
	v.Checks = append(v.Checks, Check{Name: name, Detail: detail})
	if v.Problem == "" {
		v.Problem = detail
	}
	if rank(state) > rank(v.State) {
		v.State = state
	}
}

func rank(state string) int {
	switch state {
	case StateExpired, StateNotYetValid:
		return 1
	case StateSuspended:
		return 2
	case StateRevoked:
		return 3
	case StateInvalid:
		return 4
	}
	return 0
}

// Resolver finds what a verifier needs beyond the credential itself.
type Resolver interface {
	// PublicKey returns the public key named by a Data Integrity
	// verification method or a VC-JWT kid. It must only return keys that
	// the controller (the issuer) publishes.
	PublicKey(ctx context.Context, id string) (crypto.PublicKey, error)
	// StatusList returns the (signed) status list credential at url.
	StatusList(ctx context.Context, url string) (map[string]any, error)
}

// VerifyBytes verifies input — an Open Badges 3.0 credential as JSON, a
// VC-JWT, or either baked into a PNG or SVG badge image — at instant now:
// format, schema, proof, issuer key, dates and status.
func VerifyBytes(ctx context.Context, input []byte, r Resolver, now time.Time) (v Verification) {
	v.State = StateValid
	defer func() {
		v.Valid = v.State == StateValid
		v.Revoked = v.State == StateRevoked
	}()
	if len(input) > MaxVerifyBytes {
		v.fail("format", StateInvalid, fmt.Sprintf("the file is larger than %d MiB", MaxVerifyBytes>>20))
		return v
	}
	payload := bytes.TrimSpace(input)
	if looksLikeImage(payload) {
		img, format, err := baked.Extract(input)
		if err != nil {
			v.fail("format", StateInvalid, "the image holds no Open Badges credential: "+err.Error())
			return v
		}
		payload, v.Format = bytes.TrimSpace(img), format
	}
	var doc map[string]any
	var signer string // the verification method or kid that signed
	switch {
	case vcjwt.LooksLikeJWT(payload):
		v.Format = orDefault(v.Format, "jwt")
		d, h, err := vcjwt.Verify(string(payload), func(kid string) (crypto.PublicKey, error) { return r.PublicKey(ctx, kid) })
		if d == nil {
			if errors.Is(err, vcjwt.ErrMalformed) {
				v.fail("format", StateInvalid, "the VC-JWT cannot be read: "+err.Error())
			} else {
				v.Checks = append(v.Checks, Check{Name: "format", Passed: true, Detail: "read as " + v.Format})
				v.fail("proof", StateInvalid, "the VC-JWT signature does not verify: "+err.Error())
			}
			return v
		}
		doc, signer = d, h.Kid
		if err != nil {
			v.fail("proof", StateInvalid, "the VC-JWT signature does not verify: "+err.Error())
		} else {
			v.pass("proof", fmt.Sprintf("VC-JWT signature (%s) verified", h.Alg))
		}
	case len(payload) > 0 && payload[0] == '{':
		v.Format = orDefault(v.Format, "json")
		if err := json.Unmarshal(payload, &doc); err != nil {
			v.fail("format", StateInvalid, "the credential is not valid JSON: "+err.Error())
			return v
		}
		signer = proofMethod(doc)
		err := proof.Verify(doc, func(vm string) (ed25519.PublicKey, error) {
			k, err := r.PublicKey(ctx, vm)
			if err != nil {
				return nil, err
			}
			ek, ok := k.(ed25519.PublicKey)
			if !ok {
				return nil, fmt.Errorf("%s is not an Ed25519 key", vm)
			}
			return ek, nil
		})
		if err != nil {
			v.fail("proof", StateInvalid, "the Data Integrity proof does not verify: "+err.Error())
		} else {
			v.pass("proof", "Data Integrity proof (eddsa-rdfc-2022) verified")
		}
	default:
		v.fail("format", StateInvalid, "not an Open Badges credential: expected JSON, a VC-JWT, or a baked PNG or SVG image")
		return v
	}
	v.Credential = doc
	v.Checks = append([]Check{{Name: "format", Passed: true, Detail: "read as " + v.Format}}, v.Checks...)

	if err := schema.Validate(doc); err != nil {
		v.fail("schema", StateInvalid, err.Error())
	} else {
		v.pass("schema", "matches the Open Badges 3.0 AchievementCredential schema")
	}

	issuer := issuerID(doc)
	if issuer != "" && ownedBy(signer, issuer) {
		v.pass("issuer key", "signed with a key of "+issuer)
	} else {
		v.fail("issuer key", StateInvalid, fmt.Sprintf("the signing key %q does not belong to the issuer %q", signer, issuer))
	}

	checkDates(&v, doc, now)
	checkStatus(ctx, &v, doc, issuer, r)
	return v
}

// looksLikeImage reports whether b is a PNG (by its signature) or XML (an
// SVG): the formats a credential is baked into.
func looksLikeImage(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(b, []byte("<"))
}

func orDefault(s, d string) string {
	if s != "" {
		return s
	}
	return d
}

// proofMethod returns the verification method of the first proof.
func proofMethod(doc map[string]any) string {
	p := doc["proof"]
	if list, ok := p.([]any); ok && len(list) > 0 {
		p = list[0]
	}
	m, _ := p.(map[string]any)
	vm, _ := m["verificationMethod"].(string)
	return vm
}

// issuerID returns the credential's issuer id (issuer may be an object or
// a string).
func issuerID(doc map[string]any) string {
	switch is := doc["issuer"].(type) {
	case string:
		return is
	case map[string]any:
		id, _ := is["id"].(string)
		return id
	}
	return ""
}

// ownedBy reports whether the key id names a key of the controller: the
// issuer's URL followed by a fragment (a verification method) or a path
// (a JWK), or a did:web verification method of the same DID.
func ownedBy(keyID, controller string) bool {
	if controller == "" || keyID == "" {
		return false
	}
	rest, ok := strings.CutPrefix(keyID, controller)
	return ok && (strings.HasPrefix(rest, "#") || strings.HasPrefix(rest, "/"))
}

func checkDates(v *Verification, doc map[string]any, now time.Time) {
	from, err := parseDate(doc["validFrom"])
	if err != nil {
		v.fail("dates", StateInvalid, "validFrom: "+err.Error())
		return
	}
	if now.Before(from) {
		v.fail("dates", StateNotYetValid, "the credential is valid only from "+from.UTC().Format(time.RFC3339))
		return
	}
	if doc["validUntil"] == nil {
		v.pass("dates", "valid since "+from.UTC().Format(time.DateOnly)+"; does not expire")
		return
	}
	until, err := parseDate(doc["validUntil"])
	if err != nil {
		v.fail("dates", StateInvalid, "validUntil: "+err.Error())
		return
	}
	if !now.Before(until) {
		v.fail("dates", StateExpired, "the credential expired on "+until.UTC().Format(time.DateOnly))
		return
	}
	v.pass("dates", "valid from "+from.UTC().Format(time.DateOnly)+" until "+until.UTC().Format(time.DateOnly))
}

func parseDate(x any) (time.Time, error) {
	s, ok := x.(string)
	if !ok {
		return time.Time{}, errors.New("missing or not a date-time string")
	}
	return time.Parse(time.RFC3339, s)
}

func checkStatus(ctx context.Context, v *Verification, doc map[string]any, issuer string, r Resolver) {
	entries := status.Entries(doc)
	for _, e := range entries {
		if sus := SuspensionEntry(e); sus != nil {
			entries = append(entries, sus)
		}
	}
	if len(entries) == 0 {
		v.pass("status", "the credential has no status list: it cannot be revoked")
		return
	}
	ok := true
	for _, e := range entries {
		purpose, _ := e["statusPurpose"].(string)
		url, _ := e["statusListCredential"].(string)
		list, err := r.StatusList(ctx, url)
		if err != nil {
			v.fail("status", StateInvalid, fmt.Sprintf("the %s status list cannot be read: %v", purpose, err))
			ok = false
			continue
		}
		if issuerID(list) != issuer {
			v.fail("status", StateInvalid, fmt.Sprintf("the %s status list is not the issuer's", purpose))
			ok = false
			continue
		}
		if _, local := r.(localResolver); local {
			// The service built and signed this list from its own database
			// a moment ago: checking its signature again proves nothing.
		} else if err := proof.Verify(list, func(vm string) (ed25519.PublicKey, error) {
			if !ownedBy(vm, issuer) {
				return nil, fmt.Errorf("%s is not a key of the issuer", vm)
			}
			k, err := r.PublicKey(ctx, vm)
			if err != nil {
				return nil, err
			}
			ek, ok := k.(ed25519.PublicKey)
			if !ok {
				return nil, fmt.Errorf("%s is not an Ed25519 key", vm)
			}
			return ek, nil
		}); err != nil {
			v.fail("status", StateInvalid, fmt.Sprintf("the %s status list's proof does not verify: %v", purpose, err))
			ok = false
			continue
		}
		set, err := status.Check(e, list)
		switch {
		case err != nil:
			v.fail("status", StateInvalid, fmt.Sprintf("the %s status cannot be read: %v", purpose, err))
			ok = false
		case set && purpose == status.PurposeRevocation:
			v.fail("status", StateRevoked, "the issuer has revoked this credential")
			ok = false
		case set && purpose == status.PurposeSuspension:
			v.fail("status", StateSuspended, "the issuer has suspended this credential")
			ok = false
		}
	}
	if ok {
		v.pass("status", "neither revoked nor suspended")
	}
}
