package credential

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Errors a caller branches on.
var (
	ErrNotFound = errors.New("credential: not found")
	ErrRevoked  = errors.New("credential: revoked")
	ErrNoIssuer = errors.New("credential: no issuer configured")
)

// Credential is an issued credential as stored.
type Credential struct {
	ID               string
	URL              string
	AchievementID    string
	RecipientID      string
	Document         json.RawMessage // the signed Open Badges 3.0 credential (Data Integrity proof)
	IssuedAt         time.Time
	ValidUntil       *time.Time // nil: no expiry
	RevokedAt        *time.Time
	RevocationReason string
	SuspendedAt      *time.Time
	SuspensionReason string
	Supersedes       string // the earlier credential this one renews or replaces
	Public           bool   // the recipient shows it on its public page
}

// State is a credential's standing at an instant, as a verifier would
// judge it: "revoked", "suspended", "expired" or "active".
func (c Credential) State(at time.Time) string {
	switch {
	case c.RevokedAt != nil:
		return "revoked"
	case c.SuspendedAt != nil:
		return "suspended"
	case c.ValidUntil != nil && !at.Before(*c.ValidUntil):
		return "expired"
	}
	return "active"
}

type issuerRow struct {
	ID          string    `gorm:"column:id;primaryKey"`
	Name        string    `gorm:"column:name"`
	URL         string    `gorm:"column:url"`
	Email       string    `gorm:"column:email"`
	Description string    `gorm:"column:description"`
	CreatedAt   time.Time `gorm:"column:created_at"`
}

func (issuerRow) TableName() string { return "issuers" }

// keyRow is one public key of the issuer. Ed25519 keys are identified by
// their Multikey (and sign Data Integrity proofs and EdDSA JWTs), RSA keys by
// their JWK thumbprint (RS256 JWTs). Keys are never deleted: a retired key
// still verifies what it signed.
type keyRow struct {
	ID                 string     `gorm:"column:id;primaryKey"`
	IssuerID           string     `gorm:"column:issuer_id"`
	Algorithm          string     `gorm:"column:algorithm"` // "Ed25519" or "RSA"
	PublicKeyMultibase string     `gorm:"column:public_key_multibase"`
	PublicKeyJWK       string     `gorm:"column:public_key_jwk"`
	CreatedAt          time.Time  `gorm:"column:created_at"`
	RetiredAt          *time.Time `gorm:"column:retired_at"`
}

func (keyRow) TableName() string { return "issuer_keys" }

type achievementRow struct {
	ID              string     `gorm:"column:id;primaryKey"`
	IssuerID        string     `gorm:"column:issuer_id"`
	Slug            string     `gorm:"column:slug"`
	Name            string     `gorm:"column:name"`
	Description     string     `gorm:"column:description"`
	Criteria        string     `gorm:"column:criteria"`
	AchievementType string     `gorm:"column:achievement_type"`
	Alignments      string     `gorm:"column:alignments"`
	Level           string     `gorm:"column:level"`
	Color           string     `gorm:"column:color"`
	ValidityDays    int        `gorm:"column:validity_days"`
	CreatedAt       time.Time  `gorm:"column:created_at"`
	UpdatedAt       *time.Time `gorm:"column:updated_at"`
}

func (achievementRow) TableName() string { return "achievements" }

type pathwayRow struct {
	ID            string    `gorm:"column:id;primaryKey"`
	AchievementID string    `gorm:"column:achievement_id"`
	Rule          string    `gorm:"column:rule"` // PathwayRule JSON; empty: all of the requirements
	CreatedAt     time.Time `gorm:"column:created_at"`
}

func (pathwayRow) TableName() string { return "pathways" }

type requirementRow struct {
	PathwayID     string `gorm:"column:pathway_id;primaryKey"`
	AchievementID string `gorm:"column:achievement_id;primaryKey"`
}

func (requirementRow) TableName() string { return "pathway_requirements" }

