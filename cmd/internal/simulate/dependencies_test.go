package simulate

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestSimulateHidesInputsTheChoiceHides: given discount_type=percent and
// duration=once, the simulator says which inputs HubSpot's editor hides
// and, like HubSpot, does not send the ones given anyway.
func TestSimulateHidesInputsTheChoiceHides(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got map[string]any
	f := newFakeBackend(t, freeAddr(t), func(_ int, req map[string]any) (int, http.Header, string) {
		mu.Lock()
		defer mu.Unlock()
		got = req
		return 200, nil, success
	})
	last := func() map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
	out, err := simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", "", "--action", "stripe-create-promotion-code",
		"--input", "discount_type=percent", "--input", "percent_off=15", "--input", "amount_off=10", "--input", "currency=EUR",
		"--input", "duration=once", "--input", "duration_in_months=3")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	wantLines(t, out,
		"hidden by discount_type=percent: amount_off, currency\n",
		"hidden by duration=once: duration_in_months\n",
		"not sent (hidden, so HubSpot drops them): amount_off, currency, duration_in_months\n",
	)
	for _, key := range []string{"inputFields", "fields"} {
		in, _ := last()[key].(map[string]any)
		if in["discount_type"] != "percent" || in["percent_off"] != "15" || in["duration"] != "once" {
			t.Errorf("%s = %v, want the shown inputs", key, in)
		}
		for _, n := range []string{"amount_off", "currency", "duration_in_months"} {
			if _, ok := in[n]; ok {
				t.Errorf("%s sends hidden input %s: %v", key, n, in)
			}
		}
	}

	// Nothing chosen: every dependent is hidden; a SINGLE_FIELD one is
	// greyed out, and still sent.
	out, err = simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", "", "--action", "quickbooks-create-invoice",
		"--input", "amount=10", "--input", "item_id=3", "--input", "customer_name=Kim")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	wantLines(t, out, "greyed out until customer_email is set: customer_name\n")
	if strings.Contains(out, "not sent") || strings.Contains(out, "hidden") {
		t.Errorf("the invoice hides nothing:\n%s", out)
	}
	if in, _ := last()["inputFields"].(map[string]any); in["customer_name"] != "Kim" {
		t.Errorf("inputFields = %v, want customer_name sent", in)
	}
	out, err = simulate(t, f.env(), "--url", f.ts.URL, "--callback-addr", "", "--action", "stripe-create-promotion-code")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	wantLines(t, out, "hidden while discount_type is empty: percent_off, amount_off, currency\n", "hidden while duration is empty: duration_in_months\n")
}
