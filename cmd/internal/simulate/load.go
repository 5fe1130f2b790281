package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hubspot-actions/actions"
)

// callbackIDToken stands for the callbackId in the body template.
const callbackIDToken = "__SIMULATE_CALLBACK_ID__"

// runLoad sends o.Load executions of the same request, each with its own
// callbackId, o.Concurrency at a time, retrying as HubSpot does; waits for
// the completion of every one answered BLOCK (up to o.Wait); then listens
// o.Settle longer for duplicate completions and reports throughput,
// latency percentiles and final states. It returns an error when an
// execution is lost (no final answer and no completion), got two outcomes
// (a final answer and a completion, or two completions), or was rejected
// with a 4xx (a wrong client secret or public URL rejects every one).
// With several backends (replicas of one deployment, c.urls), executions
// go to them in turn and a retry to the next one; every completion comes
// to the one local HubSpot, so lost and doubled outcomes are counted over
// all replicas.
func runLoad(ctx context.Context, o simOptions, c *hubspotCaller, base map[string]any, tr *tracker, local bool, stdout, stderr io.Writer) error {
	n := o.Load
	portal, _ := toInt64(base["origin"].(map[string]any)["portalId"])
	path := actions.ActionsPath + "/" + o.Action

	// Build every body (and v2 signature) up front: the generator shares
	// the machine with the backend, so each request must cost little.
	base["callbackId"] = callbackIDToken
	tmpl, err := json.Marshal(base)
	if err != nil {
		return fmt.Errorf("encode the request: %w", err)
	}
	run := time.Now().UnixMilli()
	ids := make([]string, n)
	bodies := make([][]byte, n)
	sigs := make([]string, n)
	for i := range n {
		ids[i] = newCallbackID(portal, run, i)
		bodies[i] = bytes.Replace(tmpl, []byte(callbackIDToken), []byte(ids[i]), 1)
		if c.version == "v2" {
			sigs[i] = actions.SignV2(c.secret, "POST", c.publicURL+path, bodies[i])
		}
	}

	fmt.Fprintf(stdout, "Load: %d executions of %s, concurrency %d, signature %s, against %s\n", n, o.Action, o.Concurrency, c.version, c.target())
	var sent, answered, blocked, retries, failed atomic.Int64
	done := make(chan struct{})
	var progress sync.WaitGroup
	if isTerminal(stderr) {
		progress.Go(func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			start := time.Now()
			var rate float64
			for {
				select {
				case <-done:
					fmt.Fprint(stderr, "\r\033[K")
					return
				case <-t.C:
				}
				finals, awaiting := tr.counts()
				if a := answered.Load(); a < int64(n) {
					rate = float64(a) / time.Since(start).Seconds()
				}
				fmt.Fprintf(stderr, "\r\033[K%d/%d sent, %d answered (%d BLOCK) at %.0f/s, %d awaiting completion, %d outcomes, %d retries",
					sent.Load(), n, answered.Load(), blocked.Load(), rate, awaiting, finals, retries.Load())
			}
		})
	}
	stopProgress := func() {
		select {
		case <-done:
		default:
			close(done)
		}
		progress.Wait()
	}
	defer stopProgress()

	start := time.Now()
	var next atomic.Int64
	var workers sync.WaitGroup
	for range o.Concurrency {
		workers.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				sent.Add(1)
				tr.add(ids[i], time.Now())
				a := c.execute(ctx, i, path, bodies[i], sigs[i], o.MaxAttempts, false, func(int, string, time.Duration) { retries.Add(1) })
				tr.answered(ids[i], a, time.Now())
				answered.Add(1)
				switch {
				case a.Err != nil:
					failed.Add(1)
				case a.State == actions.StateBlock:
					blocked.Add(1)
				}
			}
		})
	}
	workers.Wait()
	answeredAll := time.Now()

	// Wait for the completions of BLOCKed executions.
	if local {
		deadline := time.NewTimer(o.Wait)
		defer deadline.Stop()
	wait:
		for {
			if _, awaiting := tr.counts(); awaiting == 0 {
				break
			}
			select {
			case <-tr.changed:
			case <-deadline.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
	}
	// The local HubSpot keeps receiving completions while we settle: a
	// duplicate sent after the first one is counted, not missed.
	var settled int
	if local && o.Settle > 0 {
		before := tr.completionCount()
		t := time.NewTimer(o.Settle)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		settled = tr.completionCount() - before
	}
	stopProgress()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load interrupted: %w", err)
	}
	r := loadReport(tr, ids, start, answeredAll, local)
	if len(c.urls) > 1 {
		r.replicas = c.urls
	}
	r.retries, r.failed = retries.Load(), failed.Load()
	r.settle, r.settled = o.Settle, settled
	r.print(stdout)
	var errs []string
	if r.lost > 0 || r.twice > 0 {
		errs = append(errs, fmt.Sprintf("%d executions lost, %d completed twice", r.lost, r.twice))
	}
	if r.rejected > 0 {
		errs = append(errs, fmt.Sprintf("%d executions rejected with %s (HubSpot marks them failed; is the client secret or --public-url wrong?)", r.rejected, r.rejectedStatuses()))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// report is what a load run found.
type report struct {
	n                int
	elapsed          time.Duration // first send to last answer
	outcomesIn       time.Duration // first send to last outcome
	answerLatency    []time.Duration
	completeLatency  []time.Duration
	inlineFinal      int
	blocked          int
	states           map[string]int
	lost, twice      int
	lostIDs, twiceID []string
	rejected         int         // answered 4xx
	rejectedBy       map[int]int // by status
	unknown          int
	retries, failed  int64
	followed         bool
	settle           time.Duration // how long completions were listened for after every outcome
	settled          int           // completions received meanwhile
	replicas         []string      // the backends, when several
	byReplica        map[int]int   // final answers by replica index
}

// rejectedStatuses says which 4xx statuses rejected executions, such as
// "HTTP 401 ×20".
func (r report) rejectedStatuses() string {
	codes := slices.Sorted(maps.Keys(r.rejectedBy))
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("HTTP %d ×%d", c, r.rejectedBy[c])
	}
	return strings.Join(parts, ", ")
}

func loadReport(tr *tracker, ids []string, start, answeredAll time.Time, local bool) report {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	r := report{n: len(ids), elapsed: answeredAll.Sub(start), states: map[string]int{}, rejectedBy: map[int]int{}, byReplica: map[int]int{}, unknown: tr.unknown, followed: local}
	last := answeredAll
	for _, id := range ids {
		e, ok := tr.byID[id]
		if !ok {
			r.lost++
			r.lostIDs = append(r.lostIDs, id+" (never sent)")
			continue
		}
		if e.answer.Err == nil && !e.answered.IsZero() {
			r.byReplica[e.answer.Replica]++
			r.answerLatency = append(r.answerLatency, e.answered.Sub(e.sent))
			if e.answer.State == actions.StateBlock {
				r.blocked++
			} else {
				r.inlineFinal++
			}
		}
		if e.twice() {
			r.twice++
			if len(r.twiceID) < 5 {
				r.twiceID = append(r.twiceID, fmt.Sprintf("%s (answered %s, %d completions)", id, e.answer.State, e.completions))
			}
		}
		var state, code string
		switch {
		case e.completions > 0:
			state, code = e.completion[actions.OutputState], e.completion[actions.OutputErrorCode]
			r.completeLatency = append(r.completeLatency, e.completedAt.Sub(e.sent))
			if e.completedAt.After(last) {
				last = e.completedAt
			}
		case e.final:
			state, code = e.answer.State, e.answer.Code
			if e.answer.rejected() {
				state = fmt.Sprintf("FAILED (HTTP %d)", e.answer.Status)
				r.rejected++
				r.rejectedBy[e.answer.Status]++
			}
		case !local && e.answer.Err == nil:
			state = "BLOCK (completion not followed)"
		default:
			r.lost++
			if len(r.lostIDs) < 5 {
				why := "answered BLOCK, never completed"
				if e.answer.Err != nil {
					why = fmt.Sprintf("no answer after %d attempts: %v", e.answer.Attempts, e.answer.Err)
				}
				r.lostIDs = append(r.lostIDs, id+" ("+why+")")
			}
			continue
		}
		if code != "" {
			state += " " + code
		}
		r.states[state]++
	}
	r.outcomesIn = last.Sub(start)
	return r
}

func (r report) print(w io.Writer) {
	rate := func(d time.Duration) float64 { return float64(r.n) / math.Max(d.Seconds(), 1e-9) }
	fmt.Fprintf(w, "Answered %d requests in %s: %.0f executions/s (%d final inline, %d BLOCK; %d retried attempts; %d without an answer)\n",
		r.n, r.elapsed.Round(time.Millisecond), rate(r.elapsed), r.inlineFinal, r.blocked, r.retries, r.failed)
	fmt.Fprintf(w, "Answer latency:      %s\n", percentiles(r.answerLatency))
	for i, u := range r.replicas {
		fmt.Fprintf(w, "Answered by replica %d (%s): %d\n", i+1, u, r.byReplica[i])
	}
	if len(r.completeLatency) > 0 {
		fmt.Fprintf(w, "Completion latency:  %s  (request sent to callback completion, %d completions)\n", percentiles(r.completeLatency), len(r.completeLatency))
	}
	fmt.Fprintf(w, "Every outcome in %s: %.0f executions/s\n", r.outcomesIn.Round(time.Millisecond), rate(r.outcomesIn))
	fmt.Fprintln(w, "Final states:")
	states := make([]string, 0, len(r.states))
	for s := range r.states {
		states = append(states, s)
	}
	sort.Slice(states, func(i, j int) bool {
		if r.states[states[i]] != r.states[states[j]] {
			return r.states[states[i]] > r.states[states[j]]
		}
		return states[i] < states[j]
	})
	for _, s := range states {
		fmt.Fprintf(w, "  %-40s %d\n", s, r.states[s])
	}
	if r.rejected > 0 {
		fmt.Fprintf(w, "Rejected: %d (%s): HubSpot marks these executions failed\n", r.rejected, r.rejectedStatuses())
	}
	if r.followed && r.settle > 0 {
		fmt.Fprintf(w, "Listened %s more for duplicate completions: %d arrived\n", r.settle, r.settled)
	}
	fmt.Fprintf(w, "Lost: %d   Completed twice: %d   Completions of unknown callbackIds: %d\n", r.lost, r.twice, r.unknown)
	if len(r.lostIDs) > 0 {
		fmt.Fprintf(w, "  lost, for example: %s\n", strings.Join(r.lostIDs, "; "))
	}
	if len(r.twiceID) > 0 {
		fmt.Fprintf(w, "  completed twice, for example: %s\n", strings.Join(r.twiceID, "; "))
	}
}

// percentiles formats p50, p90, p99 and max of ds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "(none)"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	p := func(q float64) time.Duration {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[max(i, 0)]
	}
	f := func(d time.Duration) string {
		switch {
		case d < time.Millisecond:
			return d.Round(time.Microsecond).String()
		case d < time.Second:
			return d.Round(100 * time.Microsecond).String()
		}
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s", f(p(0.50)), f(p(0.90)), f(p(0.99)), f(s[len(s)-1]))
}

// isTerminal reports whether w is a terminal (a character device), where
// progress can be redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
