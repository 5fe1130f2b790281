package publish

import (
	"bytes"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hubspot-actions/actions"
)

// TestAgentToolsAreTheReadOnlyActions: the published app offers to agents
// exactly the actions that only read, and every one it offers is read-only.
func TestAgentToolsAreTheReadOnlyActions(t *testing.T) {
	t.Parallel()
	var tools []string
	for _, a := range testRegistry(t).All() {
		if a.IsAgentTool() {
			tools = append(tools, a.Key)
			if !a.ReadOnly || a.NeedsObject || a.Agent.Type != actions.ToolGetData {
				t.Errorf("%s is an agent tool but ReadOnly %v, NeedsObject %v, type %s", a.Key, a.ReadOnly, a.NeedsObject, a.Agent.Type)
			}
		}
	}
	want := []string{"clearbit-enrich-company", "clearbit-enrich-contact", "shopify-lookup-customer", "stripe-check-promotion-code"}
	if !slices.Equal(tools, want) {
		t.Errorf("agent tools = %v, want %v", tools, want)
	}
}

// TestDefinitionsCheckNamesAgentToolRules hand-edits the committed
// components as someone might, and --check names the rule each edit breaks.
func TestDefinitionsCheckNamesAgentToolRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		uid  string
		edit func(c *actions.Component)
		want string
	}{
		{"an action with side effects offered to agents", "stripe-create-promotion-code", func(c *actions.Component) {
			c.Config.SupportedClients = append(c.Config.SupportedClients, actions.SupportedClient{Client: actions.ClientAgents})
			c.Config.ToolType = actions.ToolTakeAction
			c.Config.LLMConfig = &actions.LLMConfig{ActionDescription: "Creates a discount code."}
		}, "stripe-create-promotion-code: offered to agents (supportedClients AGENTS), but the registry does not mark it as an agent tool"},
		{"a tool without its description", "clearbit-enrich-contact", func(c *actions.Component) {
			c.Config.LLMConfig = nil
		}, "clearbit-enrich-contact: offered to agents without llmConfig.actionDescription"},
		{"a tool no longer offered to agents", "shopify-lookup-customer", func(c *actions.Component) {
			c.Config.SupportedClients = c.Config.SupportedClients[:1]
			c.Config.ToolType, c.Config.LLMConfig = "", nil
		}, "shopify-lookup-customer: the registry offers it to agents, but supportedClients does not list AGENTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files, err := readProjectFiles(committedDir)
			if err != nil || len(files) == 0 {
				t.Fatalf("read %s: %d files, %v", committedDir, len(files), err)
			}
			name := path.Join(actionsFolder, tt.uid+componentSuffix)
			var c actions.Component
			decodeStrict(t, files[name], &c)
			tt.edit(&c)
			if files[name], err = actions.MarshalFile(c); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "app-definition")
			for n, b := range files {
				full := filepath.Join(dir, filepath.FromSlash(n))
				os.MkdirAll(filepath.Dir(full), 0o755)
				if err := os.WriteFile(full, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			err = run(t, []string{"definitions", "--check", "--dir", dir}, noEnv, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("definitions --check = %v, want an error containing %q", err, tt.want)
			}
			if !strings.Contains(out.String(), "rule:    "+tt.want) {
				t.Errorf("definitions --check printed no rule %q:\n%s", tt.want, out.String())
			}
		})
	}
}
