// Package store keeps hubspot-actions' durable state: installed portals, their
// OAuth tokens and API keys, OAuth states, and the execution ledger. Secrets
// are sealed (AES-256-GCM) at its boundary: callers hand them over and get
// them back in clear, and the database file never holds them so.
//
// It is the only package that speaks SQL. The schema lives in embedded,
// forward-only migrations written to run on SQLite and PostgreSQL alike; only
// SQLite is wired today.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write collides with a unique row or loses a
// conditional update to a concurrent writer.
var ErrConflict = errors.New("store: conflict")

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is the application's database. All writes go through one connection,
// grouped into shared transactions by Write; reads use a separate pool. It is
// safe for concurrent use.
type DB struct {
	w    *sqlx.DB // the single writer connection; River uses it too
	r    *sqlx.DB // readers (WAL lets them run beside the writer)
	m    *sqlx.DB // one connection for checkpoints
	c    *committer
	now  func() time.Time
	path string
	keys *keyring // nil when Open was given no keys
}

// Open opens (creating it and its folder if needed) the database named by
// url, applies pending migrations, River's included, and returns it. url is a
// SQLite file path, optionally written as sqlite://path or file:path.
// PostgreSQL URLs are recognised and refused until that backend lands.
// WithKeys gives it the keys secrets are sealed with.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	keys, err := newKeyring(o)
	if err != nil {
		return nil, err
	}
	path, err := sqlitePath(url)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create folder for %s: %w", path, err)
		}
	}
	// synchronous=NORMAL in WAL mode keeps every committed transaction across a
	// process crash (kill -9); only an OS crash or power loss can drop the last
	// commits. The statement cache matters: River's SQL is long and costly to
	// prepare.
	const params = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=5000&_txlock=immediate&_synchronous=NORMAL&_stmt_cache_size=256"
	// The writer never checkpoints on commit: a checkpoint copies the WAL
	// into the database file and syncs it, which would stall whichever
	// commit triggered it. Checkpoint does that work on its own connection.
	writer := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// secure_delete zeroes what a write frees or overwrites, so data an
		// erasure removed does not linger in free space (see Scrub).
		_, err := c.Exec("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=67108864; PRAGMA secure_delete=ON", nil)
		return err
	}}
	w := sqlx.NewDb(sql.OpenDB(connector{writer, fileURI(path) + "?" + params}), "sqlite3")
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sqlx.Open("sqlite3", fileURI(path)+"?"+params+"&_query_only=true")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	n := max(2, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	m, err := sqlx.Open("sqlite3", fileURI(path)+"?"+params)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open %s for checkpoints: %w", path, err)
	}
	m.SetMaxOpenConns(1)
	db := &DB{w: w, r: r, m: m, now: time.Now, path: path, keys: keys}
	db.c = &committer{db: w, keys: keys}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sqlitePath turns a DATABASE_URL into a file path.
func sqlitePath(raw string) (string, error) {
	switch {
	case raw == "":
		return "", errors.New("store: empty database URL")
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return "", errors.New("store: PostgreSQL is not supported yet; use a SQLite file path")
	case strings.HasPrefix(raw, "sqlite://"):
		return strings.TrimPrefix(raw, "sqlite://"), nil
	case strings.HasPrefix(raw, "sqlite:"):
		return strings.TrimPrefix(raw, "sqlite:"), nil
	case strings.HasPrefix(raw, "file:"):
		u, err := url.Parse(raw)
		if err != nil {
			return "", fmt.Errorf("store: parse database URL: %w", err)
		}
		if u.Opaque != "" {
			return u.Opaque, nil
		}
		return u.Path, nil
	case strings.Contains(raw, "://"):
		return "", fmt.Errorf("store: unsupported database URL scheme in %q", raw[:strings.Index(raw, "://")+3])
	}
	return raw, nil
}

// Path returns the SQLite file the database lives in.
func (db *DB) Path() string { return db.path }

// Close checkpoints the write-ahead log into the database file and closes
// the connection pools.
func (db *DB) Close() error {
	_, cerr := db.m.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(cerr, db.r.Close(), db.w.Close(), db.m.Close())
}

// Checkpoint copies what the write-ahead log holds into the database file
// without blocking the writer or readers (a passive checkpoint), so the log
// can restart from its beginning. Call it every few seconds; the writer
// does not checkpoint on its own.
func (db *DB) Checkpoint(ctx context.Context) error {
	if _, err := db.m.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
}

// connector opens writer connections through a driver with a connect hook,
// without registering a driver globally.
type connector struct {
	d   *sqlite3.SQLiteDriver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.d }

// SQL returns the writer pool for River's driver. Callers must not use it for
// their own writes; those go through Write.
func (db *DB) SQL() *sql.DB { return db.w.DB }

// Ready reports whether the database answers and every embedded migration has
// been applied.
func (db *DB) Ready(ctx context.Context) error {
	want, err := migrationNames()
	if err != nil {
		return err
	}
	var applied int
	const q = `SELECT COUNT(*) FROM schema_migrations`
	if err := db.r.QueryRowxContext(ctx, q).Scan(&applied); err != nil {
		return fmt.Errorf("store: read migrations: %w", err)
	}
	if applied < len(want) {
		return fmt.Errorf("store: %d of %d migrations applied", applied, len(want))
	}
	return nil
}

// Now returns the store's clock, in UTC.
func (db *DB) Now() time.Time { return db.now().UTC() }

// SetClock replaces the store's clock; tests use it to move time.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

func (db *DB) migrate(ctx context.Context) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)`
	if _, err := db.w.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: read %s: %w", name, err)
		}
		err = db.inTx(ctx, func(tx *sqlx.Tx) error {
			var n int
			const q = `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`
			if err := tx.QueryRowxContext(ctx, q, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			const ins = `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`
			_, err := tx.ExecContext(ctx, ins, version, ms(db.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: apply migration %s: %w", version, err)
		}
	}
	m, err := rivermigrate.New(riversqlite.New(db.w.DB), nil)
	if err != nil {
		return fmt.Errorf("store: river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	return nil
}

func (db *DB) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// mapErr converts driver errors into the store's sentinel errors.
func mapErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se sqlite3.Error
	if errors.As(err, &se) && (se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey) {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}