type credentialRow struct {
	ID               string     `gorm:"column:id;primaryKey"`
	IssuanceKey      string     `gorm:"column:issuance_key"`
	AchievementID    string     `gorm:"column:achievement_id"`
	RecipientID      string     `gorm:"column:recipient_id"`
	Document         string     `gorm:"column:document"`
	IssuedAt         time.Time  `gorm:"column:issued_at"`
	RevokedAt        *time.Time `gorm:"column:revoked_at"`
	RevocationReason string     `gorm:"column:revocation_reason"`
	Request          string     `gorm:"column:request"` // the IssueRequest, for re-issue
	KeyID            string     `gorm:"column:key_id"`  // the key that signed Document
	ValidUntil       *time.Time `gorm:"column:valid_until"`
	StatusListID     *string    `gorm:"column:status_list_id"`
	StatusIndex      *int       `gorm:"column:status_index"`
	SuspendedAt      *time.Time `gorm:"column:suspended_at"`
	SuspensionReason string     `gorm:"column:suspension_reason"`
	Supersedes       *string    `gorm:"column:supersedes"`
	Public           bool       `gorm:"column:public"`
}

func (credentialRow) TableName() string { return "credentials" }

// Models lists the GORM models of this package, for schema checks.
func Models() []any {
	return []any{issuerRow{}, keyRow{}, achievementRow{}, pathwayRow{}, requirementRow{}, credentialRow{}, statusListRow{}}
}

// Service issues, stores, revokes and verifies credentials for one issuer.
// Every URL it writes into a credential starts with baseURL.
type Service struct {
	db      *gorm.DB
	now     func() time.Time
	baseURL string
	key     ed25519.PrivateKey
	rsaKey  *rsa.PrivateKey // RS256 VC-JWTs; nil: EdDSA only
	issued  func()          // called after each credential stored; never nil

	signedLists sync.Map // status list content hash → signed list credential (JSON)
	listUse     listUse
}

// Option configures a Service.
type Option func(*Service)

// WithRSAKey lets the service sign RS256 VC-JWTs with key, for verifiers
// that do not support EdDSA.
func WithRSAKey(key *rsa.PrivateKey) Option { return func(s *Service) { s.rsaKey = key } }

// WithIssued has the service call f after it stores each new credential
// (a badge, a pathway's certificate, a re-issue), for instance to count
// them. A request answered with the credential already issued for its key
// does not call f.
func WithIssued(f func()) Option { return func(s *Service) { s.issued = f } }

// NewService returns a Service that signs with key: Data Integrity proofs,
// EdDSA VC-JWTs and status lists.
func NewService(db *gorm.DB, now func() time.Time, baseURL string, key ed25519.PrivateKey, opts ...Option) *Service {
	s := &Service{db: db, now: now, baseURL: strings.TrimRight(baseURL, "/"), key: key, issued: func() {}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// IssuerURL is the URL of the issuer profile, which is also the controller
// document of its keys.
func (s *Service) IssuerURL(issuerID string) string { return s.baseURL + "/issuers/" + issuerID }

// AchievementURL is the public URL of an achievement.
func (s *Service) AchievementURL(slug string) string { return s.baseURL + "/achievements/" + slug }

// CredentialURL is the public URL of a credential, also its id.
func (s *Service) CredentialURL(id string) string { return s.baseURL + "/credentials/" + id }

// IssuerInput describes the issuer to create.
type IssuerInput struct{ Name, URL, Email, Description string }

// EnsureIssuer returns the id of the (single) issuer, creating it from in
// when there is none, and registers the current signing key.
func (s *Service) EnsureIssuer(ctx context.Context, in IssuerInput) (string, error) {
	var row issuerRow
	err := s.db.WithContext(ctx).Order("created_at").First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		row = issuerRow{ID: uuid.NewString(), Name: in.Name, URL: in.URL, Email: in.Email, Description: in.Description, CreatedAt: s.now().UTC()}
		err = s.db.WithContext(ctx).Create(&row).Error
	}
	if err != nil {
		return "", fmt.Errorf("credential: issuer: %w", err)
	}
	if err := s.registerKeys(ctx, row.ID); err != nil {
		return "", err
	}
	return row.ID, nil
}

// registerKeys records the service's current public keys and retires the
// issuer's other keys of the same algorithm: after a rotation they verify
// what they signed but sign nothing new.
func (s *Service) registerKeys(ctx context.Context, issuerID string) error {
	now := s.now().UTC()
	current := []keyRow{{ID: s.keyID(), IssuerID: issuerID, Algorithm: "Ed25519",
		PublicKeyMultibase: s.keyID(), CreatedAt: now}}
	if s.rsaKey != nil {
		kid, jwk, err := rsaJWK(&s.rsaKey.PublicKey)
		if err != nil {
			return err
		}
		current = append(current, keyRow{ID: kid, IssuerID: issuerID, Algorithm: "RSA", PublicKeyJWK: jwk, CreatedAt: now})
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, k := range current {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&k).Error; err != nil {
				return fmt.Errorf("credential: register key: %w", err)
			}
			if err := tx.Model(&keyRow{}).Where("issuer_id = ? AND algorithm = ? AND id <> ? AND retired_at IS NULL", issuerID, k.Algorithm, k.ID).
				Update("retired_at", now).Error; err != nil {
				return fmt.Errorf("credential: retire keys: %w", err)
			}
			if err := tx.Model(&keyRow{}).Where("id = ?", k.ID).Update("retired_at", nil).Error; err != nil {
				return fmt.Errorf("credential: reactivate key: %w", err)
			}
		}
		return nil
	})
}

