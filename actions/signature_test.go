package actions

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The known-answer vectors of §7.3.
const (
	kaSecret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
	kaURI    = "https://www.example.com/webhook_uri"
	kaBody   = "{'example_field':'example_value'}"
)

func TestSignKnownAnswers(t *testing.T) {
	t.Parallel()
	v6 := `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"1 v1", SignV1(kaSecret, []byte(kaBody)), "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750"},
		{"2 v2 POST", SignV2(kaSecret, "POST", kaURI, []byte(kaBody)), "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"},
		{"3 v2 GET", SignV2(kaSecret, "GET", kaURI, nil), "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"},
		{"4 v3 POST", SignV3(kaSecret, "POST", kaURI, []byte(kaBody), "15000000"), "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="},
		{"5 v2 POST double quotes", SignV2(kaSecret, "POST", kaURI, []byte(`{"example_field":"example_value"}`)), "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"},
		{"6 v1 webhook batch", SignV1(kaSecret, []byte(v6)), "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("vector %s = %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestCheckSignature(t *testing.T) {
	t.Parallel()
	body := []byte(kaBody)
	// Vector 4 signs at timestamp 15000000 ms; check it "then".
	then := time.UnixMilli(15000000).Add(time.Minute)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	v3 := func(uri, ts string) string { return SignV3(kaSecret, "POST", uri, body, ts) }
	tests := []struct {
		name   string
		header map[string]string
		uri    string
		now    time.Time
		check  string // "" for accepted
	}{
		{"v2 vector", map[string]string{HeaderSignature: "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383", HeaderSignatureVersion: "v2"}, kaURI, now, ""},
		{"v2 upper-case hex", map[string]string{HeaderSignature: "4FE4E3A7D3CF09DB53BE39D0A58130E2AABA074EC123A9E355B876A689A1C383", HeaderSignatureVersion: "v2"}, kaURI, now, ""},
		{"v3 vector", map[string]string{HeaderSignatureV3: "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=", HeaderTimestamp: "15000000"}, kaURI, then, ""},
		{"v3 vector with + decoded to space", map[string]string{HeaderSignatureV3: "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=", HeaderTimestamp: "15000000"}, kaURI, then, ""},
		{"v3 now", map[string]string{HeaderSignatureV3: v3(kaURI, ts), HeaderTimestamp: ts}, kaURI, now, ""},
		{"v3 preferred over a wrong v2", map[string]string{HeaderSignatureV3: v3(kaURI, ts), HeaderTimestamp: ts, HeaderSignature: "00", HeaderSignatureVersion: "v2"}, kaURI, now, ""},
		{"v3 decodes percent-encoded characters", map[string]string{HeaderSignatureV3: v3("https://x.test/a:b?c=d@e", ts), HeaderTimestamp: ts}, "https://x.test/a%3Ab?c=d%40e", now, ""},
		{"v3 stale", map[string]string{HeaderSignatureV3: v3(kaURI, ts), HeaderTimestamp: ts}, kaURI, now.Add(5*time.Minute + time.Second), "stale_timestamp"},
		{"v3 from the future", map[string]string{HeaderSignatureV3: v3(kaURI, ts), HeaderTimestamp: ts}, kaURI, now.Add(-6 * time.Minute), "stale_timestamp"},
		{"v3 missing timestamp", map[string]string{HeaderSignatureV3: v3(kaURI, ts)}, kaURI, now, "missing_timestamp"},
		{"v3 timestamp in seconds is stale", map[string]string{HeaderSignatureV3: v3(kaURI, strconv.FormatInt(now.Unix(), 10)), HeaderTimestamp: strconv.FormatInt(now.Unix(), 10)}, kaURI, now, "stale_timestamp"},
		{"v3 bad timestamp", map[string]string{HeaderSignatureV3: v3(kaURI, ts), HeaderTimestamp: "soon"}, kaURI, now, "invalid_timestamp"},
		{"v3 mismatch", map[string]string{HeaderSignatureV3: v3(kaURI+"x", ts), HeaderTimestamp: ts}, kaURI, now, "signature_mismatch"},
		{"v2 wrong URI", map[string]string{HeaderSignature: "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383", HeaderSignatureVersion: "v2"}, "http://www.example.com/webhook_uri", now, "signature_mismatch"},
		{"v1 refused", map[string]string{HeaderSignature: "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750", HeaderSignatureVersion: "v1"}, kaURI, now, "unsupported_version"},
		{"no version", map[string]string{HeaderSignature: "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"}, kaURI, now, "unsupported_version"},
		{"no headers", map[string]string{}, kaURI, now, "missing_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if tt.name == "v3 vector with + decoded to space" {
				h.Set(HeaderSignatureV3, "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=")
			}
			err := CheckSignature(kaSecret, h, "POST", tt.uri, body, tt.now)
			got := ""
			if err != nil {
				se, ok := err.(*SignatureError)
				if !ok {
					t.Fatalf("CheckSignature error %T, want *SignatureError", err)
				}
				got = se.Check
			}
			if got != tt.check {
				t.Errorf("CheckSignature() check = %q (%v), want %q", got, err, tt.check)
			}
		})
	}
}

func TestCheckSignatureSpaceForPlus(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	// Find a timestamp whose signature contains a '+', then send it with a
	// space instead, as a header-decoding proxy would.
	for i := int64(0); i < 1000; i++ {
		ts := strconv.FormatInt(now.UnixMilli()-i, 10)
		sig := SignV3(kaSecret, "POST", kaURI, []byte(kaBody), ts)
		mangled := ""
		for _, r := range sig {
			if r == '+' {
				mangled += " "
			} else {
				mangled += string(r)
			}
		}
		if mangled == sig {
			continue
		}
		h := http.Header{}
		h.Set(HeaderSignatureV3, mangled)
		h.Set(HeaderTimestamp, ts)
		if err := CheckSignature(kaSecret, h, "POST", kaURI, []byte(kaBody), now); err != nil {
			t.Fatalf("CheckSignature(space for plus) = %v, want accepted", err)
		}
		return
	}
	t.Fatal("no signature with a '+' found")
}

func BenchmarkCheckSignatureV2(b *testing.B) {
	body := make([]byte, 2048)
	h := http.Header{}
	h.Set(HeaderSignatureVersion, "v2")
	h.Set(HeaderSignature, SignV2(kaSecret, "POST", kaURI, body))
	now := time.Now()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := CheckSignature(kaSecret, h, "POST", kaURI, body, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckSignatureV3(b *testing.B) {
	body := make([]byte, 2048)
	now := time.Now()
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	h := http.Header{}
	h.Set(HeaderSignatureV3, SignV3(kaSecret, "POST", kaURI, body, ts))
	h.Set(HeaderTimestamp, ts)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := CheckSignature(kaSecret, h, "POST", kaURI, body, now); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCheckSignature(f *testing.F) {
	f.Add("v2", "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383", "", "", kaURI, []byte(kaBody))
	f.Add("", "", "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=", "15000000", kaURI, []byte(kaBody))
	f.Add("v1", "zz", "a b+c", "-1", "https://x.test/%3A%zz?q=%40", []byte{0xff, 0})
	f.Add("", "", "x", "99999999999999999999999", "", []byte(nil))
	f.Fuzz(func(t *testing.T, version, sig, sig3, ts, uri string, body []byte) {
		h := http.Header{}
		if version != "" {
			h.Set(HeaderSignatureVersion, version)
		}
		if sig != "" {
			h.Set(HeaderSignature, sig)
		}
		if sig3 != "" {
			h.Set(HeaderSignatureV3, sig3)
		}
		if ts != "" {
			h.Set(HeaderTimestamp, ts)
		}
		err := CheckSignature(kaSecret, h, "POST", uri, body, time.UnixMilli(15000000))
		if err == nil {
			// Only a correct signature may pass.
			ok := sig3 != "" || SignV2(kaSecret, "POST", uri, body) == strings.ToLower(strings.TrimSpace(sig))
			if !ok {
				t.Fatalf("accepted a wrong v2 signature %q", sig)
			}
		}
	})
}

// TestCheckWebhookSignature: webhooks take v1 (vectors 1 and 6) or v3, and
// refuse v2, which HubSpot's webhooks do not send.
func TestCheckWebhookSignature(t *testing.T) {
	t.Parallel()
	v6 := []byte(`[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	tests := []struct {
		name   string
		header map[string]string
		body   []byte
		now    time.Time
		check  string
	}{
		{"v1 vector 6", map[string]string{HeaderSignature: "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de", HeaderSignatureVersion: "v1"}, v6, now, ""},
		{"v1 vector 1, upper-case version", map[string]string{HeaderSignature: "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750", HeaderSignatureVersion: "V1"}, []byte(kaBody), now, ""},
		{"v1 body changed", map[string]string{HeaderSignature: "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de", HeaderSignatureVersion: "v1"}, append([]byte(" "), v6...), now, "signature_mismatch"},
		{"v3 vector", map[string]string{HeaderSignatureV3: "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=", HeaderTimestamp: "15000000"}, []byte(kaBody), time.UnixMilli(15000000), ""},
		{"v3 stale, a valid v1 beside it does not help", map[string]string{HeaderSignatureV3: SignV3(kaSecret, "POST", kaURI, v6, ts), HeaderTimestamp: ts,
			HeaderSignature: "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de", HeaderSignatureVersion: "v1"}, v6, now.Add(6 * time.Minute), "stale_timestamp"},
		{"v2 refused", map[string]string{HeaderSignature: "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383", HeaderSignatureVersion: "v2"}, []byte(kaBody), now, "unsupported_version"},
		{"no version", map[string]string{HeaderSignature: "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"}, v6, now, "unsupported_version"},
		{"no headers", map[string]string{}, v6, now, "missing_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			err := CheckWebhookSignature(kaSecret, h, "POST", kaURI, tt.body, tt.now)
			got := ""
			if err != nil {
				se, ok := err.(*SignatureError)
				if !ok {
					t.Fatalf("CheckWebhookSignature error %T, want *SignatureError", err)
				}
				got = se.Check
			}
			if got != tt.check {
				t.Errorf("CheckWebhookSignature() check = %q (%v), want %q", got, err, tt.check)
			}
		})
	}
}
