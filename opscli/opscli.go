// Package opscli is the operator's command line: `flowbridge orders ...`.
// It talks to a running flowbridge through the operator HTTP API (the
// operator key, never the Flow key), so it works the same against one
// instance or many.
package opscli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/orderid"
)

const usage = `usage:
  flowbridge orders resolve <order_id> --adopt <supplier_order_id>
  flowbridge orders resolve <order_id> --release
  flowbridge orders show <order_id>
  flowbridge orders list [--state needs_review|cancelled|no_tracking|test_mode|attention] [--limit N]

flags (any position):
  --url URL     flowbridge base URL (env FLOWBRIDGE_URL, default http://localhost:8080)
  --key KEY     operator key (env FLOWBRIDGE_OPERATOR_KEY)
  --shop SHOP   shop domain, for multi-shop deployments (default: the server's)

<order_id> is the Shopify order id (number or gid://shopify/Order/<number>).
adopt records a supplier order number you found in the supplier's portal;
release forgets the order so that the next workflow run places it afresh.
`

// Run runs one command. args excludes the program name and starts with
// "orders". It returns an error (already explained on stderr) when the
// command failed.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flowbridge orders", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	base := fs.String("url", getenv("FLOWBRIDGE_URL"), "")
	key := fs.String("key", getenv("FLOWBRIDGE_OPERATOR_KEY"), "")
	shop := fs.String("shop", "", "")
	adopt := fs.String("adopt", "", "")
	release := fs.Bool("release", false, "")
	state := fs.String("state", "", "")
	limit := fs.Int("limit", 50, "")
	help := fs.Bool("help", false, "")

	// The flag package stops at the first positional argument; collect
	// positionals and keep parsing so flags may come anywhere.
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return fail(stderr, "%v\n\n%s", err, usage)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if *help {
		_, _ = io.WriteString(stdout, usage)
		return nil
	}
	if len(pos) > 0 && pos[0] == "orders" {
		pos = pos[1:]
	}
	if len(pos) == 1 && pos[0] == "list" {
		if *key == "" {
			return fail(stderr, "no operator key: set FLOWBRIDGE_OPERATOR_KEY or pass --key\n")
		}
		if *base == "" {
			*base = "http://localhost:8080"
		}
		c := client{base: strings.TrimRight(*base, "/"), key: *key, http: &http.Client{Timeout: 30 * time.Second}}
		return list(ctx, c, *state, *limit, *shop, stdout, stderr)
	}
	if len(pos) != 2 {
		return fail(stderr, "%s", usage)
	}
	cmd, rawID := pos[0], pos[1]
	id, ok := orderid.Normalize(rawID)
	if !ok {
		return fail(stderr, "%q is not a Shopify order id\n", rawID)
	}
	if *base == "" {
		*base = "http://localhost:8080"
	}
	if *key == "" {
		return fail(stderr, "no operator key: set FLOWBRIDGE_OPERATOR_KEY or pass --key\n")
	}
	c := client{base: strings.TrimRight(*base, "/"), key: *key, http: &http.Client{Timeout: 30 * time.Second}}
	q := ""
	if *shop != "" {
		q = "?shop=" + url.QueryEscape(*shop)
	}
	path := "/admin/orders/" + url.PathEscape(id)

	var (
		out orderOut
		err error
	)
	switch cmd {
	case "resolve":
		body := map[string]string{}
		switch {
		case *adopt != "" && *release:
			return fail(stderr, "choose one of --adopt and --release\n")
		case *adopt != "":
			body["action"], body["supplier_order_id"] = "adopt", strings.TrimSpace(*adopt)
		case *release:
			body["action"] = "release"
		default:
			return fail(stderr, "resolve needs --adopt <supplier_order_id> or --release\n")
		}
		err = c.do(ctx, http.MethodPost, path+"/resolve"+q, body, &out)
	case "show":
		err = c.do(ctx, http.MethodGet, path+q, nil, &out)
	default:
		return fail(stderr, "unknown command %q\n\n%s", cmd, usage)
	}
	if err != nil {
		return fail(stderr, "%v\n", err)
	}
	out = out.normalise()
	switch {
	case cmd == "resolve" && (out.State == "absent" || out.State == "released"):
		fmt.Fprintf(stdout, "order %s released: the next workflow run places it afresh\n", out.OrderID)
	case cmd == "resolve":
		fmt.Fprintf(stdout, "order %s adopted: supplier order %s\n", out.OrderID, out.SupplierOrderID)
	default:
		fmt.Fprintf(stdout, "order %s: %s", out.OrderID, out.State)
		if out.SupplierOrderID != "" {
			fmt.Fprintf(stdout, ", supplier order %s", out.SupplierOrderID)
		}
		fmt.Fprintf(stdout, " (attempts: %d)\n", out.Attempts)
		if out.ReviewReason != "" {
			fmt.Fprintf(stdout, "review: %s\n", out.ReviewReason)
		}
	}
	return nil
}

