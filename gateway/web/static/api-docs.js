// Starts Swagger UI (served by the gateway itself) on the OpenAPI document the page names.
// No validator badge: Swagger UI would ask validator.swagger.io, another host.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
  });
});
