package main

import (
	"path/filepath"
	"sync"
	"testing"
)

// TestSandboxSecretsCreatedOnce: sandbox processes that start at once on
// one data folder (replicas of a sandbox on one PostgreSQL) all end up
// with the one set of secrets the file keeps, never each its own.
func TestSandboxSecretsCreatedOnce(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	const n = 16
	got := make([]sandboxSecrets, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s, err := loadSandboxSecrets(dir, true)
			if err != nil {
				t.Errorf("loadSandboxSecrets: %v", err)
			}
			got[i] = s
		}()
	}
	close(start)
	wg.Wait()
	kept, err := loadSandboxSecrets(dir, false)
	if err != nil {
		t.Fatalf("loadSandboxSecrets after: %v", err)
	}
	for i, s := range got {
		if s != kept {
			t.Errorf("starter %d got secrets other than those the file keeps", i)
		}
	}
}
