package flowsim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// A real .flow export stores each Condition as a JSON tree rather than the
// DSL string Shopify's API accepts (reference/flow.md §5.2, from a real
// export): inner nodes {uuid, lhs, rhs, operator: "AND"|"OR",
// operation_type: "LogicalExpression"}, comparisons {lhs, rhs, operator,
// operation_type: "Comparison", value_type}, leaves {value,
// comparison_value_type: "EnvironmentValue" (+ full_environment_path) or
// "LiteralValue"}, and list tests {operator: "ANY"|"ALL"|"NONE",
// operation_type: "ArrayExpression", array_path, array_item_key} whose
// inner test sits in lhs (the list node's exact shape is not in the export
// we have: assumed). ConditionDSL turns such a tree into the DSL so one
// evaluator serves both forms.
type condNode struct {
	LHS                 *condNode `json:"lhs"`
	RHS                 *condNode `json:"rhs"`
	Operator            string    `json:"operator"`
	OperationType       string    `json:"operation_type"`
	ValueType           string    `json:"value_type"`
	Value               any       `json:"value"`
	ComparisonValueType string    `json:"comparison_value_type"`
	FullEnvironmentPath string    `json:"full_environment_path"`
	ArrayPath           string    `json:"array_path"`
	ArrayItemKey        string    `json:"array_item_key"`
}

// ConditionDSL returns the DSL form of a Condition's config value: the
// value itself when it is DSL, the translation when it is an export's
// JSON tree.
func ConditionDSL(value string) (string, error) {
	v := strings.TrimSpace(value)
	if !strings.HasPrefix(v, "{") {
		return value, nil
	}
	var n condNode
	if err := json.Unmarshal([]byte(v), &n); err != nil {
		return "", fmt.Errorf("condition: JSON tree: %w", err)
	}
	return n.dsl("")
}

var unaryOps = map[string]bool{"nil?": true, "not_nil?": true, "empty_or_nil?": true, "not_empty_and_not_nil?": true}

func (n *condNode) dsl(valueType string) (string, error) {
	if n == nil {
		return "", fmt.Errorf("condition: JSON tree: missing operand")
	}
	switch n.OperationType {
	case "LogicalExpression":
		op := map[string]string{"AND": "&&", "OR": "||", "&&": "&&", "||": "||"}[strings.ToUpper(n.Operator)]
		if op == "" {
			return "", fmt.Errorf("condition: JSON tree: unknown logical operator %q", n.Operator)
		}
		l, err := n.LHS.dsl("")
		if err != nil {
			return "", err
		}
		if n.RHS == nil {
			return l, nil
		}
		r, err := n.RHS.dsl("")
		if err != nil {
			return "", err
		}
		return "(" + l + " " + op + " " + r + ")", nil
	case "ArrayExpression":
		op := strings.ToLower(n.Operator) + "?"
		if op != "any?" && op != "all?" && op != "none?" {
			return "", fmt.Errorf("condition: JSON tree: unknown list operator %q", n.Operator)
		}
		if n.ArrayPath == "" || n.ArrayItemKey == "" {
			return "", fmt.Errorf("condition: JSON tree: list test without array_path/array_item_key")
		}
		inner, err := n.LHS.dsl("")
		if err != nil {
			return "", err
		}
		return "(" + n.ArrayPath + " " + op + " |" + n.ArrayItemKey + "| " + inner + ")", nil
	case "Comparison":
		l, err := n.LHS.dsl(n.ValueType)
		if err != nil {
			return "", err
		}
		if unaryOps[n.Operator] {
			return "(" + l + " " + n.Operator + ")", nil
		}
		r, err := n.RHS.dsl(n.ValueType)
		if err != nil {
			return "", err
		}
		return "(" + l + " " + n.Operator + " " + r + ")", nil
	}
	switch n.ComparisonValueType {
	case "EnvironmentValue":
		if n.FullEnvironmentPath != "" {
			return n.FullEnvironmentPath, nil
		}
		if s, ok := n.Value.(string); ok && s != "" {
			return s, nil
		}
		return "", fmt.Errorf("condition: JSON tree: environment value without a path")
	case "LiteralValue":
		return literal(n.Value, valueType), nil
	}
	return "", fmt.Errorf("condition: JSON tree: node with operation_type %q and comparison_value_type %q", n.OperationType, n.ComparisonValueType)
}

// literal writes a literal in the DSL: numbers and booleans bare, anything
// typed as a string, enum, date or id quoted.
func literal(v any, valueType string) string {
	kind := valueType
	if i := strings.LastIndexByte(valueType, ':'); i >= 0 {
		kind = valueType[i+1:]
	}
	enumOrString := strings.Contains(valueType, "Enum") || kind == "String" || kind == "ID" || kind == "DateTime" || kind == "URL"
	switch x := v.(type) {
	case bool:
		if !enumOrString {
			return fmt.Sprint(x)
		}
	case float64:
		if !enumOrString {
			return fmt.Sprint(x)
		}
	case string:
		if !enumOrString && (kind == "Boolean" || kind == "Int" || kind == "Float" || kind == "Decimal" || kind == "Money") {
			return x
		}
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	}
	return "'" + strings.ReplaceAll(fmt.Sprint(v), "'", `\'`) + "'"
}
