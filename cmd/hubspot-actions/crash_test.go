package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/oauth/hubspottest"
)

// buildBinary builds the real hubspot-actions binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hubspot-actions")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is the service running as a separate process. done is closed
// when it has exited; err is then its exit error.
type child struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	err  error
}

// startChild starts `serve` and waits until it is ready. It may run on any
// goroutine, so it reports failure as an error; the caller stops the child.
func startChild(bin, url string, env []string) (*child, error) {
	c := &child{cmd: exec.Command(bin, "serve"), logs: &syncBuffer{}, done: make(chan struct{})}
	c.cmd.Env = env
	c.cmd.Stdout = c.logs
	c.cmd.Stderr = c.logs
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start child: %w", err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-c.done:
			return c, fmt.Errorf("child exited: %v\n%s", c.err, c.logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return c, fmt.Errorf("child never became ready\n%s", c.logs)
}

// stop kills the child (if it runs) and waits for it.
func (c *child) stop() {
	if c != nil {
		c.cmd.Process.Kill()
		<-c.done
	}
}

// TestKillDashNine kills the real service with SIGKILL in the middle of a
// burst of executions, restarts it on the same database, and checks that
// every execution got exactly one outcome: an inline final answer or one
// callback completion, never both, never neither. The load generator
// behaves like HubSpot: a request that fails (connection refused or reset,
// 5xx) is sent again with the same callbackId.
func TestKillDashNine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	t.Parallel()
	bin := buildBinary(t)
	hs := hubspottest.NewTestServer(t, hubspottest.Config{SandboxTokens: true})
	dir := t.TempDir()
	// A port outside the ephemeral range, so no outgoing connection takes
	// it between the kill and the restart.
	addr := freeAddr(t)
	url := "http://localhost:" + addr[strings.LastIndex(addr, ":")+1:]
	env := append(os.Environ(),
		"LISTEN_ADDR="+addr,
		"METRICS_ADDR=off",
		"DATABASE_URL="+testDatabaseURL(t, dir),
		"DATA_DIR="+filepath.Join(dir, "data"),
		"HUBSPOT_API_BASE_URL="+hs.URL(),
		"INLINE_BUDGET=300ms",
		"ACTION_TIMEOUT=2s",
		"LOG_LEVEL=warn",
	)
	first, err := startChild(bin, url, env)
	t.Cleanup(first.stop)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := loadSandboxSecrets(filepath.Join(dir, "data"), false)
	if err != nil {
		t.Fatal(err)
	}

	const n = 600
	type result struct {
		final    map[string]string // the last answer HubSpot received
		attempts int
	}
	results := make([]result, n)
	var answered atomic.Int64
	hc := &http.Client{Timeout: 10 * time.Second}
	send := func(i int) {
		delay := []int{0, 50, 1200}[i%3] // inline, inline, BLOCK
		body, _ := json.Marshal(map[string]any{
			"callbackId":  fmt.Sprintf("ap-77-%d-0", i),
			"origin":      map[string]any{"portalId": 77 + i%3, "actionDefinitionId": 1, "actionDefinitionVersion": 1},
			"context":     map[string]any{"source": "WORKFLOWS", "workflowId": 5},
			"object":      map[string]any{"objectId": i, "objectType": "CONTACT"},
			"inputFields": map[string]any{"message": fmt.Sprint("m", i), "delay_ms": delay},
		})
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			results[i].attempts++
			req, _ := http.NewRequest(http.MethodPost, url+"/hubspot/actions/sandbox-echo", bytes.NewReader(body))
			req.Header.Set(actions.HeaderSignatureVersion, "v2")
			req.Header.Set(actions.HeaderSignature, actions.SignV2(secrets.ClientSecret, http.MethodPost, url+"/hubspot/actions/sandbox-echo", body))
			resp, err := hc.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var res actions.Response
				if resp.StatusCode == http.StatusOK && json.Unmarshal(b, &res) == nil {
					results[i].final = res.OutputFields
					answered.Add(1)
					return
				}
				if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
					t.Errorf("execution %d: HubSpot would not retry a %d: %s", i, resp.StatusCode, b)
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("execution %d never answered", i)
	}

	var wg sync.WaitGroup
	work := make(chan int)
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				send(i)
			}
		}()
	}
	restarted := make(chan struct{})
	var second *child
	var restartErr error
	go func() {
		defer close(restarted)
		for answered.Load() < n/3 {
			time.Sleep(5 * time.Millisecond)
		}
		if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Errorf("kill: %v", err)
		}
		<-first.done
		second, restartErr = startChild(bin, url, env)
	}()
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	<-restarted
	t.Cleanup(second.stop)
	if restartErr != nil {
		t.Fatal(restartErr)
	}

	// Every execution answered BLOCK must now be completed, once.
	// A delivery the killed process had claimed waits for its claim to run
	// out (the job timeout, ACTION_TIMEOUT+30s, plus a minute: 92 s here)
	// before the second process sends it: wait longer than that.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	blocked, inline, retried := 0, 0, 0
	for i, r := range results {
		if r.final == nil {
			continue // reported above
		}
		if r.attempts > 1 {
			retried++
		}
		id := fmt.Sprintf("ap-77-%d-0", i)
		if r.final["hs_execution_state"] == "BLOCK" {
			blocked++
			c, err := hs.WaitCompletion(ctx, id)
			if err != nil {
				t.Errorf("%s answered BLOCK but was never completed: %v", id, err)
				continue
			}
			if c.OutputFields["hs_execution_state"] != "SUCCESS" || c.OutputFields["echo"] != fmt.Sprint("m", i) {
				t.Errorf("%s completed with %v", id, c.OutputFields)
			}
			continue
		}
		inline++
		if r.final["hs_execution_state"] != "SUCCESS" || r.final["echo"] != fmt.Sprint("m", i) {
			t.Errorf("%s answered %v", id, r.final)
		}
	}
	// Give stray deliveries a chance to show up before counting.
	time.Sleep(2 * time.Second)
	completions := map[string]int{}
	for _, c := range hs.Completions() {
		completions[c.CallbackID]++
	}
	for i, r := range results {
		id := fmt.Sprintf("ap-77-%d-0", i)
		switch {
		case completions[id] > 1:
			t.Errorf("%s completed %d times", id, completions[id])
		case r.final != nil && r.final["hs_execution_state"] != "BLOCK" && completions[id] > 0:
			t.Errorf("%s was answered inline and also completed by callback", id)
		}
	}
	if retried == 0 {
		t.Errorf("no request had to be retried: the kill did not land mid-burst")
	}
	t.Logf("%d executions: %d answered inline, %d answered BLOCK and completed once; %d needed HubSpot's retry across the kill",
		n, inline, blocked, retried)
	if t.Failed() && second != nil {
		t.Logf("logs of the second process:\n%s", lastLines(second.logs.String(), 40))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
