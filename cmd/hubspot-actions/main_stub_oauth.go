package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// TODO(lead): drop this stub when main.go and run.go land; it only lets the
// portals command build, run and be tested on the oauth branch.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := loadConfig(os.Getenv)
	if err == nil {
		if len(os.Args) > 1 && os.Args[1] == "portals" {
			err = portalsCommand(ctx, os.Args[2:], cfg, os.Stdout)
		} else {
			err = errors.New("only the portals command is wired on this branch")
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubspot-actions:", err)
		os.Exit(1)
	}
}
