package store

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// migrationLock is the PostgreSQL advisory lock held while migrations are
// applied, so that replicas starting at once apply them one after the other
// (the later ones then find nothing to do).
const migrationLock int64 = 0x6875627370_6d6967 // "hubsp" "mig"

// defaultMaxConns is the pool's size unless the URL sets pool_max_conns:
// River holds one connection for LISTEN, its producers and the write path
// one each, and readers share the rest.
const defaultMaxConns = 20

// minMaxConns is the smallest pool the store works with.
const minMaxConns = 4

// openPostgres opens a pool of pgx connections to the database at raw,
// applies the migrations under the advisory lock, and returns the store.
func openPostgres(ctx context.Context, raw string, keys *keyring) (*DB, error) {
	shown := redactURL(raw)
	cfg, err := pgxpool.ParseConfig(raw)
	if err != nil {
		// pgx's message names the URL with its password hidden.
		return nil, fmt.Errorf("store: parse PostgreSQL URL: %w", err)
	}
	if !strings.Contains(raw, "pool_max_conns=") {
		cfg.MaxConns = defaultMaxConns
	}
	if cfg.MaxConns < minMaxConns {
		// Migrations hold one connection for their lock while River's take
		// another, and the write path, River and readers need theirs: a
		// smaller pool would wait on itself forever.
		return nil, fmt.Errorf("store: %s: pool_max_conns=%d is too small; it must be at least %d", shown, cfg.MaxConns, minMaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", shown, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = pool.Ping(pctx)
	cancel()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", shown, err)
	}
	w := sqlx.NewDb(stdlib.OpenDBFromPool(pool), "pgx")
	db := &DB{w: w, rx: w, r: query{x: w, pg: true}, pool: pool, now: time.Now, path: shown, keys: keys}
	db.c = &committer{begin: beginPostgres(w), keys: keys}
	if err := db.migrateLocked(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// migrateLocked applies our migrations and River's while holding
// migrationLock on a connection of its own.
func (db *DB) migrateLocked(ctx context.Context) error {
	conn, err := db.w.Connx(ctx)
	if err != nil {
		return fmt.Errorf("store: connect for migrations: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("store: lock for migrations: %w", err)
	}
	err = db.migrate(ctx, conn)
	if err == nil {
		err = db.migrateRiver(ctx)
	}
	// Closing the connection would release the lock too, but the pool
	// keeps the connection open.
	if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); uerr != nil && err == nil {
		err = fmt.Errorf("store: unlock after migrations: %w", uerr)
	}
	return err
}

// beginPostgres begins write transactions on PostgreSQL. A transaction is
// begun through pgx on a connection the store holds for the transaction's
// whole life, so that River's pgx driver (InsertTx with Tx.PGX) and the
// store's sqlx statements (on the same connection, hence inside the
// transaction) write atomically. The pgx connection is taken out of
// database/sql's Raw: the store keeps using it after Raw returns, which is
// safe because the *sql.Conn is held by one goroutine (the committer's
// leader) until the transaction ends, and database/sql touches the driver
// connection again only when it is closed, by which time the transaction
// is over (its reset check would otherwise discard the connection).
func beginPostgres(w *sqlx.DB) func(ctx context.Context) (*Tx, error) {
	return func(ctx context.Context) (*Tx, error) {
		conn, err := w.Connx(ctx)
		if err != nil {
			return nil, err
		}
		var pc *pgx.Conn
		err = conn.Raw(func(dc any) error {
			sc, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("connection is a %T, not pgx's", dc)
			}
			pc = sc.Conn()
			return nil
		})
		if err != nil {
			conn.Close()
			return nil, err
		}
		ptx, err := pc.Begin(ctx)
		if err != nil {
			conn.Close()
			return nil, err
		}
		return &Tx{x: query{x: conn, pg: true}, pgx: ptx, end: func(commit bool) error {
			defer conn.Close()
			if commit {
				return ptx.Commit(ctx)
			}
			return ptx.Rollback(ctx)
		}}, nil
	}
}

// redactURL returns a PostgreSQL URL without its password, to name the
// database in errors and output.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the PostgreSQL database"
	}
	// pgx also takes a password as a parameter (password=, sslpassword=).
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

// RedactURL returns a DATABASE_URL fit to print: a PostgreSQL URL without
// its passwords, a SQLite path as it is.
func RedactURL(raw string) string {
	if isPostgres(raw) {
		return redactURL(raw)
	}
	return raw
}
