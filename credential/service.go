package credential

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	Document         json.RawMessage // the signed Open Badges 3.0 credential
	IssuedAt         time.Time
	RevokedAt        *time.Time
	RevocationReason string
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

type keyRow struct {
	ID                 string     `gorm:"column:id;primaryKey"`
	IssuerID           string     `gorm:"column:issuer_id"`
	PublicKeyMultibase string     `gorm:"column:public_key_multibase"`
	CreatedAt          time.Time  `gorm:"column:created_at"`
	RetiredAt          *time.Time `gorm:"column:retired_at"`
}

func (keyRow) TableName() string { return "issuer_keys" }

type achievementRow struct {
	ID              string    `gorm:"column:id;primaryKey"`
	IssuerID        string    `gorm:"column:issuer_id"`
	Slug            string    `gorm:"column:slug"`
	Name            string    `gorm:"column:name"`
	Description     string    `gorm:"column:description"`
	Criteria        string    `gorm:"column:criteria"`
	AchievementType string    `gorm:"column:achievement_type"`
	Alignments      string    `gorm:"column:alignments"`
	CreatedAt       time.Time `gorm:"column:created_at"`
}

func (achievementRow) TableName() string { return "achievements" }

type pathwayRow struct {
	ID            string    `gorm:"column:id;primaryKey"`
	AchievementID string    `gorm:"column:achievement_id"`
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
}

func (credentialRow) TableName() string { return "credentials" }

// Models lists the GORM models of this package, for schema checks.
func Models() []any {
	return []any{issuerRow{}, keyRow{}, achievementRow{}, pathwayRow{}, requirementRow{}, credentialRow{}}
}

// Service issues, stores, revokes and verifies credentials for one issuer.
// Every URL it writes into a credential starts with baseURL.
type Service struct {
	db      *gorm.DB
	now     func() time.Time
	baseURL string
	key     ed25519.PrivateKey
}

// NewService returns a Service that signs with key.
func NewService(db *gorm.DB, now func() time.Time, baseURL string, key ed25519.PrivateKey) *Service {
	return &Service{db: db, now: now, baseURL: strings.TrimRight(baseURL, "/"), key: key}
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
	mk := proof.EncodeMultikey(s.key.Public().(ed25519.PublicKey))
	k := keyRow{ID: mk, IssuerID: row.ID, PublicKeyMultibase: mk, CreatedAt: s.now().UTC()}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&k).Error; err != nil {
		return "", fmt.Errorf("credential: register key: %w", err)
	}
	return row.ID, nil
}

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
	if err := s.db.WithContext(ctx).Where("issuer_id = ?", issuerID).Order("created_at DESC").Find(&rows).Error; err != nil {
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
}

// CreateAchievement adds an achievement of the issuer and returns its id.
func (s *Service) CreateAchievement(ctx context.Context, issuerID string, in AchievementInput) (string, error) {
	if strings.TrimSpace(in.Slug) == "" || strings.TrimSpace(in.Name) == "" {
		return "", valid.Errorf("name", "an achievement needs a slug and a name")
	}
	al, err := json.Marshal(in.Alignments)
	if err != nil {
		return "", err
	}
	row := achievementRow{ID: uuid.NewString(), IssuerID: issuerID, Slug: in.Slug, Name: in.Name, Description: in.Description,
		Criteria: in.Criteria, AchievementType: in.AchievementType, Alignments: string(al), CreatedAt: s.now().UTC()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", fmt.Errorf("credential: create achievement: %w", err)
	}
	return row.ID, nil
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
		AchievementType: row.AchievementType, Creator: issuer}
	if err := json.Unmarshal([]byte(row.Alignments), &a.Alignments); err != nil {
		return Achievement{}, fmt.Errorf("credential: alignments of %s: %w", row.Slug, err)
	}
	return a, nil
}

// CreatePathway makes holding every one of required earn the certificate
// achievement: Issue awards it as soon as a recipient holds them all.
func (s *Service) CreatePathway(ctx context.Context, certificateID string, required []string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		p := pathwayRow{ID: uuid.NewString(), AchievementID: certificateID, CreatedAt: s.now().UTC()}
		if err := tx.Create(&p).Error; err != nil {
			return fmt.Errorf("credential: create pathway: %w", err)
		}
		for _, id := range required {
			if err := tx.Create(&requirementRow{PathwayID: p.ID, AchievementID: id}).Error; err != nil {
				return fmt.Errorf("credential: pathway requirement: %w", err)
			}
		}
		return nil
	})
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
	id := uuid.NewString()
	now := s.now().UTC().Truncate(time.Second)
	award := Award{
		ID: s.CredentialURL(id), Name: achievement.Name, Issuer: achievement.Creator, Achievement: achievement,
		RecipientEmail: req.RecipientEmail, RecipientSalt: randomSalt(), Score: req.Score, Standard: req.Standard,
		Evidence: req.Evidence, ValidFrom: now,
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
	row := credentialRow{ID: id, IssuanceKey: req.Key, AchievementID: req.AchievementID, RecipientID: req.RecipientID, Document: string(doc), IssuedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "issuance_key"}}, DoNothing: true}).Create(&row)
		if res.Error != nil {
			return fmt.Errorf("credential: store: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil // another request with the same key won
		}
		return audit.Append(tx, audit.Entry{Actor: req.Actor, Action: "credential.issue", Subject: "credential:" + id,
			After: map[string]any{"key": req.Key, "achievement": achievement.ID, "recipient": req.RecipientID, "score": req.Score, "standard": req.Standard}, At: now})
	})
	if err != nil {
		return Credential{}, err
	}
	return s.byKey(ctx, req.Key)
}

