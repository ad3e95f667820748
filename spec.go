// Package flowbridge is the root of the flowbridge module. It only embeds
// the OpenAPI document so the binary serves exactly the committed contract.
package flowbridge

import _ "embed"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the service's OpenAPI document (openapi.yaml).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