// keyID is the id of the current Ed25519 key: its Multikey.
func (s *Service) keyID() string { return proof.EncodeMultikey(s.key.Public().(ed25519.PublicKey)) }

// Issuer returns the issuer's profile.
func (s *Service) Issuer(ctx context.Context, id string) (Profile, error) {
	var row issuerRow
	err := s.db.WithContext(ctx).First(&row, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Profile{}, fmt.Errorf("%w: issuer %s", ErrNotFound, id)
	}
	if err != nil {
		return Profile{}, fmt.Errorf("credential: issuer: %w", err)
	}
	return Profile{ID: s.IssuerURL(row.ID), Name: row.Name, URL: row.URL, Email: row.Email, Description: row.Description}, nil
}

// IssuerKeys returns every public key the issuer has signed with, newest
// first, for its controller document.
func (s *Service) IssuerKeys(ctx context.Context, issuerID string) ([]ed25519.PublicKey, error) {
	var rows []keyRow
	if err := s.db.WithContext(ctx).Where("issuer_id = ? AND algorithm = ?", issuerID, "Ed25519").Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("credential: keys: %w", err)
	}
	out := make([]ed25519.PublicKey, 0, len(rows))
	for _, r := range rows {
		k, err := proof.DecodeMultikey(r.PublicKeyMultibase)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// ControllerDocument returns the issuer's controller document listing all
// of its keys as assertion methods.
func (s *Service) ControllerDocument(ctx context.Context, issuerID string) (map[string]any, error) {
	keys, err := s.IssuerKeys(ctx, issuerID)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: issuer %s", ErrNotFound, issuerID)
	}
	doc := proof.ControllerDocument(s.IssuerURL(issuerID), keys[0])
	for _, k := range keys[1:] {
		other := proof.ControllerDocument(s.IssuerURL(issuerID), k)
		doc["verificationMethod"] = append(doc["verificationMethod"].([]any), other["verificationMethod"].([]any)...)
		doc["assertionMethod"] = append(doc["assertionMethod"].([]any), other["assertionMethod"].([]any)...)
	}
	return doc, nil
}

// AchievementInput defines an achievement (a badge or certificate).
type AchievementInput struct {
	Slug, Name, Description, Criteria string
	AchievementType                   string // "Badge" or "Certificate"
	Alignments                        []Alignment
	Level                             string // shown on the badge image, e.g. "Foundation"
	Color                             string // "#rrggbb" accent of the badge image; empty: the default
	ValidityDays                      int    // credentials expire this many days after issue; 0: never
}

