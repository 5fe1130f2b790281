package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenPathWithURICharacters: a path with '#', '?' or '%' (a test's
// temporary folder named after "seed#0", say) is the file it names, not
// a shorter path that other databases would share.
func TestOpenPathWithURICharacters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for _, name := range []string{"a#1", "a#2", "b?x=1", "c%41"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name, "test.db")
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("no database file at %s: %v", path, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Errorf("a file %q was created: the path was cut at '#'", filepath.Join(dir, "a"))
	}
}
