package credential_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// FuzzVerifyInput feeds the public verifier (what anyone can upload on
// the verify page) arbitrary bytes, seeded with one real credential in
// every format a holder can download. It must never panic, must name a
// known state and a format check, and must call nothing valid unless it
// carries the issued claims unchanged: no edit of a signed credential may
// verify with a different subject, score or issuer.
func FuzzVerifyInput(f *testing.F) {
	fx := newFixture(f, dbtest.SQLite(f))
	c := fx.issue(f, "attempt:1", fx.badge, 612)
	issued := doc(f, c)
	for _, b := range downloads(f, fx, c) {
		f.Add(b)
	}
	f.Add([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"]}`))
	f.Add([]byte("eyJhbGciOiJFZERTQSJ9.e30.AAAA"))
	ctx := context.Background()
	states := map[string]bool{credential.StateValid: true, credential.StateExpired: true, credential.StateNotYetValid: true,
		credential.StateSuspended: true, credential.StateRevoked: true, credential.StateInvalid: true}
	f.Fuzz(func(t *testing.T, input []byte) {
		v := fx.svc.VerifyInput(ctx, input)
		if !states[v.State] || v.Valid != (v.State == credential.StateValid) || len(v.Checks) == 0 {
			t.Fatalf("verification of %q: %v", input, v)
		}
		if v.State != credential.StateValid && v.Problem == "" {
			t.Fatalf("%s without a problem named: %v", v.State, v)
		}
		if !v.Valid {
			return
		}
		for _, claim := range []string{"credentialSubject", "issuer", "validFrom", "id"} {
			if !reflect.DeepEqual(v.Credential[claim], issued[claim]) {
				t.Fatalf("verified as valid with %s changed:\n got %v\nwant %v", claim, v.Credential[claim], issued[claim])
			}
		}
	})
}
