package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
)

// copiedTables are the tables Copy copies, parents first, each whole and
// as it is: sealed values keep their bytes (the AAD that binds them to
// their table, column, portal and provider does not change), so the same
// ENCRYPTION_KEY opens them in the target.
var copiedTables = []string{
	"portals",
	"oauth_tokens",
	"api_keys",
	"app_secrets",
	"executions",
	"app_key_quota",
	"app_key_uses",
	"admin_session_generations",
	"webhook_events",
	"erasures",
	"portal_test_modes",
}

// skippedTables are the app's tables Copy leaves behind, with why.
var skippedTables = map[string]string{
	"oauth_states":   "short-lived: an install or connect flow in progress starts again",
	"admin_sessions": "admins sign in again on the new database",
	// River's rows are not needed: the sweeper turns every live execution
	// whose lease ran out, and every outcome awaiting delivery, back into
	// jobs from the ledger, and the periodic jobs are scheduled at start.
	"river_job": "River's jobs are re-created from the execution ledger by the sweeper",
	// The shared limiters' state refills on its own: an empty table is a
	// full bucket, and a lease is minutes long at most.
	"rate_limits":       "rate-limit state: an empty table is a full bucket",
	"rate_limit_leases": "concurrency leases last minutes at most",
	// A cache of which properties exist in a portal: saving results on a
	// record makes sure of them again (idempotent calls) when it is empty.
	"record_properties": "a cache of the app's CRM properties per portal, re-created on the next save",
}

// CopyReport is what Copy did: the rows copied per table, in copiedTables'
// order, and the rows of the tables left behind the source held.
type CopyReport struct {
	Copied  []TableCount
	Skipped []TableCount
}

// TableCount is a table and a number of rows; for a table left behind,
// Reason says why.
type TableCount struct {
	Table  string
	Rows   int64
	Reason string
}

// CopyTables returns the tables Copy copies and those it leaves behind.
// Every table of the schema but schema_migrations and River's bookkeeping
// is one or the other.
func CopyTables() (copied, skipped []string) {
	return slices.Clone(copiedTables), sortedKeys(skippedTables)
}

// ErrTargetNotEmpty is returned by Copy when the target database holds rows.
var ErrTargetNotEmpty = errors.New("store: the target database is not empty")

// copyBatchParams bounds the parameters of one multi-row INSERT (SQLite
// allows 32,766, PostgreSQL 65,535), copyBatchRows its rows.
const (
	copyBatchParams = 30000
	copyBatchRows   = 500
)

// Copy copies a deployment's data from the database at from to the one at
// to (each a DATABASE_URL: SQLite or PostgreSQL). The source is opened
// read-only and read in one snapshot; it must be at the current migration
// version. The target is migrated, must hold no row in any of the app's
// tables, and is written in one transaction: a failed copy leaves it as
// empty as it was.
func Copy(ctx context.Context, from, to string) (CopyReport, error) {
	var rep CopyReport
	src, err := openSource(ctx, from)
	if err != nil {
		return rep, err
	}
	defer src.Close()
	pg := isPostgres(from)
	rtx, err := src.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sourceIsolation(pg)})
	if err != nil {
		return rep, fmt.Errorf("store: read %s: %w", RedactURL(from), err)
	}
	defer rtx.Rollback()
	r := query{x: rtx, pg: pg}
	if err := checkSourceVersion(ctx, r, pg, RedactURL(from)); err != nil {
		return rep, err
	}

	dst, err := Open(ctx, to)
	if err != nil {
		return rep, err
	}
	defer dst.Close()
	wtx, err := dst.w.BeginTxx(ctx, nil)
	if err != nil {
		return rep, fmt.Errorf("store: begin on %s: %w", dst.Path(), err)
	}
	defer wtx.Rollback()
	w := query{x: wtx, pg: dst.Postgres()}
	if dst.Postgres() {
		// Two copies into one database at once: the second waits, then
		// finds the first one's rows.
		if _, err := w.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, migrationLock); err != nil {
			return rep, fmt.Errorf("store: lock %s: %w", dst.Path(), err)
		}
	}
	if err := checkEmpty(ctx, w, dst.Path()); err != nil {
		return rep, err
	}
	for _, table := range copiedTables {
		n, err := copyTable(ctx, r, w, table)
		if err != nil {
			return CopyReport{}, fmt.Errorf("store: copy %s: %w", table, err)
		}
		rep.Copied = append(rep.Copied, TableCount{Table: table, Rows: n})
	}
	for _, table := range sortedKeys(skippedTables) {
		var n int64
		if err := r.QueryRowxContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			return CopyReport{}, fmt.Errorf("store: count %s: %w", table, err)
		}
		rep.Skipped = append(rep.Skipped, TableCount{Table: table, Rows: n, Reason: skippedTables[table]})
	}
	if err := wtx.Commit(); err != nil {
		return CopyReport{}, fmt.Errorf("store: commit the copy to %s: %w", dst.Path(), err)
	}
	return rep, nil
}