func (in AchievementInput) validate() error {
	switch {
	case strings.TrimSpace(in.Slug) == "" || strings.Trim(in.Slug, "abcdefghijklmnopqrstuvwxyz0123456789-") != "":
		return valid.Errorf("slug", "use lower-case letters, digits and hyphens")
	case len(in.Slug) > 100:
		return valid.Errorf("slug", "is longer than 100 characters")
	case strings.TrimSpace(in.Name) == "":
		return valid.Errorf("name", "is required")
	case len([]rune(in.Name)) > 200:
		return valid.Errorf("name", "is longer than 200 characters")
	case len(in.Description) > 5000:
		return valid.Errorf("description", "is longer than 5,000 characters")
	case len(in.Criteria) > 20000:
		return valid.Errorf("criteria", "is longer than 20,000 characters")
	case len([]rune(in.Level)) > 60:
		return valid.Errorf("level", "is longer than 60 characters")
	case strings.TrimSpace(in.Description) == "":
		return valid.Errorf("description", "is required")
	case strings.TrimSpace(in.Criteria) == "":
		return valid.Errorf("criteria", "is required")
	case in.AchievementType != "Badge" && in.AchievementType != "Certificate" && in.AchievementType != "Certification" && in.AchievementType != "MicroCredential":
		return valid.Errorf("achievement_type", "must be Badge, Certificate, Certification or MicroCredential")
	case in.Color != "" && !hexColor(in.Color):
		return valid.Errorf("color", "must be #rrggbb")
	case in.ValidityDays < 0 || in.ValidityDays > 36500:
		return valid.Errorf("validity_days", "must be between 0 (no expiry) and 36500")
	}
	for i, a := range in.Alignments {
		if strings.TrimSpace(a.TargetName) == "" {
			return valid.Errorf(fmt.Sprintf("alignments[%d].target_name", i), "is required")
		}
		if u, err := url.Parse(a.TargetURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return valid.Errorf(fmt.Sprintf("alignments[%d].target_url", i), "must be an http(s) URL")
		}
	}
	return nil
}

func hexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	_, err := hex.DecodeString(s[1:])
	return err == nil
}

// CreateAchievement adds an achievement of the issuer and returns its id.
func (s *Service) CreateAchievement(ctx context.Context, issuerID string, in AchievementInput) (string, error) {
	return s.CreateAchievementAs(ctx, "system", issuerID, in)
}

// CreateAchievementAs adds an achievement of the issuer on behalf of actor,
// audited, and returns its id.
func (s *Service) CreateAchievementAs(ctx context.Context, actor, issuerID string, in AchievementInput) (string, error) {
	if err := in.validate(); err != nil {
		return "", err
	}
	if in.Alignments == nil {
		in.Alignments = []Alignment{}
	}
	al, err := json.Marshal(in.Alignments)
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	row := achievementRow{ID: uuid.NewString(), IssuerID: issuerID, Slug: in.Slug, Name: in.Name, Description: in.Description,
		Criteria: in.Criteria, AchievementType: in.AchievementType, Alignments: string(al), Level: in.Level, Color: in.Color,
		ValidityDays: in.ValidityDays, CreatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&achievementRow{}).Where("slug = ?", in.Slug).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return valid.Errorf("slug", "is taken by another achievement")
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("credential: create achievement: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "achievement.create", Subject: "achievement:" + row.ID, After: in, At: now})
	})
	if err != nil {
		return "", err
	}
	return row.ID, nil
}

// UpdateAchievement changes an achievement's definition (its slug stays:
// it is the achievement's public URL). Credentials already issued keep the
// definition they were issued with; the change is audited.
func (s *Service) UpdateAchievement(ctx context.Context, actor, id string, in AchievementInput) error {
	var row achievementRow
	if err := s.db.WithContext(ctx).First(&row, "id = ?", id).Error; err != nil {
		return fmt.Errorf("%w: achievement %s", ErrNotFound, id)
	}
	in.Slug = row.Slug
	if err := in.validate(); err != nil {
		return err
	}
	if in.Alignments == nil {
		in.Alignments = []Alignment{}
	}
	al, err := json.Marshal(in.Alignments)
	if err != nil {
		return err
	}
	before, _ := s.achievementInput(row)
	now := s.now().UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&achievementRow{}).Where("id = ?", id).Updates(map[string]any{
			"name": in.Name, "description": in.Description, "criteria": in.Criteria, "achievement_type": in.AchievementType,
			"alignments": string(al), "level": in.Level, "color": in.Color, "validity_days": in.ValidityDays, "updated_at": now}).Error
		if err != nil {
			return fmt.Errorf("credential: update achievement: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "achievement.update", Subject: "achievement:" + id, Before: before, After: in, At: now})
	})
}

