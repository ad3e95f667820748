// Package shopifytest is a fake Shopify Admin GraphQL API for tests: an
// httptest server that speaks the wire format (POST
// /admin/api/{version}/graphql.json, X-Shopify-Access-Token, the
// {"data","errors","extensions":{"cost"}} envelope, userErrors, THROTTLED,
// HTTP 401/403/429) and keeps order metafield definitions in memory.
//
// Every request's document is validated against Shopify's real Admin schema
// (internal/adminschema, API 2026-01) and its variables are coerced against
// the real input types, so tests catch documents and inputs Shopify would
// refuse. Root fields are answered by resolvers: the built-in ones (shop,
// metafield definitions, orders and their fulfillment orders,
// fulfillmentCreate) and any a test registers with Handle. Answers are
// projected onto the request's selection set and checked against the schema
// too, so a fixture cannot say what Shopify never would.
package shopifytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/flowbridge/flowbridge/internal/adminschema"
)

// Definition is a stored metafield definition.
type Definition struct {
	ID, Name, Namespace, Key, Type, Description, OwnerType string
}

// Throttle describes a THROTTLED answer's cost figures.
type Throttle struct {
	Requested, Maximum, Available, RestoreRate float64
}

// Fault replaces the normal answer to one request.
type Fault struct {
	// Status answers with this HTTP status and Shopify's body for it
	// (401, 402, 403, 404, 423, 429, 5xx).
	Status int
	// RetryAfter is sent with Status 429.
	RetryAfter string
	// Throttled answers 200 with errors[].extensions.code THROTTLED and these
	// cost figures (or 429 with the same body when Status is 429).
	Throttled *Throttle
	// Applied makes the request take effect before the fault replaces its
	// answer: the outcome the client sees is unknown (a 5xx or timeout
	// after Shopify committed the mutation). Applied with no Status and no
	// Throttled only delays the normal answer (see Hold).
	Applied bool
	// Hold, when set, blocks the request (after it took effect, with
	// Applied) until the channel is closed, without holding the server's
	// lock, so tests can line up concurrent calls without sleeping.
	Hold <-chan struct{}
	// Reached, when set, is closed as the request starts waiting on Hold.
	Reached chan struct{}
}

// Request is one request as the server understood it.
type Request struct {
	Token     string
	Path      string
	Operation string   // "query" or "mutation"
	Fields    []string // root fields asked for
	Variables map[string]any
	Fault     *Fault // the fault it was answered with, if any
}

// Server is the fake Admin API. Configure it before use; the methods are
// safe for concurrent use.
type Server struct {
	*httptest.Server
	t      testing.TB
	schema *adminschema.Schema

	mu          sync.Mutex
	token       string
	version     string
	shopName    string
	domain      string
	plan        string
	scopes      map[string]bool
	defs        []Definition
	nextID      int
	faults      []Fault
	fieldFaults map[string][]Fault
	createFault map[string]UserError
	raceCreate  map[string]Definition
	requests    []Request
	resolvers   map[string]Resolver
	orders      map[string]*Order
	orderIDs    []string
	nextFulfil  int
	now         func() time.Time
}

// Resolver answers one root field. args are the field's arguments with
// variables substituted and coerced. It returns the value (maps, lists and
// scalars; projected onto the selection and checked against the schema by
// the server) or an error that goes into the response's errors list.
// Resolvers run with the server's lock held: use the *Locked helpers only.
type Resolver func(args map[string]any) (any, *Error)

// Error is one GraphQL error entry of a response.
type Error struct {
	Message    string
	Extensions map[string]any
}

// Handle registers (or replaces) the resolver of a root query or mutation
// field. The field must exist in the real schema.
func (s *Server) Handle(field string, r Resolver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schema.AST.Query.Fields.ForName(field) == nil && s.schema.AST.Mutation.Fields.ForName(field) == nil {
		s.t.Fatalf("shopifytest: Handle(%q): no such root field in the Admin schema", field)
	}
	s.resolvers[field] = r
}

// UserError is a scripted metafieldDefinitionCreate userError.
type UserError struct {
	Code, Message string
	Field         []string
}

