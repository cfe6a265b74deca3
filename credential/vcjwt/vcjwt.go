// Package vcjwt secures Open Badges 3.0 credentials as JSON Web Tokens: the
// "JSON Web Token Proof Format" (VC-JWT) of Open Badges 3.0 §8.2, itself a
// profile of RFC 7519 (JWT) and RFC 7515 (JWS) in compact serialization.
//
// The JWT payload is the credential itself, its members at the top level (no
// "vc" wrapper, as for W3C VC data model 2.0), plus the registered claims
// that repeat some of them:
//
//	iss  issuer.id (or issuer, when it is a string)
//	jti  id
//	sub  credentialSubject.id, when the subject has an id
//	nbf  validFrom, in Unix seconds
//	exp  validUntil, in Unix seconds, when the credential has one
//
// The JOSE header holds exactly alg, kid and typ "JWT". Keys are Ed25519
// (alg EdDSA) or RSA of at least 2048 bits (alg RS256, the algorithm Open
// Badges requires verifiers to support); the kid is a URL that dereferences
// to the public key as a JWK (JWK, JWKS, ParseJWK).
//
// Signing and signature checks are go-jose's; this package only decides what
// goes into a token and what a token must hold to be accepted.
package vcjwt

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxTokenSize is the largest compact JWS, in bytes, that Verify reads and
// that Sign produces. A credential with its evidence is a few kilobytes; the
// bound keeps a hostile upload from costing more than a bounded parse.
const MaxTokenSize = 1 << 20

// MinRSABits is the smallest RSA modulus accepted for signing or verifying
// (NIST SP 800-57: 2048 bits for security through 2030).
const MinRSABits = 2048

// Algorithms and token type used in the JOSE header.
const (
	AlgEdDSA = "EdDSA" // Ed25519 (RFC 8037)
	AlgRS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3)
	TypJWT   = "JWT"
)

// Errors returned (wrapped, with detail) by this package. Callers branch on
// them with errors.Is.
var (
	// ErrMalformed: the input is not a well-formed token or credential: bad
	// encoding, not JSON, a header member this profile does not allow, a
	// missing kid, a typ other than "JWT", a size over MaxTokenSize; or, for
	// Sign, a credential without id, issuer or validFrom, or with a proof or
	// a member named like a registered claim.
	ErrMalformed = errors.New("vcjwt: malformed token or credential")
	// ErrSignature: the signature does not verify with the resolved key, or
	// the header names an algorithm other than EdDSA and RS256 (including
	// "none" and the HMAC algorithms).
	ErrSignature = errors.New("vcjwt: invalid signature")
	// ErrClaims: the signature holds, but the registered claims disagree with
	// the credential they wrap (iss, jti, sub, nbf or exp), or a required one
	// is missing.
	ErrClaims = errors.New("vcjwt: claims do not match the credential")
	// ErrKey: the key is unusable: kid does not resolve, a key of a type or
	// size this package does not accept, a key that does not fit the alg, a
	// private JWK where a public one is expected, or a kid that is not an
	// absolute URI.
	ErrKey = errors.New("vcjwt: unusable key")
)

// Header is the JOSE header of a verified token.
type Header struct {
	Alg string // AlgEdDSA or AlgRS256
	Kid string // URL of the public JWK
	Typ string // "JWT", or empty when the token has no typ
}

// registeredClaims are the claim names of RFC 7519 §4.1. Sign refuses a
// credential that uses one of them as a member, so that Verify can remove
// them all from the payload and give back exactly the credential signed.
var registeredClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// acceptedAlgs is the only algorithm list handed to go-jose's parser: a token
// naming any other algorithm ("none", HS256, …) never reaches a key.
var acceptedAlgs = []jose.SignatureAlgorithm{jose.EdDSA, jose.RS256}

