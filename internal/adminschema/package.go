package adminschema

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Where the schema comes from. Flow evaluates Liquid and Admin API requests
// with API version 2026-01 (reference/flow.md §1.5), so that is the version
// flowbridge sends and tests against.
const (
	PackageName    = "@shopify/dev-mcp"
	PackageVersion = "1.16.0"
	// PackageIntegrity is the registry's dist.integrity for PackageVersion;
	// FetchPackage refuses a tarball that does not match it.
	PackageIntegrity = "sha512-tqgRnK7sQhjew+htxtleTH23nXB5fZcsrhWgEkomsorGXvLOB2mh2upwZm8uzuTDNTZnqtLMe64yIwh6s2awtw=="
	Version          = "2026-01"
	dataFile         = "package/dist/data/admin_" + Version + ".json.gz"
	// SDLFile is the checked-in, generated schema.
	SDLFile = "admin_" + Version + ".graphql"
	// PackageEnv names a local copy of the tarball (scripts/test sets it);
	// without it FetchPackage caches one under the user cache directory.
	PackageEnv = "FLOWBRIDGE_DEV_MCP_TGZ"
)

// FetchPackage returns the path of the pinned @shopify/dev-mcp tarball: the
// file PackageEnv names if set, else a copy cached in dir (the user cache
// directory when empty), fetched with `npm pack` when missing. The tarball's
// integrity is checked either way.
func FetchPackage(ctx context.Context, dir string) (string, error) {
	if p := os.Getenv(PackageEnv); p != "" {
		return p, checkIntegrity(p)
	}
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("adminschema: no cache directory: %w", err)
		}
		dir = filepath.Join(c, "flowbridge")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, "shopify-dev-mcp-"+PackageVersion+".tgz")
	if err := checkIntegrity(p); err == nil {
		return p, nil
	}
	cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", PackageName+"@"+PackageVersion, "--pack-destination", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("adminschema: npm pack %s@%s: %w: %s", PackageName, PackageVersion, err, strings.TrimSpace(stderr.String()))
	}
	return p, checkIntegrity(p)
}

func checkIntegrity(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha512.Sum512(b)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != PackageIntegrity {
		return fmt.Errorf("adminschema: %s has integrity %s, want %s", path, got, PackageIntegrity)
	}
	return nil
}

// SDLFromPackage reads the Admin introspection for Version out of the npm
// tarball at path and converts it with SDLFromIntrospection.
func SDLFromPackage(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("adminschema: %s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("adminschema: %s has no %s", path, dataFile)
		}
		if err != nil {
			return nil, fmt.Errorf("adminschema: %s: %w", path, err)
		}
		if h.Name == dataFile {
			return SDLFromIntrospection(tr)
		}
	}
}
