package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strings"
)

// codeAlphabet holds the characters of a code's suffix: digits and
// upper-case letters without the look-alikes 0/O and 1/I/L.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// suffixLen characters of a 31-letter alphabet carry 49 bits.
const suffixLen = 10

// minSecretLen is the shortest code secret accepted.
const minSecretLen = 16

// minter derives codes from the app's code secret.
type minter struct{ secret []byte }

// suffix returns the unguessable part of the code for an execution: the
// same for every run of the execution, different for every execution.
func (m minter) suffix(callbackID string) string {
	h := hmac.New(sha256.New, m.secret)
	h.Write([]byte("discount-code\x00" + callbackID))
	n := binary.BigEndian.Uint64(h.Sum(nil)[:8])
	var b [suffixLen]byte
	for i := range b {
		b[i] = codeAlphabet[n%uint64(len(codeAlphabet))]
		n /= uint64(len(codeAlphabet))
	}
	return string(b[:])
}

// SearchQuery returns Shopify's search syntax for customers whose email is
// email: the value quoted, with backslashes and double quotes escaped, so
// nothing in it can add terms to the search. (The query itself travels as
// a GraphQL variable, so JSON encoding is its only other escaping.)
func SearchQuery(email string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `email:"` + r.Replace(email) + `"`
}
