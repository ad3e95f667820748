package shopify

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"

	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/problem"
)

// Environment variables read by setup and doctor (flags win over them).
const (
	EnvShop       = "SHOPIFY_SHOP"
	EnvToken      = "SHOPIFY_ADMIN_TOKEN"
	EnvAPIVersion = "SHOPIFY_API_VERSION"
	// EnvBaseURL points the client somewhere other than https://{shop}
	// (a proxy, or a test server). Merchants never need it.
	EnvBaseURL = "SHOPIFY_ADMIN_BASE_URL"
)

// Flags are the Shopify-side settings shared by setup and doctor.
type Flags struct {
	Shop             string
	Token            string
	APIVersion       string
	BaseURL          string
	Namespace        string
	ShippingCostKey  string
	SupplierOrderKey string
}

// Register declares the flags on fs, with defaults taken from the
// environment so a token need not appear on the command line.
func (f *Flags) Register(fs *flag.FlagSet, getenv func(string) string) {
	def := flowtemplates.Defaults()
	fs.StringVar(&f.Shop, "shop", getenv(EnvShop), "shop domain, e.g. example.myshopify.com (env "+EnvShop+")")
	fs.StringVar(&f.Token, "token", "", "Admin API access token (prefer env "+EnvToken+": flags show up in the process list)")
	fs.StringVar(&f.APIVersion, "api-version", orDefault(getenv(EnvAPIVersion), DefaultAPIVersion), "Admin API version (env "+EnvAPIVersion+")")
	fs.StringVar(&f.Namespace, "namespace", def.Namespace, "metafield namespace the workflows use (exact case)")
	fs.StringVar(&f.ShippingCostKey, "shipping-cost-key", def.ShippingCostKey, "metafield key for the chosen shipping option")
	fs.StringVar(&f.SupplierOrderKey, "supplier-order-key", def.SupplierOrderKey, "metafield key for the supplier order number")
	// The token's environment default is filled after parsing (Finish), so
	// -help never prints it.
	f.BaseURL = getenv(EnvBaseURL)
}

// Finish fills what Register could not (the token from the environment)
// and validates the shop domain.
func (f *Flags) Finish(getenv func(string) string) error {
	if f.Token == "" {
		f.Token = getenv(EnvToken)
	}
	if f.Shop == "" && f.BaseURL == "" {
		return problem.New(problem.Invalid, CodeInvalidShop, "no shop given: pass --shop example.myshopify.com or set "+EnvShop)
	}
	if f.Shop != "" {
		s, err := NormalizeShop(f.Shop)
		if err != nil {
			return err
		}
		f.Shop = s
	}
	if f.Token == "" {
		return problem.New(problem.Unauthorized, CodeMissingToken, "no Admin API access token: set "+EnvToken+" (or pass --token)")
	}
	return nil
}

// Params returns the template parameters the definitions derive from.
func (f *Flags) Params() flowtemplates.Params {
	p := flowtemplates.Defaults()
	p.Namespace = f.Namespace
	p.ShippingCostKey = f.ShippingCostKey
	p.SupplierOrderKey = f.SupplierOrderKey
	return p
}

// Client builds the Admin API client; hc may be nil.
func (f *Flags) Client(hc *http.Client) *Client {
	return &Client{Shop: f.Shop, Token: f.Token, APIVersion: f.APIVersion, BaseURL: f.BaseURL, HTTP: hc}
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// SetupCommand is `flowbridge setup`: it creates the order metafield
// definitions the Flow workflows use, and reports what it created or found.
// Running it again changes nothing. The returned error is non-nil when any
// definition is not usable, so the process exits non-zero.
func SetupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: flowbridge setup --shop example.myshopify.com [--namespace flowbridge]")
		fmt.Fprintln(stderr, "Creates the order metafield definitions the Flow workflows need. Token from "+EnvToken+".")
		fs.PrintDefaults()
	}
	var f Flags
	f.Register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := f.Finish(getenv); err != nil {
		return err
	}
	return Setup(ctx, f.Client(nil), f.Params().Metafields(), stdout)
}

// Setup does the work of SetupCommand with a ready client.
func Setup(ctx context.Context, c *Client, defs []flowtemplates.Metafield, stdout io.Writer) error {
	shop, err := c.ShopInfo(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Shop: %s (%s), plan %s\n", shop.Name, shop.MyshopifyDomain, orDefault(shop.Plan, "unknown"))
	if ok, known := shop.PlanAllowsHTTPRequest(); known && !ok {
		fmt.Fprintf(stdout, "Warning: Flow's Send HTTP request action needs the Grow, Advanced or Plus plan; this shop is on %s.\n", shop.Plan)
	}

	results, err := c.EnsureMetafieldDefinitions(ctx, defs)
	printResults(stdout, results)
	if err != nil {
		return err
	}
	var created, present, bad int
	for _, r := range results {
		switch {
		case r.Status == Created:
			created++
		case r.Status == Present:
			present++
		default:
			bad++
		}
	}
	fmt.Fprintf(stdout, "Done: %d created, %d already present, %d need attention.\n", created, present, bad)
	if bad > 0 {
		return problem.Newf(problem.Rejected, "setup_incomplete",
			"%d metafield definition(s) need attention; see the fixes above", bad)
	}
	return nil
}

func printResults(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range results {
		id := ""
		if r.Found != nil {
			id = r.Found.ID
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Status, r.Ref(), r.Want.Type, id)
	}
	_ = tw.Flush()
	for _, r := range results {
		if r.OK() {
			continue
		}
		fmt.Fprintf(w, "  %s: %s\n    fix: %s\n", r.Ref(), r.Problem, r.Fix)
	}
}

// IsAuth reports whether err means the token or its scopes are wrong, the
// failures a merchant fixes in the Shopify admin rather than by waiting.
func IsAuth(err error) bool {
	var pe *problem.Error
	return errors.As(err, &pe) && pe.Kind == problem.Unauthorized
}
