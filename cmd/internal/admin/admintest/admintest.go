// Package admintest reads the admin pages as a test sees them: their
// visible text, and the accessibility rules every page keeps.
package admintest

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// PageText is the visible text of a page, whitespace collapsed.
func PageText(t testing.TB, body string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	return NodeText(doc)
}

// NodeText is the visible text under n, whitespace collapsed.
func NodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "head" || n.Data == "script" || n.Data == "style") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		// Block elements and cells separate words; inline ones do not.
		block := n.Type == html.ElementNode && !inline[n.Data]
		if block {
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if block {
			b.WriteByte(' ')
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

var inline = map[string]bool{"a": true, "span": true, "strong": true, "em": true, "code": true, "time": true, "b": true, "i": true}

// Attr returns the value of n's attribute name, or "".
func Attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// CheckAccessible checks what can be checked of a page's accessibility
// without a screen reader: language, landmarks, one h1 and no skipped
// heading levels, a label for every field, scoped table headers, ids that
// exist for every reference, no inline style or script, and a CSRF token
// in every form that posts.
func CheckAccessible(t testing.TB, name, body string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: parse: %v", name, err)
	}
	ids := map[string]bool{}
	labels := map[string]bool{}
	count := map[string]int{}
	var refs []string
	var headings []int
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		count[n.Data]++
		if id := Attr(n, "id"); id != "" {
			if ids[id] {
				t.Errorf("%s: id %q is used twice", name, id)
			}
			ids[id] = true
		}
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("%s: <%s> has an inline %s attribute", name, n.Data, a.Key)
			}
			if a.Key == "aria-describedby" || a.Key == "aria-labelledby" {
				refs = append(refs, strings.Fields(a.Val)...)
			}
		}
		switch n.Data {
		case "html":
			if Attr(n, "lang") == "" {
				t.Errorf("%s: <html> has no lang", name)
			}
		case "h1", "h2", "h3", "h4", "h5", "h6":
			headings = append(headings, int(n.Data[1]-'0'))
		case "label":
			labels[Attr(n, "for")] = true
		case "th":
			if Attr(n, "scope") == "" {
				t.Errorf("%s: a table header has no scope", name)
			}
		case "a":
			if strings.HasPrefix(Attr(n, "href"), "#") {
				refs = append(refs, strings.TrimPrefix(Attr(n, "href"), "#"))
			}
		case "form":
			if strings.EqualFold(Attr(n, "method"), "post") && !strings.Contains(renderNode(n), `name="csrf_token"`) {
				t.Errorf("%s: a form posting to %s has no CSRF token", name, Attr(n, "action"))
			}
		}
	}
	for _, el := range []string{"script", "style"} {
		if count[el] > 0 {
			t.Errorf("%s: page has a <%s> element", name, el)
		}
	}
	for _, el := range []string{"main", "header", "footer", "h1", "title"} {
		if count[el] != 1 {
			t.Errorf("%s: page has %d <%s>, want 1", name, count[el], el)
		}
	}
	for i, h := range headings {
		if i == 0 && h != 1 {
			t.Errorf("%s: the first heading is h%d", name, h)
		}
		if i > 0 && h > headings[i-1]+1 {
			t.Errorf("%s: heading h%d follows h%d", name, h, headings[i-1])
		}
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || (n.Data != "input" && n.Data != "select" && n.Data != "textarea") {
			continue
		}
		switch Attr(n, "type") {
		case "hidden", "submit", "button":
			continue
		}
		if id := Attr(n, "id"); id == "" || !labels[id] {
			t.Errorf("%s: field %q has no label", name, Attr(n, "name"))
		}
	}
	for label := range labels {
		if !ids[label] {
			t.Errorf("%s: a label is for %q, which does not exist", name, label)
		}
	}
	for _, id := range refs {
		if id != "" && !ids[id] {
			t.Errorf("%s: a reference to #%s, which does not exist", name, id)
		}
	}
}

func renderNode(n *html.Node) string {
	var b strings.Builder
	_ = html.Render(&b, n)
	return b.String()
}