// New starts a fake shop accepting token, serving API version version.
// It has the read_orders and write_orders scopes and no definitions.
func New(t testing.TB, token, version string) *Server {
	t.Helper()
	s := &Server{
		t: t, token: token, version: version,
		shopName: "Example Shop", domain: "example.myshopify.com", plan: "Grow",
		scopes:      map[string]bool{"read_orders": true, "write_orders": true},
		nextID:      1000,
		createFault: map[string]UserError{},
		raceCreate:  map[string]Definition{},
		orders:      map[string]*Order{},
	}
	schema, err := adminschema.Load()
	if err != nil {
		t.Fatalf("shopifytest: schema: %v", err)
	}
	s.schema = schema
	s.resolvers = map[string]Resolver{
		"shop":                      func(map[string]any) (any, *Error) { return s.shopValue(), nil },
		"metafieldDefinitions":      s.listDefinitions,
		"metafieldDefinitionCreate": s.createDefinition,
		"order":                     s.orderField,
		"fulfillmentOrder":          s.fulfillmentOrderField,
		"fulfillmentCreate":         s.fulfillmentCreate,
		"currentAppInstallation":    s.appInstallation,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetShop sets the shop's name, domain and plan display name.
func (s *Server) SetShop(name, domain, plan string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shopName, s.domain, s.plan = name, domain, plan
}

// SetScopes replaces the token's access scopes.
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = map[string]bool{}
	for _, sc := range scopes {
		s.scopes[sc] = true
	}
}

// AddDefinition stores a definition (ownerType ORDER when empty).
func (s *Server) AddDefinition(d Definition) Definition {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(d)
}

func (s *Server) add(d Definition) Definition {
	if d.OwnerType == "" {
		d.OwnerType = "ORDER"
	}
	if d.ID == "" {
		s.nextID++
		d.ID = "gid://shopify/MetafieldDefinition/" + strconv.Itoa(s.nextID)
	}
	if d.Name == "" {
		d.Name = d.Key
	}
	s.defs = append(s.defs, d)
	return d
}

// Definitions returns the stored definitions.
func (s *Server) Definitions() []Definition {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.defs)
}

