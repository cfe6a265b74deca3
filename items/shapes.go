package items

import (
	"context"
	"sync"
)

// AnswerShapes returns, for each published version id, what an answer to
// it is checked against: the kind, the options and the targets. A version's
// shape never changes (a rekey may change only the key, never what
// candidates saw), so shapes are kept in memory after the first read and an
// answer save costs no item query. Unknown ids are left out.
func (s *Store) AnswerShapes(ctx context.Context, versionIDs []string) (map[string]Content, error) {
	out := make(map[string]Content, len(versionIDs))
	var missing []string
	for _, id := range versionIDs {
		if c, ok := s.shapes.get(id); ok {
			out[id] = c
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
		c := Content{Kind: it.Content.ItemKind(), Options: it.Content.Options, Targets: it.Content.Targets}
		s.shapes.put(id, c)
		out[id] = c
	}
	return out, nil
}

// CandidateContents returns each published version as candidates see it
// (Content.ForCandidate: rendered, no key, no rationale, options in the
// authored order). What a candidate sees of a version never changes, so
// the rendering, the dearest part of showing an attempt, is done once and
// kept in memory. Unknown ids are left out.
func (s *Store) CandidateContents(ctx context.Context, versionIDs []string) (map[string]CandidateContent, error) {
	out := make(map[string]CandidateContent, len(versionIDs))
	var missing []string
	for _, id := range versionIDs {
		if c, ok := s.shapes.rendered(id); ok {
			out[id] = c
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
		c := s.shapes.renderer().ForCandidate(it.Content)
		s.shapes.putRendered(id, c)
		out[id] = c
	}
	return out, nil
}

// maxShapes bounds the shape cache: far more versions than one sitting
// delivers, a few megabytes at most.
const maxShapes = 50_000

// shapeCache is the memory of AnswerShapes and CandidateContents, shared
// by a Store and its In copies.
type shapeCache struct {
	mu       sync.RWMutex
	m        map[string]Content
	views    map[string]CandidateContent
	once     sync.Once
	markdown *Renderer
}

func (c *shapeCache) renderer() *Renderer {
	c.once.Do(func() { c.markdown = NewRenderer() })
	return c.markdown
}

func (c *shapeCache) rendered(id string) (CandidateContent, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.views[id]
	return v, ok
}

func (c *shapeCache) putRendered(id string, v CandidateContent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.views == nil || len(c.views) >= maxShapes {
		c.views = make(map[string]CandidateContent)
	}
	c.views[id] = v
}

func (c *shapeCache) get(id string) (Content, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[id]
	return v, ok
}

func (c *shapeCache) put(id string, v Content) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxShapes {
		c.m = make(map[string]Content) // start over rather than track recency
	}
	c.m[id] = v
}
