package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"hubspot-actions/actions"
	"hubspot-actions/cmd/internal/admin/admintest"
)

// TestGuideUninstallWordsMatchTheSettingsPage reads the settings page and
// the uninstall confirmation page an admin really sees, then the public
// guide: the guide's steps for uninstalling from the settings page must
// name the section the button is in, the button's words and the
// confirmation button's words, as those pages show them.
func TestGuideUninstallWordsMatchTheSettingsPage(t *testing.T) {
	t.Parallel()
	p := newUninstallPages(t)
	settings := p.do(t, http.MethodGet, "/settings", nil)
	if settings.status != http.StatusOK {
		t.Fatalf("GET /settings = %d", settings.status)
	}
	sByID := elementsByID(t, settings.body)
	link, ok := sByID["uninstall-link"]
	if !ok {
		t.Fatalf("the settings page has no #uninstall-link:\n%s", admintest.PageText(t, settings.body))
	}
	section := enclosing(link, "section")
	if section == nil {
		t.Fatal("#uninstall-link is in no section")
	}
	heading := firstElement(section, "h2")
	if heading == nil {
		t.Fatal("the uninstall section has no heading")
	}
	confirm := p.do(t, http.MethodGet, "/settings/uninstall", nil)
	button, ok := elementsByID(t, confirm.body)["confirm-uninstall"]
	if !ok {
		t.Fatalf("the confirmation page has no #confirm-uninstall:\n%s", admintest.PageText(t, confirm.body))
	}

	_, guide := getGuide(t, actions.NewRegistry(), nil, GuideFacts{HistoryRetention: 72 * time.Hour, UninstalledGrace: time.Hour})
	steps, ok := elementsByID(t, guide)["uninstall-settings-steps"]
	if !ok {
		t.Fatalf("the guide has no #uninstall-settings-steps:\n%s", admintest.PageText(t, guide))
	}
	got := admintest.NodeText(steps)
	for _, want := range []string{
		"under " + admintest.NodeText(heading) + ",",
		"choose " + admintest.NodeText(link) + ",",
		"confirm with " + admintest.NodeText(button) + " ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the guide's steps say %q; want them to contain %q (the words of the settings pages)", got, want)
		}
	}
}

// enclosing returns the nearest ancestor of n that is a tag element.
func enclosing(n *html.Node, tag string) *html.Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == tag {
			return p
		}
	}
	return nil
}

// firstElement returns the first tag element under n, depth first.
func firstElement(n *html.Node, tag string) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == tag {
			return c
		}
		if f := firstElement(c, tag); f != nil {
			return f
		}
	}
	return nil
}
