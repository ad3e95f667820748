package bigbuy

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/carrierlink"
)

// createCodes is THE table from the Shipping API's service names to the
// carrier codes the Order API takes in carriers[{name}]. BigBuy's guide
// lists the codes (chrono, correos, gls, ups, dhl, tnt, seur,
// correosinternational) and warns that they "do not correspond to the
// names of the Shipping API". Keys are folded names (lower case, letters
// and digits only); a code maps to itself, so rate ids stored before this
// table existed keep working. Assumption: the service names are the
// carriers' own names ("GLS", "Chrono", "Correos Internacional"); an
// unlisted name has no code and is not offered.
var createCodes = map[string]string{
	"chrono": "chrono", "chronopost": "chrono", "chronoexpress": "chrono",
	"correos":              "correos",
	"gls":                  "gls",
	"ups":                  "ups",
	"dhl":                  "dhl",
	"tnt":                  "tnt",
	"seur":                 "seur",
	"correosinternational": "correosinternational", "correosinternacional": "correosinternational",
}

// createCode maps a shipping option's name (or a rate id) to its code.
func createCode(name string) (string, bool) {
	code, ok := createCodes[carrierlink.Fold(name)]
	return code, ok
}

// lookups caches BigBuy's reference lists: tracking carriers (id → name)
// and order statuses (id → name). They change rarely; each is fetched at
// most once per lookupTTL and, after a failure, not again before
// lookupRetry (the calls share the 1 req/s budgets).
type lookups struct {
	mu       sync.Mutex
	carriers cached
	statuses cached
}

type cached struct {
	names   map[string]string
	at      time.Time
	retryAt time.Time
}

const (
	lookupTTL   = 24 * time.Hour
	lookupRetry = 5 * time.Minute
)

// name resolves id in the list at path, fetching it when stale.
func (c *Client) lookupName(ctx context.Context, which *cached, path, id string) string {
	c.look.mu.Lock()
	defer c.look.mu.Unlock()
	now := c.now()
	if which.names == nil || now.Sub(which.at) > lookupTTL {
		if now.Before(which.retryAt) {
			return which.names[id]
		}
		names, err := c.fetchNames(ctx, path)
		if err != nil {
			c.log.Warn("bigbuy: reference list not available", "list", operation(path), "error", err)
			which.retryAt = now.Add(lookupRetry)
			return which.names[id]
		}
		which.names, which.at = names, now
	}
	return which.names[id]
}

// fetchNames reads a [{id, name}] list (ids as strings or numbers).
func (c *Client) fetchNames(ctx context.Context, path string) (map[string]string, error) {
	r, err := c.send(supplier.Retryable(ctx), c.base, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, c.transportProblem(ctx, err)
	}
	if f := parseFault(r); f != nil {
		return nil, c.toProblem(f, errCtx{op: opRead})
	}
	var list []struct {
		ID   json.RawMessage `json:"id"`
		Name string          `json:"name"`
	}
	if err := decode(r, "reference list", &list); err != nil {
		return nil, err
	}
	names := make(map[string]string, len(list))
	for _, e := range list {
		if id := idString(e.ID); id != "" && strings.TrimSpace(e.Name) != "" {
			names[id] = strings.TrimSpace(e.Name)
		}
	}
	if len(names) == 0 {
		return nil, problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "BigBuy answered an empty reference list")
	}
	return names, nil
}

// carrierName is the name of a tracking carrier id.
func (c *Client) carrierName(ctx context.Context, id string) string {
	return c.lookupName(ctx, &c.look.carriers, "/rest/tracking/carriers.json", id)
}

// statusName resolves an order status given as an id.
func (c *Client) statusName(ctx context.Context, id string) string {
	return c.lookupName(ctx, &c.look.statuses, "/rest/order/orderstatuses.json", id)
}
