package credential

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/schema"
)

// Profile is an Open Badges Profile: an issuer or an achievement's creator.
// ID is the profile's URL; for an issuer it is also the controller of the
// signing key (the controller document is served there). Empty optional
// fields are omitted.
type Profile struct{ ID, Name, URL, Email, Description string }

// Alignment ties an achievement to a node of an external framework (a
// competency, a standard). TargetName and TargetURL are required by Open
// Badges; the others are omitted when empty.
type Alignment struct{ TargetName, TargetURL, TargetDescription, TargetFramework, TargetCode string }

// Achievement is what the credential attests: a badge for one exam or a
// certificate that stacks badges.
type Achievement struct {
	ID, Name, Description, Criteria string // Criteria is a narrative (Markdown)
	CriteriaURL                     string // optional: the criteria page
	AchievementType                 string // "Badge" or "Certificate"
	ImageURL                        string // optional
	Level, Color                    string // the badge image's design; not part of the credential
	Alignments                      []Alignment
	Creator                         Profile // omitted when Creator.ID is empty
}

// Standard is the validated standard behind a pass: the evidence a verifier or
// a court can read. Cut, CutSE and CSEMAtCut are on the reporting scale
// (ScaleName from ScaleMin to ScaleMax); for an exam reported in raw points
// the scale is 0 … the form's maximum and ScaleName is empty.
type Standard struct {
	// ID is the URL of the standard's public description; when it is
	// empty, Issue names the standard's place on the achievement's page.
	ID                     string
	Version                int
	Method                 string // e.g. "modified Angoff"
	Panelists              int
	ScaleName              string
	ScaleMin, ScaleMax     float64
	Cut, CutSE             float64
	Reliability            float64  // of the form at the time of approval
	DecisionConsistency    float64  // agreement p0 at the cut
	ClassificationAccuracy *float64 // when estimated
	CSEMAtCut              *float64 // conditional SEM at the cut, when estimated
	FormID                 string   // the form the holder sat, or the delivery mode for assembled forms
	ApprovedBy             string
	ApprovedAt             time.Time
}

// Award is one credential to issue.
type Award struct {
	ID                            string // the credential's URL
	Name                          string // credential name
	Issuer                        Profile
	Achievement                   Achievement
	RecipientEmail, RecipientSalt string   // identifier: sha256 of email+salt, "sha256$<hex>", identityType emailAddress, hashed true
	Score                         *float64 // on the standard's reporting scale; nil for a pathway certificate
	Standard                      *Standard
	Evidence                      []Evidence // e.g. the badges a certificate stacks
	ValidFrom                     time.Time
	ValidUntil                    time.Time      // zero: no expiry
	Status                        map[string]any // credentialStatus (status.Entry); nil: none
	// Publisher is the base URL of the deployment that publishes the
	// extension's context and schema (/ns/v1/…) named by a credential with
	// a Standard.
	Publisher string
}

// Evidence is one credential-level Open Badges Evidence entry. Empty fields
// are omitted; ID, when set, must be a URL.
type Evidence struct{ ID, Name, Description, Narrative string }

