package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestUseAppKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	day1 := time.Date(2026, 12, 3, 23, 59, 0, 0, time.UTC)
	setClock(db, day1)
	use := func(provider string, portal int64, callbackID string) (AppKeyUse, error) {
		var u AppKeyUse
		err := db.Write(ctx, func(tx *Tx) error {
			var err error
			u, err = tx.UseAppKey(ctx, provider, portal, callbackID, 2)
			return err
		})
		return u, err
	}
	steps := []struct {
		provider string
		portal   int64
		callback string
		want     AppKeyUse
		err      error
	}{
		{"clearbit", 1, "cb-1", AppKeyUse{Day: "2026-12-03", Used: 1}, nil},
		{"clearbit", 1, "cb-1", AppKeyUse{Day: "2026-12-03", Again: true}, nil}, // a retry is not counted again
		{"clearbit", 1, "cb-2", AppKeyUse{Day: "2026-12-03", Used: 2}, nil},
		{"clearbit", 1, "cb-3", AppKeyUse{}, ErrQuotaExhausted},
		{"clearbit", 1, "cb-3", AppKeyUse{}, ErrQuotaExhausted},             // refused, so not recorded
		{"clearbit", 2, "cb-4", AppKeyUse{Day: "2026-12-03", Used: 1}, nil}, // another portal
		{"stripe", 1, "cb-5", AppKeyUse{Day: "2026-12-03", Used: 1}, nil},   // another provider
		{"clearbit", 1, "cb-2", AppKeyUse{Day: "2026-12-03", Again: true}, nil},
	}
	for i, s := range steps {
		got, err := use(s.provider, s.portal, s.callback)
		if !errors.Is(err, s.err) || (s.err == nil && got != s.want) {
			t.Errorf("step %d: UseAppKey(%s, %d, %s) = %+v, %v; want %+v, %v", i, s.provider, s.portal, s.callback, got, err, s.want, s.err)
		}
	}
	if n, err := db.AppKeyUsed(ctx, "clearbit", 1); n != 2 || err != nil {
		t.Errorf("AppKeyUsed(clearbit, 1) = %d, %v; want 2", n, err)
	}
	// A new UTC day starts a new count; an execution counted yesterday
	// that runs again today is still not counted.
	setClock(db, day1.Add(2*time.Minute))
	if got, err := use("clearbit", 1, "cb-3"); err != nil || got.Used != 1 || got.Day != "2026-12-04" {
		t.Errorf("next day: UseAppKey = %+v, %v; want the first use of 2026-12-04", got, err)
	}
	if got, err := use("clearbit", 1, "cb-1"); err != nil || !got.Again {
		t.Errorf("next day, yesterday's execution: UseAppKey = %+v, %v; want Again", got, err)
	}
	// An execution retried by HubSpot three days later is still known.
	setClock(db, day1.AddDate(0, 0, 3))
	if got, err := use("clearbit", 1, "cb-1"); err != nil || !got.Again {
		t.Errorf("three days later, the first day's execution: UseAppKey = %+v, %v; want Again", got, err)
	}
	// Days older than the kept ones are deleted when a portal's day begins.
	setClock(db, day1.AddDate(0, 0, 7))
	if _, err := use("clearbit", 1, "cb-9"); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.r.QueryRowxContext(ctx, `SELECT COUNT(*) FROM app_key_uses WHERE provider = 'clearbit' AND portal_id = 1`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("clearbit uses of portal 1 after 7 days = %d, %v; want 1 (today's)", rows, err)
	}
}

// TestUseAppKeyConcurrent counts from many goroutines at once: exactly the
// quota is granted.
func TestUseAppKeyConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	const limit, tries = 5, 40
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Write(ctx, func(tx *Tx) error {
				_, err := tx.UseAppKey(ctx, "stripe", 7, fmt.Sprintf("cb-%d", i), limit)
				return err
			})
			switch {
			case err == nil:
				mu.Lock()
				granted++
				mu.Unlock()
			case !errors.Is(err, ErrQuotaExhausted):
				t.Errorf("UseAppKey: %v", err)
			}
		}()
	}
	wg.Wait()
	if granted != limit {
		t.Errorf("%d of %d concurrent uses granted, want %d", granted, tries, limit)
	}
}
