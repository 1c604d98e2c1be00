"""The API reference the service serves about itself: the Swagger UI page over /docs/openapi.json
(its scripts and styles served from this package, so it renders with no internet access) and the
error reference generated from the one catalog of error codes."""
