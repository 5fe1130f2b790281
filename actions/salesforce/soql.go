package salesforce

import "strings"

// soqlEscaper escapes what SOQL reserves in a quoted string: the quotes and
// the backslash, and the control characters that have an escape of their
// own (a raw line break is not allowed in a literal).
var soqlEscaper = strings.NewReplacer(
	`\`, `\\`, `'`, `\'`, `"`, `\"`,
	"\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`, "\f", `\f`,
)

// likeEscaper also escapes LIKE's wildcards, % and _, which SOQL accepts
// escaped only inside a LIKE pattern.
var likeEscaper = strings.NewReplacer(
	`\`, `\\`, `'`, `\'`, `"`, `\"`,
	"\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`, "\f", `\f`,
	`%`, `\%`, `_`, `\_`,
)

// Quote returns s as a SOQL string literal for = and != comparisons:
// single-quoted, with quotes, backslashes and control characters escaped,
// so that no value can end the literal (o'hara → 'o\'hara'). % and _ are
// plain characters in such comparisons and are left alone: SOQL refuses
// \% and \_ outside LIKE.
func Quote(s string) string { return "'" + soqlEscaper.Replace(s) + "'" }

// QuoteLike returns s as a SOQL LIKE pattern that matches s exactly: Quote's
// escapes plus the wildcards % and _.
func QuoteLike(s string) string { return "'" + likeEscaper.Replace(s) + "'" }
