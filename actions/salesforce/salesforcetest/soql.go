package salesforcetest

import (
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

// query serves the narrow SOQL the provider sends:
//
//	SELECT f1, f2 FROM Lead WHERE Field = 'literal' [LIMIT n]
//
// (or LIKE 'pattern'). The literal is read with SOQL's escapes; a
// backslash before anything else, \% or \_ outside LIKE, an unterminated
// literal or anything after it other than LIMIT is MALFORMED_QUERY, which
// is what a value that breaks out of its quotes looks like.
func (s *Server) query(w http.ResponseWriter, q, ver string) {
	sel, err := parseQuery(q)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{err.Error(), "MALFORMED_QUERY", nil})
		return
	}
	s.mu.Lock()
	var recs []map[string]any
	for _, l := range s.leads {
		if sel.matches(l[sel.field]) && (sel.limit == 0 || len(recs) < sel.limit) {
			rec := map[string]any{"attributes": map[string]string{"type": "Lead", "url": DataPath + ver + "/sobjects/Lead/" + l["Id"]}}
			for _, f := range sel.fields {
				if v, ok := l[f]; ok {
					rec[f] = v
				} else {
					rec[f] = nil
				}
			}
			recs = append(recs, rec)
		}
	}
	s.mu.Unlock()
	if recs == nil {
		recs = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalSize": len(recs), "done": true, "records": recs})
}

type selectQuery struct {
	fields []string
	field  string
	like   bool
	// value is the literal; for LIKE, escaped[i] says value's i-th rune
	// was escaped (a literal % or _).
	value   []rune
	escaped []bool
	limit   int
}

type malformed string

func (m malformed) Error() string { return string(m) }

func parseQuery(q string) (selectQuery, error) {
	var sel selectQuery
	rest := strings.TrimSpace(q)
	kw := func(word string) bool {
		if len(rest) >= len(word) && strings.EqualFold(rest[:len(word)], word) && (len(rest) == len(word) || unicode.IsSpace(rune(rest[len(word)]))) {
			rest = strings.TrimSpace(rest[len(word):])
			return true
		}
		return false
	}
	if !kw("SELECT") {
		return sel, malformed("unexpected token: expected SELECT")
	}
	i := indexFold(rest, " FROM ")
	if i < 0 {
		return sel, malformed("unexpected token: expected FROM")
	}
	for _, f := range strings.Split(rest[:i], ",") {
		f = strings.TrimSpace(f)
		if !ident(f) {
			return sel, malformed("unexpected token: " + f)
		}
		sel.fields = append(sel.fields, f)
	}
	rest = strings.TrimSpace(rest[i+len(" FROM "):])
	if !kw("Lead") {
		return sel, malformed("sObject type not supported")
	}
	if !kw("WHERE") {
		return sel, malformed("unexpected token: expected WHERE")
	}
	j := strings.IndexAny(rest, " =")
	if j < 0 {
		return sel, malformed("unexpected token: expected a condition")
	}
	sel.field = rest[:j]
	if !ident(sel.field) {
		return sel, malformed("unexpected token: " + sel.field)
	}
	rest = strings.TrimSpace(rest[j:])
	switch {
	case strings.HasPrefix(rest, "="):
		rest = strings.TrimSpace(rest[1:])
	case kw("LIKE"):
		sel.like = true
	default:
		return sel, malformed("unexpected token: expected = or LIKE")
	}
	if !strings.HasPrefix(rest, "'") {
		return sel, malformed("unexpected token: expected a quoted string")
	}
	rs := []rune(rest[1:])
	k := 0
	for ; ; k++ {
		if k >= len(rs) {
			return sel, malformed("unterminated string literal")
		}
		c := rs[k]
		if c == '\'' {
			break
		}
		if c != '\\' {
			sel.value, sel.escaped = append(sel.value, c), append(sel.escaped, false)
			continue
		}
		k++
		if k >= len(rs) {
			return sel, malformed("unterminated string literal")
		}
		var out rune
		switch rs[k] {
		case 'n', 'N':
			out = '\n'
		case 'r', 'R':
			out = '\r'
		case 't', 'T':
			out = '\t'
		case 'b', 'B':
			out = '\b'
		case 'f', 'F':
			out = '\f'
		case '"', '\'', '\\':
			out = rs[k]
		case '%', '_':
			if !sel.like {
				return sel, malformed("Invalid string literal: \\" + string(rs[k]) + " is only valid in a LIKE expression")
			}
			out = rs[k]
		case 'u':
			if k+4 >= len(rs) {
				return sel, malformed("invalid unicode escape")
			}
			n, err := strconv.ParseUint(string(rs[k+1:k+5]), 16, 32)
			if err != nil {
				return sel, malformed("invalid unicode escape")
			}
			out, k = rune(n), k+4
		default:
			return sel, malformed("Invalid string literal: invalid escape sequence \\" + string(rs[k]))
		}
		sel.value, sel.escaped = append(sel.value, out), append(sel.escaped, true)
	}
	rest = strings.TrimSpace(string(rs[k+1:]))
	if rest != "" {
		if !kw("LIMIT") {
			return sel, malformed("unexpected token: '" + rest + "'")
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return sel, malformed("unexpected token: '" + rest + "'")
		}
		sel.limit = n
	}
	return sel, nil
}

// matches compares the way SOQL does: = and LIKE ignore case.
func (sel selectQuery) matches(v string) bool {
	if !sel.like {
		return strings.EqualFold(v, string(sel.value))
	}
	return like([]rune(strings.ToLower(v)), []rune(strings.ToLower(string(sel.value))), sel.escaped)
}

// like matches s against pattern, where unescaped % is any run and _ any
// one character.
func like(s, p []rune, esc []bool) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	switch {
	case p[0] == '%' && !esc[0]:
		for i := 0; i <= len(s); i++ {
			if like(s[i:], p[1:], esc[1:]) {
				return true
			}
		}
		return false
	case len(s) == 0:
		return false
	case (p[0] == '_' && !esc[0]) || p[0] == s[0]:
		return like(s[1:], p[1:], esc[1:])
	}
	return false
}

func ident(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

func indexFold(s, sub string) int {
	return strings.Index(strings.ToUpper(s), strings.ToUpper(sub))
}

// Query is a query the fake understands, parsed.
type Query struct {
	Fields []string
	Field  string // the field the WHERE clause compares
	Like   bool   // LIKE rather than =
	Value  string // the literal, unescaped
	Limit  int    // 0: none
	sel    selectQuery
}

// ParseQuery parses q the way the fake's query endpoint does; errors are
// the message of its MALFORMED_QUERY answer.
func ParseQuery(q string) (Query, error) {
	sel, err := parseQuery(q)
	if err != nil {
		return Query{}, err
	}
	return Query{Fields: sel.fields, Field: sel.field, Like: sel.like, Value: string(sel.value), Limit: sel.limit, sel: sel}, nil
}

// Matches reports whether a field's value v satisfies the condition (both
// = and LIKE ignore case).
func (q Query) Matches(v string) bool { return q.sel.matches(v) }
