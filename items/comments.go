package items

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// MaxCommentLength is the longest comment, in bytes.
const MaxCommentLength = 10000

// Comment is a remark on an item, by a reviewer or an author: on one
// version (Version ≥ 1) or on the item as a whole (Version 0). Review
// decisions (approval notes, requested changes) are comments too.
type Comment struct {
	ID        string
	ItemID    string
	Version   int
	AuthorID  string // "" when the system wrote it
	Body      string
	CreatedAt time.Time
}

type commentRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	ItemID    string    `gorm:"column:item_id"`
	Version   *int      `gorm:"column:version"`
	AuthorID  *string   `gorm:"column:author_id"`
	Body      string    `gorm:"column:body"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (commentRow) TableName() string { return "item_comments" }

func (r commentRow) comment() Comment {
	c := Comment{ID: r.ID, ItemID: r.ItemID, AuthorID: deref(r.AuthorID), Body: r.Body, CreatedAt: r.CreatedAt.UTC()}
	if r.Version != nil {
		c.Version = *r.Version
	}
	return c
}

// Comment adds actor's comment on item id, on its version (0: the item as
// a whole). The body is required (field "body") and at most
// MaxCommentLength bytes; a version the item does not have is an error on
// "version". The comment is audited.
func (s *Store) Comment(ctx context.Context, actor, id string, version int, body string) (Comment, error) {
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return Comment{}, valid.Errorf("body", "is required")
	case len(body) > MaxCommentLength:
		return Comment{}, valid.Errorf("body", "must be at most %d bytes", MaxCommentLength)
	case version < 0:
		return Comment{}, valid.Errorf("version", "must be a version of the item, or 0 for the item as a whole")
	}
	now := s.now().UTC()
	var out Comment
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, _, err := working(tx, id)
		if err != nil {
			return err
		}
		if version > row.CurrentVersion {
			return valid.Errorf("version", "the item has versions 1 to %d", row.CurrentVersion)
		}
		out, err = insertComment(tx, actor, id, version, body, now)
		if err != nil {
			return err
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.comment", Subject: "item:" + id,
			After: map[string]any{"version": version, "body": body}, At: now})
	})
	return out, err
}

func insertComment(tx *gorm.DB, actor, id string, version int, body string, now time.Time) (Comment, error) {
	// A version 7 id grows with time, so comments written in one instant
	// (a fixed clock, or a note and its transition) keep their order.
	r := commentRow{ID: uuid.Must(uuid.NewV7()).String(), ItemID: id, Body: body, CreatedAt: now}
	if version > 0 {
		r.Version = &version
	}
	if isUUID(actor) {
		r.AuthorID = &actor
	}
	if err := tx.Create(&r).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return Comment{}, fmt.Errorf("%w: item %s", ErrNotFound, id)
		}
		return Comment{}, fmt.Errorf("items: comment: %w", err)
	}
	return r.comment(), nil
}

// Comments returns the comments on item id, oldest first.
func (s *Store) Comments(ctx context.Context, id string) ([]Comment, error) {
	if !isUUID(id) {
		return nil, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	var rows []commentRow
	if err := s.db.WithContext(ctx).Where("item_id = ?", id).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("items: comments: %w", err)
	}
	out := make([]Comment, len(rows))
	for i, r := range rows {
		out[i] = r.comment()
	}
	return out, nil
}

func isUUID(s string) bool { return uuid.Validate(s) == nil }
