package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Config is flowbridge's validated configuration.
type Config struct {
	// Addr is the listen address (host:port or :port).
	Addr string
	// APIKeys are the accepted Flow secrets (Authorization: Bearer <key>).
	// Several keys let a merchant rotate without downtime.
	APIKeys []string
	// OperatorKeys protect /admin; a Flow key never opens /admin.
	OperatorKeys []string
	// MetricsKeys protect /metrics; empty means the operator keys do.
	MetricsKeys []string
	// Shop is the default shop domain in idempotency keys when a request
	// names none.
	Shop string
	// Idempotency and cache lifetimes.
	RecordTTL   time.Duration
	Lease       time.Duration
	RatesTTL    time.Duration
	TrackingTTL time.Duration
	// RedisMinReplicas: replicas that must hold a claim before the supplier
	// is called (survives a Redis failover without a second order).
	RedisMinReplicas int
	// StoreTimeout bounds every Redis operation.
	StoreTimeout time.Duration
	// LostDataWindow: how long after Redis lost its data new claims are
	// checked before any create (orders.Config.LostDataWindow).
	LostDataWindow time.Duration
	// TimelineTTL is how long per-order timelines are kept.
	TimelineTTL time.Duration
	// DevTraces prints spans to stdout when no OTEL_TRACES_EXPORTER is set.
	DevTraces bool
	// Supplier is the lower-case supplier name: sandbox, bts or bigbuy.
	Supplier string
	// RedisURL selects the Redis store; empty means the in-process store.
	RedisURL string
	// Carriers is the default carrier preference list, in order.
	Carriers []string
	// TestMode places supplier orders so that they stay pending.
	TestMode bool
	// RequestTimeout bounds every request (Flow gives up after 30 s).
	RequestTimeout time.Duration
	// MaxBodyBytes caps request bodies.
	MaxBodyBytes int64
	// LogLevel is debug, info, warn or error.
	LogLevel string

	// Sandbox supplier timings (FLOWBRIDGE_SUPPLIER=sandbox).
	SandboxProcessingAfter time.Duration
	SandboxShipAfter       time.Duration
	SandboxDisableLookup   bool

	BTSBaseURL       string
	BTSToken         string
	BTSPaymentMethod string

	BigBuyBaseURL       string
	BigBuyAPIKey        string
	BigBuyPaymentMethod string
	BigBuySKUFallback   bool

	// Outbound supplier client (real suppliers only).
	SupplierRateLimit      float64
	SupplierBurst          int
	SupplierAttemptTimeout time.Duration

	// The shop's Admin API credentials (stock sync, the fulfil call of the
	// lean workflow, and the order-metafield check after Redis lost its
	// data) and the stock sync's safety rules.
	ShopifyShop     string
	ShopifyToken    string
	ShopifyBaseURL  string
	StockInterval   time.Duration
	StockBuffer     int
	StockMaxChanges int
	StockMinMargin  float64
	StockLocation   string
	StockHistory    int
}

// MaxRequestTimeout keeps a request well inside Flow's 30 s wait, so a slow
// answer is never re-sent by Flow while the first call is still running.
const MaxRequestTimeout = 25 * time.Second

// SupplierNames lists the supplier names FLOWBRIDGE_SUPPLIER accepts.
func SupplierNames() []string { return []string{"sandbox", "bts", "bigbuy"} }

// Setting is one configuration entry: its environment variable, flag,
// default, help and how it is parsed into Config. The table of settings is
// the single source for start-up parsing, -help output and the README's
// configuration reference (SettingsMarkdown).
type Setting struct {
	Env     string
	Flag    string
	Default string
	Help    string
	// Secret values are never printed, logged or case-folded.
	Secret bool
	// Set parses and validates a value into cfg. Its error says what is
	// wrong and how to fix it; the variable name is added by the caller.
	Set func(cfg *Config, value string) error
}

