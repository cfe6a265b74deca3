package credential

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/vcjwt"
)

// Verify checks a stored credential the way any verifier would, resolving
// keys and status lists from this service's own database.
func (s *Service) Verify(ctx context.Context, c Credential) Verification {
	return VerifyBytes(ctx, c.Document, s.Resolver(), s.now())
}

// VerifyInput checks an uploaded credential (JSON, VC-JWT or a baked image).
// Only this issuer's keys and status lists are resolved: the server never
// fetches URLs named by an upload.
func (s *Service) VerifyInput(ctx context.Context, input []byte) Verification {
	return VerifyBytes(ctx, input, s.Resolver(), s.now())
}

// Resolver returns a Resolver over this service's own keys and status
// lists; it refuses anything else.
func (s *Service) Resolver() Resolver { return localResolver{s} }

type localResolver struct{ s *Service }

// PublicKey resolves "<issuer URL>#<multikey>" (Data Integrity) and
// "<issuer URL>/keys/<key id>" (VC-JWT kid).
func (r localResolver) PublicKey(ctx context.Context, id string) (crypto.PublicKey, error) {
	rest, ok := strings.CutPrefix(id, r.s.baseURL+"/issuers/")
	if !ok {
		return nil, fmt.Errorf("%s is not a key of this issuer", id)
	}
	issuer, keyID, ok := strings.Cut(rest, "#")
	if !ok {
		issuer, keyID, ok = strings.Cut(rest, "/keys/")
	}
	if !ok {
		return nil, fmt.Errorf("%s names no key", id)
	}
	var k keyRow
	if err := r.s.db.WithContext(ctx).First(&k, "id = ? AND issuer_id = ?", keyID, issuer).Error; err != nil {
		return nil, fmt.Errorf("unknown key %s", id)
	}
	return k.publicKey()
}

func (k keyRow) publicKey() (crypto.PublicKey, error) {
	if k.Algorithm == "RSA" {
		_, pub, err := vcjwt.ParseJWK([]byte(k.PublicKeyJWK))
		return pub, err
	}
	return proof.DecodeMultikey(k.PublicKeyMultibase)
}

func (r localResolver) StatusList(ctx context.Context, u string) (map[string]any, error) {
	listID, purpose, ok := r.s.parseStatusListURL(u)
	if !ok {
		return nil, fmt.Errorf("%s is not a status list of this issuer", u)
	}
	return r.s.StatusListCredential(ctx, listID, purpose)
}

// HTTPResolver resolves keys and status lists over the web, the way a
// verifier anywhere does: controller documents (or did:web documents) for
// Data Integrity verification methods, bare JWKs for VC-JWT kids, and
// status list credentials. Responses are bounded and time-limited.
type HTTPResolver struct {
	Client *http.Client
	// AllowHTTP permits plain-http URLs on any host; without it only
	// https, and http to loopback addresses (a local deployment), are used.
	AllowHTTP bool
}

const maxFetchBytes = 4 << 20

func (h HTTPResolver) get(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%q is not a URL", rawURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (h.AllowHTTP || loopback(u.Hostname())):
	default:
		return nil, fmt.Errorf("refusing to fetch %s: only https URLs are trusted", rawURL)
	}
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/ld+json, application/jwk+json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFetchBytes {
		return nil, fmt.Errorf("GET %s: the response is larger than %d MiB", rawURL, maxFetchBytes>>20)
	}
	return b, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// PublicKey implements Resolver.
func (h HTTPResolver) PublicKey(ctx context.Context, id string) (crypto.PublicKey, error) {
	doc, _, hasFragment := strings.Cut(id, "#")
	if strings.HasPrefix(doc, "did:web:") {
		u, err := didWebURL(doc)
		if err != nil {
			return nil, err
		}
		doc = u
	}
	b, err := h.get(ctx, doc)
	if err != nil {
		return nil, err
	}
	if !hasFragment {
		// A VC-JWT kid: the URL serves the bare JWK.
		_, pub, err := vcjwt.ParseJWK(b)
		return pub, err
	}
	var controller struct {
		ID                 string `json:"id"`
		VerificationMethod []struct {
			ID, Type, Controller, PublicKeyMultibase string
		} `json:"verificationMethod"`
		AssertionMethod []any `json:"assertionMethod"`
	}
	if err := json.Unmarshal(b, &controller); err != nil {
		return nil, fmt.Errorf("the controller document %s is not JSON: %w", doc, err)
	}
	for _, vm := range controller.VerificationMethod {
		full := vm.ID
		if strings.HasPrefix(full, "#") {
			full = controller.ID + full
		}
		if full != id || !assertion(controller.AssertionMethod, id, controller.ID) {
			continue
		}
		if vm.Type != "Multikey" {
			return nil, fmt.Errorf("%s is a %s, not a Multikey", id, vm.Type)
		}
		return proof.DecodeMultikey(vm.PublicKeyMultibase)
	}
	return nil, fmt.Errorf("%s is not an assertion method of %s", id, doc)
}

// assertion reports whether the controller lists id for assertions.
func assertion(methods []any, id, controller string) bool {
	for _, m := range methods {
		var ref string
		switch x := m.(type) {
		case string:
			ref = x
		case map[string]any:
			ref, _ = x["id"].(string)
		}
		if ref == id || controller+ref == id {
			return true
		}
	}
	return false
}

// StatusList implements Resolver.
func (h HTTPResolver) StatusList(ctx context.Context, u string) (map[string]any, error) {
	b, err := h.get(ctx, u)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("the status list %s is not JSON: %w", u, err)
	}
	if id, _ := doc["id"].(string); id != u {
		return nil, errors.New("the status list's id is not its URL")
	}
	return doc, nil
}

// didWebURL maps did:web:host[:path…] to its document's URL.
func didWebURL(did string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(did, "did:web:"), ":")
	host, err := url.PathUnescape(parts[0])
	if err != nil || host == "" {
		return "", fmt.Errorf("%s is not a did:web", did)
	}
	if len(parts) == 1 {
		return "https://" + host + "/.well-known/did.json", nil
	}
	return "https://" + host + "/" + strings.Join(parts[1:], "/") + "/did.json", nil
}
