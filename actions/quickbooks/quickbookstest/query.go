package quickbookstest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// query is a parsed Intuit data query.
type query struct {
	count    bool
	entity   string
	where    []cond
	orderBy  string
	desc     bool
	start    int // 1-based
	max      int
	hasStart bool
}

type cond struct {
	field string
	op    string // = < > <= >= like in
	vals  []any  // string, float64 or bool
}

// queryError is a query Intuit refuses: a parse error (4000) or a property
// that is not queryable (4001).
type queryError struct {
	code, detail string
}

func (e *queryError) Error() string { return e.detail }

type token struct {
	kind string // ident, string, number, punct
	text string
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '\'' {
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, &queryError{"4000", "QueryParserError: Encountered \"<EOF>\": unterminated string literal"}
			}
			out = append(out, token{"string", b.String()})
		case c == '<' || c == '>' || c == '!':
			if i+1 < len(s) && s[i+1] == '=' {
				out = append(out, token{"punct", s[i : i+2]})
				i += 2
			} else {
				out = append(out, token{"punct", s[i : i+1]})
				i++
			}
		case strings.IndexByte("*(),=", c) >= 0:
			out = append(out, token{"punct", string(c)})
			i++
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			out = append(out, token{"number", s[i:j]})
			i = j
		case unicode.IsLetter(rune(c)) || c == '_':
			j := i + 1
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || s[j] == '_' || s[j] == '.') {
				j++
			}
			out = append(out, token{"ident", s[i:j]})
			i = j
		default:
			return nil, &queryError{"4000", fmt.Sprintf("QueryParserError: Encountered \" %q \" at column %d", string(c), i+1)}
		}
	}
	return out, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{"eof", "<EOF>"}
}

func (p *parser) next() token { t := p.peek(); p.pos++; return t }

func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == "ident" && strings.EqualFold(t.text, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) fail(want string) error {
	return &queryError{"4000", fmt.Sprintf("QueryParserError: Encountered \"%s\" where %s was expected", p.peek().text, want)}
}

func (p *parser) punct(s string) bool {
	if t := p.peek(); t.kind == "punct" && t.text == s {
		p.pos++
		return true
	}
	return false
}

func parseQuery(s string) (*query, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q := &query{start: 1, max: 100}
	if !p.keyword("select") {
		return nil, p.fail("SELECT")
	}
	switch {
	case p.punct("*"):
	case p.keyword("count"):
		if !p.punct("(") || !p.punct("*") || !p.punct(")") {
			return nil, p.fail("count(*)")
		}
		q.count = true
	default:
		return nil, p.fail("* or count(*)")
	}
	if !p.keyword("from") {
		return nil, p.fail("FROM")
	}
	ent := p.next()
	if ent.kind != "ident" {
		return nil, p.fail("an entity")
	}
	q.entity = ent.text
	if p.keyword("where") {
		for {
			c, err := p.cond()
			if err != nil {
				return nil, err
			}
			q.where = append(q.where, c)
			if p.keyword("or") {
				return nil, &queryError{"4000", "QueryParserError: OR is not supported"}
			}
			if !p.keyword("and") {
				break
			}
		}
	}
	if p.keyword("orderby") {
		f := p.next()
		if f.kind != "ident" {
			return nil, p.fail("a property")
		}
		q.orderBy = f.text
		if p.keyword("desc") {
			q.desc = true
		} else {
			p.keyword("asc")
		}
	}
	if p.keyword("startposition") {
		n, err := p.int()
		if err != nil {
			return nil, err
		}
		q.start, q.hasStart = n, true
	}
	if p.keyword("maxresults") {
		n, err := p.int()
		if err != nil {
			return nil, err
		}
		if n > 1000 {
			n = 1000
		}
		q.max = n
	}
	if p.peek().kind != "eof" {
		return nil, p.fail("the end of the query")
	}
	if q.start < 1 || q.max < 1 {
		return nil, &queryError{"4000", "QueryParserError: STARTPOSITION and MAXRESULTS must be positive"}
	}
	return q, nil
}

func (p *parser) int() (int, error) {
	t := p.next()
	n, err := strconv.Atoi(t.text)
	if t.kind != "number" || err != nil {
		p.pos--
		return 0, p.fail("a number")
	}
	return n, nil
}