// Sign returns the compact JWS of credential doc, signed with key and
// carrying kid in its header. key is an ed25519.PrivateKey (alg EdDSA) or an
// *rsa.PrivateKey of at least MinRSABits (alg RS256); kid is the absolute URL
// at which the matching public JWK is published.
//
// doc must hold id, issuer (a string or an object with an id) and validFrom
// (RFC 3339 with a time zone), and may hold validUntil and
// credentialSubject.id; these become the registered claims. doc must not
// hold a proof (an embedded proof would be a second, separately verified
// signature; Touchstone issues the two formats side by side) nor any member
// named like a registered claim. Such problems give ErrMalformed; key and kid
// problems give ErrKey. doc is not modified.
//
// EdDSA signatures are deterministic, so the same doc, key and kid always
// give the same token; RS256 (PKCS #1 v1.5) is deterministic too.
func Sign(doc map[string]any, key crypto.Signer, kid string) (string, error) {
	alg, err := signingAlg(key)
	if err != nil {
		return "", err
	}
	if err := checkKid(kid); err != nil {
		return "", err
	}
	if doc == nil {
		return "", fmt.Errorf("%w: nil credential", ErrMalformed)
	}
	// A round trip through JSON copies doc (the claims are added to the
	// copy) and gives it the same types Verify will see.
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("%w: credential is not JSON: %w", ErrMalformed, err)
	}
	var payload map[string]any
	if err := json.Unmarshal(b, &payload); err != nil {
		return "", fmt.Errorf("%w: credential is not JSON: %w", ErrMalformed, err)
	}
	if _, ok := payload["proof"]; ok {
		return "", fmt.Errorf("%w: credential already has a proof", ErrMalformed)
	}
	for _, name := range registeredClaims {
		if _, ok := payload[name]; ok {
			return "", fmt.Errorf("%w: credential has a member %q, a registered JWT claim", ErrMalformed, name)
		}
	}
	c, err := claimsOf(payload)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	payload["iss"] = c.iss
	payload["jti"] = c.jti
	if c.sub != "" {
		payload["sub"] = c.sub
	}
	payload["nbf"] = c.nbf
	if c.exp != nil {
		payload["exp"] = *c.exp
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}

	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(TypJWT))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrKey, err)
	}
	jws, err := signer.Sign(body)
	if err != nil {
		return "", fmt.Errorf("vcjwt: sign: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("vcjwt: serialize: %w", err)
	}
	// Never issue a token that Verify (ours or a verifier with the same
	// bound) would refuse to read.
	if len(token) > MaxTokenSize {
		return "", fmt.Errorf("%w: token is %d bytes, more than %d", ErrMalformed, len(token), MaxTokenSize)
	}
	return token, nil
}

