package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"hubspot-actions/store"
)

// copyDataCommand is `hubspot-actions copy-data --from URL --to URL`: it
// copies a stopped deployment's data into a new, empty database (SQLite to
// PostgreSQL, or any pair) and reports the rows per table. It needs no
// other configuration: sealed values are copied as they are, and the same
// ENCRYPTION_KEY opens them on the new database.
func copyDataCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("copy-data", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the `URL` of the database to copy from (a DATABASE_URL: SQLite path, sqlite://path or postgres://…); opened read-only")
	to := fs.String("to", "", "the `URL` of the new, empty database to copy into; its migrations are applied first")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: hubspot-actions copy-data --from URL --to URL\n\n"+
			"Copies portals, grants, API keys, connections and history into a new, empty database.\n"+
			"Stop serve first; the source must be at this release's migration version.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 || *from == "" || *to == "" {
		fmt.Fprintln(stderr, "copy-data needs --from and --to, and nothing else")
		fs.Usage()
		return errUsage
	}
	if *from == *to {
		return errors.New("copy-data: --from and --to name the same database")
	}
	rep, err := store.Copy(ctx, *from, *to)
	if err != nil {
		return fmt.Errorf("copy-data: %w", err)
	}
	fmt.Fprintf(stdout, "copied %s to %s\n", store.RedactURL(*from), store.RedactURL(*to))
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	var total int64
	for _, c := range rep.Copied {
		fmt.Fprintf(tw, "  %s\t%d rows\n", c.Table, c.Rows)
		total += c.Rows
	}
	fmt.Fprintf(tw, "  total\t%d rows\n", total)
	for _, c := range rep.Skipped {
		fmt.Fprintf(tw, "  %s\tnot copied (%d rows): %s\n", c.Table, c.Rows, c.Reason)
	}
	return tw.Flush()
}
