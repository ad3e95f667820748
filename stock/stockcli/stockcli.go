// Package stockcli is `flowbridge stock …`: `sync` runs one stock sync in
// this process (for cron or a Kubernetes CronJob; --dry-run prints the diff
// and writes nothing), `status` shows a running flowbridge's last runs over
// the operator API.
package stockcli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/server"
	"github.com/flowbridge/flowbridge/stock"
	"github.com/flowbridge/flowbridge/store"
)

const usage = `usage:
  flowbridge stock sync [--dry-run] [--allow-large] [--json]
  flowbridge stock status [--limit N] [--json] [--url URL] [--key KEY]

sync reads the configuration from the environment, like the service
(FLOWBRIDGE_SUPPLIER and its credentials, SHOPIFY_SHOP, SHOPIFY_ADMIN_TOKEN,
FLOWBRIDGE_STOCK_*, REDIS_URL for the shared lease, history and rate limit).
  --dry-run      print the changes as a table; write nothing
  --allow-large  lift FLOWBRIDGE_STOCK_MAX_CHANGES for this run
  --json         print the run record as JSON

status asks a running flowbridge (operator key):
  --url URL      base URL (env FLOWBRIDGE_URL, default http://localhost:8080)
  --key KEY      operator key (env FLOWBRIDGE_OPERATOR_KEY)
`

// Run runs one command; args start after "stock".
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("stock: no command")
	}
	switch args[0] {
	case "sync":
		return syncCmd(ctx, args[1:], getenv, stdout, stderr)
	case "status":
		return statusCmd(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("stock: unknown command %q", args[0])
}

func syncCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flowbridge stock sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dry := fs.Bool("dry-run", false, "print the changes; write nothing")
	large := fs.Bool("allow-large", false, "lift the change cap for this run")
	asJSON := fs.Bool("json", false, "print the run as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, warnings, err := server.LoadConfig(nil, getenv)
	if err != nil {
		return err
	}
	log := server.NewLogger(stderr, cfg.LogLevel)
	for _, w := range warnings {
		log.Warn("configuration", slog.String("warning", w))
	}
	if !cfg.StockConfigured() {
		return errors.New("stock sync needs SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN (the shop and its custom app's Admin API token)")
	}
	st, err := store.Open(ctx, cfg.RedisURL, store.Options{Logger: log, MinReplicas: cfg.RedisMinReplicas})
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	defer st.Close()
	var rdb redis.UniversalClient
	if rs, ok := st.(interface{ Client() redis.UniversalClient }); ok {
		rdb = rs.Client()
	}
	sup, err := server.NewSupplier(cfg, server.SupplierDeps{Logger: log, Redis: rdb})
	if err != nil {
		return err
	}
	parts := server.NewStock(cfg, sup, st, log)
	if parts.Runner == nil {
		return fmt.Errorf("the %s adapter cannot read stock in bulk", sup.Name())
	}
	run, pl, err := parts.Runner.RunNow(ctx, stock.Options{DryRun: *dry, AllowLarge: *large, Trigger: "cli"})
	if run.ID == "" && err != nil {
		return explain(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(run)
	} else {
		if *dry {
			fmt.Fprintf(stdout, "DRY RUN against %s (location %s): nothing is written\n\n", cfg.ShopifyShop, run.Location.Name)
		}
		stock.WriteTable(stdout, pl)
		fmt.Fprintln(stdout)
		writeRun(stdout, run)
	}
	return explain(err)
}

func explain(err error) error {
	if err == nil {
		return nil
	}
	pe := problem.From(err)
	return fmt.Errorf("%s: %s", pe.Code, pe.Detail)
}

// writeRun prints one run's summary line and its failures.
func writeRun(w io.Writer, r stock.Run) {
	fmt.Fprintf(w, "run %s (%s, %s) %s: %d variants, %d matched, %d changed of %d planned, %d failed, %d unmatched, %d vanished, %d low margin, %d retries, %s\n",
		r.ID, r.Trigger, r.Supplier, r.Status, r.Variants, r.Matched, r.Applied, r.Planned, r.Failed, r.UnmatchedCount, r.Vanished,
		r.LowMargin, r.Retries, (time.Duration(r.DurationMS) * time.Millisecond).String())
	if r.Error != "" {
		fmt.Fprintln(w, "  error: "+r.Error)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  failed %s (%s): %s %s\n", f.VariantID, f.EAN, f.Code, f.Detail)
	}
}

func statusCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flowbridge stock status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", getenv("FLOWBRIDGE_URL"), "flowbridge base URL")
	key := fs.String("key", getenv("FLOWBRIDGE_OPERATOR_KEY"), "operator key")
	limit := fs.Int("limit", 5, "runs to show")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" {
		return errors.New("no operator key: set FLOWBRIDGE_OPERATOR_KEY or pass --key")
	}
	if *base == "" {
		*base = "http://localhost:8080"
	}
	u := strings.TrimRight(*base, "/") + "/admin/stock?limit=" + url.QueryEscape(strconv.Itoa(*limit))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+*key)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", *base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != http.StatusOK {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(body, &p)
		return fmt.Errorf("flowbridge answered %d %s: %s", resp.StatusCode, p.Code, p.Detail)
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var st struct {
		Configured bool        `json:"configured"`
		Interval   string      `json:"interval"`
		Location   string      `json:"location"`
		Running    string      `json:"running"`
		Runs       []stock.Run `json:"runs"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	fmt.Fprintf(stdout, "stock sync: configured=%v interval=%s\n", st.Configured, st.Interval)
	if st.Running != "" {
		fmt.Fprintf(stdout, "running now: %s\n", st.Running)
	}
	if len(st.Runs) == 0 {
		fmt.Fprintln(stdout, "no runs yet")
		return nil
	}
	for i, r := range st.Runs {
		fmt.Fprintf(stdout, "%s  ", r.Started.Format(time.RFC3339))
		writeRun(stdout, r)
		if i > 0 {
			continue
		}
		// The last run in full: what changed, what is not synced, margins.
		for _, c := range r.Changes {
			fmt.Fprintf(stdout, "  changed %s %q: %d → %d%s\n", c.EAN, c.Title, c.From, c.To, map[bool]string{true: " (vanished)"}[c.Vanished])
		}
		for _, u := range r.Unmatched {
			fmt.Fprintf(stdout, "  not synced %s %q: %s %s\n", u.Barcode, u.Title, u.Reason, u.Detail)
		}
		for _, m := range r.LowMargins {
			fmt.Fprintf(stdout, "  low margin %s %q: %.1f%%\n", m.EAN, m.Title, m.Percent)
		}
	}
	return nil
}