func randomSalt() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// completePathways issues every certificate whose required achievements the
// recipient now holds (unrevoked).
func (s *Service) completePathways(ctx context.Context, recipientID, email string) error {
	var held []string
	if err := s.db.WithContext(ctx).Model(&credentialRow{}).Where("recipient_id = ? AND revoked_at IS NULL", recipientID).
		Distinct().Pluck("achievement_id", &held).Error; err != nil {
		return fmt.Errorf("credential: held: %w", err)
	}
	has := map[string]bool{}
	for _, id := range held {
		has[id] = true
	}
	var pathways []pathwayRow
	if err := s.db.WithContext(ctx).Find(&pathways).Error; err != nil {
		return fmt.Errorf("credential: pathways: %w", err)
	}
	for _, p := range pathways {
		if has[p.AchievementID] {
			continue
		}
		var reqs []requirementRow
		if err := s.db.WithContext(ctx).Where("pathway_id = ?", p.ID).Find(&reqs).Error; err != nil {
			return fmt.Errorf("credential: pathway requirements: %w", err)
		}
		complete := len(reqs) > 0
		var evidence []Evidence
		for _, r := range reqs {
			if !has[r.AchievementID] {
				complete = false
				break
			}
			c, err := s.heldCredential(ctx, recipientID, r.AchievementID)
			if err != nil {
				return err
			}
			a, err := s.Achievement(ctx, r.AchievementID)
			if err != nil {
				return err
			}
			evidence = append(evidence, Evidence{ID: c.URL, Name: a.Name, Description: "Credential stacked into this certificate."})
		}
		if !complete {
			continue
		}
		_, err := s.issue(ctx, IssueRequest{Key: "pathway:" + p.ID + ":" + recipientID, AchievementID: p.AchievementID,
			RecipientID: recipientID, RecipientEmail: email, Evidence: evidence, Actor: "system"})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) heldCredential(ctx context.Context, recipientID, achievementID string) (Credential, error) {
	var row credentialRow
	err := s.db.WithContext(ctx).Where("recipient_id = ? AND achievement_id = ? AND revoked_at IS NULL", recipientID, achievementID).
		Order("issued_at").First(&row).Error
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
	return Credential{ID: r.ID, URL: s.CredentialURL(r.ID), AchievementID: r.AchievementID, RecipientID: r.RecipientID,
		Document: json.RawMessage(r.Document), IssuedAt: r.IssuedAt, RevokedAt: r.RevokedAt, RevocationReason: r.RevocationReason}
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

// Revoke marks a credential revoked for reason and audits the decision.
func (s *Service) Revoke(ctx context.Context, actor, id, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return valid.Errorf("reason", "is required")
	}
	if uuid.Validate(id) != nil {
		return fmt.Errorf("%w: credential %s", ErrNotFound, id)
	}
	now := s.now().UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&credentialRow{}).Where("id = ? AND revoked_at IS NULL", id).
			Updates(map[string]any{"revoked_at": now, "revocation_reason": reason})
		if res.Error != nil {
			return fmt.Errorf("credential: revoke: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			if _, err := s.Get(ctx, id); err != nil {
				return err
			}
			return fmt.Errorf("%w: credential %s", ErrRevoked, id)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "credential.revoke", Subject: "credential:" + id,
			Before: map[string]any{"revoked": false}, After: map[string]any{"revoked": true, "reason": reason}, At: now})
	})
}

// Verification is the outcome of checking a credential.
type Verification struct {
	Valid   bool   // the proof holds with one of the issuer's keys
	Revoked bool   // the issuer has revoked it
	Problem string // why it is not valid, in words safe to show
}

// Verify checks a stored credential's proof against the issuer keys this
// service knows, and its revocation.
func (s *Service) Verify(ctx context.Context, c Credential) Verification {
	var doc map[string]any
	if err := json.Unmarshal(c.Document, &doc); err != nil {
		return Verification{Problem: "the credential is not valid JSON"}
	}
	v := s.VerifyDocument(ctx, doc)
	v.Revoked = c.RevokedAt != nil
	return v
}

// VerifyDocument checks the proof of any credential that claims to come
// from this issuer.
func (s *Service) VerifyDocument(ctx context.Context, doc map[string]any) Verification {
	err := proof.Verify(doc, func(vm string) (ed25519.PublicKey, error) {
		prefix := s.baseURL + "/issuers/"
		controller, fragment, ok := strings.Cut(vm, "#")
		if !ok || !strings.HasPrefix(controller, prefix) {
			return nil, fmt.Errorf("verification method %s is not this issuer's", vm)
		}
		var k keyRow
		if err := s.db.WithContext(ctx).First(&k, "id = ? AND issuer_id = ?", fragment, strings.TrimPrefix(controller, prefix)).Error; err != nil {
			return nil, fmt.Errorf("unknown key %s", vm)
		}
		return proof.DecodeMultikey(k.PublicKeyMultibase)
	})
	if err != nil {
		return Verification{Problem: err.Error()}
	}
	return Verification{Valid: true}
}
