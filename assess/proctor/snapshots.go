package proctor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Snapshot kinds: a webcam frame taken during the attempt, and the photos
// of the candidate and of their ID taken at check-in.
const (
	Webcam         = "webcam"
	CandidatePhoto = "candidate_photo"
	IDPhoto        = "id_photo"
)

// Bounds on an uploaded image: a webcam frame is some tens of kilobytes; a
// photographed ID at full resolution is the largest allowed.
const (
	MaxImageBytes     = 2 << 20
	MaxImageDimension = 4096
)

// ImageTypes are the accepted image types, by content, not by what the
// client declared: what browsers' canvas.toBlob makes.
var ImageTypes = []string{"image/jpeg", "image/png"}

// ErrSnapshotDeleted: the snapshot's image was deleted at the end of its
// retention period.
var ErrSnapshotDeleted = errors.New("proctor: snapshot deleted after its retention period")

// ErrSnapshotNotFound: no snapshot has the id.
var ErrSnapshotNotFound = errors.New("proctor: snapshot not found")

// Snapshot is a stored image and what its face check found.
type Snapshot struct {
	ID          string
	AttemptID   string // "" for a check-in photo
	CheckinID   string // "" for a webcam frame of an attempt
	Kind        string
	ContentType string
	Bytes       int
	SHA256      string
	Faces       *int  // nil when the browser could not run the face check
	LookingAway *bool // nil likewise
	TakenAt     *time.Time
	ReceivedAt  time.Time
	DeleteAfter time.Time
	DeletedAt   *time.Time
}

type snapshotRow struct {
	ID          string     `gorm:"column:id;primaryKey"`
	AttemptID   *string    `gorm:"column:attempt_id"`
	CheckinID   *string    `gorm:"column:checkin_id"`
	Kind        string     `gorm:"column:kind"`
	BlobKey     string     `gorm:"column:blob_key"`
	ContentType string     `gorm:"column:content_type"`
	Bytes       int        `gorm:"column:bytes"`
	SHA256      string     `gorm:"column:sha256"`
	Faces       *int       `gorm:"column:faces"`
	LookingAway *bool      `gorm:"column:looking_away"`
	TakenAt     *time.Time `gorm:"column:taken_at"`
	ReceivedAt  time.Time  `gorm:"column:received_at"`
	DeleteAfter time.Time  `gorm:"column:delete_after"`
	DeletedAt   *time.Time `gorm:"column:deleted_at"`
	// Image is a webcam frame's bytes, kept in its record (BlobKey is
	// then ""); nil for a check-in photo, which is in the blob store, and
	// once retention has deleted the frame. Only Open reads it: listings
	// select recordColumns.
	Image []byte `gorm:"column:image"`
}

// recordColumns are a snapshot's columns but its image, for listings: an
// attempt's frames are megabytes that a list of records does not need.
var recordColumns = []string{"id", "attempt_id", "checkin_id", "kind", "blob_key", "content_type", "bytes", "sha256",
	"faces", "looking_away", "taken_at", "received_at", "delete_after", "deleted_at"}

func (snapshotRow) TableName() string { return "proctor_snapshots" }

