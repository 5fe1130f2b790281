package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
	"hubspot-actions/actions/clearbit/clearbittest"
	"hubspot-actions/oauth/hubspottest"
	"hubspot-actions/store/storetest"
)

// replica is one `serve` process of a service whose replicas share one
// PostgreSQL schema.
type replica struct {
	name  string
	url   string // its public base URL, which requests are signed for
	child *child
}

// replicaSet starts replicas of one service: the same DATABASE_URL, data
// folder (so the same sandbox client secret and encryption key) and
// settings, each on its own port and with its own HubSpot address (a front
// of the shared fake HubSpot that records which replica called).
type replicaSet struct {
	t      *testing.T
	bin    string
	env    []string // shared by every replica
	secret string
	hs     *hubspottest.Server
	calls  *hubspotCalls
}

func newReplicaSet(t *testing.T, env ...string) *replicaSet {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	// Made before any replica starts, so none of them generates its own.
	sec, err := loadSandboxSecrets(data, true)
	if err != nil {
		t.Fatal(err)
	}
	rs := &replicaSet{
		t:      t,
		bin:    buildBinary(t),
		secret: sec.ClientSecret,
		hs:     hubspottest.NewTestServer(t, hubspottest.Config{SandboxTokens: true}),
		calls:  &hubspotCalls{},
	}
	rs.env = append(os.Environ(),
		"DATABASE_URL="+storetest.URL(t),
		"DATA_DIR="+data,
		"ENCRYPTION_KEY="+sec.EncryptionKey,
		"METRICS_ADDR=off",
		"LOG_LEVEL=info",
	)
	rs.env = append(rs.env, env...)
	return rs
}

// start starts a replica named name and waits until it is ready.
func (rs *replicaSet) start(name string) *replica {
	rs.t.Helper()
	addr := freeAddr(rs.t)
	url := "http://localhost:" + addr[strings.LastIndex(addr, ":")+1:]
	env := append(slices.Clone(rs.env), "LISTEN_ADDR="+addr, "HUBSPOT_API_BASE_URL="+rs.calls.front(rs.t, name, rs.hs))
	c, err := startChild(rs.bin, url, env)
	rs.t.Cleanup(c.stop)
	if err != nil {
		rs.t.Fatalf("start replica %s: %v", name, err)
	}
	r := &replica{name: name, url: url, child: c}
	rs.t.Cleanup(func() {
		if rs.t.Failed() {
			rs.t.Logf("last logs of replica %s:\n%s", name, lastLines(c.logs.String(), 30))
		}
	})
	return r
}

// hubspotCall is one request a replica made to the fake HubSpot.
type hubspotCall struct {
	replica  string
	at       time.Time // when it arrived
	portalID int64     // whose token it carried; 0 for none
	path     string
}

// hubspotCalls records every request the replicas make to HubSpot.
type hubspotCalls struct {
	mu    sync.Mutex
	calls []hubspotCall
}

// front serves hs on a new loopback port for replica name, recording each
// request's arrival and portal before hs answers it.
func (l *hubspotCalls) front(t *testing.T, name string, hs *hubspottest.Server) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := hubspotCall{replica: name, at: time.Now(), path: r.URL.Path}
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer sandbox-"); ok {
			c.portalID, _ = strconv.ParseInt(tok, 10, 64)
		}
		l.mu.Lock()
		l.calls = append(l.calls, c)
		l.mu.Unlock()
		hs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// of returns the recorded requests of a portal, in arrival order.
func (l *hubspotCalls) of(portalID int64) []hubspotCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []hubspotCall
	for _, c := range l.calls {
		if c.portalID == portalID {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b hubspotCall) int { return a.at.Compare(b.at) })
	return out
}

// maxInWindow returns the most requests of calls (in arrival order) that
// arrived within any window of length d, and when that window started.
func maxInWindow(calls []hubspotCall, d time.Duration) (int, time.Time) {
	best, from := 0, time.Time{}
	j := 0
	for i := range calls {
		for j < len(calls) && calls[j].at.Sub(calls[i].at) < d {
			j++
		}
		if j-i > best {
			best, from = j-i, calls[i].at
		}
	}
	return best, from
}

// executionBody is HubSpot's execution request for a callbackId of portal.
func executionBody(callbackID string, portalID int64, inputs map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"callbackId":  callbackID,
		"origin":      map[string]any{"portalId": portalID, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
		"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 88},
		"object":      map[string]any{"objectId": 4400, "objectType": "CONTACT"},
		"inputFields": inputs,
	})
	return b
}

