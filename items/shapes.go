package items

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/touchstone-assess/touchstone/internal/memo"
)

// AnswerShapes returns, for each published version id, what an answer to
// it is checked against: the kind, the options and the targets. A version's
// shape never changes (a rekey may change only the key, never what
// candidates saw), so shapes are kept in memory after the first read and an
// answer save costs no item query. Unknown ids are left out.
func (s *Store) AnswerShapes(ctx context.Context, versionIDs []string) (map[string]Content, error) {
	return cachedVersions(ctx, s, versionIDs, &s.shapes.answers, func(it Item) Content {
		return Content{Kind: it.Content.ItemKind(), Options: it.Content.Options, Targets: it.Content.Targets}
	}, nil)
}

// CandidateContents returns each published version as candidates see it
// (Content.ForCandidate: rendered, no key, no rationale, options in the
// authored order). What a candidate sees of a version never changes, so
// the rendering, the dearest part of showing an attempt, is done once and
// kept in memory. Unknown ids are left out.
func (s *Store) CandidateContents(ctx context.Context, versionIDs []string) (map[string]CandidateContent, error) {
	return cachedVersions(ctx, s, versionIDs, &s.shapes.views, func(it Item) CandidateContent {
		return s.shapes.renderer().ForCandidate(it.Content)
	}, nil)
}

// Scoring is what scoring a response to a version needs: the version's
// content, key included as last corrected, and the item's latest IRT
// parameters (nil before a calibration). Its slices are shared: read
// them, never change them.
type Scoring struct {
	Content Content
	Params  *Params
}

// scoringAt is a version's Scoring as read at its item's revision.
type scoringAt struct {
	revision string
	Scoring
}

// Scorings returns, for each version id, what scoring needs of it. Unlike
// a version's shape, its key (a rekey) and its item's parameters (a
// calibration) may change; a trigger gives the item a new revision when
// either does (migration 00017, item_revisions). So a Store reads the
// versions' revisions, one light statement, and the versions in full only
// when it holds none of them at that revision. Unknown ids are left out.
func (s *Store) Scorings(ctx context.Context, versionIDs []string) (map[string]Scoring, error) {
	versionIDs = slices.DeleteFunc(slices.Clone(versionIDs), func(id string) bool { return uuid.Validate(id) != nil })
	out := make(map[string]Scoring, len(versionIDs))
	if len(versionIDs) == 0 {
		return out, nil
	}
	revision, err := s.revisions(ctx, "item_versions", "item_id", versionIDs)
	if err != nil {
		return nil, err
	}
	// The versions are read after their revisions: as new as them or
	// newer, and a newer revision reads them again.
	known, err := cachedVersions(ctx, s, slices.Collect(maps.Keys(revision)), &s.shapes.scoring,
		func(it Item) scoringAt {
			return scoringAt{revision: revision[it.VersionID], Scoring: Scoring{Content: it.Content, Params: it.Params}}
		},
		func(id string, v scoringAt) bool { return v.revision == revision[id] })
	if err != nil {
		return nil, err
	}
	for id, v := range known {
		out[id] = v.Scoring
	}
	return out, nil
}

// revisions returns the revision of the item of each row of table (items
// or item_versions) with the given ids, keyed by id; "" for an item whose
// row and versions never changed. itemColumn names the item's id in table.
// Unknown ids are left out.
func (s *Store) revisions(ctx context.Context, table, itemColumn string, ids []string) (map[string]string, error) {
	var rows []struct{ ID, Revision string }
	err := s.db.WithContext(ctx).Table(table+" t").Select("t.id, COALESCE(r.revision, '') AS revision").
		Joins("LEFT JOIN item_revisions r ON r.item_id = t."+itemColumn).Where("t.id IN ?", ids).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("items: revisions: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Revision
	}
	return out, nil
}

// itemAt is an item at its published version as read at its revision.
type itemAt struct {
	revision string
	Item
}

// Delivered is Current for delivery, remembered: a Store reads the items'
// revisions, one light statement, and the items in full only when it
// holds none of them at that revision (see Scorings). What it returns is
// current but for Exposures and UpdatedAt, which are as of the last full
// read: delivery counts do not change an item's revision. Its slices are
// shared: read them, never change them.
func (s *Store) Delivered(ctx context.Context, ids []string) ([]Item, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return uuid.Validate(id) != nil })
	if len(ids) == 0 {
		return nil, nil
	}
	revision, err := s.revisions(ctx, "items", "id", ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Item, len(revision))
	var missing []string
	for id, rev := range revision {
		if known, ok := s.shapes.delivered.Get(id); ok && known.revision == rev {
			byID[id] = known.Item
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		// Read after the revisions: as new as them or newer.
		read, err := s.Current(ctx, missing)
		if err != nil {
			return nil, err
		}
		for _, it := range read {
			s.shapes.delivered.Put(it.ID, itemAt{revision: revision[it.ID], Item: it})
			byID[it.ID] = it
		}
	}
	out := make([]Item, 0, len(ids))
	for _, id := range ids {
		if it, ok := byID[id]; ok {
			out = append(out, it)
		}
	}
	return out, nil
}

// cachedVersions returns derive of each version in ids, reading from the
// database only the versions known does not hold yet, or holds as fresh
// says they no longer are (nil: what is known stays fresh).
func cachedVersions[T any](ctx context.Context, s *Store, ids []string, known *memo.Map[string, T], derive func(Item) T, fresh func(id string, v T) bool) (map[string]T, error) {
	out := make(map[string]T, len(ids))
	var missing []string
	for _, id := range ids {
		if v, ok := known.Get(id); ok && (fresh == nil || fresh(id, v)) {
			out[id] = v
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	versions, err := s.Versions(ctx, missing)
	if err != nil {
		return nil, err
	}
	for id, it := range versions {
		v := derive(it)
		known.Put(id, v)
		out[id] = v
	}
	return out, nil
}

// maxMemo bounds each memo: far more versions than one sitting delivers,
// a few megabytes at most.
const maxMemo = 50_000

// versionCache is what AnswerShapes and CandidateContents remember, shared
// by a Store and its In copies.
type versionCache struct {
	answers   memo.Map[string, Content]
	views     memo.Map[string, CandidateContent]
	scoring   memo.Map[string, scoringAt]
	delivered memo.Map[string, itemAt]

	once     sync.Once
	markdown *Renderer
}

func (c *versionCache) renderer() *Renderer {
	c.once.Do(func() { c.markdown = NewRenderer() })
	return c.markdown
}
