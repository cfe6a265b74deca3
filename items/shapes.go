package items

import (
	"context"
	"sync"

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
	})
}

// CandidateContents returns each published version as candidates see it
// (Content.ForCandidate: rendered, no key, no rationale, options in the
// authored order). What a candidate sees of a version never changes, so
// the rendering, the dearest part of showing an attempt, is done once and
// kept in memory. Unknown ids are left out.
func (s *Store) CandidateContents(ctx context.Context, versionIDs []string) (map[string]CandidateContent, error) {
	return cachedVersions(ctx, s, versionIDs, &s.shapes.views, func(it Item) CandidateContent {
		return s.shapes.renderer().ForCandidate(it.Content)
	})
}

// cachedVersions returns derive of each version in ids, reading from the
// database only the versions known does not hold yet.
func cachedVersions[T any](ctx context.Context, s *Store, ids []string, known *memo.Map[string, T], derive func(Item) T) (map[string]T, error) {
	out := make(map[string]T, len(ids))
	var missing []string
	for _, id := range ids {
		if v, ok := known.Get(id); ok {
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
	answers memo.Map[string, Content]
	views   memo.Map[string, CandidateContent]

	once     sync.Once
	markdown *Renderer
}

func (c *versionCache) renderer() *Renderer {
	c.once.Do(func() { c.markdown = NewRenderer() })
	return c.markdown
}
