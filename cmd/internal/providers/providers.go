// Package providers is the one list of the external systems the app talks
// to. cmd builds the service, sandbox mode, the settings page and the
// app-definition from it; adding a system is its package under actions/
// and one line in List.
package providers

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/clearbit"
	"hubspot-actions/actions/quickbooks"
	"hubspot-actions/actions/salesforce"
	"hubspot-actions/actions/shopify"
	"hubspot-actions/actions/stripe"
	"hubspot-actions/actions/webhooks"
)

// List returns every provider's module, in the order the settings page
// shows them.
func List() []actions.Module {
	return []actions.Module{
		quickbooks.Module(),
		salesforce.Module(),
		clearbit.Module(),
		stripe.Module(),
		shopify.Module(),
	}
}

// Definitions registers the actions of the published app, every
// provider's (never the sandbox's), built from the list with each
// provider's default configuration and no store: the definitions, publish
// and simulate commands never run an action.
func Definitions() (*actions.Registry, error) {
	reg := actions.NewRegistry()
	deps := actions.Deps{PublicBaseURL: "http://localhost"}
	for _, m := range List() {
		cfg := m.NewConfig()
		if errs := LoadEnv(func(string) string { return "" }, cfg); len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		p, err := m.New(cfg, deps)
		if err != nil {
			return nil, err
		}
		if err := p.Register(reg); err != nil {
			return nil, fmt.Errorf("register %s actions: %w", p.Name(), err)
		}
	}
	// The webhooks component subscribes to the deletion of the actions'
	// objects, which needs their read scopes.
	if err := webhooks.RequireScopes(reg); err != nil {
		return nil, err
	}
	return reg, nil
}

// LoadEnv fills the struct cfg points to from the environment: each field
// tagged `env:"NAME"` takes that variable's value (trimmed), or its
// `default:"…"` tag when the variable is unset. Strings (including
// actions.Secret), integers, booleans and durations are understood.
func LoadEnv(getenv func(string) string, cfg any) []error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return []error{fmt.Errorf("configuration %T is not a pointer to a struct", cfg)}
	}
	v = v.Elem()
	var errs []error
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name := f.Tag.Get("env")
		if name == "" {
			continue
		}
		val := strings.TrimSpace(getenv(name))
		if val == "" {
			val = f.Tag.Get("default")
		}
		if val == "" {
			continue
		}
		fv := v.Field(i)
		if !fv.CanSet() {
			errs = append(errs, errors.New(name+": the configuration field "+f.Name+" is unexported, so the environment cannot fill it"))
			continue
		}
		switch {
		case fv.Type() == reflect.TypeFor[time.Duration]():
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration such as 5s or 2m", name, val))
				continue
			}
			fv.SetInt(int64(d))
		case fv.Kind() == reflect.String:
			fv.SetString(val)
		case fv.CanInt():
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || fv.OverflowInt(n) {
				errs = append(errs, fmt.Errorf("%s: %q is not a whole number", name, val))
				continue
			}
			fv.SetInt(n)
		case fv.Kind() == reflect.Bool:
			b, err := strconv.ParseBool(val)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not true or false", name, val))
				continue
			}
			fv.SetBool(b)
		default:
			errs = append(errs, errors.New(name+": the configuration field "+f.Name+" has a type the environment cannot fill"))
		}
	}
	return errs
}
