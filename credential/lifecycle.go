package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// ErrNotSuspended: a credential that is not suspended cannot be reinstated.
var ErrNotSuspended = errors.New("credential: not suspended")

// Revoke marks a credential revoked for reason and audits the decision.
// Revocation is final; the revocation status list shows it at once.
//
// A certificate that stacked the credential (a pathway certificate naming
// it as evidence) loses its basis and is revoked with it.
func (s *Service) Revoke(ctx context.Context, actor, id, reason string) error {
	err := s.changeStatus(ctx, actor, id, reason, "credential.revoke", func(r credentialRow) (map[string]any, error) {
		if r.RevokedAt != nil {
			return nil, fmt.Errorf("%w: credential %s", ErrRevoked, id)
		}
		return map[string]any{"revoked_at": s.now().UTC(), "revocation_reason": reason}, nil
	})
	if err != nil {
		return err
	}
	var stacked []credentialRow
	if err := s.db.WithContext(ctx).Where("issuance_key LIKE ? AND revoked_at IS NULL AND document LIKE ?",
		"pathway:%", "%"+s.CredentialURL(id)+"%").Find(&stacked).Error; err != nil {
		return fmt.Errorf("credential: stacked certificates: %w", err)
	}
	for _, c := range stacked {
		err := s.Revoke(ctx, actor, c.ID, "a credential it stacks was revoked: "+reason)
		if err != nil && !errors.Is(err, ErrRevoked) {
			return err
		}
	}
	return nil
}

// Suspend marks a credential suspended for reason (for example while a
// proctoring review is open) and audits the decision; Reinstate lifts it.
func (s *Service) Suspend(ctx context.Context, actor, id, reason string) error {
	return s.changeStatus(ctx, actor, id, reason, "credential.suspend", func(r credentialRow) (map[string]any, error) {
		if r.RevokedAt != nil {
			return nil, fmt.Errorf("%w: credential %s", ErrRevoked, id)
		}
		if r.SuspendedAt != nil {
			return nil, valid.Errorf("id", "the credential is already suspended")
		}
		return map[string]any{"suspended_at": s.now().UTC(), "suspension_reason": reason}, nil
	})
}

// Reinstate lifts a suspension, for reason, audited.
func (s *Service) Reinstate(ctx context.Context, actor, id, reason string) error {
	return s.changeStatus(ctx, actor, id, reason, "credential.reinstate", func(r credentialRow) (map[string]any, error) {
		if r.RevokedAt != nil {
			return nil, fmt.Errorf("%w: credential %s", ErrRevoked, id)
		}
		if r.SuspendedAt == nil {
			return nil, fmt.Errorf("%w: credential %s", ErrNotSuspended, id)
		}
		return map[string]any{"suspended_at": nil, "suspension_reason": ""}, nil
	})
}

// changeStatus applies the update change returns for the credential's
// current row, in one transaction with the audit entry.
func (s *Service) changeStatus(ctx context.Context, actor, id, reason, action string, change func(credentialRow) (map[string]any, error)) error {
	if strings.TrimSpace(reason) == "" {
		return valid.Errorf("reason", "is required")
	}
	if uuid.Validate(id) != nil {
		return fmt.Errorf("%w: credential %s", ErrNotFound, id)
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row credentialRow
		if err := lockForUpdate(tx).First(&row, "id = ?", id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: credential %s", ErrNotFound, id)
			}
			return err
		}
		updates, err := change(row)
		if err != nil {
			return err
		}
		if err := tx.Model(&credentialRow{}).Where("id = ?", id).Updates(updates).Error; err != nil {
			return fmt.Errorf("credential: %s: %w", action, err)
		}
		before := map[string]any{"revoked": row.RevokedAt != nil, "suspended": row.SuspendedAt != nil}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: action, Subject: "credential:" + id,
			Before: before, After: map[string]any{"reason": reason}, At: s.now().UTC()})
	})
}

// lockForUpdate locks the selected rows on PostgreSQL; SQLite serializes
// writers anyway.
func lockForUpdate(tx *gorm.DB) *gorm.DB {
	if tx.Dialector.Name() == "postgres" {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// SetPublic lets the recipient decide whether the credential's public page
// shows its details. Only the recipient may change it.
func (s *Service) SetPublic(ctx context.Context, recipientID, id string, public bool) error {
	if uuid.Validate(id) != nil {
		return fmt.Errorf("%w: credential %s", ErrNotFound, id)
	}
	res := s.db.WithContext(ctx).Model(&credentialRow{}).Where("id = ? AND recipient_id = ?", id, recipientID).Update("public", public)
	if res.Error != nil {
		return fmt.Errorf("credential: visibility: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%w: credential %s", ErrNotFound, id)
	}
	return nil
}

// Reissue replaces a credential whose basis changed (a rekeyed item moved
// the score, a new standard, a compromised key): the old one is revoked
// with reason and a new one, linking it, is signed with the current key.
// change edits the original issue request (score, standard); nil keeps it.
// Returns the new credential.
func (s *Service) Reissue(ctx context.Context, actor, id, reason string, change func(*IssueRequest)) (Credential, error) {
	if strings.TrimSpace(reason) == "" {
		return Credential{}, valid.Errorf("reason", "is required")
	}
	old, err := s.Get(ctx, id)
	if err != nil {
		return Credential{}, err
	}
	var row credentialRow
	if err := s.db.WithContext(ctx).First(&row, "id = ?", id).Error; err != nil {
		return Credential{}, err
	}
	var req IssueRequest
	if err := json.Unmarshal([]byte(row.Request), &req); err != nil || row.Request == "" {
		return Credential{}, fmt.Errorf("credential: %s cannot be re-issued: its issue request was not kept", id)
	}
	if change != nil {
		change(&req)
	}
	req.Key = "reissue:" + id
	req.Supersedes = id
	req.Actor = actor
	req.Evidence = append(req.Evidence, Evidence{ID: old.URL, Name: "Replaced credential", Narrative: "Re-issued: " + reason})
	if old.RevokedAt == nil {
		if err := s.Revoke(ctx, actor, id, "re-issued: "+reason); err != nil && !errors.Is(err, ErrRevoked) {
			return Credential{}, err
		}
	}
	return s.Issue(ctx, req)
}

// ReissueSignedBy re-issues every unrevoked credential signed with the key
// keyID (its Multikey), for instance after the key was compromised, and
// returns the new credentials.
func (s *Service) ReissueSignedBy(ctx context.Context, actor, keyID, reason string) ([]Credential, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&credentialRow{}).Where("key_id = ? AND revoked_at IS NULL", keyID).
		Order("issued_at, id").Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("credential: signed by %s: %w", keyID, err)
	}
	var out []Credential
	for _, id := range ids {
		c, err := s.Reissue(ctx, actor, id, reason, nil)
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Expiring lists a recipient's active credentials (not revoked, suspended
// or expired yet) that expire before horizon, soonest first: what the
// candidate's wallet warns about.
func (s *Service) Expiring(ctx context.Context, recipientID string, horizon time.Time) ([]Credential, error) {
	var rows []credentialRow
	if err := s.db.WithContext(ctx).Where("recipient_id = ? AND revoked_at IS NULL AND suspended_at IS NULL AND valid_until > ? AND valid_until < ?",
		recipientID, s.now().UTC(), horizon).
		Order("valid_until").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("credential: expiring: %w", err)
	}
	out := make([]Credential, len(rows))
	for i, r := range rows {
		out[i] = s.toCredential(r)
	}
	return out, nil
}
