package oauth

import "testing"

func TestDeriveKey(t *testing.T) {
	t.Parallel()
	a, b := DeriveKey(testKey("m"), "session"), DeriveKey(testKey("m"), "other")
	if len(a) != 32 || string(a) == string(b) || string(a) == string(testKey("m")) {
		t.Errorf("DeriveKey() gave %x and %x, want distinct 32-byte keys unlike the master", a, b)
	}
	if again := DeriveKey(testKey("m"), "session"); string(again) != string(a) {
		t.Errorf("DeriveKey() twice gave %x and %x, want the same key", a, again)
	}
}
