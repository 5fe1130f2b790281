package salesforce

import (
	"context"
	"strconv"
	"testing"

	"hubspot-actions/actions/salesforce/salesforcetest"
)

// BenchmarkUpsertLead measures one execution of the action against the
// fake on loopback: a grant read, the token from memory, one upsert (the
// per-org pacing is lifted, so the figure is the app's own cost).
func BenchmarkUpsertLead(b *testing.B) {
	e := newEnvWith(b, salesforcetest.Options{DailyLimit: 1 << 30}, func(c *Config) { c.RequestsPerMinute, c.MaxConcurrent = 1<<30, 100 })
	e.connect(b, 1)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := strconv.Itoa(i + 1)
		if _, err := e.svc.upsertLead(ctx, execution(1, "cb-"+id, id, nil), leadIn{Email: "b" + id + "@example.com", LastName: "L", Company: "C"}); err != nil {
			b.Fatal(err)
		}
	}
}
