package admin

import (
	"crypto/hmac"
	"crypto/sha256"
)

// DeriveKey derives a 32-byte key for one purpose (such as "session" or
// "csrf") from a master key, so one configured secret can serve several
// uses without one use's key revealing another's. Sealing secrets at rest
// is store's business (store.WithKeys); this is for the key of the admin
// pages' CSRF tokens.
func DeriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("hubspot-actions derive\x00" + purpose))
	return m.Sum(nil)
}