// Settings returns the settings table.
func Settings() []Setting {
	return append([]Setting{
		{Env: "FLOWBRIDGE_ADDR", Flag: "addr", Default: ":8080",
			Help: "Listen address (`host:port` or `:port`).",
			Set: func(c *Config, v string) error {
				if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
					return fmt.Errorf("%q is not a listen address; use host:port or :port, e.g. :8080", v)
				}
				c.Addr = v
				return nil
			}},
		{Env: "FLOWBRIDGE_API_KEYS", Flag: "api-keys", Secret: true,
			Help: "Comma-separated bearer keys accepted on the Flow endpoints (several allow rotation). Unset: a random key is generated at start-up and printed once.",
			Set: func(c *Config, v string) error {
				keys, err := parseKeys(v)
				c.APIKeys = keys
				return err
			}},
		{Env: "FLOWBRIDGE_OPERATOR_KEYS", Flag: "operator-keys", Secret: true,
			Help: "Comma-separated bearer keys for `/admin` (operator actions). Flow keys are not accepted there. Unset: one is generated and printed once.",
			Set: func(c *Config, v string) error {
				keys, err := parseKeys(v)
				c.OperatorKeys = keys
				return err
			}},
		{Env: "FLOWBRIDGE_METRICS_KEYS", Flag: "metrics-keys", Secret: true,
			Help: "Comma-separated bearer keys for `GET /metrics` (give Prometheus its own). Unset: the operator keys are required.",
			Set: func(c *Config, v string) error {
				keys, err := parseKeys(v)
				c.MetricsKeys = keys
				return err
			}},
		{Env: "FLOWBRIDGE_SUPPLIER", Flag: "supplier", Default: "sandbox",
			Help: "Wholesaler adapter: `sandbox` (built in, no credentials), `bts` or `bigbuy`. Case-insensitive.",
			Set: func(c *Config, v string) error {
				name := strings.ToLower(strings.TrimSpace(v))
				for _, s := range SupplierNames() {
					if name == s {
						c.Supplier = name
						return nil
					}
				}
				return fmt.Errorf("unknown supplier %q; use one of %s", v, strings.Join(SupplierNames(), ", "))
			}},
		{Env: "REDIS_URL", Flag: "redis-url", Secret: true,
			Help: "Redis URL (`redis://`, `rediss://`, `unix://`, `redis+sentinel://` or `redis+cluster://`) for idempotency records, caches, timelines and the shared supplier rate limit. Unset: in-process store (one instance only; records are lost on restart).",
			Set: func(c *Config, v string) error {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix" &&
					u.Scheme != "redis+sentinel" && u.Scheme != "redis+cluster") {
					return errors.New("not a Redis URL; use redis://host:6379/0, rediss://…, unix:///path/to/redis.sock, redis+sentinel://host:26379?master_name=… or redis+cluster://host:7000?addr=…")
				}
				c.RedisURL = v
				return nil
			}},
		{Env: "FLOWBRIDGE_REDIS_MIN_REPLICAS", Flag: "redis-min-replicas", Default: "0",
			Help: "Redis replicas that must acknowledge an order's claim and its sent mark (WAIT) before the supplier is called; with it a claim on a newly promoted master also marks the data as lost (recent claims may be gone). Set `1` with Sentinel or Cluster (and two replicas per master): without it a failover can lose a claim and place an order twice (docs/OPERATIONS.md).",
			Set: func(c *Config, v string) error {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil || n < 0 || n > 5 {
					return fmt.Errorf("%q is not a whole number from 0 to 5", v)
				}
				c.RedisMinReplicas = n
				return nil
			}},
		{Env: "FLOWBRIDGE_STORE_TIMEOUT", Flag: "store-timeout", Default: "5s",
			Help: "Bound on every Redis operation: a hung Redis costs a call at most this per operation, so every request is answered inside `FLOWBRIDGE_REQUEST_TIMEOUT` (docs/faults.md).",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.StoreTimeout })},
		{Env: "FLOWBRIDGE_LOST_DATA_WINDOW", Flag: "lost-data-window", Default: "24h",
			Help: "After Redis lost its data (FLUSHALL, restart without persistence), how long new placements are checked before any create: by supplier lookup, else the order's Shopify metafield (`SHOPIFY_ADMIN_TOKEN`), else held for review (docs/exactly-once.md).",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.LostDataWindow })},
		{Env: "FLOWBRIDGE_CARRIERS", Flag: "carriers", Default: "GLS",
			Help: "Carrier preference list for `/rates`, comma-separated, first wins; case-insensitive. A request's `preferred_carriers` overrides it.",
			Set: func(c *Config, v string) error {
				c.Carriers = nil
				for _, s := range strings.Split(v, ",") {
					if s = strings.TrimSpace(s); s != "" {
						c.Carriers = append(c.Carriers, s)
					}
				}
				return nil
			}},
		{Env: "FLOWBRIDGE_TEST_MODE", Flag: "test-mode", Default: "false",
			Help: "Place supplier orders so that they stay pending and can be cancelled (where the supplier allows it).",
			Set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("%q is not a boolean; use true or false", v)
				}
				c.TestMode = b
				return nil
			}},
		{Env: "FLOWBRIDGE_REQUEST_TIMEOUT", Flag: "request-timeout", Default: "20s",
			Help: "Deadline for every request, at most 25s (Flow re-sends a request after 30 s without an answer).",
			Set: func(c *Config, v string) error {
				d, err := time.ParseDuration(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("%q is not a duration; use e.g. 20s", v)
				}
				if d < time.Second || d > MaxRequestTimeout {
					return fmt.Errorf("%s is out of range; use a value from 1s to %s (Flow gives up after 30 s)", d, MaxRequestTimeout)
				}
				c.RequestTimeout = d
				return nil
			}},
		{Env: "FLOWBRIDGE_MAX_BODY_BYTES", Flag: "max-body-bytes", Default: "262144",
			Help: "Largest accepted request body in bytes; larger bodies get 413 `body_too_large`.",
			Set: func(c *Config, v string) error {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil || n < 1024 || n > 16<<20 {
					return fmt.Errorf("%q is not a byte count from 1024 to 16777216; use e.g. 262144", v)
				}
				c.MaxBodyBytes = n
				return nil
			}},
		{Env: "FLOWBRIDGE_SHOP", Flag: "shop", Default: "default",
			Help: "Shop domain used in idempotency keys when a request carries no `shop` (set it to your `*.myshopify.com` domain when one instance serves one shop).",
			Set:  func(c *Config, v string) error { c.Shop = strings.ToLower(strings.TrimSpace(v)); return nil }},
		{Env: "FLOWBRIDGE_RECORD_TTL", Flag: "record-ttl", Default: "720h",
			Help: "How long a placement record is kept: it must cover Flow's 24 h of re-sends and a later manual re-run of the workflow.",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.RecordTTL })},
		{Env: "FLOWBRIDGE_LEASE", Flag: "lease", Default: "60s",
			Help: "How long one caller holds an order while placing it; a crashed caller's order is reconciled after this.",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.Lease })},
		{Env: "FLOWBRIDGE_RATES_CACHE_TTL", Flag: "rates-cache-ttl", Default: "10m",
			Help: "How long the supplier's shipping options for one destination and cart are reused.",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.RatesTTL })},
		{Env: "FLOWBRIDGE_TRACKING_CACHE_TTL", Flag: "tracking-cache-ttl", Default: "2m",
			Help: "How long one order's tracking answer is reused before the supplier is asked again (a status never goes backwards).",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.TrackingTTL })},
		{Env: "FLOWBRIDGE_TIMELINE_TTL", Flag: "timeline-ttl", Default: "720h",
			Help: "How long each order's timeline (what flowbridge saw and did) is kept for the operator console.",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.TimelineTTL })},
		{Env: "FLOWBRIDGE_DEV_TRACES", Flag: "dev-traces", Default: "false",
			Help: "Print spans to stdout when `OTEL_TRACES_EXPORTER` is not set (development). Tracing exporters are configured with the standard `OTEL_*` variables.",
			Set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("%q is not a boolean; use true or false", v)
				}
				c.DevTraces = b
				return nil
			}},
		{Env: "FLOWBRIDGE_LOG_LEVEL", Flag: "log-level", Default: "info",
			Help: "Log level: debug, info, warn or error. Logs are JSON on stderr.",
			Set: func(c *Config, v string) error {
				l := strings.ToLower(strings.TrimSpace(v))
				switch l {
				case "debug", "info", "warn", "error":
					c.LogLevel = l
					return nil
				}
				return fmt.Errorf("unknown level %q; use debug, info, warn or error", v)
			}},
		{Env: "FLOWBRIDGE_SANDBOX_PROCESSING_AFTER", Flag: "sandbox-processing-after", Default: "1m",
			Help: "Sandbox supplier: time after creation at which an order becomes `processing`.",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.SandboxProcessingAfter })},
		{Env: "FLOWBRIDGE_SANDBOX_SHIP_AFTER", Flag: "sandbox-ship-after", Default: "3m",
			Help: "Sandbox supplier: time after creation at which an order ships (delivered at twice that).",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.SandboxShipAfter })},
		{Env: "FLOWBRIDGE_SANDBOX_DISABLE_LOOKUP", Flag: "sandbox-disable-lookup", Default: "false",
			Help: "Sandbox supplier: behave like a supplier that cannot look orders up by reference (lost answers end in `needs_review`).",
			Set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("%q is not a boolean; use true or false", v)
				}
				c.SandboxDisableLookup = b
				return nil
			}},
		{Env: "FLOWBRIDGE_BTS_BASE_URL", Flag: "bts-base-url", Default: "https://api.btswholesaler.com/v1/api",
			Help: "BTS Wholesaler API base URL.",
			Set:  setURL(func(c *Config) *string { return &c.BTSBaseURL })},
		{Env: "FLOWBRIDGE_BTS_TOKEN", Flag: "bts-token", Secret: true,
			Help: "BTS Wholesaler API token (required when the supplier is `bts`). Case-sensitive.",
			Set:  func(c *Config, v string) error { c.BTSToken = strings.TrimSpace(v); return nil }},
		{Env: "FLOWBRIDGE_BTS_PAYMENT_METHOD", Flag: "bts-payment-method", Default: "wallet",
			Help: "BTS Wholesaler payment for real orders: `wallet`, `banktransfer` or `btscredit`. Test-mode orders always use `banktransfer` (they stay pending).",
			Set: func(c *Config, v string) error {
				m := strings.ToLower(strings.TrimSpace(v))
				switch m {
				case "wallet", "banktransfer", "btscredit":
					c.BTSPaymentMethod = m
					return nil
				}
				return fmt.Errorf("unknown payment method %q; use wallet, banktransfer or btscredit", v)
			}},
		{Env: "FLOWBRIDGE_BIGBUY_BASE_URL", Flag: "bigbuy-base-url", Default: "https://api.bigbuy.eu",
			Help: "BigBuy API base URL (`https://api.sandbox.bigbuy.eu` for BigBuy's sandbox).",
			Set:  setURL(func(c *Config) *string { return &c.BigBuyBaseURL })},
		{Env: "FLOWBRIDGE_BIGBUY_API_KEY", Flag: "bigbuy-api-key", Secret: true,
			Help: "BigBuy API key (required when the supplier is `bigbuy`). Case-sensitive.",
			Set:  func(c *Config, v string) error { c.BigBuyAPIKey = strings.TrimSpace(v); return nil }},
		{Env: "FLOWBRIDGE_BIGBUY_PAYMENT_METHOD", Flag: "bigbuy-payment-method", Default: "moneybox",
			Help: "BigBuy payment for real orders: `moneybox`, `paypal` or `bankwire`. Test-mode orders use `bankwire` (they stay pending).",
			Set: func(c *Config, v string) error {
				m := strings.ToLower(strings.TrimSpace(v))
				switch m {
				case "moneybox", "paypal", "bankwire":
					c.BigBuyPaymentMethod = m
					return nil
				}
				return fmt.Errorf("unknown payment method %q; use moneybox, paypal or bankwire", v)
			}},
		{Env: "FLOWBRIDGE_BIGBUY_SKU_FALLBACK", Flag: "bigbuy-sku-fallback", Default: "false",
			Help: "BigBuy: when a barcode is not in BigBuy's catalogue, send the variant SKU as the BigBuy reference instead of failing with `unmatched_ean`.",
			Set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("%q is not a boolean; use true or false", v)
				}
				c.BigBuySKUFallback = b
				return nil
			}},
		{Env: "FLOWBRIDGE_SUPPLIER_RATE_LIMIT", Flag: "supplier-rate-limit", Default: "0",
			Help: "Requests per second to the supplier, shared by every replica through Redis (every request counts, retries too); for BigBuy, per endpoint (BigBuy limits each endpoint on its own). `0`: the supplier's default (BigBuy 0.8, BTS 5).",
			Set: func(c *Config, v string) error {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 10000 {
					return fmt.Errorf("%q is not a rate from 0 to 10000; use e.g. 0.8", v)
				}
				c.SupplierRateLimit = f
				return nil
			}},
		{Env: "FLOWBRIDGE_SUPPLIER_BURST", Flag: "supplier-burst", Default: "1",
			Help: "Requests that may go to the supplier at once above the rate limit.",
			Set: func(c *Config, v string) error {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil || n < 1 || n > 1000 {
					return fmt.Errorf("%q is not a whole number from 1 to 1000", v)
				}
				c.SupplierBurst = n
				return nil
			}},
		{Env: "FLOWBRIDGE_SUPPLIER_ATTEMPT_TIMEOUT", Flag: "supplier-attempt-timeout", Default: "8s",
			Help: "Deadline of one supplier request attempt (the whole request stays inside FLOWBRIDGE_REQUEST_TIMEOUT).",
			Set:  setDuration(func(c *Config) *time.Duration { return &c.SupplierAttemptTimeout })},
	}, stockSettings()...)
}