func (s *Service) achievementInput(row achievementRow) (AchievementInput, error) {
	in := AchievementInput{Slug: row.Slug, Name: row.Name, Description: row.Description, Criteria: row.Criteria,
		AchievementType: row.AchievementType, Level: row.Level, Color: row.Color, ValidityDays: row.ValidityDays}
	err := json.Unmarshal([]byte(row.Alignments), &in.Alignments)
	return in, err
}

// AchievementRecord is an achievement as program managers manage it.
type AchievementRecord struct {
	ID string // database id
	AchievementInput
	URL       string
	CreatedAt time.Time
}

// Achievements lists the issuer's achievements by name.
func (s *Service) Achievements(ctx context.Context) ([]AchievementRecord, error) {
	var rows []achievementRow
	if err := s.db.WithContext(ctx).Order("name, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("credential: achievements: %w", err)
	}
	out := make([]AchievementRecord, 0, len(rows))
	for _, r := range rows {
		in, err := s.achievementInput(r)
		if err != nil {
			return nil, err
		}
		out = append(out, AchievementRecord{ID: r.ID, AchievementInput: in, URL: s.AchievementURL(r.Slug), CreatedAt: r.CreatedAt})
	}
	return out, nil
}

// AchievementRecordByID returns one achievement as program managers manage it.
func (s *Service) AchievementRecordByID(ctx context.Context, id string) (AchievementRecord, error) {
	var r achievementRow
	if uuid.Validate(id) != nil {
		return AchievementRecord{}, fmt.Errorf("%w: achievement %s", ErrNotFound, id)
	}
	if err := s.db.WithContext(ctx).First(&r, "id = ?", id).Error; err != nil {
		return AchievementRecord{}, fmt.Errorf("%w: achievement %s", ErrNotFound, id)
	}
	in, err := s.achievementInput(r)
	if err != nil {
		return AchievementRecord{}, err
	}
	return AchievementRecord{ID: r.ID, AchievementInput: in, URL: s.AchievementURL(r.Slug), CreatedAt: r.CreatedAt}, nil
}

// Achievement returns an achievement by id, as it appears in a credential.
func (s *Service) Achievement(ctx context.Context, id string) (Achievement, error) {
	var row achievementRow
	err := s.db.WithContext(ctx).First(&row, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Achievement{}, fmt.Errorf("%w: achievement %s", ErrNotFound, id)
	}
	if err != nil {
		return Achievement{}, fmt.Errorf("credential: achievement: %w", err)
	}
	return s.achievement(ctx, row)
}

// AchievementBySlug returns an achievement by the slug of its public URL
// (AchievementURL), as it appears in a credential; ErrNotFound when no
// achievement has that slug.
func (s *Service) AchievementBySlug(ctx context.Context, slug string) (Achievement, error) {
	var row achievementRow
	err := s.db.WithContext(ctx).First(&row, "slug = ?", slug).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Achievement{}, fmt.Errorf("%w: achievement %s", ErrNotFound, slug)
	}
	if err != nil {
		return Achievement{}, fmt.Errorf("credential: achievement: %w", err)
	}
	return s.achievement(ctx, row)
}

func (s *Service) achievement(ctx context.Context, row achievementRow) (Achievement, error) {
	issuer, err := s.Issuer(ctx, row.IssuerID)
	if err != nil {
		return Achievement{}, err
	}
	a := Achievement{ID: s.AchievementURL(row.Slug), Name: row.Name, Description: row.Description, Criteria: row.Criteria,
		CriteriaURL: s.AchievementURL(row.Slug) + "#criteria", AchievementType: row.AchievementType, Creator: issuer,
		ImageURL: s.AchievementURL(row.Slug) + "/badge.png", Level: row.Level, Color: row.Color}
	if err := json.Unmarshal([]byte(row.Alignments), &a.Alignments); err != nil {
		return Achievement{}, fmt.Errorf("credential: alignments of %s: %w", row.Slug, err)
	}
	return a, nil
}

