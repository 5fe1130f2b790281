package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/oauth"
	"hubspot-actions/store"
)

const portalsUsage = `usage: hubspot-actions portals list
       hubspot-actions portals show PORTAL_ID
       hubspot-actions portals remove PORTAL_ID

list and show print installed portals, their scopes, token expiry and
connection status (never a secret). remove uninstalls the app from the
portal in HubSpot (with the portal's token), revokes its refresh token,
revokes and deletes its provider connections, deletes every secret the
portal has with the app and ends its admin sessions; its execution history
is kept for HISTORY_RETENTION. If it stops midway, run it again.`

// portalsCommand runs the portals subcommand.
func portalsCommand(ctx context.Context, args []string, cfg config, stdout io.Writer) error {
	fs := flag.NewFlagSet("portals", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), portalsUsage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errors.New("portals: say list, show PORTAL_ID or remove PORTAL_ID")
	}
	sub := rest[0]
	var portalID int64
	switch sub {
	case "list":
		if len(rest) != 1 {
			return errors.New("portals list takes no arguments")
		}
	case "show", "remove":
		if len(rest) != 2 {
			return fmt.Errorf("portals %s needs one PORTAL_ID", sub)
		}
		id, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("portals %s: %q is not a portal id", sub, rest[1])
		}
		portalID = id
	default:
		fs.Usage()
		return fmt.Errorf("portals: unknown subcommand %q", sub)
	}

	var opts []store.Option
	if cfg.EncryptionKey != nil {
		opts = append(opts, store.WithKeys(cfg.EncryptionKey, cfg.EncryptionKeyPrevious))
	} else if sub == "remove" {
		return errors.New("portals remove: ENCRYPTION_KEY is required to read the portal's refresh token")
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, opts...)
	if err != nil {
		return fmt.Errorf("portals: %w", err)
	}
	defer db.Close()
	hc := &http.Client{Timeout: 30 * time.Second}
	// The command's outcome is what it prints; the flow's own logs are not
	// needed here.
	flow := oauth.New(hubspotOAuthConfig(cfg, db), db, hc, slog.New(slog.DiscardHandler))

	switch sub {
	case "list":
		ps, err := flow.Portals(ctx)
		if err != nil {
			return fmt.Errorf("portals list: %w", err)
		}
		return printPortals(stdout, ps)
	case "show":
		p, err := flow.Portal(ctx, portalID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("portals show: portal %d has not installed the app", portalID)
		}
		if err != nil {
			return fmt.Errorf("portals show: %w", err)
		}
		return printPortal(stdout, p)
	default: // remove
		log := slog.New(slog.DiscardHandler)
		providers, err := cliProviders(cfg, db, log)
		if err != nil {
			return fmt.Errorf("portals remove: %w", err)
		}
		r, err := newUninstaller(cfg, flow, db, providers, log).Uninstall(ctx, portalID, "an operator (portals remove)")
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("portals remove: portal %d has not installed the app", portalID)
		}
		if errors.Is(err, actions.ErrUninstallIncomplete) {
			return fmt.Errorf("portals remove: %w (run it again to finish)", err)
		}
		if err != nil {
			return fmt.Errorf("portals remove: %w (if HubSpot refuses, a super admin can uninstall the app in HubSpot's Connected apps settings; then run this again)", err)
		}
		return printUninstall(stdout, r, cfg.HistoryRetention)
	}
}

// printUninstall says what an uninstall did, in plain words.
func printUninstall(w io.Writer, r actions.Uninstall, retention time.Duration) error {
	id := r.PortalID
	if r.Reinstalled {
		_, err := fmt.Fprintf(w, "Portal %d was reinstalled while it was being uninstalled: its new installation was left alone.\n", id)
		return err
	}
	if r.HubSpot.Uninstalled {
		fmt.Fprintf(w, "Uninstalled the app from portal %d in HubSpot (its super admins get an email with a reinstall link).\n", id)
	} else {
		fmt.Fprintf(w, "HubSpot was not asked to uninstall the app: %s.\n", r.HubSpot.Note)
	}
	if r.RefreshRevoked {
		fmt.Fprintf(w, "Revoked portal %d's refresh token at HubSpot.\n", id)
	} else {
		fmt.Fprintf(w, "Nothing revoked at HubSpot: %s.\n", r.RevokeNote)
	}
	for _, p := range r.Disconnected {
		fmt.Fprintf(w, "Disconnected %s (its access revoked there).\n", p)
	}
	for _, p := range r.NotRevoked {
		fmt.Fprintf(w, "Deleted the %s connection, but %s could not be reached to revoke it: remove the app in the %s account's settings.\n", p, p, p)
	}
	fmt.Fprintf(w, "Deleted %d OAuth grant(s) and %d API key(s) of portal %d.\n", r.Grants, r.APIKeys, id)
	fmt.Fprintf(w, "Signed out %d settings session(s) of portal %d.\n", r.Sessions, id)
	_, err := fmt.Fprintf(w, "Portal %d is uninstalled; its execution history is kept for %s. A super admin can reinstall the app from HubSpot.\n", id, days(retention))
	return err
}

