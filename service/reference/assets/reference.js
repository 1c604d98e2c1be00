// Starts Swagger UI on the service's own OpenAPI document. A file rather than an inline script,
// so that a Content-Security-Policy of script-src 'self' keeps the page working.
const root = document.getElementById("reference");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#reference",
  // The default sends the document to an outside validator service; the page must work offline.
  validatorUrl: null,
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  displayOperationId: false,
  displayRequestDuration: true,
  persistAuthorization: true,
  filter: true,
});
