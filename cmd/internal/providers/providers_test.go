package providers

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"hubspot-actions/actions"
)

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	type conf struct {
		Key     actions.Secret `env:"T_KEY"`
		URL     string         `env:"T_URL" default:"https://example.com"`
		N       int            `env:"T_N" default:"3"`
		On      bool           `env:"T_ON"`
		Wait    time.Duration  `env:"T_WAIT" default:"2s"`
		Untyped int
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    conf
		wantErr []string
	}{
		{name: "defaults", want: conf{URL: "https://example.com", N: 3, Wait: 2 * time.Second}},
		{
			name: "set",
			env:  map[string]string{"T_KEY": " sk_1 ", "T_URL": "http://x", "T_N": "7", "T_ON": "true", "T_WAIT": "1m"},
			want: conf{Key: "sk_1", URL: "http://x", N: 7, On: true, Wait: time.Minute},
		},
		{
			name:    "bad",
			env:     map[string]string{"T_N": "many", "T_ON": "sometimes", "T_WAIT": "-1s"},
			want:    conf{URL: "https://example.com"},
			wantErr: []string{"T_N", "T_ON", "T_WAIT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got conf
			errs := LoadEnv(func(k string) string { return tt.env[k] }, &got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadEnv() config (-want +got):\n%s", diff)
			}
			if len(errs) != len(tt.wantErr) {
				t.Fatalf("LoadEnv() errors = %v, want %d naming %v", errs, len(tt.wantErr), tt.wantErr)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tt.wantErr[i]) {
					t.Errorf("error %d = %v, want it to name %s", i, e, tt.wantErr[i])
				}
			}
		})
	}
}
