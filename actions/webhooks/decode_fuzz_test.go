package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"hubspot-actions/actions"
	"hubspot-actions/store"
)

// The fuzz target takes what anyone who can reach POST /hubspot/webhooks
// sends, signed as HubSpot signs it: its seeds and the corpus under
// testdata/fuzz/FuzzBatch run with every `go test`; `go test
// -fuzz=FuzzBatch ./actions/webhooks` looks for more.

const fuzzSecret = "fuzz-client-secret"

// countingJobs stands in for the runtime: it counts the jobs a batch
// would start instead of running them.
type countingJobs struct {
	mu sync.Mutex
	n  int
}

func (j *countingJobs) InsertJobsTx(_ context.Context, _ *store.Tx, jobs []river.InsertManyParams) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.n += len(jobs)
	return nil
}

func (j *countingJobs) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// fuzzEvent is one event of a seed batch.
func fuzzEvent(i int, typ string) string {
	return fmt.Sprintf(`{"eventId":%d,"subscriptionId":%d,"portalId":62515,"appId":54321,"occurredAt":%d,"subscriptionType":%q,"attemptNumber":0,"objectId":%d,"changeSource":"CRM"}`,
		i, 100+i, 1564113600000+int64(i), typ, 1000+i)
}

func fuzzBatchOf(n int, typ string) []byte {
	evs := make([]string, n)
	for i := range evs {
		evs[i] = fuzzEvent(i, typ)
	}
	return []byte("[" + strings.Join(evs, ",") + "]")
}

// FuzzBatch sends arbitrary bodies, signed v1, through the real route (the
// signature middleware, the decoder, the recording in SQLite, the one
// error handler) and checks what HubSpot would see: 204 exactly when the
// decoder accepts the batch, 400 with a message otherwise, never a 5xx;
// an accepted batch holds 1 to 100 events, each with a portal, a type and
// a time; delivering it again starts no work.
func FuzzBatch(f *testing.F) {
	seeds := [][]byte{
		// HubSpot's v1 example (protocol reference §7.3, vector 6).
		[]byte(`[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`),
		[]byte(`[{"eventId":7,"subscriptionId":8,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.privacyDeletion","attemptNumber":3,"objectId":"123","changeSource":"GDPR"}]`),
		[]byte(`[{"eventId":"9","portalId":"62515","occurredAt":1.5646e12,"eventType":"deal.deletion","objectId":44}]`),
		[]byte(`[{"eventId":2,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"object.deletion","objectTypeId":"2-3456","objectId":9}]`),
		[]byte(`[{"eventId":3,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"object.propertyChange","objectTypeId":"0-1","objectId":9,"propertyName":"email","propertyValue":"x@example.test"}]`),
		[]byte(`[{"eventId":4,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"widget.exploded","objectId":9}]`),
		[]byte(`[{"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.deletion"}]`),
		[]byte(`[{"portalId":62515,"occurredAt":9223372036854775807,"subscriptionType":"contact.deletion","objectId":9223372036854775807}]`),
		[]byte(`[{"portalId":-1,"occurredAt":1,"subscriptionType":"contact.deletion","objectId":1}]`),
		[]byte(`[{"portalId":1e400,"occurredAt":1,"subscriptionType":"contact.deletion","objectId":1}]`),
		[]byte(`[{"portalId":62515,"occurredAt":1,"subscriptionType":5,"objectId":1}]`),
		[]byte(`[{"portalId":{"a":1},"occurredAt":1,"subscriptionType":"contact.deletion","objectId":1}]`),
		[]byte(`[null]`), []byte(`[[]]`), []byte(`[]`), []byte(`{}`), []byte(`null`), []byte(``), []byte(`   `),
		[]byte(`[{"portalId":62515,`), []byte("[\xff\xfe]"), []byte(`[{"portalId":62515}] trailing`),
		fuzzBatchOf(100, "contact.deletion"),
		fuzzBatchOf(101, "contact.deletion"),
		fuzzBatchOf(3, "contact.privacyDeletion"),
	}
	for _, s := range seeds {
		f.Add(s)
	}

	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), store.WithKeys(make([]byte, 32), nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	recv := New(db, log, reg)
	jobs := &countingJobs{}
	e := actions.NewServer(log, actions.NewValidator())
	ts := httptest.NewServer(e)
	f.Cleanup(ts.Close)
	recv.Routes(e, jobs, fuzzSecret, ts.URL, actions.NewMetrics(reg))

	post := func(t *testing.T, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, ts.URL+Path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(actions.HeaderSignatureVersion, "v1")
		req.Header.Set(actions.HeaderSignature, actions.SignV1(fuzzSecret, body))
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		events, decodeErr := decodeBatch(body)
		status, answer := post(t, body)
		switch {
		case decodeErr != nil:
			if status != http.StatusBadRequest {
				t.Fatalf("POST %q = %d %s; the decoder refused it (%v), want 400", body, status, answer, decodeErr)
			}
			var msg struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(answer, &msg); err != nil || msg.Error == "" || msg.Error == "internal error" {
				t.Fatalf("POST %q = 400 %s, want a JSON error saying what is wrong", body, answer)
			}
			return
		case status != http.StatusNoContent:
			t.Fatalf("POST %q = %d %s; the decoder accepted it, want 204", body, status, answer)
		}
		if len(events) == 0 || len(events) > MaxEvents {
			t.Fatalf("decodeBatch(%q) accepted %d events, want 1 to %d", body, len(events), MaxEvents)
		}
		for i, ev := range events {
			if ev.PortalID <= 0 || ev.typ() == "" || ev.OccurredAt <= 0 {
				t.Fatalf("decodeBatch(%q) accepted event %d without a portal, type or time: %+v", body, i, ev)
			}
			if w, known := classify(ev); known && w.reason != "" && ev.ObjectID <= 0 {
				t.Fatalf("decodeBatch(%q) accepted event %d, which erases, without an object: %+v", body, i, ev)
			}
		}
		// HubSpot delivers the batch again: acknowledged, no new work.
		before := jobs.count()
		if status, answer := post(t, body); status != http.StatusNoContent {
			t.Fatalf("POST %q again = %d %s, want 204", body, status, answer)
		}
		if n := jobs.count() - before; n != 0 {
			t.Fatalf("POST %q again started %d jobs, want none (a repeated delivery works once)", body, n)
		}
	})
}
