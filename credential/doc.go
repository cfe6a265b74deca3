// Package credential issues and verifies Touchstone's credentials: Open Badges
// 3.0 achievement credentials (W3C Verifiable Credentials, data model 2.0)
// that carry the evidence of the standard behind a pass, signed with Data
// Integrity proofs (package credential/proof).
//
// NewAchievementCredential builds the unsigned JSON-LD document from an Award;
// proof.Sign secures it. The package knows nothing of exams: callers translate
// an attempt and its approved standard into an Award.
package credential