func (r snapshotRow) snapshot() Snapshot {
	return Snapshot{ID: r.ID, AttemptID: deref(r.AttemptID), CheckinID: deref(r.CheckinID), Kind: r.Kind,
		ContentType: r.ContentType, Bytes: r.Bytes, SHA256: r.SHA256, Faces: r.Faces, LookingAway: r.LookingAway,
		TakenAt: r.TakenAt, ReceivedAt: r.ReceivedAt, DeleteAfter: r.DeleteAfter, DeletedAt: r.DeletedAt}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// NewSnapshot is an image to store.
type NewSnapshot struct {
	AttemptID string // exactly one of AttemptID and CheckinID
	CheckinID string
	Kind      string
	Image     Image // from CheckImage
	// Faces and LookingAway are the browser's face check of the image; nil
	// when it could not run. A webcam frame with no face, several faces, or
	// the candidate looking away records an event of that kind.
	Faces       *int
	LookingAway *bool
	TakenAt     *time.Time
	// Retention is how long the image is kept: the program's period.
	Retention time.Duration
	// OpenUntil, when set, records a webcam frame only while its attempt
	// takes one: in the statement that records it on PostgreSQL, when the
	// attempt is in progress, neither held nor on a break, and its
	// deadline is not before OpenUntil (now less the grace). When that
	// statement does not record it (the attempt is held, say, or another
	// instance moved its chain), Admit decides, reading the attempt; an
	// error from Admit is Put's, and the image is deleted.
	OpenUntil time.Time
	Admit     func(context.Context) error
}

// Snapshots stores images and records them, with what their face checks
// found, in a Log's chains. A webcam frame, some tens of kilobytes every
// half minute of every attempt, is kept in its record and written by the
// statement that records it (on PostgreSQL, with other attempts' events:
// batch.go): one commit for both, where a file of its own cost a create,
// two fsyncs and a rename, and every instance of a deployment can serve
// it. Check-in photos, larger and few, go to the blob store.
type Snapshots struct {
	db    *gorm.DB
	log   *Log
	blobs blob.Store
	now   func() time.Time
}

// NewSnapshots returns a Snapshots that keeps images in blobs and records
// them in log's database and chains.
func NewSnapshots(log *Log, blobs blob.Store) *Snapshots {
	return &Snapshots{db: log.db, log: log, blobs: blobs, now: log.now}
}

// Put checks and stores an image, records it, and — for a webcam frame —
// appends a SnapshotTaken event (naming it and its SHA-256, so the image is
// covered by the attempt's chain) and the face check's findings to the
// attempt's events. A frame goes in with its record. A check-in photo's
// blob is written first: a failure after it leaves a blob that no record
// names, never a record without its image. Purge works from the records,
// so nothing deletes such a blob yet.
func (s *Snapshots) Put(ctx context.Context, in NewSnapshot) (Snapshot, []Event, error) {
	switch in.Kind {
	case Webcam:
		if in.AttemptID == "" || in.CheckinID != "" {
			return Snapshot{}, nil, errors.New("proctor: a webcam snapshot belongs to an attempt")
		}
	case CandidatePhoto, IDPhoto:
		if in.CheckinID == "" || in.AttemptID != "" {
			return Snapshot{}, nil, errors.New("proctor: a check-in photo belongs to a check-in")
		}
	default:
		return Snapshot{}, nil, valid.Errorf("kind", "must be %s, %s or %s", Webcam, CandidatePhoto, IDPhoto)
	}
	if in.Faces != nil && (*in.Faces < 0 || *in.Faces > 100) {
		return Snapshot{}, nil, valid.Errorf("faces", "must be from 0 to 100")
	}
	if in.Retention <= 0 {
		return Snapshot{}, nil, errors.New("proctor: snapshot without a retention period")
	}
	img, ct := in.Image.data, in.Image.contentType
	if ct == "" {
		return Snapshot{}, nil, errors.New("proctor: snapshot of an image not checked by CheckImage")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	id := uuid.NewString()
	sum := sha256.Sum256(img)
	row := snapshotRow{ID: id, Kind: in.Kind, ContentType: ct, Bytes: len(img),
		SHA256: hex.EncodeToString(sum[:]), Faces: in.Faces, LookingAway: in.LookingAway, TakenAt: micro(in.TakenAt),
		ReceivedAt: now, DeleteAfter: now.Add(in.Retention)}
	if in.Kind != Webcam {
		row.CheckinID = &in.CheckinID
		row.BlobKey = "proctoring/checkin-" + in.CheckinID + "/" + id + extension(ct)
		if err := s.blobs.Put(ctx, row.BlobKey, ct, bytes.NewReader(img), int64(len(img))); err != nil {
			return Snapshot{}, nil, fmt.Errorf("proctor: store snapshot: %w", err)
		}
	} else {
		row.AttemptID, row.Image = &in.AttemptID, img
		// The row goes in with the append of its findings.
		events, ok, err := s.log.appendOntoKnown(ctx, in.AttemptID, findings(row), &row, in.OpenUntil, now)
		if err != nil {
			return Snapshot{}, nil, fmt.Errorf("proctor: record snapshot: %w", err)
		}
		if ok {
			return row.snapshot(), events, nil
		}
		if in.Admit != nil {
			if err := in.Admit(ctx); err != nil {
				return Snapshot{}, nil, err
			}
		}
	}
	var events []Event
	var head knownHead
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("proctor: record snapshot: %w", err)
		}
		if in.Kind != Webcam {
			return nil
		}
		var err error
		events, head, err = s.log.appendTx(tx, in.AttemptID, findings(row), now)
		return err
	})
	if err != nil {
		return Snapshot{}, nil, err
	}
	if in.Kind == Webcam {
		s.log.heads.Put(in.AttemptID, head)
	}
	return row.snapshot(), events, nil
}

