// Package proof signs and verifies JSON-LD documents with W3C Data Integrity
// proofs using the eddsa-rdfc-2022 cryptosuite (W3C "Data Integrity EdDSA
// Cryptosuites v1.0", §3.3): Ed25519 signatures over the SHA-256 hashes of the
// RDFC-1.0 canonical N-Quads of the proof configuration and of the document.
//
// Canonicalization never leaves the process: JSON-LD contexts are embedded
// (ContextFiles) and served by an offline loader (DocumentLoader) that refuses
// every other URL. It runs in JSON-LD "safe mode", as Digital Bazaar's verifier
// does, so a term that no context defines, a relative IRI or a value that the
// conversion to RDF would silently drop is an error rather than an unsigned
// hole in the document.
//
// Keys are Multikeys (EncodeMultikey, DecodeMultikey) published in a controller
// document (ControllerDocument); AssertionKey resolves a verification method
// from one.
package proof

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mr-tron/base58"
	"github.com/piprate/json-gold/ld"
)

// Values of a proof made by Sign.
const (
	Type         = "DataIntegrityProof"
	Cryptosuite  = "eddsa-rdfc-2022"
	ProofPurpose = "assertionMethod"
)

// Errors returned (wrapped) by this package.
var (
	// ErrUnknownContext: a document names a context that is not embedded.
	ErrUnknownContext = errors.New("proof: context not embedded")
	// ErrCanonicalize: the document is not valid JSON-LD, or not safe to
	// canonicalize (undefined term, relative IRI, dropped value).
	ErrCanonicalize = errors.New("proof: cannot canonicalize")
	// ErrAlreadySigned: Sign was given a document that has a proof.
	ErrAlreadySigned = errors.New("proof: document already has a proof")
	// ErrNoProof: Verify was given a document without a proof.
	ErrNoProof = errors.New("proof: no proof")
	// ErrMalformedProof: the proof lacks a field or has one of the wrong form.
	ErrMalformedProof = errors.New("proof: malformed proof")
	// ErrUnsupportedCryptosuite: the proof is not a DataIntegrityProof with
	// cryptosuite eddsa-rdfc-2022.
	ErrUnsupportedCryptosuite = errors.New("proof: unsupported cryptosuite")
	// ErrProofPurpose: the proof's purpose is not assertionMethod.
	ErrProofPurpose = errors.New("proof: unexpected proof purpose")
	// ErrVerificationMethod: the verification method could not be resolved to
	// an Ed25519 key authorized for assertions.
	ErrVerificationMethod = errors.New("proof: unusable verification method")
	// ErrInvalidSignature: the signature does not match the document and key.
	ErrInvalidSignature = errors.New("proof: invalid signature")
	// ErrInvalidMultikey: a publicKeyMultibase is not an Ed25519 Multikey.
	ErrInvalidMultikey = errors.New("proof: invalid multikey")
)

// Canonicalize returns the RDFC-1.0 canonical N-Quads of doc, a JSON-LD
// document whose values are those encoding/json produces or accepts. Contexts
// are loaded only from the embedded set. doc is not modified.
//
// The conversion runs in safe mode. Canonicalize returns an error wrapping
// ErrCanonicalize (and ErrUnknownContext when that is the cause) if:
//   - a property does not expand to an absolute IRI (an undefined term);
//   - an @id or @type is relative, or is an IRI that json-gold would drop;
//   - a language tag is invalid, or @direction is used;
//   - a string holds a control character other than tab, line feed and
//     carriage return (their N-Quads escaping differs between
//     implementations);
//   - the document states nothing (no quads).
func Canonicalize(doc map[string]any) (string, error) {
	tree, err := jsonTree(doc)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCanonicalize, err)
	}
	return canonicalize(tree)
}

func canonicalize(tree map[string]any) (string, error) {
	opts := ld.NewJsonLdOptions("")
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.DocumentLoader = DocumentLoader()
	opts.SafeMode = true
	proc := ld.NewJsonLdProcessor()

	// json-gold's Normalize builds its own options for the conversion to RDF
	// and so forgets SafeMode; expand, check, convert and normalize here
	// instead, each step with opts.
	expanded, err := proc.Expand(tree, opts)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCanonicalize, err)
	}
	if err := checkExpanded(expanded, ""); err != nil {
		return "", fmt.Errorf("%w: %w", ErrCanonicalize, err)
	}
	ds, err := proc.ToRDF(expanded, opts)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCanonicalize, err)
	}
	dataset, ok := ds.(*ld.RDFDataset)
	if !ok {
		return "", fmt.Errorf("%w: json-gold returned %T, not a dataset", ErrCanonicalize, ds)
	}
	opts.Algorithm = ld.AlgorithmURDNA2015
	opts.Format = "application/n-quads"
	out, err := ld.NewJsonLdApi().Normalize(dataset, opts)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCanonicalize, err)
	}
	s, ok := out.(string)
	if !ok {
		return "", fmt.Errorf("%w: json-gold returned %T, not N-Quads", ErrCanonicalize, out)
	}
	if s == "" {
		return "", fmt.Errorf("%w: the document states nothing", ErrCanonicalize)
	}
	return s, nil
}

