package store

import "strings"

// uriEscaper escapes what a file: URI would read as something else in a
// path: SQLite ends the path at '?' or '#' and decodes %HH, and the driver
// takes its settings from after the first '?'.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// fileURI returns the file: URI of the SQLite file at path, to which the
// driver's settings are appended after a '?'.
func fileURI(path string) string { return "file:" + uriEscaper.Replace(path) }
