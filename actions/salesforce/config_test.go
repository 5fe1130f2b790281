package salesforce

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string // variables the error names; none: valid
	}{
		{"unset", Config{LoginURL: DefaultLoginURL, ExternalIDField: DefaultExternalIDField}, nil},
		{"configured", Config{ClientID: "id", ClientSecret: "secret", LoginURL: SandboxLoginURL, ExternalIDField: "Hub_Id__c"}, nil},
		{"loopback login for tests", Config{ClientID: "id", ClientSecret: "secret", LoginURL: "http://127.0.0.1:8080"}, nil},
		{"id without secret", Config{ClientID: "id"}, []string{"SALESFORCE_CLIENT_SECRET"}},
		{"plain http login", Config{ClientID: "id", ClientSecret: "s", LoginURL: "http://login.salesforce.com"}, []string{"SALESFORCE_LOGIN_URL"}},
		{"login with a path", Config{LoginURL: "https://login.salesforce.com/services"}, []string{"SALESFORCE_LOGIN_URL"}},
		{"login not a URL", Config{LoginURL: "login.salesforce.com"}, []string{"SALESFORCE_LOGIN_URL"}},
		{"field not a name", Config{ExternalIDField: "HubSpot_Contact_ID__c/../x"}, []string{"SALESFORCE_LEAD_EXTERNAL_ID_FIELD"}},
		{"field with a quote", Config{ExternalIDField: "a'b"}, []string{"SALESFORCE_LEAD_EXTERNAL_ID_FIELD"}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != (len(tt.want) == 0) {
			t.Errorf("%s: Validate() = %v, want errors naming %v", tt.name, err, tt.want)
			continue
		}
		for _, v := range tt.want {
			if !strings.Contains(err.Error(), v) {
				t.Errorf("%s: Validate() = %v, want it to name %s", tt.name, err, v)
			}
		}
	}
}