// errReported marks an error already written to stderr.
var errReported = errors.New("opscli: command failed")

func fail(stderr io.Writer, format string, args ...any) error {
	fmt.Fprintf(stderr, format, args...)
	return errReported
}

type orderOut struct {
	OrderID         string `json:"order_id"`
	State           string `json:"state"`
	SupplierOrderID string `json:"supplier_order_id"`
	ReviewReason    string `json:"review_reason"`
	Attempts        int    `json:"attempts"`
	// The operator API answers with the order's timeline summary and its
	// placement record nested; the record, when present, is what counts.
	Placement *orderOut `json:"placement"`
	Order     *orderOut `json:"order"`
}

func (o orderOut) normalise() orderOut {
	switch {
	case o.Placement != nil:
		return *o.Placement
	case o.Order != nil:
		return *o.Order
	}
	return o
}

type problemOut struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Status int    `json:"status"`
	Errors []struct {
		Pointer string `json:"pointer"`
		Message string `json:"message"`
	} `json:"errors"`
}

type client struct {
	base, key string
	http      *http.Client
}

func (c client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach flowbridge at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var p problemOut
		if json.Unmarshal(b, &p) != nil || p.Code == "" {
			return fmt.Errorf("flowbridge answered %s", resp.Status)
		}
		msg := fmt.Sprintf("%s (%d): %s", p.Code, resp.StatusCode, p.Detail)
		for _, f := range p.Errors {
			msg += fmt.Sprintf("\n  %s: %s", f.Pointer, f.Message)
		}
		return errors.New(msg)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("unreadable answer from flowbridge: %w", err)
	}
	return nil
}

type listOut struct {
	Orders []struct {
		OrderID         string `json:"order_id"`
		State           string `json:"state"`
		SupplierOrderID string `json:"supplier_order_id"`
		LastStatus      string `json:"last_status"`
		Checks          int    `json:"checks"`
		TestMode        bool   `json:"test_mode"`
		UpdatedAt       string `json:"updated_at"`
	} `json:"orders"`
	Next string `json:"next"`
}

// list prints one line per order, newest first, as the operator API
// returns them (GET /admin/orders).
func list(ctx context.Context, c client, state string, limit int, shop string, stdout, stderr io.Writer) error {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("limit", fmt.Sprint(limit))
	if shop != "" {
		q.Set("shop", shop)
	}
	var out listOut
	if err := c.do(ctx, http.MethodGet, "/admin/orders?"+q.Encode(), nil, &out); err != nil {
		return fail(stderr, "%v\n", err)
	}
	if len(out.Orders) == 0 {
		fmt.Fprintln(stdout, "no orders")
		return nil
	}
	for _, o := range out.Orders {
		line := fmt.Sprintf("%s\t%s", o.OrderID, o.State)
		if o.SupplierOrderID != "" {
			line += "\tsupplier " + o.SupplierOrderID
		}
		if o.LastStatus != "" {
			line += "\t" + o.LastStatus
		}
		line += fmt.Sprintf("\tchecks %d\t%s", o.Checks, o.UpdatedAt)
		if o.TestMode {
			line += "\ttest mode"
		}
		fmt.Fprintln(stdout, line)
	}
	if out.Next != "" {
		fmt.Fprintln(stdout, "(more: the list was cut at --limit)")
	}
	return nil
}
