// Package storetest gives tests a fresh, empty database: a SQLite file under
// the test's temporary folder, or, when TEST_DATABASE_URL names a PostgreSQL
// database, a schema of its own in that database, dropped when the test
// ends. Tests that open their store through URL run on both.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for creating and dropping schemas
)

// EnvURL is the variable naming the PostgreSQL database tests run on; when
// it is empty they run on SQLite.
const EnvURL = "TEST_DATABASE_URL"

// Postgres reports whether tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvURL) != "" }

// URL returns the DATABASE_URL of a new, empty database for t: every call
// returns another one; opening the same URL twice opens the same database.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		return filepath.Join(t.TempDir(), "test.db")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s is not a postgres:// URL", EnvURL)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", u.Redacted(), err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s in %s: %v", schema, u.Redacted(), err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("open %s: %v", u.Redacted(), err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLiteOnly skips t when tests run on PostgreSQL: it reads or writes the
// SQLite file itself. why says what it needs of SQLite.
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if Postgres() {
		t.Skipf("SQLite only (%s)", strings.TrimSpace(why))
	}
}
