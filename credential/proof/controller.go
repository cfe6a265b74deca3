package proof

import (
	"crypto/ed25519"
	"fmt"
)

// ControllerDocument returns the controller document that publishes pub for
// the controller id (an issuer profile URL): contexts DID v1 and Multikey v1,
// one Multikey verification method whose id is id + "#" + EncodeMultikey(pub),
// and an assertionMethod relationship listing it. Served at id, it lets any
// verifier resolve the verificationMethod of a proof made by Sign. It panics if
// pub is not ed25519.PublicKeySize bytes long.
func ControllerDocument(id string, pub ed25519.PublicKey) map[string]any {
	mk := EncodeMultikey(pub)
	vm := VerificationMethodID(id, pub)
	return map[string]any{
		"@context": []any{ContextDIDV1, ContextMultikeyV1},
		"id":       id,
		"verificationMethod": []any{
			map[string]any{
				"id":                 vm,
				"type":               "Multikey",
				"controller":         id,
				"publicKeyMultibase": mk,
			},
		},
		"assertionMethod": []any{vm},
	}
}

// VerificationMethodID returns the URL of pub's verification method in the
// controller document of controller: controller + "#" + EncodeMultikey(pub).
func VerificationMethodID(controller string, pub ed25519.PublicKey) string {
	return controller + "#" + EncodeMultikey(pub)
}

// AssertionKey returns the Ed25519 public key of the verification method
// verificationMethod in the controller document controller (as made by
// ControllerDocument, or decoded from JSON). It returns an error wrapping
// ErrVerificationMethod unless the document's assertionMethod lists the method
// (by reference or embedded), the method is found, is of type Multikey and is
// controlled by the document's id; and one wrapping ErrInvalidMultikey if its
// publicKeyMultibase is not an Ed25519 Multikey.
func AssertionKey(controller map[string]any, verificationMethod string) (ed25519.PublicKey, error) {
	id, _ := controller["id"].(string)
	var method map[string]any
	listed := false
	for _, e := range asList(controller["assertionMethod"]) {
		switch e := e.(type) {
		case string:
			listed = listed || e == verificationMethod
		case map[string]any:
			if e["id"] == verificationMethod {
				listed, method = true, e
			}
		}
	}
	if !listed {
		return nil, fmt.Errorf("%w: %q is not an assertionMethod of %q", ErrVerificationMethod, verificationMethod, id)
	}
	if method == nil {
		for _, e := range asList(controller["verificationMethod"]) {
			if m, ok := e.(map[string]any); ok && m["id"] == verificationMethod {
				method = m
				break
			}
		}
	}
	if method == nil {
		return nil, fmt.Errorf("%w: %q is not in the controller document %q", ErrVerificationMethod, verificationMethod, id)
	}
	if method["type"] != "Multikey" {
		return nil, fmt.Errorf("%w: %q is of type %v, want Multikey", ErrVerificationMethod, verificationMethod, method["type"])
	}
	if c, _ := method["controller"].(string); id == "" || c != id {
		return nil, fmt.Errorf("%w: %q is controlled by %v, not by the document %q", ErrVerificationMethod, verificationMethod, method["controller"], id)
	}
	mk, _ := method["publicKeyMultibase"].(string)
	return DecodeMultikey(mk)
}
