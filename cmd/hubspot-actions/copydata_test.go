package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hubspot-actions/store"
	"hubspot-actions/store/storetest"
)

// copyKey is the ENCRYPTION_KEY both sides of a copy share.
var copyKey = bytes.Repeat([]byte{7}, 32)

// seedDeployment fills a SQLite deployment at path through the store's own
// API: a portal with a HubSpot grant, a Stripe API key, an app secret, an
// answered execution, an erased one (a tombstone), an app-key use, an OAuth
// state and an admin session (those two are not copied).
func seedDeployment(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.WithKeys(copyKey, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.UpsertPortal(ctx, store.Portal{PortalID: 42, HubDomain: "acme.hubspot.com", InstalledByEmail: "admin@acme.test", Scopes: []string{"automation"}}); err != nil {
			return err
		}
		if _, err := tx.SaveToken(ctx, store.Token{PortalID: 42, Provider: "hubspot", AccountID: "42", AccessToken: "access-secret-1", RefreshToken: "refresh-secret-1", ExpiresAt: tx.Now().Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.SaveAPIKey(ctx, store.APIKey{PortalID: 42, Provider: "stripe", Secret: "sk_test_copy4242", Hint: "sk_test_…4242", VerifiedAt: tx.Now()}); err != nil {
			return err
		}
		if _, err := tx.AddAppSecret(ctx, "promo-suffix", "app-secret-value"); err != nil {
			return err
		}
		for _, id := range []string{"cb-kept", "cb-erased"} {
			if _, err := tx.InsertExecution(ctx, store.NewExecution{CallbackID: id, Ref: "EX-" + id, PortalID: 42, Action: "stripe-create-customer",
				ObjectType: "CONTACT", ObjectID: id + "-contact", Request: `{"email":"` + id + `@acme.test"}`, LeaseUntil: tx.Now().Add(time.Minute)}); err != nil {
				return err
			}
			if _, _, err := tx.Finish(ctx, id, 1, store.Outcome{FinalState: "SUCCESS", Outputs: `{"customer":"cus_` + id + `"}`}); err != nil {
				return err
			}
		}
		if n, err := tx.EraseObject(ctx, 42, []string{"contact", "0-1"}, "cb-erased-contact"); err != nil || n != 1 {
			t.Errorf("EraseObject = %d, %v; want 1 tombstone", n, err)
		}
		if _, err := tx.UseAppKey(ctx, "clearbit", 42, "cb-kept", 100); err != nil {
			return err
		}
		if err := tx.InsertState(ctx, store.State{Hash: "state-hash", Provider: "hubspot", ExpiresAt: tx.Now().Add(10 * time.Minute)}); err != nil {
			return err
		}
		return tx.InsertSession(ctx, "session-id", store.AdminSession{PortalID: 42, UserID: 7, UserEmail: "admin@acme.test", CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyData runs `copy-data --from from --to to` through run.
func copyData(t *testing.T, from, to string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"copy-data", "--from", from, "--to", to}, func(string) string { return "" }, &out, &errb)
	return out.String() + errb.String(), err
}

// rawColumn reads one column of every row of table, ordered, as stored.
func rawColumn(t *testing.T, db *sql.DB, table, col, order string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT ` + col + ` FROM ` + table + ` ORDER BY ` + order)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestCopyData moves a deployment between SQLite files and PostgreSQL
// schemas, each way: the target opens with the same ENCRYPTION_KEY and
// gives back the grant, the API key, the app secret and the history (the
// tombstone still erased), sealed values byte for byte; the counts are
// reported; the source is untouched; a second copy into the now non-empty
// target is refused and changes nothing.
func TestCopyData(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, from, to string }{
		{"sqlite to sqlite", "sqlite", "sqlite"},
		{"sqlite to postgres", "sqlite", "postgres"},
		{"postgres to sqlite", "postgres", "sqlite"},
		{"postgres to postgres", "postgres", "postgres"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			url := func(kind, name string) string {
				if kind == "sqlite" {
					return "sqlite://" + filepath.Join(t.TempDir(), name, "hubspot-actions.db")
				}
				if !storetest.Postgres() {
					t.Skipf("SKIPPED: copy-data %s is not tested: %s is not set (`make test` sets it, see .ci/postgres)", c.name, storetest.EnvURL)
				}
				return storetest.URL(t)
			}
			from, to := url(c.from, "old"), url(c.to, "new")
			seedDeployment(t, from)
			var before [32]byte
			if c.from == "sqlite" {
				before = fileSum(t, strings.TrimPrefix(from, "sqlite://"))
			}

			out, err := copyData(t, from, to)
			if err != nil {
				t.Fatalf("copy-data: %v\n%s", err, out)
			}
			for _, want := range []string{"portals  ", "oauth_tokens  ", "executions  ", "erasures  ", "oauth_states  ", "admin_sessions  "} {
				if !strings.Contains(out, want) {
					t.Errorf("copy-data output lacks %q:\n%s", want, out)
				}
			}
			for _, line := range []string{"portals  1 rows", "oauth_tokens  1 rows", "api_keys  1 rows", "app_secrets  1 rows", "executions  2 rows",
				"app_key_uses  1 rows", "erasures  0 rows", "oauth_states  not copied (1 rows)", "admin_sessions  not copied (1 rows)"} {
				if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(line), " ")) {
					t.Errorf("copy-data output lacks %q:\n%s", line, out)
				}
			}
			if strings.Contains(out, "access-secret") || strings.Contains(out, "sk_test_copy") {
				t.Errorf("copy-data printed a secret:\n%s", out)
			}
			if c.from == "sqlite" && fileSum(t, strings.TrimPrefix(from, "sqlite://")) != before {
				t.Errorf("the source database changed during the copy")
			}

			ctx := context.Background()
			src, err := store.Open(ctx, from, store.WithKeys(copyKey, nil))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			dst, err := store.Open(ctx, to, store.WithKeys(copyKey, nil))
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			tok, err := dst.GetToken(ctx, 42, "hubspot")
			if err != nil || tok.AccessToken != "access-secret-1" || tok.RefreshToken != "refresh-secret-1" {
				t.Errorf("copied grant = %v, %v; want the source's tokens, opened", tok.AccessToken == "access-secret-1", err)
			}
			key, err := dst.GetAPIKey(ctx, 42, "stripe")
			if err != nil || key.Secret != "sk_test_copy4242" {
				t.Errorf("copied API key opens: %v, %v", key.Secret == "sk_test_copy4242", err)
			}
			p, err := dst.GetPortal(ctx, 42)
			if err != nil || p.HubDomain != "acme.hubspot.com" || p.Status != store.StatusActive {
				t.Errorf("copied portal = %+v, %v", p, err)
			}
			kept, err := dst.GetExecution(ctx, "cb-kept")
			if err != nil || kept.Erased() || !strings.Contains(kept.Outputs, "cus_cb-kept") || !strings.Contains(kept.Request, "cb-kept@acme.test") {
				t.Errorf("copied execution = %+v, %v", kept, err)
			}
			gone, err := dst.GetExecution(ctx, "cb-erased")
			if err != nil || !gone.Erased() || strings.Contains(gone.Request, "@acme.test") {
				t.Errorf("copied tombstone = %+v, %v; want it erased", gone, err)
			}
			list, _, err := dst.ListExecutions(ctx, store.ExecutionFilter{PortalID: 42, Limit: 10})
			if err != nil || len(list) != 2 {
				t.Errorf("copied history lists %d executions, %v; want 2", len(list), err)
			}
			for _, c := range []struct{ table, col, order string }{
				{"oauth_tokens", "access_token", "portal_id, provider"},
				{"oauth_tokens", "refresh_token", "portal_id, provider"},
				{"api_keys", "secret", "portal_id, provider"},
				{"app_secrets", "secret", "name"},
				{"executions", "request", "callback_id"},
			} {
				if a, b := rawColumn(t, src.SQL(), c.table, c.col, c.order), rawColumn(t, dst.SQL(), c.table, c.col, c.order); !slices.Equal(a, b) {
					t.Errorf("%s.%s differs after the copy:\n source %q\n target %q", c.table, c.col, a, b)
				}
			}
			var sessions int
			if err := dst.SQL().QueryRow(`SELECT COUNT(*) FROM admin_sessions`).Scan(&sessions); err != nil || sessions != 0 {
				t.Errorf("target admin_sessions = %d, %v; want none copied", sessions, err)
			}
			assertTablesAccounted(t, dst)

			out, err = copyData(t, from, to)
			if err == nil || !strings.Contains(out+err.Error(), "not empty") || !strings.Contains(err.Error(), "portals") {
				t.Errorf("a second copy-data into the same target = %v\n%s; want it refused as not empty, naming portals", err, out)
			}
			if n, _, err := dst.ListExecutions(ctx, store.ExecutionFilter{PortalID: 42, Limit: 10}); err != nil || len(n) != 2 {
				t.Errorf("after the refused copy the target lists %d executions, %v; want 2", len(n), err)
			}
		})
	}
}

// assertTablesAccounted fails when the schema has a table copy-data neither
// copies nor deliberately skips: a migration that adds one must say which.
func assertTablesAccounted(t *testing.T, db *store.DB) {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if db.Postgres() {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := db.SQL().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	copied, skipped := store.CopyTables()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		river := strings.HasPrefix(name, "river_") // River's own bookkeeping, rebuilt by its migrations and at start
		if !slices.Contains(copied, name) && !slices.Contains(skipped, name) && !river && name != "schema_migrations" {
			t.Errorf("table %s is neither copied nor left behind by copy-data: add it to copiedTables or skippedTables in store/copy.go", name)
		}
	}
}

// TestCopyDataRefusals: copy-data refuses a source behind this release's
// migrations (saying to run migrate), a missing source (creating nothing),
// a copy onto itself and missing flags; none of them writes the target.
func TestCopyDataRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	from := filepath.Join(dir, "old.db")
	seedDeployment(t, from)
	raw, err := sql.Open("sqlite3", from)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	to := filepath.Join(dir, "new.db")
	out, err := copyData(t, from, to)
	if err == nil || !strings.Contains(err.Error(), "run `hubspot-actions migrate` on it first") {
		t.Errorf("copy-data from a source behind = %v\n%s; want a refusal saying to migrate it", err, out)
	}
	if _, serr := os.Stat(to); !os.IsNotExist(serr) {
		t.Errorf("a refused copy created the target: %v", serr)
	}

	missing := filepath.Join(dir, "missing.db")
	if out, err := copyData(t, missing, to); err == nil || !strings.Contains(err.Error(), "missing.db") {
		t.Errorf("copy-data from a missing file = %v\n%s", err, out)
	}
	if _, serr := os.Stat(missing); !os.IsNotExist(serr) {
		t.Errorf("copy-data created the missing source: %v", serr)
	}

	if out, err := copyData(t, from, from); err == nil || !strings.Contains(err.Error(), "same database") {
		t.Errorf("copy-data onto itself = %v\n%s; want it refused", err, out)
	}

	var out2, errb bytes.Buffer
	if err := run(context.Background(), []string{"copy-data", "--from", from}, func(string) string { return "" }, &out2, &errb); err != errUsage || !strings.Contains(errb.String(), "--to") {
		t.Errorf("copy-data without --to = %v, %q; want usage naming --to", err, errb.String())
	}
}

// TestCopyDataAllOrNothing: a copy that fails on its last table leaves the
// target without a row (one transaction), so it can simply be run again.
func TestCopyDataAllOrNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	from := filepath.Join(dir, "old.db")
	seedDeployment(t, from)
	raw, err := sql.Open("sqlite3", from)
	if err != nil {
		t.Fatal(err)
	}
	// A column the target does not have makes the last table's INSERT fail.
	if _, err := raw.Exec(`ALTER TABLE erasures ADD COLUMN unknown_here TEXT NOT NULL DEFAULT ''`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO erasures (id, portal_id, reason, object_type, requested_at, erased_at, executions) VALUES ('e1', 42, 'test', 'CONTACT', 1, 1, 1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	to := storetest.URL(t)
	if out, err := copyData(t, from, to); err == nil || !strings.Contains(err.Error(), "copy erasures") {
		t.Fatalf("copy-data = %v\n%s; want it to fail copying erasures", err, out)
	}
	dst, err := store.Open(context.Background(), to)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	var n int
	if err := dst.SQL().QueryRow(`SELECT COUNT(*) FROM portals`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after a failed copy the target holds %d portals, %v; want 0", n, err)
	}
}

// BenchmarkCopyData copies a SQLite deployment of 50,000 executions (about
// 600 bytes of request each) into a new database (PostgreSQL when
// TEST_DATABASE_URL is set) and reports the executions copied per second.
func BenchmarkCopyData(b *testing.B) {
	const n = 50_000
	from := filepath.Join(b.TempDir(), "old.db")
	db, err := store.Open(context.Background(), from)
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", from)
	if err != nil {
		b.Fatal(err)
	}
	const seed = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO executions (callback_id, ref, portal_id, action, object_type, object_id, request, state, outputs, received_at, finished_at, updated_at)
		SELECT 'cb-' || i, 'EX' || i, 42, 'stripe-create-customer', 'CONTACT', i, '{"email":"c' || i || '@acme.test","pad":"' || hex(randomblob(280)) || '"}',
			'answered', '{"customer":"cus_' || i || '"}', i, i, i FROM n`
	if _, err := raw.Exec(seed, n); err != nil {
		b.Fatal(err)
	}
	raw.Close()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		to := storetest.URL(b)
		b.StartTimer()
		rep, err := store.Copy(context.Background(), from, to)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Copied[4].Table != "executions" || rep.Copied[4].Rows != n {
			b.Fatalf("copied %+v", rep.Copied)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "executions/s")
}
