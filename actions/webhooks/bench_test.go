package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"hubspot-actions/actions"
	"hubspot-actions/store"
)

// BenchmarkBatch100 measures what HubSpot waits for: a signed batch of 100
// deletion events, each recorded durably with its job in SQLite, until the
// 204 (HubSpot allows 5 s).
func BenchmarkBatch100(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.WithKeys(make([]byte, 32), nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	e := actions.NewServer(log, actions.NewValidator())
	ts := httptest.NewServer(e)
	b.Cleanup(ts.Close)
	New(db, log, reg).Routes(e, &countingJobs{}, fuzzSecret, ts.URL, actions.NewMetrics(reg))
	hc := ts.Client()
	b.ResetTimer()
	for i := range b.N {
		evs := make([]string, MaxEvents)
		for j := range evs {
			evs[j] = fmt.Sprintf(`{"eventId":%d,"subscriptionId":77,"portalId":62515,"appId":5,"occurredAt":1764756000000,"subscriptionType":"contact.deletion","attemptNumber":0,"objectId":%d,"changeSource":"CRM"}`, i, i*MaxEvents+j+1)
		}
		body := []byte("[" + strings.Join(evs, ",") + "]")
		req, _ := http.NewRequest(http.MethodPost, ts.URL+Path, bytes.NewReader(body))
		req.Header.Set(actions.HeaderSignatureVersion, "v1")
		req.Header.Set(actions.HeaderSignature, actions.SignV1(fuzzSecret, body))
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("batch %d = %d", i, resp.StatusCode)
		}
	}
}