// insertAlongside inserts a webcam snapshot's row when the append of its
// findings moves its attempt's chain (chainAppend.writeOnto, PostgreSQL).
func insertAlongside(r snapshotRow) *alongside {
	return &alongside{
		cte: `snap AS (INSERT INTO proctor_snapshots (id, attempt_id, kind, blob_key, content_type, bytes, sha256, faces, looking_away, taken_at, received_at, delete_after, image)
SELECT ?::uuid, head.attempt_id, ?::text, ?::text, ?::text, ?::integer, ?::text, ?::integer, ?::boolean, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::bytea FROM head)`,
		args: []any{r.ID, r.Kind, r.BlobKey, r.ContentType, r.Bytes, r.SHA256, r.Faces, r.LookingAway, r.TakenAt, r.ReceivedAt, r.DeleteAfter, r.Image},
	}
}

// findings are the events a webcam snapshot records: the snapshot itself,
// then what its face check found.
func findings(r snapshotRow) []Event {
	ref := "snapshot " + r.ID + " sha256:" + r.SHA256
	out := []Event{{Kind: SnapshotTaken, Detail: ref}}
	if r.Faces != nil {
		switch {
		case *r.Faces == 0:
			out = append(out, Event{Kind: NoFace, Detail: ref})
		case *r.Faces > 1:
			out = append(out, Event{Kind: MultipleFaces, Detail: fmt.Sprintf("%d faces in %s", *r.Faces, ref)})
		}
	}
	if r.LookingAway != nil && *r.LookingAway && (r.Faces == nil || *r.Faces > 0) {
		out = append(out, Event{Kind: LookingAway, Detail: ref})
	}
	return out
}

func extension(contentType string) string {
	switch contentType {
	case "image/png":
		return ".png"
	case "image/webp":
		return ".webp"
	}
	return ".jpg"
}

// Snapshot returns a snapshot's record.
func (s *Snapshots) Snapshot(ctx context.Context, id string) (Snapshot, error) {
	if uuid.Validate(id) != nil {
		return Snapshot{}, ErrSnapshotNotFound
	}
	var row snapshotRow
	err := s.db.WithContext(ctx).Select(recordColumns).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Snapshot{}, ErrSnapshotNotFound
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("proctor: snapshot: %w", err)
	}
	return row.snapshot(), nil
}

// Open returns a snapshot's record and its image; the caller closes it.
// An image deleted at the end of its retention is ErrSnapshotDeleted.
func (s *Snapshots) Open(ctx context.Context, id string) (Snapshot, io.ReadCloser, error) {
	var row snapshotRow
	if uuid.Validate(id) != nil {
		return Snapshot{}, nil, ErrSnapshotNotFound
	}
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Snapshot{}, nil, ErrSnapshotNotFound
	}
	if err != nil {
		return Snapshot{}, nil, fmt.Errorf("proctor: snapshot: %w", err)
	}
	if row.DeletedAt != nil {
		return row.snapshot(), nil, ErrSnapshotDeleted
	}
	if row.BlobKey == "" {
		return row.snapshot(), io.NopCloser(bytes.NewReader(row.Image)), nil
	}
	body, _, err := s.blobs.Get(ctx, row.BlobKey)
	if err != nil {
		return row.snapshot(), nil, fmt.Errorf("proctor: open snapshot: %w", err)
	}
	return row.snapshot(), body, nil
}