// Enqueue makes the next requests answer with these faults, one each.
func (s *Server) Enqueue(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// EnqueueFor makes the next requests that ask for the root field answer
// with these faults, one each (before any Enqueue'd fault).
func (s *Server) EnqueueFor(field string, f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fieldFaults == nil {
		s.fieldFaults = map[string][]Fault{}
	}
	s.fieldFaults[field] = append(s.fieldFaults[field], f...)
}

// FailCreate makes metafieldDefinitionCreate for namespace.key answer this
// userError (and create nothing).
func (s *Server) FailCreate(ref string, ue UserError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.createFault[ref] = ue
}

// RaceCreate makes the create of ref behave as if another client created d
// an instant earlier: d is stored and the create answers TAKEN.
func (s *Server) RaceCreate(ref string, d Definition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raceCreate[ref] = d
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count returns how many requests asked for the root field name.
func (s *Server) Count(field string) int {
	n := 0
	for _, r := range s.Requests() {
		if slices.Contains(r.Fields, field) && r.Fault == nil {
			n++
		}
	}
	return n
}

var pathRE = regexp.MustCompile(`^/admin/api/([0-9]{4}-[0-9]{2}|unstable)/graphql\.json$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Token: r.Header.Get("X-Shopify-Access-Token"), Path: r.URL.Path}
	defer func() { s.requests = append(s.requests, req) }()

	m := pathRE.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodPost || m == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
		return
	}
	if m[1] != s.version {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
		return
	}
	if req.Token != s.token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"errors": "Unsupported Media Type"})
		return
	}
	var body struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": "Bad Request: invalid JSON"})
		return
	}
	req.Variables = body.Variables

	op, vars, err := s.schema.Operation(body.Query, body.OperationName, body.Variables)
	if err != nil {
		// A document or input Shopify would refuse is a bug in the code
		// under test, whatever the test goes on to check.
		s.t.Errorf("shopifytest: Shopify would refuse this request: %v\n%s\nvariables: %v", err, body.Query, body.Variables)
		writeJSON(w, http.StatusOK, map[string]any{"errors": gqlErrors(err.Error())})
		return
	}
	req.Operation = string(op.Operation)
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			req.Fields = append(req.Fields, f.Name)
		}
	}

	var applied *Fault
	var fault *Fault
	for _, name := range req.Fields {
		if q := s.fieldFaults[name]; len(q) > 0 {
			f := q[0]
			s.fieldFaults[name] = q[1:]
			fault = &f
			break
		}
	}
	if fault == nil && len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	}
	if fault != nil {
		f := *fault
		req.Fault = &f
		if !f.Applied {
			s.hold(f)
			s.writeFault(w, f)
			return
		}
		applied = &f
	}
	if applied != nil {
		real := w
		fw := &faultWriter{header: http.Header{}}
		w = fw
		defer func() {
			s.hold(*applied)
			if applied.Status == 0 && applied.Throttled == nil {
				fw.flush(real) // only held: the normal answer, late
				return
			}
			s.writeFault(real, *applied) // the answer is lost; the effect stays
		}()
	}

	data := map[string]any{}
	var gerrs []map[string]any
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		args := f.ArgumentMap(vars)
		alias := f.Alias
		if alias == "" {
			alias = f.Name
		}
		if f.Name == "__typename" {
			data[alias] = rootName(op)
			continue
		}
		var val any
		var e *Error
		if r := s.resolvers[f.Name]; r != nil {
			val, e = r(args)
		} else {
			s.t.Errorf("shopifytest: root field %s has no resolver (register one with Handle)", f.Name)
			e = &Error{Message: "field " + f.Name + " is not faked"}
		}
		if e != nil {
			m := map[string]any{"message": e.Message, "path": []any{alias}}
			if e.Extensions != nil {
				m["extensions"] = e.Extensions
			}
			gerrs = append(gerrs, m)
			data[alias] = nil
			continue
		}
		def := s.schema.AST.Query
		if op.Operation == ast.Mutation {
			def = s.schema.AST.Mutation
		}
		data[alias] = s.project(s.schema.AST.Types[def.Fields.ForName(f.Name).Type.Name()], val, f.SelectionSet)
	}
	if len(gerrs) == 0 {
		// Check the answer as the client will read it: as JSON.
		var wire map[string]any
		b, _ := json.Marshal(data)
		_ = json.Unmarshal(b, &wire)
		if err := s.schema.CheckData(op, wire); err != nil {
			s.t.Errorf("shopifytest: the fake's answer is not one Shopify could give: %v", err)
		}
	}
	out := map[string]any{"data": data, "extensions": costExtension(10, 1000, 990, 100)}
	if len(gerrs) > 0 {
		out["errors"] = gerrs
	}
	writeJSON(w, http.StatusOK, out)
}

// hold waits for f.Hold with the server's lock released.
func (s *Server) hold(f Fault) {
	if f.Hold == nil {
		return
	}
	if f.Reached != nil {
		close(f.Reached)
	}
	s.mu.Unlock()
	<-f.Hold
	s.mu.Lock()
}

// faultWriter keeps the normal answer of an Applied fault.
type faultWriter struct {
	header http.Header
	status int
	body   []byte
}

func (f *faultWriter) Header() http.Header         { return f.header }
func (f *faultWriter) WriteHeader(status int)      { f.status = status }
func (f *faultWriter) Write(b []byte) (int, error) { f.body = append(f.body, b...); return len(b), nil }

func (f *faultWriter) flush(w http.ResponseWriter) {
	for k, v := range f.header {
		w.Header()[k] = v
	}
	if f.status == 0 {
		f.status = http.StatusOK
	}
	w.WriteHeader(f.status)
	_, _ = w.Write(f.body)
}

func (s *Server) writeFault(w http.ResponseWriter, f Fault) {
	if f.Throttled != nil {
		th := f.Throttled
		body := map[string]any{
			"errors": []any{map[string]any{
				"message":    "Throttled",
				"extensions": map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
			}},
			"extensions": map[string]any{"cost": map[string]any{
				"requestedQueryCost": th.Requested,
				"actualQueryCost":    nil,
				"throttleStatus": map[string]any{
					"maximumAvailable": th.Maximum, "currentlyAvailable": th.Available, "restoreRate": th.RestoreRate,
				},
			}},
		}
		status := http.StatusOK
		if f.Status == http.StatusTooManyRequests {
			status = f.Status
		}
		writeJSON(w, status, body)
		return
	}
	switch f.Status {
	case http.StatusUnauthorized:
		writeJSON(w, f.Status, map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
	case http.StatusForbidden:
		writeJSON(w, f.Status, map[string]any{"errors": "[API] This action requires merchant approval for write_orders scope."})
	case http.StatusTooManyRequests:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeJSON(w, f.Status, map[string]any{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."})
	case http.StatusPaymentRequired:
		writeJSON(w, f.Status, map[string]any{"errors": "Unavailable Shop"})
	default:
		writeJSON(w, f.Status, map[string]any{"errors": http.StatusText(f.Status)})
	}
}

func (s *Server) shopValue() map[string]any {
	return map[string]any{
		"id": "gid://shopify/Shop/1", "name": s.shopName, "email": "owner@example.com",
		"myshopifyDomain": s.domain, "currencyCode": "EUR",
		"plan": map[string]any{
			"publicDisplayName": s.plan, "displayName": s.plan,
			"shopifyPlus":        s.plan == "Plus",
			"partnerDevelopment": s.plan == "Development",
		},
	}
}

func (s *Server) appInstallation(map[string]any) (any, *Error) {
	names := make([]string, 0, len(s.scopes))
	for sc := range s.scopes {
		names = append(names, sc)
	}
	slices.Sort(names)
	list := make([]any, len(names))
	for i, n := range names {
		list[i] = map[string]any{"handle": n, "description": n}
	}
	return map[string]any{"id": "gid://shopify/AppInstallation/1", "accessScopes": list}, nil
}

func accessDenied(field, scope string) *Error {
	return &Error{
		Message: fmt.Sprintf("Access denied for %s field. Required access: `%s` access scope.", field, scope),
		Extensions: map[string]any{
			"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes",
			"requiredAccess": "`" + scope + "` access scope.",
		},
	}
}

func (s *Server) listDefinitions(args map[string]any) (any, *Error) {
	owner, _ := args["ownerType"].(string)
	if owner == "ORDER" && !s.scopes["read_orders"] {
		return nil, accessDenied("metafieldDefinitions", "read_orders")
	}
	ns, _ := args["namespace"].(string)
	key, _ := args["key"].(string)
	var match []Definition
	for _, d := range s.defs {
		if d.OwnerType != owner || (ns != "" && d.Namespace != ns) || (key != "" && d.Key != key) {
			continue
		}
		match = append(match, d)
	}
	start := 0
	if after, ok := args["after"].(string); ok && after != "" {
		n, err := strconv.Atoi(after)
		if err != nil {
			return nil, &Error{Message: "Invalid cursor for current pagination sort."}
		}
		start = n + 1
	}
	first := -1
	switch f := args["first"].(type) {
	case int64:
		first = int(f)
	case int:
		first = f
	case float64:
		first = int(f)
	case json.Number:
		n, _ := f.Int64()
		first = int(n)
	}
	if first < 0 {
		return nil, &Error{Message: "you must provide one of first or last"}
	}
	if first > 250 {
		return nil, &Error{Message: "The page size of the connection can not exceed 250 records."}
	}
	end := min(start+first, len(match))
	start = min(start, end)
	nodes := make([]any, 0, end-start)
	edges := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		n := defValue(match[i])
		nodes = append(nodes, n)
		edges = append(edges, map[string]any{"cursor": strconv.Itoa(i), "node": n})
	}
	pi := map[string]any{"hasNextPage": end < len(match), "hasPreviousPage": start > 0, "startCursor": nil, "endCursor": nil}
	if end > start {
		pi["startCursor"] = strconv.Itoa(start)
		pi["endCursor"] = strconv.Itoa(end - 1)
	}
	return map[string]any{"nodes": nodes, "edges": edges, "pageInfo": pi}, nil
}

func defValue(d Definition) map[string]any {
	var desc any
	if d.Description != "" {
		desc = d.Description
	}
	return map[string]any{
		"id": d.ID, "name": d.Name, "namespace": d.Namespace, "key": d.Key, "description": desc,
		"ownerType": d.OwnerType, "type": map[string]any{"name": d.Type, "category": "TEXT"},
		"metafieldsCount": 0, "pinnedPosition": nil,
	}
}

var (
	nsRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{3,255}$`)
	keyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{2,64}$`)
)

func (s *Server) createDefinition(args map[string]any) (any, *Error) {
	in, _ := args["definition"].(map[string]any)
	str := func(k string) string { v, _ := in[k].(string); return v }
	d := Definition{Name: str("name"), Namespace: str("namespace"), Key: str("key"), Type: str("type"),
		OwnerType: str("ownerType"), Description: str("description")}
	if d.OwnerType == "ORDER" && !s.scopes["write_orders"] {
		return nil, accessDenied("metafieldDefinitionCreate", "write_orders")
	}
	payload := func(created any, ues ...map[string]any) map[string]any {
		list := make([]any, 0, len(ues))
		for _, u := range ues {
			list = append(list, u)
		}
		return map[string]any{"createdDefinition": created, "userErrors": list}
	}
	ue := func(code, msg string, field ...string) map[string]any {
		return map[string]any{"code": code, "message": msg, "field": append([]string{"definition"}, field...), "elementIndex": nil}
	}
	ref := d.Namespace + "." + d.Key
	if f, ok := s.createFault[ref]; ok {
		return payload(nil, map[string]any{"code": f.Code, "message": f.Message, "field": f.Field, "elementIndex": nil}), nil
	}
	if race, ok := s.raceCreate[ref]; ok {
		delete(s.raceCreate, ref)
		s.add(race)
	}
	if !nsRE.MatchString(d.Namespace) {
		return payload(nil, ue("INVALID", "Namespace must be 3-255 characters of letters, numbers, hyphens and underscores.", "namespace")), nil
	}
	if !keyRE.MatchString(d.Key) {
		return payload(nil, ue("INVALID", "Key must be 2-64 characters of letters, numbers, hyphens and underscores.", "key")), nil
	}
	if d.Type != "single_line_text_field" && d.Type != "multi_line_text_field" && d.Type != "number_integer" && d.Type != "json" {
		return payload(nil, ue("INCLUSION", "Type is not included in the list", "type")), nil
	}
	for _, have := range s.defs {
		if have.OwnerType == d.OwnerType && have.Namespace == d.Namespace && have.Key == d.Key {
			return payload(nil, ue("TAKEN", "Key is in use for Order metafields on the '"+d.Namespace+"' namespace.", "key")), nil
		}
	}
	d = s.add(d)
	return payload(defValue(d)), nil
}

// project keeps only the selected fields of v (maps and lists of maps);
// def is v's type, so __typename answers the real type name (a value may
// name its concrete type under "__typename" for interfaces and unions).
func (s *Server) project(def *ast.Definition, v any, sel ast.SelectionSet) any {
	if len(sel) == 0 || v == nil {
		return v
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.project(def, e, sel)
		}
		return out
	case map[string]any:
		if tn, ok := x["__typename"].(string); ok && s.schema.AST.Types[tn] != nil {
			def = s.schema.AST.Types[tn]
		}
		out := map[string]any{}
		for _, sl := range sel {
			switch f := sl.(type) {
			case *ast.Field:
				name := f.Alias
				if name == "" {
					name = f.Name
				}
				if f.Name == "__typename" {
					out[name] = def.Name
					continue
				}
				var next *ast.Definition
				if def != nil {
					if fd := def.Fields.ForName(f.Name); fd != nil {
						next = s.schema.AST.Types[fd.Type.Name()]
					}
				}
				out[name] = s.project(next, x[f.Name], f.SelectionSet)
			case *ast.InlineFragment:
				if def != nil && f.TypeCondition != "" && f.TypeCondition != def.Name && !s.implements(def, f.TypeCondition) {
					continue
				}
				for k, val := range s.project(def, x, f.SelectionSet).(map[string]any) {
					out[k] = val
				}
			}
		}
		return out
	}
	return v
}

func (s *Server) implements(def *ast.Definition, iface string) bool {
	return slices.Contains(def.Interfaces, iface)
}

func rootName(op *ast.OperationDefinition) string {
	if op.Operation == ast.Mutation {
		return "Mutation"
	}
	return "QueryRoot"
}

func costExtension(requested, maximum, available, restore float64) map[string]any {
	return map[string]any{"cost": map[string]any{
		"requestedQueryCost": requested, "actualQueryCost": requested,
		"throttleStatus": map[string]any{"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": restore},
	}}
}

func gqlErrors(msg string) []any {
	return []any{map[string]any{"message": msg, "extensions": map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
