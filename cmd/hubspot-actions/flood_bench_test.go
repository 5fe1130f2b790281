package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/store"
)

// BenchmarkInstallFlood measures signed executions (sandbox-echo, answered
// inline, 4 at a time) on the real server and its SQLite file while
// floodClients goroutines, each a client of its own address (through
// TRUSTED_PROXIES and X-Forwarded-For), request GET /oauth/hubspot/install
// as fast as they can: with no flood, with the flood and no per-client
// limit, and with the flood under the default limit (20/min, burst 20).
// Each install the server accepts writes an oauth_states row; the table
// starts with seededStates live rows, what an earlier flood leaves behind.
//
//	go test -run '^$' -bench BenchmarkInstallFlood -benchtime 3000x ./cmd/hubspot-actions/
func BenchmarkInstallFlood(b *testing.B) {
	const floodClients = 8
	const seededStates = 100_000
	cases := []struct {
		name    string
		clients int
		limit   string
	}{
		{"no-flood", 0, ""},
		{"flood-no-limit", floodClients, "off"},
		{"flood-limited", floodClients, ""},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			env := map[string]string{"TRUSTED_PROXIES": "127.0.0.1"}
			if tc.limit != "" {
				env["UNAUTH_RATE_LIMIT"] = tc.limit
			}
			dir := b.TempDir()
			seedStates(b, testDatabaseURL(b, dir), seededStates)
			s := startServerIn(b, dir, env)
			ctx, cancel := context.WithCancel(context.Background())
			var installs, refused atomic.Int64
			var wg sync.WaitGroup
			for i := range tc.clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					flood(ctx, s.URL, fmt.Sprintf("198.51.100.%d", i+1), &installs, &refused)
				}()
			}
			if tc.clients > 0 {
				time.Sleep(500 * time.Millisecond) // let the flood build up
			}
			installs.Store(0)
			refused.Store(0)

			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var ewg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range 4 {
				ewg.Add(1)
				go func() {
					defer ewg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						lat[i] = benchExecute(b, hc, s, fmt.Sprintf("flood-%s-%d", tc.name, i))
					}
				}()
			}
			ewg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			wg.Wait()

			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)]) / float64(time.Millisecond) }
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "exec/s")
			b.ReportMetric(float64(installs.Load())/elapsed.Seconds(), "installs/s")
			b.ReportMetric(float64(refused.Load())/elapsed.Seconds(), "refused/s")
			b.ReportMetric(float64(stateRows(b, s)), "state-rows")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// flood requests the install route as one client until ctx ends, counting
// accepted (302) and refused (429) answers.
func flood(ctx context.Context, base, client string, installs, refused *atomic.Int64) {
	hc := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 1},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/oauth/hubspot/install", nil)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := hc.Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusFound:
			installs.Add(1)
		case http.StatusTooManyRequests:
			refused.Add(1)
		}
	}
}

// benchExecute sends one v2-signed execution and returns how long its
// answer took.
func benchExecute(b *testing.B, hc *http.Client, s *testServer, callbackID string) time.Duration {
	body, _ := json.Marshal(map[string]any{
		"callbackId":  callbackID,
		"origin":      map[string]any{"portalId": 7000001, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
		"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 77},
		"object":      map[string]any{"objectId": 901, "objectType": "CONTACT"},
		"inputFields": map[string]any{"message": "hello"},
	})
	path := "/hubspot/actions/sandbox-echo"
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(actions.HeaderSignatureVersion, "v2")
	req.Header.Set(actions.HeaderSignature, actions.SignV2(s.Secret, http.MethodPost, s.URL+path, body))
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		b.Errorf("execute: %v", err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		b.Errorf("execute: status %d", resp.StatusCode)
	}
	return d
}

// seedStates creates the database at path with n unexpired states.
func seedStates(b *testing.B, path string, n int) {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	err = db.Write(ctx, func(tx *store.Tx) error {
		exp := time.Now().Add(10 * time.Minute)
		for i := range n {
			if err := tx.InsertState(ctx, store.State{Hash: fmt.Sprintf("seed-%d", i), Provider: "hubspot", ExpiresAt: exp}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("seed states: %v", err)
	}
}

// stateRows counts the server's oauth_states rows, read from its file.
func stateRows(b *testing.B, s *testServer) int {
	db, err := store.Open(context.Background(), s.DatabaseURL)
	if err != nil {
		b.Fatalf("open the server's database: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM oauth_states`).Scan(&n); err != nil {
		b.Fatalf("count states: %v", err)
	}
	return n
}
