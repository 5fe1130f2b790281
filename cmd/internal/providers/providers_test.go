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

// TestLoadEnvRefusesFieldsItCannotFill: a provider's mistake in its Config
// is an error at start-up naming the variable, not a panic.
func TestLoadEnvRefusesFieldsItCannotFill(t *testing.T) {
	t.Parallel()
	var c struct {
		hidden string   `env:"T_HIDDEN"`
		List   []string `env:"T_LIST"`
	}
	errs := LoadEnv(func(string) string { return "x" }, &c)
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "T_HIDDEN") || !strings.Contains(errs[1].Error(), "T_LIST") {
		t.Errorf("LoadEnv() = %v, want errors naming T_HIDDEN and T_LIST", errs)
	}
	if errs := LoadEnv(func(string) string { return "" }, c); len(errs) != 1 {
		t.Errorf("LoadEnv(a struct, not a pointer) = %v, want one error", errs)
	}
	_ = c.hidden
}
