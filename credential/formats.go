package credential

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/touchstone-assess/touchstone/credential/baked"
	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/vcjwt"
)

// JWT algorithms a holder can download.
const (
	EdDSA = "EdDSA"
	RS256 = "RS256"
)

// ErrNoKey: the service has no key for the asked algorithm.
var ErrNoKey = errors.New("credential: no signing key for that algorithm")

// KeyURL is the URL of one of the issuer's keys as a bare JWK: the kid of
// the VC-JWTs it signs.
func (s *Service) KeyURL(issuerID, keyID string) string {
	return s.IssuerURL(issuerID) + "/keys/" + url.PathEscape(keyID)
}

// JWT returns credential c as a VC-JWT (Open Badges 3.0 §8.2) signed now
// with the issuer's current key for alg (EdDSA or RS256). The payload is
// the credential without its Data Integrity proof: the same claims, a
// second proof format.
func (s *Service) JWT(ctx context.Context, c Credential, alg string) (string, error) {
	var doc map[string]any
	if err := json.Unmarshal(c.Document, &doc); err != nil {
		return "", fmt.Errorf("credential: stored document: %w", err)
	}
	delete(doc, "proof")
	issuer := strings.TrimPrefix(issuerID(doc), s.baseURL+"/issuers/")
	switch alg {
	case EdDSA:
		return vcjwt.Sign(doc, s.key, s.KeyURL(issuer, s.keyID()))
	case RS256:
		if s.rsaKey == nil {
			return "", fmt.Errorf("%w %s", ErrNoKey, alg)
		}
		kid, _, err := rsaJWK(&s.rsaKey.PublicKey)
		if err != nil {
			return "", err
		}
		return vcjwt.Sign(doc, s.rsaKey, s.KeyURL(issuer, kid))
	}
	return "", fmt.Errorf("%w %q", ErrNoKey, alg)
}

// CanSignRS256 reports whether the service has an RSA key, so that RS256
// VC-JWTs can be offered.
func (s *Service) CanSignRS256() bool { return s.rsaKey != nil }

// issuerKeys returns every key of the issuer, current and retired.
func (s *Service) issuerKeys(ctx context.Context, issuerID string) ([]keyRow, error) {
	var rows []keyRow
	if err := s.db.WithContext(ctx).Where("issuer_id = ?", issuerID).Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("credential: keys: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: issuer %s", ErrNotFound, issuerID)
	}
	return rows, nil
}

// JWK returns one of the issuer's public keys as a bare JWK (what a
// VC-JWT's kid dereferences to).
func (s *Service) JWK(ctx context.Context, issuerID, keyID string) (map[string]any, error) {
	var k keyRow
	if err := s.db.WithContext(ctx).First(&k, "id = ? AND issuer_id = ?", keyID, issuerID).Error; err != nil {
		return nil, fmt.Errorf("%w: key %s", ErrNotFound, keyID)
	}
	pub, err := k.publicKey()
	if err != nil {
		return nil, err
	}
	return vcjwt.JWK(pub, s.KeyURL(issuerID, keyID))
}

// JWKS returns every public key of the issuer, current and retired, as a
// JSON Web Key Set; each key's kid is its URL.
func (s *Service) JWKS(ctx context.Context, issuerID string) (map[string]any, error) {
	rows, err := s.issuerKeys(ctx, issuerID)
	if err != nil {
		return nil, err
	}
	keys := map[string]crypto.PublicKey{}
	for _, k := range rows {
		pub, err := k.publicKey()
		if err != nil {
			return nil, err
		}
		keys[s.KeyURL(issuerID, k.ID)] = pub
	}
	return vcjwt.JWKS(keys)
}

// DID returns the did:web identifier of this deployment's host.
func (s *Service) DID() string {
	u, err := url.Parse(s.baseURL)
	if err != nil {
		return ""
	}
	did := "did:web:" + strings.ReplaceAll(url.PathEscape(u.Host), ":", "%3A")
	if p := strings.Trim(u.Path, "/"); p != "" {
		did += ":" + strings.ReplaceAll(p, "/", ":")
	}
	return did
}

// DIDDocument returns the did:web document of the deployment: the issuer's
// Ed25519 keys, current and retired, as Multikey assertion methods. It is
// served at /.well-known/did.json.
func (s *Service) DIDDocument(ctx context.Context, issuerID string) (map[string]any, error) {
	keys, err := s.IssuerKeys(ctx, issuerID)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: issuer %s", ErrNotFound, issuerID)
	}
	did := s.DID()
	var methods, assertions []any
	for _, k := range keys {
		mk := proof.EncodeMultikey(k)
		methods = append(methods, map[string]any{"id": did + "#" + mk, "type": "Multikey", "controller": did, "publicKeyMultibase": mk})
		assertions = append(assertions, did+"#"+mk)
	}
	return map[string]any{
		"@context":           []any{proof.ContextDIDV1, proof.ContextMultikeyV1},
		"id":                 did,
		"alsoKnownAs":        []any{s.IssuerURL(issuerID)},
		"verificationMethod": methods,
		"assertionMethod":    assertions,
	}, nil
}

// Design returns the badge image design of an achievement.
func (s *Service) Design(ctx context.Context, a Achievement) baked.Design {
	level := a.Level
	if level == "" {
		level = a.AchievementType
	}
	return baked.Design{Title: a.Name, Level: level, Issuer: a.Creator.Name, Color: a.Color}
}

// Image formats of a baked credential.
const (
	PNG = "png"
	SVG = "svg"
)

// Baked returns c baked into its achievement's badge image (PNG or SVG),
// carrying the credential as JSON (Data Integrity proof) or, when alg is
// EdDSA or RS256, as a VC-JWT.
func (s *Service) Baked(ctx context.Context, c Credential, image, alg string) ([]byte, error) {
	payload := []byte(c.Document)
	if alg != "" {
		jwt, err := s.JWT(ctx, c, alg)
		if err != nil {
			return nil, err
		}
		payload = []byte(jwt)
	}
	a, err := s.Achievement(ctx, c.AchievementID)
	if err != nil {
		return nil, err
	}
	d := s.Design(ctx, a)
	switch image {
	case PNG:
		img, err := baked.RenderPNG(d, 512)
		if err != nil {
			return nil, err
		}
		return baked.BakePNG(img, payload)
	case SVG:
		img, err := baked.RenderSVG(d)
		if err != nil {
			return nil, err
		}
		return baked.BakeSVG(img, payload)
	}
	return nil, fmt.Errorf("credential: unknown image format %q", image)
}
