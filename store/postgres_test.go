package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"hubspot-actions/store/storetest"
)

func needPostgres(t *testing.T) {
	t.Helper()
	if !storetest.Postgres() {
		t.Skipf("%s is not set: `make test` sets it (see .ci/postgres)", storetest.EnvURL)
	}
}

// TestOpenConcurrentlyOnPostgres: replicas starting at once against an empty
// database all start, and the migrations are applied once (the advisory
// lock makes the later ones find them done).
func TestOpenConcurrentlyOnPostgres(t *testing.T) {
	needPostgres(t)
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	const n = 6
	dbs := make([]*DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = Open(ctx, url, WithKeys(testKey("k"), nil)) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open #%d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { dbs[i].Close() })
		if err := dbs[i].Ready(ctx); err != nil {
			t.Errorf("Ready #%d: %v", i, err)
		}
	}
	names, err := migrationNames(true)
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] == nil {
		var applied int
		if err := dbs[0].r.QueryRowxContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil || applied != len(names) {
			t.Errorf("schema_migrations holds %d rows (%v), want %d", applied, err, len(names))
		}
	}
}

// TestPGXSharesTheStoreTransaction: what River writes through Tx.PGX and
// what the store writes through its statements commit or roll back
// together.
func TestPGXSharesTheStoreTransaction(t *testing.T) {
	needPostgres(t)
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	both := func(portalID int64, name string, fail error) error {
		return db.Write(ctx, func(tx *Tx) error {
			if tx.SQL() != nil || tx.PGX() == nil {
				t.Errorf("on PostgreSQL, Tx.SQL() = %v and Tx.PGX() = %v; want nil and a transaction", tx.SQL(), tx.PGX())
			}
			if err := tx.UpsertPortal(ctx, Portal{PortalID: portalID}); err != nil {
				return err
			}
			if _, err := tx.PGX().Exec(ctx, `INSERT INTO app_secrets (name, secret, key_id, created_at) VALUES ($1, 'x', 'k', 0)`, name); err != nil {
				return err
			}
			return fail
		})
	}
	undo := errors.New("undo")
	if err := both(7, "undone", undo); !errors.Is(err, undo) {
		t.Fatalf("Write = %v, want %v", err, undo)
	}
	if err := both(8, "kept", nil); err != nil {
		t.Fatalf("Write: %v", err)
	}
	count := func(q string, args ...any) int {
		var n int
		if err := db.r.QueryRowxContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if p, s := count(`SELECT COUNT(*) FROM portals WHERE portal_id = ?`, 7), count(`SELECT COUNT(*) FROM app_secrets WHERE name = ?`, "undone"); p != 0 || s != 0 {
		t.Errorf("after a failed write: %d portal rows and %d secret rows, want none", p, s)
	}
	if p, s := count(`SELECT COUNT(*) FROM portals WHERE portal_id = ?`, 8), count(`SELECT COUNT(*) FROM app_secrets WHERE name = ?`, "kept"); p != 1 || s != 1 {
		t.Errorf("after a committed write: %d portal rows and %d secret rows, want one each", p, s)
	}
}

// TestPostgresErrorsHideThePassword: a database that cannot be reached is
// named without its password.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"postgres://app:s3cretpw@127.0.0.1:1/hsa?connect_timeout=5",
		"postgresql://app:s3cretpw@127.0.0.1:1/hsa?connect_timeout=5",
		"postgres://app:s3cretpw@127.0.0.1:1/hsa?pool_max_conns=zero",
		"postgres://app@127.0.0.1:1/hsa?password=s3cretpw&connect_timeout=5",
		"postgres://app@127.0.0.1:1/hsa?sslpassword=s3cretpw&connect_timeout=5",
	} {
		if strings.Contains(RedactURL(url), "s3cretpw") {
			t.Errorf("RedactURL(%q) = %q, which shows the password", url, RedactURL(url))
		}
		_, err := Open(context.Background(), url)
		if err == nil {
			t.Errorf("Open(%q) = nil, want an error", url)
			continue
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("Open(%q) = %v, which shows the password", url, err)
		}
	}
}

// TestPostgresPoolTooSmall: a pool that would wait on itself (migrations
// hold a connection while River's take another) is refused at once,
// naming the setting.
func TestPostgresPoolTooSmall(t *testing.T) {
	t.Parallel()
	_, err := Open(context.Background(), "postgres://app:s3cretpw@127.0.0.1:1/hsa?pool_max_conns=1")
	if err == nil || !strings.Contains(err.Error(), "pool_max_conns=1 is too small") || strings.Contains(err.Error(), "s3cretpw") {
		t.Errorf("Open with pool_max_conns=1 = %v, want a refusal naming pool_max_conns without the password", err)
	}
}
