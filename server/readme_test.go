package server

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's configuration reference from the settings table")

// TestREADMESettings keeps the README's configuration reference equal to
// the settings table (go test ./server -run TestREADME -update rewrites it).
func TestREADMESettings(t *testing.T) {
	path := filepath.Join("..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	const begin, end = "<!-- settings:begin", "<!-- settings:end -->"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %s … %s markers", begin, end)
	}
	i += strings.Index(s[i:], "-->") + len("-->\n")
	want := "\n" + SettingsMarkdown() + "\n"
	if s[i:j] == want {
		return
	}
	if !*update {
		t.Fatal("README.md configuration reference is out of date; run: go test ./server -run TestREADME -update")
	}
	if err := os.WriteFile(path, []byte(s[:i]+want+s[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}