// absoluteIRI matches an absolute IRI or a blank node identifier, as jsonld.js
// tells them apart from relative references.
var absoluteIRI = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+\-.]*|_):[^\s]*$`)

// checkExpanded enforces, on an expanded JSON-LD document, the safe-mode rules
// that json-gold does not: jsonld.js rejects relative references and invalid
// language tags, and json-gold would silently drop some IRIs and literals
// that jsonld.js keeps, or escape some characters differently; either way the
// two would sign different data.
func checkExpanded(v any, path string) error {
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			if err := checkExpanded(e, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		_, isValue := t["@value"]
		for _, k := range slices.Sorted(maps.Keys(t)) {
			val := t[k]
			at := path + "/" + k
			switch {
			case k == "@id":
				s, _ := val.(string)
				if err := checkIRI(s, at); err != nil {
					return err
				}
			case k == "@type" && isValue:
				s, _ := val.(string)
				if s == "@json" {
					continue
				}
				if err := checkIRI(s, at); err != nil {
					return err
				}
			case k == "@type":
				types, _ := val.([]any)
				for _, ty := range types {
					s, _ := ty.(string)
					if err := checkIRI(s, at); err != nil {
						return err
					}
				}
			case k == "@value":
				if t["@type"] == "@json" {
					continue
				}
				if s, ok := val.(string); ok {
					if err := checkString(s, at); err != nil {
						return err
					}
				}
			case k == "@language":
				s, _ := val.(string)
				if ld.InvalidNode(ld.NewLiteral("", "", s)) || s == "" {
					return fmt.Errorf("invalid language tag %q at %s", s, at)
				}
			case k == "@direction":
				return fmt.Errorf("@direction at %s is not supported", at)
			case strings.HasPrefix(k, "@"):
				if err := checkExpanded(val, at); err != nil {
					return err
				}
			default:
				if strings.HasPrefix(k, "_:") {
					return fmt.Errorf("blank node predicate %q at %s", k, path)
				}
				if err := checkIRI(k, path); err != nil {
					return err
				}
				if err := checkExpanded(val, at); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkIRI returns an error unless s is an absolute IRI or blank node label
// that both json-gold and rdf-canonize serialize the same way.
func checkIRI(s, at string) error {
	switch {
	case !absoluteIRI.MatchString(s):
		return fmt.Errorf("relative or empty IRI %q at %s", s, at)
	case strings.ContainsAny(s, "<>\"{}|^`\\\x7f"):
		return fmt.Errorf("IRI %q at %s holds a character not allowed in N-Quads IRIs", s, at)
	case strings.IndexFunc(s, func(r rune) bool { return r <= 0x20 }) >= 0:
		return fmt.Errorf("IRI %q at %s holds a control character", s, at)
	case ld.InvalidNode(ld.NewIRI(s)):
		return fmt.Errorf("IRI %q at %s is not a valid URL", s, at)
	}
	return nil
}

// checkString returns an error if s holds a control character that json-gold
// and rdf-canonize would escape differently in N-Quads.
func checkString(s, at string) error {
	i := strings.IndexFunc(s, func(r rune) bool {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
	})
	if i >= 0 {
		return fmt.Errorf("string at %s holds control character %U", at, []rune(s[i:])[0])
	}
	return nil
}

// Sign returns a copy of doc with a "proof" member: an array holding one
// DataIntegrityProof with cryptosuite eddsa-rdfc-2022, proofPurpose
// assertionMethod, the given verificationMethod (a URL whose key is key's
// public half) and created (in UTC, truncated to the second; omitted when
// zero). The array form, a proof set of one, means the same in JSON-LD as a
// lone object and is the form Open Badges 3.0's JSON Schema requires. doc must be a JSON-LD
// document whose @context defines every term it uses and the Data Integrity
// terms (the VC 2.0 context does); its values must be those encoding/json
// accepts. The copy is a fresh JSON tree (objects map[string]any, arrays
// []any, numbers float64); doc is not modified.
//
// Sign returns an error wrapping ErrAlreadySigned if doc has a proof and one
// wrapping ErrCanonicalize if doc or the proof configuration cannot be
// canonicalized. It panics if key is not ed25519.PrivateKeySize bytes long.
func Sign(doc map[string]any, key ed25519.PrivateKey, verificationMethod string, created time.Time) (map[string]any, error) {
	if len(key) != ed25519.PrivateKeySize {
		panic(fmt.Sprintf("proof: Sign: private key of %d bytes, want %d", len(key), ed25519.PrivateKeySize))
	}
	unsecured, err := jsonTree(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCanonicalize, err)
	}
	if _, ok := unsecured["proof"]; ok {
		return nil, ErrAlreadySigned
	}
	options := map[string]any{
		"type":               Type,
		"cryptosuite":        Cryptosuite,
		"verificationMethod": verificationMethod,
		"proofPurpose":       ProofPurpose,
	}
	if !created.IsZero() {
		options["created"] = created.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	data, err := hashData(unsecured, options, unsecured["@context"])
	if err != nil {
		return nil, err
	}
	options["proofValue"] = "z" + base58.Encode(ed25519.Sign(key, data))
	unsecured["proof"] = []any{options}
	return unsecured, nil
}

