// Command hubspot-actions serves HubSpot custom workflow actions.
//
//	hubspot-actions serve        run the service (sandbox mode when no HubSpot app is configured)
//	hubspot-actions migrate      apply database migrations and exit
//	hubspot-actions portals      list, show or remove installed portals
//	hubspot-actions copy-data    copy a deployment's data into a new database
//	hubspot-actions definitions  write (or --check) the HubSpot project in app-definition/
//	hubspot-actions publish      create or update the app's actions through HubSpot's API
//	hubspot-actions simulate     play HubSpot against a running backend
//
// Configuration comes from environment variables; see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"hubspot-actions/cmd/internal/providers"
	"hubspot-actions/cmd/internal/publish"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "hubspot-actions:", err)
		}
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(int(ee))
		}
		os.Exit(1)
	}
}

// errUsage is returned after usage has been printed.
var errUsage = errors.New("usage")

// exitError asks main for a specific exit status.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `hubspot-actions serves HubSpot custom workflow actions.

Usage:
  hubspot-actions serve                 run the service
  hubspot-actions migrate               apply database migrations and exit
  hubspot-actions portals list|show ID|remove ID
  hubspot-actions copy-data --from URL --to URL
                                        copy a stopped deployment into a new, empty database
  hubspot-actions definitions [--check] [--public-base-url URL]
                                        write or check app-definition/
  hubspot-actions publish [--dry-run] [--allow-breaking] [--published=false]
                                        create or update the app's actions in HubSpot
  hubspot-actions simulate --action KEY [--input name=value]... [flags]
                                        play HubSpot against a running backend
  hubspot-actions simulate --action KEY --options FIELD [--q TERM] [--after CURSOR]
  hubspot-actions simulate --action KEY --load N [--concurrency C]

Run a command with -h for its flags.

Configuration comes from environment variables; see README.md.
`

// run is the whole program: it reads args and the environment through the
// given functions and writes only to the given streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve", "migrate":
		// Both take their configuration from the environment only.
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Usage = func() {
			fmt.Fprintf(stderr, "Usage: hubspot-actions %s\n\nIt takes no flags: configuration comes from environment variables (see README.md).\n", cmd)
		}
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return errUsage
		}
		if fs.NArg() > 0 {
			fs.Usage()
			return errUsage
		}
		cfg, err := loadConfig(getenv)
		if err != nil {
			return fmt.Errorf("configuration:\n%w", err)
		}
		if cmd == "migrate" {
			return migrate(ctx, cfg, stdout)
		}
		return serve(ctx, cfg, stdout, stderr)
	case "portals":
		cfg, err := loadConfig(getenv)
		if err != nil {
			return fmt.Errorf("configuration:\n%w", err)
		}
		cfg, err = withSandboxSecrets(cfg)
		if err != nil {
			return err
		}
		return portalsCommand(ctx, rest, cfg, stdout)
	case "copy-data":
		return copyDataCommand(ctx, rest, stdout, stderr)
	case "definitions", "publish":
		reg, err := providers.Definitions()
		if err != nil {
			return err
		}
		if cmd == "definitions" {
			err = publish.DefinitionsCommand(rest, reg, getenv, stdout, stderr)
		} else {
			err = publish.Command(ctx, rest, reg, getenv, stdout, stderr)
		}
		if errors.Is(err, publish.ErrUsage) {
			return errUsage
		}
		return err
	case "simulate":
		return simulateCommand(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
	return errUsage
}