// IssueRequest asks for one credential. Key makes issuance idempotent:
// however often a request with the same Key is made, concurrently or after
// a crash, one credential exists for it.
type IssueRequest struct {
	Key            string
	AchievementID  string
	RecipientID    string
	RecipientEmail string
	Score          *float64
	Standard       *Standard
	Evidence       []Evidence
	Actor          string // who or what decided the issuance, for the audit log
	// Supersedes is the credential this one replaces (a re-issue); empty
	// means the latest earlier credential of the same achievement held by
	// the recipient, if any (a renewal).
	Supersedes string
}

// Issue signs and stores the credential for req, or returns the one
// already issued for req.Key. Issuing a badge that completes a pathway also
// issues the pathway's certificate.
func (s *Service) Issue(ctx context.Context, req IssueRequest) (Credential, error) {
	if existing, err := s.byKey(ctx, req.Key); err == nil {
		return existing, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Credential{}, err
	}
	c, err := s.issue(ctx, req)
	if err != nil {
		return Credential{}, err
	}
	if err := s.completePathways(ctx, req.RecipientID, req.RecipientEmail); err != nil {
		return Credential{}, err
	}
	return c, nil
}

func (s *Service) issue(ctx context.Context, req IssueRequest) (Credential, error) {
	var arow achievementRow
	if err := s.db.WithContext(ctx).First(&arow, "id = ?", req.AchievementID).Error; err != nil {
		return Credential{}, fmt.Errorf("%w: achievement %s", ErrNotFound, req.AchievementID)
	}
	achievement, err := s.achievement(ctx, arow)
	if err != nil {
		return Credential{}, err
	}
	if req.Standard != nil && req.Standard.ID == "" {
		st := *req.Standard
		st.ID = fmt.Sprintf("%s#standard-v%d", achievement.ID, st.Version) // the achievement's page lists its standards
		req.Standard = &st
	}
	now := s.now().UTC().Truncate(time.Second)
	var validUntil *time.Time
	if arow.ValidityDays > 0 {
		t := now.AddDate(0, 0, arow.ValidityDays)
		validUntil = &t
	}
	evidence := req.Evidence
	supersedes := req.Supersedes
	if supersedes == "" {
		// A renewal: the recipient held this achievement before (perhaps
		// expired). The new credential names the one it renews.
		var earlier credentialRow
		err := s.db.WithContext(ctx).Where("recipient_id = ? AND achievement_id = ? AND revoked_at IS NULL", req.RecipientID, req.AchievementID).
			Order("issued_at DESC, id").First(&earlier).Error
		if err == nil {
			supersedes = earlier.ID
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return Credential{}, fmt.Errorf("credential: earlier credential: %w", err)
		}
		if supersedes != "" {
			evidence = append(evidence, Evidence{ID: s.CredentialURL(supersedes), Name: "Earlier credential",
				Description: "This credential renews the holder's earlier credential for the same achievement."})
		}
	}
	request, err := json.Marshal(req)
	if err != nil {
		return Credential{}, err
	}
	// The status index is part of the signed document, so a conflict on it
	// (two issuers drawing the same free index at once) means signing again.
	for attempt := 0; ; attempt++ {
		slot, err := s.allocateSlot(ctx, arow.IssuerID)
		if err != nil {
			return Credential{}, err
		}
		id := uuid.NewString()
		award := Award{
			ID: s.CredentialURL(id), Name: achievement.Name, Issuer: achievement.Creator, Achievement: achievement,
			RecipientEmail: req.RecipientEmail, RecipientSalt: randomSalt(), Score: req.Score, Standard: req.Standard,
			Evidence: evidence, ValidFrom: now, Status: s.entry(slot), Publisher: s.baseURL,
		}
		if validUntil != nil {
			award.ValidUntil = *validUntil
		}
		vm := proof.VerificationMethodID(achievement.Creator.ID, s.key.Public().(ed25519.PublicKey))
		signed, err := proof.Sign(NewAchievementCredential(award), s.key, vm, now)
		if err != nil {
			return Credential{}, fmt.Errorf("credential: sign: %w", err)
		}
		doc, err := json.Marshal(signed)
		if err != nil {
			return Credential{}, err
		}
		row := credentialRow{ID: id, IssuanceKey: req.Key, AchievementID: req.AchievementID, RecipientID: req.RecipientID,
			Document: string(doc), IssuedAt: now, Request: string(request), KeyID: s.keyID(), ValidUntil: validUntil,
			StatusListID: &slot.ListID, StatusIndex: &slot.Index}
		if supersedes != "" {
			row.Supersedes = &supersedes
		}
		created := false
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "issuance_key"}}, DoNothing: true}).Create(&row)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return nil // another request with the same key won
			}
			created = true
			return audit.Append(tx, audit.Entry{Actor: req.Actor, Action: "credential.issue", Subject: "credential:" + id,
				After: map[string]any{"key": req.Key, "achievement": achievement.ID, "recipient": req.RecipientID, "score": req.Score,
					"standard": req.Standard, "valid_until": validUntil, "supersedes": supersedes, "status_list": slot.ListID, "status_index": slot.Index}, At: now})
		})
		if err != nil {
			if attempt < 5 && s.slotTaken(ctx, slot) {
				continue
			}
			return Credential{}, fmt.Errorf("credential: store: %w", err)
		}
		if !created {
			return s.byKey(ctx, req.Key) // the other request's credential
		}
		s.issued()
		return s.toCredential(row), nil
	}
}