// NewAchievementCredential returns the unsigned Open Badges 3.0
// OpenBadgeCredential for a, ready for proof.Sign or vcjwt.Sign: a JSON tree
// of map[string]any, []any, string, int and bool values whose every term is
// defined by its contexts (VC 2.0, OB 3.0.3, the OB extensions and, with a
// standard, Touchstone's v1 extension), so that it canonicalizes in JSON-LD
// safe mode.
//
// The recipient is identified only by "sha256$" + hex(SHA-256(RecipientEmail +
// RecipientSalt)) (identityType emailAddress, hashed); the email is used as
// given, so callers normalize it (e.g. lower-case it) before. validFrom and
// validUntil are in UTC to the second. When a.Standard is set:
//   - the achievement carries a ResultDescription (id Achievement.ID +
//     "#score"; RawScore, or ScaledScore on a named scale) with the cut as
//     requiredValue and the scale's range;
//   - credentialSubject.passingStandard (Touchstone extension) holds the
//     standard's figures, and credentialSchema names the extension's schema;
//   - the first evidence entry describes the standard in plain words.
//
// When a.Score is set, credentialSubject.result holds it. Numbers are rounded
// to 2 decimals and written without trailing zeros. a.Evidence follows the
// standard's entry; a.Status becomes credentialStatus (one object, as
// the Open Badges 3.0 schema requires).
//
// NewAchievementCredential validates nothing: required fields left empty
// produce a document that the OB 3.0 JSON Schema or canonicalization rejects.
func NewAchievementCredential(a Award) map[string]any {
	ach := a.Achievement
	achievement := map[string]any{
		"id":          ach.ID,
		"type":        []any{"Achievement"},
		"name":        ach.Name,
		"description": ach.Description,
		"criteria":    map[string]any{"narrative": ach.Criteria},
	}
	if ach.CriteriaURL != "" {
		achievement["criteria"].(map[string]any)["id"] = ach.CriteriaURL
	}
	setIf(achievement, "achievementType", ach.AchievementType)
	if ach.ImageURL != "" {
		achievement["image"] = map[string]any{"id": ach.ImageURL, "type": "Image"}
	}
	if len(ach.Alignments) > 0 {
		al := make([]any, 0, len(ach.Alignments))
		for _, x := range ach.Alignments {
			m := map[string]any{
				"type":       []any{"Alignment"},
				"targetName": x.TargetName,
				"targetUrl":  x.TargetURL,
			}
			setIf(m, "targetDescription", x.TargetDescription)
			setIf(m, "targetFramework", x.TargetFramework)
			setIf(m, "targetCode", x.TargetCode)
			al = append(al, m)
		}
		achievement["alignment"] = al
	}
	if ach.Creator.ID != "" {
		achievement["creator"] = profile(ach.Creator)
	}

	identity := map[string]any{
		"type":         "IdentityObject",
		"identityHash": IdentityHash(a.RecipientEmail, a.RecipientSalt),
		"identityType": "emailAddress",
		"hashed":       true,
	}
	setIf(identity, "salt", a.RecipientSalt)
	subject := map[string]any{
		"type":        []any{"AchievementSubject"},
		"identifier":  []any{identity},
		"achievement": achievement,
	}

	scoreID := ach.ID + "#score"
	var evidence []any
	if st := a.Standard; st != nil {
		rd := map[string]any{
			"id":            scoreID,
			"type":          []any{"ResultDescription"},
			"name":          "Score",
			"resultType":    "RawScore",
			"requiredValue": formatNumber(st.Cut),
			"valueMin":      formatNumber(st.ScaleMin),
			"valueMax":      formatNumber(st.ScaleMax),
		}
		if st.ScaleName != "" {
			rd["name"] = st.ScaleName
			rd["resultType"] = "ScaledScore"
		}
		achievement["resultDescription"] = []any{rd}
		subject["passingStandard"] = passingStandard(st)
		evidence = append(evidence, map[string]any{
			"id":          st.ID,
			"type":        []any{"Evidence"},
			"name":        fmt.Sprintf("Passing standard, version %d", st.Version),
			"description": "The validated standard that this result was compared with.",
			"narrative":   StandardSummary(st),
		})
	}
	if a.Score != nil {
		result := map[string]any{
			"type":  []any{"Result"},
			"value": formatNumber(*a.Score),
		}
		if a.Standard != nil {
			result["resultDescription"] = scoreID
		}
		subject["result"] = []any{result}
	}
	for _, e := range a.Evidence {
		m := map[string]any{"type": []any{"Evidence"}}
		setIf(m, "id", e.ID)
		setIf(m, "name", e.Name)
		setIf(m, "description", e.Description)
		setIf(m, "narrative", e.Narrative)
		evidence = append(evidence, m)
	}

	contexts := []any{proof.ContextCredentialsV2, proof.ContextOpenBadgesV3, proof.ContextOBExtensions}
	schemas := []any{map[string]any{"id": schema.AchievementCredentialURL, "type": schema.ValidatorType}}
	if a.Standard != nil {
		contexts = append(contexts, proof.TouchstoneContextURL(a.Publisher))
		schemas = append(schemas, map[string]any{"id": strings.TrimRight(a.Publisher, "/") + schema.TouchstoneV1Path, "type": schema.ValidatorType})
	}
	doc := map[string]any{
		"@context":          contexts,
		"id":                a.ID,
		"type":              []any{"VerifiableCredential", "OpenBadgeCredential"},
		"issuer":            profile(a.Issuer),
		"validFrom":         a.ValidFrom.UTC().Truncate(time.Second).Format(time.RFC3339),
		"name":              a.Name,
		"credentialSubject": subject,
		"credentialSchema":  schemas,
	}
	if !a.ValidUntil.IsZero() {
		doc["validUntil"] = a.ValidUntil.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	if len(evidence) > 0 {
		doc["evidence"] = evidence
	}
	if a.Status != nil {
		doc["credentialStatus"] = a.Status
	}
	return doc
}

// passingStandard is the Touchstone v1 extension object for st.
func passingStandard(st *Standard) map[string]any {
	m := map[string]any{
		"id":                  st.ID,
		"type":                []any{"PassingStandard"},
		"standardVersion":     st.Version,
		"scaleMin":            formatNumber(st.ScaleMin),
		"scaleMax":            formatNumber(st.ScaleMax),
		"cutScore":            formatNumber(st.Cut),
		"cutStandardError":    formatNumber(st.CutSE),
		"reliability":         formatNumber(st.Reliability),
		"decisionConsistency": formatNumber(st.DecisionConsistency),
		"approvedDate":        st.ApprovedAt.UTC().Truncate(time.Second).Format(time.RFC3339),
	}
	setIf(m, "method", st.Method)
	if st.Panelists > 0 {
		m["panelists"] = st.Panelists
	}
	setIf(m, "scoreScale", st.ScaleName)
	if st.ClassificationAccuracy != nil {
		m["classificationAccuracy"] = formatNumber(*st.ClassificationAccuracy)
	}
	if st.CSEMAtCut != nil {
		m["csemAtCut"] = formatNumber(*st.CSEMAtCut)
	}
	setIf(m, "formId", st.FormID)
	setIf(m, "approvedBy", st.ApprovedBy)
	return m
}

// IdentityHash returns the Open Badges hashed identity of email with salt:
// "sha256$" followed by the lower-case hex SHA-256 of email + salt.
func IdentityHash(email, salt string) string {
	h := sha256.Sum256([]byte(email + salt))
	return "sha256$" + hex.EncodeToString(h[:])
}

// profile returns p as an Open Badges Profile object.
func profile(p Profile) map[string]any {
	m := map[string]any{
		"id":   p.ID,
		"type": []any{"Profile"},
	}
	setIf(m, "name", p.Name)
	setIf(m, "url", p.URL)
	setIf(m, "email", p.Email)
	setIf(m, "description", p.Description)
	return m
}

// StandardSummary describes s in plain words for a reader of the credential
// or its public page: "The pass mark is 18 of 0–24 points, set by a modified
// Angoff study with 8 panelists; the standard error of the cut is 1.1 points.
// …".
func StandardSummary(s *Standard) string {
	unit := "points"
	if s.ScaleName != "" {
		unit = "on the " + s.ScaleName + " scale"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The pass mark is %s (scores run from %s to %s %s)", formatNumber(s.Cut), formatNumber(s.ScaleMin), formatNumber(s.ScaleMax), unit)
	if s.Method != "" {
		fmt.Fprintf(&b, ", set by a %s standard-setting study", s.Method)
		if s.Panelists > 0 {
			fmt.Fprintf(&b, " with %d panelists", s.Panelists)
		}
	}
	fmt.Fprintf(&b, "; the standard error of the cut is %s %s. ", formatNumber(s.CutSE), pointUnit(s))
	fmt.Fprintf(&b, "The exam's reliability is %s and the pass/fail decision consistency is %s",
		formatNumber(s.Reliability), formatNumber(s.DecisionConsistency))
	if s.ClassificationAccuracy != nil {
		fmt.Fprintf(&b, "; classification accuracy is %s", formatNumber(*s.ClassificationAccuracy))
	}
	if s.CSEMAtCut != nil {
		fmt.Fprintf(&b, "; the measurement error at the cut is %s %s", formatNumber(*s.CSEMAtCut), pointUnit(s))
	}
	b.WriteString(".")
	switch {
	case s.ApprovedBy != "" && !s.ApprovedAt.IsZero():
		fmt.Fprintf(&b, " Version %d of this standard was approved on %s by %s.", s.Version, s.ApprovedAt.UTC().Format(time.DateOnly), s.ApprovedBy)
	case !s.ApprovedAt.IsZero():
		fmt.Fprintf(&b, " Version %d of this standard was approved on %s.", s.Version, s.ApprovedAt.UTC().Format(time.DateOnly))
	}
	return b.String()
}

// pointUnit names the unit of s's scores.
func pointUnit(s *Standard) string {
	if s.ScaleName != "" {
		return "scale points"
	}
	return "points"
}

// formatNumber returns x rounded to 2 decimals (half away from zero) without
// trailing zeros: 16.400000000000002 → "16.4", 32 → "32", -0.001 → "0".
func formatNumber(x float64) string {
	r := math.Round(x*100) / 100
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// setIf sets m[k] = v when v is not empty.
func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