func (p *parser) cond() (cond, error) {
	f := p.next()
	if f.kind != "ident" {
		p.pos--
		return cond{}, p.fail("a property")
	}
	c := cond{field: f.text}
	switch t := p.next(); {
	case t.kind == "punct" && (t.text == "=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">="):
		c.op = t.text
	case t.kind == "ident" && strings.EqualFold(t.text, "like"):
		c.op = "like"
	case t.kind == "ident" && strings.EqualFold(t.text, "in"):
		c.op = "in"
	default:
		p.pos--
		return cond{}, p.fail("an operator")
	}
	if c.op == "in" {
		if !p.punct("(") {
			return cond{}, p.fail("(")
		}
		for {
			v, err := p.value()
			if err != nil {
				return cond{}, err
			}
			c.vals = append(c.vals, v)
			if p.punct(")") {
				break
			}
			if !p.punct(",") {
				return cond{}, p.fail(", or )")
			}
		}
		return c, nil
	}
	v, err := p.value()
	if err != nil {
		return cond{}, err
	}
	if _, isString := v.(string); c.op == "like" && !isString {
		return cond{}, p.fail("a string")
	}
	c.vals = []any{v}
	return c, nil
}

func (p *parser) value() (any, error) {
	t := p.next()
	switch {
	case t.kind == "string":
		return t.text, nil
	case t.kind == "number":
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, p.fail("a number")
		}
		return f, nil
	case t.kind == "ident" && strings.EqualFold(t.text, "true"):
		return true, nil
	case t.kind == "ident" && strings.EqualFold(t.text, "false"):
		return false, nil
	}
	p.pos--
	return nil, p.fail("a value")
}

// record is an entity the query engine can filter.
type record interface {
	field(name string) (any, bool)
}

// run filters, orders and pages records. Name-list entities (those with an
// Active field) answer only active records unless the query filters on
// Active.
func (q *query) run(all []record, nameList bool) ([]record, int, error) {
	filtersActive := false
	for _, c := range q.where {
		if len(all) > 0 {
			if _, ok := all[0].field(c.field); !ok {
				return nil, 0, &queryError{"4001", fmt.Sprintf("QueryValidationError: property '%s' is not queryable", c.field)}
			}
		}
		if c.field == "Active" {
			filtersActive = true
		}
	}
	if q.orderBy != "" && len(all) > 0 {
		if _, ok := all[0].field(q.orderBy); !ok {
			return nil, 0, &queryError{"4001", fmt.Sprintf("QueryValidationError: property '%s' is not queryable", q.orderBy)}
		}
	}
	var hits []record
	for _, r := range all {
		if nameList && !filtersActive {
			if a, _ := r.field("Active"); a == false {
				continue
			}
		}
		ok := true
		for _, c := range q.where {
			v, _ := r.field(c.field)
			if !c.match(v) {
				ok = false
				break
			}
		}
		if ok {
			hits = append(hits, r)
		}
	}
	if q.orderBy != "" {
		sort.SliceStable(hits, func(i, j int) bool {
			a, _ := hits[i].field(q.orderBy)
			b, _ := hits[j].field(q.orderBy)
			less := compare(a, b) < 0
			if q.desc {
				return compare(a, b) > 0
			}
			return less
		})
	}
	total := len(hits)
	if q.start > len(hits) {
		return nil, total, nil
	}
	hits = hits[q.start-1:]
	if len(hits) > q.max {
		hits = hits[:q.max]
	}
	return hits, total, nil
}

func (c cond) match(v any) bool {
	switch c.op {
	case "in":
		for _, w := range c.vals {
			if compare(v, w) == 0 {
				return true
			}
		}
		return false
	case "like":
		s, _ := v.(string)
		return like(strings.ToLower(s), strings.ToLower(c.vals[0].(string)))
	}
	n := compare(v, c.vals[0])
	switch c.op {
	case "=":
		return n == 0
	case "<":
		return n < 0
	case ">":
		return n > 0
	case "<=":
		return n <= 0
	case ">=":
		return n >= 0
	}
	return false
}

// compare orders two values; strings compare case-insensitively, and
// numeric strings (ids) numerically against numbers.
func compare(a, b any) int {
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			if xf, err := strconv.ParseFloat(x, 64); err == nil {
				if yf, err := strconv.ParseFloat(y, 64); err == nil {
					return cmpFloat(xf, yf)
				}
			}
			return strings.Compare(strings.ToLower(x), strings.ToLower(y))
		case float64:
			xf, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return 1
			}
			return cmpFloat(xf, y)
		}
	case float64:
		switch y := b.(type) {
		case float64:
			return cmpFloat(x, y)
		case string:
			return -compare(y, x)
		}
	case bool:
		if y, ok := b.(bool); ok && x == y {
			return 0
		}
	}
	return 1
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// like matches s against a pattern whose only wildcard is %.
func like(s, pattern string) bool {
	parts := strings.Split(pattern, "%")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
