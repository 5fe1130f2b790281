package main

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
	"hubspot-actions/actions/stripe"
)

// providerModules is the one list of the external systems the app talks
// to, in the order the settings page shows them. Adding a system is its
// package under actions/ and one line here.
func providerModules() []actions.Module {
	return []actions.Module{
		quickbooks.Module(),
		clearbit.Module(),
		stripe.Module(),
	}
}

// providerConfig is one provider's configuration, read from the
// environment.
type providerConfig struct {
	module actions.Module
	cfg    actions.ProviderConfig
}

// loadProviders reads every provider's configuration from the variables
// its Config declares, and validates it. Every problem is reported.
func loadProviders(getenv func(string) string) ([]providerConfig, []error) {
	var out []providerConfig
	var errs []error
	for _, m := range providerModules() {
		cfg := m.NewConfig()
		bad := loadEnv(getenv, cfg)
		if len(bad) == 0 {
			if err := cfg.Validate(); err != nil {
				bad = append(bad, err)
			}
		}
		errs = append(errs, bad...)
		out = append(out, providerConfig{module: m, cfg: cfg})
	}
	return out, errs
}

// loadEnv fills the struct cfg points to from the environment: each field
// tagged `env:"NAME"` takes that variable's value (trimmed), or its
// `default:"…"` tag when the variable is unset. Strings (including
// actions.Secret), integers, booleans and durations are understood.
func loadEnv(getenv func(string) string, cfg any) []error {
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