// Verify checks the eddsa-rdfc-2022 Data Integrity proof of doc. resolve
// maps the proof's verificationMethod to its Ed25519 public key; it must
// return a key only if the method's controller authorizes it for assertions
// (AssertionKey does this for a controller document). Whether that controller
// is the one the caller trusts (for a credential, its issuer) is for the
// caller to check. doc is not modified.
//
// The proof may be an object or an array holding one object; a set of several
// proofs is not supported. Verify returns nil if the signature is valid and
// otherwise an error wrapping ErrNoProof, ErrMalformedProof,
// ErrUnsupportedCryptosuite, ErrProofPurpose, ErrVerificationMethod (wrapping
// resolve's error), ErrCanonicalize or ErrInvalidSignature.
func Verify(doc map[string]any, resolve func(verificationMethod string) (ed25519.PublicKey, error)) error {
	secured, err := jsonTree(doc)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCanonicalize, err)
	}
	raw, ok := secured["proof"]
	if !ok {
		return ErrNoProof
	}
	if set, ok := raw.([]any); ok {
		if len(set) != 1 {
			return fmt.Errorf("%w: a set of %d proofs; only one proof is supported", ErrMalformedProof, len(set))
		}
		raw = set[0]
	}
	p, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: proof is a %T, want an object", ErrMalformedProof, raw)
	}
	if p["type"] != Type || p["cryptosuite"] != Cryptosuite {
		return fmt.Errorf("%w: type %v, cryptosuite %v", ErrUnsupportedCryptosuite, p["type"], p["cryptosuite"])
	}
	if p["proofPurpose"] != ProofPurpose {
		return fmt.Errorf("%w: %v, want %s", ErrProofPurpose, p["proofPurpose"], ProofPurpose)
	}
	vm, _ := p["verificationMethod"].(string)
	if vm == "" {
		return fmt.Errorf("%w: no verificationMethod URL", ErrMalformedProof)
	}
	if c, ok := p["created"]; ok {
		s, _ := c.(string)
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("%w: created %v is not an XML Schema dateTime", ErrMalformedProof, c)
		}
	}
	pv, _ := p["proofValue"].(string)
	if len(pv) < 2 || pv[0] != 'z' {
		return fmt.Errorf("%w: proofValue is not multibase base58btc", ErrMalformedProof)
	}
	sig, err := base58.Decode(pv[1:])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: proofValue is not a %d-byte signature", ErrMalformedProof, ed25519.SignatureSize)
	}

	options := make(map[string]any, len(p))
	for k, v := range p {
		if k != "proofValue" && k != "@context" {
			options[k] = v
		}
	}
	ctx := secured["@context"]
	if pc, ok := p["@context"]; ok {
		if !contextHasPrefix(ctx, pc) {
			return fmt.Errorf("%w: the proof's @context is not a prefix of the document's", ErrMalformedProof)
		}
		ctx = pc
	}
	delete(secured, "proof")

	pub, err := resolve(vm)
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrVerificationMethod, vm, err)
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w %q: public key of %d bytes", ErrVerificationMethod, vm, len(pub))
	}
	data, err := hashData(secured, options, ctx)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, data, sig) {
		return ErrInvalidSignature
	}
	return nil
}

// hashData returns SHA-256(canonical proof configuration) ‖ SHA-256(canonical
// document), where the proof configuration is options with @context ctx
// (eddsa-rdfc-2022 §3.3.4–3.3.5).
func hashData(unsecured, options map[string]any, ctx any) ([]byte, error) {
	config := make(map[string]any, len(options)+1)
	for k, v := range options {
		config[k] = v
	}
	if ctx != nil {
		config["@context"] = ctx
	}
	canonConfig, err := canonicalize(config)
	if err != nil {
		return nil, fmt.Errorf("proof configuration: %w", err)
	}
	canonDoc, err := canonicalize(unsecured)
	if err != nil {
		return nil, err
	}
	configHash := sha256.Sum256([]byte(canonConfig))
	docHash := sha256.Sum256([]byte(canonDoc))
	return append(configHash[:], docHash[:]...), nil
}

// contextHasPrefix reports whether the @context value doc starts with all the
// entries of prefix, in order.
func contextHasPrefix(doc, prefix any) bool {
	d, p := asList(doc), asList(prefix)
	if len(p) > len(d) {
		return false
	}
	for i := range p {
		a, _ := json.Marshal(d[i])
		b, _ := json.Marshal(p[i])
		if string(a) != string(b) {
			return false
		}
	}
	return true
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// jsonTree returns a deep copy of doc as encoding/json decodes it into an
// any: the form json-gold walks.
func jsonTree(doc map[string]any) (map[string]any, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, err
	}
	if tree == nil {
		return nil, errors.New("document is null")
	}
	return tree, nil
}
