package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenPathWithURICharacters: a database path holding characters that
// mean something in a file: URI ('#', '?', '%') opens that very file, with
// its settings, not a truncated path that another database may share (Go
// names the temporary folders of fuzz seeds "FuzzX/seed#N").
func TestOpenPathWithURICharacters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	for _, name := range []string{"seed#1", "seed#2", "a?b=c", "100%25", "plain"} {
		path := filepath.Join(root, name, "test.db")
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open(%q): %v", path, err)
		}
		if err := db.Write(ctx, func(tx *Tx) error { return tx.UpsertPortal(ctx, Portal{PortalID: 42, HubDomain: name}) }); err != nil {
			t.Fatalf("write to %q: %v", path, err)
		}
		var mode string
		if err := db.w.GetContext(ctx, &mode, "PRAGMA journal_mode"); err != nil || mode != "wal" {
			t.Errorf("%q: journal_mode = %q, %v; want wal", path, mode, err)
		}
		db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("Open(%q) wrote no file there: %v", path, err)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 5 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the databases wrote %v in %s, want only the five folders", names, root)
	}
	for _, name := range []string{"seed#1", "seed#2"} {
		db, err := Open(ctx, filepath.Join(root, name, "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := db.GetPortal(ctx, 42)
		db.Close()
		if err != nil || p.HubDomain != name {
			t.Errorf("%s holds portal %+v, %v; want its own (%s)", name, p, err, name)
		}
	}
}
