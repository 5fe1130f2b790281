// Package store keeps hubspot-actions' durable state: installed portals, their
// OAuth tokens and API keys, OAuth states, and the execution ledger. Secrets
// are sealed (AES-256-GCM) at its boundary: callers hand them over and get
// them back in clear, and the database file never holds them so.
//
// It is the only package that speaks SQL, on SQLite (the default) or
// PostgreSQL (through pgx). Queries are written once, with ? placeholders
// rebound for PostgreSQL (see query); the schema lives in embedded,
// forward-only migrations, one folder per database (migrations/ and
// migrations/postgres/), with the same version numbers.
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write collides with a unique row or loses a
// conditional update to a concurrent writer.
var ErrConflict = errors.New("store: conflict")

// ErrPortalGone means a secret was not saved because its portal is being
// uninstalled, or was: an uninstall deletes every secret in its last write,
// and one saved after it (a connect flow or a key form begun before) would
// outlive it.
var ErrPortalGone = errors.New("store: the app is uninstalled, or being uninstalled, from this portal")

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// DB is the application's database, on SQLite or PostgreSQL. All writes go
// through Write, which groups them into shared transactions; reads use a
// pool of their own on SQLite (WAL lets them run beside the single writer)
// and the one pool on PostgreSQL. It is safe for concurrent use.
type DB struct {
	w    *sqlx.DB // SQLite: the single writer connection, River's too; PostgreSQL: the pool
	rx   *sqlx.DB // the readers' pool (w itself on PostgreSQL)
	r    query    // rx, placeholders rebound to the dialect
	m    *sqlx.DB // SQLite only: one connection for checkpoints
	pool *pgxpool.Pool
	c    *committer
	now  func() time.Time
	path string   // the SQLite file, or the PostgreSQL URL without its password
	keys *keyring // nil when Open was given no keys
}

// Open opens the database named by url, applies pending migrations, River's
// included, and returns it. url is a SQLite file path, optionally written as
// sqlite://path or file:path (the file and its folder are created if
// needed), or a PostgreSQL URL (postgres:// or postgresql://, any parameter
// pgx understands, pool_max_conns included). WithKeys gives it the keys
// secrets are sealed with.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	keys, err := newKeyring(o)
	if err != nil {
		return nil, err
	}
	if isPostgres(url) {
		return openPostgres(ctx, url, keys)
	}
	path, err := sqlitePath(url)
	if err != nil {
		return nil, err
	}
	return openSQLite(ctx, path, keys)
}

// isPostgres reports whether a database URL names PostgreSQL.
func isPostgres(raw string) bool {
	return strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://")
}

func openSQLite(ctx context.Context, path string, keys *keyring) (*DB, error) {
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
	uri := sqliteURI(path)
	w := sqlx.NewDb(sql.OpenDB(connector{writer, uri + "?" + params}), "sqlite3")
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sqlx.Open("sqlite3", uri+"?"+params+"&_query_only=true")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	n := max(2, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	m, err := sqlx.Open("sqlite3", uri+"?"+params)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open %s for checkpoints: %w", path, err)
	}
	m.SetMaxOpenConns(1)
	db := &DB{w: w, rx: r, r: query{x: r}, m: m, now: time.Now, path: path, keys: keys}
	db.c = &committer{begin: beginSQLite(w), keys: keys}
	conn, err := w.Connx(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.migrate(ctx, conn)
	conn.Close() // River's migrations need the one writer connection
	if err == nil {
		err = db.migrateRiver(ctx)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sqliteURI returns the file: URI of the SQLite file at path. In a URI, #
// would end the path (SQLite reads the rest as a fragment), and the driver
// cuts its own parameters at the first ?, so both are escaped, and % with
// them: a test folder named after "FuzzX/seed#0" otherwise opened the file
// "FuzzXseed" that every seed then shared.
func sqliteURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "#", "%23", "?", "%3f").Replace(path)
}

// sqlitePath turns a DATABASE_URL into a file path.
func sqlitePath(raw string) (string, error) {
	switch {
	case raw == "":
		return "", errors.New("store: empty database URL")
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

// Path returns the SQLite file the database lives in, or for PostgreSQL its
// URL without the password.
func (db *DB) Path() string { return db.path }

// Postgres reports whether the database is PostgreSQL.
func (db *DB) Postgres() bool { return db.pool != nil }

// Close checkpoints SQLite's write-ahead log into the database file and
// closes the connection pools.
func (db *DB) Close() error {
	if db.Postgres() {
		err := db.w.Close()
		db.pool.Close()
		return err
	}
	_, cerr := db.m.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(cerr, db.rx.Close(), db.w.Close(), db.m.Close())
}

// Checkpoint copies what SQLite's write-ahead log holds into the database
// file without blocking the writer or readers (a passive checkpoint), so the
// log can restart from its beginning. Call it every few seconds; the writer
// does not checkpoint on its own. On PostgreSQL, which checkpoints itself, it
// does nothing.
func (db *DB) Checkpoint(ctx context.Context) error {
	if db.Postgres() {
		return nil
	}
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

// SQL returns the writer pool (on PostgreSQL, the pool). Callers must not
// use it for their own writes; those go through Write.
func (db *DB) SQL() *sql.DB { return db.w.DB }

// RiverSQLite returns River's driver for a SQLite database, nil on
// PostgreSQL; jobs are then inserted with Tx.SQL.
func (db *DB) RiverSQLite() riverdriver.Driver[*sql.Tx] {
	if db.Postgres() {
		return nil
	}
	return riversqlite.New(db.w.DB)
}

// RiverPostgres returns River's driver for a PostgreSQL database, nil on
// SQLite; jobs are then inserted with Tx.PGX.
func (db *DB) RiverPostgres() riverdriver.Driver[pgx.Tx] {
	if !db.Postgres() {
		return nil
	}
	return riverpgxv5.New(db.pool)
}

// Ready reports whether the database answers and every embedded migration has
// been applied.
func (db *DB) Ready(ctx context.Context) error {
	want, err := migrationNames(db.Postgres())
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

func migrationNames(postgres bool) ([]string, error) {
	pattern := "migrations/*.sql"
	if postgres {
		pattern = "migrations/postgres/*.sql"
	}
	names, err := fs.Glob(migrationFS, pattern)
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, each in its own transaction on conn.
func (db *DB) migrate(ctx context.Context, conn *sqlx.Conn) error {
	pg := db.Postgres()
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)`
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	names, err := migrationNames(pg)
	if err != nil {
		return err
	}
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: read %s: %w", name, err)
		}
		err = inTx(ctx, conn, func(tx query) error {
			var n int
			const q = `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`
			if err := tx.QueryRowxContext(ctx, q, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// Without arguments, pgx sends the file as one simple query,
			// several statements and all.
			if _, err := tx.x.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			const ins = `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`
			_, err := tx.ExecContext(ctx, ins, version, ms(db.Now()))
			return err
		}, pg)
		if err != nil {
			return fmt.Errorf("store: apply migration %s: %w", version, err)
		}
	}
	return nil
}

// migrateRiver applies River's migrations.
func (db *DB) migrateRiver(ctx context.Context) error {
	var err error
	if db.Postgres() {
		var m *rivermigrate.Migrator[pgx.Tx]
		if m, err = rivermigrate.New(db.RiverPostgres(), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	} else {
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(db.RiverSQLite(), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction on conn.
func inTx(ctx context.Context, conn *sqlx.Conn, fn func(tx query) error, pg bool) error {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := fn(query{x: tx, pg: pg}); err != nil {
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
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" /* unique_violation */ {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}
