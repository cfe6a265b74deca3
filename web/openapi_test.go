package web

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/touchstone-assess/touchstone/web/auth"
)

// RouteSpec is one route of routes.go as the tests of package web_test see
// it: Roles is nil for a public route and empty for any signed-in user.
type RouteSpec struct {
	Method string
	Path   string
	Roles  []auth.Role
}

// RoutesForTest exports the route list to package web_test (this file is
// compiled only into the test binary), so that tests there can derive cases
// from it and a new route is covered automatically.
func RoutesForTest() []RouteSpec {
	rs := new(Server).routes()
	out := make([]RouteSpec, len(rs))
	for i, r := range rs {
		out[i] = RouteSpec{Method: r.Method, Path: r.Path, Roles: r.Roles}
	}
	return out
}

// loadOpenAPI parses the embedded document and validates it as OpenAPI 3.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPI)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

func TestOpenAPIIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if got, want := doc.OpenAPI, "3.0.3"; got != want {
		t.Errorf("openapi version: got %q, want %q", got, want)
	}
	for _, name := range []string{"bearerAuth", "cookieAuth", "csrfToken"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("security scheme %s: missing", name)
		}
	}
	if s := doc.Components.SecuritySchemes["cookieAuth"]; s != nil && (s.Value.In != "cookie" || s.Value.Name != sessionCookie) {
		t.Errorf("cookieAuth: got %s %q, want cookie %q", s.Value.In, s.Value.Name, sessionCookie)
	}
	if s := doc.Components.SecuritySchemes["csrfToken"]; s != nil && (s.Value.In != "header" || s.Value.Name != csrfHeader) {
		t.Errorf("csrfToken: got %s %q, want header %q", s.Value.In, s.Value.Name, csrfHeader)
	}
	if doc.Components.Schemas["Error"] == nil {
		t.Error("components.schemas.Error: missing")
	}
}

// documented reports whether a route belongs in the OpenAPI document.
func documented(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz"
}

// openAPIPath turns a Fiber path (":id") into an OpenAPI path ("{id}").
func openAPIPath(fiberPath string) string {
	parts := strings.Split(fiberPath, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	return strings.Join(parts, "/")
}

// TestOpenAPIMatchesRoutes checks that the document and routes.go describe
// the same operations, in both directions, with the same roles.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)

	routes := map[string]RouteSpec{}
	for _, r := range RoutesForTest() {
		if documented(r.Path) {
			routes[r.Method+" "+openAPIPath(r.Path)] = r
		}
	}
	ops := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = op
		}
	}

	for _, key := range sortedKeys(routes) {
		if ops[key] == nil {
			t.Errorf("route %s: not in openapi.json", key)
		}
	}
	for _, key := range sortedKeys(ops) {
		r, ok := routes[key]
		if !ok {
			t.Errorf("openapi.json operation %s: no such route", key)
			continue
		}
		checkOperation(t, key, r, ops[key])
	}
}

// checkOperation checks one operation against its route: identity, roles,
// security and the error answers its guard can give.
func checkOperation(t *testing.T, key string, r RouteSpec, op *openapi3.Operation) {
	t.Helper()
	if op.OperationID == "" || op.Summary == "" || len(op.Tags) == 0 {
		t.Errorf("%s: got operationId %q, summary %q, tags %v; want all set", key, op.OperationID, op.Summary, op.Tags)
	}
	if !strings.Contains(op.Description, "Roles: ") {
		t.Errorf("%s: description does not name the roles: %q", key, op.Description)
	}
	if got, want := docRoles(t, key, op), routeRoles(r); got != want {
		t.Errorf("%s: x-roles got %s, want %s (routes.go)", key, got, want)
	}
	changing := r.Method != "GET" && r.Method != "HEAD"
	var wantSecurity string
	switch {
	case r.Roles == nil:
		wantSecurity = "[]"
	case changing:
		wantSecurity = "[bearerAuth] [cookieAuth csrfToken]"
	default:
		wantSecurity = "[bearerAuth] [cookieAuth]"
	}
	if got := securityString(op.Security); got != wantSecurity {
		t.Errorf("%s: security got %s, want %s", key, got, wantSecurity)
	}
	want := []string{"500"}
	if r.Roles != nil {
		want = append(want, "401")
	}
	if len(r.Roles) > 0 || changing {
		want = append(want, "403")
	}
	if op.RequestBody != nil {
		want = append(want, "400")
	}
	for _, p := range op.Parameters {
		if p.Value.In == "path" && !strings.Contains(r.Path, ":"+p.Value.Name) {
			t.Errorf("%s: path parameter %s is not in the route %s", key, p.Value.Name, r.Path)
		}
	}
	for _, code := range want {
		resp := op.Responses.Value(code)
		if resp == nil {
			t.Errorf("%s: no %s response", key, code)
			continue
		}
		if ref := resp.Ref; !strings.HasPrefix(ref, "#/components/responses/") {
			t.Errorf("%s: %s response is not the shared error component (ref %q)", key, code, ref)
		}
	}
}

// docRoles renders an operation's x-roles: "public" when absent.
func docRoles(t *testing.T, key string, op *openapi3.Operation) string {
	raw, ok := op.Extensions["x-roles"]
	if !ok {
		return "public"
	}
	list, ok := raw.([]any)
	if !ok {
		t.Errorf("%s: x-roles is %T, want a list", key, raw)
		return "?"
	}
	roles := make([]string, len(list))
	for i, r := range list {
		roles[i] = fmt.Sprint(r)
	}
	sort.Strings(roles)
	return fmt.Sprint(roles)
}

func routeRoles(r RouteSpec) string {
	if r.Roles == nil {
		return "public"
	}
	roles := make([]string, len(r.Roles))
	for i, role := range r.Roles {
		roles[i] = string(role)
	}
	sort.Strings(roles)
	return fmt.Sprint(roles)
}

func securityString(reqs *openapi3.SecurityRequirements) string {
	if reqs == nil {
		return "unset"
	}
	if len(*reqs) == 0 {
		return "[]"
	}
	parts := make([]string, len(*reqs))
	for i, req := range *reqs {
		parts[i] = fmt.Sprint(sortedKeys(req))
	}
	return strings.Join(parts, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