// errNoRetry is a request HubSpot would not send again.
var errNoRetry = errors.New("answer HubSpot would not retry")

// deliver sends an execution of action to r, v3-signed with secret at the
// moment of sending, as HubSpot does, and returns the outputFields of the
// answer. Like HubSpot, it sends again what failed (the connection, a 429
// or a 5xx), until 60 s have passed. It may run on any goroutine.
func deliver(hc *http.Client, r *replica, secret, action string, body []byte) (map[string]string, error) {
	url := r.url + "/hubspot/actions/" + action
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(actions.HeaderSignatureV3, actions.SignV3(secret, http.MethodPost, url, body, ts))
		req.Header.Set(actions.HeaderTimestamp, ts)
		resp, err := hc.Do(req)
		if err != nil {
			last = err.Error()
			time.Sleep(100 * time.Millisecond)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var res actions.Response
		switch {
		case resp.StatusCode == http.StatusOK && json.Unmarshal(b, &res) == nil:
			return res.OutputFields, nil
		case resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
			return nil, fmt.Errorf("replica %s: %w: %d %s", r.name, errNoRetry, resp.StatusCode, b)
		}
		last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("replica %s never answered: last %s", r.name, last)
}

func blocked(out map[string]string) bool { return out[actions.OutputState] == "BLOCK" }

// completionCounts counts the completions the fake HubSpot received by
// callbackId, after letting stray ones arrive.
func completionCounts(hs *hubspottest.Server) map[string]int {
	time.Sleep(2 * time.Second)
	n := map[string]int{}
	for _, c := range hs.Completions() {
		n[c.CallbackID]++
	}
	return n
}

// TestReplicasOneService runs two real replicas of the service against one
// PostgreSQL schema. First every callbackId is delivered concurrently to
// both (some three or four times): each one gets one outcome (the same
// inline answer to every delivery, or BLOCK to every delivery and exactly one
// callback completion), and Clearbit is called once per callbackId. Then a
// batch of executions BLOCKed and running on one replica is left by a
// kill -9 of that replica: the other takes them over once their leases run
// out and completes each exactly once, HubSpot's retries across the kill
// included.
func TestReplicasOneService(t *testing.T) {
	if !storetest.Postgres() {
		t.Skipf("%s is not set: replicas share a PostgreSQL database; `make test` sets it (see .ci/postgres)", storetest.EnvURL)
	}
	t.Parallel()
	started := time.Now()
	// Clearbit, where each run of clearbit-enrich-contact leaves a call to
	// count; lookups of slow… emails take longer than the inline budget.
	cb := clearbittest.NewServer(clearbittest.Options{})
	cbSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Query().Get("email"), "slow") {
			time.Sleep(time.Second)
		}
		cb.ServeHTTP(w, r)
	}))
	t.Cleanup(cbSrv.Close)
	rs := newReplicaSet(t,
		"INLINE_BUDGET=500ms",
		// Far longer than a Clearbit call may wait for its turn (5 s) and
		// take (1 s), even on a loaded machine, so no run times out after
		// its call was answered: it would be run (and call) again. A run
		// whose process died is taken over ACTION_TIMEOUT+5s after it
		// started.
		"ACTION_TIMEOUT=20s",
		"CLEARBIT_BASE_URL="+cbSrv.URL,
		"CLEARBIT_API_KEY=sk_replicas_app_key",
		"CLEARBIT_APP_KEY_PORTALS=all",
		"CLEARBIT_APP_KEY_DAILY_QUOTA=0",
	)
	a := rs.start("A")
	b := rs.start("B")
	hc := &http.Client{Timeout: 30 * time.Second}

	t.Run("concurrent duplicates", func(t *testing.T) {
		// Clearbit's budget (600 a minute, shared by the replicas) makes
		// most of these wait their turn, and BLOCK.
		const n = 120
		email := func(i int) string {
			if i%3 == 0 {
				return fmt.Sprintf("slow%d@acme.com", i)
			}
			return fmt.Sprintf("pat%d@acme.com", i)
		}
		id := func(i int) string { return fmt.Sprintf("ap-31-%d-0", i) }
		answers := make([][]map[string]string, n)
		deliveries := 0
		var wg sync.WaitGroup
		sem := make(chan struct{}, 24)
		for i := range n {
			copies := 2
			if i%5 == 0 {
				copies = 3 + i%2
			}
			answers[i] = make([]map[string]string, copies)
			deliveries += copies
			body := executionBody(id(i), 300+int64(i%10), map[string]any{"email": email(i)})
			sem <- struct{}{}
			leave := make(chan struct{})
			var inner sync.WaitGroup
			for k := range copies {
				r := []*replica{a, b}[k%2]
				wg.Add(1)
				inner.Add(1)
				go func() {
					defer wg.Done()
					defer inner.Done()
					<-leave // every copy leaves at once
					out, err := deliver(hc, r, rs.secret, "clearbit-enrich-contact", body)
					if err != nil {
						t.Errorf("%s copy %d: %v", id(i), k, err)
						return
					}
					answers[i][k] = out
				}()
			}
			close(leave)
			go func() { inner.Wait(); <-sem }()
		}
		wg.Wait()

		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		inline, blockedIDs := 0, 0
		final := make([]map[string]string, n)
		for i, got := range answers {
			if slices.ContainsFunc(got, func(o map[string]string) bool { return o == nil }) {
				continue // reported above
			}
			switch nb := len(slices.DeleteFunc(slices.Clone(got), func(o map[string]string) bool { return !blocked(o) })); {
			case nb == 0:
				inline++
				for k := 1; k < len(got); k++ {
					if diff := cmp.Diff(got[0], got[k]); diff != "" {
						t.Errorf("%s: copy %d answered differently from copy 0 (-0 +%d):\n%s", id(i), k, k, diff)
					}
				}
				final[i] = got[0]
			case nb < len(got):
				t.Errorf("%s: %d of %d copies answered BLOCK, the others %v", id(i), nb, len(got), got)
			default:
				blockedIDs++
				c, err := rs.hs.WaitCompletion(ctx, id(i))
				if err != nil {
					t.Errorf("%s answered BLOCK but was never completed: %v", id(i), err)
					continue
				}
				final[i] = c.OutputFields
			}
		}
		counts := completionCounts(rs.hs)
		for i := range n {
			o := final[i]
			if o == nil {
				continue
			}
			if o[actions.OutputState] != "SUCCESS" || o["enriched"] != "true" || o["full_name"] == "" {
				t.Errorf("%s (%s) ended with %v, want an enriched SUCCESS", id(i), email(i), o)
			}
			want := 0
			if blocked(answers[i][0]) {
				want = 1
			}
			if counts[id(i)] != want {
				t.Errorf("%s was completed by callback %d times, want %d", id(i), counts[id(i)], want)
			}
			if got := cb.Calls(email(i)); got != 1 {
				t.Errorf("Clearbit was asked about %s (%s) %d times, want once", email(i), id(i), got)
			}
		}
		if blockedIDs == 0 {
			t.Errorf("no callbackId was answered BLOCK: the slow lookups should have been")
		}
		t.Logf("%d callbackIds delivered %d times in all to both replicas: %d answered inline, %d BLOCK and completed once; %d Clearbit calls",
			n, deliveries, inline, blockedIDs, len(cb.Requests()))
	})
	if t.Failed() {
		return
	}

	t.Run("kill -9 with BLOCKed work", func(t *testing.T) {
		// River runs 20 jobs at once: B reruns these in two rounds.
		const n = 40
		id := func(i int) string { return fmt.Sprintf("ap-32-%d-0", i) }
		body := func(i int) []byte {
			return executionBody(id(i), 32, map[string]any{"message": fmt.Sprint("k", i), "delay_ms": 3000})
		}
		var wg sync.WaitGroup
		sent := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := deliver(hc, a, rs.secret, "sandbox-echo", body(i))
				if err != nil {
					t.Errorf("%s: %v", id(i), err)
				} else if !blocked(out) {
					t.Errorf("%s answered %v, want BLOCK", id(i), out)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		early := 0
		for _, c := range rs.hs.Completions() {
			if strings.HasPrefix(c.CallbackID, "ap-32-") {
				early++
			}
		}
		if err := a.child.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill replica A: %v", err)
		}
		<-a.child.done
		killed := time.Since(sent)

		// HubSpot's retries of a third of them reach replica B; each is
		// answered BLOCK again, at once or after B took the run over.
		for i := 0; i < n; i += 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := deliver(hc, b, rs.secret, "sandbox-echo", body(i))
				if err != nil {
					t.Errorf("%s retried on B: %v", id(i), err)
				} else if !blocked(out) {
					t.Errorf("%s retried on B answered %v, want BLOCK (HubSpot was told BLOCK)", id(i), out)
				}
			}()
		}

		// The killed runs held their executions for ACTION_TIMEOUT+5s
		// (25 s) from their start; B's sweeper then runs them again. Had A
		// been killed in the middle of sending a completion, that one
		// would wait for its delivery claim (ACTION_TIMEOUT+90s): wait
		// longer than that.
		ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
		defer cancel()
		for i := range n {
			c, err := rs.hs.WaitCompletion(ctx, id(i))
			if err != nil {
				t.Errorf("%s, BLOCKed on the killed replica, was never completed: %v", id(i), err)
				continue
			}
			if c.OutputFields[actions.OutputState] != "SUCCESS" || c.OutputFields["echo"] != fmt.Sprint("k", i) {
				t.Errorf("%s completed with %v", id(i), c.OutputFields)
			}
		}
		tookOver := time.Since(sent)
		wg.Wait()
		counts := completionCounts(rs.hs)
		for i := range n {
			if counts[id(i)] > 1 {
				t.Errorf("%s was completed %d times", id(i), counts[id(i)])
			}
		}
		if d := rs.hs.Duplicates(); d != 0 {
			t.Errorf("the fake HubSpot saw %d completions of callbackIds completed before", d)
		}
		t.Logf("%d executions BLOCKed on A; A killed %v after they were sent (%d completions before the kill); B completed all of them %v after they were sent",
			n, killed.Round(time.Millisecond), early, tookOver.Round(time.Millisecond))
	})
	t.Logf("TestReplicasOneService took %v", time.Since(started).Round(time.Millisecond))
}