func setURL(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http(s) URL; use e.g. https://api.example.com", v)
		}
		*field(c) = strings.TrimRight(u.String(), "/")
		return nil
	}
}

func setDuration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration; use e.g. 3m or 30h", v)
		}
		*field(c) = d
		return nil
	}
}

// parseKeys splits a comma-separated key list. Keys are never case-folded
// or otherwise altered beyond trimming surrounding blanks.
func parseKeys(v string) ([]string, error) {
	var keys []string
	for _, k := range strings.Split(v, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if len(k) < 16 {
			return nil, errors.New("a key is shorter than 16 characters; use long random keys, e.g. from `openssl rand -base64 32`")
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ConfigError lists every invalid setting, each naming its variable.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// LoadConfig reads the settings from flags (args, without the program
// name) and the environment; a flag wins over its variable, which wins over
// the default. It returns warnings that do not stop start-up (e.g. a
// credential that looks case-mangled) and a *ConfigError naming every
// invalid setting.
func LoadConfig(args []string, getenv func(string) string) (Config, []string, error) {
	settings := Settings()
	fs := flag.NewFlagSet("flowbridge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flagVals := make(map[string]*string, len(settings))
	for _, s := range settings {
		flagVals[s.Flag] = fs.String(s.Flag, "", s.Help+" (env "+s.Env+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, &ConfigError{Problems: []string{err.Error() + "; run with -help for the list of flags"}}
	}
	setFlags := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setFlags[f.Name] = true })

	var cfg Config
	var problems, warnings []string
	for _, s := range settings {
		v, source := s.Default, "default"
		if e := getenv(s.Env); strings.TrimSpace(e) != "" {
			v, source = e, s.Env
		}
		if setFlags[s.Flag] {
			v, source = *flagVals[s.Flag], "-"+s.Flag
		}
		if v == "" {
			continue
		}
		if err := s.Set(&cfg, v); err != nil {
			name := s.Env
			if source != s.Env && source != "default" {
				name = s.Env + " (flag " + source + ")"
			}
			problems = append(problems, name+": "+err.Error())
			continue
		}
		if s.Secret {
			for _, part := range strings.Split(v, ",") {
				if looksCaseMangled(strings.TrimSpace(part)) {
					warnings = append(warnings, s.Env+": a value is all one letter case; credentials are case-sensitive, so check it was not lower- or upper-cased on the way (e.g. by a form or shell tool)")
					break
				}
			}
		}
	}
	problems = append(problems, checkStock(cfg)...)
	warnings = append(warnings, stockWarnings(cfg)...)
	switch cfg.Supplier {
	case "bts":
		if cfg.BTSToken == "" {
			problems = append(problems, "FLOWBRIDGE_BTS_TOKEN: required when FLOWBRIDGE_SUPPLIER=bts; set it to the API token from your BTS account")
		}
	case "bigbuy":
		if cfg.BigBuyAPIKey == "" {
			problems = append(problems, "FLOWBRIDGE_BIGBUY_API_KEY: required when FLOWBRIDGE_SUPPLIER=bigbuy; set it to the API key from your BigBuy account")
		}
	}
	if len(problems) > 0 {
		return cfg, warnings, &ConfigError{Problems: problems}
	}
	return cfg, warnings, nil
}

// looksCaseMangled reports whether a credential has letters all of one case
// although it is long and not hex. Generated tokens mix cases, so an
// all-lower-case one was probably folded by a tool on the way; hex tokens
// are legitimately single-case and are not flagged.
func looksCaseMangled(v string) bool {
	if len(v) < 16 || strings.HasPrefix(v, "redis") || strings.HasPrefix(v, "unix") {
		return false
	}
	var lower, upper, nonHex int
	for _, r := range v {
		switch {
		case unicode.IsLower(r):
			lower++
		case unicode.IsUpper(r):
			upper++
		default:
			continue
		}
		if !strings.ContainsRune("abcdefABCDEF", r) {
			nonHex++
		}
	}
	return nonHex > 0 && (lower == 0) != (upper == 0)
}

// SettingsMarkdown renders the settings table as a Markdown table for the
// README's configuration reference.
func SettingsMarkdown() string {
	var b strings.Builder
	b.WriteString("| Variable | Flag | Default | Description |\n|---|---|---|---|\n")
	for _, s := range Settings() {
		def := "—"
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		help := strings.ReplaceAll(s.Help, "|", "\\|")
		if s.Secret {
			help += " *Secret: never logged.*"
		}
		fmt.Fprintf(&b, "| `%s` | `-%s` | %s | %s |\n", s.Env, s.Flag, def, help)
	}
	return b.String()
}

// Usage writes the flag help, generated from the same table.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: flowbridge [serve|healthcheck] [flags]\n\nEvery flag can also be set by its environment variable; a flag wins.")
	for _, s := range Settings() {
		def := ""
		if s.Default != "" {
			def = " (default " + s.Default + ")"
		}
		fmt.Fprintf(w, "  -%s / %s%s\n      %s\n", s.Flag, s.Env, def, s.Help)
	}
}