// Verify checks a compact JWS made by Sign or by another Open Badges 3.0
// issuer and returns the credential it carries and its header.
//
// Verify refuses (wrapping the error named) a token that:
//   - is over MaxTokenSize, not three base64url segments, has a header with
//     members other than alg, kid, typ (and jwk, which is ignored), no kid,
//     a typ other than "JWT" (compared without case; typ may be absent), a
//     payload that is not a JSON object, or one that wraps the credential in
//     a "vc" claim (VC data model 1.1, not supported): ErrMalformed;
//   - names an algorithm other than EdDSA and RS256: ErrSignature, before
//     resolve is called;
//   - has a kid that resolve cannot turn into a key, or a key that does not
//     fit the algorithm (EdDSA needs an ed25519.PublicKey, RS256 an
//     *rsa.PublicKey of at least MinRSABits): ErrKey;
//   - has a signature that does not verify: ErrSignature;
//   - has registered claims that disagree with the credential: iss with
//     issuer's id, jti with id, nbf with validFrom, exp with validUntil (both
//     or neither), sub with credentialSubject.id (both or neither):
//     ErrClaims. Times are compared to the second.
//
// The key always comes from resolve, never from the token: a key that
// travels with the token proves nothing about who signed it. resolve
// receives the kid as the token states it, so it must only return keys that
// belong to the credential's issuer (for instance from the issuer's own key
// set, with the issuer checked by the caller against the returned
// credential): Verify does not relate kid to iss. Errors from resolve are
// wrapped together with ErrKey.
//
// The returned credential is the payload without the registered claims of
// RFC 7519 (iss, sub, aud, exp, nbf, iat, jti). Verify does not judge dates:
// whether the credential is already or still valid is the caller's decision,
// with its own clock.
func Verify(token string, resolve func(kid string) (crypto.PublicKey, error)) (map[string]any, Header, error) {
	token = strings.TrimSpace(token)
	if len(token) > MaxTokenSize {
		return nil, Header{}, fmt.Errorf("%w: token is %d bytes, more than %d", ErrMalformed, len(token), MaxTokenSize)
	}
	h, err := readHeader(token)
	if err != nil {
		return nil, Header{}, err
	}
	jws, err := jose.ParseSignedCompact(token, acceptedAlgs)
	if err != nil {
		return nil, Header{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	// Our reading of the header and go-jose's must agree: the one that
	// checks the signature is the one that chose the algorithm.
	if len(jws.Signatures) != 1 ||
		string(jws.Signatures[0].Header.Algorithm) != h.Alg || jws.Signatures[0].Header.KeyID != h.Kid {
		return nil, Header{}, fmt.Errorf("%w: ambiguous header", ErrMalformed)
	}

	if resolve == nil {
		return nil, Header{}, fmt.Errorf("%w: no key resolver", ErrKey)
	}
	pub, err := resolve(h.Kid)
	if err != nil {
		return nil, Header{}, fmt.Errorf("%w: kid %q: %w", ErrKey, h.Kid, err)
	}
	if err := keyFits(h.Alg, pub); err != nil {
		return nil, Header{}, fmt.Errorf("%w (kid %q)", err, h.Kid)
	}
	body, err := jws.Verify(pub)
	if err != nil {
		return nil, Header{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}

	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil || payload == nil {
		return nil, Header{}, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	if _, wrapped := payload["vc"]; wrapped {
		if _, ok := payload["@context"]; !ok {
			return nil, Header{}, fmt.Errorf("%w: the credential is wrapped in a vc claim (VC data model 1.1); "+
				"Open Badges 3.0 puts its members at the top level of the payload", ErrMalformed)
		}
	}
	want, err := claimsOf(payload)
	if err != nil {
		return nil, Header{}, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	if err := want.match(payload); err != nil {
		return nil, Header{}, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	for _, name := range registeredClaims {
		delete(payload, name)
	}
	return payload, h, nil
}

// LooksLikeJWT reports whether b, without surrounding white space, has the
// shape of a compact JWS: three non-empty base64url segments separated by
// dots, the first of which decodes to a JSON object with a string "alg". It
// does not verify anything; it tells an uploaded token from a JSON document
// or an image.
func LooksLikeJWT(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) > MaxTokenSize {
		return false
	}
	parts := bytes.Split(b, []byte("."))
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if len(p) == 0 || !isBase64URL(p) {
			return false
		}
	}
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(parts[0])))
	n, err := base64.RawURLEncoding.Decode(raw, parts[0])
	if err != nil {
		return false
	}
	var head struct {
		Alg *string `json:"alg"`
	}
	return json.Unmarshal(raw[:n], &head) == nil && head.Alg != nil
}

func isBase64URL(b []byte) bool {
	for _, c := range b {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// readHeader decodes and checks the JOSE header of a compact JWS. It does not
// trust the header: it only decides whether the token is worth a key lookup.
func readHeader(token string) (Header, error) {
	seg, _, ok := strings.Cut(token, ".")
	if !ok || strings.Count(token, ".") != 2 {
		return Header{}, fmt.Errorf("%w: not a compact JWS (three dot-separated segments)", ErrMalformed)
	}
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return Header{}, fmt.Errorf("%w: header is not base64url: %w", ErrMalformed, err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return Header{}, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	str := func(name string) (string, bool, error) {
		v, ok := members[name]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", true, fmt.Errorf("%w: header %s is not a string", ErrMalformed, name)
		}
		return s, true, nil
	}
	for name := range members {
		switch name {
		case "alg", "kid", "typ":
		case "jwk":
			// Allowed by Open Badges 3.0 but never used: the key comes from
			// resolve(kid).
		default:
			// Open Badges 3.0 §8.2.3: additional JOSE headers are not
			// allowed; crit or b64 would change what the signature covers.
			return Header{}, fmt.Errorf("%w: header member %q is not allowed", ErrMalformed, name)
		}
	}
	var h Header
	alg, ok, err := str("alg")
	if err != nil {
		return Header{}, err
	}
	if !ok || (alg != AlgEdDSA && alg != AlgRS256) {
		return Header{}, fmt.Errorf("%w: algorithm %q is not accepted (only %s and %s)", ErrSignature, alg, AlgEdDSA, AlgRS256)
	}
	h.Alg = alg
	kid, _, err := str("kid")
	if err != nil {
		return Header{}, err
	}
	if kid == "" {
		return Header{}, fmt.Errorf("%w: header has no kid", ErrMalformed)
	}
	h.Kid = kid
	typ, ok, err := str("typ")
	if err != nil {
		return Header{}, err
	}
	// RFC 7515 §4.1.9: typ is a media type, compared without case, and may
	// omit its "application/" prefix.
	if ok && !strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), TypJWT) {
		return Header{}, fmt.Errorf("%w: typ %q is not JWT", ErrMalformed, typ)
	}
	h.Typ = typ
	return h, nil
}

// signingAlg returns the JWS algorithm for a private key, refusing keys this
// profile does not use.
func signingAlg(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return "", fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrKey, len(k))
		}
		return jose.EdDSA, nil
	case *rsa.PrivateKey:
		if k == nil || k.N == nil {
			return "", fmt.Errorf("%w: nil RSA key", ErrKey)
		}
		if k.N.BitLen() < MinRSABits {
			return "", fmt.Errorf("%w: RSA key of %d bits, fewer than %d", ErrKey, k.N.BitLen(), MinRSABits)
		}
		return jose.RS256, nil
	default:
		return "", fmt.Errorf("%w: %T is neither ed25519.PrivateKey nor *rsa.PrivateKey", ErrKey, key)
	}
}

