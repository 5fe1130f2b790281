package oauth

import (
	"strings"
	"testing"
)

func TestKeyring(t *testing.T) {
	t.Parallel()
	old := newTestKeyring(t, testKey("old"), nil)
	k := newTestKeyring(t, testKey("new"), testKey("old"))

	ct, id, err := k.Seal("na1-secret-refresh-token")
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if strings.Contains(ct, "secret") || id != k.CurrentID() || !k.Current(id) {
		t.Errorf("Seal() = %q under %q, want ciphertext under the current key", ct, id)
	}
	if got, err := k.Open(ct, id); err != nil || got != "na1-secret-refresh-token" {
		t.Errorf("Open() = %q, %v; want the plaintext", got, err)
	}
	ct2, _, _ := k.Seal("na1-secret-refresh-token")
	if ct2 == ct {
		t.Error("Seal() twice gave the same ciphertext, want a fresh nonce each time")
	}

	oldCT, oldID, _ := old.Seal("old secret")
	if k.Current(oldID) {
		t.Error("Current(previous key id) = true, want false")
	}
	if got, err := k.Open(oldCT, oldID); err != nil || got != "old secret" {
		t.Errorf("Open(under previous key) = %q, %v; want the plaintext", got, err)
	}
	if _, err := old.Open(ct, id); err == nil {
		t.Error("Open(under a key the keyring lacks) succeeded, want an error")
	}
	tampered := []byte(ct)
	tampered[len(tampered)-2] ^= 1
	if _, err := k.Open(string(tampered), id); err == nil {
		t.Error("Open(tampered) succeeded, want an error")
	}
	if strings.Contains(id, string(testKey("new"))) || len(id) != 16 {
		t.Errorf("key id %q, want 16 hex characters derived from the key", id)
	}
	for _, bad := range [][]byte{nil, make([]byte, 16), make([]byte, 33)} {
		if _, err := NewKeyring(bad, nil); err == nil {
			t.Errorf("NewKeyring(%d bytes) succeeded, want an error", len(bad))
		}
	}
	if _, err := NewKeyring(testKey("a"), make([]byte, 5)); err == nil {
		t.Error("NewKeyring(bad previous key) succeeded, want an error")
	}
}

func TestDeriveKey(t *testing.T) {
	t.Parallel()
	a, b := DeriveKey(testKey("m"), "session"), DeriveKey(testKey("m"), "other")
	if len(a) != 32 || string(a) == string(b) || string(a) == string(testKey("m")) {
		t.Errorf("DeriveKey() gave %x and %x, want distinct 32-byte keys unlike the master", a, b)
	}
}