// TestReplicasShareHubSpotRateLimit runs two replicas against one
// PostgreSQL schema with one portal's BLOCKed executions split between
// them, finishing one every 40 ms for 14 s: sent as they finish, their
// callback completions would make about 250 requests in 10 s. HubSpot
// allows 110 per 10 s per portal, and the replicas share that budget: no
// 10-second window of the fake HubSpot's log of that portal's requests
// holds more than 110, both replicas sent some, and every execution is
// completed exactly once.
func TestReplicasShareHubSpotRateLimit(t *testing.T) {
	if !storetest.Postgres() {
		t.Skipf("%s is not set: replicas share a PostgreSQL database; `make test` sets it (see .ci/postgres)", storetest.EnvURL)
	}
	t.Parallel()
	started := time.Now()
	rs := newReplicaSet(t, "INLINE_BUDGET=300ms", "ACTION_TIMEOUT=20s")
	a := rs.start("A")
	b := rs.start("B")
	hc := &http.Client{Timeout: 30 * time.Second}

	const (
		portal = 4242
		n      = 360
		spread = 40 * time.Millisecond
		first  = 1500 * time.Millisecond
	)
	id := func(i int) string { return fmt.Sprintf("ap-4242-%d-0", i) }
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body := executionBody(id(i), portal, map[string]any{
				"message": fmt.Sprint("r", i), "delay_ms": (first + time.Duration(i)*spread).Milliseconds(),
			})
			out, err := deliver(hc, []*replica{a, b}[i%2], rs.secret, "sandbox-echo", body)
			if err != nil {
				t.Errorf("%s: %v", id(i), err)
			} else if !blocked(out) {
				t.Errorf("%s answered %v, want BLOCK", id(i), out)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for i := range n {
		c, err := rs.hs.WaitCompletion(ctx, id(i))
		if err != nil {
			t.Errorf("%s was never completed: %v", id(i), err)
			continue
		}
		if c.OutputFields[actions.OutputState] != "SUCCESS" || c.OutputFields["echo"] != fmt.Sprint("r", i) {
			t.Errorf("%s completed with %v", id(i), c.OutputFields)
		}
	}
	counts := completionCounts(rs.hs)
	for i := range n {
		if counts[id(i)] > 1 {
			t.Errorf("%s was completed %d times", id(i), counts[id(i)])
		}
	}

	calls := rs.calls.of(portal)
	most, from := maxInWindow(calls, 10*time.Second)
	if most > 110 {
		t.Errorf("portal %d: %d requests reached HubSpot in the 10 s from %s, want at most 110 (of %d in all)",
			portal, most, from.Format("15:04:05.000"), len(calls))
	}
	byReplica := map[string]int{}
	for _, c := range calls {
		byReplica[c.replica]++
	}
	for _, r := range []*replica{a, b} {
		if byReplica[r.name] == 0 {
			t.Errorf("replica %s sent none of the %d requests: the budget was not shared", r.name, len(calls))
		}
	}
	if len(calls) > 0 {
		t.Logf("%d completions in %d requests over %v (A %d, B %d); at most %d in a 10 s window; the test took %v",
			n, len(calls), calls[len(calls)-1].at.Sub(calls[0].at).Round(time.Millisecond), byReplica["A"], byReplica["B"], most,
			time.Since(started).Round(time.Millisecond))
	}
}