// keyFits checks that pub is the kind of key alg needs, so that a token
// cannot choose how its key is used.
func keyFits(alg string, pub crypto.PublicKey) error {
	fits, err := publicAlg(pub)
	if err != nil {
		return err
	}
	if fits != alg {
		return fmt.Errorf("%w: the key verifies %s, not %s", ErrKey, fits, alg)
	}
	return nil
}

// checkKid requires an absolute URI: Open Badges 3.0 says the kid
// dereferences to the public JWK.
func checkKid(kid string) error {
	u, err := url.Parse(kid)
	if kid == "" || err != nil || !u.IsAbs() {
		return fmt.Errorf("%w: kid %q is not an absolute URI", ErrKey, kid)
	}
	return nil
}

// claims are the registered claims a credential implies.
type claims struct {
	iss, jti, sub string // sub is empty when the subject has no id
	nbf           int64
	exp           *int64
}

// claimsOf derives the registered claims from the credential members of
// doc, a JSON object as encoding/json decodes it.
func claimsOf(doc map[string]any) (claims, error) {
	var c claims
	var ok bool
	if c.jti, ok = doc["id"].(string); !ok || c.jti == "" {
		return c, errors.New("credential has no id")
	}
	switch is := doc["issuer"].(type) {
	case string:
		c.iss = is
	case map[string]any:
		c.iss, _ = is["id"].(string)
	}
	if c.iss == "" {
		return c, errors.New("credential has no issuer id")
	}
	switch cs := doc["credentialSubject"].(type) {
	case map[string]any:
		if id, present := cs["id"]; present {
			if c.sub, ok = id.(string); !ok || c.sub == "" {
				return c, errors.New("credentialSubject.id is not a non-empty string")
			}
		}
	default:
		// Open Badges 3.0: exactly one subject, an object.
		return c, errors.New("credentialSubject is not an object")
	}
	from, err := dateMember(doc, "validFrom")
	if err != nil {
		return c, err
	}
	if from == nil {
		return c, errors.New("credential has no validFrom")
	}
	c.nbf = from.Unix()
	until, err := dateMember(doc, "validUntil")
	if err != nil {
		return c, err
	}
	if until != nil {
		exp := until.Unix()
		c.exp = &exp
	}
	return c, nil
}

// dateMember reads an optional RFC 3339 date-time with a time zone (an
// XML Schema dateTimeStamp, as VC data model 2.0 requires).
func dateMember(doc map[string]any, name string) (*time.Time, error) {
	v, ok := doc[name]
	if !ok {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%s is not a string", name)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not an RFC 3339 date-time with a time zone", name, s)
	}
	return &t, nil
}

// match compares the registered claims of payload with c.
func (c claims) match(payload map[string]any) error {
	for _, want := range []struct{ name, value string }{{"iss", c.iss}, {"jti", c.jti}} {
		got, ok := payload[want.name]
		if !ok {
			return fmt.Errorf("no %s claim", want.name)
		}
		if got != want.value {
			return fmt.Errorf("%s claim %v, want %q", want.name, got, want.value)
		}
	}
	sub, ok := payload["sub"]
	switch {
	case c.sub == "" && ok:
		return fmt.Errorf("sub claim %v, but credentialSubject has no id", sub)
	case c.sub != "" && !ok:
		return errors.New("no sub claim, but credentialSubject has an id")
	case c.sub != "" && sub != c.sub:
		return fmt.Errorf("sub claim %v, want %q", sub, c.sub)
	}
	if err := matchTime(payload, "nbf", &c.nbf, "validFrom"); err != nil {
		return err
	}
	return matchTime(payload, "exp", c.exp, "validUntil")
}

// matchTime compares a NumericDate claim with the Unix second of a date
// member (want nil when the member is absent). A NumericDate may have a
// fraction (RFC 7519 §2); the comparison is to the whole second.
func matchTime(payload map[string]any, claim string, want *int64, member string) error {
	v, ok := payload[claim]
	switch {
	case !ok && want == nil:
		return nil
	case !ok:
		return fmt.Errorf("no %s claim, but the credential has %s", claim, member)
	case want == nil:
		return fmt.Errorf("%s claim, but the credential has no %s", claim, member)
	}
	n, isNum := v.(float64)
	if !isNum || math.IsNaN(n) || math.IsInf(n, 0) {
		return fmt.Errorf("%s claim %v is not a NumericDate", claim, v)
	}
	if math.Floor(n) != float64(*want) {
		return fmt.Errorf("%s claim %s, but %s is %s (%d)", claim, strconv.FormatFloat(n, 'f', -1, 64), member,
			time.Unix(*want, 0).UTC().Format(time.RFC3339), *want)
	}
	return nil
}