// hubspotOAuthConfig is the install flow's configuration; installs sign
// the admin in with a session kept in db. serve builds its Flow from it
// too.
func hubspotOAuthConfig(cfg config, db *store.DB) oauth.Config {
	return oauth.Config{
		ClientID:       cfg.HubSpotClientID,
		ClientSecret:   cfg.HubSpotClientSecret.Reveal(),
		RedirectURL:    cfg.PublicBaseURL + "/oauth/hubspot/callback",
		AuthorizeURL:   cfg.HubSpotAppBaseURL + "/oauth/authorize",
		TokenBaseURL:   cfg.HubSpotAPIBaseURL,
		Scopes:         cfg.HubSpotScopes,
		OptionalScopes: cfg.HubSpotOptionalScopes,
		SecureCookies:  strings.HasPrefix(cfg.PublicBaseURL, "https://"),
		OnInstalled:    adminSessions(cfg, db).SignIn,
		Sandbox:        cfg.Sandbox,
	}
}

func printPortals(w io.Writer, ps []oauth.PortalInfo) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "No portal has installed the app.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORTAL\tDOMAIN\tINSTALLED BY\tSTATUS\tTOKEN EXPIRES\tSCOPES")
	for _, p := range ps {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", p.PortalID, dash(p.HubDomain), dash(p.InstalledByEmail),
			p.Status, when(p.TokenExpiresAt), dash(strings.Join(p.Scopes, " ")))
	}
	return tw.Flush()
}

func printPortal(w io.Writer, p oauth.PortalInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	status := p.Status
	if p.StatusReason != "" {
		status += " (" + p.StatusReason + ")"
	}
	installer := dash(p.InstalledByEmail)
	if p.InstalledByID != 0 {
		installer += fmt.Sprintf(" (user %d)", p.InstalledByID)
	}
	fmt.Fprintf(tw, "Portal:\t%d\n", p.PortalID)
	fmt.Fprintf(tw, "Domain:\t%s\n", dash(p.HubDomain))
	fmt.Fprintf(tw, "Installed by:\t%s\n", installer)
	fmt.Fprintf(tw, "Installed at:\t%s\n", when(p.InstalledAt))
	fmt.Fprintf(tw, "Updated at:\t%s\n", when(p.UpdatedAt))
	fmt.Fprintf(tw, "Status:\t%s\n", status)
	if !p.UninstalledAt.IsZero() {
		fmt.Fprintf(tw, "Uninstalled at:\t%s\n", when(p.UninstalledAt))
	}
	fmt.Fprintf(tw, "Scopes:\t%s\n", dash(strings.Join(p.Scopes, " ")))
	fmt.Fprintf(tw, "Token expires:\t%s\n", when(p.TokenExpiresAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Grants) == 0 {
		_, err := fmt.Fprintln(w, "Connections: none")
		return err
	}
	fmt.Fprintln(w, "Connections:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PROVIDER\tACCOUNT\tSTATUS\tTOKEN EXPIRES\tUPDATED")
	for _, g := range p.Grants {
		account := dash(g.AccountID)
		if g.AccountName != "" {
			account += " (" + g.AccountName + ")"
		}
		st := g.Status
		if g.StatusReason != "" {
			st += " (" + g.StatusReason + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", g.Provider, account, st, when(g.ExpiresAt), when(g.UpdatedAt))
	}
	return tw.Flush()
}

// days says a period in days when it is whole days.
func days(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