// slotTaken reports whether a credential holds slot: the reason an insert
// failed, when it did so on credentials_status.
func (s *Service) slotTaken(ctx context.Context, slot statusSlot) bool {
	var n int64
	err := s.db.WithContext(ctx).Model(&credentialRow{}).Where("status_list_id = ? AND status_index = ?", slot.ListID, slot.Index).Count(&n).Error
	return err == nil && n > 0
}

func randomSalt() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

func (s *Service) heldCredential(ctx context.Context, recipientID, achievementID string) (Credential, error) {
	var row credentialRow
	err := s.db.WithContext(ctx).Where("recipient_id = ? AND achievement_id = ? AND revoked_at IS NULL AND suspended_at IS NULL", recipientID, achievementID).
		Order("issued_at DESC, id").First(&row).Error
	if err != nil {
		return Credential{}, fmt.Errorf("credential: held credential: %w", err)
	}
	return s.toCredential(row), nil
}

func (s *Service) byKey(ctx context.Context, key string) (Credential, error) {
	var row credentialRow
	err := s.db.WithContext(ctx).First(&row, "issuance_key = ?", key).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Credential{}, fmt.Errorf("%w: key %s", ErrNotFound, key)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("credential: by key: %w", err)
	}
	return s.toCredential(row), nil
}

func (s *Service) toCredential(r credentialRow) Credential {
	c := Credential{ID: r.ID, URL: s.CredentialURL(r.ID), AchievementID: r.AchievementID, RecipientID: r.RecipientID,
		Document: json.RawMessage(r.Document), IssuedAt: r.IssuedAt, ValidUntil: r.ValidUntil, RevokedAt: r.RevokedAt,
		RevocationReason: r.RevocationReason, SuspendedAt: r.SuspendedAt, SuspensionReason: r.SuspensionReason, Public: r.Public}
	if r.Supersedes != nil {
		c.Supersedes = *r.Supersedes
	}
	return c
}

// Get returns a credential by id.
func (s *Service) Get(ctx context.Context, id string) (Credential, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Credential{}, fmt.Errorf("%w: credential %s", ErrNotFound, id)
	}
	var row credentialRow
	err := s.db.WithContext(ctx).First(&row, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Credential{}, fmt.Errorf("%w: credential %s", ErrNotFound, id)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("credential: get: %w", err)
	}
	return s.toCredential(row), nil
}

// HeldBy lists a recipient's credentials, newest first.
func (s *Service) HeldBy(ctx context.Context, recipientID string) ([]Credential, error) {
	var rows []credentialRow
	if err := s.db.WithContext(ctx).Where("recipient_id = ?", recipientID).Order("issued_at DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("credential: held by: %w", err)
	}
	out := make([]Credential, len(rows))
	for i, r := range rows {
		out[i] = s.toCredential(r)
	}
	return out, nil
}
