package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gofiber/fiber/v2"
)

// The face checks of proctoring snapshots run in the candidate's browser
// (web/static/facecheck.js) with Human (@vladmandic/human, MIT), installed by
// `npm ci` in web/proctoring. The server serves Human's browser bundle and
// the two small models the checks use, BlazeFace (faces) and FaceMesh
// (landmarks, from which Human estimates the head's yaw and pitch), from that
// package directory: 4.5 MB that stay out of the repository and the binary,
// and that the browser never fetches from anywhere but this server.

// proctoringFiles are the only files of the package served, by the name under
// /static/proctoring/human-<version>/ and their path in the package. Nothing
// else of the package (demos, sources, forty other models) is reachable.
var proctoringFiles = map[string]struct{ path, contentType string }{
	"human.esm.js":          {"dist/human.esm.js", "text/javascript; charset=utf-8"},
	"models/blazeface.json": {"models/blazeface.json", "application/json"},
	"models/blazeface.bin":  {"models/blazeface.bin", "application/octet-stream"},
	"models/facemesh.json":  {"models/facemesh.json", "application/json"},
	"models/facemesh.bin":   {"models/facemesh.bin", "application/octet-stream"},
	"LICENSE":               {"LICENSE", "text/plain; charset=utf-8"},
}

// proctoringAssets is the installed package, or why it cannot be served.
type proctoringAssets struct {
	dir     string // the package directory; empty when unavailable
	version string // the package's version, part of every asset URL
	reason  string // why the face checks are unavailable
}

// loadProctoringAssets checks that dir holds the package with every file
// served, and logs the outcome once at start: a deployment without them still
// runs, and its pages say that face checks are unavailable.
func loadProctoringAssets(dir string, logger *slog.Logger) proctoringAssets {
	a, err := readProctoringAssets(dir)
	if err != nil {
		logger.Warn("face checks of proctoring snapshots are unavailable: run `npm ci` in web/proctoring or set TOUCHSTONE_PROCTORING_ASSETS",
			"dir", dir, "error", err)
		return proctoringAssets{reason: "The face-detection files are not installed on this server."}
	}
	logger.Info("face checks of proctoring snapshots served from this server", "dir", a.dir, "version", a.version)
	return a
}

func readProctoringAssets(dir string) (proctoringAssets, error) {
	if dir == "" {
		return proctoringAssets{}, errors.New("no directory configured")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return proctoringAssets{}, err
	}
	b, err := os.ReadFile(filepath.Join(abs, "package.json"))
	if err != nil {
		return proctoringAssets{}, err
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		return proctoringAssets{}, fmt.Errorf("package.json: %w", err)
	}
	if pkg.Name != "@vladmandic/human" || pkg.Version == "" {
		return proctoringAssets{}, fmt.Errorf("package.json names %s %s, want @vladmandic/human", pkg.Name, pkg.Version)
	}
	for _, f := range proctoringFiles {
		if _, err := os.Stat(filepath.Join(abs, f.path)); err != nil {
			return proctoringAssets{}, err
		}
	}
	return proctoringAssets{dir: abs, version: pkg.Version}, nil
}

// base is the URL path under which the assets of this version are served.
func (a proctoringAssets) base() string { return "/static/proctoring/human-" + a.version + "/" }

// proctoringManifest tells facecheck.js where the library and the models
// are, or why there are none. It is never cached, so that an upgrade of the
// package reaches browsers at once; the versioned assets are cached for good.
func (s *Server) proctoringManifest(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	a := s.proctoring
	if a.dir == "" {
		return c.Status(fiber.StatusOK).JSON(fiber.Map{"available": false, "reason": a.reason})
	}
	return c.Status(fiber.StatusOK).JSON(fiber.Map{
		"available":     true,
		"library":       a.base() + "human.esm.js",
		"modelBasePath": a.base() + "models/",
		"version":       a.version,
		"license":       a.base() + "LICENSE",
	})
}

// proctoringAsset serves one file of proctoringFiles. The version in the
// path makes the URL change with the package, so browsers may keep a file
// for a year without asking again.
func (s *Server) proctoringAsset(c *fiber.Ctx) error {
	a := s.proctoring
	f, ok := proctoringFiles[c.Params("*")]
	if a.dir == "" || !ok || c.Params("version") != "human-"+a.version {
		return fiber.ErrNotFound
	}
	file, err := os.Open(filepath.Join(a.dir, f.path))
	if err != nil {
		return err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderContentType, f.contentType)
	// fasthttp closes the file once the body is written.
	return c.Status(fiber.StatusOK).SendStream(file, int(info.Size()))
}
