// Starts Swagger UI on the docs variant of the spec (no servers list, so
// "Try it out" calls this service; Liquid templates shown in each
// operation). Kept in a file so the page's CSP needs no inline script.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/docs/openapi.json",
  dom_id: "#ui",
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  defaultModelExpandDepth: 3,
  showExtensions: false,
  showCommonExtensions: true,
  displayRequestDuration: true,
  tryItOutEnabled: false,
  persistAuthorization: false,
  requestSnippetsEnabled: true,
  validatorUrl: null,
  withCredentials: false,
});
