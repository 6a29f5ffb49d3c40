// Starts Swagger UI (served by the gateway itself) on the OpenAPI document the page names.
// No validator badge: Swagger UI would ask validator.swagger.io, another host. No deep links:
// Swagger UI puts them inside the button that opens an operation (a link in a button is
// unreachable by keyboard and read twice).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: false,
  });
});