// OfAttempt lists an attempt's webcam snapshots, oldest first.
func (s *Snapshots) OfAttempt(ctx context.Context, attemptID string) ([]Snapshot, error) {
	return s.list(ctx, "attempt_id = ?", attemptID)
}

// OfCheckin lists a check-in's photos, oldest first.
func (s *Snapshots) OfCheckin(ctx context.Context, checkinID string) ([]Snapshot, error) {
	return s.list(ctx, "checkin_id = ?", checkinID)
}

func (s *Snapshots) list(ctx context.Context, where string, id string) ([]Snapshot, error) {
	var rows []snapshotRow
	if err := s.db.WithContext(ctx).Select(recordColumns).Where(where, id).Order("received_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("proctor: snapshots: %w", err)
	}
	out := make([]Snapshot, len(rows))
	for i, r := range rows {
		out[i] = r.snapshot()
	}
	return out, nil
}

// LastReceived returns when the attempt's newest snapshot arrived, and
// false when it has none: one entry of the attempt's index, whatever the
// statistics say.
func (s *Snapshots) LastReceived(ctx context.Context, attemptID string) (time.Time, bool, error) {
	var at []time.Time
	err := s.db.WithContext(ctx).Model(&snapshotRow{}).Where("attempt_id = ?", attemptID).
		Order("received_at DESC").Limit(1).Pluck("received_at", &at).Error
	if err != nil {
		return time.Time{}, false, fmt.Errorf("proctor: last snapshot: %w", err)
	}
	if len(at) == 0 {
		return time.Time{}, false, nil
	}
	return at[0], true, nil
}

// Latest returns the newest webcam snapshot of each of the attempts that
// has one, for the live console.
func (s *Snapshots) Latest(ctx context.Context, attemptIDs []string) (map[string]Snapshot, error) {
	out := map[string]Snapshot{}
	if len(attemptIDs) == 0 {
		return out, nil
	}
	var rows []snapshotRow
	// Deleted images are left out here, not in the query: "deleted_at IS
	// NULL" there let PostgreSQL, short of statistics, AND the retention
	// index into the plan and read every kept snapshot of every attempt.
	err := s.db.WithContext(ctx).Select(recordColumns).Where("attempt_id IN ?", attemptIDs).
		Where("received_at = (SELECT MAX(p.received_at) FROM proctor_snapshots p WHERE p.attempt_id = proctor_snapshots.attempt_id)").
		Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("proctor: latest snapshots: %w", err)
	}
	for _, r := range rows {
		if r.DeletedAt != nil {
			continue
		}
		if prev, ok := out[*r.AttemptID]; !ok || r.ID > prev.ID {
			out[*r.AttemptID] = r.snapshot()
		}
	}
	return out, nil
}

// Purge deletes the images whose retention period ended before now and
// marks their records deleted, audited in batches (the records, their
// hashes and the face checks stay, as evidence that an image existed and
// when it went). It returns how many it deleted; run again after a
// failure, it carries on.
func (s *Snapshots) Purge(ctx context.Context) (int, error) {
	now := s.now().UTC()
	n := 0
	for {
		var rows []snapshotRow
		err := s.db.WithContext(ctx).Select(recordColumns).Where("deleted_at IS NULL AND delete_after < ?", now).
			Order("delete_after").Limit(200).Find(&rows).Error
		if err != nil {
			return n, fmt.Errorf("proctor: purge: %w", err)
		}
		if len(rows) == 0 {
			return n, nil
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			if r.BlobKey != "" {
				if err := s.blobs.Delete(ctx, r.BlobKey); err != nil {
					return n, fmt.Errorf("proctor: purge %s: %w", r.ID, err)
				}
			}
			ids[i] = r.ID
		}
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			err := tx.Model(&snapshotRow{}).Where("id IN ?", ids).Updates(map[string]any{"deleted_at": now, "image": nil}).Error
			if err != nil {
				return err
			}
			return audit.Append(tx, audit.Entry{Actor: "system:retention", Action: "proctoring.purge",
				Subject: "proctor_snapshots", After: map[string]any{"deleted": ids}, At: now})
		})
		if err != nil {
			return n, fmt.Errorf("proctor: purge: %w", err)
		}
		n += len(rows)
	}
}
