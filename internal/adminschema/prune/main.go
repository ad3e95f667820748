// Command prune regenerates internal/adminschema's checked-in SDL from the
// @shopify/dev-mcp package: it fetches the pinned version with `npm pack`
// (or reads a tarball given with -tgz) and writes admin_<version>.graphql.
//
//	go run ./internal/adminschema/prune            # fetch with npm, write the file
//	go run ./internal/adminschema/prune -tgz x.tgz # from a downloaded tarball
//
// TestCheckedInMatchesPackage fails when the file and the package disagree.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flowbridge/flowbridge/internal/adminschema"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "prune:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tgz := fs.String("tgz", "", "the npm tarball of "+adminschema.PackageName+"@"+adminschema.PackageVersion+" (fetched with npm when empty)")
	out := fs.String("out", filepath.Join("internal", "adminschema", adminschema.SDLFile), "where to write the SDL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tgz == "" {
		p, err := adminschema.FetchPackage(ctx, "")
		if err != nil {
			return err
		}
		*tgz = p
	}
	sdl, err := adminschema.SDLFromPackage(*tgz)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, sdl, 0o644)
}