// sourceIsolation gives PostgreSQL's read one snapshot for every table; a
// SQLite read transaction has one already.
func sourceIsolation(pg bool) sql.IsolationLevel {
	if pg {
		return sql.LevelRepeatableRead
	}
	return sql.LevelDefault
}

// openSource opens the database at raw read-only, without migrating it.
func openSource(ctx context.Context, raw string) (*sqlx.DB, error) {
	if isPostgres(raw) {
		db, err := sqlx.Open("pgx", raw)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", redactURL(raw), err)
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: connect to %s: %w", redactURL(raw), err)
		}
		return db, nil
	}
	path, err := sqlitePath(raw)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: source database %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: source database %s: %w", path, err)
	}
	db, err := sqlx.Open("sqlite3", sqliteURI(abs)+"?mode=ro&_query_only=true&_busy_timeout=5000")
	if err != nil {
		return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// checkSourceVersion refuses a source whose applied migrations are not
// exactly the embedded ones.
func checkSourceVersion(ctx context.Context, r query, pg bool, name string) error {
	names, err := migrationNames(pg)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[strings.TrimSuffix(filepath.Base(n), ".sql")] = true
	}
	var applied []string
	if err := sqlx.SelectContext(ctx, r, &applied, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		return fmt.Errorf("store: %s has no readable schema_migrations (is it a hubspot-actions database?): %w", name, err)
	}
	for _, v := range applied {
		if !want[v] {
			return fmt.Errorf("store: %s has migration %s, which this release does not know: copy with the release that wrote it", name, v)
		}
		delete(want, v)
	}
	if len(want) > 0 {
		return fmt.Errorf("store: %s is %d migration(s) behind this release: run `hubspot-actions migrate` on it first (DATABASE_URL=%s)", name, len(want), name)
	}
	return nil
}

// checkEmpty refuses a target with a row in any of the app's tables.
func checkEmpty(ctx context.Context, w query, name string) error {
	var full []string
	for _, table := range append(append([]string{}, copiedTables...), sortedKeys(skippedTables)...) {
		var n int64
		if err := w.QueryRowxContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+table+` LIMIT 1) t`).Scan(&n); err != nil {
			return fmt.Errorf("store: read %s in %s: %w", table, name, err)
		}
		if n > 0 {
			full = append(full, table)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: %s has rows in %s; copy-data writes only into a new, empty database", ErrTargetNotEmpty, name, strings.Join(full, ", "))
	}
	return nil
}

// copyTable streams table's rows from r into w in multi-row INSERTs,
// naming the columns (their order may differ between databases), and
// returns how many it copied.
func copyTable(ctx context.Context, r, w query, table string) (int64, error) {
	rows, err := r.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	per := min(copyBatchRows, copyBatchParams/len(cols))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	head := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES `
	var (
		n     int64
		batch []any
		count int
	)
	flush := func() error {
		if count == 0 {
			return nil
		}
		q := head + strings.TrimSuffix(strings.Repeat(one+", ", count), ", ")
		if _, err := w.ExecContext(ctx, q, batch...); err != nil {
			return err
		}
		n += int64(count)
		batch, count = batch[:0], 0
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		batch = append(batch, vals...)
		if count++; count == per {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return n, nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
