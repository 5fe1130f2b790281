package quickbooks

import (
	"context"
	"fmt"
	"testing"

	"hubspot-actions/actions"
)

// BenchmarkLimiterAcquire measures the pacing every API request goes
// through, from many goroutines over a few realms.
func BenchmarkLimiterAcquire(b *testing.B) {
	l := actions.NewLimiter(limit(1<<30, 1<<20))
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			release, err := l.Acquire(ctx, fmt.Sprint("realm-", i%8))
			if err != nil {
				b.Fatal(err)
			}
			release()
			i++
		}
	})
}

// BenchmarkParseFault measures reading the three fault forms, which the
// client also does for every successful answer.
func BenchmarkParseFault(b *testing.B) {
	bodies := []struct {
		name string
		body []byte
	}{
		{"json", []byte(`{"Fault":{"Error":[{"Message":"Duplicate Name Exists Error","Detail":"The name supplied already exists.","code":"6240","element":""}],"type":"ValidationFault"},"time":"2025-03-04T10:15:02.001-08:00"}`)},
		{"xml", []byte(`<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.  Try again later</Detail></Error></Fault>`)},
		{"success", []byte(`{"Invoice":{"Id":"130","DocNumber":"1001","TotalAmt":480,"Line":[{"Id":"1","Amount":480,"DetailType":"SalesItemLineDetail"}]},"time":"2025-03-04T10:12:33.120-08:00"}`)},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				parseFault(bb.body)
			}
		})
	}
}
