package adminschema

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// The checked-in SDL is exactly what the prune script makes of the pinned
// package. The package comes from npm (scripts/test fetches it once and
// names it in FLOWBRIDGE_DEV_MCP_TGZ; without that the test fetches it into
// the user cache). It fails, never skips, when the package cannot be had.
func TestCheckedInMatchesPackage(t *testing.T) {
	p, err := FetchPackage(context.Background(), "")
	if err != nil {
		t.Fatalf("%v (scripts/test fetches it with npm; or set %s)", err, PackageEnv)
	}
	want, err := SDLFromPackage(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal([]byte(SDL()), want) {
		t.Fatalf("%s differs from %s@%s %s: run go run ./internal/adminschema/prune", SDLFile, PackageName, PackageVersion, dataFile)
	}
}

func TestFetchPackageRefusesAnotherTarball(t *testing.T) {
	p := t.TempDir() + "/other.tgz"
	if err := os.WriteFile(p, []byte("not the package"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PackageEnv, p)
	if _, err := FetchPackage(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "integrity") {
		t.Fatalf("err = %v, want an integrity error", err)
	}
}

func TestValidate(t *testing.T) {
	s := mustLoad(t)
	for _, tc := range []struct {
		name, doc, wantErr string
	}{
		{"shop", `{ shop { name currencyCode plan { publicDisplayName } } }`, ""},
		{"unknown field", `{ shop { currency } }`, `Cannot query field "currency" on type "Shop"`},
		{"enum needs no selection", `{ shop { currencyCode { code } } }`, `must not have a selection`},
		{"required argument", `{ metafieldDefinitions(first: 1) { nodes { id } } }`, `ownerType`},
		{"fulfillmentCreate", `mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { fulfillment { id status } userErrors { field message } } }`, ""},
		{"V2 argument name", `mutation($f: FulfillmentInput!) { fulfillmentCreate(input: $f) { fulfillment { id } } }`, `Unknown argument "input"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Validate(tc.doc)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCoerceInput(t *testing.T) {
	s := mustLoad(t)
	for _, tc := range []struct {
		name, typ, value, wantErr string
	}{
		{"fulfillment", "FulfillmentInput!", `{"notifyCustomer":true,"trackingInfo":{"company":"GLS","numbers":["1","2"],"urls":["https://t/1","https://t/2"]},
			"lineItemsByFulfillmentOrder":[{"fulfillmentOrderId":"gid://shopify/FulfillmentOrder/1"}]}`, ""},
		{"missing required", "FulfillmentInput!", `{"notifyCustomer":true}`, "lineItemsByFulfillmentOrder: Expected value to not be null"},
		{"null for required", "FulfillmentInput!", `null`, "Expected value to not be null"},
		{"unknown field", "FulfillmentInput!", `{"lineItemsByFulfillmentOrder":[],"trackingNumber":"1"}`, "trackingNumber: Field is not defined on FulfillmentInput"},
		{"nested unknown", "FulfillmentInput!", `{"lineItemsByFulfillmentOrder":[{"id":"x"}]}`, "lineItemsByFulfillmentOrder.0.id: Field is not defined"},
		{"bool as string", "FulfillmentInput!", `{"lineItemsByFulfillmentOrder":[],"notifyCustomer":"true"}`, "notifyCustomer: Could not coerce"},
		{"int fraction", "FulfillmentOrderLineItemInput!", `{"id":"gid://shopify/FulfillmentOrderLineItem/1","quantity":1.5}`, "quantity: Could not coerce"},
		{"int ok", "FulfillmentOrderLineItemInput!", `{"id":"gid://shopify/FulfillmentOrderLineItem/1","quantity":2}`, ""},
		{"enum case", "MetafieldDefinitionInput!", `{"name":"n","key":"kk","type":"json","ownerType":"order"}`, "ownerType: Expected \"order\" to be one of"},
		{"enum ok", "MetafieldDefinitionInput!", `{"name":"n","key":"kk","type":"json","ownerType":"ORDER"}`, ""},
		{"single value as list", "[ID!]", `"gid://shopify/Order/1"`, ""},
		{"unknown type", "NoSuchInput", `{}`, "unknown type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CoerceInput(tc.typ, decode(t, tc.value))
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestOperationCoercesVariables(t *testing.T) {
	s := mustLoad(t)
	doc := `query Defs($ownerType: MetafieldOwnerType!, $first: Int!, $after: String) {
	  metafieldDefinitions(ownerType: $ownerType, first: $first, after: $after) { nodes { id } } }`
	if _, vars, err := s.Operation(doc, "Defs", map[string]any{"ownerType": "ORDER", "first": float64(50)}); err != nil || vars["first"] != float64(50) {
		t.Fatalf("vars %v, err %v", vars, err)
	}
	_, _, err := s.Operation(doc, "", map[string]any{"ownerType": "ORDERS", "first": float64(50)})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Variable != "ownerType" {
		t.Fatalf("err = %v, want an InputError on ownerType", err)
	}
	if _, _, err := s.Operation(doc, "", map[string]any{"ownerType": "ORDER"}); err == nil {
		t.Fatal("missing non-null $first accepted")
	}
	if _, _, err := s.Operation(doc, "", map[string]any{"ownerType": "ORDER", "first": 1, "extra": 1}); err == nil {
		t.Fatal("undefined variable accepted")
	}
}

func TestPath(t *testing.T) {
	s := mustLoad(t)
	for _, tc := range []struct {
		root, path, leaf, wantErr string
		list                      bool
	}{
		{"Order", "lineItems.currentQuantity", "Int", "", true},
		{"Order", "lineItems.variant.barcode", "String", "", true},
		{"Order", "shippingAddress.countryCodeV2", "CountryCode", "", false},
		{"Order", "fulfillmentOrders.assignedLocation.location.id", "ID", "", true},
		{"Order", "displayFulfillmentStatus", "OrderDisplayFulfillmentStatus", "", false},
		{"Order", "lineItems.barcode", "", `LineItem has no field "barcode"`, false},
		{"Order", "name.first", "", "has no fields", false},
	} {
		fields, err := s.Path(tc.root, tc.path)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", tc.path, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		leaf := fields[len(fields)-1]
		if leaf.Type.NamedType != tc.leaf || leaf.List != tc.list {
			t.Errorf("%s: leaf %s list %v, want %s list %v", tc.path, leaf.Type.NamedType, leaf.List, tc.leaf, tc.list)
		}
	}
}

func TestCheckData(t *testing.T) {
	s := mustLoad(t)
	op, _, err := s.Operation(`{ shop { name currencyCode plan { publicDisplayName } } }`, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]any{"shop": map[string]any{"name": "S", "currencyCode": "EUR", "plan": map[string]any{"publicDisplayName": "Grow"}}}
	if err := s.CheckData(op, ok); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]map[string]any{
		"enum":     {"shop": map[string]any{"name": "S", "currencyCode": "euro", "plan": map[string]any{"publicDisplayName": "Grow"}}},
		"non-null": {"shop": map[string]any{"name": nil, "currencyCode": "EUR", "plan": map[string]any{"publicDisplayName": "Grow"}}},
		"missing":  {"shop": map[string]any{"name": "S", "plan": map[string]any{"publicDisplayName": "Grow"}}},
	} {
		if err := s.CheckData(op, data); err == nil {
			t.Errorf("%s: bad answer accepted", name)
		}
	}
}

func TestRequiredAccessAndDeprecation(t *testing.T) {
	s := mustLoad(t)
	fc := s.AST.Mutation.Fields.ForName("fulfillmentCreate")
	if a := RequiredAccess(fc); !strings.Contains(a, "write_merchant_managed_fulfillment_orders") {
		t.Errorf("fulfillmentCreate access %q", a)
	}
	if d := Deprecation(s.AST.Types["ShopPlan"].Fields.ForName("displayName")); d == "" {
		t.Error("ShopPlan.displayName not deprecated")
	}
	if d := Deprecation(s.AST.Mutation.Fields.ForName("fulfillmentCreate")); d != "" {
		t.Errorf("fulfillmentCreate deprecated: %s", d)
	}
}
