package server

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigDefaults(t *testing.T) {
	cfg, warns, err := LoadConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8080" || cfg.Supplier != "sandbox" || cfg.RequestTimeout != 20*time.Second ||
		cfg.MaxBodyBytes != 256<<10 || len(cfg.Carriers) != 1 || cfg.Carriers[0] != "GLS" || cfg.RedisURL != "" ||
		len(cfg.APIKeys) != 0 || cfg.TestMode {
		t.Fatalf("defaults: %+v", cfg)
	}
	if len(warns) != 0 {
		t.Fatalf("warnings on defaults: %v", warns)
	}
}

func TestLoadConfigValues(t *testing.T) {
	cfg, _, err := LoadConfig([]string{"-addr", "127.0.0.1:9000"}, env(map[string]string{
		"FLOWBRIDGE_ADDR":            ":7000", // the flag wins
		"FLOWBRIDGE_SUPPLIER":        "SandBox",
		"FLOWBRIDGE_CARRIERS":        " gls , Seur,,",
		"FLOWBRIDGE_API_KEYS":        "Key1-aaaaaaaaaaaaaaaa, Key2-BBBBBBBBBBBBbbbb",
		"FLOWBRIDGE_REQUEST_TIMEOUT": "25s",
		"FLOWBRIDGE_TEST_MODE":       "true",
		"REDIS_URL":                  "redis://localhost:6379/0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9000" || cfg.Supplier != "sandbox" || strings.Join(cfg.Carriers, "|") != "gls|Seur" ||
		len(cfg.APIKeys) != 2 || cfg.APIKeys[1] != "Key2-BBBBBBBBBBBBbbbb" || cfg.RequestTimeout != 25*time.Second || !cfg.TestMode {
		t.Fatalf("values: %+v", cfg)
	}
}

func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"timeout above Flow's limit", map[string]string{"FLOWBRIDGE_REQUEST_TIMEOUT": "30s"}, nil, []string{"FLOWBRIDGE_REQUEST_TIMEOUT", "25s"}},
		{"timeout not a duration", map[string]string{"FLOWBRIDGE_REQUEST_TIMEOUT": "20"}, nil, []string{"FLOWBRIDGE_REQUEST_TIMEOUT", "e.g. 20s"}},
		{"unknown supplier", map[string]string{"FLOWBRIDGE_SUPPLIER": "aliexpress"}, nil, []string{"FLOWBRIDGE_SUPPLIER", "sandbox, bts, bigbuy"}},
		{"bts without token", map[string]string{"FLOWBRIDGE_SUPPLIER": "BTS"}, nil, []string{"FLOWBRIDGE_BTS_TOKEN", "required"}},
		{"bigbuy without key", map[string]string{"FLOWBRIDGE_SUPPLIER": "bigbuy"}, nil, []string{"FLOWBRIDGE_BIGBUY_API_KEY"}},
		{"short api key", map[string]string{"FLOWBRIDGE_API_KEYS": "secret"}, nil, []string{"FLOWBRIDGE_API_KEYS", "16 characters"}},
		{"bad addr", map[string]string{"FLOWBRIDGE_ADDR": "8080"}, nil, []string{"FLOWBRIDGE_ADDR", ":8080"}},
		{"bad body limit", map[string]string{"FLOWBRIDGE_MAX_BODY_BYTES": "1MB"}, nil, []string{"FLOWBRIDGE_MAX_BODY_BYTES"}},
		{"bad redis url", map[string]string{"REDIS_URL": "localhost:6379"}, nil, []string{"REDIS_URL", "redis://"}},
		{"bad bool", map[string]string{"FLOWBRIDGE_TEST_MODE": "yes please"}, nil, []string{"FLOWBRIDGE_TEST_MODE", "true or false"}},
		{"bad flag value names env and flag", nil, []string{"-request-timeout", "1h"}, []string{"FLOWBRIDGE_REQUEST_TIMEOUT (flag -request-timeout)"}},
		{"unknown flag", nil, []string{"-nope"}, []string{"-nope", "-help"}},
		{"every problem at once", map[string]string{"FLOWBRIDGE_ADDR": "x", "FLOWBRIDGE_LOG_LEVEL": "loud"}, nil, []string{"FLOWBRIDGE_ADDR", "FLOWBRIDGE_LOG_LEVEL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadConfig(tt.args, env(tt.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCredentialsAreNotCaseFolded(t *testing.T) {
	cfg, warns, err := LoadConfig(nil, env(map[string]string{
		"FLOWBRIDGE_SUPPLIER":  "BTS",
		"FLOWBRIDGE_BTS_TOKEN": "AbCdEfGhIjKlMnOpQrSt",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BTSToken != "AbCdEfGhIjKlMnOpQrSt" || cfg.Supplier != "bts" {
		t.Fatalf("token or supplier changed: %q %q", cfg.BTSToken, cfg.Supplier)
	}
	if len(warns) != 0 {
		t.Fatalf("mixed-case token warned: %v", warns)
	}
	_, warns, _ = LoadConfig(nil, env(map[string]string{
		"FLOWBRIDGE_SUPPLIER":  "bts",
		"FLOWBRIDGE_BTS_TOKEN": "abcdefghijklmnopqrst",
	}))
	if len(warns) != 1 || !strings.Contains(warns[0], "FLOWBRIDGE_BTS_TOKEN") || strings.Contains(warns[0], "abcdefghijklmnopqrst") {
		t.Fatalf("case-mangled token: warnings %v", warns)
	}
	// A hex token is single-case by nature: no warning.
	_, warns, _ = LoadConfig(nil, env(map[string]string{"FLOWBRIDGE_API_KEYS": "0123456789abcdef0123456789abcdef"}))
	if len(warns) != 0 {
		t.Fatalf("hex key warned: %v", warns)
	}
}

func TestSettingsMarkdown(t *testing.T) {
	md := SettingsMarkdown()
	for _, name := range []string{"FLOWBRIDGE_ADDR", "FLOWBRIDGE_API_KEYS", "FLOWBRIDGE_OPERATOR_KEYS", "FLOWBRIDGE_SUPPLIER",
		"REDIS_URL", "FLOWBRIDGE_CARRIERS", "FLOWBRIDGE_TEST_MODE", "FLOWBRIDGE_REQUEST_TIMEOUT", "FLOWBRIDGE_MAX_BODY_BYTES",
		"FLOWBRIDGE_BTS_BASE_URL", "FLOWBRIDGE_BTS_TOKEN", "FLOWBRIDGE_BIGBUY_BASE_URL", "FLOWBRIDGE_BIGBUY_API_KEY"} {
		if !strings.Contains(md, "`"+name+"`") {
			t.Errorf("settings table lacks %s", name)
		}
	}
	if got := strings.Count(md, "\n"); got != len(Settings())+2 {
		t.Errorf("markdown has %d lines, want one per setting plus header", got)
	}
	seen := map[string]bool{}
	for _, s := range Settings() {
		if seen[s.Env] || seen[s.Flag] || !strings.HasSuffix(s.Help, ".") && !strings.HasSuffix(s.Help, ")") {
			t.Errorf("setting %s: duplicate or help not a sentence", s.Env)
		}
		seen[s.Env], seen[s.Flag] = true, true
		if s.Default != "" {
			var c Config
			if err := s.Set(&c, s.Default); err != nil {
				t.Errorf("default of %s does not parse: %v", s.Env, err)
			}
		}
	}
}
