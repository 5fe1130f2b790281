package main

import (
	"log/slog"
	"strings"
	"testing"
)

// TestAnnounceSandboxHidesPasswords: the sandbox's "try it" commands name
// the database, a SQLite file as it is, but never print a PostgreSQL
// password: the variable is named instead.
func TestAnnounceSandboxHidesPasswords(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]string{
		"postgres://app:s3cretpw@127.0.0.1:5432/hsa":          `DATABASE_URL="$DATABASE_URL" go run`,
		"postgres://app@127.0.0.1:5432/hsa?password=s3cretpw": `DATABASE_URL="$DATABASE_URL" go run`,
		"./other/hubspot-actions.db":                          "DATABASE_URL=./other/hubspot-actions.db go run",
		"postgres://app@127.0.0.1:5432/hsa?sslmode=disable":   "DATABASE_URL=postgres://app@127.0.0.1:5432/hsa?sslmode=disable go run",
	} {
		var out strings.Builder
		announceSandbox(slog.New(slog.DiscardHandler), &out, config{DatabaseURL: url, PublicBaseURL: "http://localhost:8080"}, &app{})
		if strings.Contains(out.String(), "s3cretpw") || !strings.Contains(out.String(), want) {
			t.Errorf("announcement for %s:\n%s\nwant %q and no password", url, out.String(), want)
		}
	}
}
