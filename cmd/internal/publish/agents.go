package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"hubspot-actions/actions"
)

// CheckAgentTools checks the project's components against the registry:
// a component offered to HubSpot's agents (AGENTS in supportedClients)
// must be an action the registry marks as an agent tool, and an agent
// tool's component must offer it to them. The rules of the component
// itself (a toolType, a description for the model) are CheckProject's. It
// reports every problem found, joined.
func CheckAgentTools(reg *actions.Registry, cs []actions.Component) error {
	var errs []error
	for _, c := range cs {
		a, known := reg.Get(c.UID)
		switch {
		case c.OffersAgents() && !known:
			errs = append(errs, fmt.Errorf("%s: offered to agents (supportedClients AGENTS), but it is no action of this build", c.UID))
		case c.OffersAgents() && !a.IsAgentTool():
			errs = append(errs, fmt.Errorf("%s: offered to agents (supportedClients AGENTS), but the registry does not mark it as an agent tool; only actions that only read, with a description for the model, are (Spec.ReadOnly and Spec.Agent)", c.UID))
		case known && a.IsAgentTool() && !c.OffersAgents():
			errs = append(errs, fmt.Errorf("%s: the registry offers it to agents, but supportedClients does not list AGENTS", c.UID))
		}
	}
	return errors.Join(errs...)
}

// checkProjectRules checks the workflow-action components in files (as
// readProjectFiles returns them) against HubSpot's rules and the registry,
// and prints each problem, so a hand edit is named for what it breaks and
// not only shown as a diff.
func checkProjectRules(files map[string][]byte, reg *actions.Registry, stdout io.Writer) error {
	var names []string
	for name := range files {
		if path.Dir(name) == actionsFolder && strings.HasSuffix(name, componentSuffix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var cs []actions.Component
	for _, name := range names {
		var c actions.Component
		if err := json.Unmarshal(files[name], &c); err != nil {
			fmt.Fprintf(stdout, "rule:    %s is not a workflow-action component: %v\n", name, err)
			return fmt.Errorf("%s is not a workflow-action component: %w", name, err)
		}
		cs = append(cs, c)
	}
	err := errors.Join(actions.CheckProject(appUID, cs), CheckAgentTools(reg, cs))
	if err == nil {
		return nil
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(stdout, "rule:    %s\n", line)
	}
	return fmt.Errorf("the project's workflow actions break the rules:\n%w", err)
}
