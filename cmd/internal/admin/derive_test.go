package admin

import (
	"crypto/sha256"
	"testing"
)

func TestDeriveKey(t *testing.T) {
	t.Parallel()
	master := sha256.Sum256([]byte("test key m"))
	a, b := DeriveKey(master[:], "session"), DeriveKey(master[:], "other")
	if len(a) != 32 || string(a) == string(b) || string(a) == string(master[:]) {
		t.Errorf("DeriveKey() gave %x and %x, want distinct 32-byte keys unlike the master", a, b)
	}
	if again := DeriveKey(master[:], "session"); string(again) != string(a) {
		t.Errorf("DeriveKey() twice gave %x and %x, want the same key", a, again)
	}
}
